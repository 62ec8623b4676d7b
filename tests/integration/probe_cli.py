#!/usr/bin/env python3
"""mixcast-probe on this machine: the human report names every device class (and says clearly when there is
none), --json parses and has the same devices, and -c names the backend each layer of configs/mixcast.ini
(with its key file swapped for a generated one) and of a per-layer override gets, with the reasons.

And mixcastd itself with encoder = auto on a machine without VA-API: the log says vaapi was not used and why,
that software took each layer, and /stats shows every layer scaled on the CPU (scaler half/swscale/none,
never the VA-API scaler, no picture made on a device).

usage: probe_cli.py MIXCAST_PROBE SOURCE_DIR MIXCASTD     exit 0 pass, 1 fail
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from mclib import check, failures


def run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def main():
    probe, src = sys.argv[1], sys.argv[2]
    rc, out, err = run(probe)
    check(rc == 0, f"mixcast-probe exits 0 ({err.strip()[:200]})")
    for title in ("Cameras (V4L2 capture):", "V4L2 mem2mem encoders and scalers:", "DRM cards:", "VA-API devices:"):
        check(title in out, f"the report has '{title}'")
    rc, jout, err = run(probe, "--json")
    try:
        d = json.loads(jout)
    except ValueError as e:
        check(False, f"--json parses ({e})")
        return 1
    check(set(d) >= {"v4l2", "drm", "vaapi"}, "--json has v4l2, drm, vaapi")
    # each empty class is said so in words; each present device is listed in both outputs
    if not any(v["kind"] == "camera" for v in d["v4l2"]):
        check("none (no V4L2 capture device" in out, "no camera: said so")
    if not d["vaapi"]:
        check("no VA-API device" in out, "no VA-API device: said so")
    for dev in d["v4l2"] + d["drm"] + d["vaapi"]:
        check(dev["path"] in out, f"{dev['path']} in the human report too")
    for va in d["vaapi"]:
        check(va["h264_encode"] or va["error"] or "H.264 encode: no" in out,
              f"{va['path']}: a device without H.264 encode is said so")
        check(va["error"] or ("vpp" in va and "video processing (scaling): " in out),
              f"{va['path']}: whether it scales (VideoProc) is said, in both outputs")

    tmp = tempfile.mkdtemp(prefix="mixcast-probe-test.")
    key = os.path.join(tmp, "srtp.key")
    with open(key, "w") as f:
        f.write("inline:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk\n")
    os.chmod(key, 0o600)
    with open(os.path.join(src, "configs", "mixcast.ini")) as f:
        text = f.read()
    conf = os.path.join(tmp, "mixcast.ini")
    with open(conf, "w") as f:
        f.write(re.sub(r"(?m)^srtp_key_file = .*$", f"srtp_key_file = {key}", text))
    rc, out, err = run(probe, "-c", conf)
    check(rc == 0, f"-c mixcast.ini exits 0 ({err.strip()[:300]})")
    lines = [l for l in out.splitlines() if re.match(r"\s+\w+/\d ", l)]
    check(len(lines) == 3, f"-c names 3 layers ({lines})")
    for l in lines:
        check("encoder = auto -> " in l and "(vaapi: " in l, f"the layer's choice and the reasons: {l.strip()}")
    expect_sw = not any(v["h264_encode"] for v in d["vaapi"])
    if expect_sw:
        check(all("-> software" in l for l in lines), "auto without hardware: software for every layer")
    if not d["vaapi"]:
        check(all("vaapi: no VA-API device (no /dev/dri/renderD*)" in l for l in lines),
              "each layer says: vaapi: no VA-API device")
    rc, jout, _ = run(probe, "-c", conf, "--json")
    layers = json.loads(jout).get("layers", [])
    check(len(layers) == 3 and all(l["backend"] for l in layers), f"--json layers with a backend ({layers})")

    with open(conf, "w") as f:
        f.write(re.sub(r"(?m)^encoder = auto$", "encoder = auto\nlayer_encoders = openh264, software",
                       re.sub(r"(?m)^srtp_key_file = .*$", f"srtp_key_file = {key}", text)))
    rc, jout, err = run(probe, "-c", conf, "--json")
    try:
        layers = json.loads(jout)["layers"]
        got = [(l["encoder"], l["backend"]) for l in layers]
    except (ValueError, KeyError) as e:
        got = [str(e), err]
    check(got[1:] == [("software", "software"), ("auto", "software" if expect_sw else got[2][1])] and
          got[0][0] == "openh264" and got[0][1] in ("openh264", "software"),
          f"layer_encoders override per layer: {got}")
    if not d["vaapi"] and len(sys.argv) > 3:
        daemon_auto(sys.argv[3], tmp)
    subprocess.run(["rm", "-rf", tmp])
    return 1 if failures else 0


STATS = "127.0.0.1:16661"


def layer_stats(pid, ns):
    """The daemon's /stats layers, from inside its network namespace when it has one; [] until it answers."""
    url = f"http://{STATS}/stats"
    cmd = (["nsenter", "-t", str(pid), "-n"] if ns else []) + ["curl", "-sf", "--max-time", "2", url]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
        return [l for t in json.loads(r.stdout)["tracks"] for l in t["layers"]] if r.returncode == 0 else []
    except (ValueError, KeyError, subprocess.TimeoutExpired):
        return []


