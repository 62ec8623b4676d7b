#!/usr/bin/env bash
# End-to-end test: mixcastd → 3-layer simulcast SRTP → Janus streaming plugin → headless Chromium.
# Chromium must decode 320x180, 640x360 and 1280x720 on substreams 0, 1 and 2.
#
# usage: janus_chromium.sh MIXCASTD_BINARY [h264|vp8] [layers|pli]
#   pli: keyframes on demand. keyframe_interval = 30 and keyframe_on_pli = all, so every keyframe a viewer
#        gets is one a PLI asked for: 10 late joins must decode a first frame within 300 ms of `start` (p95),
#        and substream switches 2->0, 0->2, 2->0 must show the new size within 300 ms each.
#        KEYFRAME_REPEAT_MS=N sets keyframe_repeat_ms (default 0: the PLI alone). PLI_KEYS=0 leaves both keys out (to measure a binary without it: the "before" figures).
#   SENDER=ffmpeg      use an FFmpeg stand-in instead of mixcastd (proves the harness; no binary needed)
#   E2E_TIMEOUT_S=90   bound on the whole run
#   E2E_KEEP=1         keep the temp dir (logs, configs) even when the test passes
#   CHROMIUM=PATH      browser binary (default /usr/bin/chromium)
# Exit: 0 pass, 1 fail, 77 skipped (something this test needs is not installed), 124 time limit hit.
#
# Everything runs inside a private network namespace (TESTBEDS.md): Janus gathers no ICE candidates on lo,
# and must never fall back to a real interface.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
MIXCASTD=${1:-}
CODEC=${2:-h264}
MODE=${3:-layers}
SENDER=${SENDER:-mixcastd}
TOTAL_S=${E2E_TIMEOUT_S:-90}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

# Janus side (must match janus.transport.http.jcfg / janus.plugin.streaming.jcfg).
API=http://127.0.0.1:18088/janus
case $CODEC in
  h264) MOUNTPOINT=1; PORTS=(15004 15006 15008); RTCP_PORT=15010 ;;  # port, port2, port3 = lowest .. highest layer
  vp8)  MOUNTPOINT=2; PORTS=(15104 15106 15108); RTCP_PORT=15110 ;;
  *) echo "usage: $0 MIXCASTD_BINARY [h264|vp8] [layers|pli]" >&2; exit 2 ;;
esac
case $MODE in
  layers) KEYFRAME_INTERVAL=1 PLI_LINE='' EXPECT=0=320x180,1=640x360,2=1280x720 WATCH_EXTRA=() ;;
  pli)
    KEYFRAME_INTERVAL=30 EXPECT=0=320x180,2=1280x720,0=320x180
    PLI_LINE=$'keyframe_on_pli = all\nkeyframe_repeat_ms = '"${KEYFRAME_REPEAT_MS:-0}"
    [[ ${PLI_KEYS:-1} == 0 ]] && PLI_LINE=''
    WATCH_EXTRA=(--joins 10 --join-p95-ms 300 --switch-max-ms 300 --poll-ms 10 --min-frames 5) ;;
  *) echo "usage: $0 MIXCASTD_BINARY [h264|vp8] [layers|pli]" >&2; exit 2 ;;
esac

skip() { echo "e2e: SKIP: $*"; exit 77; }

# ---------------------------------------------------------------- outside the namespace: checks, re-exec
if [[ -z ${MIXCAST_E2E_IN_NETNS:-} ]]; then
  command -v janus >/dev/null || skip "janus is not installed (tools/install-deps)"
  [[ -x $CHROMIUM ]] || skip "$CHROMIUM is not installed (tools/install-deps)"
  command -v node >/dev/null || skip "node is not installed (tools/install-deps)"
  [[ -f $HERE/node_modules/playwright-core/package.json ]] ||
    skip "playwright-core missing: run 'npm ci' in tests/e2e (tools/install-deps does)"
  for tool in unshare ip curl timeout; do
    command -v $tool >/dev/null || skip "$tool is not installed"
  done
  case $SENDER in
    mixcastd)
      if [[ -z $MIXCASTD || ! -x $MIXCASTD ]]; then
        echo "e2e: FAIL: mixcastd binary '$MIXCASTD' is not an executable (usage: $0 MIXCASTD_BINARY)" >&2
        exit 1
      fi
      MIXCASTD=$(cd "$(dirname "$MIXCASTD")" && pwd)/$(basename "$MIXCASTD") ;;
    ffmpeg) command -v ffmpeg >/dev/null || skip "ffmpeg is not installed" ;;
    *) echo "e2e: SENDER must be mixcastd or ffmpeg" >&2; exit 2 ;;
  esac
  # A network namespace needs root, or an unprivileged user namespace where the kernel allows one.
  if [[ $EUID -eq 0 ]]; then
    NS=(unshare -n)
  elif unshare -rn true 2>/dev/null; then
    NS=(unshare -rn)
  else
    skip "needs root (or unprivileged user namespaces) for a private network namespace"
  fi
  export MIXCAST_E2E_IN_NETNS=1
  # timeout bounds the whole run; it signals its own process group (everything below), then KILLs after 10 s.
  exec timeout -k 10 "$TOTAL_S" "${NS[@]}" -- "$SELF" "$MIXCASTD" "$CODEC" "$MODE"
