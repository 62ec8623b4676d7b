#!/usr/bin/env bash
# Kernel lane smoke test (runs in the guest: guest-run --modules vivid -- tests/kernel/vivid_capture.sh):
# FFmpeg captures FRAMES frames of 1280x720 from vivid's capture node in each format and every frame is
# checked to be vivid's colour-bar picture at the right size (vivid_bars.py). vivid has no MJPEG: `mjpeg`
# captures from a v4l2loopback node fed with vivid's picture as JPEGs (kl_mjpeg_camera; needs
# --modules vivid,v4l2loopback), decodes it and checks the bars with a tolerance for JPEG's loss.
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
	if [[ $fmt == mjpeg ]]; then
		cam=$(kl_video_node loopback)
		kl_mjpeg_camera "$dev" "$cam" $((n + 30))
		ffmpeg -nostdin -hide_banner -loglevel error -f v4l2 -input_format mjpeg -video_size ${w}x$h -i "$cam" \
			-frames:v "$n" -c copy -f mjpeg -y "$out.jpg"
		kill "$KL_MJPEG_PID" 2>/dev/null || true
		wait "$KL_MJPEG_PID" 2>/dev/null || true
		ffmpeg -nostdin -hide_banner -loglevel error -f mjpeg -i "$out.jpg" -pix_fmt nv12 -f rawvideo -y "$out"
		echo "$cam: $n MJPEG frames, $(stat -c %s "$out.jpg") bytes"
		# q 3 JPEG of flat bars: measured within 2 of the source; 6 leaves room without accepting other bars
		BARS_TOLERANCE=6 python3 "$HERE/vivid_bars.py" "$out" nv12 $w $h "$n"
		continue
	fi
	ffmpeg -nostdin -hide_banner -loglevel error -f v4l2 -input_format "$fmt" -video_size ${w}x$h -i "$dev" \
		-frames:v "$n" -f rawvideo -y "$out"
	python3 "$HERE/vivid_bars.py" "$out" "$fmt" $w $h "$n"
done
