#!/usr/bin/env python3
"""The kms source against a real KMS driver (runs in the kernel lane's guest: guest-run --modules bochs [vivid]).

  kms_source.py MIXCASTD KMS_DRAW screen       the bochs framebuffer captured, and a mode set followed
  kms_source.py MIXCASTD KMS_DRAW pip          the screen and vivid's camera (the v4l2 source) mixed as pip
  kms_source.py MIXCASTD KMS_DRAW bad_input    clear errors: no CAP_SYS_ADMIN, a connector that drives no
                                               CRTC, a path that is no DRM device, a card without an active
                                               CRTC; a driver that no card has is "no signal" (it may load
                                               later)

screen: kms_draw puts quadrants (red, green / blue, white) at 1280x720 on bochs's CRTC; mixcastd (type = kms)
captures it at 5 fps into one 640x360 H.264 layer to a plain-RTP port on the guest's loopback, where FFmpeg
decodes it. kms_draw then sets a second mode, 1024x768 (a new framebuffer): mixcastd follows it in place,
without restarting or an error. Then kms_draw exits (its framebuffer goes, the CRTC turns off: "no signal",
the placeholder) and a second kms_draw sets 1024x768 with eight colour bars: the signal comes back by
itself. The decoded picture is the quadrants first and the bars at the end, pixel for pixel where each colour
must be; mixcastd exits 0 at SIGTERM.

pip: kms_draw's bars at 1280x720 and vivid (the v4l2 source, 640x360) in a pip mix (camera bottom-right,
a quarter of the width); the decoded picture shows the bars around and vivid's picture inside the pip.

Exit 0 pass, 1 fail, 77 skip (no bochs card, no ffmpeg).
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

W, H = 640, 360
PORT = 16610
TOL = 48
RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)
BARS = [WHITE, (255, 255, 0), (0, 255, 255), GREEN, (255, 0, 255), RED, BLUE, BLACK]  # kms_draw's -p bars
failures = []
procs = []


def check(cond, what):
    print(("PASS: " if cond else "FAIL: ") + what, file=sys.stderr, flush=True)
    if not cond:
        failures.append(what)


def drm_card(driver):
    for d in sorted(glob.glob("/sys/class/drm/card[0-9]*")):
        if "-" in os.path.basename(d):
            continue
        if os.path.basename(os.path.realpath(d + "/device/driver")) == driver:
            return "/dev/dri/" + os.path.basename(d)
    return None


def video_node(name):
    for f in sorted(glob.glob("/sys/class/video4linux/video*/name")):
        if open(f).read().strip() == name:
            return "/dev/" + os.path.basename(os.path.dirname(f))
    return None


def start(cmd, log):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    procs.append(p)
    return p


def stop(p, secs=5):
    """SIGTERM, wait (bounded), again (FFmpeg blocked on a silent socket needs a second), then KILL."""
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        if p.poll() is not None:
            break
        p.send_signal(sig)
        try:
            p.wait(secs)
        except subprocess.TimeoutExpired:
            pass
    return p.wait()


class Frames:
    """The receiver's decoded pictures, read from FFmpeg's stdout as they come (rgb24, one W x H picture each) by a
    thread that keeps only what the checks need: the count, how many showed the quadrants, the first of those
    and the last picture. Not kept in a file: the guest's /tmp is memory, and a minute of 640x360 at 5 fps is
    200 MB."""

    def __init__(self, pipe):
        self.n, self.quads, self.first_quad, self.first_quad_frame, self.last = 0, 0, None, None, None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe):
        size = W * H * 3
        while True:
            f = pipe.read(size)
            if len(f) < size:
                return
            quad = matches(f, quad_points())
            with self.lock:
                if quad and self.first_quad is None:
                    self.first_quad, self.first_quad_frame = self.n, f
                self.quads += quad
                self.n += 1
                self.last = f

    def get(self):
        with self.lock:
            return self.n, self.quads, self.last


def pixel(f, x, y):
    o = (y * W + x) * 3
    return tuple(f[o:o + 3])


def near(a, b):
    return all(abs(p - q) <= TOL for p, q in zip(a, b))


def quad_points():
    return [("top-left red", W // 4, H // 4, RED), ("top-right green", 3 * W // 4, H // 4, GREEN),
            ("bottom-left blue", W // 4, 3 * H // 4, BLUE), ("bottom-right white", 3 * W // 4, 3 * H // 4, WHITE)]


def bar_points(x0=0, x1=W, ys=(H // 4, H // 2, 3 * H // 4)):
    """The centre of each of the 8 bars between x0 and x1 (the layer is the screen scaled: bars stay 1/8)."""
    bw = (x1 - x0) / 8
    return [(f"bar {i} at y {y}", int(x0 + (i + 0.5) * bw), y, BARS[i]) for i in range(8) for y in ys]


def matches(f, points):
    return all(near(pixel(f, x, y), want) for _, x, y, want in points)


def report(f, points, label):
    for what, x, y, want in points:
        got = pixel(f, x, y)
        check(near(got, want), f"{label}: {what} at ({x}, {y}) is {got}, want {want}")


def udp_bound(port):
    want = ":%04X" % port
    try:
        with open("/proc/net/udp") as f:
            return any(line.split()[1].endswith(want) for line in f.readlines()[1:])
    except OSError:
        return False


def wait_until(cond, secs):
    """Polls cond every 0.2 s for at most secs (TCG on a shared machine: times vary a lot). True when met."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


