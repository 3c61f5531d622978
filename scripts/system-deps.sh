#!/usr/bin/env bash
# Make sure the system tools facetools needs (ffmpeg/ffprobe) are present; install them with
# apt-get when running as root on Debian/Ubuntu, else print the exact command and fail.
set -euo pipefail
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ffmpeg with apt-get ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null
else
  echo "facetools needs ffmpeg and ffprobe. Install them first:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ffmpeg     # Debian/Ubuntu" >&2
  echo "  conda install -c conda-forge ffmpeg                        # conda" >&2
  exit 1
fi
