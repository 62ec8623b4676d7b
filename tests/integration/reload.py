#!/usr/bin/env python3
"""Live reload while FFmpeg decodes (issue 16). mixcastd sends track `video` (two layers) and track `extra`
(one layer, its own testsrc) to a relay that records every RTP packet (SSRC, sequence number, size, time)
and RTCP BYE, and forwards the video layers to one FFmpeg receiver each. Between the phases the file is
rewritten and SIGHUP sent (once through `mixcastd --reload --pid-file`):
 (a) layer 0's bitrate 250k -> 900k: its received bitrate rises (2 s windows before/after) with no sequence
     gap on any layer and the same SSRCs; then layer 1's frame rate 15 -> 8 fps: its frames on the wire follow;
 (b) a third layer added at the end (its port added to the output): a new SSRC appears on the new port while
     layers 0 and 1 continue without a gap;
 (c) an invalid file: refused, the log names the file, the line and the key; the stream continues unchanged
     (same SSRCs, layer count, no gap);
 (d) the output's ports change: the layers move to the new ports with the same SSRCs and sequence numbers
     continuing across the move; nothing more arrives on the old ones;
 (e) [source.pattern]'s size changes: that source restarts with its track and output (BYE on the old SSRC, a
     new one on the same port), the video layers continue; then track `extra` and its output are removed:
     its SSRC gets an RTCP BYE and stops, the video layers continue;
 (f) [daemon] stats_listen changes with a keyframe_interval: the first is refused ("needs a restart"), the
     second applied.
Throughout, FFmpeg decodes each video layer without "missed packets", and a thread reads /stats and /healthz
every 20 ms (each answer parses; the HTTP thread must never see a freed object; /healthz never says 503 once
it said 200: a part a reload starts has its own first deadline).

usage: reload.py MIXCASTD     exit 0 pass, 1 fail, 77 skip (no ffmpeg)
As root it runs itself in a new network namespace (only loopback). Ports 17300-17391 (in that namespace).
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from mclib import check, failures

WIRE = [17300, 17302, 17304]       # what mixcastd sends to first (layers 0, 1, 2); RTCP on +1
MOVED = [17320, 17322, 17324]      # (d): the new ports
EXTRA = 17340                      # track extra's output
DECODE = [17360, 17362, 17364]     # FFmpeg's ports, per layer (the relay forwards there)
STATS = "127.0.0.1:17390"


class Relay:
    """Listens on the wire ports (RTP and RTCP), records, forwards RTP of the layer ports to FFmpeg."""

    def __init__(self):
        self.lock = threading.Lock()
        self.packets = []   # (time, port, ssrc, seq, size, RTP timestamp)
        self.byes = []      # (time, port, ssrc)
        self.socks = []
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i, ports in enumerate(zip(WIRE, MOVED)):
            for p in ports:
                self.listen(p, DECODE[i])
                self.listen(p + 1, None)
        self.listen(EXTRA, None)
        self.listen(EXTRA + 1, None)
        self.stop_flag = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def listen(self, port, forward):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        s.bind(("127.0.0.1", port))
        s.settimeout(0)
        self.socks.append((s, port, forward))

    def run(self):
        import select
        fds = {s.fileno(): (s, p, f) for s, p, f in self.socks}
        while not self.stop_flag:
            ready, _, _ = select.select(list(fds), [], [], 0.05)
            for fd in ready:
                s, port, forward = fds[fd]
                for _ in range(256):
                    try:
                        data = s.recv(4096)
                    except BlockingIOError:
                        break
                    now = time.monotonic()
                    if len(data) < 8:
                        continue
                    if 192 <= data[1] <= 223:  # RTCP: look for BYE in the compound
                        off = 0
                        while off + 4 <= len(data):
                            pt, words = data[off + 1], struct.unpack_from("!H", data, off + 2)[0]
                            if pt == 203 and off + 8 <= len(data):
                                with self.lock:
                                    self.byes.append((now, port, struct.unpack_from("!I", data, off + 4)[0]))
                            off += 4 * (words + 1)
                        continue
                    if len(data) < 12:
                        continue
                    seq, ts, ssrc = struct.unpack_from("!HII", data, 2)
                    with self.lock:
                        self.packets.append((now, port, ssrc, seq, len(data), ts))
                    if forward:
                        self.out.sendto(data, ("127.0.0.1", forward))

    def close(self):
        self.stop_flag = True
        self.thread.join(2)

    def since(self, t0, t1=None):
        with self.lock:
            return [p for p in self.packets if p[0] >= t0 and (t1 is None or p[0] < t1)]

    def ssrcs_on(self, port, t0, t1=None):
        return {p[2] for p in self.since(t0, t1) if p[1] == port}


def gaps(packets):
    """Sequence gaps per SSRC: {ssrc: [(previous, next), ...]} (loopback: no loss, no reordering)."""
    last, out = {}, {}
    for _, _, ssrc, seq, _, _ in packets:
        if ssrc in last and (last[ssrc] + 1) & 0xFFFF != seq:
            out.setdefault(ssrc, []).append((last[ssrc], seq))
        last[ssrc] = seq
    return out


def kbps(packets, ssrc, t0, t1):
    return sum(p[4] for p in packets if p[2] == ssrc and t0 <= p[0] < t1) * 8 / (t1 - t0) / 1000


def fps(packets, ssrc, t0, t1):
    """Frames per second of a layer on the wire: its distinct RTP timestamps."""
    return len({p[5] for p in packets if p[2] == ssrc and t0 <= p[0] < t1}) / (t1 - t0)


def conf_text(bitrate="250k", layers=2, fps1=15, ports=WIRE, extra=True, invalid=False, pattern="160x120", tail=""):
    layer_list = [f"640x360@30:{bitrate}", f"320x180@{fps1}:120k", "160x90@15:60k"][:layers]
    text = f"""[daemon]
