#!/usr/bin/env python3
"""SRTP across restarts with fixed SSRCs and a static key (issue 12): mixcastd is started four times (one of
them ended by SIGKILL, a crash that writes nothing at exit) against ONE receiver (mixcast-srtp-index-rx) that
keeps its libsrtp2 session the whole time, as an SFU keeps its context. The receiver records every
(SSRC, SRTP index) it authenticates and every (SSRC, SRTCP index) it gets. It checks:
- no pair twice, no replay and no authentication failure: each restart continued above the indexes used
  before (and libsrtp2's ROC guess from the sequence number was right each time);
- each restart jumps less than 2^15 indexes (at most a reserved block and a frame);
- a stream seeded just below a ROC boundary crosses it and goes on at ROC 1 after the restarts, and its
  SRTCP index continues at the seeded 1000 (the state file written here by an independent implementation
  of the format: the fingerprint and the CRC);
- the state file's marks lie above everything the receiver saw;
- without a state dir, fixed SSRCs with a key are refused (--check-config and start), naming keystream
  reuse and state_dir; a corrupt state file stops the start, naming the file.

usage: srtp_restart.py MIXCASTD MIXCAST-SRTP-INDEX-RX     exit 0 pass, 1 fail, 77 skip
"""
import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from mclib import check, failures

PORTS = [16600, 16602]  # RTP; SRTCP on +1
SSRCS = [1111, 2222]
SEED_SRTP = 65536 - 40  # SSRC 1111 starts 40 packets below the first ROC wrap
SEED_SRTCP = 1000
RUNS = 4
RUN_S = 2.0  # long enough for frames and an SR in every run, also under ASan on a loaded machine


def state_text(output, key, entries):
    """The state file format of src/net/srtp_state.h, written independently of the C code."""
    fp = hashlib.sha256(b"mixcast SRTP state v1" + key).hexdigest()[:16]
    body = f"mixcast-srtp-state 1 output={output} key={fp}\n"
    for ssrc, srtp, srtcp in entries:
        body += f"ssrc={ssrc} srtp={srtp} srtcp={srtcp}\n"
    return fp, body + f"end entries={len(entries)} crc32={zlib.crc32(body.encode()) & 0xffffffff:08x}\n"


