#!/usr/bin/env bash
# Kernel lane (guest-run --modules vivid,vicodec -- tests/kernel/m2m_daemon.sh MIXCASTD MODE): mixcastd with the
# v4l2m2m encoder on vicodec (the backend's FWHT test mode: bitstream and input pictures dumped per layer), a
# vivid camera, RTP over the guest's loopback through rtp_watch.py (sequence numbers per port) to FFmpeg.
#   camera:   the pyramid 1280x720 + 640x360 on vicodec, 320x180 in software (vicodec refuses it). The 720p
#             layer takes vivid's NV12 buffers as DMABUF: no copy anywhere (source, scaler and encoder copy
#             counters 0, every frame a device frame); the 360p layer's scaled CPU frames are copied once into
#             MMAP buffers, and counted. Both bitstreams decoded by vicodec's decoder: the right size, PSNR of
#             every dumped frame against the encoder's input at least 35 dB (a correct decode measured 40+ dB;
#             a wrong one, 10-20); the keyframes the core asked for (keyframe_interval = 2) are I frames.
#             The 180p layer: FFmpeg decodes H.264 at 320x180. No RTP sequence gap on any port.
#   fallback: one 640x360 layer with encoder = v4l2m2m; vicodec is unbound from its driver (sysfs) mid-stream:
#             the layer falls back to software (stats: one fallback, encoder software), the receiver sees one
#             SSRC and no sequence gap, and FFmpeg decodes the software encoder's 640x360 frames after it.
#   stall:    as fallback, but vicodec stops producing instead of going away: the backend's test fault
#             (MIXCAST_TEST_V4L2M2M_FAULT=stall:6) stops giving its CAPTURE buffers back, so the device runs
#             out of them; the core's no-output deadline (5 frame intervals) falls back to software.
#   scaler:   the pyramid scaled by a V4L2 mem2mem scaler (vim2m: RGB only, 640x480 at most; vicodec: 640x360
#             and up): vivid RGB24 640x480 -> 640x480 on vicodec (the camera's DMABUF) and 640x360 scaled by
#             vim2m from the camera's DMABUF into vim2m's own exported buffers, which vicodec imports: no CPU
#             copy anywhere on either layer (source, scaler and encoder copy counters 0; the 360p layer's
#             pictures counted as device_scaled, every frame a device frame); 320x180 in software, scaled on
#             the CPU from vim2m's output (a software encoder is not handed device buffers to read). vim2m's
#             scale is checked against FFmpeg's nearest-neighbour scale of the same camera frame, and both
#             vicodec layers decoded as in camera mode.
#   scaler_gone: as scaler, and vim2m is unbound from its driver (sysfs) mid-stream: the 360p layer's scaler
#             fails, the CPU scaler takes over (stats: scaler swscale, pictures both device-made and copied),
#             vicodec encodes on from CPU frames, and no port sees an RTP sequence gap.
#   replug:   one 1280x720 layer on v4l2m2m from the camera's DMABUF; the camera goes away mid-stream (vivid's
#             Disconnect control, as a USB camera unplugged; vivid's node comes back at once, as a replug):
#             the source sends its placeholder (CPU frames) and reopens; the encoder switches its OUTPUT queue
#             from DMABUF to MMAP and back and encodes on, with no fallback and no RTP gap (the layer is FWHT
#             only: no FFmpeg receiver).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
. "$HERE/m2m_lib.sh"
bin=${1:?usage: m2m_daemon.sh MIXCASTD camera|fallback|stall|scaler|scaler_gone|replug}
mode=${2:?usage: m2m_daemon.sh MIXCASTD camera|fallback|stall|scaler|scaler_gone|replug}
cam=$(kl_video_node vivid-000-vid-cap)
t=$(mktemp -d)
mkdir -p "$t/dump"
fail() { echo "FAIL: $*"; fail=1; }
fail=0
if [[ $mode == camera ]]; then
	size=1280x720 layers="1280x720@5:4000k, 640x360@5:1000k, 320x180@5:200k" ports="17000, 17002, 17004"
	watch_ports=(17000 17002 17004) rx_port=17004 rx_size=320x180 encoder=auto
