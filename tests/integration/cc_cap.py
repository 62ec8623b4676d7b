#!/usr/bin/python3
"""cc_cap.py MIXCASTD [h264|vp8]

Issue 15, test 3: congestion control against a capped link. mixcastd sends three H.264 (or VP8) layers (one port,
told apart by SSRC, transport-wide sequence numbers on) through udp_relay.py to a GStreamer rtpbin whose
caps carry the transport-cc extension, so it sends transport-wide feedback (and RRs), back through the
relay to mixcastd's RTCP socket.

    mixcastd :L   --RTP-->  relay :R   --(cap)-->  rtpbin :G      (decodes every SSRC)
             :L+1 --SR--->  relay :R+1 ----------> rtpbin :G+1
             :L+1 <-TWCC--  relay :B   <---------- rtpbin udpsink

Timeline: 6 s free, then the media route is capped at 600 kbit/s behind a 200 ms queue for 12 s, then the
cap is lifted for 20 s. mixcastd's /stats is polled every 100 ms. Checks:
- within 3 s of the cap both top layers are paused, and the lowest is not;
- after that, while capped, the lowest layer loses < 2 % of its packets at the relay;
- once the cap is lifted every layer flows again within 15 s (stats), and the receiver decodes all three;
- the lowest layer (the budget always covers it) never freezes for more than 1 s at the receiver, nor
  any layer after it is back;
- the encoders' bitrates follow (the top layers' frames_paused grow; bitrate_changes counted).
Prints "cc_cap adapt=X s recover=Y s low_loss=Z %" for the note. Exit 0 pass, 1 fail, 77 skip.
Ports 17020-17039.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from udp_relay import Relay  # noqa: E402

R, G, B, L, STATS = 17020, 17024, 17028, 17030, "127.0.0.1:17036"
LAYERS = "640x360@30:1500k, 320x180@30:700k, 160x90@15:150k"
SSRCS = [0x51, 0x52, 0x53]
FREE_S, CAP_S, AFTER_S = 6.0, 12.0, 20.0
CAP_BPS, QUEUE_MS = 600000, 200
TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
failures = []
CODEC = sys.argv[2] if len(sys.argv) > 2 else "h264"
ENC = "VP8" if CODEC == "vp8" else "H264"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def check(cond, what):
    log(("PASS: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


try:
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import GLib, Gst
except (ImportError, ValueError) as e:
    log(f"SKIP: python GI / GStreamer not available: {e}")
    sys.exit(77)
Gst.init(None)
DEPAY, DEC = ("rtpvp8depay", "avdec_vp8") if CODEC == "vp8" else ("rtph264depay", "avdec_h264")
for f in ("rtpbin", "udpsrc", "udpsink", DEPAY, DEC, "fakesink"):
    if Gst.ElementFactory.find(f) is None:
        log(f"SKIP: GStreamer element {f} not available")
        sys.exit(77)


class Receiver:
    def __init__(self):
        self.frames = {}  # ssrc -> [monotonic time of each decoded frame]
        self.lock = threading.Lock()
        self.pipeline = Gst.Pipeline.new("rx")
        rb = Gst.ElementFactory.make("rtpbin", "rb")
        rb.set_property("latency", 200)
        rb.connect("request-pt-map", lambda rb, s, pt: Gst.Caps.from_string(
            f"application/x-rtp,media=video,clock-rate=90000,encoding-name={ENC},payload=96,"
            f"extmap-3=(string){TWCC_URI}") if pt == 96 else None)
        rtp = Gst.ElementFactory.make("udpsrc")
        rtp.set_property("port", G)
        rtp.set_property("caps", Gst.Caps.from_string(
            f"application/x-rtp,media=video,clock-rate=90000,encoding-name={ENC},payload=96,"
            f"extmap-3=(string){TWCC_URI}"))
        rtp.set_property("buffer-size", 1 << 21)
        rtcp = Gst.ElementFactory.make("udpsrc")
        rtcp.set_property("port", G + 1)
        rtcp.set_property("caps", Gst.Caps.from_string("application/x-rtcp"))
        out = Gst.ElementFactory.make("udpsink")
        out.set_property("host", "127.0.0.1")
        out.set_property("port", B)
        out.set_property("sync", False)
        out.set_property("async", False)
        for e in (rb, rtp, rtcp, out):
            self.pipeline.add(e)
        rtp.get_static_pad("src").link(rb.request_pad_simple("recv_rtp_sink_0"))
        rtcp.get_static_pad("src").link(rb.request_pad_simple("recv_rtcp_sink_0"))
        rb.request_pad_simple("send_rtcp_src_0").link(out.get_static_pad("sink"))
        sess = rb.emit("get-internal-session", 0)
        sess.set_property("rtcp-min-interval", 100 * Gst.MSECOND)
        self.session = sess
        rb.connect("pad-added", self.on_pad)

    def on_pad(self, rb, pad):
        name = pad.get_name()  # recv_rtp_src_0_SSRC_PT
        if not name.startswith("recv_rtp_src_"):
            return
        ssrc = int(name.split("_")[4])
        depay = Gst.ElementFactory.make(DEPAY)
        dec = Gst.ElementFactory.make(DEC)
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        for e in (depay, dec, sink):
            self.pipeline.add(e)
            e.sync_state_with_parent()
        depay.link(dec)
        dec.link(sink)
        pad.link(depay.get_static_pad("sink"))

        def on_frame(p, info, ssrc=ssrc):
            with self.lock:
                self.frames.setdefault(ssrc, []).append(time.monotonic())
            return Gst.PadProbeReturn.OK
        dec.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_frame)


def stats():
    try:
        with urllib.request.urlopen(f"http://{STATS}/stats", timeout=1) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def max_gap(times, start, end):
    ts = [start] + [t for t in times if start <= t <= end] + [end]
    return max(b - a for a, b in zip(ts, ts[1:]))


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="mixcast-it-cc.")
    conf = os.path.join(tmp, "cc.ini")
    with open(conf, "w") as f:
        f.write(f"""[daemon]
