#!/usr/bin/env bash
# Make sure the system tools facetools needs are present: ffmpeg/ffprobe always, Chromium with
# --browser (the tests open reports in it). Installs them with apt-get when running as root on
# Debian/Ubuntu, else prints the exact command and fails (ffmpeg) or warns (Chromium).
set -euo pipefail
packages=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || packages+=(ffmpeg)
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  packages+=(chromium)
fi
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${packages[*]} with apt-get ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${packages[@]}" >/dev/null
  exit 0
fi
echo "facetools needs: ${packages[*]}. Install with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y ${packages[*]}     # Debian/Ubuntu" >&2
echo "  conda install -c conda-forge ffmpeg                                 # conda (ffmpeg)" >&2
case " ${packages[*]} " in *" ffmpeg "*) exit 1 ;; esac
echo "(without Chromium the browser tests are skipped)" >&2