elif [[ $mode == scaler || $mode == scaler_gone ]]; then
	size=640x480 layers="640x480@5:3000k, 640x360@5:2000k, 320x180@5:200k" ports="17000, 17002, 17004"
	watch_ports=(17000 17002 17004) rx_port=17004 rx_size=320x180 encoder=v4l2m2m
	layer_encoders="layer_encoders = v4l2m2m, v4l2m2m, software"
elif [[ $mode == fallback || $mode == stall ]]; then
	size=640x360 layers="640x360@5:1000k" ports="17000" watch_ports=(17000) rx_port=17000 rx_size=640x360
	encoder=v4l2m2m
else
	size=1280x720 layers="1280x720@5:4000k" ports="17000" watch_ports=(17000) rx_port=17000 rx_size=none
	encoder=v4l2m2m
fi
format=nv12
[[ $mode == scaler* ]] && format=rgb24
cat >"$t/m.conf" <<EOC
[source.cam]
type = v4l2
device = $cam
size = $size
fps = 5
format = $format
[track.v]
input = cam
encoder = $encoder
${layer_encoders:-}
layers = $layers
keyframe_interval = 2
preset = ultrafast
threads = 1
[output.rx]
type = rtp
track = v
host = 127.0.0.1
ports = $ports
rtcp = off
; FWHT frames are far larger than the layer's bitrate (an I frame ~100 kB): the pacer would drop them as too
; old, and sequence gaps from the pacer would hide the ones this test looks for
pacing = false
EOC
printf 'v=0\no=- 0 0 IN IP4 127.0.0.1\ns=m2m\nc=IN IP4 127.0.0.1\nt=0 0\nm=video %s RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1\n' \
	$((rx_port + 100)) >"$t/rx.sdp"
rx=""
if [[ $mode != replug ]]; then
	timeout -k 2 150 ffmpeg -nostdin -hide_banner -protocol_whitelist file,udp,rtp -i "$t/rx.sdp" -vf showinfo \
		-frames:v 8 -f null - >"$t/rx.log" 2>&1 &
	rx=$!
fi
python3 "$HERE/rtp_watch.py" 150 100 "${watch_ports[@]}" >"$t/watch.log" 2>&1 &
watch=$!
sleep 2
fault=""
[[ $mode == stall ]] && fault=stall:6
MIXCAST_TEST_V4L2M2M_FAULT=$fault MIXCAST_TEST_V4L2M2M="fwht:$t/dump" MIXCAST_TEST_V4L2M2M_RAW=12 "$bin" -c "$t/m.conf" --stats-out "$t/stats.json" >"$t/d.log" 2>&1 &
d=$!
if [[ $mode == fallback ]]; then
	# unbind once vicodec has encoded a few frames
	for ((i = 0; i < 120; i++)); do
		n=$(grep -c '^recv' "$t/dump/v_0.idx" 2>/dev/null || true)
		((n >= 5)) && break
		sleep 0.5
	done
	echo "vicodec encoded $n frames; unbinding it"
	dev=$(basename "$(readlink -f /sys/bus/platform/drivers/vicodec/vicodec.0 2>/dev/null || ls -d /sys/bus/platform/drivers/vicodec/vicodec* | head -n1)")
	echo "$dev" >/sys/bus/platform/drivers/vicodec/unbind
	[[ -z $(ls /sys/bus/platform/drivers/vicodec/ | grep vicodec) ]] || fail "vicodec still bound"
fi
if [[ $mode == scaler_gone ]]; then
	for ((i = 0; i < 120; i++)); do
		n=$(grep -c '^recv' "$t/dump/v_1.idx" 2>/dev/null || true)
		((n >= 5)) && break
		sleep 0.5
	done
	echo "vicodec encoded $n vim2m pictures; unbinding vim2m"
	for dev in /sys/bus/platform/drivers/vim2m/vim2m*; do echo "$(basename "$dev")" >/sys/bus/platform/drivers/vim2m/unbind; done
	[[ -z $(ls /sys/bus/platform/drivers/vim2m/ | grep vim2m) ]] || fail "vim2m still bound"
	# 10 more pictures out of the 360p encoder (at most 60 s)
	for ((i = 0; i < 120; i++)); do
		m=$(grep -c '^recv' "$t/dump/v_1.idx" 2>/dev/null || true)
		((m >= n + 10)) && break
		sleep 0.5
	done
	echo "after the unbind: $((m - n)) more 360p pictures encoded"
	((m >= n + 10)) || fail "the 360p layer stopped after vim2m went away"
