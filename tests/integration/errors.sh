#!/usr/bin/env bash
# errors.sh MIXCASTD
#
# (a) --check-config on a set of broken configs: each exits 1 and stderr names
#     FILE:LINE and the key (or section); a valid config exits 0.
# (b) a missing key file at start (no --check-config): exits non-zero with a
#     message naming the key file path.
# (c) an output nobody listens on (ICMP port unreachable -> ECONNREFUSED):
#     mixcastd keeps running, exits 0 on SIGTERM, --stats-out reports
#     send_errors > 0, and the send-error message on stderr is rate-limited.
# (d) the same with a single-port output of three layers: each error counted
#     once (the layers' send_errors add up to the output's).
#
# Exit: 0 pass, 1 fail. IT_KEEP=1 keeps the temp dir. Ports 16300-16399.

set -u
IT_NAME=errors
. "$(dirname "$0")/lib.sh"

BIN=${1:-}
it_check_bin "$BIN"
if [ "${MIXCAST_IT_FAKE_SENDER:-}" = ffmpeg ]; then
    it_skip "errors.sh tests mixcastd itself; no fake-sender mode"
fi
it_need timeout awk grep python3

it_setup
T=$IT_TMP

# ports that nobody listens on (part c); RTCP goes to +1
NP1=16320
NP2=16322
NP3=16324 # part (d), single port

KEYF="$T/good.key"
it_write_key "$KEYF" >/dev/null

# base config; every case edits a copy. $1 = key file path
base_conf() {
    cat <<EOF
# mixcastd errors.sh base config
[daemon]
log_level = info

[source.cam]
type = testsrc
size = 640x360
fps = 30

[track.cam]
input = cam
codec = h264
layers = 640x360@30:700k, 320x180@15:150k
keyframe_interval = 1

[output.sfu]
type = rtp
track = cam
host = 127.0.0.1
ports = $NP1, $NP2
srtp_key_file = $1
EOF
}

# line number of the first line matching ERE $2 in file $1 (empty if none)
line_of() { grep -nE "$2" "$1" | head -n1 | cut -d: -f1; }
# all line numbers matching, as an ERE alternative: (7|12)
lines_of() { grep -nE "$2" "$1" | cut -d: -f1 | paste -sd'|' -; }

# run_check NAME FILE KEY LINE_ERE [ALT_LINE_ERE [EXTRA_ERE]]
#   --check-config must exit 1; stderr must contain FILE:LINE with LINE
#   matching LINE_ERE (the key's own line), or ALT_LINE_ERE (accepted with a
#   NOTE: e.g. the [section] header for an error found after parsing), and the
#   KEY (fixed string), and EXTRA_ERE if given.
run_check() {
    local name=$1 file=$2 key=$3 lre=$4 alt=${5:-} extra=${6:-}
    local err="$T/$name.stderr" out="$T/$name.stdout" rc
    timeout -k 2 15 "$BIN" --check-config -c "$file" >"$out" 2>"$err"
    rc=$?
    local ok=1 why=""
    if [ "$rc" -ne 1 ]; then
        ok=0
        why+=" exit status $rc (expected 1);"
    fi
    local fre
    fre=$(printf '%s' "$file" | sed 's/[][\.*^$(){}+?|/]/\\&/g')
    local note=""
    if grep -qE "${fre}:(${lre})([^0-9]|$)" "$err"; then
        :
    elif [ -n "$alt" ] && grep -qE "${fre}:(${alt})([^0-9]|$)" "$err"; then
        note=" [NOTE: names line ~ ($alt), not the key's line ($lre)]"
    else
        ok=0
        why+=" stderr lacks '$file:LINE' with LINE ~ ($lre${alt:+|$alt});"
    fi
    if ! grep -qF -- "$key" "$err"; then
        ok=0
        why+=" stderr does not name '$key';"
    fi
    if [ -n "$extra" ] && ! grep -qE -- "$extra" "$err"; then
        ok=0
        why+=" stderr lacks /$extra/;"
    fi
    if [ "$ok" = 1 ]; then
        it_pass "config '$name' rejected$note: $(head -n1 "$err" | cut -c1-200)"
    else
        it_fail "config '$name':$why"
        {
            echo "  --- $file:"
            nl -ba "$file" | sed 's/^/  /'
            echo "  --- stderr:"
            head -n 20 "$err" | sed 's/^/  /'
            echo "  --- stdout:"
            head -n 5 "$out" | sed 's/^/  /'
        } >&2
    fi
}

# ---------------------------------------------------------------- (a) ------
C="$T/valid.conf"
base_conf "$KEYF" >"$C"
timeout -k 2 15 "$BIN" --check-config -c "$C" >"$T/valid.stdout" 2>"$T/valid.stderr"
rc=$?
if [ "$rc" -eq 0 ]; then
    it_pass "valid config passes --check-config"
