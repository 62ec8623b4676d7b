#!/usr/bin/env bash
# Camera test, run inside the kernel lane's guest (tests/kernel/guest-run --modules vivid -- ...): mixcastd
# captures vivid through its v4l2 source, encodes H.264, sends RTP on the guest's loopback through a relay
# that logs every packet (rtp_watch.py) to FFmpeg, which decodes; frames.py checks every decoded frame is
# vivid's picture (or, with --replug, the placeholder during the outage) at the right size, and this
# script checks the stats: the copies per frame on the path, and for NV12 that the encoder got the V4L2
# buffers themselves.
#   vivid_stream.sh MIXCASTD FORMAT W H FPS [--replug]     FORMAT: nv12 | yuyv | mjpeg
# --replug: an unplug and a replug, as a USB camera's look to mixcastd: the configuration names the camera
# by a symlink (as /dev/v4l/by-id names are, which udev removes at an unplug and makes again at a plug);
# the test removes the link and sets vivid's disconnect control (the driver unregisters the node: I/O
# fails with ENODEV), rmmods vivid once mixcastd has let go of it, then modprobes it again and makes the
# link. The stream must go on with the placeholder, with no gap in the RTP sequence numbers, and the
# camera picture must be back within 2 s of the modprobe. (vivid registers the node again by itself when
# its last user closes it after a disconnect: without the link removed, mixcastd would find it at once.)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mixcastd=$1 fmt=$2 w=$3 h=$4 fps=$5 mode=${6:-}
say() { echo "[vivid_stream $fmt ${w}x$h] $*"; }
node() { # the capture node of vivid (no udev in the guest: find it by its sysfs name), in NODE
	local f n
	NODE=""
	for f in /sys/class/video4linux/video*/name; do
		[[ -e $f ]] && read -r n <"$f" && [[ $n == vivid-000-vid-cap ]] && { f=${f%/name}; NODE=/dev/${f##*/}; return 0; }
	done
	return 1
}
now() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }
node || { say "no vivid capture node"; exit 1; }
dev=$NODE
vivid=$dev
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# The size is checked against what vivid offers; keyframes every second so a decoder (re)syncs quickly.
ln -s "$dev" "$tmp/by-id-vivid"
cat >"$tmp/cam.ini" <<INI
[daemon]
log_level = info
[source.cam]
type = v4l2
device = $tmp/by-id-vivid
format = $fmt
size = ${w}x$h
fps = $fps
[track.video]
input = cam
codec = h264
preset = ultrafast
layers = ${w}x$h@$fps:1500k
keyframe_interval = 1
[output.rtp]
type = rtp
track = video
host = 127.0.0.1
port = 17004
rtcp = off
INI
printf 'v=0\no=- 0 0 IN IP4 127.0.0.1\ns=cam\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 17006 RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1\n' >"$tmp/s.sdp"

# the reference picture: one NV12 frame straight from vivid (its first w*h bytes are the luma)
v4l2-ctl -d "$vivid" --set-fmt-video=width=$w,height=$h,pixelformat=NV12 --stream-mmap --stream-count=1 \
	--stream-to="$tmp/ref.nv12" >/dev/null 2>&1 || { say "cannot capture a reference frame with v4l2-ctl"; exit 1; }
# vivid has no MJPEG: the camera is then a v4l2loopback node that FFmpeg feeds with vivid's picture as JPEGs
# (tests/kernel/lib.sh; needs --modules vivid,v4l2loopback)
if [[ $fmt == mjpeg ]]; then
	. "$HERE/../kernel/lib.sh"
	cam=$(kl_video_node loopback) || exit 1
	kl_mjpeg_camera "$vivid" "$cam" 100000 "${w}x$h" || exit 1
	pids+=("$KL_MJPEG_PID")
	rm "$tmp/by-id-vivid"
	ln -s "$cam" "$tmp/by-id-vivid"
fi

total=${VS_SECONDS:-8} # seconds of streaming (without --replug)
[[ $mode == --replug ]] && total=30
python3 "$HERE/rtp_watch.py" --listen 17004 --forward 17006 --log "$tmp/rtp.log" --seconds $((total + 20)) &
pids+=($!)
# -copyts: the frames' pts are their RTP timestamps minus the first one (frames.py maps them to packets)
ffmpeg -nostdin -hide_banner -loglevel info -protocol_whitelist file,udp,rtp -copyts -analyzeduration 3000000 \
	-probesize 2000000 -i "$tmp/s.sdp" \
	-vf showinfo -fps_mode passthrough -pix_fmt yuv420p -f rawvideo -y "$tmp/out.yuv" 2>"$tmp/ffmpeg.log" &
ffpid=$!
pids+=($ffpid)
# FFmpeg starts slowly in the guest (its libraries come over 9p): wait until it listens, so the first
# keyframe (with SPS/PPS) reaches it
for i in $(seq 1 100); do grep -qi ":426E " /proc/net/udp 2>/dev/null && break; sleep 0.1; done
"$mixcastd" -c "$tmp/cam.ini" --stats-out "$tmp/stats.json" 2>"$tmp/mixcastd.log" &
mpid=$!
pids+=($mpid)

replug_t=""
if [[ $mode == --replug ]]; then
	sleep 6
	say "unplug: link removed, vivid's disconnect control, then rmmod"
	rm "$tmp/by-id-vivid"
	v4l2-ctl -d "$dev" -c disconnect=1 || { say "cannot disconnect"; exit 1; }
	sleep 1
	for i in $(seq 1 50); do rmmod vivid 2>/dev/null && break; sleep 0.2; done
	lsmod | grep -q '^vivid ' && { say "rmmod vivid failed: mixcastd still holds the device"; cat "$tmp/mixcastd.log"; exit 1; }
	sleep 2
	replug_t=$(now)
	modprobe -d "$KL_CACHE/$GUEST_KERNEL/root" -S "$GUEST_KERNEL" vivid n_devs=1 node_types=0x1
	# udev's part, the by-id link once the node is there: without forks but ln's (a fork costs about 0.1 s
	# under TCG, and $(node) took up to 1.1 s of the 2 s that mixcastd has)
	node && ln -s "$NODE" "$tmp/by-id-vivid"
	say "replug: modprobe vivid at $replug_t"
	sleep 8
else
	sleep $total
fi
kill -TERM "$mpid"
wait "$mpid" && mrc=0 || mrc=$?
sleep 1
kill -TERM "$ffpid" 2>/dev/null || true
wait "$ffpid" 2>/dev/null || true
sed -n '/error\|warn\|signal\|v4l2/p' "$tmp/mixcastd.log" | head -20
((mrc == 0)) || { say "FAIL: mixcastd exited $mrc"; cat "$tmp/mixcastd.log"; exit 1; }

rc=0
args=("$tmp/out.yuv" "$w" "$h" "$tmp/ffmpeg.log" "$tmp/rtp.log" "$tmp/ref.nv12")
[[ -n $replug_t ]] && args+=(--outage "$replug_t")
python3 "$HERE/frames.py" "${args[@]}" || rc=1

# The stats: copies per frame on this path, and for NV12 the encoder's frames are the V4L2 buffers.
python3 - "$tmp/stats.json" "$fmt" "$mode" <<'PY' || rc=1
import json, sys
st = json.load(open(sys.argv[1])); fmt = sys.argv[2]; replug = sys.argv[3] == "--replug"
src = st["sources"][0]; lay = st["tracks"][0]["layers"][0]
enc = lay["frames_in"] - lay["frames_dropped"]
fig = {"path": src["path"], "frames": src["frames"], "copies": src["copies"], "copies_per_frame": src["copies_per_frame"],
       "corrupt": src["corrupt_frames"], "layer0_copies": lay["copies"], "device_frames": lay["device_frames"],
       "encoder_frames": enc, "placeholder_frames": src["placeholder_frames"], "signal_losses": src["signal_losses"],
       "last_restore_us": src["last_restore_us"], "capture_to_wire_us": st["outputs"][0]["layers"][0]["timing_us"]["capture_to_wire"]}
print(json.dumps(fig))
fails = []
want_src = {"nv12": 0.0, "yuyv": 1.0, "mjpeg": 1.0}[fmt]
if src["frames"] < 5: fails.append("only %d frames captured" % src["frames"])
if abs(src["copies_per_frame"] - want_src) > 1e-9: fails.append("source copies per frame %.3f, want %.0f" % (src["copies_per_frame"], want_src))
# the placeholder is drawn in the camera's format, so the top layer converts nothing, with a replug too
# (MJPEG decodes to 4:2:2: the top layer converts each frame to the encoder's 4:2:0, one more copy)
want_layer = lay["frames_in"] if fmt == "mjpeg" else 0
if lay["copies"] != want_layer: fails.append("layer 0 made %d copies, want %d" % (lay["copies"], want_layer))
if fmt == "nv12" and not replug and lay["device_frames"] != enc:
    fails.append("%d of %d frames the encoder got were the V4L2 buffers" % (lay["device_frames"], enc))
if fmt != "nv12" and lay["device_frames"]: fails.append("device_frames %d on a converted path" % lay["device_frames"])
if replug and (src["signal_losses"] != 1 or src["placeholder_frames"] < 2 or src["state"] != "ended"):
    fails.append("signal_losses %d placeholder_frames %d" % (src["signal_losses"], src["placeholder_frames"]))
for f in fails: print("FAIL: " + f, file=sys.stderr)
sys.exit(1 if fails else 0)
PY
((rc == 0)) && say "PASS" || { say "FAIL"; tail -n 30 "$tmp/mixcastd.log"; grep -v showinfo "$tmp/ffmpeg.log" | head -n 30; }
exit $rc
