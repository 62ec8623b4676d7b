#!/usr/bin/env python3
"""The mixer, as a receiver sees it: two testsrc sources of different sizes and rates, each one solid colour
(screen: 640x360 at 30 fps, red; camera: 320x240 at 10 fps, blue), feed two mixes at once (each source has
two consumers): `pip` (640x360 at 15 fps, the camera bottom-right at a quarter of the width) and
`side-by-side` (640x360, no margin). Each mix goes to its own track and plain-RTP output; FFmpeg decodes
both streams, and the last decoded picture of each is checked pixel by pixel where each input must be (and
the black letterbox where none is). A third mix, `nosig`, has a v4l2 camera that is not there in its pip:
the camera is "no signal", and the pip shows its placeholder slate while the mix goes on. The stats show the
mixes ticked at their own rate.

usage: mixer.py MIXCASTD     exit 0 pass, 1 fail, 77 skip (ffmpeg missing)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from mclib import check, failures

PORTS = {"pip": 17110, "sbs": 17112, "nosig": 17114}  # RTP; RTCP on +1
W, H = 640, 360
RUN_S = 4.0
RED, BLUE, BLACK = (192, 32, 32), (32, 64, 192), (0, 0, 0)
TOL = 40  # per channel: H.264 at 800k on flat colour is far closer; the letterbox edges are not sampled


def hexrgb(c):
    return "%02X%02X%02X" % c


def pixel(frame, x, y):
    o = (y * W + x) * 3
    return tuple(frame[o:o + 3])


def near(a, b):
    return all(abs(p - q) <= TOL for p, q in zip(a, b))


# (name, x, y, expected colour): points well inside each region (8 px or more from any edge)
EXPECT = {
    # pip: the screen fills the canvas; the camera (4:3) is 160x120 at (464, 224): 16 px from the right and
    # bottom edges
    "pip": [("screen, top-left", 20, 20, RED), ("screen, centre", 320, 180, RED),
            ("screen, left of the pip", 450, 280, RED), ("screen, above the pip", 540, 210, RED),
            ("camera, pip centre", 544, 284, BLUE), ("camera, pip top-left", 472, 232, BLUE),
            ("camera, pip bottom-right", 616, 336, BLUE), ("screen, right of the pip", 634, 300, RED)],
    # side-by-side: two 320x360 cells; the 16:9 screen is 320x180 at (0, 90), the 4:3 camera 320x240 at
    # (320, 60); black letterbox above and below each
    "sbs": [("screen, centre", 160, 180, RED), ("screen, top edge", 160, 100, RED), ("screen, bottom edge", 160, 260, RED),
            ("letterbox above the screen", 160, 40, BLACK), ("letterbox below the screen", 160, 330, BLACK),
            ("camera, centre", 480, 180, BLUE), ("camera, top edge", 480, 70, BLUE), ("camera, bottom edge", 480, 290, BLUE),
            ("letterbox above the camera", 480, 25, BLACK), ("letterbox below the camera", 480, 340, BLACK)],
    # nosig: the screen around a pip at (464, 224) 160x120 that shows the absent camera's placeholder (checked
    # below with a tighter tolerance: the slate is dark grey, not black)
    "nosig": [("screen, top-left", 20, 20, RED), ("screen, left of the pip", 450, 280, RED)],
}
SLATE = [(470, 230), (618, 230), (470, 338), (618, 338)]  # the pip's corners, away from the centred text


def stop(p, secs=5):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(secs)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)  # ffmpeg blocked on a silent socket needs a second one
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    return p.returncode


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    if not shutil.which("ffmpeg"):
        print("SKIP: ffmpeg not found", file=sys.stderr)
        return 77
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="mixcast-it-mixer.")
    conf, stats_path = os.path.join(tmp, "mixer.ini"), os.path.join(tmp, "stats.json")
    with open(conf, "w") as f:
        f.write(f"""[source.screen]
type = testsrc
size = 640x360
fps = 30
pattern = solid:{hexrgb(RED)}
[source.camera]
type = testsrc
size = 320x240
fps = 10
pattern = solid:{hexrgb(BLUE)}
[mix.pip]
inputs = screen, camera
layout = pip
size = {W}x{H}
fps = 15
pip_size = 0.25
margin = 16
[source.gone]
type = v4l2
device = /dev/mixcast-test-no-such-camera
size = 320x240
fps = 10
[mix.nosig]
inputs = screen, gone
layout = pip
size = {W}x{H}
fps = 15
pip_size = 0.25
margin = 16
[mix.sbs]
inputs = screen, camera
layout = side-by-side
size = {W}x{H}
fps = 15
margin = 0
""")
        for name, port in PORTS.items():
            # unchanged pictures are skipped: a keyframe every 0.5 s is what the receiver gets
            f.write(f"""[track.{name}]