else
    it_fail "valid config: --check-config exit status $rc (expected 0)"
    sed 's/^/  /' "$T/valid.stderr" >&2
fi

# unknown key
C="$T/unknown_key.conf"
base_conf "$KEYF" | sed 's/^codec = h264$/codec = h264\nbogus_key = 1/' >"$C"
run_check unknown_key "$C" bogus_key "$(line_of "$C" '^bogus_key')"

# bad size (source)
C="$T/bad_size.conf"
base_conf "$KEYF" | sed 's/^size = 640x360$/size = 12x/' >"$C"
run_check bad_size "$C" size "$(line_of "$C" '^size = 12x')"

# bad size (in a layer)
C="$T/bad_layer_size.conf"
base_conf "$KEYF" | sed 's/^layers = .*/layers = 12x@30:700k, 320x180@15:150k/' >"$C"
run_check bad_layer_size "$C" layers "$(line_of "$C" '^layers')"

# bad bitrate
C="$T/bad_bitrate.conf"
base_conf "$KEYF" | sed 's/^layers = .*/layers = 640x360@30:12q, 320x180@15:150k/' >"$C"
run_check bad_bitrate "$C" layers "$(line_of "$C" '^layers')"

# bad value of an enumerated key
C="$T/bad_codec.conf"
base_conf "$KEYF" | sed 's/^codec = h264$/codec = h265/' >"$C"
run_check bad_codec "$C" codec "$(line_of "$C" '^codec')"

# missing required key (host): any line of the file will do
C="$T/missing_host.conf"
base_conf "$KEYF" | sed '/^host = /d' >"$C"
run_check missing_host "$C" host '[0-9]+'

# missing required key (layers)
C="$T/missing_layers.conf"
base_conf "$KEYF" | sed '/^layers = /d' >"$C"
run_check missing_layers "$C" layers '[0-9]+'

# unknown section type
C="$T/unknown_section.conf"
{
    base_conf "$KEYF"
    printf '\n[encoder.x]\nfoo = 1\n'
} >"$C"
run_check unknown_section "$C" encoder "$(line_of "$C" '^\[encoder')"

# unknown source type
C="$T/unknown_source_type.conf"
base_conf "$KEYF" | sed 's/^type = testsrc$/type = camera/' >"$C"
run_check unknown_source_type "$C" type "$(line_of "$C" '^type = camera')"

# duplicate key (either occurrence may be named)
C="$T/duplicate_key.conf"
base_conf "$KEYF" | sed 's/^codec = h264$/codec = h264\ncodec = vp8/' >"$C"
run_check duplicate_key "$C" codec "$(lines_of "$C" '^codec')"

# ports count does not match the layers (too few, too many)
C="$T/ports_too_few.conf"
base_conf "$KEYF" | sed "s/^ports = .*/ports = $NP1/" >"$C"
run_check ports_too_few "$C" ports "$(line_of "$C" '^ports')" "$(line_of "$C" '^\[output')|$(line_of "$C" '^layers')"

C="$T/ports_too_many.conf"
base_conf "$KEYF" | sed "s/^ports = .*/ports = $NP1, $NP2, 16324/" >"$C"
run_check ports_too_many "$C" ports "$(line_of "$C" '^ports')" "$(line_of "$C" '^\[output')|$(line_of "$C" '^layers')"

# both port and ports
C="$T/port_and_ports.conf"
base_conf "$KEYF" | sed "s/^ports = .*/ports = $NP1, $NP2\nport = 16326/" >"$C"
run_check port_and_ports "$C" port "$(lines_of "$C" '^ports? =')" "$(line_of "$C" '^\[output')"

# key file missing
C="$T/key_missing.conf"
base_conf "$T/no_such.key" >"$C"
run_check key_missing "$C" srtp_key_file "$(line_of "$C" '^srtp_key_file')" "$(line_of "$C" '^\[output')" 'no_such\.key'

# key file world-readable
KW="$T/world.key"
it_write_key "$KW" >/dev/null
chmod 644 "$KW"
C="$T/key_world_readable.conf"
base_conf "$KW" >"$C"
run_check key_world_readable "$C" srtp_key_file "$(line_of "$C" '^srtp_key_file')" "$(line_of "$C" '^\[output')"

# key file with bad base64
KB="$T/badb64.key"
(umask 077 && printf '%s\n' '!!!this*is*not*base64!!!' >"$KB")
C="$T/key_bad_base64.conf"
base_conf "$KB" >"$C"
run_check key_bad_base64 "$C" srtp_key_file "$(line_of "$C" '^srtp_key_file')" "$(line_of "$C" '^\[output')"

