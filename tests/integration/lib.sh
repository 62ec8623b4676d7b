# shellcheck shell=bash disable=SC2034
# Shared helpers for the mixcast integration tests (sourced, not executed).
#
# Every test: loopback only, its own port range, its own temp dir, kills only
# the PIDs it started, bounded waits everywhere.

IT_SKIP=77
IT_PIDS=()
IT_FAILED=0
IT_LOGS=()

it_log() { printf '[%s] %s\n' "${IT_NAME:-test}" "$*" >&2; }

it_pass() { printf '[%s] PASS: %s\n' "${IT_NAME:-test}" "$*" >&2; }

# Record a failed check; the test goes on so that every problem is reported.
it_fail() {
    printf '[%s] FAIL: %s\n' "${IT_NAME:-test}" "$*" >&2
    IT_FAILED=1
}

it_skip() {
    printf '[%s] SKIP: %s\n' "${IT_NAME:-test}" "$*" >&2
    exit "$IT_SKIP"
}

it_need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || it_skip "$c not found"
    done
}

# it_setup: sets IT_TMP and installs the EXIT trap (kills our PIDs, prints
# logs when the test failed, removes the temp dir unless IT_KEEP=1).
it_setup() {
    IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mixcast-it-${IT_NAME:-test}.XXXXXX") || exit 1
    trap it_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

it_track_pid() { IT_PIDS+=("$1"); }

# Forget a PID once it has been reaped, so that cleanup never signals a
# recycled PID.
it_untrack_pid() {
    local p keep=()
    for p in "${IT_PIDS[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    IT_PIDS=("${keep[@]}")
}

# Log files to print when the test fails.
it_track_log() { IT_LOGS+=("$1"); }

it_cleanup() {
    local rc=$?
    local p i alive
    for p in "${IT_PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
    done
    for ((i = 0; i < 20; i++)); do
        alive=0
        for p in "${IT_PIDS[@]}"; do
            kill -0 "$p" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in "${IT_PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    for p in "${IT_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ "$rc" -ne 0 ] && [ "$rc" -ne "$IT_SKIP" ]; then
        local f
        for f in "${IT_LOGS[@]}"; do
            [ -f "$f" ] || continue
            local nshow
            nshow=$(grep -c 'Parsed_showinfo.*n: *[0-9]' "$f")
            printf '\n===== %s (%s lines; last 60 shown%s) =====\n' "$(basename "$f")" "$(wc -l <"$f")" \
                "$([ "$nshow" -gt 0 ] && echo ", showinfo lines left out: $nshow frames")" >&2
            grep -v 'Parsed_showinfo' "$f" | tail -n 60 | cut -c1-300 >&2
        done
    fi
    if [ -n "${IT_TMP:-}" ] && [ -d "$IT_TMP" ]; then
        if [ "${IT_KEEP:-0}" = 1 ]; then
            echo "[${IT_NAME:-test}] kept $IT_TMP" >&2
        else
            rm -rf "$IT_TMP"
        fi
    fi
    exit "$rc"
}

# it_wait_pid PID SECONDS: wait until PID exits (bounded). Sets IT_RC to its
# exit status, or returns 1 (and leaves it running) on time-out.
it_wait_pid() {
    local pid=$1 secs=$2 i
    local n=$((secs * 10))
    for ((i = 0; i < n; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            IT_RC=$?
            it_untrack_pid "$pid"
            return 0
        fi
        sleep 0.1
    done
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"
        IT_RC=$?
        it_untrack_pid "$pid"
        return 0
    fi
    return 1
}

# it_stop_pid PID SIGNAL SECONDS: signal PID, wait (bounded), KILL if needed.
# Sets IT_RC.
it_stop_pid() {
    local pid=$1 sig=$2 secs=$3
    kill "-$sig" "$pid" 2>/dev/null
    if ! it_wait_pid "$pid" "$secs"; then
        it_log "pid $pid still alive ${secs}s after SIG$sig; killing"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        it_untrack_pid "$pid"
        IT_RC=137
        return 1
    fi
    return 0
}

# it_stop_ffmpeg PID: ffmpeg ends its transcode loop on the first SIGTERM but
# a read blocked on a silent RTP socket is only interrupted by the second.
it_stop_ffmpeg() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; it_untrack_pid "$pid"; return 0; }
    kill -TERM "$pid" 2>/dev/null
    it_wait_pid "$pid" 2 && return 0
    kill -TERM "$pid" 2>/dev/null
    it_wait_pid "$pid" 3 && return 0
    it_stop_pid "$pid" KILL 3
}

# it_udp_bound PORT: is a UDP socket bound to PORT (IPv4, any address)?
it_udp_bound() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v h=":$hex" 'NR > 1 && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
        /proc/net/udp
}

# it_wait_udp_bound SECONDS PORT...: wait until all ports are bound.
it_wait_udp_bound() {
    local secs=$1
    shift
    local n=$((secs * 10)) i p ok
    for ((i = 0; i < n; i++)); do
        ok=1
        for p in "$@"; do
            it_udp_bound "$p" || { ok=0; break; }
        done
        [ "$ok" = 1 ] && return 0
        sleep 0.1
    done
    return 1
}

# it_write_key FILE: 30 random bytes, base64, mode 0600. Prints the base64.
it_write_key() {
    local f=$1 key
    key=$(head -c 30 /dev/urandom | base64 -w0)
    (umask 077 && printf '%s\n' "$key" >"$f")
    chmod 600 "$f"
    printf '%s' "$key"
}

# it_check_bin BIN: the daemon binary must exist and be executable.
it_check_bin() {
    if [ -z "${1:-}" ]; then
        echo "usage: $0 MIXCASTD_BINARY ..." >&2
        exit 2
    fi
    if [ "${MIXCAST_IT_FAKE_SENDER:-}" = ffmpeg ]; then
        return 0
    fi
    if [ ! -x "$1" ]; then
        echo "[${IT_NAME:-test}] FAIL: mixcastd binary '$1' not found or not executable" >&2
        exit 1
    fi
}
