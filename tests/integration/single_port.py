#!/usr/bin/python3
"""single_port.py MIXCASTD

One output with `port = P` (all three H.264 simulcast layers on one UDP port,
told apart by SSRC), SRTP, and `local_port = L`.

    mixcastd --SRTP--> relay 127.0.0.1:P  --forward--> GStreamer 127.0.0.1:P2
             (RTCP) -> relay 127.0.0.1:P+1 (recorded only)

The relay is a plain UDP socket that records, for every datagram, the sender's
(address, port), and the SSRC and RTP timestamp (bytes 8-11 and 4-7, which SRTP
leaves in clear), then forwards it to the GStreamer receiver:
    udpsrc ! srtpdec (request-key -> key caps) ! rtpssrcdemux
    per SSRC: queue ! rtph264depay ! avdec_h264 ! fakesink (probe: frames, size)

Checks: every RTP datagram came from one source tuple, whose port is L, and
every RTCP one from the RTCP socket at L + 1; three SSRCs; each SSRC decodes at exactly one of 1280x720, 640x360,
320x180 and all three sizes are present; decoded frames near what was sent
(distinct RTP timestamps) and the sent frame rate near the layer's (30/30/15);
mixcastd is still running before SIGTERM and exits 0 after it.

Exit: 0 pass, 1 fail, 77 skip (python GI / GStreamer elements missing).
MIXCAST_IT_FAKE_SENDER=ffmpeg: send with three separate ffmpeg processes
instead of mixcastd (three source tuples: the tuple checks must then FAIL,
the decoding checks pass). IT_KEEP=1 keeps the temp dir.
"""

import base64
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
NAME = "single_port"

# Ports of this test (16200-16299): relay RTP / RTCP, GStreamer, mixcastd source.
P = 16200
P_RTCP = P + 1
P2 = 16210
L = 16220

RUN_SECONDS = 5.0  # sending time before SIGTERM
LAYERS = [("1280x720", 30, "2500k"), ("640x360", 30, "700k"), ("320x180", 15, "150k")]
MIN_DECODED_PCT = 85  # decoded frames vs frames seen on the wire, per SSRC
MIN_SENT_PCT = 80  # frames on the wire vs fps * time on the wire
FPS_TOLERANCE = 0.2  # measured RTP frame rate within +-20% of the layer's

failed = False


def log(msg):
    print(f"[{NAME}] {msg}", file=sys.stderr, flush=True)


def check(ok, msg):
    global failed
    if ok:
        log(f"PASS: {msg}")
    else:
        log(f"FAIL: {msg}")
        failed = True
    return ok


def skip(msg):
    log(f"SKIP: {msg}")
    sys.exit(SKIP)


try:
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
except (ImportError, ValueError) as e:
    skip(f"python GI / GStreamer not available: {e}")

Gst.init(None)
for factory in ("udpsrc", "srtpdec", "rtpssrcdemux", "rtph264depay", "avdec_h264", "fakesink", "queue"):
    if Gst.ElementFactory.find(factory) is None:
        skip(f"GStreamer element {factory} not available")


def udp_port_bound(port):
    want = f":{port:04X}"
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                if line.split()[1].endswith(want):
                    return True
    except OSError:
        pass
    return False