# key file with the wrong length (16 bytes instead of 30)
KL="$T/short.key"
(umask 077 && head -c 16 /dev/urandom | base64 -w0 >"$KL")
C="$T/key_wrong_length.conf"
base_conf "$KL" >"$C"
run_check key_wrong_length "$C" srtp_key_file "$(line_of "$C" '^srtp_key_file')" "$(line_of "$C" '^\[output')"

# stats_listen that start-up would refuse (or read as something else): checked at load now, so that
# --check-config finds it and a bad file never becomes a restart loop under systemd
C="$T/stats_listen_junk.conf"
base_conf "$KEYF" | sed 's/^log_level = info$/log_level = info\nstats_listen = 127.0.0.1:16390x/' >"$C"
run_check stats_listen_junk "$C" stats_listen "$(line_of "$C" '^stats_listen')" "" "got '127\.0\.0\.1:16390x'"

C="$T/stats_listen_name.conf"
base_conf "$KEYF" | sed 's/^log_level = info$/log_level = info\nstats_listen = localhost:16390/' >"$C"
run_check stats_listen_name "$C" stats_listen "$(line_of "$C" '^stats_listen')" "" "IPV4ADDR:PORT"

# a preset libx264 does not know (it refused it only when the encoder opened), and one for VP8
C="$T/bad_preset.conf"
base_conf "$KEYF" | sed 's/^codec = h264$/codec = h264\npreset = turbo/' >"$C"
run_check bad_preset "$C" preset "$(line_of "$C" '^preset')" "" "libx264 preset .*got 'turbo'"

C="$T/vp8_preset.conf"
base_conf "$KEYF" | sed 's/^codec = h264$/codec = vp8\npreset = fast/' >"$C"
run_check vp8_preset "$C" preset "$(line_of "$C" '^preset')" "" "VP8 has no presets"

# ---------------------------------------------------------------- (b) ------
C="$T/key_missing.conf"
timeout -k 2 15 "$BIN" -c "$C" >"$T/start_nokey.stdout" 2>"$T/start_nokey.stderr"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -lt 128 ] &&
    grep -qF "$T/no_such.key" "$T/start_nokey.stderr"; then
    it_pass "start with a missing key file: exit $rc, stderr names $T/no_such.key"
else
    it_fail "start with a missing key file: exit status $rc (expected non-zero, not a" \
        "time-out/crash) and stderr must name $T/no_such.key"
    sed 's/^/  /' "$T/start_nokey.stderr" | head -n 20 >&2
fi

# ---------------------------------------------------------------- (c) ------
for p in $NP1 $((NP1 + 1)) $NP2 $((NP2 + 1)); do
    if it_udp_bound "$p"; then
        it_fail "UDP port $p is in use; the 'nobody listens' case cannot run"
        exit 1
    fi
done
C="$T/nolistener.conf"
base_conf "$KEYF" >"$C"
STATS="$T/stats.json"
"$BIN" -c "$C" --stats-out "$STATS" >"$T/nolistener.stdout" 2>"$T/nolistener.stderr" &
DPID=$!
it_track_pid "$DPID"
it_track_log "$T/nolistener.stderr"
it_track_log "$T/nolistener.stdout"
RUN=3
sleep "$RUN"
if kill -0 "$DPID" 2>/dev/null; then
    it_pass "mixcastd still running after ${RUN}s of sending to ports nobody listens on"
    if it_stop_pid "$DPID" TERM 10; then
        if [ "$IT_RC" -eq 0 ]; then
            it_pass "mixcastd exited 0 on SIGTERM"
        else
            it_fail "mixcastd exit status $IT_RC after SIGTERM (expected 0)"
        fi
    else
        it_fail "mixcastd did not exit within 10 s of SIGTERM"
    fi
else
    wait "$DPID"
    drc=$?
    it_untrack_pid "$DPID"
    it_fail "mixcastd died (exit status $drc) while sending to ports nobody listens on"
fi

# the output's start-up line names one SSRC per layer that exists (it printed "a/b/0" for two layers)
if grep -qE 'output: sfu: 2 layer\(s\) .*, SSRCs [0-9]+/[0-9]+$' "$T/nolistener.stderr"; then
    it_pass "output log line lists the 2 layers' SSRCs: $(grep -m1 -E 'output: sfu:' "$T/nolistener.stderr")"
else
    it_fail "output log line of 2 layers does not end in 'SSRCs A/B': $(grep -m1 -E 'output: sfu:' "$T/nolistener.stderr")"
fi

nerr=$(grep -ciE 'send|refused|unreachable' "$T/nolistener.stderr")
nall=$(wc -l <"$T/nolistener.stderr")
it_log "stderr: $nall lines, $nerr about send errors"
if [ "$nerr" -ge 1 ]; then
    it_pass "stderr reports the send error: $(grep -iE 'send|refused|unreachable' "$T/nolistener.stderr" | head -n1 | cut -c1-200)"
