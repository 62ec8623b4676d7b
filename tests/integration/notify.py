#!/usr/bin/env python3
"""systemd's notify protocol, with this test in systemd's place: its own NOTIFY_SOCKET (an AF_UNIX datagram
socket) and WATCHDOG_USEC=2 s in mixcastd's environment, UDP receivers on the output's ports.
1. READY=1 comes once the first packet of every layer has left (each receiver already holds a packet when
   READY=1 is read), STATUS= says "starting: ..." before and "streaming 2 layers to 127.0.0.1" with it,
   WATCHDOG=1 comes about every second, SIGTERM gives STOPPING=1 and exit 0.
2. A static screen (a looped still clip, skip_unchanged: its layers get a frame once per keyframe interval
   and wait idle in between) keeps the pings going: an idle thread is not a stalled one.
3. With the test-only fault switch MIXCAST_TEST_STALL_LAYER=1:20 the encoder thread of layer 1 stops taking
   frames after its 20th: the pings stop (none for 3 s, longer than WatchdogSec) while layer 0 keeps
   sending, and STATUS= names the stalled layer. SIGTERM still ends the daemon cleanly.
4. An absent camera (v4l2, no such device: 'no signal', the placeholder at 2 fps, reopening) keeps the pings
   going (a restart would not bring the camera back), and STATUS= says 'source cam: no signal, retrying'.
5. A reload (SIGHUP, as systemd's ExecReload sends it): RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC, in
   microseconds: between the signal and its receipt), then READY=1; the same for a file that is refused, whose
   STATUS= says so; both layers keep sending throughout.

usage: notify.py MIXCASTD     exit 0 pass, 1 fail, 77 skip
As root it runs itself in a new network namespace (only loopback). Ports 16800-16803.
"""
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from mclib import check, failures

PORTS = [16800, 16802]   # layer 0, layer 1; RTCP on +1
W, H = 96, 64