stats_listen = {STATS}
[source.cam]
type = testsrc
size = 640x360
fps = 30
[track.video]
input = cam
codec = {CODEC}
layers = {LAYERS}
keyframe_interval = 4
[output.sfu]
type = rtp
track = video
host = 127.0.0.1
port = {R}
local_port = {L}
ssrcs = {", ".join(str(s) for s in SSRCS)}
ext_twcc = 3
""")
    relay = Relay([(R, G, 0.0, 5, 0), (R + 1, G + 1, 0.0, 5, 0), (B, L + 1, 0.0, 5, 0)], 1).start()
    media = relay.routes[0]
    rx = Receiver()
    loop = GLib.MainLoop()
    threading.Thread(target=loop.run, daemon=True).start()
    rx.pipeline.set_state(Gst.State.PLAYING)
    mlog = open(os.path.join(tmp, "mixcastd.log"), "w+")
    proc = subprocess.Popen([binary, "-c", conf], stderr=mlog, stdout=mlog)
    t0 = time.monotonic()
    t_cap, t_lift, t_end = t0 + FREE_S, t0 + FREE_S + CAP_S, t0 + FREE_S + CAP_S + AFTER_S
    samples = []  # (t, [paused per layer], estimate)
    adapt_at = recover_at = None
    snap_adapt = snap_lift = None
    capped = lifted = False
    try:
        while time.monotonic() < t_end:
            now = time.monotonic()
            if not capped and now >= t_cap:
                media.cap(CAP_BPS, QUEUE_MS)
                capped = True
            if not lifted and now >= t_lift:
                snap_lift = dict(media.ssrc_received), dict(media.ssrc_dropped)
                media.cap(0, 0)
                lifted = True
            s = stats()
            if s and s.get("outputs"):
                o = s["outputs"][0]
                paused = [ly.get("paused") for ly in o["layers"]]
                samples.append((now, paused, o.get("cc", {}).get("estimate_bps")))
                if capped and not lifted and adapt_at is None and paused[0] and paused[1] and not paused[2]:
                    adapt_at = now
                    snap_adapt = dict(media.ssrc_received), dict(media.ssrc_dropped)
                if lifted and recover_at is None and not any(paused):
                    recover_at = now
            time.sleep(0.1)
        final = stats()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        rx.pipeline.set_state(Gst.State.NULL)
        loop.quit()
        relay.stop()
    mlog.seek(0)
    log_text = mlog.read()
    check(proc.returncode == 0, f"mixcastd exits 0 ({proc.returncode})")
    adapt = adapt_at - t_cap if adapt_at else None
    recover = recover_at - t_lift if recover_at else None
    check(adapt is not None and adapt <= 3.0, f"top layers paused, lowest flowing, within 3 s of the cap ({adapt})")
    low = SSRCS[2]
    loss = None
    if snap_adapt and snap_lift:
        rec = snap_lift[0].get(low, 0) - snap_adapt[0].get(low, 0)
        drop = snap_lift[1].get(low, 0) - snap_adapt[1].get(low, 0)
        loss = 100.0 * drop / rec if rec else None
        check(rec > 50 and loss is not None and loss < 2.0,
              f"lowest layer under the cap after adapting: {drop} of {rec} packets dropped ({loss} %) < 2 %")
    else:
        check(False, "lowest layer loss under the cap measured")
    # paused for the whole capped phase after adapting (no flapping that would hurt the lowest layer)
    flaps = sum(1 for t, p, _ in samples if adapt_at and adapt_at < t < t_lift and not (p[0] and p[1]))
    log(f"samples under the cap with a top layer back on (probing by resuming would show here): {flaps}")
    check(recover is not None and recover <= 15.0, f"every layer flows again within 15 s of lifting the cap ({recover})")
    with rx.lock:
        frames = {k: list(v) for k, v in rx.frames.items()}
    check(sorted(frames) == sorted(SSRCS), f"the receiver decoded all three SSRCs ({sorted(frames)})")
    first_low = min(frames.get(low, [t_end]))
    g = max_gap(frames.get(low, []), first_low, t_end - 0.5)
    check(g <= 1.0, f"lowest layer: longest gap between decoded frames {g:.2f} s <= 1 s (the whole run)")
    # "no layer freezes for longer than 1 s while the budget covers it": every stretch in which mixcastd
    # had a layer flowing (stats, 100 ms samples), from 1 s after it (re)started, has no gap over 1 s
    for idx, ssrc in enumerate(SSRCS):
        worst, stretches, start = 0.0, 0, None
        for t, p, _ in samples + [(t_end, [True] * 3, None)]:
            if not p[idx] and start is None:
                start = t
            elif p[idx] and start is not None:
                if t - start > 1.5:
                    stretches += 1
                    worst = max(worst, max_gap(frames.get(ssrc, []), start + 1.0, min(t, t_end - 0.5)))
                start = None
        check(worst <= 1.0, f"SSRC {ssrc:#x}: longest gap while flowing {worst:.2f} s <= 1 s ({stretches} stretches)")
    resumes = [sum(1 for a, b in zip(samples, samples[1:]) if a[1][i] and not b[1][i]) for i in range(3)]
    log(f"resumes per layer (pause -> flow transitions): {resumes}")
    if final:
        tl = final["tracks"][0]["layers"]
        check(tl[0]["frames_paused"] > 0 and tl[1]["frames_paused"] > 0 and tl[2]["frames_paused"] == 0,
              f"encoders skipped frames while paused: {[ly['frames_paused'] for ly in tl]}")
        cc = final["outputs"][0]["cc"]
        log(f"cc stats at the end: {json.dumps(cc)}; layer bitrate changes {[ly['bitrate_changes'] for ly in tl]}")
        check(cc["twcc_feedback"] > 50, f"transport-wide feedback from rtpbin ({cc['twcc_feedback']})")
    est = [(round(t - t0, 1), e) for t, _, e in samples[::10]]
    log(f"estimate over time (s, bit/s): {est}")
    log(f"cc_cap {CODEC} adapt={adapt} s recover={recover} s low_loss={loss} %")
    if failures:
        log("---- mixcastd log ----\n" + log_text[-4000:])
    log(f"cc_cap: {'FAIL' if failures else 'PASS'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
