#!/usr/bin/env python3
"""/healthz of a running mixcastd, provoked honestly:
1. A daemon with three tracks: a live testsrc, a static screen (a looped clip of one unchanged picture,
   skip_unchanged, keyframe_interval 1 s: encoded once a second) and a 2.5 s clip played once. While all
   stream, /healthz answers 200 "ok"; once the clip has ended it answers 503 naming the ended source, its
   track's silent layer and its output, and never the live track or the static screen (whose skipped
   frames are not an outage: /stats shows it encoded about one frame a second).
2. A daemon whose output's packets cannot leave (a destination with no route, inside a network namespace
   of the test's own): 503 naming the output and its send errors.

usage: healthz.py MIXCASTD     exit 0 pass, 1 fail, 77 skip
As root it runs itself in a new network namespace (only loopback); otherwise part 2 runs only when the
machine has no route to its destination, so that no packet ever leaves the machine.
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from mclib import check, failures

PORTS = [16700, 16702, 16704, 16706]   # live (2 layers), clip, screen; RTCP on +1
STATS = ["127.0.0.1:16790", "127.0.0.1:16791"]
UNROUTED = "10.255.255.1"
W, H = 96, 64


def write_y4m(path, n, moving):
    with open(path, "wb") as f:
        f.write(b"YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n" % (W, H))
        for i in range(n):
            f.write(b"FRAME\n")
            f.write(bytes([(40 + 3 * i) % 220 if moving else 90]) * (W * H))
            f.write(bytes([128]) * (W * H // 2))


def healthz(addr):
    """(status, body), or (0, error) when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://{addr}/healthz", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def stats(addr):
    try:
        with urllib.request.urlopen(f"http://{addr}/stats", timeout=2) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return {}


class Sink:
    """Receivers for the outputs, drained so that nothing sees ICMP errors."""

    def __init__(self):
        self.socks = []
        for p in PORTS:
            for port in (p, p + 1):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", port))
                s.setblocking(False)
                self.socks.append(s)

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select(self.socks, [], [], min(left, 0.05))
            for s in ready:
                for _ in range(256):
                    try:
                        s.recv(2048)
                    except BlockingIOError:
                        break


def stop(proc, what):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    check(proc.returncode == 0, f"{what}: mixcastd exits 0 after SIGTERM (got {proc.returncode})")


