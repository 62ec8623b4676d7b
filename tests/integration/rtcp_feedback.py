#!/usr/bin/env python3
"""Feedback that reaches mixcastd's sockets, good and bad. mixcastd sends two layers of plain RTP to two
ports (RTCP to RTP port + 1, from its RTCP socket at local_port + 1); this script is the receiver and the
SFU. It checks:
- a PLI naming a layer's SSRC brings a keyframe (SPS in band) of that layer within 300 ms, with
  keyframe_interval = 30 (so it is not a periodic one), on the RTCP socket and muxed on the RTP socket;
- a PLI storm (30 in 150 ms) gives at most one keyframe request per 300 ms (the rest are counted);
- a NACK brings the NACKed packet again, byte for byte; a NACK for a packet never sent is refused;
- an RR's LSR/DLSR gives an RTT in /stats;
- malformed RTCP (truncated, lying lengths and counts, bad padding, unknown types, RTP on the RTCP
  socket, NACK without FCI), REMB of 0 and of 2^81, feedback naming an SSRC we do not send, and feedback
  from another address (127.0.0.2) are counted in /stats and change nothing; the stream goes on;
- with SRTP and rtcp = on, SRTCP with a bad tag is counted (srtcp_failed) and ignored;
- keyframe_repeat_ms = 200: one PLI gives two keyframes of the layer, about 200 ms apart.

usage: rtcp_feedback.py MIXCASTD     exit 0 pass, 1 fail, 77 skip. Ports 16800-16899.
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

PORTS = [16800, 16802]   # RTP; RTCP to +1
LOCAL = 16810            # mixcastd's RTP socket; its RTCP socket is 16811
STATS = "127.0.0.1:16890"


def rtcp(count, pt, body):
    assert len(body) % 4 == 0
    return struct.pack("!BBH", 0x80 | count, pt, len(body) // 4) + body


def pli(ssrc):
    return rtcp(1, 206, struct.pack("!II", 0x5eed, ssrc))


def nack(ssrc, pid, blp=0):
    return rtcp(1, 205, struct.pack("!IIHH", 0x5eed, ssrc, pid, blp))


def rr(ssrc, lsr, dlsr):
    return rtcp(1, 201, struct.pack("!IIIIIII", 0x5eed, ssrc, 0, 0, 0, lsr, dlsr))


def remb(exp, mantissa):
    return rtcp(15, 206, struct.pack("!II", 0x5eed, 0) + b"REMB" +
                bytes([1, (exp << 2) | (mantissa >> 16), (mantissa >> 8) & 0xff, mantissa & 0xff]) +
                struct.pack("!I", 1))


def stats():
    with urllib.request.urlopen(f"http://{STATS}/stats", timeout=2) as r:
        return json.loads(r.read())["outputs"][0]


def is_keyframe(pkt):
    """SPS in band: a single NAL (type 7) or a STAP-A (24) holding one"""
    pl = pkt[12:]
    t = pl[0] & 0x1f
    if t == 7:
        return True
    if t == 24:
        off = 1
        while off + 2 < len(pl):
            n = struct.unpack_from("!H", pl, off)[0]
            if pl[off + 2] & 0x1f == 7:
                return True
            off += 2 + n
    return False


class Receiver:
    def __init__(self):
        self.rtp = []
        for p in PORTS:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", p))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
            self.rtp.append(s)
        self.rtcp = []
        for p in PORTS:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", p + 1))
            self.rtcp.append(s)
        self.ssrc = [None, None]
        self.pkts = [{}, {}]           # seq -> bytes (the latest copy)
        self.copies = [{}, {}]         # seq -> times received
        self.keyframes = [[], []]      # arrival times of packets with SPS
        self.sr = {}                   # ssrc -> (ntp middle 32 bits, arrival)
        self.rtcp_from = set()

    def pump(self, seconds):
        end = time.monotonic() + seconds
        socks = self.rtp + self.rtcp
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select(socks, [], [], left)
            for s in r:
                data, addr = s.recvfrom(2048)
                now = time.monotonic()
                if s in self.rtp:
                    l = self.rtp.index(s)
                    seq, ssrc = struct.unpack_from("!H", data, 2)[0], struct.unpack_from("!I", data, 8)[0]
                    self.ssrc[l] = ssrc
                    self.pkts[l][seq] = data
                    self.copies[l][seq] = self.copies[l].get(seq, 0) + 1
                    if is_keyframe(data):
                        self.keyframes[l].append(now)
                else:
                    self.rtcp_from.add(addr)
                    if len(data) >= 28 and data[1] == 200:
                        ssrc, hi, lo = struct.unpack_from("!III", data, 4)
                        self.sr[ssrc] = (((hi & 0xffff) << 16) | (lo >> 16), now)


def start(binary, tmp, extra):
    conf = os.path.join(tmp, "fb.ini")
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
keyframe_interval = 30
[output.sfu]
type = rtp
track = video
host = 127.0.0.1
ports = {PORTS[0]}, {PORTS[1]}
local_port = {LOCAL}
{extra}""")
    log = open(os.path.join(tmp, "mixcastd.log"), "w")
    return subprocess.Popen([binary, "-c", conf], stderr=log, stdout=log)


