#!/usr/bin/env python3
"""Media timing as a receiver sees it: mixcastd sends three layers of a 30 fps testsrc (30, 30 and 15 fps)
as plain RTP with RTCP SRs to three ports. The daemon is stopped and continued (SIGSTOP/SIGCONT) in short
pulses, so that its threads wake up late, as on a loaded machine. A stdlib receiver checks:
- each layer's RTP timestamps strictly increase, and every step lies on the source's 30 fps frame clock
  (a frame carries its capture slot, not the moment a late thread produced it);
- keyframes (IDR) come every keyframe_interval (1 s) of capture time, on each layer its first frame at or
  after each such instant, and from the same source frame on all layers wherever a layer encoded that
  frame: their RTP timestamps, mapped to capture time through each layer's SR (every layer has its own
  random timestamp base), are equal;
- FFmpeg, decoding layer 0 (relayed to it by the receiver), never warns "non monotonically increasing dts".

usage: media_timing.py MIXCASTD     exit 0 pass, 1 fail, 77 skip
"""
import os
import random
import re
import shutil
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from mclib import check, failures

PORTS = [16500, 16502, 16504]   # RTP; RTCP on +1
FFMPEG_PORT = 16510             # layer 0, relayed
FPS = [30, 30, 15]
RUN_S = 7.0
PULSES = 24                     # SIGSTOP pulses of 20..80 ms, one every 250 ms


