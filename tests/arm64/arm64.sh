#!/usr/bin/env bash
# The arm64 cross-build and its tests under qemu-aarch64-static (label arm64; tests/arm64/CMakeLists.txt):
#   arm64.sh build SRC DIR     configure + build DIR with cmake/aarch64-linux-gnu.cmake
#   arm64.sh unit DIR          the unit tests of DIR (ctest runs them through qemu: CMAKE_CROSSCOMPILING_EMULATOR)
#   arm64.sh e2e DIR           testsrc -> libx264 (arm64 mixcastd under qemu) -> RTP -> the host's FFmpeg decodes
#   arm64.sh package DIR       cpack: an arm64 .deb with arm64 dependencies
# Exit 0 pass, 1 fail, 77 skip: no cross compiler, no qemu-aarch64-static or no arm64 libraries (install them
# with tools/install-deps --arm64).
set -uo pipefail
step=$1
need() {
	for t in aarch64-linux-gnu-gcc qemu-aarch64-static; do
		command -v $t >/dev/null || { echo "SKIP: $t missing (tools/install-deps --arm64)"; exit 77; }
	done
	[[ -e /usr/lib/aarch64-linux-gnu/pkgconfig/libavcodec.pc ]] ||
		{ echo "SKIP: libavcodec-dev:arm64 missing (tools/install-deps --arm64)"; exit 77; }
}
need
is_arm64() { aarch64-linux-gnu-readelf -h "$1" 2>/dev/null | grep -q 'Machine: *AArch64'; }
case $step in
build)
	src=$2 dir=$3
	start=$(date +%s)
	cmake -S "$src" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/aarch64-linux-gnu.cmake" -DCMAKE_INSTALL_PREFIX=/usr \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIXCAST_WERROR=ON -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >"$dir.cmake.log" 2>&1 ||
		{ cat "$dir.cmake.log"; exit 1; }
	cmake --build "$dir" -j"$(nproc)" || exit 1
	is_arm64 "$dir/mixcastd" || { echo "FAIL: $dir/mixcastd is not an arm64 binary"; exit 1; }
	echo "arm64 build: $(($(date +%s) - start)) s"
	;;
unit)
	dir=$2
	ctest --test-dir "$dir" -L unit --output-on-failure --timeout 300 -j"$(nproc)"
	;;
package)
	dir=$2
	rm -f "$dir"/mixcast_*.deb
	(cd "$dir" && cpack -G DEB >/dev/null) || exit 1
	deb=$(ls "$dir"/mixcast_*_arm64.deb) || { echo "FAIL: no arm64 .deb"; exit 1; }
	arch=$(dpkg-deb -f "$deb" Architecture) depends=$(dpkg-deb -f "$deb" Depends)
	echo "$deb: Architecture: $arch; Depends: $depends"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/mixcastd >"$dir/mixcastd.packaged"
	[[ $arch == arm64 && $depends == *libavcodec59* && $depends == *libsrtp2-1* ]] && is_arm64 "$dir/mixcastd.packaged" ||
		{ echo "FAIL: not an arm64 package with its library dependencies"; exit 1; }
	echo "PASS: arm64 package"
	;;
e2e)
	dir=$2
	command -v ffmpeg >/dev/null || { echo "SKIP: ffmpeg missing"; exit 77; }
	if [[ ${MIXCAST_IT_NETNS:-} != 1 && $EUID -eq 0 ]] && command -v unshare >/dev/null; then
		MIXCAST_IT_NETNS=1 exec unshare -n "$0" "$@"
	fi
	[[ ${MIXCAST_IT_NETNS:-} == 1 ]] && ip link set lo up
	tmp=$(mktemp -d /tmp/mixcast-arm64.XXXXXX)
	trap 'kill $sender $rx 2>/dev/null; rm -rf "$tmp"' EXIT
	sender= rx=
	port=16900
	cat >"$tmp/a.ini" <<-INI
	[source.cam]
	type = testsrc
	size = 320x180
	fps = 15
	[track.video]
	input = cam
	codec = h264
	encoder = software
	preset = ultrafast
	layers = 320x180@15:300k
	keyframe_interval = 1
	[output.rx]
	type = rtp
	track = video
	host = 127.0.0.1
	ports = $port
	INI
	printf 'v=0\no=- 0 0 IN IP4 127.0.0.1\ns=arm64\nc=IN IP4 127.0.0.1\nt=0 0\nm=video %d RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1\n' $port >"$tmp/a.sdp"
	timeout 30 ffmpeg -nostdin -hide_banner -protocol_whitelist file,udp,rtp -i "$tmp/a.sdp" -vf showinfo -f null - \
		>"$tmp/rx.log" 2>&1 &
	rx=$!
	sleep 1
	timeout --preserve-status -s TERM 12 qemu-aarch64-static "$dir/mixcastd" -c "$tmp/a.ini" >"$tmp/tx.log" 2>&1 &
	sender=$!
	wait $sender; rc=$?
	sleep 1
	kill -INT $rx 2>/dev/null; wait $rx
	frames=$(grep -c 'showinfo.*n: *[0-9]* .*s:320x180' "$tmp/rx.log")
	is_arm64 "$dir/mixcastd" || { echo "FAIL: not arm64"; exit 1; }
	echo "arm64 mixcastd under qemu-aarch64 (exit $rc after SIGTERM): FFmpeg decoded $frames frames of 320x180"
	grep -E 'packets sent|error' "$tmp/tx.log" | tail -3
	# 12 s at 15 fps is 180 frames; under emulation on a loaded 2-core machine libx264 keeps up with most
	[[ $rc -eq 0 ]] && [[ $frames -ge 60 ]] || { tail -n 20 "$tmp/tx.log" "$tmp/rx.log"; echo FAIL; exit 1; }
	echo PASS
	;;
*) echo "usage: $0 build|unit|e2e|package ..." >&2; exit 2 ;;
esac