class Relay:
    """Records the source of every datagram and forwards RTP to the receiver."""

    def __init__(self):
        self.rtp = self._bind(P)
        self.rtcp = self._bind(P_RTCP)
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.lock = threading.Lock()
        self.rtp_tuples = {}  # (addr, port) -> datagrams
        self.rtcp_tuples = {}
        self.ssrcs = {}  # ssrc -> dict(packets, timestamps:set, ts_first, ts_last, t_first, t_last)
        self.rtcp_ssrcs = {}  # sender SSRC of RTCP -> count
        self.short = 0
        self.last_rx = None
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _bind(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for opt, val in ((33, 8 << 20), (socket.SO_RCVBUF, 8 << 20)):  # 33 = SO_RCVBUFFORCE
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, val)
                break
            except OSError:
                continue
        s.bind(("127.0.0.1", port))
        s.setblocking(False)
        return s

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_ev.set()
        self.thread.join(timeout=5)
        for s in (self.rtp, self.rtcp, self.out):
            s.close()

    def _run(self):
        while not self.stop_ev.is_set():
            r, _, _ = select.select([self.rtp, self.rtcp], [], [], 0.1)
            for s in r:
                for _ in range(256):  # bounded drain
                    try:
                        data, src = s.recvfrom(65536)
                    except BlockingIOError:
                        break
                    except OSError:
                        break
                    now = time.monotonic()
                    with self.lock:
                        self.last_rx = now
                        if s is self.rtp:
                            self._on_rtp(data, src, now)
                        else:
                            self._on_rtcp(data, src)
                    if s is self.rtp:
                        try:
                            self.out.sendto(data, ("127.0.0.1", P2))
                        except OSError:
                            pass

    def _on_rtp(self, data, src, now):
        self.rtp_tuples[src] = self.rtp_tuples.get(src, 0) + 1
        if len(data) < 12:
            self.short += 1
            return
        ts, ssrc = struct.unpack("!II", data[4:12])
        st = self.ssrcs.get(ssrc)
        if st is None:
            st = self.ssrcs[ssrc] = {"packets": 0, "timestamps": set(), "ts_first": ts, "ts_last": ts,
                                     "t_first": now, "t_last": now, "pt": data[1] & 0x7F}
        st["packets"] += 1
        st["timestamps"].add(ts)
        st["ts_last"] = ts
        st["t_last"] = now

    def _on_rtcp(self, data, src):
        self.rtcp_tuples[src] = self.rtcp_tuples.get(src, 0) + 1
        if len(data) >= 8:
            ssrc = struct.unpack("!I", data[4:8])[0]
            self.rtcp_ssrcs[ssrc] = self.rtcp_ssrcs.get(ssrc, 0) + 1

    def idle_for(self):
        with self.lock:
            if self.last_rx is None:
                return None
            return time.monotonic() - self.last_rx


class Receiver:
    """udpsrc ! srtpdec ! rtpssrcdemux, one decode branch per SSRC."""

    def __init__(self, key_bytes):
        self.key_hex = key_bytes.hex()
        self.lock = threading.Lock()
        self.frames = {}  # ssrc -> count
        self.sizes = {}  # ssrc -> {(w, h): count}
        self.keys_requested = []
        self.pipeline = Gst.parse_launch(
            f"udpsrc name=src address=127.0.0.1 port={P2} buffer-size=8388608 "
            'caps="application/x-srtp,media=(string)video,clock-rate=(int)90000,'
            'encoding-name=(string)H264,payload=(int)96" '
            "! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 "
            "! srtpdec name=dec ! rtpssrcdemux name=demux"
        )
        self.dec = self.pipeline.get_by_name("dec")
        self.demux = self.pipeline.get_by_name("demux")
        self.dec.connect("request-key", self._on_request_key)
        self.demux.connect("pad-added", self._on_pad_added)
        self.errors = []

    def _key_caps(self):
        return Gst.Caps.from_string(
            f"application/x-srtp, srtp-key=(buffer){self.key_hex}, "
            "srtp-cipher=(string)aes-128-icm, srtp-auth=(string)hmac-sha1-80, "
            "srtcp-cipher=(string)aes-128-icm, srtcp-auth=(string)hmac-sha1-80"
        )

    def _on_request_key(self, _dec, ssrc):
        with self.lock:
            self.keys_requested.append(ssrc)
        return self._key_caps()

    def _on_pad_added(self, _demux, pad):
        name = pad.get_name()
        if not name.startswith("src_"):
            return
        ssrc = int(name[4:])
        branch = Gst.parse_bin_from_description(
            "queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 "
            "! rtph264depay ! avdec_h264 name=vdec ! fakesink sync=false async=false",
            True,
        )
        branch.set_name(f"branch_{ssrc}")
        with self.lock:
            self.frames.setdefault(ssrc, 0)
            self.sizes.setdefault(ssrc, {})
        vdec = branch.get_by_name("vdec")
        vdec.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self._on_frame, ssrc)
        self.pipeline.add(branch)
        branch.sync_state_with_parent()
        ret = pad.link(branch.get_static_pad("sink"))
        if ret != Gst.PadLinkReturn.OK:
            self.errors.append(f"could not link demux pad {name}: {ret}")

    def _on_frame(self, pad, _info, ssrc):
        caps = pad.get_current_caps()
        wh = (0, 0)
        if caps is not None and caps.get_size() > 0:
            s = caps.get_structure(0)
            okw, w = s.get_int("width")
            okh, h = s.get_int("height")
            if okw and okh:
                wh = (w, h)
        with self.lock:
            self.frames[ssrc] = self.frames.get(ssrc, 0) + 1
            d = self.sizes.setdefault(ssrc, {})
            d[wh] = d.get(wh, 0) + 1
        return Gst.PadProbeReturn.OK

    def start(self):
        r = self.pipeline.set_state(Gst.State.PLAYING)
        return r != Gst.StateChangeReturn.FAILURE

    def poll_bus(self):
        bus = self.pipeline.get_bus()
        while True:
            msg = bus.pop_filtered(Gst.MessageType.ERROR | Gst.MessageType.WARNING)
            if msg is None:
                break
            if msg.type == Gst.MessageType.ERROR:
                err, dbg = msg.parse_error()
                self.errors.append(f"{msg.src.get_name()}: {err.message} ({dbg})")
            else:
                w, dbg = msg.parse_warning()
                log(f"gstreamer warning from {msg.src.get_name()}: {w.message}")

    def finish(self, timeout=10):
        """Send EOS and wait (bounded) for it to reach every sink, so decoders drain."""
        self.pipeline.send_event(Gst.Event.new_eos())
        bus = self.pipeline.get_bus()
        deadline = time.monotonic() + timeout
        got_eos = False
        while time.monotonic() < deadline:
            msg = bus.timed_pop_filtered(200 * Gst.MSECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
            if msg is None:
                continue
            if msg.type == Gst.MessageType.EOS:
                got_eos = True
                break
            err, dbg = msg.parse_error()
            self.errors.append(f"{msg.src.get_name()}: {err.message} ({dbg})")
            break
        self.pipeline.set_state(Gst.State.NULL)
        return got_eos


def start_fake_senders(key_b64, tmp):
    """Three independent ffmpeg senders, one per layer, to the same port."""
    procs = []
    for i, (size, fps, br) in enumerate(LAYERS):
        ssrc = 0x11110000 + i
        cmd = [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={RUN_SECONDS}",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            "-b:v", br, "-g", "60", "-f", "rtp", "-ssrc", str(ssrc),
            "-srtp_out_suite", "AES_CM_128_HMAC_SHA1_80", "-srtp_out_params", key_b64,
            f"srtp://127.0.0.1:{P}?pkt_size=1200",
        ]
        logf = open(os.path.join(tmp, f"ffmpeg_sender{i}.log"), "w")
        procs.append(subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT))
    return procs


