#!/usr/bin/env python3
"""RTCP SR packet and octet counts are what left (issue 12): mixcastd sends plain RTP for two layers; for one
second in the middle the kernel refuses every send to layer 0's port (a `prohibit` policy-routing rule on
the UDP destination port: sendmmsg fails with EACCES, a real send failure, not a mock). A stdlib receiver
counts the packets and payload octets it gets per SSRC and reads the SRs. It checks:
- the last SR of each SSRC (the one with the BYE, sent after every RTP packet) counts exactly the packets
  and payload octets the receiver got (RFC 3550 §6.4.1: sent, not packetized);
- layer 0 did lose packets (sequence gaps, send_errors in --stats-out) and layer 1 none.
The rule needs a private network namespace: the script re-runs itself under `unshare -n` (root), and skips
(77) when it cannot, so it never touches the host's routing.

usage: sr_counts.py MIXCASTD     exit 0 pass, 1 fail, 77 skip
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
from mclib import check, failures

PORTS = [16620, 16622]  # RTP; RTCP on +1


def ip(*args):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True)


def in_namespace(binary):
    if ip("link", "set", "lo", "up").returncode != 0:
        print("SKIP: cannot bring up lo in the namespace", file=sys.stderr)
        return 77
    # the local table is looked up first (pref 0); put it behind the rule this test adds
    if (ip("rule", "add", "pref", "100", "table", "local").returncode != 0 or
            ip("rule", "del", "pref", "0").returncode != 0):
        print("SKIP: cannot change the namespace's routing rules", file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="mixcast-it-sr.")
    conf, stats = os.path.join(tmp, "sr.ini"), os.path.join(tmp, "stats.json")
    with open(conf, "w") as f:
        f.write(f"""[source.cam]
type = testsrc
size = 320x180
fps = 30
[track.video]
input = cam
layers = 320x180@30:400k, 160x90@30:150k
keyframe_interval = 1
preset = ultrafast
[output.plain]
type = rtp
track = video
host = 127.0.0.1
ports = {PORTS[0]}, {PORTS[1]}
""")
    socks = {}
    for p in PORTS:
        for port in (p, p + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.bind(("127.0.0.1", port))
            s.setblocking(False)
            socks[s.fileno()] = (s, port)
    rx = {}   # ssrc -> [packets, octets, seqs]
    sr = {}   # ssrc -> (packets, octets, with_bye)
    log = open(os.path.join(tmp, "mixcastd.log"), "w+")
    proc = subprocess.Popen([binary, "-c", conf, "--stats-out", stats], stdout=log, stderr=log)
    t0 = time.monotonic()
    rule = ["rule", "add", "pref", "10", "ipproto", "udp", "dport", str(PORTS[0]), "prohibit"]
    phase, end = 0, None
    try:
        while True:
            now = time.monotonic() - t0
            if phase == 0 and now >= 1.0:
                r = ip(*rule)
                check(r.returncode == 0, f"ip {' '.join(rule)} ({r.stderr.strip()})")
                phase = 1
            elif phase == 1 and now >= 2.0:
                ip("rule", "del", "pref", "10")
                phase = 2
            elif phase == 2 and now >= 3.2:
                proc.send_signal(signal.SIGTERM)
                phase, end = 3, now
            if phase == 3 and (proc.poll() is not None and now - end > 0.3 or now - end > 10):
                break
            ready, _, _ = select.select(list(socks), [], [], 0.05)
            for fd in ready:
                s, port = socks[fd]
                for _ in range(256):
                    try:
                        data = s.recv(2048)
                    except BlockingIOError:
                        break
                    if port in PORTS:
                        b0, _, seq, _, ssrc = struct.unpack_from("!BBHII", data)
                        hdr = 12 + 4 * (b0 & 0x0F)
                        st = rx.setdefault(ssrc, [0, 0, []])
                        st[0] += 1
                        st[1] += len(data) - hdr
                        st[2].append(seq)
                        continue
                    off, bye, got = 0, False, None
                    while off + 4 <= len(data):
                        _, pt, words = struct.unpack_from("!BBH", data, off)
                        if pt == 200:
                            ssrc, _, _, _, pkts, octs = struct.unpack_from("!IIIIII", data, off + 4)
                            got = (ssrc, pkts, octs)
                        bye |= pt == 203
                        off += 4 * (words + 1)
                    if got:
                        sr[got[0]] = (got[1], got[2], bye)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        ip("rule", "del", "pref", "10")
    check(proc.returncode == 0, f"mixcastd exit status {proc.returncode}")
    try:
        with open(stats) as f:
            out = json.load(f)["outputs"][0]["layers"]
    except (OSError, ValueError, KeyError, IndexError) as e:
        check(False, f"--stats-out readable ({e})")
        return 1
    errors = {l["ssrc"]: l["send_errors"] for l in out}
    order = [l["ssrc"] for l in out]
    check(sorted(rx) == sorted(order) and sorted(sr) == sorted(order), f"RTP and SRs of both layers ({order})")
    if failures:
        return 1
    for i, ssrc in enumerate(order):
        packets, octets, seqs = rx[ssrc]
        span = (seqs[-1] - seqs[0]) % 65536 + 1
        sp, so, bye = sr[ssrc]
        print(f"layer {i} SSRC {ssrc}: received {packets} packets / {octets} octets over a span of {span} sequence "
              f"numbers; last SR {sp} / {so}; send errors {errors[ssrc]}", file=sys.stderr)
        check(bye, f"layer {i}: the last SR came with the BYE")
        check(sp == packets, f"layer {i}: the last SR counts the packets the receiver got ({sp} vs {packets})")
        check(so == octets, f"layer {i}: the last SR counts the payload octets the receiver got ({so} vs {octets})")
        if i == 0:
            check(span > packets and errors[ssrc] > 0,
                  f"layer 0 lost {span - packets} packets to refused sends ({errors[ssrc]} send errors counted)")
        else:
            check(span == packets and errors[ssrc] == 0, f"layer {i}: nothing lost, no send errors")
    if failures:
        print(f"files in {tmp}", file=sys.stderr)
        return 1
    subprocess.run(["rm", "-rf", tmp])
    return 0


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    if os.environ.get("MIXCAST_SR_NETNS") == "1":
        return in_namespace(sys.argv[1])
    if os.geteuid() != 0:
        print("SKIP: needs root for a private network namespace (unshare -n)", file=sys.stderr)
        return 77
    env = dict(os.environ, MIXCAST_SR_NETNS="1")
    try:
        r = subprocess.run(["unshare", "-n", sys.executable, os.path.abspath(__file__), sys.argv[1]], env=env,
                           timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"SKIP: unshare -n: {e}", file=sys.stderr)
        return 77
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