def write_still(path, n):
    with open(path, "wb") as f:
        f.write(b"YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n" % (W, H))
        for _ in range(n):
            f.write(b"FRAME\n" + bytes([90]) * (W * H) + bytes([128]) * (W * H // 2))


class Systemd:
    """The notify socket, the receivers, and what arrived when (monotonic seconds)."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.rx = []
        for p in PORTS:
            for port in (p, p + 1):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", port))
                s.setblocking(False)
                self.rx.append((port, s))
        self.reset()

    def reset(self):
        self.messages = []          # (time, {key: value})
        self.first_rtp = {}         # port -> time of its first datagram
        self.rtp_count = {p: 0 for p in PORTS}

    def run(self, seconds, until=None):
        """Collects for `seconds`, or until until(message) is true. Receivers are read before the notify
        socket in each round: a packet queued before READY=1 is counted before it."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            socks = [s for _, s in self.rx] + [self.sock]
            ready, _, _ = select.select(socks, [], [], min(0.05, max(0, end - time.monotonic())))
            now = time.monotonic()
            for port, s in self.rx:
                for _ in range(512):
                    try:
                        s.recv(2048)
                    except BlockingIOError:
                        break
                    if port in self.rtp_count:
                        self.rtp_count[port] += 1
                        self.first_rtp.setdefault(port, now)
            if self.sock in ready:
                while True:
                    try:
                        data = self.sock.recv(4096, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    msg = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
                    self.messages.append((now, msg))
                    if until and until(msg):
                        return True
        return False

    def times(self, key):
        return [t for t, m in self.messages if key in m]

    def statuses(self):
        return [m["STATUS"] for _, m in self.messages if "STATUS" in m]


def start(binary, conf, sd, extra_env=None):
    env = dict(os.environ, NOTIFY_SOCKET=sd.path, WATCHDOG_USEC="2000000")
    env.pop("WATCHDOG_PID", None)
    env.update(extra_env or {})
    return subprocess.Popen([binary, "-c", conf], env=env, stderr=subprocess.PIPE, text=True)


def stop(proc, sd, what):
    proc.send_signal(signal.SIGTERM)
    sd.run(3, until=lambda m: "STOPPING" in m)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    check(proc.returncode == 0, f"{what}: mixcastd exits 0 after SIGTERM (got {proc.returncode})")
    check(bool(sd.times("STOPPING")), f"{what}: STOPPING=1 after SIGTERM")
    return err


def write_conf(path, source):
    with open(path, "w") as f:
        f.write(f"""{source}
[track.video]
input = cam
codec = h264
layers = {W}x{H}@30:300k, {W // 2}x{H // 2}@30:100k
keyframe_interval = 1
preset = ultrafast
{"skip_unchanged = true" if "file" in source else ""}
[output.sfu]
type = rtp
track = video
host = 127.0.0.1
ports = {PORTS[0]}, {PORTS[1]}
""")


def part1(binary, tmp, sd):
    conf = os.path.join(tmp, "live.ini")
    write_conf(conf, "[source.cam]\ntype = testsrc\nsize = %dx%d\nfps = 30" % (W, H))
    proc = start(binary, conf, sd)
    got = sd.run(15, until=lambda m: "READY" in m)
    check(got, "READY=1 within 15 s")
    if got:
        t_ready = sd.times("READY")[0]
        for p in PORTS:
            first = sd.first_rtp.get(p)
            check(first is not None and first <= t_ready,
                  f"the first RTP packet to port {p} arrived before READY=1 ({first} <= {t_ready})")
        ready_msg = [m for _, m in sd.messages if "READY" in m][0]
        check(ready_msg.get("STATUS") == "streaming 2 layers to 127.0.0.1",
              f"READY=1 carries STATUS=streaming 2 layers to 127.0.0.1 (got {ready_msg.get('STATUS')!r})")
    st = sd.statuses()
    check(bool(st) and st[0].startswith("starting: waiting for the first packets"),
          f"the first STATUS= is 'starting: ...' (got {st[:1]})")
    t0 = time.monotonic()
    sd.run(4.5)
    pings = [t for t in sd.times("WATCHDOG") if t >= t0]
    check(4 <= len(pings) <= 6, f"WATCHDOG=1 about every second while streaming: {len(pings)} in 4.5 s")
    err = stop(proc, sd, "live")
    check("READY=1" in err, "the log says when READY=1 went out")


def part2(binary, tmp, sd):
    still = os.path.join(tmp, "still.y4m")
    write_still(still, 30)
    conf = os.path.join(tmp, "still.ini")
    write_conf(conf, f"[source.cam]\ntype = file\npath = {still}\nloop = true")
    proc = start(binary, conf, sd)
    check(sd.run(15, until=lambda m: "READY" in m), "static screen: READY=1 within 15 s")
    t0 = time.monotonic()
    sd.run(5)
    pings = [t for t in sd.times("WATCHDOG") if t >= t0]
    gaps = [b - a for a, b in zip([t0] + pings, pings + [time.monotonic()])]
    check(len(pings) >= 4 and max(gaps) < 1.8,
          f"static screen: the pings go on ({len(pings)} in 5 s, longest gap {max(gaps):.2f} s)")
    check(not any(s.startswith("stalled") for s in sd.statuses()), "static screen: never 'stalled'")
    stop(proc, sd, "static screen")


def part3(binary, tmp, sd):
    conf = os.path.join(tmp, "live.ini")
    proc = start(binary, conf, sd, {"MIXCAST_TEST_STALL_LAYER": "1:20"})
    check(sd.run(15, until=lambda m: "READY" in m), "stall: READY=1 within 15 s (layer 1 sent its first frames)")
    stalled = sd.run(8, until=lambda m: m.get("STATUS", "").startswith("stalled"))
    check(stalled, "stall: STATUS=stalled: ... within 8 s")
    if stalled:
        status = [s for s in sd.statuses() if s.startswith("stalled")][0]
        check("track video layer 1" in status, f"stall: STATUS= names the layer: {status!r}")
        t_stall = sd.times("STATUS")[-1]
        count0 = sd.rtp_count[PORTS[0]]
        sd.run(3.5)
        late = [t for t in sd.times("WATCHDOG") if t > t_stall]
        check(not late, f"stall: no WATCHDOG=1 for 3.5 s after 'stalled' (got {len(late)})")
        check(sd.rtp_count[PORTS[0]] - count0 > 50,
              f"stall: layer 0 keeps sending meanwhile ({sd.rtp_count[PORTS[0]] - count0} packets in 3.5 s)")
    err = stop(proc, sd, "stall")
    check("MIXCAST_TEST_STALL_LAYER" in err and "watchdog pings stop" in err, "stall: the log says why")


def part4(binary, tmp, sd):
    conf = os.path.join(tmp, "absent.ini")
    write_conf(conf, "[source.cam]\ntype = v4l2\ndevice = usb-mixcast-test-absent-camera\nsize = %dx%d\nfps = 30"
               % (W, H))
    proc = start(binary, conf, sd)
    check(sd.run(15, until=lambda m: "READY" in m), "absent camera: READY=1 within 15 s (the placeholder is sent)")
    t0 = time.monotonic()
    sd.run(5)
    pings = [t for t in sd.times("WATCHDOG") if t >= t0]
    gaps = [b - a for a, b in zip([t0] + pings, pings + [time.monotonic()])]
    check(len(pings) >= 4 and max(gaps) < 1.8,
          f"absent camera: the pings go on ({len(pings)} in 5 s, longest gap {max(gaps):.2f} s)")
    st = sd.statuses()
    check(not any(s.startswith("stalled") for s in st), "absent camera: never 'stalled'")
    check(any("source cam: no signal, retrying" in s for s in st),
          f"absent camera: STATUS= says 'source cam: no signal, retrying' (got {st[-1:]})")
    stop(proc, sd, "absent camera")


def reload_once(proc, sd, what):
    """SIGHUP; returns (RELOADING message, its time, the READY message after it) or Nones."""
    t_sent = time.monotonic()
    proc.send_signal(signal.SIGHUP)
    got = sd.run(10, until=lambda m: "RELOADING" in m)
    check(got, f"{what}: RELOADING=1 within 10 s of SIGHUP")
    if not got:
        return None, None, None, t_sent
    t_rel = sd.times("RELOADING")[-1]
    rel = [m for _, m in sd.messages if "RELOADING" in m][-1]
    got = sd.run(10, until=lambda m: "READY" in m)
    check(got, f"{what}: READY=1 after RELOADING=1 within 10 s")
    ready = [(t, m) for t, m in sd.messages if "READY" in m and t >= t_rel]
    return rel, t_rel, ready[-1][1] if ready else None, t_sent


def part5(binary, tmp, sd):
    conf = os.path.join(tmp, "reload.ini")
    write_conf(conf, "[source.cam]\ntype = testsrc\nsize = %dx%d\nfps = 30" % (W, H))
    proc = start(binary, conf, sd)
    check(sd.run(15, until=lambda m: "READY" in m), "reload: READY=1 within 15 s")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("@30:300k", "@30:400k"))
    before = dict(sd.rtp_count)
    rel, t_rel, ready, t_sent = reload_once(proc, sd, "reload")
    if rel:
        usec = int(rel.get("MONOTONIC_USEC", "0") or 0)
        check(t_sent * 1e6 - 1000 <= usec <= t_rel * 1e6 + 1000,
              f"reload: MONOTONIC_USEC={usec} is CLOCK_MONOTONIC between SIGHUP ({t_sent * 1e6:.0f}) "
              f"and its receipt ({t_rel * 1e6:.0f})")
    check(ready is not None and "reloaded" in ready.get("STATUS", ""),
          f"reload: READY=1 comes with STATUS=...reloaded (got {ready})")
    with open(conf, "w") as f:
        f.write(text.replace("@30:300k", "@30:banana"))
    rel, t_rel, ready, _ = reload_once(proc, sd, "refused reload")
    check(ready is not None and "refused" in ready.get("STATUS", ""),
          f"refused reload: READY=1 with a STATUS= that says the reload was refused (got {ready})")
    sd.run(1.0)
    check(all(sd.rtp_count[p] - before[p] > 10 for p in PORTS),
          f"reload: both layers kept sending ({[sd.rtp_count[p] - before[p] for p in PORTS]} packets)")
    err = stop(proc, sd, "reload")
    check("400k: live" in err or "300k -> 400k" in err, "reload: the log says what the reload applied")
    check("reload.ini:" in err and "bitrate 'banana'" in err, "refused reload: the log names the file, line and value")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    if os.environ.get("MIXCAST_IT_NETNS") != "1" and os.geteuid() == 0 and shutil.which("unshare"):
        env = dict(os.environ, MIXCAST_IT_NETNS="1")
        return subprocess.call(["unshare", "-n", sys.executable, os.path.abspath(__file__), binary], env=env)
    if os.environ.get("MIXCAST_IT_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with tempfile.TemporaryDirectory(prefix="mixcast-notify-") as tmp:
        sd = Systemd(tmp)
        for part in (part1, part2, part3, part4, part5):
            sd.reset()
            part(binary, tmp, sd)
    print(f"{len(failures)} failure(s)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
