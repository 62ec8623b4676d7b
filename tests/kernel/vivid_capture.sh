#!/usr/bin/env bash
# Kernel lane smoke test (runs in the guest: guest-run --modules vivid -- tests/kernel/vivid_capture.sh):
# FFmpeg captures FRAMES frames of 1280x720 from vivid's capture node in each format and every frame is
# checked to be vivid's colour-bar picture at the right size (vivid_bars.py).
#   vivid_capture.sh [FRAMES] [FORMAT...]      defaults: 3 frames, nv12 yuyv422
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
n=${1:-3}
shift || true
(($#)) || set -- nv12 yuyv422
dev=$(kl_video_node vivid-000-vid-cap)
w=1280 h=720
for fmt in "$@"; do
	out=/tmp/vivid.$fmt
	ffmpeg -nostdin -hide_banner -loglevel error -f v4l2 -input_format "$fmt" -video_size ${w}x$h -i "$dev" \
		-frames:v "$n" -f rawvideo -y "$out"
	python3 "$HERE/vivid_bars.py" "$out" "$fmt" $w $h "$n"
done