stats_listen = {STATS if "stats_listen" not in tail else "127.0.0.1:17391"}
[source.cam]
type = testsrc
size = 640x360
fps = 30
[track.video]
input = cam
layers = {", ".join(layer_list)}
keyframe_interval = {2 if "keyframe" in tail else 1}
preset = ultrafast
[output.sfu]
type = rtp
track = video
host = 127.0.0.1
ports = {", ".join(str(p) for p in ports[:layers])}
cc = false
"""
    if invalid:
        text += "bogus_key = 1\n"
    if extra:
        text += f"""[source.pattern]
type = testsrc
size = {pattern}
fps = 15
[track.extra]
input = pattern
layers = 160x120@15:80k
preset = ultrafast
[output.share]
type = rtp
track = extra
host = 127.0.0.1
port = {EXTRA}
cc = false
"""
    return text


class Poller(threading.Thread):
    """/stats and /healthz every 20 ms: counts answers, and those that did not parse."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ok = self.bad = 0
        self.errors = []
        self.healthy = False
        self.unhealthy = []  # bodies of 503s after the first 200
        self.stop_flag = False

    def run(self):
        end = time.monotonic() + 120
        while not self.stop_flag and time.monotonic() < end:
            for path in ("/stats", "/healthz"):
                try:
                    with urllib.request.urlopen(f"http://{STATS}{path}", timeout=2) as r:
                        body = r.read()
                    if path == "/stats":
                        json.loads(body)
                    else:
                        self.healthy = True
                    self.ok += 1
                except urllib.error.HTTPError as e:
                    self.ok += e.code == 503  # unhealthy is an answer
                    if e.code == 503 and self.healthy:
                        self.unhealthy.append(e.read().decode(errors="replace"))
                except Exception as e:  # connection refused before the server is up, a bad answer
                    if self.ok:
                        self.bad += 1
                        self.errors.append(repr(e))
            time.sleep(0.02)


def stats():
    try:
        with urllib.request.urlopen(f"http://{STATS}/stats", timeout=5) as r:
            return json.loads(r.read())
    except Exception as e:
        print(f"GET /stats: {e!r}", file=sys.stderr)
        return None


def start_ffmpeg(tmp, i):
    sdp = os.path.join(tmp, f"layer{i}.sdp")
    with open(sdp, "w") as f:
        f.write(f"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=layer{i}\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                f"m=video {DECODE[i]} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n")
    log = open(os.path.join(tmp, f"ffmpeg{i}.log"), "w")
    p = subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info", "-protocol_whitelist",
                          "file,udp,rtp", "-reorder_queue_size", "0", "-i", sdp, "-vf", "showinfo", "-f", "null",
                          "-"], stdout=subprocess.DEVNULL, stderr=log)
    return p, log.name


