#!/usr/bin/env bash
# Kernel lane (guest-run --modules vicodec -- tests/kernel/m2m_ops.sh M2M_ENC): the v4l2m2m backend on vicodec
# through its ops (m2m_enc.c: keyframes on request, a bitrate change, drain and restart, copies), at 640x360
# (360 lines: not whole macroblocks) and 1366x768 (a laptop screen; 1366 is not a multiple of 16). Each
# bitstream is decoded by vicodec's decoder: the decoded pictures must have the layer's size and match the
# input: PSNR of every frame at 8 Mbit/s (FWHT quantiser 3) at least 35 dB, and at least 30 dB at the
# 500 kbit/s that follows (quantiser 31). A correct decode measured 42-47 and 38 dB; a picture off by a line,
# a chroma plane swapped or a wrong pitch gives 10-20 dB, so the bounds tell a right decode from a wrong one
# with room for the content.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
. "$HERE/m2m_lib.sh"
bin=${1:?usage: m2m_ops.sh M2M_ENC}
echo "vicodec multiplanar=$(cat /sys/module/vicodec/parameters/multiplanar 2>/dev/null || echo '?')"
t=$(mktemp -d)
fail=0
for spec in 640x360:30 1366x768:20; do
	size=${spec%:*} n=${spec#*:}
	mkdir -p "$t/$size"
	"$bin" "$size" "$n" "$t/$size" || fail=1
	total=$((n + 5))
	info=$(m2m_frames "$t/$size/m2m.fwht"); read -r frames sizes keys <<<"$info"
	echo "$size: $frames FWHT frames, header size $sizes, I frames at: $keys"
	[[ $frames == "$total" && $sizes == "$size" ]] || { echo "FAIL: expected $total frames of $size"; fail=1; }
	[[ " $keys " == *" 7 "* && " $keys " == *" 13 "* ]] || { echo "FAIL: frames 7 and 13 are not I frames"; fail=1; }
	m2m_decode "$t/$size/m2m.fwht" "$total" "$t/$size/dec.yuv" || { fail=1; continue; }
	w=${size%x*} h=${size#*x}
	got=$(stat -c %s "$t/$size/dec.yuv") want=$((total * w * h * 3 / 2))
	[[ $got == "$want" ]] || { echo "FAIL: decoded $got bytes, $want expected ($total frames of $size)"; fail=1; continue; }
	hi=$(m2m_psnr "$t/$size/dec.yuv" "$t/$size/m2m.yuv" "$size" yuv420p yuv420p 0 $((n / 2)))
	lo=$(m2m_psnr "$t/$size/dec.yuv" "$t/$size/m2m.yuv" "$size" yuv420p yuv420p $((n / 2 + 1)) "$n")
	echo "$size: decoded $total frames of $size; lowest PSNR $hi dB at 8 Mbit/s, $lo dB at 500 kbit/s"
	awk -v a="$hi" -v b="$lo" 'BEGIN { exit !(a >= 35 && b >= 30) }' || { echo "FAIL: PSNR below 35/30 dB"; fail=1; }
done
exit $fail
