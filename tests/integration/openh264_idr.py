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
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from mclib import check, failures, nal_types

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
    socks = {}
    for p in PORTS:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("127.0.0.1", p))
        s.setblocking(False)
        socks[s.fileno()] = (s, p)
    frames = {p: {} for p in PORTS}  # port -> RTP timestamp -> NAL types of its packets
    log = open(os.path.join(tmp, "mixcastd.log"), "w+")
    proc = subprocess.Popen([binary, "-c", conf, "--stats-out", stats], stdout=log, stderr=log)
    t0, end = time.monotonic(), None
    try:
        while True:
            now = time.monotonic() - t0
            if end is None and now >= SECONDS:
                proc.send_signal(signal.SIGTERM)
                end = now
            if end is not None and (proc.poll() is not None and now - end > 0.3 or now - end > 10):
                break
            ready, _, _ = select.select(list(socks), [], [], 0.05)
            for fd in ready:
                s, port = socks[fd]
                for _ in range(256):
                    try:
                        data = s.recv(2048)
                    except BlockingIOError:
                        break
                    if len(data) < 12 or data[0] >> 6 != 2 or 200 <= data[1] <= 206:
                        continue  # RTCP (muxed SR/BYE), not media
                    b0, _, _, ts, _ = struct.unpack_from("!BBHII", data)
                    hdr = 12 + 4 * (b0 & 0x0F)
                    if b0 & 0x10:  # header extension
                        hdr += 4 + 4 * struct.unpack_from("!H", data, hdr + 2)[0]
                    frames[port].setdefault(ts, set()).update(nal_types(data[hdr:]))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    check(proc.returncode == 0, f"mixcastd exit status {proc.returncode}")
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
