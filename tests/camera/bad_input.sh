#!/usr/bin/env bash
# Bad camera input: each case is a clear error naming the file, the line, the section and the key, never a
# crash or a daemon that runs on for nothing; a camera that is absent at start is not an error (no signal,
# the placeholder is sent, the daemon runs).
#   bad_input.sh MIXCASTD            on the host: /dev/null as the camera; an absent camera
#   bad_input.sh MIXCASTD --guest    in the kernel lane's guest (vivid and vicodec loaded): a size and a
#                                    format vivid does not offer (the error lists what it offers), and
#                                    vicodec's memory-to-memory node as the camera
# Exit 0 pass, 1 fail.
set -uo pipefail
mixcastd=$1 where=${2:-host}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
say() { echo "[bad_input] $*"; }

conf() { # DEVICE SIZE FORMAT -> $tmp/cam.ini; the device is on line 6, format 7, size 8
	cat >"$tmp/cam.ini" <<INI
[daemon]
stats_listen = 127.0.0.1:17090

[source.cam]
type = v4l2
device = $1
format = $3
size = $2
fps = 10
[track.video]
input = cam
layers = 320x180@10:300k
INI
}

# expect_error DEVICE SIZE FORMAT TEXT...: mixcastd exits 2 within 10 s, and one error line holds every TEXT
expect_error() {
	local dev=$1 size=$2 fmt=$3
	shift 3
	conf "$dev" "$size" "$fmt"
	timeout 20 "$mixcastd" -c "$tmp/cam.ini" 2>"$tmp/err"
	local rc=$? line
	line=$(grep -F -- "$1" "$tmp/err" | head -n1)
	local ok=1
	((rc == 2)) || ok=0
	for t in "$@"; do [[ $line == *"$t"* ]] || ok=0; done
	if ((ok)); then
		say "PASS: $dev $size $fmt: exit 2: ${line:0:300}"
	else
		say "FAIL: $dev $size $fmt: exit $rc, want 2 and an error with: $*"
		cat "$tmp/err"
		fails=$((fails + 1))
	fi
}

if [[ $where == --guest ]]; then
	node() {
		local f
		for f in /sys/class/video4linux/video*/name; do
			[[ -e $f && $(<"$f") == "$1" ]] && { echo "/dev/$(basename "$(dirname "$f")")"; return 0; }
		done
		return 1
	}
	cam=$(node vivid-000-vid-cap) || { say "FAIL: no vivid node"; exit 1; }
	m2m=$(node stateful-encoder) || { say "FAIL: no vicodec encoder node"; exit 1; }
	expect_error "$cam" 1000x500 auto "cam.ini:8: [source.cam] size: '$cam': 1000x500 is not offered; the device offers: " \
		"YUYV 320x180 640x360 640x480 1280x720 1920x1080 3840x2160" "NV12 320x180" "(not supported)"
	expect_error "$cam" 640x360 mjpeg "cam.ini:7: [source.cam] format: '$cam': the device does not offer MJPEG; it offers: YUYV"
	expect_error "$m2m" 640x360 auto "cam.ini:6: [source.cam] device: '$m2m' (vicodec" \
		"is not a video capture device: it is a memory-to-memory device (a codec)"
else
	expect_error /dev/null 640x360 auto "cam.ini:6: [source.cam] device: '/dev/null' is not a V4L2 device (VIDIOC_QUERYCAP:"
	# absent at start: no signal, the placeholder, the daemon runs and stops cleanly
	conf "usb-mixcast-test-absent-camera" 640x360 auto
	"$mixcastd" -c "$tmp/cam.ini" --stats-out "$tmp/stats.json" 2>"$tmp/err" &
	pid=$!
	sleep 2.5
	stats=$(python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:17090/stats", timeout=5).read().decode())' 2>&1)
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	if ((rc == 0)) && grep -q "cam: no signal (at start: No such device): .*cam.ini:6: \[source.cam\] device: cannot open '/dev/v4l/by-id/usb-mixcast-test-absent-camera'" "$tmp/err" &&
		python3 - "$stats" <<'PY'
import json, sys
s = json.loads(sys.argv[1])["sources"][0]
ok = s["state"] == "no signal" and s["placeholder_frames"] >= 4 and s["last_error"] == "No such device" and s["width"] == 640
print("[bad_input] stats while absent:", {k: s[k] for k in ("state", "placeholder_frames", "last_error", "width", "height")})
sys.exit(0 if ok else 1)
PY
	then
		say "PASS: an absent camera is 'no signal': placeholder sent, the daemon runs, exit 0 on SIGTERM"
	else
		say "FAIL: absent camera: exit $rc"
		cat "$tmp/err"
		echo "$stats"
		fails=$((fails + 1))
	fi
fi
((fails == 0)) && say "PASS" || say "FAIL: $fails case(s)"
exit $((fails ? 1 : 0))
