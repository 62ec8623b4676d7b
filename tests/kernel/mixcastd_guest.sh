#!/usr/bin/env bash
# Kernel lane smoke test (runs in the guest: guest-run -- tests/kernel/mixcastd_guest.sh MIXCASTD): the daemon
# built on the host runs in the guest from the shared root (its libraries too) and talks over the guest's own
# loopback: testsrc 320x180 at 10 fps, one H.264 layer, plain RTP to 127.0.0.1; an FFmpeg receiver in the
# guest decodes 10 frames and every one must be 320x180. Bounded: the receiver gives up after 90 s (TCG
# encodes a 320x180 frame in about 0.1 s, and much slower when the host is loaded), then mixcastd gets SIGTERM.
set -euo pipefail
bin=${1:?usage: mixcastd_guest.sh MIXCASTD}
t=$(mktemp -d)
port=17000
cat >"$t/m.conf" <<EOC
[source.pat]
type = testsrc
size = 320x180
fps = 10
[track.cam]
input = pat
layers = 320x180@10:200k
keyframe_interval = 1
threads = 1
[output.rx]
type = rtp
track = cam
host = 127.0.0.1
ports = $port
EOC
printf 'v=0\no=- 0 0 IN IP4 127.0.0.1\ns=guest\nc=IN IP4 127.0.0.1\nt=0 0\nm=video %s RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1\n' \
	$port >"$t/rx.sdp"
timeout -k 2 90 ffmpeg -nostdin -hide_banner -protocol_whitelist file,udp,rtp -i "$t/rx.sdp" -vf showinfo \
	-frames:v 10 -f null - >"$t/rx.log" 2>&1 &
rx=$!
sleep 2 # the receiver binds its port (FFmpeg's start-up is slow under TCG)
"$bin" -c "$t/m.conf" >"$t/d.log" 2>&1 &
d=$!
wait "$rx" || true
kill -TERM "$d"
wait "$d" && drc=0 || drc=$?
frames=$(grep -c 'Parsed_showinfo.*n: *[0-9]' "$t/rx.log" || true)
right=$(grep 'Parsed_showinfo.*n: *[0-9]' "$t/rx.log" | grep -c ' s:320x180 ' || true)
echo "mixcastd in the guest: exit $drc; FFmpeg decoded $frames frames, $right of them 320x180"
if [[ $drc != 0 || $frames != 10 || $right != "$frames" ]]; then
	tail -n 20 "$t/d.log" "$t/rx.log"
	exit 1
fi
