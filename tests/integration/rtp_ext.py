#!/usr/bin/python3
"""rtp_ext.py MIXCASTD [h264|vp8]

RFC 8285 header extensions as a receiver sees them on the wire: mixcastd sends three layers, plain RTP, to
one port (mediasoup-style, told apart by SSRC) with `ext_rid`, `rids`, `ext_mid`, `mid` and `ext_twcc`.
A stdlib receiver parses every datagram independently of mixcastd's code (RFC 3550 header, RFC 8285 one-byte
block) and checks:
- every packet has the X bit, profile 0xBEDE and a well-formed block within the datagram;
- the RTP stream id (RFC 8852) of each SSRC is the configured RID of its layer (by the fixed `ssrcs`);
- the MID is the configured one on every packet;
- the transport-wide sequence numbers (draft-holmer-rmcat-transport-wide-cc-extensions-01) count every
  packet of the socket once, in the order they arrive (loopback keeps the order), over all layers;
- no datagram is longer than the MTU (the packetizers left room for the block);
- the payload after the block is a valid H.264 (RFC 6184) / VP8 (RFC 7741) payload start, and every frame's
  fragments reassemble (FU-A start/end bits or VP8 S bit) in order.

Exit 0 pass, 1 fail. Port 17000.
"""
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

PORT = 17000
MTU = 1000
SSRCS = [0x1111, 0x2222, 0x3333]
RIDS = ["f", "h", "q"]
MID = "v0"
IDS = {"rid": 10, "mid": 4, "twcc": 3}
RUN_S = 3.0


def parse(data):
    """(ssrc, seq, ts, marker, {id: bytes}, payload) or raises ValueError."""
    if len(data) < 12:
        raise ValueError("short")
    b0, b1, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
    if b0 >> 6 != 2:
        raise ValueError("version")
    off = 12 + 4 * (b0 & 0x0F)
    exts = {}
    if not b0 & 0x10:
        raise ValueError("no X bit")
    if off + 4 > len(data):
        raise ValueError("extension header beyond datagram")
    profile, words = struct.unpack_from("!HH", data, off)
    if profile != 0xBEDE:
        raise ValueError("profile 0x%04x" % profile)
    start, end = off + 4, off + 4 + 4 * words
    if end > len(data):
        raise ValueError("extension block beyond datagram")
    p = start
    while p < end:
        if data[p] == 0:
            p += 1
            continue
        eid, ln = data[p] >> 4, (data[p] & 0x0F) + 1
        if eid == 15 or p + 1 + ln > end:
            raise ValueError("bad element")
        if eid in exts:
            raise ValueError("element %d twice" % eid)
        exts[eid] = bytes(data[p + 1:p + 1 + ln])
        p += 1 + ln
    return ssrc, seq, ts, bool(b1 & 0x80), exts, data[end:]


