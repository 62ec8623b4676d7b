#!/usr/bin/env python3
"""mixcast-probe on this machine: the human report names every device class (and says clearly when there is
none), --json parses and has the same devices, and -c names the backend each layer of configs/mixcast.ini
(with its key file swapped for a generated one) and of a per-layer override gets, with the reasons.

And mixcastd itself with encoder = auto on a machine without VA-API: the log says vaapi was not used and why,
and that software took the layer.

usage: probe_cli.py MIXCAST_PROBE SOURCE_DIR MIXCASTD     exit 0 pass, 1 fail
"""
import json
import os
import re
import subprocess
import sys
import tempfile
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


def daemon_auto(mixcastd, tmp):
    """mixcastd, encoder = auto, no VA-API device: it must log why vaapi was passed over and pick software."""
    conf = os.path.join(tmp, "auto.ini")
    with open(conf, "w") as f:
        f.write("[source.cam]\ntype = testsrc\nsize = 320x180\nfps = 30\n[track.video]\ninput = cam\n"
                "encoder = auto\nlayers = 320x180@30:200k\n[output.o]\ntype = rtp\ntrack = video\n"
                "host = 127.0.0.1\nports = 16660\n")
    cmd = [mixcastd, "-c", conf]
    if os.geteuid() == 0:  # a namespace of its own: the port never meets another test's
        cmd = ["unshare", "-n", "sh", "-c", 'ip link set lo up; exec "$@"', "sh"] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=1.5)
    except subprocess.TimeoutExpired:
        p.terminate()
        out, _ = p.communicate(timeout=10)
    check("video/0: vaapi not used: no VA-API device (no /dev/dri/renderD*)" in out,
          "mixcastd logs why vaapi was not used")
    check(re.search(r"video/0: software h264 320x180@30 .*\(the earlier backends are not usable\)", out) is not None,
          "mixcastd logs that software took the layer")


if __name__ == "__main__":
    sys.exit(main())