def parse_state(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("ssrc="):
                d = dict(kv.split("=") for kv in line.split())
                out[int(d["ssrc"])] = (int(d["srtp"]), int(d["srtcp"]))
    return out


def config(tmp, key_path, state_dir):
    daemon = f"[daemon]\nstate_dir = {state_dir}\n" if state_dir else ""
    return f"""{daemon}[source.cam]
type = testsrc
size = 320x180
fps = 30
[track.video]
input = cam
layers = 320x180@30:300k, 160x90@15:100k
keyframe_interval = 1
preset = ultrafast
[output.sfu]
type = rtp
track = video
host = 127.0.0.1
ports = {PORTS[0]}, {PORTS[1]}
ssrcs = {SSRCS[0]}, {SSRCS[1]}
srtp_key_file = {key_path}
"""


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, rx_bin = sys.argv[1], sys.argv[2]
    if not os.access(rx_bin, os.X_OK):
        print(f"SKIP: {rx_bin} not built", file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="mixcast-it-srtp-restart.")
    env = {k: v for k, v in os.environ.items() if k != "STATE_DIRECTORY"}
    key = bytes((i * 37 + 11) & 0xFF for i in range(30))
    key_path = os.path.join(tmp, "srtp.key")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"inline:" + base64.b64encode(key) + b"\n")
    os.close(fd)
    state_dir = os.path.join(tmp, "state")
    os.mkdir(state_dir, 0o700)

    # 1. no state dir: refused, by --check-config and at start, saying why and what to set
    bad = os.path.join(tmp, "nostate.ini")
    with open(bad, "w") as f:
        f.write(config(tmp, key_path, None))
    for args in (["--check-config", "-c", bad], ["-c", bad]):
        p = subprocess.Popen([binary] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # it started streaming
            p.kill()
            _, err = p.communicate()
        check(p.returncode == 1 and "keystream" in err and "state_dir" in err,
              f"mixcastd {' '.join(args[:-1])} refuses fixed SSRCs + key without a state dir "
              f"(exit {p.returncode}: {err.strip()[:200]})")

    # 2. seed SSRC 1111 just below a ROC wrap, with an SRTCP index of 1000
    fp, text = state_text("sfu", key, [(SSRCS[0], SEED_SRTP, SEED_SRTCP)])
    state_file = os.path.join(state_dir, f"srtp-sfu-{fp}.state")
    with open(state_file, "w") as f:
        f.write(text)
    conf = os.path.join(tmp, "restart.ini")
    with open(conf, "w") as f:
        f.write(config(tmp, key_path, state_dir))

    pairs = os.path.join(tmp, "pairs.txt")
    rx = subprocess.Popen([rx_bin, "--key-file", key_path, "--ports", f"{PORTS[0]},{PORTS[1]}", "--duration", "60",
                           "--pairs", pairs], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    logs = []
    try:
        for run in range(RUNS):
            log_path = os.path.join(tmp, f"run{run}.log")
            with open(log_path, "w") as log:
                p = subprocess.Popen([binary, "-c", conf], env=env, stdout=log, stderr=log)
                time.sleep(RUN_S)
                crash = run == 2
                p.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
                try:
                    rc = p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    rc = p.wait()
            logs.append(open(log_path).read())
            if not crash:
                check(rc == 0, f"run {run}: exit status {rc} after SIGTERM")
            else:
                check(rc == -signal.SIGKILL, f"run {run}: killed (a crash: nothing written at exit)")
        check(all("continues at SRTP index" in logs[i] for i in range(RUNS)),
              "every run logs where its SSRCs continue (the seed, then the runs before)")
    finally:
        rx.send_signal(signal.SIGTERM)
        out, err = rx.communicate(timeout=20)
    try:
        res = json.loads(out)
    except ValueError:
        print(f"receiver output: {out!r} {err!r}", file=sys.stderr)
        return 1
    print(json.dumps(res), file=sys.stderr)

    check(res["dup_rtp"] == 0, f"no (SSRC, SRTP index) pair twice (dups: {res['dup_rtp']})")
    check(res["dup_rtcp"] == 0, f"no (SSRC, SRTCP index) pair twice (dups: {res['dup_rtcp']})")
    check(res["replay_fail"] == 0 and res["rtcp_replay_fail"] == 0,
          f"no replays (SRTP {res['replay_fail']}, SRTCP {res['rtcp_replay_fail']})")
    check(res["auth_fail"] == 0 and res["other_fail"] == 0 and res["rtcp_auth_fail"] == 0,
          f"every packet authenticates with the one kept session (SRTP {res['auth_fail']}+{res['other_fail']}, "
          f"SRTCP {res['rtcp_auth_fail']})")
    streams = {s["ssrc"]: s for s in res["streams"]}
    check(sorted(streams) == SSRCS, f"packets of both SSRCs ({sorted(streams)})")
    if sorted(streams) != SSRCS:
        return 1
    a, b = streams[SSRCS[0]], streams[SSRCS[1]]
    check(a["min_index"] == SEED_SRTP, f"SSRC {SSRCS[0]} starts at the seeded index {SEED_SRTP} ({a['min_index']})")
    check(a["max_index"] >= 65536 and a["roc"] >= 1,
          f"SSRC {SSRCS[0]} crossed into ROC 1 and the restarts went on there (max index {a['max_index']}, ROC {a['roc']})")
    check(a["min_rtcp"] == SEED_SRTCP, f"SSRC {SSRCS[0]}'s SRTCP index starts at the seeded {SEED_SRTCP} ({a['min_rtcp']})")
    check(b["min_rtcp"] == 1, f"SSRC {SSRCS[1]} (new) starts SRTCP at 1 ({b['min_rtcp']})")
    for s in (a, b):
        check(s["packets"] >= RUNS * 5, f"SSRC {s['ssrc']}: {s['packets']} packets")
        check(0 < s["max_jump"] <= 4096 + 256,
              f"SSRC {s['ssrc']}: the largest jump at a restart ({s['max_jump']}) is at most a block and a frame, "
              "far below 2^15")
        check(s["rtcp_packets"] >= RUNS, f"SSRC {s['ssrc']}: {s['rtcp_packets']} SRTCP packets, at least one a run")

    # restarts seen by the receiver: jumps in each SSRC's arrival order
    seq = {}
    with open(pairs) as f:
        for line in f:
            kind, ssrc, index = line.split()
            if kind == "rtp":
                seq.setdefault(int(ssrc), []).append(int(index))
    for ssrc, idx in seq.items():
        jumps = sum(1 for x, y in zip(idx, idx[1:]) if y != x + 1)
        backwards = sum(1 for x, y in zip(idx, idx[1:]) if y <= x)
        check(jumps >= RUNS - 1 and backwards == 0,
              f"SSRC {ssrc}: {jumps} forward jumps (restarts), {backwards} steps back")

    marks = parse_state(state_file)
    for s in (a, b):
        m = marks.get(s["ssrc"])
        check(m is not None and m[0] > s["max_index"] and m[1] > s["max_rtcp"],
              f"SSRC {s['ssrc']}: the state file reserves above what was sent ({m} vs {s['max_index']}, {s['max_rtcp']})")

    # 3. a corrupt state file stops the start, naming the file
    with open(state_file) as f:
        text = f.read()
    i = text.index("srtp=") + 5
    with open(state_file, "w") as f:
        f.write(text[:i] + ("1" if text[i] != "1" else "2") + text[i + 1:])
    try:
        r = subprocess.run([binary, "-c", conf], env=env, capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired as e:
        r = subprocess.CompletedProcess(e.cmd, 0, "", "it started anyway")
    check(r.returncode != 0 and state_file in r.stderr and "checksum mismatch" in r.stderr,
          f"a corrupt state file stops the start, naming it (exit {r.returncode}: {r.stderr.strip()[-300:]})")

    if failures:
        print(f"{len(failures)} check(s) failed; files in {tmp}", file=sys.stderr)
        return 1
    subprocess.run(["rm", "-rf", tmp])
    return 0


if __name__ == "__main__":
    sys.exit(main())