def frames(logpath):
    with open(logpath, errors="replace") as f:
        return len(re.findall(r"\] n:\s*\d+ ", f.read()))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    if not shutil.which("ffmpeg"):
        print("SKIP: no ffmpeg", file=sys.stderr)
        return 77
    if os.environ.get("MIXCAST_IT_NETNS") != "1" and os.geteuid() == 0 and shutil.which("unshare"):
        env = dict(os.environ, MIXCAST_IT_NETNS="1")
        return subprocess.call(["unshare", "-n", sys.executable, os.path.abspath(__file__), binary], env=env)
    if os.environ.get("MIXCAST_IT_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with tempfile.TemporaryDirectory(prefix="mixcast-reload-") as tmp:
        return run(binary, tmp)


def reload(proc, conf, text, log, via_cli=None):
    """Writes the file, asks for a reload, waits (bounded) until the log says it is done."""
    with open(conf, "w") as f:
        f.write(text)
    mark = log_text(log).count("reload: SIGHUP")
    if via_cli:
        r = subprocess.run(via_cli, capture_output=True, text=True, timeout=10)
        check(r.returncode == 0, f"mixcastd --reload exits 0 ({r.stdout.strip()} {r.stderr.strip()})")
    else:
        proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 15
    while time.monotonic() < end:
        t = log_text(log)
        if t.count("reload: SIGHUP") > mark and re.search(r"(applied in \d+ ms|refused|no change)[^\n]*\n?$",
                                                           t.split("reload: SIGHUP")[-1]):
            return t.split("reload: SIGHUP")[-1]
        time.sleep(0.05)
    return ""


def log_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def run(binary, tmp):
    conf = os.path.join(tmp, "reload.ini")
    with open(conf, "w") as f:
        f.write(conf_text())
    relay = Relay()
    ffs = [start_ffmpeg(tmp, i) for i in range(2)]
    logpath = os.path.join(tmp, "mixcastd.log")
    pidfile = os.path.join(tmp, "mixcastd.pid")
    log = open(logpath, "w")
    proc = subprocess.Popen([binary, "-c", conf, "--pid-file", pidfile], stdout=log, stderr=log)
    poller = Poller()
    poller.start()
    try:
        steps(binary, proc, conf, pidfile, relay, logpath, ffs, tmp)
    finally:
        poller.stop_flag = True
        poller.join(5)  # before SIGTERM: a stopping daemon's sources have ended, and /healthz says so
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for p, _ in ffs:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        relay.close()
    check(proc.returncode == 0, f"mixcastd exits 0 after SIGTERM (got {proc.returncode})")
    check(not poller.unhealthy, f"/healthz stayed 200 through the reloads ({poller.unhealthy[:2]})")
    check(poller.ok > 100 and poller.bad == 0,
          f"/stats and /healthz answered throughout the reloads ({poller.ok} answers, {poller.bad} bad: "
          f"{poller.errors[:3]})")
    for i, (_, lp) in enumerate(ffs):
        text = log_text(lp)
        missed = re.findall(r"RTP: missed \d+ packets", text)
        check(not missed, f"FFmpeg layer {i}: no missed packets ({missed[:3]})")
    if failures or os.environ.get("IT_LOG"):
        print(log_text(logpath)[-6000:], file=sys.stderr)
    print(f"{len(failures)} failure(s)", file=sys.stderr)
    return 1 if failures else 0


def steps(binary, proc, conf, pidfile, relay, logpath, ffs, tmp):
    # bounded wait for the stream: both layers and extra flowing, FFmpeg decoding
    end = time.monotonic() + 20
    while time.monotonic() < end and not (frames(ffs[0][1]) > 30 and frames(ffs[1][1]) > 15):
        time.sleep(0.2)
    check(frames(ffs[0][1]) > 30 and frames(ffs[1][1]) > 15, "FFmpeg decodes both layers before the reloads")
    t_start = time.monotonic()
    time.sleep(2.5)
    base = relay.since(t_start)
    ssrc = [relay.ssrcs_on(WIRE[i], t_start) for i in range(2)]
    extra_ssrc = relay.ssrcs_on(EXTRA, t_start)
    check(all(len(s) == 1 for s in ssrc) and len(extra_ssrc) == 1, f"one SSRC per layer ({ssrc}, extra {extra_ssrc})")
    s0, s1 = (next(iter(s)) if s else None for s in ssrc)
    se = next(iter(extra_ssrc)) if extra_ssrc else None
    t1 = time.monotonic()
    before = kbps(base, s0, t1 - 2.0, t1)

    # (a) bitrate, through mixcastd --reload --pid-file
    out = reload(proc, conf, conf_text(bitrate="900k"), logpath, [binary, "--reload", "--pid-file", pidfile, "-c", conf])
    check("layer 0 bitrate 250k -> 900k: live" in out, "(a) the log says the bitrate changed live")
    f0 = frames(ffs[0][1])
    time.sleep(1.0)  # the encoder's rate control settles
    t2 = time.monotonic()
    time.sleep(2.0)
    after = kbps(relay.since(t2), s0, t2, t2 + 2.0)
    check(before > 0 and after > 1.8 * before,
          f"(a) layer 0's received bitrate rose with the new setting: {before:.0f} -> {after:.0f} kbit/s")
    check(frames(ffs[0][1]) > f0 + 45, f"(a) FFmpeg kept decoding layer 0 ({frames(ffs[0][1]) - f0} frames in 3 s)")
    window = relay.since(t_start)
    g = gaps(window)
    check(not g, f"(a) no sequence gap on any layer through the change ({g})")
    check(relay.ssrcs_on(WIRE[0], t2) == {s0} and relay.ssrcs_on(WIRE[1], t2) == {s1}, "(a) the same SSRCs")

    # (a) a frame rate: layer 1 15 -> 8 fps
    ta = time.monotonic()
    fps_before = fps(relay.since(ta - 3.0), s1, ta - 3.0, ta)
    out = reload(proc, conf, conf_text(bitrate="900k", fps1=8), logpath)
    check("layer 1 fps 15 -> 8: live" in out, "(a) the log says the frame rate changed live")
    time.sleep(0.5)
    tb = time.monotonic()
    time.sleep(3.0)
    fps_after = fps(relay.since(tb), s1, tb, tb + 3.0)
    check(fps_after <= 9.0 and fps_after < 0.8 * fps_before,
          f"(a) layer 1's frame rate on the wire follows: {fps_before:.1f} -> {fps_after:.1f} fps")
    g = gaps(relay.since(t_start))
    check(not g, f"(a) no sequence gap through the frame rate change ({g})")
    out = reload(proc, conf, conf_text(bitrate="900k"), logpath)
    check("layer 1 fps 8 -> 15: live" in out, "(a) and back to 15 fps")

    # (b) a layer added at the end, and a receiver for it started with it, as a viewer subscribing to it would
    # be (one started 15 s before its stream began decoded nothing here; not looked into)
    ffs.append(start_ffmpeg(tmp, 2))
    t3 = time.monotonic()
    out = reload(proc, conf, conf_text(bitrate="900k", layers=3), logpath)
    check("layer 2 160x90@15:60k added: live" in out, "(b) the log says the layer was added live")
    end = time.monotonic() + 5
    while time.monotonic() < end and not relay.ssrcs_on(WIRE[2], t3):
        time.sleep(0.1)
    new = relay.ssrcs_on(WIRE[2], t3)
    check(len(new) == 1 and not (new & {s0, s1, se}), f"(b) a new SSRC on the new layer's port ({new})")
    end = time.monotonic() + 10  # FFmpeg probes the stream it waited for before its first frame
    while time.monotonic() < end and frames(ffs[2][1]) <= 10:
        time.sleep(0.2)
    check(frames(ffs[2][1]) > 10, f"(b) FFmpeg decodes the new layer ({frames(ffs[2][1])} frames)")
    check(relay.ssrcs_on(WIRE[0], t3) == {s0} and relay.ssrcs_on(WIRE[1], t3) == {s1},
          "(b) layers 0 and 1 keep their SSRCs")
    g = gaps(relay.since(t_start))
    check(not g, f"(b) no sequence gap on layers 0 and 1 (nor the new one) ({g})")
    s2 = next(iter(new)) if new else None

    # (c) an invalid file: refused, nothing changes
    t4 = time.monotonic()
    out = reload(proc, conf, conf_text(bitrate="100k", layers=3, invalid=True), logpath)
    check(re.search(r"reload\.ini:\d+: bogus_key: unknown key in \[output\.sfu\]", out) is not None,
          "(c) the log names the file, line and key of the error")
    check("refused" in out and "applied" not in out, "(c) the file is refused, nothing applied")
    time.sleep(2.0)
    t5 = time.monotonic()
    check(all(relay.ssrcs_on(WIRE[i], t4) == {s} for i, s in enumerate((s0, s1, s2))),
          "(c) the same three SSRCs keep flowing")
    st = stats()
    layers = st["tracks"][0]["layers"] if st else []
    check([(l["bitrate"], l["fps"]) for l in layers] == [(900000, 30), (120000, 15), (60000, 15)],
          f"(c) /stats: the layers keep their settings, not the refused file's 100k ({[(l['bitrate'], l['fps']) for l in layers]})")
    rate = kbps(relay.since(t4), s0, t4, t5)
    check(rate > 150, f"(c) layer 0 keeps flowing above the refused 100k ({rate:.0f} kbit/s; 900k set)")
    g = gaps(relay.since(t_start))
    check(not g, f"(c) no sequence gap ({g})")

    # (d) the output's ports change
    out = reload(proc, conf, conf_text(bitrate="900k", layers=3, ports=MOVED), logpath)
    t6 = time.monotonic()
    check("destination 127.0.0.1:17300,17302,17304 -> 127.0.0.1:17320,17322,17324: live" in out,
          "(d) the log says the destination changed live")
    time.sleep(2.0)
    t7 = time.monotonic()
    moved = [relay.ssrcs_on(MOVED[i], t6, t7) for i in range(3)]
    check(moved == [{s0}, {s1}, {s2}], f"(d) the layers arrive on the new ports with their SSRCs ({moved})")
    late = [p for p in relay.since(t6 + 0.2, t7) if p[1] in WIRE]
    check(not late, f"(d) nothing arrives on the old ports after the move ({len(late)} packets)")
    g = gaps(relay.since(t_start))
    check(not g, f"(d) the sequence numbers continue across the move ({g})")
    f_all = [frames(lp) for _, lp in ffs]

    # (e) a source's size: it restarts with its track and output alone
    te = time.monotonic()
    out = reload(proc, conf, conf_text(bitrate="900k", layers=3, ports=MOVED, pattern="320x240"), logpath)
    check("[source.pattern] size: source restarts" in out and "[track.extra] its source pattern restarts" in out
          and "[output.share] its track extra restarts" in out,
          "(e) the log says the source, its track and its output restart")
    end = time.monotonic() + 5
    while time.monotonic() < end and not (relay.ssrcs_on(EXTRA, te) - {se}):
        time.sleep(0.1)
    new_extra = relay.ssrcs_on(EXTRA, te) - {se}
    check(len(new_extra) == 1, f"(e) the restarted output sends a new SSRC ({new_extra}; old {se})")
    check(any(b[2] == se and b[0] >= te for b in relay.byes), f"(e) BYE for the old SSRC {se}")
    time.sleep(1.0)
    check([relay.ssrcs_on(MOVED[i], te) for i in range(3)] == [{s0}, {s1}, {s2}],
          "(e) the video layers are untouched by the restart")
    g = gaps(relay.since(t_start))
    check(not g, f"(e) no sequence gap on the video layers through the restart ({g})")
    se = next(iter(new_extra)) if new_extra else se

    # (e) track extra and its output removed
    t8 = time.monotonic()
    out = reload(proc, conf, conf_text(bitrate="900k", layers=3, ports=MOVED, extra=False), logpath)
    check("[output.share] section removed: output stopped" in out and "[track.extra] section removed" in out,
          "(e) the log says the output and the track were removed")
    time.sleep(2.0)
    t9 = time.monotonic()
    byes = [b for b in relay.byes if b[0] >= t8 and b[2] == se]
    check(bool(byes), f"(e) an RTCP BYE for the removed track's SSRC {se}")
    gone = [p for p in relay.since(t8 + 0.5, t9) if p[2] == se]
    check(not gone, f"(e) its packets stop ({len(gone)} after the BYE)")
    moved = [relay.ssrcs_on(MOVED[i], t8, t9) for i in range(3)]
    check(moved == [{s0}, {s1}, {s2}], f"(e) the video layers continue ({moved})")
    g = gaps(relay.since(t_start))
    check(not g, f"(e) no sequence gap on the video layers ({g})")
    now_frames = [frames(lp) for _, lp in ffs]
    check(all(b > a + 10 for a, b in zip(f_all, now_frames)),
          f"(e) FFmpeg kept decoding every layer ({f_all} -> {now_frames})")
    # (f) refused and applied in one file
    out = reload(proc, conf, conf_text(bitrate="900k", layers=3, ports=MOVED, extra=False,
                                       tail="stats_listen keyframe"), logpath)
    check("needs a restart: [daemon] stats_listen" in out, "(f) stats_listen is refused: 'needs a restart'")
    check("keyframe_interval 1 -> 2 s: live" in out, "(f) the keyframe interval in the same file is applied")
    byes_video = [b for b in relay.byes if b[2] in (s0, s1, s2)]
    check(not byes_video, f"no BYE for a video layer during the reloads ({byes_video})")


if __name__ == "__main__":
    sys.exit(main())
