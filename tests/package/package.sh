#!/usr/bin/env bash
# The Debian package, built and installed: a build tree of its own (prefix /usr, as the package needs),
# `cpack`, the control data (conffiles, dependencies from dpkg-shlibdeps), lintian without a tag, the
# units' sandbox score, then the package unpacked into a throwaway root (dpkg -x) and its mixcastd run
# there (chroot, with the host's shared libraries bound in a private mount namespace): --version and
# --check-config on the installed example configurations, with a key made as the postinst makes it.
#   usage: package.sh SOURCE_DIR WORK_DIR      exit 0 pass, 1 fail, 77 skip (not root, no dpkg-deb)
set -euo pipefail
src=$1 work=$2
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root (chroot)"; exit 77; }
for t in dpkg-deb cpack chroot ldd; do
	command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
fail=0
check() { if eval "$2"; then echo "PASS: $1"; else echo "FAIL: $1"; fail=1; fi; }

build=$work/build
mkdir -p "$build"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON ${MIXCAST_PACKAGE_CMAKE_ARGS:-} >"$work/cmake.log"
targets=(mixcastd mixcast_man mixcast_changelog)
# mixcast-probe is built where libdrm and libva are (install-deps has them; an arm64 cross-build may not)
grep -q 'mixcast-probe' "$build/Makefile" 2>/dev/null && targets+=(mixcast-probe)
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$work/build.log"
rm -f "$build"/mixcast_*.deb
(cd "$build" && cpack -G DEB >"$work/cpack.log")
deb=$(ls "$build"/mixcast_*.deb)
echo "package: $deb"
version=$(dpkg-deb -f "$deb" Version) arch=$(dpkg-deb -f "$deb" Architecture)
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
check "dependencies from dpkg-shlibdeps (libavcodec, libsrtp2, libsystemd)" \
	'[[ $depends == *libavcodec59* && $depends == *libsrtp2-1* && $depends == *libsystemd0* ]]'
conffiles=$(dpkg-deb -I "$deb" conffiles)
check "the example configurations are conffiles" \
	'[[ $conffiles == *"/etc/mixcast/mixcast.ini"* && $conffiles == *"/etc/mixcast/mediasoup-plain.ini"* ]]'
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/mixcastd ./usr/lib/systemd/system/mixcastd.service ./usr/lib/systemd/system/mixcastd@.service \
	./usr/share/man/man8/mixcastd.8.gz ./usr/share/man/man5/mixcast.ini.5.gz ./usr/share/doc/mixcast/copyright; do
	check "the package has $f" '[[ $contents == *" $f"* ]]'
done
[[ ${targets[*]} != *mixcast-probe* ]] || check "the package has ./usr/bin/mixcast-probe" '[[ $contents == *" ./usr/bin/mixcast-probe"* ]]'

if command -v lintian >/dev/null; then
	tags=$(lintian --pedantic "$deb" 2>&1 | grep -v 'running with root privileges' || true)
	[[ -z $tags ]] || printf '%s\n' "$tags"
	check "lintian --pedantic reports nothing" '[[ -z $tags ]]'
else
	echo "lintian not installed: not checked (tools/install-deps installs it)"
fi

root=$(mktemp -d /var/tmp/mixcast-pkgroot.XXXXXX)
trap 'rm -rf --one-file-system "$root"' EXIT
dpkg -x "$deb" "$root"
if command -v systemd-analyze >/dev/null; then
	for unit in mixcastd.service mixcastd@.service; do
		score=$(systemd-analyze security --offline=yes --root="$root" "$root/usr/lib/systemd/system/$unit" 2>/dev/null |
			sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
		echo "$unit: exposure $score"
		check "$unit: systemd-analyze security <= 1.5 (got ${score:-none})" \
			'[[ -n $score ]] && awk -v s="$score" "BEGIN { exit !(s <= 1.5) }"'
	done
fi
man_out=$(MANWIDTH=80 man -l "$root/usr/share/man/man5/mixcast.ini.5.gz" 2>&1 || true)
check "mixcast.ini(5) renders and lists [track.NAME] keys" '[[ $man_out == *keyframe_interval* ]]'

# The postinst's key, made the same way (dpkg -x runs no maintainer script)
(umask 027; head -c 30 /dev/urandom | base64 >"$root/etc/mixcast/srtp.key")
mkdir -p "$root/proc"
# The libraries the installed binaries link, copied into the root at their paths (with the loader): no bind
# mounts, so no mount namespace, which a chroot whose / is not a mount point (a fresh-debian-check root, a
# container) cannot make private.
for bin in "$root/usr/bin/mixcastd" "$root/usr/bin/mixcast-probe"; do
	[[ -x $bin ]] || continue
	ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
[[ -e $root/lib ]] || ln -s usr/lib "$root/lib"
[[ -e $root/lib64 || ! -d /usr/lib64 ]] || ln -s usr/lib64 "$root/lib64"
run_in_root() { chroot "$root" "$@"; }
out=$(run_in_root /usr/bin/mixcastd --version 2>&1) || true
echo "$out"
check "the installed mixcastd --version says $version" '[[ $out == "mixcastd $version" ]]'
# as the units run them: mediasoup-plain.ini (fixed SSRCs) needs the state directory systemd gives the instance
for conf in mixcast.ini mediasoup-plain.ini; do
	state=/var/lib/mixcast
	[[ $conf == mixcast.ini ]] || state=/var/lib/mixcast/${conf%.ini}
	mkdir -p "$root$state"
	out=$(STATE_DIRECTORY=$state run_in_root /usr/bin/mixcastd --check-config -c /etc/mixcast/$conf 2>&1) && rc=0 || rc=$?
	echo "$out"
	check "the installed mixcastd --check-config -c /etc/mixcast/$conf exits 0" '[[ $rc -eq 0 && $out == *"configuration OK"* ]]'
done
echo "$arch package $version: $([[ $fail -eq 0 ]] && echo ok || echo FAILED)"
exit $fail