input = {name}
layers = {W}x{H}@15:800k
keyframe_interval = 0.5
[output.{name}]
type = rtp
track = {name}
host = 127.0.0.1
port = {port}
""")
    recv = {}
    for name, port in PORTS.items():
        sdp = os.path.join(tmp, name + ".sdp")
        with open(sdp, "w") as f:
            f.write(f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=mixer {name}\nc=IN IP4 127.0.0.1\nt=0 0\n"
                    f"m=video {port} RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1\n")
        out = os.path.join(tmp, name + ".rgb")
        log = open(os.path.join(tmp, name + ".ffmpeg.log"), "w")
        recv[name] = (subprocess.Popen(["timeout", "-k", "3", "40", "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info",
                                        "-protocol_whitelist", "file,udp,rtp", "-i", sdp, "-f", "rawvideo",
                                        "-pix_fmt", "rgb24", "-y", out], stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=log), out, log)
    time.sleep(0.5)  # the receivers' sockets are bound
    dlog = open(os.path.join(tmp, "mixcastd.log"), "w+")
    proc = subprocess.Popen([binary, "-c", conf, "--stats-out", stats_path], stderr=dlog, stdout=dlog)
    try:
        proc.wait(RUN_S)
    except subprocess.TimeoutExpired:
        pass
    rc = stop(proc, 10)
    time.sleep(0.3)
    for p, _, _ in recv.values():
        stop(p)
    check(rc == 0, f"mixcastd exits 0 after SIGTERM (got {rc})")

    for name, (_, out, log) in recv.items():
        data = open(out, "rb").read() if os.path.exists(out) else b""
        n = len(data) // (W * H * 3)
        check(n >= 3, f"{name}: FFmpeg decoded {n} pictures of {W}x{H} (>= 3)")
        if n == 0:
            continue
        last = data[(n - 1) * W * H * 3:n * W * H * 3]
        for what, x, y, want in EXPECT[name]:
            got = pixel(last, x, y)
            check(near(got, want), f"{name}: {what} at ({x}, {y}) is {got}, want {want}")
        if name == "nosig":
            # the slate: luma 40 of 16..235, neutral chroma = RGB about 28, 28, 28
            for x, y in SLATE:
                got = pixel(last, x, y)
                check(all(16 <= c <= 44 for c in got) and max(got) - min(got) <= 10,
                      f"nosig: the absent camera's placeholder slate at ({x}, {y}) is {got}, want about (28, 28, 28)")

    stats = {}
    try:
        stats = json.load(open(stats_path))
    except (OSError, ValueError) as e:
        check(False, f"stats file readable ({e})")
    try:  # the mixes' part of /stats (the same printer as --stats-out) keeps to the schema endpoint.py checks
        import jsonschema
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "stats.schema.json")) as f:
            jsonschema.validate(stats, json.load(f))
        check(True, "stats with three mixes match stats.schema.json")
    except ImportError:
        print("SKIP: schema check (python3-jsonschema missing)", file=sys.stderr)
    except jsonschema.ValidationError as e:
        check(False, f"stats match stats.schema.json: {e.message} at {list(e.absolute_path)}")
    mixes = {m["name"]: m for m in stats.get("mixes", [])}
    for name in PORTS:
        ins = mixes.get(name, {}).get("inputs", [])
        check(len(ins) == 2 and all("frames_dropped" in i for i in ins),
              f"mix {name}: /stats lists its two inputs with their dropped frames ({ins})")
    srcs = {x["name"]: x for x in stats.get("sources", [])}
    gone = srcs.get("gone", {})
    check(gone.get("signal_losses", 0) >= 1 and gone.get("placeholder_frames", 0) > 0,
          f"source gone: without signal ({gone.get('signal_losses')} losses, {gone.get('placeholder_frames')} "
          f"placeholder pictures)")
    for name in PORTS:
        m = mixes.get(name, {})
        frames = m.get("frames", 0)
        # 15 fps for about RUN_S seconds, whatever the inputs' rates (30 and 10); wide bounds for a loaded machine
        check(0.5 * 15 * RUN_S <= frames <= 1.3 * 15 * RUN_S, f"mix {name}: {frames} pictures at its own 15 fps in {RUN_S} s")
        if name != "nosig":  # the placeholder changes every second (it shows how long)
            check(m.get("frames_repeated", 0) > frames // 2,
                  f"mix {name}: unchanged inputs are not composed again ({m.get('frames_repeated')} of {frames} repeated)")
    if failures:
        dlog.seek(0)
        print("---- mixcastd log ----\n" + dlog.read()[-3000:], file=sys.stderr)
        for name, (_, _, log) in recv.items():
            log.flush()
            print(f"---- ffmpeg {name} ----\n" + open(log.name).read()[-1500:], file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"mixer: {'FAIL' if failures else 'PASS'} ({len(failures)} failed checks)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
