#!/usr/bin/env python3
"""Runtime encoder fallback without a gap on the wire (issue 14): mixcastd encodes two layers with
encoder = openh264, and the backend's test-only fault switch (MIXCAST_TEST_OPENH264_FAULT, hw/encoder_openh264.c)
makes the real OpenH264 encoder fail after 30 frames, either with an error from EncodeFrame (MODE error) or by
giving no output any more (MODE stall: the core's no-output deadline must notice). A stdlib receiver reads
the plain RTP and forwards layer 0 to an FFmpeg decoder. It checks:
- each layer keeps one SSRC, its sequence numbers have no gap and its RTP timestamps never go back;
- the layer's frame 31 (the first one after OpenH264's 30) is an IDR with SPS and PPS in band: the new
  backend's first frame is a keyframe; the gap in capture time around the switch is short;
- /stats (--stats-out) names `software` as each layer's backend and counts one fallback; the log says why;
- FFmpeg decodes layer 0 on across the switch (frames decoded ~ frames sent, few decode errors).

usage: encoder_fallback.py MIXCASTD error|stall     exit 0 pass, 1 fail, 77 skip
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from mclib import check, failures, nal_types, receive_rtp

PORTS = [16640, 16642]  # RTP; RTCP on +1
FFMPEG_PORT = 16650
FAULT_AFTER = 30


def run(binary, mode):
    tmp = tempfile.mkdtemp(prefix="mixcast-it-fallback.")
    conf, stats = os.path.join(tmp, "fb.ini"), os.path.join(tmp, "stats.json")
    with open(conf, "w") as f:
        f.write(f"""[source.cam]