fi
recv() {
	local n
	n=$(grep -c '^recv' "$t/dump/v_0.idx" 2>/dev/null) || true
	echo "${n:-0}"
}
if [[ $mode == replug ]]; then
	for ((i = 0; i < 120 && $(recv) < 4; i++)); do sleep 0.5; done
	before=$(recv)
	echo "vicodec encoded $before camera frames; disconnecting the camera"
	v4l2-ctl -d "$cam" --set-ctrl disconnect=1 || fail "vivid's disconnect control"
	# the placeholder comes at 2 fps: wait for 4 more frames out of the encoder (at most 60 s)
	for ((i = 0; i < 120 && $(recv) < before + 4; i++)); do sleep 0.5; done
	echo "after the disconnect: $(($(recv) - before)) more frames encoded"
	(($(recv) >= before + 4)) || fail "the encoder stopped after the camera went away"
fi
# FFmpeg stops after 8 frames of the received layer (at most 150 s)
[[ -z $rx ]] || wait "$rx" || true
kill -TERM "$d" 2>/dev/null || echo "mixcastd had already exited"
wait "$d" && drc=0 || drc=$?
kill -TERM "$watch" 2>/dev/null || true
wait "$watch" || true
echo "mixcastd exit $drc"
if [[ -n $rx ]]; then
	frames=$(grep -c 'Parsed_showinfo.*n: *[0-9]' "$t/rx.log" || true)
	right=$(grep 'Parsed_showinfo.*n: *[0-9]' "$t/rx.log" | grep -c " s:$rx_size " || true)
	echo "FFmpeg decoded $frames frames of port $rx_port, $right of them $rx_size"
	((frames == 8 && right == 8)) || fail "FFmpeg decoded $frames frames ($right of $rx_size), 8 expected"
fi
[[ $drc == 0 ]] || fail "mixcastd exit $drc"
grep -E 'v4l2m2m|encoder|fall' "$t/d.log" | grep -v 'test mode' | head -n 20
cat "$t/watch.log"
while read -r port rest; do
	[[ $port == listening ]] && continue
	[[ $rest == *" gaps=0 "* && $rest == *"ssrcs=1 "* && $rest != *"packets=0 "* ]] || fail "port $port: $rest"
done <"$t/watch.log"
# the final stats (--stats-out, after the threads ended): which backend each layer has, fallbacks, and the
# copies on the path
python3 - "$t/stats.json" "$mode" >"$t/checks.log" <<'PY' || fail "stats checks"
import json, sys
st = json.load(open(sys.argv[1])); mode = sys.argv[2]
src = st['sources'][0]; ls = st['tracks'][0]['layers']
ok = True
def need(c, what):
    global ok
    print(('ok   ' if c else 'FAIL ') + what); ok &= bool(c)
for l in ls:
    print('layer %d %dx%d: encoder %s fallbacks %d frames_in %d encoded %d dropped %d copies %d device_frames %d encoder_copies %d'
          % (l['index'], l['width'], l['height'], l['encoder'], l['encoder_fallbacks'], l['frames_in'], l['frames_encoded'],
             l['frames_dropped'], l['copies'], l['device_frames'], l['encoder_copies']))
print('source: copies %d' % src['copies'])
if mode == 'camera':
    a, b, c = ls
    need(a['encoder'] == 'v4l2m2m' and b['encoder'] == 'v4l2m2m' and c['encoder'] == 'software', '720p and 360p on v4l2m2m, 180p software')
    need(src['copies'] == 0 and a['copies'] == 0 and a['encoder_copies'] == 0, 'zero copies on the 720p path (source, scaler, encoder)')
    # every frame sent to the encoder was the camera's buffer (device_frames), and the backend copied none of
    # them (its MMAP path counts each CPU frame it writes in encoder_copies)
    need(a['device_frames'] >= a['frames_encoded'] > 0, '720p: every frame the encoder took was the camera buffer')
    need(a['frames_encoded'] >= 5 and b['frames_encoded'] >= 5, 'both vicodec layers encoded')
    need(b['encoder_copies'] > 0 and b['device_frames'] == 0, '360p: scaled CPU frames, copied into MMAP buffers and counted')