def main():
    binary = sys.argv[1]
    codec = sys.argv[2] if len(sys.argv) > 2 else "h264"
    tmp = tempfile.mkdtemp(prefix="mixcast-it-ext.")
    conf = os.path.join(tmp, "ext.ini")
    with open(conf, "w") as f:
        f.write(f"""[source.cam]
type = testsrc
size = 640x360
fps = 30
[track.video]
input = cam
codec = {codec}
layers = 640x360@30:900k, 320x180@30:300k, 160x90@15:100k
keyframe_interval = 1
[output.sfu]
type = rtp
track = video
host = 127.0.0.1
port = {PORT}
mtu = {MTU}
ssrcs = {", ".join(str(s) for s in SSRCS)}
ext_rid = {IDS["rid"]}
rids = {", ".join(RIDS)}
ext_mid = {IDS["mid"]}
mid = {MID}
ext_twcc = {IDS["twcc"]}
rtcp = off
""")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("127.0.0.1", PORT))
    sock.setblocking(False)
    log = open(os.path.join(tmp, "mixcastd.log"), "w+")
    proc = subprocess.Popen([binary, "-c", conf], stderr=log, stdout=log)
    pkts, malformed = [], []
    deadline = time.monotonic() + RUN_S
    try:
        while time.monotonic() < deadline + 1.0:
            if proc.poll() is None and time.monotonic() >= deadline:
                proc.send_signal(signal.SIGTERM)
            r, _, _ = select.select([sock], [], [], 0.05)
            for _ in range(512 if r else 0):
                try:
                    data = sock.recv(4096)
                except BlockingIOError:
                    break
                try:
                    pkts.append((len(data),) + parse(data))
                except ValueError as e:
                    malformed.append(str(e))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    check(proc.returncode == 0, f"mixcastd exits 0 ({proc.returncode})")
    check(len(pkts) > 200, f"{len(pkts)} packets received")
    check(not malformed, f"every datagram has a well-formed RFC 8285 block ({malformed[:3]})")
    check(max((p[0] for p in pkts), default=0) <= MTU, f"no datagram over the MTU of {MTU} "
          f"(largest {max((p[0] for p in pkts), default=0)})")
    by_ssrc = {}
    for p in pkts:
        by_ssrc.setdefault(p[1], []).append(p)
    check(sorted(by_ssrc) == sorted(SSRCS), f"the three configured SSRCs ({sorted(by_ssrc)})")
    for ssrc, rid in zip(SSRCS, RIDS):
        got = {p[5].get(IDS["rid"]) for p in by_ssrc.get(ssrc, [])}
        check(got == {rid.encode()}, f"SSRC {ssrc:#x}: rid {got} == {{{rid!r}}} on every packet")
    mids = {p[5].get(IDS["mid"]) for p in pkts}
    check(mids == {MID.encode()}, f"mid {mids} on every packet")
    tw = [p[5].get(IDS["twcc"]) for p in pkts]
    check(all(t is not None and len(t) == 2 for t in tw), "a 2-byte transport-wide sequence number on every packet")
    seqs = [struct.unpack("!H", t)[0] for t in tw if t and len(t) == 2]
    steps = [(b - a) & 0xFFFF for a, b in zip(seqs, seqs[1:])]
    check(steps and all(s == 1 for s in steps),
          f"transport-wide sequence numbers +1 per packet over all layers ({len(seqs)} packets, "
          f"{sum(1 for s in steps if s != 1)} jumps)")
    # payload after the block: reassemble every frame of every SSRC
    bad = []
    for ssrc, lst in by_ssrc.items():
        prev_seq, in_frame = None, False
        for _, _, seq, ts, marker, _, pl in lst:
            if prev_seq is not None and (seq - prev_seq) & 0xFFFF != 1:
                bad.append(f"{ssrc:#x}: RTP seq gap {prev_seq}->{seq}")
            prev_seq = seq
            if not pl:
                bad.append("empty payload")
                continue
            if codec == "h264":
                nal = pl[0] & 0x1F
                if nal == 28:
                    start, end = bool(pl[1] & 0x80), bool(pl[1] & 0x40)
                    if start == in_frame:
                        bad.append(f"{ssrc:#x} seq {seq}: FU-A start bit {start} inside={in_frame}")
                    in_frame = not end
                elif not (1 <= nal <= 24) or in_frame:
                    bad.append(f"{ssrc:#x} seq {seq}: NAL type {nal} (inside FU {in_frame})")
            else:
                if not pl[0] & 0x80 or len(pl) < 5:
                    bad.append(f"{ssrc:#x} seq {seq}: VP8 descriptor without X")
        check(len(lst) > 30, f"SSRC {ssrc:#x}: {len(lst)} packets")
    check(not bad, f"payloads start right after the block and reassemble ({bad[:3]})")
    if failures:
        log.seek(0)
        print("---- mixcastd log ----\n" + log.read()[-3000:], file=sys.stderr)
    print(f"rtp_ext: {'FAIL' if failures else 'PASS'}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