type = testsrc
size = 640x360
fps = 30
[track.video]
input = cam
codec = h264
encoder = openh264
layers = 640x360@30:700k, 320x180@30:200k
keyframe_interval = 10
[output.plain]
type = rtp
track = video
host = 127.0.0.1
ports = {PORTS[0]}, {PORTS[1]}
""")
    sdp = os.path.join(tmp, "layer0.sdp")
    with open(sdp, "w") as f:
        f.write(f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=fallback\nc=IN IP4 127.0.0.1\nt=0 0\n"
                f"m=video {FFMPEG_PORT} RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1\n")
    flog = open(os.path.join(tmp, "ffmpeg.log"), "w+")
    ff = subprocess.Popen(["timeout", "-k", "3", "30", "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info",
                           "-protocol_whitelist", "file,udp,rtp", "-i", sdp, "-vf", "showinfo", "-f", "null", "-"],
                          stdout=flog, stderr=flog)
    time.sleep(1.5)  # the demuxer binds its port
    fwd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx = {p: [] for p in PORTS}  # port -> [(ssrc, seq, ts, nal types)]
    log_path = os.path.join(tmp, "mixcastd.log")
    log = open(log_path, "w+")
    env = dict(os.environ, MIXCAST_TEST_OPENH264_FAULT=f"{mode}:{FAULT_AFTER}")

    def packet(port, data, ssrc, seq, ts, hdr):
        rx[port].append((ssrc, seq, ts, nal_types(data[hdr:])))
        if port == PORTS[0]:
            fwd.sendto(data, ("127.0.0.1", FFMPEG_PORT))

    status = receive_rtp([binary, "-c", conf, "--stats-out", stats], log, PORTS, 3.5, packet, env=env)
    time.sleep(1)
    ff.send_signal(signal.SIGINT)
    try:
        ff.wait(5)
    except subprocess.TimeoutExpired:
        ff.kill()
        ff.wait()
    check(status == 0, f"mixcastd exit status {status}")
    log.seek(0)
    text = log.read()
    check(re.search(r"openh264 failed while streaming \((send|no output)", text) is not None,
          "the log says why openh264 was dropped")
    check("software h264" in text and "fallback from openh264" in text, "the log names the new backend")
    for i, port in enumerate(PORTS):
        pkts = rx[port]
        check(len(pkts) > 50, f"layer {i}: {len(pkts)} RTP packets received")
        if not pkts:
            continue
        ssrcs = {p[0] for p in pkts}
        check(len(ssrcs) == 1, f"layer {i}: one SSRC ({sorted(ssrcs)})")
        seqs = [p[1] for p in pkts]
        gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if (b - a) % 65536 != 1)
        check(gaps == 0, f"layer {i}: sequence numbers continuous over {len(seqs)} packets ({gaps} gaps)")
        frames = []  # (ts, nal types)
        for _, _, ts, types in pkts:
            if frames and frames[-1][0] == ts:
                frames[-1][1].update(types)
            else:
                frames.append((ts, set(types)))
        back = sum(1 for a, b in zip(frames, frames[1:]) if ((b[0] - a[0]) & 0xFFFFFFFF) >= 1 << 31)
        check(back == 0, f"layer {i}: RTP timestamps never go back")
        check(len(frames) > FAULT_AFTER + 20, f"layer {i}: {len(frames)} frames, more than {FAULT_AFTER + 20}")
        check({5, 7, 8} <= frames[0][1], f"layer {i}: OpenH264's first frame is an IDR with SPS and PPS in band "
              f"(NAL types {sorted(frames[0][1])})")
        if len(frames) <= FAULT_AFTER:
            continue
        first = frames[FAULT_AFTER][1]
        check({5, 7, 8} <= first, f"layer {i}: frame {FAULT_AFTER + 1}, the new backend's first, is an IDR with "
              f"SPS and PPS (NAL types {sorted(first)})")
        gap_ms = ((frames[FAULT_AFTER][0] - frames[FAULT_AFTER - 1][0]) & 0xFFFFFFFF) / 90
        # error: the next backend's open (libx264 allocates its frame buffers) while the mailbox keeps only the
        # newest frame; 189..289 ms were seen at load 10 on the 2-core machine, ~35 ms on a quiet one.
        # stall: the deadline (200 ms or 5 frames) plus the same open.
        limit = 400 if mode == "error" else 700
        check(gap_ms <= limit, f"layer {i}: {gap_ms:.0f} ms of capture time between the last openh264 frame and "
              f"the first software one (at most {limit})")
    try:
        with open(stats) as f:
            layers = json.load(f)["tracks"][0]["layers"]
        for i, l in enumerate(layers):
            check(l["encoder"] == "software" and l["encoder_fallbacks"] == 1,
                  f"layer {i}: /stats says encoder {l['encoder']}, {l['encoder_fallbacks']} fallback(s)")
    except (OSError, ValueError, KeyError, IndexError) as e:
        check(False, f"--stats-out readable ({e})")
    flog.seek(0)
    ftext = flog.read()
    decoded = len(re.findall(r"Parsed_showinfo.*n: *\d+", ftext))
    errors = len(re.findall(r"error while decoding|concealing|non-existing PPS|no frame!|corrupt", ftext, re.I))
    sent = len({p[2] for p in rx[PORTS[0]]})
    check(decoded >= sent - 3, f"FFmpeg decoded layer 0 on: {decoded} of {sent} frames")
    check(errors <= 2, f"FFmpeg decode errors: {errors}")
    if failures:
        print(f"files in {tmp}", file=sys.stderr)
        return 1
    shutil.rmtree(tmp)
    return 0


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("error", "stall"):
        print(__doc__, file=sys.stderr)
        return 2
    if not shutil.which("ffmpeg"):
        print("SKIP: ffmpeg missing", file=sys.stderr)
        return 77
    if os.environ.get("MIXCAST_FB_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"])
        return run(sys.argv[1], sys.argv[2])
    if os.geteuid() != 0:
        return run(sys.argv[1], sys.argv[2])  # loopback ports of its own (16640-16650)
    env = dict(os.environ, MIXCAST_FB_NETNS="1")
    try:
        r = subprocess.run(["unshare", "-n", sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env=env,
                           timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"SKIP: unshare -n: {e}", file=sys.stderr)
        return 77
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
