"""What the integration tests share: the PASS/FAIL checks (each test exits 1 if any failed), the H.264
RTP payload's NAL unit types, and a run of mixcastd with an RTP receiver per port. Imported from the test's own folder (python3 puts it on sys.path)."""
import select
import signal
import socket
import struct
import subprocess
import sys
import time

failures = []


def check(cond, what):
    print(("PASS: " if cond else "FAIL: ") + what, file=sys.stderr)
    if not cond:
        failures.append(what)


def nal_types(payload):
    """The H.264 NAL unit types an RTP payload carries (RFC 6184: single NAL, STAP-A, FU-A start)."""
    if not payload:
        return set()
    t = payload[0] & 0x1F
    if t == 24:
        out, off = set(), 1
        while off + 2 < len(payload):
            size = struct.unpack_from("!H", payload, off)[0]
            out.add(payload[off + 2] & 0x1F)
            off += 2 + size
        return out
    if t == 28:
        return {payload[1] & 0x1F} if len(payload) > 1 and payload[1] & 0x80 else set()
    return {t}


def receive_rtp(cmd, log, ports, seconds, on_packet, env=None):
    """Runs `cmd` (stdout and stderr to `log`) with a receiver on each of `ports` (127.0.0.1, 4 MB buffers),
    for `seconds`, then SIGTERM and up to 10 s for it to exit, reading on until then. Each RTP media packet
    (muxed RTCP left out) goes to on_packet(port, data, ssrc, seq, ts, payload_offset). Returns the exit status."""
    socks = {}
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("127.0.0.1", p))
        s.setblocking(False)
        socks[s.fileno()] = (s, p)
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
    t0, end = time.monotonic(), None
    try:
        while True:
            now = time.monotonic() - t0
            if end is None and now >= seconds:
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
                    b0, _, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
                    hdr = 12 + 4 * (b0 & 0x0F)
                    if b0 & 0x10:  # header extension
                        hdr += 4 + 4 * struct.unpack_from("!H", data, hdr + 2)[0]
                    on_packet(port, data, ssrc, seq, ts, hdr)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for s, _ in socks.values():
            s.close()
    return proc.returncode
