#!/usr/bin/env bash
# The status page (GET /) in headless Chromium: a streaming mixcastd with a token, the page opened with
# #token=..., then tests/e2e/status_page.mjs checks the picture, the chart, the sources and the warnings.
# usage: status_page.sh MIXCASTD_BINARY
# Exit: 0 pass, 1 fail, 77 skipped (chromium, node or playwright-core missing; no network namespace).
# Runs in a private network namespace (as root, or with unprivileged user namespaces): port 17290 is its own.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
MIXCASTD=${1:-}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
skip() { echo "status-page: SKIP: $*"; exit 77; }

if [[ -z ${MIXCAST_E2E_IN_NETNS:-} ]]; then
  [[ -x $CHROMIUM ]] || skip "$CHROMIUM is not installed (tools/install-deps)"
  command -v node >/dev/null || skip "node is not installed (tools/install-deps)"
  [[ -f $HERE/node_modules/playwright-core/package.json ]] || skip "playwright-core missing: run 'npm ci' in tests/e2e"
  for tool in unshare ip timeout; do command -v $tool >/dev/null || skip "$tool is not installed"; done
  [[ -n $MIXCASTD && -x $MIXCASTD ]] || { echo "status-page: FAIL: '$MIXCASTD' is not an executable" >&2; exit 1; }
  MIXCASTD=$(cd "$(dirname "$MIXCASTD")" && pwd)/$(basename "$MIXCASTD")
  if [[ $EUID -eq 0 ]]; then NS=(unshare -n)
  elif unshare -rn true 2>/dev/null; then NS=(unshare -rn)
  else skip "needs root (or unprivileged user namespaces) for a private network namespace"; fi
  export MIXCAST_E2E_IN_NETNS=1
  exec timeout -k 10 90 "${NS[@]}" -- "$SELF" "$MIXCASTD"
fi

ip link set lo up
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mixcast-status-page.XXXXXX")
PID=''
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  [[ -n ${E2E_KEEP:-} ]] || rm -rf "$TMP"
}
trap cleanup EXIT
TOKEN=status-page-token-$RANDOM$RANDOM$RANDOM
# nothing listens on the output's ports: the ICMP errors are the "last warnings" the page must show
cat >"$TMP/mixcast.ini" <<INI
[daemon]
stats_listen = 127.0.0.1:17290
stats_token = $TOKEN
[source.cam]
type = testsrc
size = 320x180
fps = 30
[track.live]
input = cam
layers = 320x180@30:300k, 160x90@15:100k
preset = ultrafast
[output.sfu]
type = rtp
track = live
host = 127.0.0.1
ports = 17200, 17202
INI
"$MIXCASTD" -c "$TMP/mixcast.ini" >"$TMP/mixcastd.log" 2>&1 &
PID=$!
rc=0
node "$HERE/status_page.mjs" "http://127.0.0.1:17290/#token=$TOKEN" "$TMP" || rc=$?
if [[ $rc -ne 0 ]]; then echo "---- mixcastd log ----"; tail -n 30 "$TMP/mixcastd.log"; fi
exit $rc
