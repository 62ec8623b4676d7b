#!/usr/bin/env python3
"""RTCP as a receiver sees it: mixcastd sends plain RTP (no SRTP, so the whole compound is readable) for two
layers to two ports, and RTCP to RTP port + 1. A stdlib receiver checks:
- every RTCP compound starts with an SR, carries an SDES with the configured CNAME, and arrives about every
  second for each SSRC;
- the SR's (NTP, RTP) pair maps each frame's RTP timestamp to a wall-clock capture time that lies shortly
  before the packet's arrival (the capture-time timestamps that latency measurements rely on);
- SIGTERM ends with an RTCP BYE for every SSRC, and exit status 0;
- the marker bit closes every frame (the next packet has a new timestamp);
- the stats endpoint (stats_listen) answers /healthz and /stats with the packets it has sent.

usage: rtcp_plain.py MIXCASTD     exit 0 pass, 1 fail, 77 skip
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from mclib import check, failures

PORTS = [16400, 16402]          # RTP; RTCP on +1 (16401, 16403)
STATS = "127.0.0.1:16490"
CNAME = "kiosk-7@mixcast.test"
RUN_S = 3.5


def parse_compound(data):
    """[(pt, count, body)] of an RTCP compound; raises ValueError on a malformed one."""
    out, off = [], 0
    while off < len(data):
        if len(data) - off < 4:
            raise ValueError("truncated header")
        b0, pt, words = struct.unpack_from("!BBH", data, off)
        if b0 >> 6 != 2:
            raise ValueError("version %d" % (b0 >> 6))
        end = off + 4 * (words + 1)
        if end > len(data):
            raise ValueError("length beyond datagram")
        out.append((pt, b0 & 0x1F, data[off + 4:end]))
        off = end
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="mixcast-it-rtcp.")
    conf = os.path.join(tmp, "rtcp.ini")
    with open(conf, "w") as f:
        f.write(f"""[daemon]
