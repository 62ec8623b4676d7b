#!/usr/bin/python3
"""gst_nack.py MIXCASTD MODE        MODE: rtx | plain | srtp (SRTP + SRTCP + RTX)

Lost packets come back: mixcastd sends one H.264 layer through a lossy relay (udp_relay.py, seeded, 5 %
random loss and 5-10 ms delay in both directions, for 15 s, then 1 s without loss before the sender stops) to a GStreamer rtpbin receiver (do-retransmission,
rtp-profile avpf/savpf, latency 400 ms, RTCP minimum interval 50 ms) whose NACKs go back through the relay
to mixcastd's RTCP socket.

    mixcastd :L ---RTP---> relay :R   --5 %--> rtpbin :G      (RTX too, or plain resends)
             :L+1 --SR---> relay :R+1 --5 %--> rtpbin :G+1
             :L+1 <-NACK-- relay :B   <-5 %--- rtpbin udpsink

Checks: >= 90 % of the media packets the relay dropped came back (dropped - the jitter buffer's num-lost);
the receiver's and mixcastd's counters agree (rtx-success-count vs resent; NACKs sent and received);
>= 99 % of the frames sent are decoded; <= 1 % of frames leave the depayloader with DISCONT (a gap).
Prints the figures. Exit: 0 pass, 1 fail, 77 skip. IT_KEEP=1 keeps the temp dir. Ports 16900-16999
(+10 per mode so modes may run in parallel).
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from udp_relay import Relay  # noqa: E402

MODES = {"rtx": 0, "plain": 30, "srtp": 60}
RUN_S = 15
LOSS = 0.05
failures = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def check(cond, what):
    log(("PASS: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def skip(why):
    log(f"SKIP: {why}")
    sys.exit(77)


try:
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import GLib, Gst
except (ImportError, ValueError) as e:
    skip(f"python GI / GStreamer not available: {e}")
Gst.init(None)
for f in ("rtpbin", "udpsrc", "udpsink", "rtph264depay", "avdec_h264", "fakesink", "rtprtxreceive", "srtpdec",
          "srtpenc"):
    if Gst.ElementFactory.find(f) is None:
        skip(f"GStreamer element {f} not available")


class Receiver:
    def __init__(self, g_port, back_port, mode, key):
        self.mode, self.key = mode, key
        self.jb = None
        self.decoded = self.depayed = self.discont = 0
        self.pipeline = Gst.Pipeline.new("rx")
        rb = self.rtpbin = Gst.ElementFactory.make("rtpbin", "rb")
        rb.set_property("latency", 400)
        rb.set_property("do-retransmission", True)
        Gst.util_set_object_arg(rb, "rtp-profile", "savpf" if mode == "srtp" else "avpf")
        rb.connect("new-jitterbuffer", self.on_jb)
        rb.connect("request-pt-map", self.on_pt_map)
        if mode != "plain":
            rb.connect("request-aux-receiver", self.on_aux)
        if mode == "srtp":
            rb.connect("request-rtp-decoder", self.on_decoder)
            rb.connect("request-rtcp-decoder", self.on_decoder)
            rb.connect("request-rtcp-encoder", self.on_rtcp_encoder)
        self.dec_bin = None
        caps = Gst.Caps.from_string(("application/x-srtp" if mode == "srtp" else "application/x-rtp") +
                                    ",media=video,clock-rate=90000,encoding-name=H264,payload=96")
        rtp = Gst.ElementFactory.make("udpsrc")
        rtp.set_property("port", g_port)
        rtp.set_property("caps", caps)
        rtp.set_property("buffer-size", 1 << 21)
        rtcp = Gst.ElementFactory.make("udpsrc")
        rtcp.set_property("port", g_port + 1)
        rtcp.set_property("caps", Gst.Caps.from_string("application/x-srtcp" if mode == "srtp" else "application/x-rtcp"))
        out = Gst.ElementFactory.make("udpsink")
        out.set_property("host", "127.0.0.1")
        out.set_property("port", back_port)
        out.set_property("sync", False)
        out.set_property("async", False)
        for e in (rb, rtp, rtcp, out):
            self.pipeline.add(e)
        rtp.get_static_pad("src").link(rb.request_pad_simple("recv_rtp_sink_0"))
        rtcp.get_static_pad("src").link(rb.request_pad_simple("recv_rtcp_sink_0"))
        rb.request_pad_simple("send_rtcp_src_0").link(out.get_static_pad("sink"))
        sess = rb.emit("get-internal-session", 0)
        sess.set_property("rtcp-min-interval", 50 * Gst.MSECOND)
        self.session = sess
        rb.connect("pad-added", self.on_pad)

    def key_caps(self):
        return Gst.Caps.from_string(
            f"application/x-srtp,srtp-key=(buffer){self.key.hex()},srtp-cipher=aes-128-icm,"
            "srtp-auth=hmac-sha1-80,srtcp-cipher=aes-128-icm,srtcp-auth=hmac-sha1-80")

    def on_decoder(self, rb, sessid):
        if self.dec_bin is None:  # one srtpdec for RTP and RTCP (its pads are named as rtpbin asks)
            dec = Gst.ElementFactory.make("srtpdec")
            dec.connect("request-key", lambda d, ssrc: self.key_caps())
            self.dec_bin = dec
        return self.dec_bin

    def on_rtcp_encoder(self, rb, sessid):
        enc = Gst.ElementFactory.make("srtpenc")
        enc.set_property("key", Gst.Buffer.new_wrapped(self.key))
        for prop, val in (("rtp-cipher", "aes-128-icm"), ("rtp-auth", "hmac-sha1-80"),
                          ("rtcp-cipher", "aes-128-icm"), ("rtcp-auth", "hmac-sha1-80")):
            Gst.util_set_object_arg(enc, prop, val)
        # srtpenc's pads are request/sometimes pads; rtpbin looks them up by name: a bin with ghost pads
        b = Gst.Bin.new(f"srtpenc_{sessid}")
        b.add(enc)
        sink = enc.request_pad_simple(f"rtcp_sink_{sessid}")
        b.add_pad(Gst.GhostPad.new(f"rtcp_sink_{sessid}", sink))
        b.add_pad(Gst.GhostPad.new(f"rtcp_src_{sessid}", enc.get_static_pad(f"rtcp_src_{sessid}")))
        self.enc = b  # keep a reference for as long as rtpbin uses it
        return b

    def on_aux(self, rb, sessid):
        b = Gst.Bin.new(f"rtx_{sessid}")
        rtx = Gst.ElementFactory.make("rtprtxreceive")
        rtx.set_property("payload-type-map", Gst.Structure.new_from_string("application/x-rtp-pt-map, 96=(uint)97"))
        self.rtx, self.rtx_bin = rtx, b
        b.add(rtx)
        b.add_pad(Gst.GhostPad.new(f"sink_{sessid}", rtx.get_static_pad("sink")))
        b.add_pad(Gst.GhostPad.new(f"src_{sessid}", rtx.get_static_pad("src")))
        return b

    def on_pt_map(self, rb, sessid, pt):
        if pt == 96:
            return Gst.Caps.from_string("application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,"
                                        "payload=96,rtcp-fb-nack=1")
        if pt == 97:
            return Gst.Caps.from_string("application/x-rtp,media=video,clock-rate=90000,encoding-name=RTX,"
                                        "payload=97,apt=96")
        return None

    def on_jb(self, rb, jb, session, ssrc):
        self.jb = jb
        jb.set_property("do-retransmission", True)

    def on_pad(self, rb, pad):
        if not pad.get_name().startswith("recv_rtp_src_"):
            return
        depay = Gst.ElementFactory.make("rtph264depay")
        dec = Gst.ElementFactory.make("avdec_h264")
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        for e in (depay, dec, sink):
            self.pipeline.add(e)
            e.sync_state_with_parent()
        depay.link(dec)
        dec.link(sink)
        pad.link(depay.get_static_pad("sink"))
        depay.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_depayed)
        dec.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_decoded)

    def on_depayed(self, pad, info):
        self.depayed += 1
        if info.get_buffer().has_flags(Gst.BufferFlags.DISCONT) and self.depayed > 1:
            self.discont += 1
        return Gst.PadProbeReturn.OK

    def on_decoded(self, pad, info):
        self.decoded += 1
        return Gst.PadProbeReturn.OK

    def jb_stats(self):
        if self.jb is None:
            return {}
        s = self.jb.get_property("stats")
        return {s.nth_field_name(i): s.get_value(s.nth_field_name(i)) for i in range(s.n_fields())}

    def rtx_stats(self):
        if self.mode == "plain" or not hasattr(self, "rtx"):
            return {}
        return {k: self.rtx.get_property(k) for k in ("num-rtx-requests", "num-rtx-packets", "num-rtx-assoc-packets")}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in MODES:
        print(__doc__, file=sys.stderr)
        return 2
    binary, mode = sys.argv[1], sys.argv[2]
    base = 16900 + MODES[mode]
    L, R, G, B = base, base + 10, base + 20, base + 4
    STATS = f"127.0.0.1:{base + 6}"
    tmp = tempfile.mkdtemp(prefix=f"mixcast-it-nack-{mode}.")
    key = os.urandom(30)
    extra = ""
    if mode == "srtp":
        kf = os.path.join(tmp, "key")
        with open(kf, "w") as f:
            f.write(base64.b64encode(key).decode() + "\n")
        os.chmod(kf, 0o600)
        extra += f"srtp_key_file = {kf}\nrtcp = on\n"
    if mode != "plain":
        extra += "rtx = on\nrtx_payload_type = 97\n"
    conf = os.path.join(tmp, "nack.ini")
    with open(conf, "w") as f:
        f.write(f"""[daemon]
