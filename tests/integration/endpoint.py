#!/usr/bin/env python3
"""The stats endpoint of a streaming mixcastd: /metrics, /stats, the bearer token, /snapshot.jpg.
1. A daemon with a live testsrc (two layers sent to local receivers), a short clip played once and a token:
   - every endpoint but the page answers 401 without the token (or with a wrong one), 200 with it;
   - /metrics passes `promtool check metrics` (format and naming lint), has every family /stats has,
     histograms are consistent (+Inf bucket = _count, buckets never decrease), and the figures move while
     streaming (frames, bytes, packets, encode time count, CPU seconds);
   - /metrics and /stats are one description: each /metrics figure lies between two /stats reads around it;
   - /stats validates against tests/integration/stats.schema.json (python3-jsonschema), and lists the
     warning the daemon logged (a track no output sends);
   - /snapshot.jpg?track=live is a 320x180 JPEG (decoded by FFmpeg) of the testsrc: its frame-number blocks
     decode to a frame between the source's counts before and after, a later one shows a later frame, two
     within the cache period are the same bytes; ?source=cam too; 404 for unknown names, 503 for the ended clip.
2. Start-up refusals: stats_listen off loopback without a token (naming file, line and key), a token file
   readable by others; and (as root, in the test's own network namespace) the same off-loopback address with
   a private token file: 401 without, 200 with.

usage: endpoint.py MIXCASTD     exit 0 pass, 1 fail, 77 skip (promtool, jsonschema or ffmpeg missing)
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
import threading
import time
import urllib.error
import urllib.request
from mclib import check, failures

HERE = os.path.dirname(os.path.abspath(__file__))
PORTS = [17100, 17102]
STATS = "127.0.0.1:17190"
TOKEN = "mixcast-test-token_0123456789"
W, H = 320, 180


def get(addr, path, token=None, timeout=5):
    """(status, headers, body bytes); status 0 when nothing answers."""
    req = urllib.request.Request(f"http://{addr}{path}")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except OSError as e:
        return 0, {}, str(e).encode()


class Sink:
    """Receivers for the output (RTP and RTCP ports), drained in a thread so that nothing sees ICMP errors."""

    def __init__(self):
        self.socks, self.stop = [], False
        for p in PORTS:
            for port in (p, p + 1):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", port))
                s.settimeout(0.05)
                self.socks.append(s)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            for s in self.socks:
                try:
                    while True:
                        s.recv(2048)
                except OSError:
                    pass

    def close(self):
        self.stop = True
        self.thread.join(2)
        for s in self.socks:
            s.close()


def parse_metrics(text):
    """{(name, frozenset(labels)): value}, and the TYPE of each family."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            samples[("PARSE-ERROR", line)] = 0
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def value(samples, name, **labels):
    want = set(labels.items())
    for (n, ls), v in samples.items():
        if n == name and want <= set(ls):
            return v
    return None


def promtool(text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode()


def frame_number(jpeg):
    """The testsrc's frame number from the 24 blocks along the top of the picture (white = 1, MSB first)."""
    r = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "image2pipe", "-c:v", "mjpeg", "-i", "-",
                        "-f", "rawvideo", "-pix_fmt", "gray", "-"], input=jpeg, capture_output=True, timeout=30)
    if r.returncode != 0 or len(r.stdout) != W * H:
        return None, len(r.stdout)
    bs = W // 32
    n = 0
    for b in range(24):
        x, y = b * bs + bs // 2, bs // 2
        n = (n << 1) | (r.stdout[y * W + x] > 128)
    return n, len(r.stdout)


def write_y4m(path, n):
    with open(path, "wb") as f:
        f.write(b"YUV4MPEG2 W64 H64 F30:1 Ip A1:1 C420jpeg\n")
        for i in range(n):
            f.write(b"FRAME\n" + bytes([60 + i]) * 4096 + bytes([128]) * 2048)