stats_listen = {STATS}
[source.cam]
type = testsrc
size = 640x360
fps = 30
[track.video]
input = cam
layers = 640x360@30:700k, 320x180@15:150k
keyframe_interval = 1
[output.plain]
type = rtp
track = video
host = 127.0.0.1
ports = {PORTS[0]}, {PORTS[1]}
cname = {CNAME}
""")
    socks = {}
    for p in PORTS:
        for port in (p, p + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", port))
            s.setblocking(False)
            socks[s.fileno()] = (s, port)

    log = open(os.path.join(tmp, "mixcastd.log"), "w+")
    proc = subprocess.Popen([binary, "-c", conf], stderr=log, stdout=log)
    rtp = {}        # ssrc -> list of (arrival_wall, ts, marker, seq)
    srs = {}        # ssrc -> list of (arrival_wall, ntp_seconds, rtp_ts)
    cnames = {}
    byes = set()
    malformed = []
    deadline = time.monotonic() + RUN_S
    stopped_at = None
    stats = None
    try:
        while True:
            now = time.monotonic()
            if stats is None and now >= deadline - 1.0:
                try:
                    with urllib.request.urlopen(f"http://{STATS}/healthz", timeout=2) as r:
                        health = r.read().decode()
                    with urllib.request.urlopen(f"http://{STATS}/stats", timeout=2) as r:
                        stats = (health, r.headers.get("Content-Type"), json.loads(r.read()))
                except (OSError, ValueError) as e:
                    stats = ("", "", {"error": str(e)})
            if stopped_at is None and now >= deadline:
                proc.send_signal(signal.SIGTERM)
                stopped_at = now
            if stopped_at is not None and (proc.poll() is not None and now - stopped_at > 0.3 or now - stopped_at > 10):
                break
            ready, _, _ = select.select(list(socks), [], [], 0.05)
            for fd in ready:
                s, port = socks[fd]
                for _ in range(256):
                    try:
                        data = s.recv(2048)
                    except BlockingIOError:
                        break
                    wall = time.time()
                    if port in PORTS:
                        if len(data) < 12:
                            malformed.append("short RTP")
                            continue
                        _, m_pt, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
                        rtp.setdefault(ssrc, []).append((wall, ts, bool(m_pt & 0x80), seq))
                        continue
                    try:
                        parts = parse_compound(data)
                    except ValueError as e:
                        malformed.append(str(e))
                        continue
                    if not parts or parts[0][0] != 200:
                        malformed.append("compound does not start with an SR: %r" % ([p[0] for p in parts],))
                        continue
                    has_bye = any(pt == 203 for pt, _, _ in parts)
                    for pt, count, body in parts:
                        if pt == 200 and not has_bye:  # the BYE compound's SR is not a periodic one
                            ssrc, ntp_hi, ntp_lo, rtp_ts = struct.unpack_from("!IIII", body)
                            srs.setdefault(ssrc, []).append((wall, ntp_hi - 2208988800 + ntp_lo / 2**32, rtp_ts))
                        elif pt == 202:
                            ssrc, item, n = struct.unpack_from("!IBB", body)
                            if item == 1:
                                cnames[ssrc] = body[6:6 + n].decode(errors="replace")
                        elif pt == 203:
                            for i in range(count):
                                byes.add(struct.unpack_from("!I", body, 4 * i)[0])
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    rc = proc.returncode
    log.seek(0)
    log_text = log.read()

    check(rc == 0, f"mixcastd exits 0 after SIGTERM (got {rc})")
    health, ctype, body = stats or ("", "", {})
    check(health == "ok\n", f"GET /healthz answers ok ({health!r})")
    outs = body.get("outputs") or [{}]
    check(ctype == "application/json" and outs[0].get("packets_sent", 0) > 50 and len(outs[0].get("layers", [])) == 2,
          f"GET /stats is JSON with the output's packets ({ctype}, {outs[0].get('packets_sent')} packets, "
          f"{body.get('error', 'ok')})")
    check(not malformed, f"every RTCP/RTP datagram well formed ({malformed[:3]})")
    check(len(rtp) == 2, f"two SSRCs sent RTP ({len(rtp)})")
    for ssrc, pkts in rtp.items():
        sr = srs.get(ssrc, [])
        # SRs start at 0.2 s and come every second: at least 3 in 3.5 s
        check(len(sr) >= 3, f"SSRC {ssrc}: {len(sr)} SRs in {RUN_S} s (>= 3)")
        if len(sr) >= 2:
            gaps = [b[0] - a[0] for a, b in zip(sr, sr[1:])]
            check(all(0.7 < g < 1.3 for g in gaps), f"SSRC {ssrc}: SR interval about 1 s ({[round(g, 2) for g in gaps]})")
        check(all(abs(a - n) < 0.5 for a, n, _ in sr), f"SSRC {ssrc}: SR NTP time is wall-clock time")
        check(cnames.get(ssrc) == CNAME, f"SSRC {ssrc}: SDES CNAME '{cnames.get(ssrc)}'")
        check(ssrc in byes, f"SSRC {ssrc}: RTCP BYE at shutdown")
        # frames: the marker closes each; capture time (through the SR mapping) precedes arrival by little
        frames = [p for p in pkts if p[2]]
        late = []
        if sr:
            _, ntp_s, sr_rtp = sr[len(sr) // 2]
            for wall, ts, _, _ in frames:
                capture = ntp_s + ((ts - sr_rtp + 2**31) % 2**32 - 2**31) / 90000.0
                late.append(wall - capture)
        if late:
            late.sort()
            check(-0.005 < late[0] and late[-1] < 0.5,
                  f"SSRC {ssrc}: capture-to-arrival from RTP ts + SR within (−5 ms, 500 ms): "
                  f"min {late[0] * 1000:.1f} ms, median {late[len(late) // 2] * 1000:.1f} ms, max {late[-1] * 1000:.1f} ms")
        broken = [i for i in range(len(pkts) - 1) if pkts[i][2] != (pkts[i][1] != pkts[i + 1][1])]
        check(not broken, f"SSRC {ssrc}: marker bit set exactly on each frame's last packet ({len(frames)} frames)")
    if failures:
        print("---- mixcastd log ----\n" + log_text[-3000:], file=sys.stderr)
    print(f"rtcp_plain: {'FAIL' if failures else 'PASS'} ({len(failures)} failed checks)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