def daemon_auto(mixcastd, tmp):
    """mixcastd, encoder = auto, no VA-API device: it must log why vaapi was passed over, pick software, and
    scale the lower layer on the CPU (the VA scaler is never chosen for a software encoder's layer)."""
    conf = os.path.join(tmp, "auto.ini")
    with open(conf, "w") as f:
        f.write(f"[daemon]\nstats_listen = {STATS}\n"
                "[source.cam]\ntype = testsrc\nsize = 640x360\nfps = 30\n[track.video]\ninput = cam\n"
                "encoder = auto\npreset = ultrafast\nlayers = 320x180@30:200k, 160x90@30:100k\n"
                "[output.o]\ntype = rtp\ntrack = video\nhost = 127.0.0.1\nports = 16660, 16662\n")
    cmd = [mixcastd, "-c", conf]
    ns = os.geteuid() == 0 and shutil.which("nsenter") is not None
    if ns:  # a namespace of its own: the ports never meet another test's
        cmd = ["unshare", "-n", "sh", "-c", 'ip link set lo up; exec "$@"', "sh"] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    layers, deadline = [], time.monotonic() + 10
    while time.monotonic() < deadline and p.poll() is None:  # until both layers encoded a few frames
        layers = layer_stats(p.pid, ns)
        if len(layers) == 2 and all(l.get("frames_encoded", 0) >= 5 for l in layers):
            break
        time.sleep(0.2)
    p.terminate()
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate(timeout=10)
    check(p.returncode == 0, f"mixcastd exits 0 after SIGTERM (got {p.returncode}; a sanitizer's report would fail it)")
    check(len(layers) == 2, f"/stats has the two layers ({[(l.get('width'), l.get('scaler')) for l in layers]})")
    for i, l in enumerate(layers):
        check(l.get("encoder") == "software", f"layer {i}: encoder software on /stats ({l.get('encoder')})")
        check(l.get("scaler") in ("half", "swscale", "none"),
              f"layer {i}: scaled on the CPU, not by VA-API ({l.get('scaler')})")
        check(l.get("device_scaled") == 0, f"layer {i}: no picture scaled on a device ({l.get('device_scaled')})")
    check(len(layers) < 2 or layers[1].get("scaler") == "half", "the 2:1 layer by half")
    check("VA-API scaling not used" not in out, "the VA scaler is not even tried for software layers")
    for i, size in ((0, "320x180"), (1, "160x90")):
        check(f"video/{i}: vaapi not used: no VA-API device (no /dev/dri/renderD*)" in out,
              f"mixcastd logs why vaapi was not used for layer {i}")
        check(re.search(rf"video/{i}: software h264 {size}@30 .*\(the earlier backends are not usable\)", out) is not None,
              f"mixcastd logs that software took layer {i}")


if __name__ == "__main__":
    sys.exit(main())
