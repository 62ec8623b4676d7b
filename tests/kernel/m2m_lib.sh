# Helpers for the v4l2m2m tests in the guest (source it after lib.sh).

# m2m_frames FILE.fwht: "N WxH keys" from the FWHT frame headers (magic 0x4f4f4f4f 0xffffffff, big-endian
# version, width, height, flags; V4L2_FWHT_FL_I_FRAME is bit 10), and the I-frame indices in M2M_KEYS
m2m_frames() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
i = n = 0; sizes = set(); keys = []
while i + 44 <= len(d):
    m1, m2, ver, w, h, fl, cs, xf, ye, q, size = struct.unpack('>IIIIIIIIIII', d[i:i + 44])
    if m1 != 0x4f4f4f4f or m2 != 0xffffffff:
        print('bad header at', i); sys.exit(1)
    sizes.add('%dx%d' % (w, h))
    if fl & (1 << 10): keys.append(n)
    n += 1; i += 44 + size
print(n, ','.join(sorted(sizes)), ' '.join(map(str, keys)))
PY
}

# m2m_decode FILE.fwht N OUT.yuv [FOURCC]: vicodec's stateful decoder, I420 out (or FOURCC: RGB3 for a stream
# of RGB pictures); v4l2-ctl parses the FWHT stream
m2m_decode() {
	local dec
	dec=$(kl_video_node stateful-decoder) || return 1
	v4l2-ctl -d "$dec" --set-fmt-video=pixelformat="${4:-YU12}" --stream-out-mmap --stream-mmap \
		--stream-from="$1" --stream-to="$3" --stream-count="$2" >"$3.log" 2>&1 || { cat "$3.log"; return 1; }
}

# m2m_psnr A.yuv B.yuv WxH PIXFMT_A PIXFMT_B FROM TO: the lowest per-frame PSNR (average of Y, U, V) of
# frames FROM..TO-1
m2m_psnr() {
	ffmpeg -nostdin -hide_banner -loglevel error -f rawvideo -pix_fmt "$4" -s "$3" -i "$1" -f rawvideo -pix_fmt "$5" \
		-s "$3" -i "$2" -lavfi "[0][1]psnr=stats_file=$1.psnr" -f null - || return 1
	awk -v a="$6" -v b="$7" '{ for (i = 1; i <= NF; i++) { split($i, kv, ":"); v[kv[1]] = kv[2] }
		n = v["n"] - 1; if (n >= a && n < b) { p = v["psnr_avg"] + 0; if (v["psnr_avg"] == "inf") p = 99;
		if (min == "" || p < min) min = p } } END { printf "%.1f\n", min == "" ? -1 : min }' "$1.psnr"
}
