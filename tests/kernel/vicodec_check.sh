#!/usr/bin/env bash
# Kernel lane smoke test (runs in the guest: guest-run --modules vicodec -- tests/kernel/vicodec_check.sh):
# vicodec's stateful encoder and decoder nodes exist and work as a mem2mem pair. v4l2-ctl (v4l-utils) streams
# FRAMES frames of its own test pattern at 640x480 through the encoder into an FWHT bitstream, then through
# the decoder, and every decoded frame must be there at the right size. (At 640x360 the decoder's buffers are
# 640x368: the visible 360 lines are only in the selection. The hardware-encoder tests check that case.)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
n=${1:-4}
w=640 h=480
enc=$(kl_video_node stateful-encoder)
dec=$(kl_video_node stateful-decoder)
v4l2-ctl -d "$enc" --info | grep -E 'Driver name|Card type|Device Caps' -A1 | head -n 6
v4l2-ctl -d "$enc" --list-formats-out | grep -q "'YU12'" || { echo "$enc: no YU12 input"; exit 1; }
v4l2-ctl -d "$enc" --list-formats | grep -q "'FWHT'" || { echo "$enc: no FWHT output"; exit 1; }
v4l2-ctl -d "$enc" --set-fmt-video-out=width=$w,height=$h,pixelformat=YU12 \
	--stream-out-mmap --stream-mmap --stream-count="$n" --stream-to=/tmp/enc.fwht 2>/tmp/enc.log ||
	{ cat /tmp/enc.log; exit 1; }
v4l2-ctl -d "$dec" --set-fmt-video=pixelformat=YU12 --stream-out-mmap --stream-mmap \
	--stream-from=/tmp/enc.fwht --stream-to=/tmp/dec.yuv --stream-count="$n" 2>/tmp/dec.log ||
	{ cat /tmp/dec.log; exit 1; }
size=$(stat -c %s /tmp/dec.yuv) want=$((n * w * h * 3 / 2))
echo "vicodec: $n frames ${w}x$h YU12 -> $(stat -c %s /tmp/enc.fwht) bytes FWHT -> $size bytes decoded"
[[ $size == "$want" ]] || { echo "decoded $size bytes, expected $want ($n frames)"; exit 1; }