def start(binary, conf, log):
    return subprocess.Popen([binary, "-c", conf], stdout=log, stderr=log)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_up(addr, token, proc, seconds=8.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end and proc.poll() is None:
        status, _, body = get(addr, "/stats", token, timeout=2)
        if status == 200:
            st = json.loads(body)
            layers = [l for t in st["tracks"] for l in t["layers"] if t["name"] == "live"]
            if layers and all(l["frames_encoded"] > 0 for l in layers):
                return True
        time.sleep(0.1)
    return False


def stream_checks(binary, tmp):
    clip = os.path.join(tmp, "clip.y4m")
    write_y4m(clip, 10)
    conf = os.path.join(tmp, "stream.ini")
    with open(conf, "w") as f:
        f.write(f"""[daemon]
stats_listen = {STATS}
stats_token = {TOKEN}
[source.cam]
type = testsrc
size = {W}x{H}
fps = 30
[source.clip]
type = file
path = {clip}
loop = false
[track.live]
input = cam
layers = {W}x{H}@30:300k, 160x90@15:100k
preset = ultrafast
[track.clip]
input = clip
layers = 64x64@30:100k
preset = ultrafast
[output.sfu]
type = rtp
track = live
host = 127.0.0.1
ports = {PORTS[0]}, {PORTS[1]}
""")
    log = open(os.path.join(tmp, "stream.log"), "w+")
    sink = Sink()
    proc = start(binary, conf, log)
    try:
        up = wait_up(STATS, TOKEN, proc)
        check(up, "the daemon streams (both layers encoded, /stats with the token)")
        if not up:
            return log
        # the token
        for path in ("/stats", "/metrics", "/healthz", "/snapshot.jpg?track=live"):
            s1, h1, _ = get(STATS, path)
            s2, _, _ = get(STATS, path, "wrong-token-0123456789")
            s3, _, _ = get(STATS, path, TOKEN)
            check(s1 == 401 and s2 == 401 and "Bearer" in (h1.get("WWW-Authenticate") or "") and s3 in (200, 503),
                  f"{path}: 401 without the token ({s1}), 401 with a wrong one ({s2}), answered with it ({s3})")
        s, h, page = get(STATS, "/")
        check(s == 200 and b"<canvas" in page and b"src=\"http" not in page,
              f"/ (the status page, no figures in it) is served without the token ({s})")

        # /metrics: promtool, families, consistency with /stats, movement
        _, _, before = get(STATS, "/stats", TOKEN)
        t1 = time.monotonic()
        s, h, m1 = get(STATS, "/metrics", TOKEN)
        _, _, after = get(STATS, "/stats", TOKEN)
        check(s == 200 and (h.get("Content-Type") or "").startswith("text/plain; version=0.0.4"),
              f"/metrics: 200 in the text format 0.0.4 ({s}, {h.get('Content-Type')})")
        rc, out = promtool(m1.decode())
        check(rc == 0 and not out.strip(), f"promtool check metrics: clean (rc {rc}) {out.strip()[:600]}")
        with open(os.path.join(tmp, "metrics1.txt"), "wb") as f:
            f.write(m1)
        samples, types = parse_metrics(m1.decode())
        check(not [k for k in samples if k[0] == "PARSE-ERROR"], "every sample line parses")
        families = {
            "mixcast_source_frames_total": "counter", "mixcast_source_state": "gauge",
            "mixcast_track_frames_in_total": "counter", "mixcast_track_frames_dropped_total": "counter",
            "mixcast_track_mailbox_age_seconds": "histogram", "mixcast_layer_frames_encoded_total": "counter",
            "mixcast_layer_frames_dropped_total": "counter", "mixcast_layer_keyframes_total": "counter",
            "mixcast_layer_encode_seconds": "histogram", "mixcast_layer_queue_age_seconds": "histogram",
            "mixcast_layer_target_bitrate_bytes_per_second": "gauge", "mixcast_layer_encoded_bytes_total": "counter",
            "mixcast_layer_encoder_info": "gauge", "mixcast_layer_encoder_fallbacks_total": "counter",
            "mixcast_output_layer_packets_total": "counter", "mixcast_output_layer_sent_bytes_total": "counter",
            "mixcast_output_layer_send_errors_total": "counter", "mixcast_output_layer_nacked_packets_total": "counter",
            "mixcast_output_layer_retransmitted_packets_total": "counter", "mixcast_output_layer_plis_total": "counter",
            "mixcast_output_layer_firs_total": "counter", "mixcast_output_layer_rtt_seconds": "gauge",
            "mixcast_output_layer_fraction_lost_ratio": "gauge", "mixcast_output_layer_capture_to_wire_seconds": "histogram",
            "mixcast_thread_cpu_seconds_total": "counter", "process_cpu_seconds_total": "counter",
            "process_resident_memory_bytes": "gauge", "process_start_time_seconds": "gauge", "process_open_fds": "gauge",
            "mixcast_build_info": "gauge", "mixcast_log_messages_total": "counter",
        }
        missing = [f"{n} ({k}, got {types.get(n)})" for n, k in families.items() if types.get(n) != k]
        check(not missing, f"/metrics has the families of /stats with their types (missing: {missing[:6]})")
        check(value(samples, "mixcast_layer_encoder_info", track="live", layer="0") == 1
              and value(samples, "mixcast_source_state", source="cam", state="live") == 1
              and value(samples, "mixcast_source_state", source="cam", state="ended") == 0,
              "the encoder backend as an info metric; the source's state as a state set")
        bad_hist = []
        for (n, ls), v in samples.items():
            if not n.endswith("_count"):
                continue
            base, lab = n[:-6], set(ls)
            buckets = sorted(((float(dict(k[1])["le"]), val) for k, val in samples.items()
                              if k[0] == base + "_bucket" and lab <= set(k[1])), key=lambda x: x[0])
            counts = [c for _, c in buckets]
            if not buckets or buckets[-1][0] != float("inf") or counts[-1] != v or counts != sorted(counts):
                bad_hist.append(base)
        check(not bad_hist, f"histograms: buckets never decrease and +Inf equals _count ({bad_hist[:3]})")
        # one description: the /metrics value lies between the /stats reads before and after it
        sb, sa = json.loads(before), json.loads(after)

        def lay(st, k):
            return [l for t in st["tracks"] if t["name"] == "live" for l in t["layers"]][0][k]

        def olay(st, k):
            return st["outputs"][0]["layers"][0][k]
        pairs = [("mixcast_layer_frames_encoded_total", dict(track="live", layer="0"), lay(sb, "frames_encoded"), lay(sa, "frames_encoded")),
                 ("mixcast_layer_encoded_bytes_total", dict(track="live", layer="0"), lay(sb, "bytes"), lay(sa, "bytes")),
                 ("mixcast_output_layer_packets_total", dict(output="sfu", layer="0"), olay(sb, "packets"), olay(sa, "packets")),
                 ("mixcast_layer_encode_seconds_count", dict(track="live", layer="0"),
                  lay(sb, "timing_us")["encode"]["count"], lay(sa, "timing_us")["encode"]["count"])]
        for name, labels, lo, hi in pairs:
            v = value(samples, name, **labels)
            check(v is not None and lo <= v <= hi, f"{name} {v} between /stats' {lo} and {hi}")
        time.sleep(2.0)
        t2 = time.monotonic()
        _, _, m2 = get(STATS, "/metrics", TOKEN)
        samples2, _ = parse_metrics(m2.decode())
        for name, labels in [("mixcast_source_frames_total", dict(source="cam")),
                             ("mixcast_layer_frames_encoded_total", dict(track="live", layer="1")),
                             ("mixcast_output_layer_sent_bytes_total", dict(output="sfu", layer="0")),
                             ("mixcast_output_layer_packets_total", dict(output="sfu", layer="1")),
                             ("mixcast_layer_encode_seconds_count", dict(track="live", layer="0")),
                             ("mixcast_layer_encode_seconds_sum", dict(track="live", layer="0")),
                             ("mixcast_thread_cpu_seconds_total", dict(thread="enc.live.0")),
                             ("process_cpu_seconds_total", {})]:
            a, b = value(samples, name, **labels), value(samples2, name, **labels)
            check(a is not None and b is not None and b > a, f"{name}{labels or ''} moves while streaming: {a} -> {b}")
        # the rates: the testsrc is paced by a timer at 30 fps (it skips slots when its thread wakes late: about
        # 22 fps with the load of 5 builds on 2 cores), the encoder may fall behind (the mailbox drops), never ahead
        def delta(name, **labels):
            return value(samples2, name, **labels) - value(samples, name, **labels)
        dt = t2 - t1
        src = delta("mixcast_source_frames_total", source="cam")
        enc = delta("mixcast_layer_frames_encoded_total", track="live", layer="0")
        check(15 <= src / dt <= 33 and 0.5 * src <= enc <= src + 2,
              f"between two scrapes {dt:.2f} s apart: the source made {src:.0f} frames ({src / dt:.1f} fps), "
              f"layer 0 encoded {enc:.0f}")

        # /stats: the schema, the warnings
        import jsonschema
        with open(os.path.join(HERE, "stats.schema.json")) as f:
            schema = json.load(f)
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(sa), key=lambda e: list(e.path))
        check(not errors, "/stats validates against stats.schema.json" +
              "".join(f"\n    {list(e.path)}: {e.message[:200]}" for e in errors[:5]))
        check(any("clip" in w["text"] and w["level"] == "warn" for w in sa.get("warnings", [])),
              f"/stats lists the warning logged at start ({[w['text'] for w in sa.get('warnings', [])][:3]})")

        # /snapshot.jpg
        # the tap hands over the next frame the track takes after the request: one made after this /stats read
        _, _, before = get(STATS, "/stats", TOKEN)
        fb = json.loads(before)["sources"][0]["frames"]
        s, h, jpeg = get(STATS, "/snapshot.jpg?track=live", TOKEN)
        _, _, after = get(STATS, "/stats", TOKEN)
        fa = json.loads(after)["sources"][0]["frames"]
        n, size = frame_number(jpeg) if s == 200 else (None, 0)
        check(s == 200 and h.get("Content-Type") == "image/jpeg" and size == W * H,
              f"/snapshot.jpg?track=live: a {W}x{H} JPEG ({s}, {h.get('Content-Type')}, {size} gray bytes decoded)")
        check(n is not None and fb - 1 <= n <= fa,
              f"the picture is the testsrc's current frame: number {n} within the source's {fb}..{fa} frames")
        s2, _, jpeg2 = get(STATS, "/snapshot.jpg?track=live", TOKEN)
        check(s2 == 200 and jpeg2 == jpeg, "a second request within 1 s gets the cached picture (same bytes)")
        time.sleep(1.2)
        s3, _, jpeg3 = get(STATS, "/snapshot.jpg?track=live", TOKEN)
        n3, _ = frame_number(jpeg3) if s3 == 200 else (None, 0)
        check(n3 is not None and n is not None and n3 >= n + 10, f"1.2 s later a new picture: frame {n} -> {n3}")
        s, h, jpeg = get(STATS, "/snapshot.jpg?source=cam", TOKEN)
        n, size = frame_number(jpeg) if s == 200 else (None, 0)
        check(s == 200 and size == W * H and n is not None, f"/snapshot.jpg?source=cam: {s}, frame {n}")
        for path, want in [("/snapshot.jpg?track=nope", 404), ("/snapshot.jpg?source=nope", 404),
                           ("/snapshot.jpg", 400), ("/snapshot.jpg?source=clip", 503)]:
            s, _, body = get(STATS, path, TOKEN)
            check(s == want, f"{path}: {want} ({s} {body[:60]!r})")
    finally:
        stop(proc)
        sink.close()
    check(proc.returncode == 0, f"mixcastd exits 0 after SIGTERM (got {proc.returncode})")
    return log