stats_listen = {STATS}
[source.cam]
type = testsrc
size = 640x360
fps = 30
[track.video]
input = cam
layers = 640x360@30:1000k
[output.lossy]
type = rtp
track = video
host = 127.0.0.1
ports = {R}
local_port = {L}
{extra}""")
    relay = Relay([(R, G, LOSS, 5, 5), (R + 1, G + 1, LOSS, 5, 5), (B, L + 1, LOSS, 5, 5)], seed=15).start()
    rx = Receiver(G, B, mode, key)
    loop = GLib.MainLoop()
    threading.Thread(target=loop.run, daemon=True).start()
    rx.pipeline.set_state(Gst.State.PLAYING)
    time.sleep(0.3)
    stats_path = os.path.join(tmp, "stats.json")
    logf = open(os.path.join(tmp, "mixcastd.log"), "w")
    proc = subprocess.Popen([binary, "-c", conf, "--stats-out", stats_path], stderr=logf, stdout=logf)
    try:
        time.sleep(RUN_S)
        # the loss stops a second before the sender does: what is lost in the receiver's last latency
        # before the sender exits can be resent by nobody
        for r in relay.routes:
            r.loss = 0.0
        time.sleep(1.0)
        check(proc.poll() is None, "mixcastd still running")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    time.sleep(1.0)  # the jitter buffer's latency: let the last frames out
    # and the decoder's: wait (bounded) until what the depayloader passed on has been decoded or the count
    # stops moving, so frames still inside avdec_h264 are not counted as lost
    deadline, last = time.monotonic() + 3.0, -1
    while time.monotonic() < deadline and rx.decoded < rx.depayed and rx.decoded != last:
        last = rx.decoded
        time.sleep(0.5)
    jb, rtxs = rx.jb_stats(), rx.rtx_stats()
    rx.pipeline.set_state(Gst.State.NULL)
    loop.quit()
    relay.stop()
    check(rc == 0, f"mixcastd exit status {rc}")
    try:
        with open(stats_path) as f:
            st = json.load(f)["outputs"][0]
    except (OSError, ValueError, IndexError) as e:
        check(False, f"stats file: {e}")
        return 1
    lay, fb = st["layers"][0], st.get("feedback", {})
    rs = relay.stats
    media_dropped = rs[0]["dropped_first"].get(96, 0)
    lost = jb.get("num-lost", -1)
    recovered = media_dropped - lost
    frames = lay.get('frames', 0)
    log(f"relay: {json.dumps(rs)}")
    log(f"jitterbuffer: {jb}")
    log(f"rtprtxreceive: {rtxs}")
    log(f"mixcastd layer: nacks {lay.get('nacks', 0)} resent {lay.get('resent', 0)} too_recent {lay.get('resend_too_recent', 0)} "
        f"too_old {lay.get('resend_too_old', 0)} unknown {lay.get('resend_unknown', 0)} rtt_ms {lay.get('rtt_ms', 0)} "
        f"fraction_lost {lay.get('fraction_lost', 0)} rr {lay.get('rr_received', 0)}; feedback {fb}")
    pct = 100.0 * recovered / media_dropped if media_dropped else 0
    log(f"FIGURES [{mode}]: relay dropped {media_dropped} media packets ({rs[0]['received']} relayed), "
        f"{recovered} came back ({pct:.1f} %), jitter buffer lost {lost}; frames sent {frames}, decoded "
        f"{rx.decoded} ({100.0 * rx.decoded / max(frames, 1):.1f} %), with a gap {rx.discont} "
        f"({100.0 * rx.discont / max(rx.depayed, 1):.2f} % of {rx.depayed})")
    check(media_dropped >= 40, f"the relay dropped enough to measure ({media_dropped})")
    check(lost >= 0, "jitter buffer stats read")
    check(pct >= 90, f">= 90 % of the lost packets came back ({pct:.1f} %)")
    check(lay.get('resent', 0) >= recovered, f"mixcastd resent {lay.get('resent', 0)} >= {recovered} recovered")
    # every first-copy drop was NACKed at least once (a NACK itself may be lost and is repeated)
    check(lay.get('nacks', 0) >= recovered, f"mixcastd counted {lay.get('nacks', 0)} NACKed packets >= {recovered}")
    if mode != "plain":
        succ = jb.get("rtx-success-count", 0)
        rtx_drop = rs[0]["dropped_first"].get(97, 0)
        check(abs(succ - recovered) <= max(3, recovered // 20),
              f"jitter buffer rtx-success-count {succ} agrees with recovered {recovered}")
        check(lay.get('resent', 0) - rtx_drop >= succ * 0.95,
              f"RTX sent {lay.get('resent', 0)} - dropped by relay {rtx_drop} covers rtx-success {succ}")
    check(fb.get('malformed', 0) == 0 and fb.get('rejected', 0) == 0 and fb.get('srtcp_failed', 0) == 0,
          "all of the receiver's RTCP parsed and authenticated")
    check(rx.decoded >= 0.99 * frames, f"decoded {rx.decoded} of {frames} frames sent (>= 99 %)")
    check(rx.discont <= 0.01 * max(rx.depayed, 1), f"{rx.discont} of {rx.depayed} frames with a gap (<= 1 %)")
    if failures or os.environ.get("IT_KEEP"):
        log(f"temp dir kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
