"""What the integration tests share: the PASS/FAIL checks (each test exits 1 if any failed) and the H.264
RTP payload's NAL unit types. Imported from the test's own folder (python3 puts it on sys.path)."""
import struct
import sys

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