else
    it_fail "stderr has no send-error message (send|refused|unreachable)"
fi
if [ "$nerr" -lt 20 ]; then
    it_pass "send-error messages rate-limited ($nerr lines in ${RUN}s)"
else
    it_fail "send-error messages not rate-limited: $nerr lines in ${RUN}s (max 19)"
fi

if [ ! -s "$STATS" ]; then
    it_fail "--stats-out file $STATS missing or empty"
else
    python3 - "$STATS" <<'EOF'
import json, sys
path = sys.argv[1]
try:
    with open(path) as f:
        data = json.load(f)
except Exception as e:
    print(f"[errors] FAIL: stats file is not JSON: {e}", file=sys.stderr)
    sys.exit(1)
outs = data.get("outputs") if isinstance(data, dict) else None
if isinstance(outs, dict):
    outs = [dict(v, name=k) if isinstance(v, dict) else {"name": k} for k, v in outs.items()]
if not isinstance(outs, list) or not outs:
    print("[errors] FAIL: stats JSON has no \"outputs\" list:", json.dumps(data)[:2000], file=sys.stderr)
    sys.exit(1)
bad = False
for o in outs:
    n = o.get("send_errors") if isinstance(o, dict) else None
    name = o.get("name") if isinstance(o, dict) else None
    if not isinstance(n, int) or n <= 0:
        print(f"[errors] FAIL: output {name!r}: send_errors = {n!r} (expected > 0):",
              json.dumps(o)[:1000], file=sys.stderr)
        bad = True
    else:
        print(f"[errors] PASS: output {name!r} send_errors = {n}", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
    [ $? -eq 0 ] || {
        it_fail "stats JSON check"
        head -c 3000 "$STATS" >&2
        echo >&2
    }
fi

# ---------------------------------------------------------------- (d) ------
# A single-port output (every layer to one port, told apart by SSRC) nobody listens on: each ICMP
# error is counted once, for the output and for the one layer whose packet it was about, so the
# output's send_errors is the sum over its layers (it was n_layers times the output's errors).
for p in $NP3 $((NP3 + 1)); do
    if it_udp_bound "$p"; then
        it_fail "UDP port $p is in use; the single-port 'nobody listens' case cannot run"
        exit 1
    fi
done
C="$T/nolistener_single.conf"
base_conf "$KEYF" | sed -e "s/^ports = .*/port = $NP3/" \
    -e 's/^layers = .*/layers = 640x360@30:700k, 320x180@15:150k, 160x90@15:100k/' >"$C"
STATS1="$T/stats_single.json"
"$BIN" -c "$C" --stats-out "$STATS1" >"$T/single.stdout" 2>"$T/single.stderr" &
DPID=$!
it_track_pid "$DPID"
it_track_log "$T/single.stderr"
sleep 2
if it_stop_pid "$DPID" TERM 10 && [ "$IT_RC" -eq 0 ]; then
    it_pass "single-port output, nobody listening: mixcastd exited 0 on SIGTERM"
else
    it_fail "single-port output, nobody listening: mixcastd did not exit 0 on SIGTERM (${IT_RC:-?})"
fi
if grep -qE 'output: sfu: 3 layer\(s\) .*, SSRCs [0-9]+/[0-9]+/[0-9]+$' "$T/single.stderr"; then
    it_pass "output log line lists the 3 layers' SSRCs: $(grep -m1 -E 'output: sfu:' "$T/single.stderr")"
else
    it_fail "output log line of 3 layers does not end in 'SSRCs A/B/C': $(grep -m1 -E 'output: sfu:' "$T/single.stderr")"
fi
python3 - "$STATS1" <<'EOF'
import json, sys
try:
    o = json.load(open(sys.argv[1]))["outputs"][0]
    total, icmp = o["send_errors"], o["icmp_errors"]
    per_layer = [l["send_errors"] for l in o["layers"]]
except Exception as e:
    print(f"[errors] FAIL: single-port stats: {e}", file=sys.stderr)
    sys.exit(1)
ok = len(per_layer) == 3 and icmp > 0 and total >= icmp and sum(per_layer) == total
print(f"[errors] {'PASS' if ok else 'FAIL'}: single-port output: send_errors {total} (icmp_errors {icmp}), "
      f"per layer {per_layer}: expected 3 layers, icmp_errors > 0 and the layers summing to the output's count",
      file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
[ $? -eq 0 ] || it_fail "single-port send error attribution"

if [ "$IT_FAILED" -ne 0 ]; then
    exit 1
fi
it_log "all checks passed"
exit 0