elif mode == 'scaler':
    a, b, c = ls
    need(a['encoder'] == 'v4l2m2m' and b['encoder'] == 'v4l2m2m' and c['encoder'] == 'software', '480p and 360p on v4l2m2m, 180p software')
    print('scalers: %s, %s, %s; device_scaled %d %d %d' % (a['scaler'], b['scaler'], c['scaler'], a['device_scaled'], b['device_scaled'], c['device_scaled']))
    need(a['scaler'] == 'none' and b['scaler'] == 'v4l2m2m' and c['scaler'] == 'swscale', 'the camera frames passed through, 360p scaled by vim2m, 180p by swscale')
    need(src['copies'] == 0 and a['copies'] == 0 and a['encoder_copies'] == 0, 'zero copies on the 480p path')
    need(b['copies'] == 0 and b['encoder_copies'] == 0, 'zero copies on the 360p path (camera DMABUF -> vim2m -> DMABUF -> vicodec)')
    need(b['device_scaled'] >= b['frames_in'] > 0, '360p: every picture made by vim2m from the imported camera buffer')
    need(a['device_frames'] >= a['frames_encoded'] >= 5 and b['device_frames'] >= b['frames_encoded'] >= 5,
         'both vicodec layers encoded device buffers only')
    need(c['copies'] >= c['frames_in'] > 0 and c['frames_encoded'] >= 5, '180p: scaled on the CPU and encoded')
elif mode == 'scaler_gone':
    a, b, c = ls
    print('scalers: %s, %s, %s; 360p device_scaled %d copies %d encoder_copies %d' % (a['scaler'], b['scaler'], c['scaler'], b['device_scaled'], b['copies'], b['encoder_copies']))
    need(b['encoder'] == 'v4l2m2m' and b['encoder_fallbacks'] == 0, '360p still on vicodec')
    need(b['scaler'] == 'swscale' and b['device_scaled'] >= 4 and b['copies'] >= 10, '360p: vim2m first, then the CPU scaler')
    need(b['encoder_copies'] >= 10, "the CPU scaler's pictures copied into vicodec's MMAP buffers")
elif mode in ('fallback', 'stall'):
    a = ls[0]
    need(a['encoder'] == 'software' and a['encoder_fallbacks'] == 1, 'one fallback to software')
else:
    a = ls[0]
    need(a['encoder'] == 'v4l2m2m' and a['encoder_fallbacks'] == 0, 'still v4l2m2m, no fallback')
    need(st['sources'][0]['signal_losses'] >= 1 and st['sources'][0]['placeholder_frames'] >= 1, 'the source lost the camera and sent its placeholder')
    need(a['device_frames'] >= 4 and a['encoder_copies'] >= 1, 'camera frames as DMABUF, placeholder frames copied into MMAP buffers')
sys.exit(0 if ok else 1)
PY
cat "$t/checks.log"
if [[ $mode == replug ]]; then
	queues=$(grep -o 'OUTPUT queue of [0-9]* [A-Z]*' "$t/d.log" | awk '{ print $5 }' | tr '\n' ' ')
	echo "OUTPUT queues, in order: $queues"
	[[ $queues == *"DMABUF MMAP"*"DMABUF"* ]] || fail "expected DMABUF, then MMAP (placeholder), then DMABUF again"
