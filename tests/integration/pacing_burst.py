#!/usr/bin/python3
"""pacing_burst.py MIXCASTD [h264|vp8]

Issue 15, test 4: no 5 ms window carries more than the pacer's rate allows while a 720p keyframe leaves.
mixcastd sends three H.264 layers (720p/360p/180p, a keyframe every second) to one port; the receiver takes
the kernel's receive timestamp of every datagram (SO_TIMESTAMPNS: the time it reached the socket, not when
python got round to it, so a busy machine does not fake bursts) and finds the largest number of bytes
in any 5 ms window. Run twice: `pacing = on` (the default) and `pacing = off`.

Paced, the bound is the pacer's: rate * (5 ms + its 1 ms burst) + one packet, at 2.5x the sum of the layers'
bitrates (no feedback arrives here, so congestion control keeps the configured bitrates). Unpaced, a
keyframe leaves as one burst: the test also checks that it goes over the paced bound (else it measures
nothing). libx264 runs with a VBV of one frame, so its keyframes are small and the unpaced burst is only
somewhat larger; libvpx's 500 ms buffer lets a keyframe grow to many frames' worth.

Exit 0 pass, 1 fail. Port 17010. Prints "burst5ms paced=N unpaced=M allowed=A" for the note.
"""
import array
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from mclib import check, failures

PORT = 17010
LAYERS = [(1280, 720, 30, 2500000), (640, 360, 30, 700000), (320, 180, 15, 150000)]
RATE = 2.5 * sum(l[3] for l in LAYERS)  # bit/s
MTU = 1200
WINDOW = 0.005
# asm-generic/socket.h (x86, arm): SO_TIMESTAMPNS_OLD; python does not export it
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
RUN_S = 4.0


def run(binary, tmp, pacing, codec):
    conf = os.path.join(tmp, f"pacing-{pacing}.ini")
    layers = ", ".join(f"{w}x{h}@{fps}:{b // 1000}k" for w, h, fps, b in LAYERS)
    with open(conf, "w") as f:
        f.write(f"""[source.cam]
type = testsrc
size = 1280x720
fps = 30
[track.video]
input = cam
codec = {codec}
layers = {layers}
keyframe_interval = 1
[output.sfu]
type = rtp
track = video
host = 127.0.0.1
port = {PORT}
mtu = {MTU}
rtcp = off
pacing = {pacing}
""")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind(("127.0.0.1", PORT))
    sock.setblocking(False)
    log = open(os.path.join(tmp, f"mixcastd-{pacing}.log"), "w+")
    proc = subprocess.Popen([binary, "-c", conf], stderr=log, stdout=log)
    arrivals = []  # (kernel time s, bytes, keyframe-ish: marker)
    deadline = time.monotonic() + RUN_S
    try:
        while time.monotonic() < deadline + 1.5:
            if proc.poll() is None and time.monotonic() >= deadline:
                proc.send_signal(signal.SIGTERM)
            r, _, _ = select.select([sock], [], [], 0.05)
            for _ in range(1024 if r else 0):
                try:
                    data, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(16))
                except BlockingIOError:
                    break
                t = None
                for level, typ, cdata in anc:
                    if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                        sec, nsec = struct.unpack("qq", cdata[:16])
                        t = sec + nsec / 1e9
                arrivals.append((t, len(data)))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        sock.close()
    log.seek(0)
    return proc.returncode, arrivals, log.read()


def largest_window(arrivals):
    best, best_at, j, acc = 0, 0, 0, 0
    for i in range(len(arrivals)):
        acc += arrivals[i][1]
        while arrivals[i][0] - arrivals[j][0] >= WINDOW:
            acc -= arrivals[j][1]
            j += 1
        if acc > best:
            best, best_at = acc, arrivals[j][0]
    return best, best_at


def main():
    binary = sys.argv[1]
    codec = sys.argv[2] if len(sys.argv) > 2 else "h264"
    tmp = tempfile.mkdtemp(prefix="mixcast-it-pacing.")
    allowed = RATE / 8 * (WINDOW + 0.001) + MTU + 100
    res = {}
    for pacing in ("on", "off"):
        rc, arr, log_text = run(binary, tmp, pacing, codec)
        check(rc == 0, f"pacing = {pacing}: mixcastd exits 0 ({rc})")
        check(all(t is not None for t, _ in arr), f"pacing = {pacing}: kernel timestamps on every datagram")
        arr = [a for a in arr if a[0] is not None]
        arr.sort()
        total = sum(b for _, b in arr)
        dur = arr[-1][0] - arr[0][0] if len(arr) > 1 else 0
        best, _ = largest_window(arr)
        res[pacing] = best
        print(f"pacing = {pacing}: {len(arr)} datagrams, {total} bytes in {dur:.2f} s "
              f"({total * 8 / max(dur, 1e-3) / 1e6:.2f} Mbit/s); largest 5 ms window {best} bytes", file=sys.stderr)
        check(len(arr) > 500, f"pacing = {pacing}: enough traffic ({len(arr)} datagrams)")
        if rc != 0 or failures:
            print(log_text[-2000:], file=sys.stderr)
    check(res["on"] <= allowed, f"paced: largest 5 ms window {res['on']} bytes <= {allowed:.0f} "
          f"(2.5 x {RATE / 2.5 / 1e6:.2f} Mbit/s over 5 ms + 1 ms burst + a packet)")
    check(res["off"] > allowed, f"unpaced: keyframes leave as bursts ({res['off']} bytes in 5 ms > {allowed:.0f});"
          " else this test measures nothing")
    print(f"burst5ms {codec} paced={res['on']} unpaced={res['off']} allowed={allowed:.0f}", file=sys.stderr)
    print(f"pacing_burst: {'FAIL' if failures else 'PASS'}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