def wait_stats():
    for _ in range(50):
        try:
            return stats()
        except OSError:
            time.sleep(0.1)
    return None


def plain_run(binary, tmp):
    rx = Receiver()
    proc = start(binary, tmp, "")
    try:
        check(wait_stats() is not None, "stats endpoint up")
        rx.pump(1.5)
        check(all(rx.ssrc), f"RTP on both layers (SSRCs {rx.ssrc})")
        if not all(rx.ssrc):
            return
        check(("127.0.0.1", LOCAL + 1) in rx.rtcp_from, f"SRs come from the RTCP socket (saw {rx.rtcp_from})")
        fb = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fb.bind(("127.0.0.1", 0))
        to_rtcp, to_rtp = ("127.0.0.1", LOCAL + 1), ("127.0.0.1", LOCAL)

        # --- PLI → keyframe of that layer, within 300 ms, on the RTCP socket and muxed on the RTP one
        for layer, dest in ((1, to_rtcp), (0, to_rtp)):
            rx.pump(0.4)
            n0 = [len(k) for k in rx.keyframes]
            t0 = time.monotonic()
            fb.sendto(pli(rx.ssrc[layer]), dest)
            rx.pump(0.3)
            got = [t for t in rx.keyframes[layer][n0[layer]:]]
            check(bool(got) and got[0] - t0 <= 0.3,
                  f"PLI on layer {layer} ({'RTCP' if dest == to_rtcp else 'RTP'} socket): keyframe after "
                  f"{(got[0] - t0) * 1000:.0f} ms" if got else f"PLI on layer {layer}: no keyframe in 300 ms")
            other = 1 - layer
            check(len(rx.keyframes[other]) == n0[other], f"keyframe_on_pli = layer: layer {other} untouched")

        # --- a PLI storm: 30 in 150 ms
        rx.pump(0.4)
        s0 = stats()["layers"][1]
        n0 = len(rx.keyframes[1])
        for _ in range(30):
            fb.sendto(pli(rx.ssrc[1]), to_rtcp)
            rx.pump(0.005)
        rx.pump(0.4)
        s1 = stats()["layers"][1]
        check(s1["plis"] - s0["plis"] == 30, f"30 PLIs counted ({s1['plis'] - s0['plis']})")
        req = s1["keyframes_requested"] - s0["keyframes_requested"]
        check(1 <= req <= 2, f"a PLI storm: {req} keyframe request(s) passed on, "
              f"{s1['keyframes_rate_limited'] - s0['keyframes_rate_limited']} rate-limited")
        check(len(rx.keyframes[1]) - n0 <= 2, f"{len(rx.keyframes[1]) - n0} keyframe(s) from the storm")

        # --- NACK → the packet again, byte for byte; a packet never sent → refused
        rx.pump(0.2)
        seq = max(rx.pkts[0], key=lambda s: (s - next(iter(rx.pkts[0]))) & 0xffff)  # the newest
        seq = (seq - 5) & 0xffff
        orig = rx.pkts[0].get(seq)
        c0 = rx.copies[0].get(seq, 0)
        fb.sendto(nack(rx.ssrc[0], seq, 0b11), to_rtcp)  # and the two after it
        rx.pump(0.2)
        check(orig is not None and rx.copies[0].get(seq, 0) == c0 + 1 and rx.pkts[0][seq] == orig,
              f"NACK for seq {seq}: resent once, identical")
        fb.sendto(nack(rx.ssrc[0], seq), to_rtcp)  # at once again: within 20 ms (no RTT yet)... or not
        rx.pump(0.1)
        s = stats()["layers"][0]
        check(s["nacks"] >= 4 and s["resent"] >= 3, f"NACKs {s['nacks']}, resent {s['resent']}")
        future = (max(rx.pkts[0]) + 30000) & 0xffff
        fb.sendto(nack(rx.ssrc[0], future), to_rtcp)
        rx.pump(0.1)
        s2 = stats()["layers"][0]
        check(s2["resend_unknown"] >= 1 and rx.copies[0].get(future, 0) == 0,
              f"NACK for a packet never sent: refused ({s2['resend_unknown']})")
        # a repeated NACK within 20 ms: refused as too recent
        seq2 = (seq - 20) & 0xffff
        fb.sendto(nack(rx.ssrc[0], seq2) + nack(rx.ssrc[0], seq2), to_rtcp)
        rx.pump(0.1)
        s3 = stats()["layers"][0]
        check(s3["resend_too_recent"] >= 1, f"the same NACK twice at once: resent once ({s3['resend_too_recent']} refused)")

        # --- RR with LSR/DLSR → RTT
        rx.pump(1.1)
        if rx.ssrc[0] in rx.sr:
            lsr, at = rx.sr[rx.ssrc[0]]
            time.sleep(0.01)
            dlsr = int((time.monotonic() - at) * 65536)
            fb.sendto(rr(rx.ssrc[0], lsr, dlsr), to_rtcp)
            rx.pump(0.1)
            rtt = stats()["layers"][0]["rtt_ms"]
            check(0 <= rtt < 20, f"RTT from RR: {rtt} ms")
        else:
            check(False, "an SR for layer 0 arrived")

        # --- malformed and hostile
        before = stats()
        bad = [  # each is malformed exactly once
            pli(rx.ssrc[0])[:7],                                          # truncated
            struct.pack("!BBH", 0x81, 206, 40) + bytes(8),                # length beyond the datagram
            rtcp(9, 201, struct.pack("!I", 1) + bytes(24)),               # RR count 9 with one block
            rtcp(1, 205, struct.pack("!II", 1, rx.ssrc[0])),              # NACK without FCI
            bytes([0xa1, 206, 0, 2]) + struct.pack("!II", 1, 0x100),       # padding bit, pad count 0
            remb(3, 1000)[:16] + bytes([200]) + remb(3, 1000)[17:],       # REMB claiming 200 SSRCs
            rr(rx.ssrc[0], 0, 0) + pli(rx.ssrc[0])[:8],                   # a good RR, then a cut PLI
        ]
        fb.sendto(bytes([0x41, 201, 0, 1, 0, 0, 0, 1]), to_rtcp)           # version 1: not RTCP
        for b in bad:
            fb.sendto(b, to_rtcp)
        fb.sendto(rtcp(0, 204, struct.pack("!I", 1) + b"name"), to_rtcp)      # APP: unknown
        fb.sendto(rtcp(3, 205, struct.pack("!IIHH", 1, rx.ssrc[0], 1, 0)), to_rtcp)  # RTPFB FMT 3: unknown
        fb.sendto(rx.pkts[0][seq], to_rtcp)                                    # RTP on the RTCP socket
        fb.sendto(remb(0, 0), to_rtcp)                                         # REMB 0
        fb.sendto(remb(63, 0x3ffff), to_rtcp)                                  # REMB 2^81
        fb.sendto(pli(0x12345678) + nack(0x12345678, 1), to_rtcp)              # SSRCs we do not send
        evil = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        evil.bind(("127.0.0.2", 0))
        n0 = [len(k) for k in rx.keyframes]
        for _ in range(5):
            evil.sendto(pli(rx.ssrc[0]) + nack(rx.ssrc[0], seq), to_rtcp)     # another address
            evil.sendto(pli(rx.ssrc[1]), to_rtp)
        rx.pump(0.5)
        after = stats()
        d = {k: after["feedback"][k] - before["feedback"][k] for k in before["feedback"] if k != "remb_bps"}
        print("feedback counters changed by:", d, file=sys.stderr)
        check(d["malformed"] == 7, f"malformed counted ({d['malformed']})")
        check(d["unknown"] == 2, f"unknown types counted ({d['unknown']})")
        check(d["not_rtcp"] == 2, f"RTP and version 1 on the RTCP socket counted ({d['not_rtcp']})")
        check(d["remb_rejected"] == 2 and d["remb"] == 0, f"REMB of 0 and 2^81 rejected ({d['remb_rejected']})")
        check(d["unknown_ssrc"] == 2, f"feedback for SSRCs we do not send counted ({d['unknown_ssrc']})")
        check(d["rejected"] == 10, f"feedback from 127.0.0.2 rejected ({d['rejected']})")
        la, lb = after["layers"], before["layers"]
        check(la[0]["plis"] == lb[0]["plis"] and la[1]["plis"] == lb[1]["plis"] and
              la[0]["nacks"] == lb[0]["nacks"], "rejected feedback changed nothing (no PLI, no NACK counted)")
        check([len(k) for k in rx.keyframes] == n0, "no keyframe from rejected feedback")
        # the stream goes on
        p0 = [len(x) for x in rx.pkts]
        rx.pump(1.0)
        check(all(len(x) > p for x, p in zip(rx.pkts, p0)), "the stream goes on after the junk")
        check(proc.poll() is None, "mixcastd is still running")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        check(rc == 0, f"mixcastd exits 0 (status {rc})")
        for s in rx.rtp + rx.rtcp:
            s.close()


