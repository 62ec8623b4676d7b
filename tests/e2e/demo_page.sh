#!/usr/bin/env bash
# Smoke test of tools/demo (README's first command) as a person would use it: start the demo with a built
# mixcastd, open the page it prints in headless Chromium, watch the mountpoint, switch the three layers.
# usage: demo_page.sh MIXCASTD_BINARY
# Exit: 0 pass, 1 fail, 77 skipped (janus, janus-demos, chromium, node, playwright-core or python3 missing).
# Runs inside a private network namespace, like janus_chromium.sh (see TESTBEDS.md): the demo's ports
# (8000, 8088, 8090, 5004-5008) are then its own, and Janus gathers ICE candidates on 127.0.0.2 only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
ROOT=$(cd "$HERE/../.." && pwd)
MIXCASTD=${1:-}
TOTAL_S=${E2E_TIMEOUT_S:-90}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

skip() { echo "demo-page: SKIP: $*"; exit 77; }

if [[ -z ${MIXCAST_E2E_IN_NETNS:-} ]]; then
  command -v janus >/dev/null || skip "janus is not installed (tools/install-deps)"
  [[ -f /usr/share/janus/demos/streamingtest.html ]] || skip "janus-demos is not installed (tools/install-deps)"
  [[ -x $CHROMIUM ]] || skip "$CHROMIUM is not installed (tools/install-deps)"
  command -v node >/dev/null || skip "node is not installed (tools/install-deps)"
  command -v python3 >/dev/null || skip "python3 is not installed (tools/install-deps)"
  [[ -f $HERE/node_modules/playwright-core/package.json ]] || skip "playwright-core missing: run 'npm ci' in tests/e2e"
  for tool in unshare ip curl timeout; do command -v $tool >/dev/null || skip "$tool is not installed"; done
  [[ -n $MIXCASTD && -x $MIXCASTD ]] || { echo "demo-page: FAIL: '$MIXCASTD' is not an executable" >&2; exit 1; }
  MIXCASTD=$(cd "$(dirname "$MIXCASTD")" && pwd)/$(basename "$MIXCASTD")
  if [[ $EUID -eq 0 ]]; then NS=(unshare -n)
  elif unshare -rn true 2>/dev/null; then NS=(unshare -rn)
  else skip "needs root (or unprivileged user namespaces) for a private network namespace"; fi
  export MIXCAST_E2E_IN_NETNS=1
  exec timeout -k 10 "$TOTAL_S" "${NS[@]}" -- "$SELF" "$MIXCASTD"
fi

T0=$SECONDS
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mixcast-demo-page.XXXXXX")
DEMO_PID=''
RESULT=fail
cleanup() {
  local rc=$? i
  if [[ -n $DEMO_PID ]] && kill -0 "$DEMO_PID" 2>/dev/null; then
    kill -TERM "$DEMO_PID" 2>/dev/null || true  # tools/demo stops what it started
    for ((i = 0; i < 100; i++)); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DEMO_PID" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  if [[ $RESULT == pass && $rc -eq 0 ]]; then
    echo "demo-page: PASS in $((SECONDS - T0)) s"
    rm -rf "$TMP"
  else
    echo "---- last 30 lines of tools/demo's output"; tail -n 30 "$TMP/demo.log" 2>/dev/null || true
    echo "---- last 20 lines of $ROOT/build/demo/janus.log"; tail -n 20 "$ROOT/build/demo/janus.log" 2>/dev/null || true
    echo "demo-page: FAIL after $((SECONDS - T0)) s (output kept in $TMP)"
    [[ $rc -eq 0 ]] && rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "demo-page: interrupted (the ${TOTAL_S} s limit, or a signal)"; exit 124' TERM INT
fail() { echo "demo-page: FAIL: $*"; exit 1; }

# shellcheck source=tests/e2e/netns.sh
source "$HERE/netns.sh"
e2e_loopback_ice

# DEMO_DURATION_S: the demo ends by itself even if nobody stops it.
DEMO_SKIP_INSTALL=1 DEMO_SKIP_BUILD=1 DEMO_MIXCASTD=$MIXCASTD DEMO_ICE_ENFORCE=127.0.0.2 \
  DEMO_DURATION_S=$TOTAL_S "$ROOT/tools/demo" >"$TMP/demo.log" 2>&1 &
DEMO_PID=$!
for ((i = 0; i < 300; i++)); do  # 30 s at most
  grep -q 'Ctrl-C stops the demo' "$TMP/demo.log" && break
  kill -0 "$DEMO_PID" 2>/dev/null || fail "tools/demo exited before it was ready"
  sleep 0.1
done
grep -q 'Ctrl-C stops the demo' "$TMP/demo.log" || fail "tools/demo was not ready within 30 s"
grep '^demo:' "$TMP/demo.log"
URL=$(grep -o 'http://127.0.0.1:[0-9]*/streamingtest.html' "$TMP/demo.log" | head -n 1)
[[ -n $URL ]] || fail "tools/demo printed no demo page URL"

CHROMIUM=$CHROMIUM TMPDIR=$TMP node "$HERE/demo_page.mjs" "$URL" || fail "the demo page did not show every layer"

# Stop the demo as Ctrl-C would (its INT/TERM trap), and check it stopped what it started.
kill -TERM "$DEMO_PID"
for ((i = 0; i < 100; i++)); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DEMO_PID" 2>/dev/null && fail "tools/demo did not stop within 10 s of SIGTERM"
DEMO_PID=''
grep -q '^demo: stopped' "$TMP/demo.log" || fail "tools/demo did not report a clean stop"
# Nothing it started may still be serving (this namespace holds only the demo's processes).
for port in 8088 8000 8090; do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && fail "something still listens on 127.0.0.1:$port after the demo stopped"
done
RESULT=pass