def is_key(payload):
    """An IDR slice or SPS in a single NAL, STAP-A or the first FU-A fragment (RFC 6184)."""
    if not payload:
        return False
    t = payload[0] & 0x1F
    if t in (5, 7):
        return True
    if t == 24:  # STAP-A: 2-byte sizes, then NALs
        off = 1
        while off + 3 <= len(payload):
            n = struct.unpack_from("!H", payload, off)[0]
            if off + 2 < len(payload) and payload[off + 2] & 0x1F in (5, 7):
                return True
            off += 2 + n
        return False
    if t == 28 and len(payload) > 1:
        return bool(payload[1] & 0x80) and payload[1] & 0x1F == 5
    return False


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    if not shutil.which("ffmpeg"):
        print("SKIP: ffmpeg not found", file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="mixcast-it-timing.")
    sdp = os.path.join(tmp, "layer0.sdp")
    with open(sdp, "w") as f:
        f.write(f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=layer 0\nc=IN IP4 127.0.0.1\nt=0 0\n"
                f"m=video {FFMPEG_PORT} RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1\n")
    ff_log = open(os.path.join(tmp, "ffmpeg.log"), "w+")
    ff = subprocess.Popen(["timeout", "-k", "5", str(int(RUN_S) + 30), "ffmpeg", "-nostdin", "-hide_banner",
                           "-loglevel", "info", "-protocol_whitelist", "file,udp,rtp", "-i", sdp,
                           "-vf", "showinfo", "-f", "null", "-"], stdout=ff_log, stderr=ff_log)
    relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    conf = os.path.join(tmp, "timing.ini")
    with open(conf, "w") as f:
        f.write(f"""[source.cam]
type = testsrc
size = 640x360
fps = 30
[track.video]
input = cam
layers = 640x360@{FPS[0]}:700k, 320x180@{FPS[1]}:300k, 160x90@{FPS[2]}:100k
keyframe_interval = 1
preset = ultrafast
[output.plain]
type = rtp
track = video
host = 127.0.0.1
ports = {PORTS[0]}, {PORTS[1]}, {PORTS[2]}
""")
    socks = {}
    for p in PORTS:
        for port in (p, p + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
            s.bind(("127.0.0.1", port))
            s.setblocking(False)
            socks[s.fileno()] = (s, port)

    time.sleep(1.0)  # ffmpeg opens its socket and settles into its read loop
    log = open(os.path.join(tmp, "mixcastd.log"), "w+")
    proc = subprocess.Popen([binary, "-c", conf], stderr=log, stdout=log)
    frames = {}     # port -> list of [ts, key] in arrival order (one entry per timestamp)
    srs = {}        # port -> (ntp_seconds, rtp_ts) of the last SR
    start = time.monotonic()
    next_pulse = start + 1.0
    pulses = 0
    stopped_until = None
    stopped_at = None
    rnd = random.Random(12)
    try:
        while True:
            now = time.monotonic()
            if stopped_until is not None and now >= stopped_until:
                proc.send_signal(signal.SIGCONT)
                stopped_until = None
            elif stopped_until is None and pulses < PULSES and now >= next_pulse and now < start + RUN_S - 1:
                proc.send_signal(signal.SIGSTOP)
                stopped_until = now + rnd.uniform(0.020, 0.080)
                next_pulse = now + 0.25
                pulses += 1
            if stopped_at is None and stopped_until is None and now >= start + RUN_S:
                proc.send_signal(signal.SIGTERM)
                stopped_at = now
            if stopped_at is not None and (proc.poll() is not None and now - stopped_at > 0.3 or now - stopped_at > 10):
                break
            ready, _, _ = select.select(list(socks), [], [], 0.005)
            for fd in ready:
                s, port = socks[fd]
                for _ in range(256):
                    try:
                        data = s.recv(2048)
                    except BlockingIOError:
                        break
                    if port in PORTS:
                        if len(data) < 12:
                            continue
                        if port == PORTS[0]:
                            relay.sendto(data, ("127.0.0.1", FFMPEG_PORT))
                        ts = struct.unpack_from("!I", data, 4)[0]
                        fl = frames.setdefault(port, [])
                        if not fl or fl[-1][0] != ts:
                            fl.append([ts, False])
                        fl[-1][1] |= is_key(data[12:])
                    elif len(data) >= 28 and data[1] == 200:
                        ntp_hi, ntp_lo, rtp_ts = struct.unpack_from("!III", data, 8)
                        srs[port - 1] = (ntp_hi + ntp_lo / 2**32, rtp_ts)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
        proc.wait()
        for _ in range(3):  # ffmpeg ends on the BYE it never gets (not relayed); a second TERM ends a blocked read
            if ff.poll() is None:
                ff.send_signal(signal.SIGTERM)
                try:
                    ff.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    pass
        if ff.poll() is None:
            ff.kill()
            ff.wait()
    ff_log.seek(0)
    ff_text = ff_log.read()
    decoded = len(re.findall(r"Parsed_showinfo.*n: *[0-9]", ff_text))
    dts = ff_text.count("non monotonically increasing dts")
    check(decoded >= FPS[0] * (RUN_S - 2), f"FFmpeg decoded {decoded} frames of layer 0")
    check(dts == 0, f"FFmpeg: no 'non monotonically increasing dts' ({dts})")
    log.seek(0)
    log_text = log.read()
    check(proc.returncode == 0, f"mixcastd exits 0 after SIGTERM (got {proc.returncode})")
    check(pulses >= PULSES // 2, f"{pulses} SIGSTOP pulses of 20-80 ms")

    caps = {}       # layer -> [(capture ms, keyframe)] of every frame received
    for i, port in enumerate(PORTS):
        fl = frames.get(port, [])
        desc = f"layer {i} ({FPS[i]} fps, port {port})"
        check(len(fl) >= FPS[i] * (RUN_S - 2), f"{desc}: {len(fl)} frames")
        steps = [(b[0] - a[0]) % 2**32 for a, b in zip(fl, fl[1:])]
        back = [d for d in steps if d == 0 or d >= 2**31]
        check(not back, f"{desc}: RTP timestamps strictly increase ({len(back)} steps of 0 or back)")
        # on the 30 fps clock: a multiple of 3000 ticks (90 kHz), +-2 for the rounding to microseconds
        off_grid = [d for d in steps if d < 2**31 and (d < 2990 or min(d % 3000, 3000 - d % 3000) > 2)]
        check(not off_grid, f"{desc}: every timestamp step lies on the 30 fps frame clock "
              f"({len(off_grid)} of {len(steps)} off it: {sorted(off_grid)[:8]})")
        sr = srs.get(port)
        check(sr is not None, f"{desc}: an RTCP SR came")
        if sr is not None:
            # capture time in ms of wall-clock time, through the layer's SR (each layer has its own base)
            ntp, sr_ts = sr
            caps[i] = [(ntp * 1000 + (((ts - sr_ts + 2**31) % 2**32) - 2**31) / 90.0, k) for ts, k in fl]
    if len(caps) == 3 and all(any(k for _, k in c) for c in caps.values()):
        # The schedule: a keyframe every 1 s of capture time from the first frame. A layer's keyframe is
        # its first frame at or after each such instant: the source frame of that instant itself, or, when
        # the source skipped it (the daemon was stopped), a layer was not due on it (15 fps) or the layer's
        # mailbox dropped it (its encoder was behind), the next one. No other keyframes.
        anchor = min(next(c for c, k in caps[i] if k) for i in caps)
        end = min(caps[i][-1][0] for i in caps) - 200
        grid = [anchor + g * 1000 for g in range(int((end - anchor) // 1000) + 1)]
        chosen = {}
        for i in caps:
            expect = [next(c for c, _ in caps[i] if c >= t - 0.5) for t in grid]
            got = [c for c, k in caps[i] if k and c <= end]
            chosen[i] = got
            check(len(got) == len(expect) and all(abs(a - b) < 0.2 for a, b in zip(got, expect)),
                  f"layer {i}: its keyframes are its first frames at or after every 1 s of capture time "
                  f"({len(got)} keyframes, {len(expect)} expected; offsets from the schedule, ms: "
                  f"{[round(c - anchor) % 1000 for c in got][:8]})")
        # Same source frame on every layer wherever the layer encoded that frame.
        apart, same = [], 0
        n_keys = min(len(chosen[i]) for i in caps)
        for g in range(n_keys):
            first = min(chosen[i][g] for i in caps)
            for i in caps:
                if abs(chosen[i][g] - first) < 0.2:
                    same += 1
                elif any(abs(c - first) < 0.2 for c, _ in caps[i]):
                    apart.append((i, round(chosen[i][g] - first, 1)))
        check(not apart, f"the layers' keyframes come from the same source frame wherever a layer encoded it "
              f"({same} of {n_keys * 3} on the earliest; apart though encoded (layer, ms): {apart[:6]})")
    if failures:
        print("---- mixcastd log ----\n" + log_text[-3000:], file=sys.stderr)
    print(f"media_timing: {'FAIL' if failures else 'PASS'} ({len(failures)} failed checks)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