def srtp_run(binary, tmp):
    key = os.path.join(tmp, "key")
    with open(key, "w") as f:
        f.write("bWl4Y2FzdC1ydGNwLWZlZWRiYWNrLXRlc3QtayEh\n")  # 30 bytes, base64
    os.chmod(key, 0o600)
    rx = Receiver()
    proc = start(binary, tmp, f"srtp_key_file = {key}\nrtcp = on\n")
    try:
        check(wait_stats() is not None, "SRTP run: stats endpoint up")
        rx.pump(1.0)
        if not all(rx.ssrc):
            check(False, "SRTP run: RTP on both layers")
            return
        fb = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fb.bind(("127.0.0.1", 0))
        before = stats()
        n0 = [len(k) for k in rx.keyframes]
        for i in range(5):  # a PLI with an SRTCP index and a tag that is not the key's
            fb.sendto(pli(rx.ssrc[0]) + struct.pack("!I", 0x80000000 | (i + 1)) + bytes(10), ("127.0.0.1", LOCAL + 1))
            fb.sendto(pli(rx.ssrc[0]), ("127.0.0.1", LOCAL + 1))  # plain RTCP where SRTCP is due
        rx.pump(0.5)
        after = stats()
        failed = after["feedback"]["srtcp_failed"] - before["feedback"]["srtcp_failed"]
        check(failed == 10, f"SRTCP with a bad tag (and plain RTCP) refused: {failed} counted")
        check(after["layers"][0]["plis"] == before["layers"][0]["plis"], "no PLI got through")
        p0 = [len(x) for x in rx.pkts]
        rx.pump(0.5)
        check(all(len(x) > p for x, p in zip(rx.pkts, p0)), "SRTP run: the stream goes on")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        check(rc == 0, f"SRTP run: mixcastd exits 0 (status {rc})")
        for s in rx.rtp + rx.rtcp:
            s.close()


