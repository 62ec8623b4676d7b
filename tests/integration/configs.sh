#!/usr/bin/env bash
# configs.sh MIXCASTD CONFIGS_DIR
#
# Every example in configs/ passes `mixcastd --check-config`, with its srtp_key_file pointed at a fresh key
# (the examples name /etc/mixcast/srtp.key). Devices need not exist: sources are opened at start, not at
# the check. The examples are written for the systemd unit, which provides StateDirectory=: so does this
# check ($STATE_DIRECTORY, a fresh folder). Exit: 0 pass, 1 fail.
set -u
IT_NAME=configs
. "$(dirname "$0")/lib.sh"
BIN=${1:-}
DIR=${2:-}
it_check_bin "$BIN"
[ -d "$DIR" ] || { echo "usage: $0 MIXCASTD CONFIGS_DIR" >&2; exit 2; }
it_setup
it_write_key "$IT_TMP/srtp.key" >/dev/null
mkdir -p "$IT_TMP/state"
export STATE_DIRECTORY="$IT_TMP/state"
n=0
for f in "$DIR"/*.ini; do
    name=$(basename "$f")
    sed "s|^srtp_key_file *=.*|srtp_key_file = $IT_TMP/srtp.key|" "$f" >"$IT_TMP/$name"
    if timeout -k 2 15 "$BIN" --check-config -c "$IT_TMP/$name" >"$IT_TMP/$name.out" 2>&1; then
        it_pass "$name: $(cat "$IT_TMP/$name.out")"
    else
        it_fail "$name: $(cat "$IT_TMP/$name.out")"
    fi
    n=$((n + 1))
done
[ "$n" -gt 0 ] || it_fail "no configs in $DIR"
exit "$IT_FAILED"
