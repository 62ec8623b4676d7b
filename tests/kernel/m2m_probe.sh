#!/usr/bin/env bash
# Kernel lane (guest-run --modules vicodec,vim2m -- tests/kernel/m2m_probe.sh MIXCAST_PROBE): mixcast-probe lists
# vicodec's encoder node (formats per queue, controls), its decoders as decoders, vim2m as a scaler, and `-c FILE` says which backend `encoder = auto` picks
# per layer: v4l2m2m for 1280x720 and 640x360, software for 320x180, which vicodec refuses (640x360 and up).
# In production vicodec is no H.264 encoder at all; the backend's FWHT test mode (MIXCAST_TEST_V4L2M2M) makes
# it one here, as the daemon tests use it.
set -euo pipefail
bin=${1:?usage: m2m_probe.sh MIXCAST_PROBE}
t=$(mktemp -d)
fail=0
"$bin" >"$t/probe.txt"
sed -n '/^V4L2 mem2mem/,/^DRM/p' "$t/probe.txt" | sed -n '1,12p;/CAPTURE/p;/control/p'
grep -q 'vicodec (vicodec): encoder$' "$t/probe.txt" || { echo "FAIL: vicodec's encoder not listed as an encoder"; fail=1; }
grep -q "CAPTURE FWHT" "$t/probe.txt" || { echo "FAIL: no FWHT on its CAPTURE queue"; fail=1; }
grep -q 'vicodec (vicodec): decoder' "$t/probe.txt" || { echo "FAIL: vicodec's decoder not listed as a decoder"; fail=1; }
grep -q 'vim2m (vim2m): scaler$' "$t/probe.txt" || { echo "FAIL: vim2m not listed as a scaler"; fail=1; }
"$bin" --json | python3 -c 'import json, sys; d = json.load(sys.stdin); print("json: %d V4L2 devices" % len(d["v4l2"])); sys.exit(0 if any(v["kind"] == "m2m-scaler" for v in d["v4l2"]) else 1)' ||
	{ echo "FAIL: --json"; fail=1; }
cat >"$t/m.conf" <<EOC
[source.pat]
type = testsrc
size = 1280x720
fps = 30
[track.v]
input = pat
layers = 1280x720@30:2500k, 640x360@30:700k, 320x180@15:150k
[output.rx]
type = rtp
track = v
host = 127.0.0.1
ports = 17000, 17002, 17004
EOC
"$bin" -c "$t/m.conf" | sed -n '/^Encoders/,$p' | tee "$t/plan.txt" || true
MIXCAST_TEST_V4L2M2M=fwht:$t "$bin" -c "$t/m.conf" | sed -n '/^Encoders/,$p' | tee "$t/plan_fwht.txt"
grep -q 'v/0.*v4l2m2m' "$t/plan_fwht.txt" && grep -q 'v/1.*v4l2m2m' "$t/plan_fwht.txt" && grep -q 'v/2.*software' "$t/plan_fwht.txt" ||
	{ echo "FAIL: expected v4l2m2m, v4l2m2m, software"; fail=1; }
exit $fail
