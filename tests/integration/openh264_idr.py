#!/usr/bin/env python3
"""OpenH264 codes P frames on every layer, 15 fps ones too (issue 14): mixcastd encodes testsrc (scrolling bars:
twice the motion per frame on a 15 fps layer as on a 30 fps one) with encoder = openh264 into 640x360@30 and
320x180@15, and a stdlib receiver counts per layer the frames whose RTP packets carry an IDR slice (NAL type 5)
and those with a non-IDR slice (type 1). With keyframe_interval = 10 and no receiver feedback the core asks for
one keyframe per layer (the first frame), so each layer must show exactly that: one IDR, then P frames only.
Before the fix every frame of the 15 fps layer was an IDR (OpenH264's screen-content mode, chosen because the
track's skip_unchanged is on by default, makes its own IDRs at each large change).

usage: openh264_idr.py MIXCASTD      exit 0 pass, 1 fail, 77 skip
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from mclib import check, failures, nal_types, receive_rtp

PORTS = [16670, 16672]  # RTP; RTCP on +1
LAYERS = [(640, 360, 30, "700k"), (320, 180, 15, "150k")]
SECONDS = 3.0


def run(binary):
    tmp = tempfile.mkdtemp(prefix="mixcast-it-oh264idr.")
    conf, stats = os.path.join(tmp, "idr.ini"), os.path.join(tmp, "stats.json")
    lay = ", ".join(f"{w}x{h}@{fps}:{br}" for w, h, fps, br in LAYERS)
    with open(conf, "w") as f:
        f.write(f"""[source.cam]
type = testsrc
size = 640x360
fps = 30
[track.video]
input = cam
codec = h264
encoder = openh264
layers = {lay}
keyframe_interval = 10
[output.plain]
type = rtp
track = video
host = 127.0.0.1
ports = {', '.join(map(str, PORTS))}
""")
    frames = {p: {} for p in PORTS}  # port -> RTP timestamp -> NAL types of its packets
    log = open(os.path.join(tmp, "mixcastd.log"), "w+")

    def packet(port, data, ssrc, seq, ts, hdr):
        frames[port].setdefault(ts, set()).update(nal_types(data[hdr:]))

    status = receive_rtp([binary, "-c", conf, "--stats-out", stats], log, PORTS, SECONDS, packet)
    check(status == 0, f"mixcastd exit status {status}")
    try:
        with open(stats) as f:
            used = [l["encoder"] for l in json.load(f)["tracks"][0]["layers"]]
    except (OSError, ValueError, KeyError, IndexError) as e:
        used = [f"unreadable --stats-out ({e})"]
    check(used == ["openh264"] * len(LAYERS), f"every layer encoded by openh264 ({used})")
    for (w, h, fps, _), port in zip(LAYERS, PORTS):
        fr = frames[port]
        idr = sum(1 for t in fr.values() if 5 in t)
        non_idr = sum(1 for t in fr.values() if 1 in t and 5 not in t)
        name = f"{h}p{fps}"
        # at least half the frames of the run: the 2-core test machine is shared and may drop some
        check(len(fr) >= SECONDS * fps / 2, f"{name}: {len(fr)} frames received (>= {SECONDS * fps / 2:.0f})")
        check(idr == 1, f"{name}: {idr} IDR frame(s) on the wire, expected 1 (the first)")
        check(non_idr == len(fr) - 1, f"{name}: {non_idr} non-IDR frames of {len(fr)}")
    if failures:
        print(f"files in {tmp}", file=sys.stderr)
        return 1
    shutil.rmtree(tmp)
    return 0


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    if os.environ.get("MIXCAST_IDR_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"])
        return run(sys.argv[1])
    if os.geteuid() != 0:
        return run(sys.argv[1])  # loopback ports of its own (16670-16673)
    env = dict(os.environ, MIXCAST_IDR_NETNS="1")
    try:
        r = subprocess.run(["unshare", "-n", sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env=env,
                           timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"SKIP: unshare -n: {e}", file=sys.stderr)
        return 77
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
