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