def part1(binary, tmp, sink):
    clip, still = os.path.join(tmp, "clip.y4m"), os.path.join(tmp, "still.y4m")
    write_y4m(clip, 75, True)
    write_y4m(still, 30, False)
    conf = os.path.join(tmp, "part1.ini")
    with open(conf, "w") as f:
        f.write(f"""[daemon]
stats_listen = {STATS[0]}
[source.cam]
type = testsrc
size = 320x180
fps = 30
[source.clip]
type = file
path = {clip}
loop = false
[source.still]
type = file
path = {still}
loop = true
[track.live]
input = cam
layers = 320x180@30:300k, 160x90@15:100k
preset = ultrafast
[track.clip]
input = clip
layers = {W}x{H}@30:100k
; its layer's deadline is 1 s + keyframe_interval (skip_unchanged); the default of 10 s would outlast the run
keyframe_interval = 2
preset = ultrafast
[track.screen]
input = still
layers = {W}x{H}@30:100k
keyframe_interval = 1
skip_unchanged = true
preset = ultrafast
[output.live]
type = rtp
track = live
host = 127.0.0.1
ports = {PORTS[0]}, {PORTS[1]}
[output.clip]
type = rtp
track = clip
host = 127.0.0.1
ports = {PORTS[2]}
[output.screen]
type = rtp
track = screen
host = 127.0.0.1
ports = {PORTS[3]}
""")
    log = open(os.path.join(tmp, "part1.log"), "w+")
    proc = subprocess.Popen([binary, "-c", conf], stdout=log, stderr=log)
    start = time.monotonic()
    answers = []    # (seconds since start, status, body)
    try:
        while time.monotonic() - start < 9.0 and proc.poll() is None:
            sink.drain(0.1)
            status, body = healthz(STATS[0])
            answers.append((time.monotonic() - start, status, body))
        st = stats(STATS[0])
    finally:
        stop(proc, "part 1")
    log.seek(0)
    text = log.read()
    # the clip lasts 2.5 s: until 2 s everything streams
    early = [a for a in answers if 0.5 <= a[0] <= 2.0]
    check(len(early) >= 5 and all(s == 200 and b == "ok\n" for _, s, b in early),
          f"while every track streams, /healthz answers 200 ok ({[(round(t, 1), s) for t, s, _ in early if s != 200][:5]})")
    bad = [a for a in answers if a[1] == 503]
    first = bad[0] if bad else None
    check(first is not None and first[0] >= 2.0 and "source clip: ended" in first[2],
          f"after the clip ends, 503 naming it (first at {first and round(first[0], 1)} s: {first and first[2]!r})")
    last = answers[-1] if answers else (0, 0, "")
    check(last[1] == 503 and "track clip layer 0: no frame encoded" in last[2]
          and "output clip layer 0: no packet sent" in last[2],
          f"later also the clip's silent layer and output ({last[2]!r})")
    check(all("screen" not in b and "live" not in b for _, _, b in answers),
          "the live track and the static screen are never reported: "
          f"{[b for _, _, b in answers if 'screen' in b or 'live' in b][:1]}")
    screen = next((t for t in st.get("tracks", []) if t.get("name") == "screen"), {})
    layer = (screen.get("layers") or [{}])[0]
    check(screen.get("frames_unchanged", 0) > 150 and 4 <= layer.get("frames_encoded", 0) <= 14,
          f"the static screen skipped its unchanged frames ({screen.get('frames_in')} in, "
          f"{screen.get('frames_unchanged')} unchanged, {layer.get('frames_encoded')} encoded in about 9 s)")
    if failures:
        print("---- part 1 mixcastd log ----\n" + text[-2500:], file=sys.stderr)


def part2(binary, tmp):
    conf = os.path.join(tmp, "part2.ini")
    with open(conf, "w") as f:
        f.write(f"""[daemon]
stats_listen = {STATS[1]}
[source.cam]
type = testsrc
size = 160x90
fps = 30
[track.live]
input = cam
layers = 160x90@30:100k
skip_unchanged = false
preset = ultrafast
[output.lost]
type = rtp
track = live
host = {UNROUTED}
ports = 16720
""")
    log = open(os.path.join(tmp, "part2.log"), "w+")
    proc = subprocess.Popen([binary, "-c", conf], stdout=log, stderr=log)
    start = time.monotonic()
    status, body = 0, ""
    try:
        while time.monotonic() - start < 6.0 and proc.poll() is None:
            time.sleep(0.2)
            status, body = healthz(STATS[1])
            if status == 503 and "output lost" in body:
                break
    finally:
        stop(proc, "part 2")
    check(status == 503 and "output lost layer 0: no packet sent" in body and " 0 send errors" not in body,
          f"packets that cannot leave: 503 naming the output and its send errors ({status}, {body!r})")
    check("track live" not in body, "the track itself still encodes")
    if failures:
        log.seek(0)
        print("---- part 2 mixcastd log ----\n" + log.read()[-2000:], file=sys.stderr)


def routed(addr):
    r = subprocess.run(["ip", "route", "get", addr], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    if os.environ.get("MIXCAST_IT_NETNS") != "1" and os.geteuid() == 0 and shutil.which("unshare"):
        env = dict(os.environ, MIXCAST_IT_NETNS="1")
        return subprocess.call(["unshare", "-n", sys.executable, os.path.abspath(__file__), binary], env=env)
    if os.environ.get("MIXCAST_IT_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=False)
    tmp = tempfile.mkdtemp(prefix="mixcast-it-healthz.")
    sink = Sink()
    part1(binary, tmp, sink)
    if not shutil.which("ip") or routed(UNROUTED):
        print(f"SKIP (part 2): {UNROUTED} is routed here; run as root for a namespace of its own", file=sys.stderr)
    else:
        part2(binary, tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"healthz: {'FAIL' if failures else 'PASS'} ({len(failures)} failed checks)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
