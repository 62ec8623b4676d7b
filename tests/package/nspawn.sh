#!/usr/bin/env bash
# The .deb under a real systemd: a minimal Debian 12 (debootstrap; fresh-debian-check's cached base when there
# is one) with systemd and the package installed by apt, booted with systemd-nspawn (no network but its own
# loopback). Inside, a oneshot unit records what systemd says: mixcastd.service active (Type=notify: READY=1
# came), its STATUS=, the sandbox score, `systemctl reload` of a changed and of an invalid file; then, with the test-only MIXCAST_TEST_STALL_LAYER=1:30 and
# WatchdogSec=4s in a drop-in, that systemd's watchdog kills the stalled daemon (SIGABRT) and restarts it.
#   usage: nspawn.sh DEB WORK_DIR        exit 0 pass, 1 fail, 77 skip (not root, no systemd-nspawn/debootstrap)
set -uo pipefail
deb=$(readlink -f "$1") work=$2
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
for t in systemd-nspawn debootstrap; do command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }; done
# systemd-nspawn makes its mounts private from /: inside a chroot whose / is not a mount point (the
# fresh-debian-check root) it cannot; a machine or a container can
mountpoint -q / || { echo "SKIP: / is not a mount point (a chroot): systemd-nspawn cannot run here"; exit 77; }
R=$work/root
rm -rf --one-file-system "$R"; mkdir -p "$R"
base=${FRESH_CACHE:-/var/tmp/fresh-debian}/base.tar
if [[ -s $base ]]; then
	tar -C "$R" -xf "$base"
else
	mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	debootstrap --variant=minbase bookworm "$R" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
		{ echo "FAIL: debootstrap (see $work/debootstrap.log)"; exit 1; }
fi
cp /etc/resolv.conf "$R/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/" 2>/dev/null
cp "$deb" "$R/tmp/mixcast.deb"
mount -t proc proc "$R/proc" && mount --bind /dev "$R/dev"
chroot "$R" /bin/bash -c 'DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus /tmp/mixcast.deb' \
	>"$work/apt.log" 2>&1; rc=$?
umount "$R/proc" "$R/dev"
[[ $rc -eq 0 ]] || { tail -n 20 "$work/apt.log"; echo "FAIL: apt in the container root"; exit 1; }
cat >"$R/usr/local/bin/report" <<'IN'
#!/bin/sh
exec >/var/log/report 2>&1
for i in $(seq 1 120); do systemctl is-active -q mixcastd && break; sleep 0.5; done
echo "first: $(systemctl show mixcastd -p ActiveState --value) status=$(systemctl show mixcastd -p StatusText --value)"
systemd-analyze security mixcastd | tail -n 1
# systemctl reload (ExecReload: mixcastd --reload checks the file, then SIGHUP): a bitrate change goes live in
# the same process; an invalid file fails the reload and the daemon runs on
pid=$(systemctl show mixcastd -p MainPID --value)
cp /etc/mixcast/mixcast.ini /tmp/mixcast.ini.orig
sed -i 's/320x180@15:150k/320x180@15:200k/' /etc/mixcast/mixcast.ini
systemctl reload mixcastd; rc=$?
echo "reload: rc=$rc $(systemctl show mixcastd -p ActiveState --value) same_pid=$([ "$(systemctl show mixcastd -p MainPID --value)" = "$pid" ] && echo yes || echo no)"
echo 'no_such_key = 1' >>/etc/mixcast/mixcast.ini
systemctl reload mixcastd; rc=$?
echo "bad reload: rc=$rc $(systemctl show mixcastd -p ActiveState --value) same_pid=$([ "$(systemctl show mixcastd -p MainPID --value)" = "$pid" ] && echo yes || echo no)"
cp /tmp/mixcast.ini.orig /etc/mixcast/mixcast.ini
journalctl -u mixcastd --no-pager | grep -E "bitrate 150k -> 200k|change\(s\) applied|no_such_key"
mkdir -p /run/systemd/system/mixcastd.service.d
printf '[Service]\nEnvironment=MIXCAST_TEST_STALL_LAYER=1:30\nWatchdogSec=4s\n' >/run/systemd/system/mixcastd.service.d/stall.conf
systemctl daemon-reload; systemctl restart mixcastd
for i in $(seq 1 60); do [ "$(systemctl show mixcastd -p NRestarts --value)" -ge 1 ] && break; sleep 0.5; done
echo "stall: restarts=$(systemctl show mixcastd -p NRestarts --value)"
journalctl -u mixcastd --no-pager | grep -E "READY=1|stalled|Watchdog timeout|SIGABRT|status=6/ABRT|Scheduled restart"
systemctl poweroff
IN
chmod +x "$R/usr/local/bin/report"
printf '[Unit]\nAfter=mixcastd.service\n[Service]\nType=oneshot\nExecStart=/usr/local/bin/report\n[Install]\nWantedBy=multi-user.target\n' \
	>"$R/etc/systemd/system/report.service"
ln -sf /etc/systemd/system/report.service "$R/etc/systemd/system/multi-user.target.wants/report.service"
# --register=no --keep-unit: no systemd (machined, a system bus) on the host to register with
timeout 180 systemd-nspawn -q -D "$R" --register=no --keep-unit --private-network -b >"$work/console.log" 2>&1
rep=$(cat "$R/var/log/report" 2>/dev/null)
echo "$rep"
fail=0
check() { if eval "$2"; then echo "PASS: $1"; else echo "FAIL: $1"; fail=1; fi; }
check "mixcastd.service active under systemd (READY=1), STATUS= streaming" '[[ $rep == *"first: active status=streaming 3 layers to 127.0.0.1"* ]]'
check "systemd-analyze security inside: 1.4" '[[ $rep == *"exposure level for mixcastd.service: 1.4"* ]]'
check "the stalled daemon's pings stop" '[[ $rep == *"stalled, watchdog pings stop"* ]]'
check "systemctl reload: live in the same process" '[[ $rep == *"reload: rc=0 active same_pid=yes"* && $rep == *"bitrate 150k -> 200k"* ]]'
check "systemctl reload of an invalid file fails; the daemon runs on" '[[ $rep == *"bad reload: rc="[1-9]*" active same_pid=yes"* && $rep == *"no_such_key"* ]]'
check "systemd's watchdog kills it and restarts it" '[[ $rep == *"Watchdog timeout"* && $rep == *"Scheduled restart"* ]]'
rm -rf --one-file-system "$R"
exit $fail