def refusals(binary, tmp, netns):
    base = """[source.cam]
type = testsrc
size = 160x90
fps = 15
[track.live]
input = cam
layers = 160x90@15:100k
preset = ultrafast
"""
    conf = os.path.join(tmp, "open.ini")
    with open(conf, "w") as f:
        f.write("[daemon]\nstats_listen = 0.0.0.0:17191\n" + base)
    r = subprocess.run([binary, "-c", conf], capture_output=True, timeout=20)
    err = r.stderr.decode()
    check(r.returncode == 1 and f"{conf}:2: [daemon] stats_listen:" in err and "stats_token" in err
          and "loopback" in err, f"off loopback without a token: refused, naming file:line and key (rc {r.returncode}: "
          f"{err.strip()[-300:]!r})")
    tokf = os.path.join(tmp, "token")
    with open(tokf, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tokf, 0o644)
    conf = os.path.join(tmp, "tokfile.ini")
    addr = "10.77.0.1:17192" if netns else "127.0.0.1:17192"
    with open(conf, "w") as f:
        f.write(f"[daemon]\nstats_listen = {addr}\nstats_token_file = {tokf}\n" + base)
    r = subprocess.run([binary, "-c", conf], capture_output=True, timeout=20)
    err = r.stderr.decode()
    check(r.returncode == 1 and f"{conf}:3: [daemon] stats_token_file:" in err and "chmod 600" in err,
          f"a token file others can read: refused ({r.returncode}: {err.strip()[-200:]!r})")
    if not netns:
        print("SKIP (part 2b): no network namespace of the test's own for a non-loopback address", file=sys.stderr)
        return
    os.chmod(tokf, 0o600)
    log = open(os.path.join(tmp, "tokfile.log"), "w+")
    proc = start(binary, conf, log)
    try:
        end, s = time.monotonic() + 8, 0
        while time.monotonic() < end and proc.poll() is None and s != 200:
            s, _, _ = get(addr, "/healthz", TOKEN, timeout=2)
            time.sleep(0.1)
        s0, _, _ = get(addr, "/metrics")
        s1, _, _ = get(addr, "/metrics", TOKEN)
        check(s == 200 and s0 == 401 and s1 == 200,
              f"off loopback with a private token file: 401 without the token ({s0}), 200 with it ({s}, {s1})")
    finally:
        stop(proc)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    for tool in ("promtool", "ffmpeg"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} is not installed (tools/install-deps)", file=sys.stderr)
            return 77
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        print("SKIP: python3-jsonschema is not installed (tools/install-deps)", file=sys.stderr)
        return 77
    if os.environ.get("MIXCAST_IT_NETNS") != "1" and os.geteuid() == 0 and shutil.which("unshare"):
        env = dict(os.environ, MIXCAST_IT_NETNS="1")
        return subprocess.call(["unshare", "-n", sys.executable, os.path.abspath(__file__), binary], env=env)
    netns = os.environ.get("MIXCAST_IT_NETNS") == "1"
    if netns:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=False)
        subprocess.run(["ip", "addr", "add", "10.77.0.1/32", "dev", "lo"], check=False)
    tmp = tempfile.mkdtemp(prefix="mixcast-it-endpoint.")
    log = stream_checks(binary, tmp)
    if failures and log:
        log.seek(0)
        print("---- mixcastd log ----\n" + log.read()[-3000:], file=sys.stderr)
    refusals(binary, tmp, netns)
    if not os.environ.get("IT_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"endpoint: {'FAIL' if failures else 'PASS'} ({len(failures)} failed checks)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
