# Helpers for commands that run inside the kernel lane's guest (source it: . tests/kernel/lib.sh).
# No udev runs in the guest: /dev/videoN and /dev/dri/cardN exist (devtmpfs) but /dev/v4l/by-* do not.

# kl_video_node NAME: the /dev/videoN whose sysfs name is NAME (vivid-000-vid-cap, stateful-encoder, ...)
kl_video_node() {
	local f
	for f in /sys/class/video4linux/video*/name; do
		[[ -e $f && $(<"$f") == "$1" ]] && { echo "/dev/$(basename "$(dirname "$f")")"; return 0; }
	done
	echo "kl_video_node: no video node named '$1' (have: $(cat /sys/class/video4linux/*/name 2>/dev/null | tr '\n' ' '))" >&2
	return 1
}

# kl_drm_card DRIVER: the /dev/dri/cardN bound to kernel driver DRIVER (bochs-drm, ...)
kl_drm_card() {
	local d
	for d in /sys/class/drm/card[0-9]*; do
		[[ $d == *-* ]] && continue
		[[ $(basename "$(readlink -f "$d/device/driver")") == "$1" ]] && { echo "/dev/dri/$(basename "$d")"; return 0; }
	done
	echo "kl_drm_card: no DRM card with driver '$1'" >&2
	return 1
}

# kl_mjpeg_camera SRC DST [FRAMES] [SIZE]: make v4l2loopback node DST a MJPEG camera showing SRC's picture
# (vivid has no MJPEG): FFmpeg captures SRC as NV12 and writes each frame to DST as a 4:2:2 JPEG, as a USB
# webcam sends them. Runs in the background (its PID in KL_MJPEG_PID, stopped after FRAMES frames, default 600)
# and returns once DST delivers MJPEG (at most 30 s). Needs --modules vivid,v4l2loopback.
kl_mjpeg_camera() {
	local src=$1 dst=$2 frames=${3:-600} size=${4:-1280x720} i
	ffmpeg -nostdin -hide_banner -loglevel error -f v4l2 -input_format nv12 -video_size "$size" -i "$src" \
		-frames:v "$frames" -c:v mjpeg -q:v 3 -pix_fmt yuvj422p -f v4l2 "$dst" &
	KL_MJPEG_PID=$!
	for ((i = 0; i < 150; i++)); do
		v4l2-ctl -d "$dst" --get-fmt-video 2>/dev/null | grep -q "'MJPG'" && return 0
		kill -0 "$KL_MJPEG_PID" 2>/dev/null || break
		sleep 0.2
	done
	echo "kl_mjpeg_camera: $dst does not deliver MJPEG" >&2
	kill "$KL_MJPEG_PID" 2>/dev/null
	return 1
}