fi
if [[ $mode == camera || $mode == scaler ]]; then
	specs="0:1280x720:nv12 1:640x360:nv12"
	[[ $mode == scaler ]] && specs="0:640x480:rgb24 1:640x360:rgb24"
	for spec in $specs; do
		IFS=: read -r l lsize fmt <<<"$spec"
		f=$t/dump/v_$l
		info=$(m2m_frames "$f.fwht")
		read -r n sizes keys <<<"$info"
		echo "layer $l: $n FWHT frames of $sizes, I frames at: $keys"
		[[ $sizes == "$lsize" ]] || fail "layer $l: FWHT frames of $sizes, $lsize expected"
		# keyframes asked for (the .idx's send lines, in stream order) are I frames
		asked=$(awk '$1 == "send" { if ($3 == 1) printf "%d ", k; k++ }' "$f.idx")
		for k in $asked; do
			((k < n)) || continue
			[[ " $keys " == *" $k "* ]] || fail "layer $l: frame $k was asked for as a keyframe, is a P frame"
		done
		echo "layer $l: keyframes asked at: $asked"
		# bytes per picture: 3/2 per pixel in 4:2:0, 3 in RGB24
		pic=$((${lsize%x*} * ${lsize#*x} * 3 / 2)) decfmt=yuv420p fourcc=YU12
		[[ $fmt == rgb24 ]] && pic=$((${lsize%x*} * ${lsize#*x} * 3)) decfmt=rgb24 fourcc=RGB3
		raw=$(($(stat -c %s "$f.yuv") / pic))
		((raw > n)) && raw=$n
		m2m_decode "$f.fwht" "$raw" "$f.dec" "$fourcc" || { fail "layer $l: decode"; continue; }
		got=$(stat -c %s "$f.dec") want=$((raw * pic))
		[[ $got == "$want" ]] || { fail "layer $l: decoded $got bytes, $want expected ($raw frames of $lsize)"; continue; }
		psnr=$(m2m_psnr "$f.dec" "$f.yuv" "$lsize" "$decfmt" "$fmt" 0 "$raw")
		echo "layer $l: $raw frames decoded at $lsize, lowest PSNR $psnr dB"
		awk -v a="$psnr" 'BEGIN { exit !(a >= 35) }' || fail "layer $l: PSNR $psnr below 35 dB"
	done
fi
if [[ $mode == scaler ]]; then
	# vim2m's 360p picture of a camera frame against the camera frame itself (the 480p layer's dumped input is
	# the camera buffer), matched by capture time in the two .idx files. vim2m scales by picking rows and
	# columns (drivers/media/test-drivers/vim2m.c: input row y * 480 / 360, columns by Bresenham, here 1:1),
	# so the bytes must be equal: a wrong pitch, offset or size would leave next to none equal.
	python3 - "$t/dump" 12 >"$t/scale.log" <<'PY' || fail "vim2m's pictures are not the camera's rows"
import sys
d, n = sys.argv[1], int(sys.argv[2])
def sends(p): return [l.split()[1] for l in open(p) if l.startswith('send')]
a, b = sends(d + '/v_0.idx')[:n], sends(d + '/v_1.idx')[:n]
big, small = open(d + '/v_0.yuv', 'rb').read(), open(d + '/v_1.yuv', 'rb').read()
W, H0, H1 = 640 * 3, 480, 360
checked = bad = 0
for k1, pts in enumerate(b):
    if pts not in a or (k1 + 1) * W * H1 > len(small):
        continue
    k0 = a.index(pts)
    src = big[k0 * W * H0:(k0 + 1) * W * H0]
    out = small[k1 * W * H1:(k1 + 1) * W * H1]
    want = b''.join(src[(y * H0 // H1) * W:(y * H0 // H1 + 1) * W] for y in range(H1))
    same = sum(1 for y in range(H1) if out[y * W:(y + 1) * W] == want[y * W:(y + 1) * W])
    print('vim2m picture %d (capture %s) vs camera frame %d: %d of %d rows equal' % (k1, pts, k0, same, H1))
    checked += 1
    bad += same < H1
print('checked %d pictures, %d with a differing row' % (checked, bad))
sys.exit(0 if checked >= 2 and bad == 0 else 1)
PY
	cat "$t/scale.log"
fi
((fail == 0)) || { echo "--- mixcastd log"; tail -n 30 "$t/d.log"; [[ -z $rx ]] || { echo "--- ffmpeg"; tail -n 8 "$t/rx.log"; }; }
exit $fail
