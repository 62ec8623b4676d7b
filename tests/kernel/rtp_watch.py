#!/usr/bin/env python3
"""RTP watcher for the kernel lane: receives on each PORT, forwards every datagram unchanged to PORT+OFFSET on
127.0.0.1 (where an FFmpeg receiver decodes), and records per port the SSRCs and sequence numbers seen.
Runs for at most SECONDS (or until SIGTERM), then prints one line per port: "PORT packets=N ssrcs=K gaps=G reorders=R" (gaps: a
sequence number skipped, counted modulo 2^16) and exits 0.

  rtp_watch.py SECONDS OFFSET PORT [PORT...]"""
import select, signal, socket, sys, time

secs, offset, ports = float(sys.argv[1]), int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
socks, stats = {}, {}
for p in ports:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # 8 MB: an FWHT frame is a burst of up to a hundred packets (the tests send unpaced), and this Python
    # loop under TCG drains them slower than they come; a loss here would read as a gap of the sender's.
    # SO_RCVBUFFORCE goes past rmem_max (root in the guest); SO_RCVBUF where not allowed.
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(('127.0.0.1', p))
    socks[s.fileno()] = (s, p)
    stats[p] = {'n': 0, 'ssrcs': set(), 'last': None, 'gaps': 0, 'reorders': 0}
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print('listening', flush=True)
end = time.monotonic() + secs
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
while time.monotonic() < end and not stop:
    try:
        r, _, _ = select.select(list(socks), [], [], 0.2)
    except InterruptedError:
        continue
    for fd in r:
        s, p = socks[fd]
        d = s.recv(65536)
        if len(d) < 12:
            continue
        out.sendto(d, ('127.0.0.1', p + offset))
        st = stats[p]
        seq, ssrc = int.from_bytes(d[2:4], 'big'), int.from_bytes(d[8:12], 'big')
        st['n'] += 1
        st['ssrcs'].add(ssrc)
        if st['last'] is not None:
            step = (seq - st['last']) & 0xffff
            if step == 0 or step > 0x8000:
                st['reorders'] += 1
                continue
            st['gaps'] += step - 1
        st['last'] = seq
for p in ports:
    st = stats[p]
    print('%d packets=%d ssrcs=%d gaps=%d reorders=%d' % (p, st['n'], len(st['ssrcs']), st['gaps'], st['reorders']))
