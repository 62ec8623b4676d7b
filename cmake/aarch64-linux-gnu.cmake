# Cross-build for arm64 (Raspberry Pi OS is Debian arm64) with Debian's gcc-aarch64-linux-gnu and the arm64
# multiarch -dev packages (tools/install-deps --arm64):
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_INSTALL_PREFIX=/usr
# Tests run under qemu-aarch64-static (qemu-user-static), which finds the arm64 loader and libraries where
# multiarch put them (/lib/ld-linux-aarch64.so.1, /usr/lib/aarch64-linux-gnu): no sysroot to prepare.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)
# cpack's dpkg-shlibdeps reads the arm64 libraries' symbols files; the package's architecture
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
# pkg-config sees only arm64 .pc files, and the libsrtp2 one from this directory: Debian's libsrtp2-dev is
# not Multi-Arch: same (installing libsrtp2-dev:arm64 removes the amd64 one), so the arm64 build uses the
# arm64 runtime package libsrtp2-1:arm64 and the amd64 package's headers, which do not differ by architecture.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig:${CMAKE_CURRENT_LIST_DIR}/aarch64-linux-gnu/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
