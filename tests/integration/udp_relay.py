#!/usr/bin/env python3
"""A lossy, delaying UDP relay for tests (loopback only). Each route listens on a port and forwards what it
gets to a destination port on 127.0.0.1, dropping a seeded random share and delaying the rest (order kept).
Stats per route: received, forwarded, dropped; for RTP, drops of a packet's first copy (by SSRC and sequence
number, which SRTP leaves in clear) are told apart from drops of a copy that came again (a resend).

As a module: Relay([(listen, dest, loss, delay_ms, jitter_ms), ...], seed).start() ... .stop(); .stats
A route can also be capped (set at any time): route.cap(rate_bps, queue_ms) makes it a bottleneck link of
that rate behind a FIFO of that many milliseconds (tail drop beyond); cap(0, 0) lifts it. Per SSRC, the
route counts what it received and dropped (ssrc_received, ssrc_dropped).
As a program: udp_relay.py --seed 1 --route 16600:16610:0.05:10:5 [--route ...] [--seconds N]
"""
import argparse
import heapq
import json
import random
import select
import socket
import struct
import sys
import threading
import time


class Route:
    def __init__(self, listen, dest, loss, delay_ms, jitter_ms):
        self.listen, self.dest, self.loss = listen, dest, loss
        self.delay, self.jitter = delay_ms / 1000, jitter_ms / 1000
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", listen))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        self.last_out = 0.0
        self.received = self.forwarded = self.dropped = 0
        self.seen = set()            # (ssrc, seq, pt) of RTP packets seen
        self.dropped_first = {}      # pt -> drops of a packet's first copy
        self.dropped_again = {}      # pt -> drops of a copy seen before (a plain resend)
        self.first_dropped = set()   # (ssrc, seq) whose first copy was dropped
        self.rate_bps, self.queue_s, self.link_free = 0, 0.0, 0.0
        self.ssrc_received, self.ssrc_dropped = {}, {}
        self.cap_dropped = 0

    def cap(self, rate_bps, queue_ms):
        self.rate_bps, self.queue_s = rate_bps, queue_ms / 1000

    def stats(self):
        return {"listen": self.listen, "dest": self.dest, "received": self.received, "forwarded": self.forwarded,
                "dropped": self.dropped, "dropped_first": self.dropped_first, "dropped_again": self.dropped_again}


class Relay:
    def __init__(self, routes, seed):
        self.routes = [Route(*r) for r in routes]
        self.rng = random.Random(seed)
        self.queue = []  # (time, n, route, data)
        self.n = 0
        self.stop_flag = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_flag = True
        self.thread.join(5)
        for r in self.routes:
            r.sock.close()

    @property
    def stats(self):
        return [r.stats() for r in self.routes]

    def handle(self, r, data):
        r.received += 1
        key = None
        if len(data) >= 12 and data[0] >> 6 == 2 and not 192 <= data[1] <= 223:
            pt = data[1] & 0x7f
            key = (struct.unpack_from("!I", data, 8)[0], struct.unpack_from("!H", data, 2)[0], pt)
        drop = self.rng.random() < r.loss
        now = time.monotonic()
        if r.rate_bps and not drop:
            # a bottleneck: the packet leaves the link when the ones before it have; a full queue drops it
            start = max(now, r.link_free)
            if start - now > r.queue_s:
                drop = True
                r.cap_dropped += 1
            else:
                r.link_free = start + len(data) * 8 / r.rate_bps
        if key is not None:
            r.ssrc_received[key[0]] = r.ssrc_received.get(key[0], 0) + 1
            if drop:
                r.ssrc_dropped[key[0]] = r.ssrc_dropped.get(key[0], 0) + 1
            again = key in r.seen
            r.seen.add(key)
            if drop:
                d = r.dropped_again if again else r.dropped_first
                d[key[2]] = d.get(key[2], 0) + 1
                if not again:
                    r.first_dropped.add(key[:2])
        if drop:
            r.dropped += 1
            return
        t = max((r.link_free if r.rate_bps else now) + r.delay + self.rng.random() * r.jitter, r.last_out)
        r.last_out = t
        self.n += 1
        heapq.heappush(self.queue, (t, self.n, r, data))

    def run(self):
        socks = {r.sock: r for r in self.routes}
        while not self.stop_flag:
            now = time.monotonic()
            while self.queue and self.queue[0][0] <= now:
                _, _, r, data = heapq.heappop(self.queue)
                try:
                    r.sock.sendto(data, ("127.0.0.1", r.dest))
                    r.forwarded += 1
                except OSError:
                    pass
            timeout = min(0.05, max(0.0, self.queue[0][0] - now)) if self.queue else 0.05
            rd, _, _ = select.select(list(socks), [], [], timeout)
            for s in rd:
                for _ in range(64):
                    try:
                        data = s.recv(2048, socket.MSG_DONTWAIT)
                    except (BlockingIOError, OSError):
                        break
                    self.handle(socks[s], data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--route", action="append", required=True, help="LISTEN:DEST:LOSS:DELAY_MS:JITTER_MS")
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()
    routes = []
    for r in a.route:
        l, d, loss, delay, jit = r.split(":")
        routes.append((int(l), int(d), float(loss), float(delay), float(jit)))
    relay = Relay(routes, a.seed).start()
    try:
        time.sleep(a.seconds)
    except KeyboardInterrupt:
        pass
    relay.stop()
    json.dump(relay.stats, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