fi

# ---------------------------------------------------------------- inside the namespace
T0=$SECONDS
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mixcast-e2e.XXXXXX")
JANUS_PID='' SENDER_PID='' WATCH_PID='' SENDER_RC=''
RESULT=fail

# Stop one process we started: TERM, up to 5 s, then KILL.
stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

tails() {
  local f
  for f in "$TMP"/*.log; do
    [[ -f $f ]] || continue
    echo "---- last 40 lines of $f"
    tail -n 40 "$f"
  done
}

cleanup() {
  local rc=$?
  stop_pid "$WATCH_PID"
  # The watcher closes Chromium itself; if it could not, kill the browser's process group (playwright
  # starts it as a group leader) by the PID(s) the watcher wrote.
  local cpid
  if [[ -s $TMP/chromium.pid ]]; then
    while read -r cpid; do
      if [[ $cpid =~ ^[0-9]+$ ]] && kill -0 "$cpid" 2>/dev/null; then
        kill -KILL -- "-$cpid" 2>/dev/null || kill -KILL "$cpid" 2>/dev/null || true
      fi
    done <"$TMP/chromium.pid"
  fi
  stop_pid "$SENDER_PID"
  stop_pid "$JANUS_PID"
  wait 2>/dev/null || true
  if [[ $RESULT == pass && $rc -eq 0 ]]; then
    echo "e2e: PASS ($SENDER $CODEC $MODE) in $((SECONDS - T0)) s"
    if [[ -n ${E2E_KEEP:-} ]]; then echo "e2e: logs kept in $TMP"; else rm -rf "$TMP"; fi
  else
    tails
    # The most common cause, named: a key mismatch or a replay (reused SSRCs) shows up only in Janus's log.
    if [[ -f $TMP/janus.log ]] && grep -q 'SRTP unprotect error' "$TMP/janus.log"; then
      echo "e2e: janus logged $(grep -c 'SRTP unprotect error' "$TMP/janus.log") SRTP unprotect errors" \
        "($(grep -o 'srtp_err_status_[a-z_]*' "$TMP/janus.log" | sort | uniq -c | tr -s ' ' | tr '\n' ' '))"
    fi
    echo "e2e: FAIL ($SENDER $CODEC $MODE) after $((SECONDS - T0)) s; logs and configs kept in $TMP"
    [[ $rc -eq 0 ]] && rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "e2e: interrupted (the ${TOTAL_S} s limit, or a signal)"; exit 124' TERM INT

fail() { echo "e2e: FAIL: $*"; exit 1; }

# shellcheck source=tests/e2e/netns.sh
source "$HERE/netns.sh"
e2e_loopback_ice

# Per-run SRTP master key+salt (30 bytes), shared by Janus and the sender.
KEY=$(head -c 30 /dev/urandom | base64 -w0)
(umask 077 && printf '%s\n' "$KEY" >"$TMP/srtp.key")

mkdir "$TMP/janus"
cp "$HERE/janus.jcfg" "$HERE/janus.transport.http.jcfg" "$TMP/janus/"
sed "s|@SRTP_CRYPTO@|$KEY|g" "$HERE/janus.plugin.streaming.jcfg" >"$TMP/janus/janus.plugin.streaming.jcfg"
chmod 600 "$TMP/janus/janus.plugin.streaming.jcfg"

janus -F "$TMP/janus" -C "$TMP/janus/janus.jcfg" -o >"$TMP/janus.log" 2>&1 &
JANUS_PID=$!
for ((i = 0; i < 100; i++)); do  # 10 s at most; it answers in ~100 ms
  curl -sf -m 1 "$API/info" >/dev/null && break
  kill -0 "$JANUS_PID" 2>/dev/null || fail "janus exited at start"
  sleep 0.1
done
curl -sf -m 1 "$API/info" >/dev/null || fail "janus HTTP API did not answer within 10 s"
echo "e2e: janus up after $((SECONDS - T0)) s (pid $JANUS_PID)"

# Distinct random SSRCs: Janus needs one per port, and reused SSRCs under one key look like a replay.
# 31 bits: FFmpeg's rtp muxer takes a signed int.
rand_ssrc() { echo $(($(od -An -N4 -tu4 /dev/urandom) & 0x7fffffff)); }

start_mixcastd() {
  cat >"$TMP/mixcastd.ini" <<EOF
; mixcast e2e: generated by janus_chromium.sh
[daemon]
log_level = ${MIXCASTD_LOG_LEVEL:-info}

[source.test]
type = testsrc
size = 1280x720
fps = 30

[track.video]
input = test
codec = $CODEC
layers = 1280x720@30:2500k, 640x360@30:700k, 320x180@15:150k
keyframe_interval = $KEYFRAME_INTERVAL

[output.janus]
type = rtp
track = video
host = 127.0.0.1
; highest layer first: Janus port3, port2, port
ports = ${PORTS[2]}, ${PORTS[1]}, ${PORTS[0]}
srtp_key_file = $TMP/srtp.key
; the mountpoint's rtcpport, which takes plain RTCP (TESTBEDS.md)
rtcp_port = ${RTCP_PORT}
rtcp = plain
; Janus names substream 0's SSRC in every PLI, whichever substream the viewer watches
$PLI_LINE
EOF
  "$MIXCASTD" --check-config -c "$TMP/mixcastd.ini" >"$TMP/check-config.log" 2>&1 ||
    fail "mixcastd --check-config rejected the generated config (see check-config.log)"
  "$MIXCASTD" -c "$TMP/mixcastd.ini" --stats-out "$TMP/stats.json" >"$TMP/mixcastd.log" 2>&1 &
  SENDER_PID=$!
}

# Stand-in sender: one FFmpeg, three encodes of one testsrc2, SPS/PPS repeated before every IDR
# (Janus spots H.264 keyframes by the SPS), one SRTP output per Janus port.
start_ffmpeg() {
  local dur=$((TOTAL_S + 10)) enc=() out=() i
  local -a size=(1280x720 640x360 320x180) rate=(2500k 700k 150k) gop=(30 30 15)
  local -a label=(hi mid lo) port=("${PORTS[2]}" "${PORTS[1]}" "${PORTS[0]}")
  local ssrcs=() s
  while ((${#ssrcs[@]} < 3)); do
    s=$(rand_ssrc)
    [[ " ${ssrcs[*]} " == *" $s "* ]] || ssrcs+=("$s")
  done
  for i in 0 1 2; do
    if [[ $CODEC == h264 ]]; then
      enc=(-c:v libx264 -profile:v baseline -preset veryfast -tune zerolatency -x264-params repeat-headers=1)
    else
      enc=(-c:v libvpx -deadline realtime -cpu-used 8 -lag-in-frames 0 -auto-alt-ref 0 -error-resilient 1)
    fi
    out+=(-map "[${label[$i]}]" "${enc[@]}" -pix_fmt yuv420p -b:v "${rate[$i]}" -maxrate "${rate[$i]}"
      -bufsize "${rate[$i]}" -g "${gop[$i]}" -keyint_min "${gop[$i]}" -bf 0
      -f rtp -payload_type 96 -ssrc "${ssrcs[$i]}" -pkt_size 1200
      -srtp_out_suite AES_CM_128_HMAC_SHA1_80 -srtp_out_params "$KEY" "srtp://127.0.0.1:${port[$i]}")
  done
  echo "e2e: ffmpeg sender ${size[*]} -> ports ${port[*]}, ssrcs ${ssrcs[*]}"
  # duration bounds FFmpeg even if nobody kills it (-t would bound only the first output).
  ffmpeg -hide_banner -nostdin -loglevel warning -re \
    -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$dur" \
    -filter_complex "[0:v]split=3[hi][m][l];[m]scale=640:360[mid];[l]scale=320:180,fps=15[lo]" \
    "${out[@]}" >"$TMP/ffmpeg.log" 2>&1 &
  SENDER_PID=$!
}

case $SENDER in
  mixcastd) start_mixcastd ;;
  ffmpeg) start_ffmpeg ;;
esac
sleep 0.5
kill -0 "$SENDER_PID" 2>/dev/null || fail "$SENDER exited at start"
echo "e2e: $SENDER started (pid $SENDER_PID) -> mountpoint $MOUNTPOINT, ports ${PORTS[*]}"

# Leave ~15 s of the total for shutting things down and printing logs.
WATCH_S=$((TOTAL_S - (SECONDS - T0) - 15))
((WATCH_S >= 20)) || fail "E2E_TIMEOUT_S=$TOTAL_S leaves too little time for the viewer"
# TMPDIR: the watcher makes Chromium's fresh profile in our temp dir.
TMPDIR=$TMP node "$HERE/watch.mjs" --janus "$API" --mountpoint "$MOUNTPOINT" --codec "$CODEC" \
  --expect "$EXPECT" "${WATCH_EXTRA[@]}" --timeout-s "$WATCH_S" --chromium "$CHROMIUM" \
  --pid-file "$TMP/chromium.pid" > >(tee "$TMP/watch.log") 2>&1 &
WATCH_PID=$!  # node itself (tee runs in a process substitution), so it can be stopped by id
WATCH_RC=0
wait "$WATCH_PID" || WATCH_RC=$?
WATCH_PID=''

kill -0 "$SENDER_PID" 2>/dev/null || fail "$SENDER died during the test"
# mixcastd must shut down cleanly on SIGTERM (docs/CONFIG.md: exit 0).
kill -TERM "$SENDER_PID"
for ((i = 0; i < 50; i++)); do kill -0 "$SENDER_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SENDER_PID" 2>/dev/null; then
  fail "$SENDER did not exit within 5 s of SIGTERM"
fi
wait "$SENDER_PID" && SENDER_RC=0 || SENDER_RC=$?
SENDER_PID=''
# Every packet must authenticate: a failure means a key, ROC (sequence wrap) or replay (SSRC reuse) bug,
# even if enough frames got through for the browser.
SRTP_ERRORS=$(grep -c 'SRTP unprotect error' "$TMP/janus.log" || true)
((SRTP_ERRORS == 0)) || fail "janus could not unprotect $SRTP_ERRORS SRTP packets"
if [[ $SENDER == mixcastd ]]; then
  ((SENDER_RC == 0)) || fail "mixcastd exited $SENDER_RC after SIGTERM (expected 0)"
  [[ -s $TMP/stats.json ]] || fail "mixcastd wrote no --stats-out file"
  # One line per layer from mixcastd's own account, for the log (not a verdict).
  # shellcheck disable=SC2016 # JavaScript template literals, not shell
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const t of s.tracks ?? []) for (const l of t.layers ?? [])
      console.log(`e2e: mixcastd ${t.name}/${l.index} ${l.width}x${l.height}: ${l.frames_encoded} frames encoded, ` +
                  `${l.frames_dropped} dropped, ${l.keyframes} keyframes`);
    for (const o of s.outputs ?? [])
      console.log(`e2e: mixcastd output ${o.name}: ${o.packets_sent} packets, ${o.send_errors} send errors; feedback ` +
                  JSON.stringify(o.feedback ?? {}) + "; per layer PLIs/keyframes requested/rate-limited: " +
                  (o.layers ?? []).map((l) => `${l.plis ?? "?"}/${l.keyframes_requested ?? "?"}/${l.keyframes_rate_limited ?? "?"}`).join(" ") +
                  "; PLI -> keyframe on the wire (ms, p50/p99/max): " +
                  (o.layers ?? []).map((l) => { const h = l.timing_us?.pli_to_wire; return h ? `${(h.p50 / 1000).toFixed(0)}/${(h.p99 / 1000).toFixed(0)}/${(h.max / 1000).toFixed(0)}` : "?"; }).join(" "));
  ' "$TMP/stats.json" || echo "e2e: (could not summarise stats.json)"
fi
((WATCH_RC == 0)) || fail "the browser did not see every substream, or a timing failed (see above)"
RESULT=pass