def repeat_run(binary, tmp):
    """keyframe_repeat_ms = 200: one PLI, two keyframes of that layer, the second ~200 ms after the first"""
    rx = Receiver()
    proc = start(binary, tmp, "keyframe_repeat_ms = 200\n")
    try:
        check(wait_stats() is not None, "repeat run: stats endpoint up")
        rx.pump(1.5)
        if not all(rx.ssrc):
            check(False, "repeat run: RTP on both layers")
            return
        fb = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fb.bind(("127.0.0.1", 0))
        n0 = len(rx.keyframes[1])
        t0 = time.monotonic()
        fb.sendto(pli(rx.ssrc[1]), ("127.0.0.1", LOCAL + 1))
        rx.pump(0.8)
        got = [t - t0 for t in rx.keyframes[1][n0:]]
        # a keyframe spans several packets with SPS only in the first: count distinct keyframes
        check(len(got) == 2 and got[0] <= 0.3 and 0.12 <= got[1] - got[0] <= 0.45,
              f"one PLI, keyframes at {[round(g * 1000) for g in got]} ms (expected 2, ~200 ms apart)")
        st = stats()["layers"][1]
        check(st["keyframes_requested"] == 1 and st["keyframes_repeated"] == 1,
              f"requested {st['keyframes_requested']}, repeated {st['keyframes_repeated']}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        check(rc == 0, f"repeat run: mixcastd exits 0 (status {rc})")
        for s in rx.rtp + rx.rtcp:
            s.close()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="mixcast-it-fb.")
    plain_run(sys.argv[1], tmp)
    srtp_run(sys.argv[1], tmp)
    repeat_run(sys.argv[1], tmp)
    print(f"{len(failures)} failure(s); logs in {tmp}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
