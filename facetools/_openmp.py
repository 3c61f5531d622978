"""OpenMP threads sleep between parallel regions instead of spinning, unless the user chose otherwise.

torch's OpenMP threads spin after each operation by default. On two cores that spinning took CPU that the ffmpeg decoder
and OpenCV's threads needed. On a 20 s crowd run it was 4-7 of 27-31 CPU seconds (measured). libgomp reads the setting
once, when torch loads it, so this module runs before anything imports torch.
"""

from __future__ import annotations

import os
import sys

if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