def write_conf(path, body):
    with open(path, "w") as f:
        f.write(body + f"""
[output.o]
type = rtp
track = video
host = 127.0.0.1
port = {PORT}
""")


def receiver(tmp):
    sdp = os.path.join(tmp, "recv.sdp")
    with open(sdp, "w") as f:
        f.write(f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=kms\nc=IN IP4 127.0.0.1\nt=0 0\nm=video {PORT} RTP/AVP 96\n"
                "a=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1\n")
    log = open(os.path.join(tmp, "ffmpeg.log"), "w")
    # -fps_mode passthrough: each decoded picture once (rawvideo is a constant-rate muxer: FFmpeg would
    # repeat pictures up to the rate it guesses for the stream)
    p = subprocess.Popen(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-protocol_whitelist",
                          "file,udp,rtp", "-i", sdp, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "pipe:1"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
    procs.append(p)
    frames = Frames(p.stdout)
    check(wait_until(lambda: udp_bound(PORT), 30), f"FFmpeg listens on UDP {PORT}")
    return p, frames


def screen(mixcastd, kms_draw, card, tmp):
    conf = os.path.join(tmp, "kms.ini")
    write_conf(conf, f"""[source.screen]
type = kms
device = bochs-drm
fps = 5
[track.video]
input = screen
layers = {W}x{H}@5:600k
keyframe_interval = 1
""")
    dlog = open(os.path.join(tmp, "mixcastd.log"), "w+")
    klog = open(os.path.join(tmp, "kms_draw.log"), "w+")
    # kms_draw first: it becomes the card's DRM master and sets the mode (mixcastd only reads). Each phase
    # lasts until the receiver has decoded what it should show (bounded): TCG on a shared machine is slow.
    # Phase 1: the quadrants at 1280x720, then (the same kms_draw, 20 s later) a mode set to 1024x768 with the
    # quadrants again: a new framebuffer on a CRTC that never goes dark, to be followed in place.
    draw1 = start([kms_draw, "-c", card, "-p", "quad", "-t", "20", "-w", "1280x720", "1024x768"], klog)
    time.sleep(1.0)
    recv, out = receiver(tmp)
    stats = os.path.join(tmp, "stats.json")
    if os.path.exists(stats):
        os.remove(stats)
    d = start([mixcastd, "-c", conf, "--stats-out", stats], dlog)
    saw_quad = wait_until(lambda: out.get()[1] >= 3, 60)
    dlog.flush()
    mode_set = wait_until(lambda: "1024x768 XR24" in open(dlog.name).read(), 60)
    n = out.get()[0]
    wait_until(lambda: out.get()[0] >= n + 3, 30)
    quad_after = [out.get()[2]] if out.get()[2] else []
    check(mode_set, "mixcastd attached the 1024x768 framebuffer of the mode set")
    check(bool(quad_after) and matches(quad_after[0], quad_points()), "after the mode set the picture is still the quadrants")
    # Phase 2: kms_draw ends: its framebuffer goes and the CRTC turns off (or shows the console again);
    # another kms_draw sets 1024x768 with the bars.
    rc1 = stop(draw1)  # closing the card removes its framebuffer: the CRTC goes off (or back to the console)
    time.sleep(1.5)
    draw2 = start([kms_draw, "-c", card, "-p", "bars", "-t", "0", "-w", "1024x768"], klog)
    saw_bars = wait_until(lambda: (lambda f: f is not None and matches(f, bar_points()))(out.get()[2]), 60)
    time.sleep(1.0)
    still_running = d.poll() is None
    rc = stop(d, 15)
    stop(draw2)
    time.sleep(0.5)
    stop(recv)
    check(rc1 == 0, f"kms_draw showed the quadrants at 1280x720 until told to stop (exit {rc1})")
    check(saw_quad and saw_bars, f"the receiver saw the quadrants ({saw_quad}), then the bars ({saw_bars})")
    check(still_running, "mixcastd kept running across the framebuffer's end and the mode set")
    check(rc == 0, f"mixcastd exits 0 at SIGTERM (got {rc})")
    dlog.seek(0)
    text = dlog.read()
    lines = text.splitlines()
    attached = [l for l in lines if "kms: screen:" in l and "framebuffer" in l and "LINEAR" in l]
    check(any("1280x720" in l for l in attached) and any("1024x768" in l for l in attached),
          f"mixcastd followed the framebuffers: {attached}")
    first_720 = next((i for i, l in enumerate(lines) if "1280x720 XR24" in l), None)
    first_768 = next((i for i, l in enumerate(lines) if "1024x768 XR24" in l), None)
    in_place = first_720 is not None and first_768 is not None and first_720 < first_768 and \
        not any("no signal" in l for l in lines[first_720:first_768])
    check(in_place, "the mode set from 1280x720 to 1024x768 was followed in place (no 'no signal' between)")
    errors = [l for l in text.splitlines() if l.startswith("error")]
    check(not errors, f"no error in mixcastd's log ({errors[:3]})")
    # the framebuffer's end is "no signal" (the placeholder), and the signal comes back by itself
    check("no signal" in text and "signal back" in text, "the CRTC going off was 'no signal', then 'signal back'")
    # the copies on the KMS XRGB path: a changed picture is copied out of the framebuffer and converted
    # (2); an unchanged one is the last picture again (0): per frame at most 2, and below 2 on a still screen
    try:
        src = json.load(open(stats))["sources"][0]
        cpf = src["copies_per_frame"]
        print(f"KMS XRGB: {src['frames']} frames, {src['copies']} copies, {cpf:.3f} per frame", file=sys.stderr)
        check(src["frames"] > 0 and 0 < cpf < 2.0, f"copies per frame on the KMS XRGB path: {cpf:.3f} (0 < x < 2)")
    except (OSError, ValueError, KeyError, IndexError) as e:
        check(False, f"mixcastd's --stats-out {stats}: {e}")
    out.thread.join(5)
    n, _, last = out.get()
    check(n >= 5, f"FFmpeg decoded {n} pictures of {W}x{H} (>= 5)")
    if last:
        first = out.first_quad
        check(first is not None, "a decoded picture shows kms_draw's quadrants where they are on the screen")
        if first is not None:
            report(out.first_quad_frame, quad_points(), f"picture {first}")
        report(last, bar_points(), "last picture (after the 1024x768 mode set)")
        if first is not None:
            check(first < n - 1 and not matches(last, quad_points()), "the quadrants came before the bars")
    if failures:
        print("---- mixcastd log ----\n" + text[-4000:], file=sys.stderr)
        klog.seek(0)
        print("---- kms_draw log ----\n" + klog.read()[-1500:], file=sys.stderr)
        print("---- ffmpeg log ----\n" + open(os.path.join(tmp, "ffmpeg.log")).read()[-1500:], file=sys.stderr)


def pip(mixcastd, kms_draw, card, device, tmp):
    conf = os.path.join(tmp, "pip.ini")
    write_conf(conf, f"""[source.screen]
type = kms
device = {card}
fps = 5
[source.camera]
type = v4l2
device = {device}
size = 640x360
fps = 5
[mix.main]
inputs = screen, camera
layout = pip
size = {W}x{H}
fps = 5
pip_size = 0.4
margin = 16
[track.video]
input = main
layers = {W}x{H}@5:800k
keyframe_interval = 1
""")
    dlog = open(os.path.join(tmp, "mixcastd.log"), "w+")
    klog = open(os.path.join(tmp, "kms_draw.log"), "w+")
    draw = start([kms_draw, "-c", card, "-p", "bars", "-t", "0", "-w", "1280x720"], klog)
    time.sleep(1.0)
    recv, out = receiver(tmp)
    d = start([mixcastd, "-c", conf], dlog)
    wait_until(lambda: out.get()[0] >= 10, 60)
    rc = stop(d, 15)
    stop(draw)
    time.sleep(0.5)
    stop(recv)
    check(rc == 0, f"mixcastd exits 0 at SIGTERM (got {rc})")
    out.thread.join(5)
    n, _, f = out.get()
    check(n >= 5, f"FFmpeg decoded {n} pictures of {W}x{H} (>= 5)")
    # the pip: 0.4 * 640 = 256 wide, 144 high (vivid's 16:9), 16 from the right and bottom edges
    px, py, pw, ph = W - 16 - 256, H - 16 - 144, 256, 144
    if f:
        # the screen's bars where the pip is not: the upper half of the picture, every bar
        report(f, bar_points(ys=(H // 8, H // 3)), "screen around the pip")
        # vivid's default test pattern is 75 % colour bars too (white, yellow, cyan, green, magenta, red,
        # blue, black at 75 %): the pip shows them in its own 256 px, 8 bars of 32 px
        vbars = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0), (0, 0, 191),
                 (0, 0, 0)]
        pts = [(f"pip bar {i}", int(px + (i + 0.5) * pw / 8), py + ph // 2, vbars[i]) for i in range(8)]
        report(f, pts, "camera in the pip")
        # the screen's bar under the pip's left edge is not the camera's: outside the pip, left of it
        report(f, [("screen left of the pip", px - 12, py + ph // 2, BARS[int((px - 12) * 8 / W)])], "screen")
    if failures:
        dlog.seek(0)
        print("---- mixcastd log ----\n" + dlog.read()[-4000:], file=sys.stderr)


def bad_input(mixcastd, kms_draw, card, tmp):
    """Each a start-up error naming file, line, section and key (exit 2), never a crash or a hang."""
    klog = open(os.path.join(tmp, "kms_draw.log"), "w+")
    draw = start([kms_draw, "-c", card, "-p", "quad", "-t", "0", "-w", "1280x720"], klog)
    time.sleep(1.0)
    cases = [
        # (what, source keys, line of the key, the key, what the message must say, command prefix)
        ("no CAP_SYS_ADMIN", f"device = {card}", 3, "device",
         ["no buffer handle", "CAP_SYS_ADMIN", "AmbientCapabilities=CAP_SYS_ADMIN"],
         ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"]),
        ("a connector that drives no CRTC", "connector = HDMI-A-1", 3, "connector",
         ["'HDMI-A-1'", "drives no active CRTC", "Virtual-1 (connected)"], []),

        ("a path that is no DRM device", "device = /dev/null", 3, "device", ["'/dev/null': not a DRM device"], []),
    ]
    for what, keys, line, key, says, prefix in cases:
        if prefix and not shutil.which(prefix[0]):
            print(f"SKIP (case): {what}: {prefix[0]} not found", file=sys.stderr)
            continue
        conf = os.path.join(tmp, "bad.ini")
        write_conf(conf, f"[source.screen]\ntype = kms\n{keys}\nfps = 5\n[track.video]\ninput = screen\n"
                         f"layers = {W}x{H}@5:600k\n")
        try:
            r = subprocess.run(prefix + [mixcastd, "-c", conf], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=60)
            rc, err = r.returncode, r.stderr
        except subprocess.TimeoutExpired:
            rc, err = None, "(timed out)"
        want = f"{conf}:{line}: [source.screen] {key}: "
        check(rc == 2 and want in err and all(w in err for w in says),
              f"{what}: exit {rc} (want 2), stderr names '{want}' and says {says}: {err.strip()[-600:]}")
    # A driver that no card has (yet: a display driver may load late at boot) is "no signal", not an error:
    # mixcastd runs, says why on the key's line, sends the placeholder and retries; SIGTERM ends it with 0.
    conf = os.path.join(tmp, "late.ini")
    write_conf(conf, f"[source.screen]\ntype = kms\ndevice = vc4\nfps = 5\n[track.video]\ninput = screen\n"
                     f"layers = {W}x{H}@5:600k\n")
    elog = open(os.path.join(tmp, "late.log"), "w+")
    d = start([mixcastd, "-c", conf], elog)
    wait_until(lambda: "no signal" in open(elog.name).read(), 30)
    time.sleep(1.0)
    alive = d.poll() is None
    rc = stop(d, 15)
    elog.seek(0)
    text = elog.read()
    want = f"{conf}:3: [source.screen] device: no DRM card has the driver 'vc4' (found: {card} (bochs-drm))"
    check(alive and rc == 0 and "no signal (at start" in text and want in text,
          f"a driver no card has: 'no signal', running (exit {rc} at SIGTERM), the log names the key: {text.strip()[-500:]}")
    # A card that lights no display: kms_draw turns the CRTC off and keeps the card open (when it closes the
    # card, fbcon lights it again). At start that is an error on the device key, not "no signal": the card is
    # there and the configuration names it, but there is nothing to capture.
    stop(draw)
    dark = start([kms_draw, "-c", card, "-w", "--off"], klog)
    klog.flush()
    dark_ok = wait_until(lambda: " off" in open(klog.name).read(), 30)
    conf = os.path.join(tmp, "dark.ini")
    write_conf(conf, f"[source.screen]\ntype = kms\ndevice = {card}\nfps = 5\n[track.video]\ninput = screen\n"
                     f"layers = {W}x{H}@5:600k\n")
    try:
        r = subprocess.run([mixcastd, "-c", conf], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        rc, err = r.returncode, r.stderr
    except subprocess.TimeoutExpired:
        rc, err = None, "(timed out)"
    want = f"{conf}:3: [source.screen] device: {card} (bochs-drm) has no active CRTC: no display is lit"
    stop(dark)
    check(dark_ok and rc == 2 and want in err,
          f"a card without an active CRTC: exit {rc} (want 2), stderr names '{want}': {err.strip()[-600:]}")


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    mixcastd, kms_draw, case = sys.argv[1:4]
    if not shutil.which("ffmpeg"):
        print("SKIP: ffmpeg not found", file=sys.stderr)
        return 77
    card = drm_card("bochs-drm")
    if not card:
        print("SKIP: no bochs-drm card (run in the kernel lane: guest-run --modules bochs)", file=sys.stderr)
        return 77
    tmp = os.environ.get("GUEST_OUT") or "/tmp"
    tmp = os.path.join(tmp, "kms_source." + case)
    os.makedirs(tmp, exist_ok=True)
    try:
        if case == "screen":
            screen(mixcastd, kms_draw, card, tmp)
        elif case == "bad_input":
            bad_input(mixcastd, kms_draw, card, tmp)
        elif case == "pip":
            device = video_node("vivid-000-vid-cap")
            if not device:
                print("SKIP: no vivid capture node (guest-run --modules bochs,vivid)", file=sys.stderr)
                return 77
            pip(mixcastd, kms_draw, card, device, tmp)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    finally:
        for p in procs:
            if p.poll() is None:
                stop(p)
    print(f"kms_source {case}: {'FAIL' if failures else 'PASS'} ({len(failures)} failed checks)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
