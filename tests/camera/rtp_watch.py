#!/usr/bin/env python3
"""RTP relay for the camera tests: receives RTP on --listen, forwards every datagram to --forward (where
FFmpeg decodes), and writes one line per packet to --log: arrival time (CLOCK_MONOTONIC, s), sequence
number, RTP timestamp, marker bit. Ends after --seconds or on SIGTERM. Loopback only."""
import argparse, signal, socket, struct, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--listen", type=int, required=True)
ap.add_argument("--forward", type=int, required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--seconds", type=float, default=60)
a = ap.parse_args()
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", a.listen))
rx.settimeout(0.2)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + a.seconds
with open(a.log, "w") as log:
    while not stop and time.monotonic() < end:
        try:
            pkt = rx.recv(65536)
        except socket.timeout:
            continue
        now = time.monotonic()
        tx.sendto(pkt, ("127.0.0.1", a.forward))
        if len(pkt) >= 12 and pkt[0] >> 6 == 2 and not 200 <= pkt[1] <= 206:  # RTP, not RTCP
            seq, ts = struct.unpack("!HI", pkt[2:8])
            log.write("%.6f %d %d %d\n" % (now, seq, ts, pkt[1] >> 7))
            log.flush()