def stop_proc(p, sig, timeout):
    """Signal p, wait (bounded), SIGKILL if needed. Returns its exit status or None."""
    if p.poll() is None:
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"pid {p.pid} still alive {timeout}s after signal {sig}; killing")
        p.kill()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        return None


def dump_logs(tmp):
    for fn in sorted(os.listdir(tmp)):
        if fn.endswith(".log") or fn.endswith(".conf"):
            path = os.path.join(tmp, fn)
            with open(path, errors="replace") as f:
                lines = f.readlines()
            print(f"\n===== {fn} (last 60 of {len(lines)} lines) =====", file=sys.stderr)
            for line in lines[-60:]:
                print(line.rstrip()[:300], file=sys.stderr)


def on_signal(signum, _frame):
    # turn SIGTERM/SIGINT (ctest time-out, Ctrl-C) into an exception so that the
    # finally: below stops mixcastd / ffmpeg and removes the temp dir
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} MIXCASTD", file=sys.stderr)
        return 2
    binary = sys.argv[1]
    fake = os.environ.get("MIXCAST_IT_FAKE_SENDER") == "ffmpeg"
    if fake:
        if shutil.which("ffmpeg") is None:
            skip("ffmpeg not found (needed for MIXCAST_IT_FAKE_SENDER=ffmpeg)")
    elif not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        log(f"FAIL: mixcastd binary '{binary}' not found or not executable")
        return 1

    for port in (P, P_RTCP, P2, L, L + 1):
        if udp_port_bound(port):
            log(f"FAIL: UDP port {port} already in use; cannot run")
            return 1

    tmp = tempfile.mkdtemp(prefix=f"mixcast-it-{NAME}.")
    procs = []
    relay = None
    rx = None
    try:
        key = os.urandom(30)
        key_b64 = base64.b64encode(key).decode()
        key_path = os.path.join(tmp, "srtp.key")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key_b64 + "\n")

        conf_path = os.path.join(tmp, "mixcastd.conf")
        layers = ", ".join(f"{s}@{fps}:{br}" for s, fps, br in LAYERS)
        with open(conf_path, "w") as f:
            f.write(
                f"# generated by {NAME}\n"
                "[daemon]\nlog_level = info\n\n"
                "[source.cam]\ntype = testsrc\nsize = 1280x720\nfps = 30\n\n"
                f"[track.cam]\ninput = cam\ncodec = h264\nlayers = {layers}\n\n"
                "[output.sfu]\ntype = rtp\ntrack = cam\nhost = 127.0.0.1\n"
                f"port = {P}\nlocal_port = {L}\nsrtp_key_file = {key_path}\n"
            )

        relay = Relay()
        relay.start()
        rx = Receiver(key)
        if not rx.start():
            log("FAIL: GStreamer pipeline did not start")
            rx.poll_bus()
            for e in rx.errors:
                log(f"  {e}")
            return 1
        # udpsrc binds in READY->PAUSED; make sure before sending
        deadline = time.monotonic() + 5
        while not udp_port_bound(P2) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not udp_port_bound(P2):
            log(f"FAIL: GStreamer udpsrc did not bind port {P2}")
            return 1

        daemon = None
        if fake:
            log("MIXCAST_IT_FAKE_SENDER=ffmpeg: three ffmpeg senders, not mixcastd "
                "(the source-tuple checks are expected to FAIL)")
            procs = start_fake_senders(key_b64, tmp)
        else:
            dlog = open(os.path.join(tmp, "mixcastd.log"), "w")
            daemon = subprocess.Popen([binary, "-c", conf_path], stdout=dlog, stderr=subprocess.STDOUT)
            procs = [daemon]

        # Wait for the first packet (bounded), then run RUN_SECONDS.
        t0 = time.monotonic()
        while relay.idle_for() is None and time.monotonic() - t0 < 15:
            if daemon is not None and daemon.poll() is not None:
                break
            rx.poll_bus()
            time.sleep(0.05)
        if relay.idle_for() is None:
            check(False, "no datagram arrived on port %d within 15 s" % P)
        else:
            log(f"first datagram {time.monotonic() - t0:.2f}s after start")
            t1 = time.monotonic()
            while time.monotonic() - t1 < RUN_SECONDS:
                rx.poll_bus()
                if daemon is not None and daemon.poll() is not None:
                    break
                time.sleep(0.1)

        if daemon is not None:
            check(daemon.poll() is None, f"mixcastd still running after {RUN_SECONDS}s of sending")
            rc = stop_proc(daemon, signal.SIGTERM, 10)
            check(rc == 0, f"mixcastd exit status after SIGTERM: {rc} (expected 0)")
        else:
            for p in procs:
                stop_proc(p, signal.SIGTERM, RUN_SECONDS + 10)

        # Let the last datagrams through the relay and the decoders.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            idle = relay.idle_for()
            if idle is None or idle > 0.7:
                break
            time.sleep(0.1)
        time.sleep(0.3)
        relay.stop()
        rx.poll_bus()
        got_eos = rx.finish(timeout=10)
        check(got_eos, "GStreamer receiver drained (EOS reached every sink)")
        check(not rx.errors, "no GStreamer errors" + (": " + "; ".join(rx.errors) if rx.errors else ""))

        # ---- source tuple --------------------------------------------------
        rtp_tuples = relay.rtp_tuples
        total_dgrams = sum(rtp_tuples.values())
        log(f"RTP datagrams: {total_dgrams} from {len(rtp_tuples)} source tuple(s): "
            + ", ".join(f"{a}:{p} x{n}" for (a, p), n in rtp_tuples.items()))
        log(f"RTCP datagrams on port {P_RTCP}: {sum(relay.rtcp_tuples.values())} from "
            + (", ".join(f"{a}:{p} x{n}" for (a, p), n in relay.rtcp_tuples.items()) or "nobody")
            + f"; RTCP sender SSRCs: {sorted(relay.rtcp_ssrcs)}")
        check(total_dgrams > 0, "datagrams received")
        check(len(rtp_tuples) == 1, f"all RTP datagrams from one source tuple (saw {len(rtp_tuples)})")
        if len(rtp_tuples) == 1:
            (addr, port), = rtp_tuples.keys()
            check(addr == "127.0.0.1", f"source address {addr} is 127.0.0.1")
            check(port == L, f"source port {port} is local_port {L}")
        if relay.rtcp_tuples:
            # RTCP to another port leaves from the output's RTCP socket, local_port + 1 (RFC 3550 §11),
            # where the feedback is read (an SFU answers the address RTCP came from)
            check(set(relay.rtcp_tuples) == {("127.0.0.1", L + 1)},
                  f"RTCP comes from one tuple, the RTCP socket at local_port + 1 ({L + 1})")
            check(set(relay.rtcp_ssrcs) <= set(relay.ssrcs),
                  "RTCP sender SSRCs are RTP SSRCs")

        # ---- SSRCs, sizes, frame counts ----------------------------------------
        wire = relay.ssrcs
        check(len(wire) == 3, f"three SSRCs on the wire (saw {len(wire)}: {[hex(s) for s in wire]})")
        check(relay.short == 0, f"no datagrams shorter than an RTP header (saw {relay.short})")
        check(set(rx.keys_requested) == set(wire),
              f"srtpdec asked a key for each SSRC (asked for {[hex(s) for s in rx.keys_requested]})")
        expected_sizes = {tuple(int(x) for x in s.split("x")): fps for s, fps, _ in LAYERS}
        seen_sizes = {}
        for ssrc in sorted(wire, key=lambda s: -wire[s]["packets"]):
            st = wire[ssrc]
            sent = len(st["timestamps"])
            span_ts = (st["ts_last"] - st["ts_first"]) & 0xFFFFFFFF
            rtp_fps = (sent - 1) * 90000.0 / span_ts if span_ts > 0 else 0.0
            span_t = st["t_last"] - st["t_first"]
            decoded = rx.frames.get(ssrc, 0)
            sizes = rx.sizes.get(ssrc, {})
            log(f"SSRC {ssrc:#010x}: {st['packets']} packets (PT {st['pt']}), {sent} frames on the wire "
                f"over {span_t:.2f}s, RTP-timestamp rate {rtp_fps:.1f} fps; decoded {decoded} frames, "
                f"sizes {{{', '.join(f'{w}x{h}: {n}' for (w, h), n in sizes.items())}}}")
            desc = f"SSRC {ssrc:#010x}"
            if not check(len(sizes) == 1, f"{desc} decodes at exactly one size"):
                continue
            (wh, _n), = sizes.items()
            if not check(wh in expected_sizes, f"{desc} size {wh[0]}x{wh[1]} is one of the layers"):
                continue
            if not check(wh not in seen_sizes, f"{desc} size {wh[0]}x{wh[1]} not used by another SSRC"):
                continue
            seen_sizes[wh] = ssrc
            fps = expected_sizes[wh]
            check(decoded >= sent * MIN_DECODED_PCT / 100 and decoded <= sent + 1,
                  f"{desc} decoded {decoded} of {sent} frames sent (min {MIN_DECODED_PCT}%)")
            check(abs(rtp_fps - fps) <= fps * FPS_TOLERANCE,
                  f"{desc} RTP frame rate {rtp_fps:.1f} ~ {fps} fps")
            want = fps * span_t * MIN_SENT_PCT / 100
            check(sent >= want, f"{desc} {sent} frames sent in {span_t:.2f}s (min {want:.0f} at {fps} fps)")
        check(set(seen_sizes) == set(expected_sizes),
              "all three sizes decoded: " + ", ".join(f"{w}x{h}" for (w, h) in sorted(seen_sizes)))
    except KeyboardInterrupt as e:
        check(False, f"interrupted ({e})")
    except Exception as e:  # report, clean up, fail
        import traceback
        traceback.print_exc()
        check(False, f"exception: {e}")
    finally:
        for p in procs:
            if p.poll() is None:
                stop_proc(p, signal.SIGKILL, 5)
        if relay is not None and relay.thread.is_alive():
            relay.stop()
        if rx is not None:
            rx.pipeline.set_state(Gst.State.NULL)
        if failed:
            dump_logs(tmp)
        if os.environ.get("IT_KEEP") == "1":
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    if failed:
        log("FAILED")
        return 1
    log("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
