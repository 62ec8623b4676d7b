# Installation layout and the Debian package (`cpack` in the build directory -> mixcast_VERSION_ARCH.deb):
# mixcastd, its systemd units, the example configuration under /etc/mixcast (conffiles), the manual pages
# mixcastd(8) and mixcast.ini(5) (the latter made from docs/CONFIG.md by tools/md2man.py), and the
# dependencies from dpkg-shlibdeps. Build it with -DCMAKE_INSTALL_PREFIX=/usr (tools/test does).
include(GNUInstallDirs)
set(MIXCAST_CONFDIR /etc/mixcast CACHE PATH "Where the units look for the configuration")
set(MIXCAST_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
set(MIXCAST_MAINTAINER "mixcast developers <mixcast@example.org>" CACHE STRING "The package's Maintainer:")
find_package(Python3 COMPONENTS Interpreter)

foreach(unit mixcastd.service mixcastd@.service)
  configure_file(systemd/${unit}.in ${CMAKE_CURRENT_BINARY_DIR}/systemd/${unit} @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/systemd/${unit} DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endforeach()
install(FILES configs/mixcast.ini configs/mediasoup-plain.ini DESTINATION ${MIXCAST_CONFDIR})

configure_file(man/mixcastd.8.in ${CMAKE_CURRENT_BINARY_DIR}/man/mixcastd.8 @ONLY)
configure_file(man/mixcast-probe.1.in ${CMAKE_CURRENT_BINARY_DIR}/man/mixcast-probe.1 @ONLY)
set(MIXCAST_MAN5 ${CMAKE_CURRENT_BINARY_DIR}/man/mixcast.ini.5)
add_custom_command(OUTPUT ${MIXCAST_MAN5}
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/tools/md2man.py ${CMAKE_CURRENT_SOURCE_DIR}/docs/CONFIG.md
          ${PROJECT_VERSION} > ${MIXCAST_MAN5}
  DEPENDS docs/CONFIG.md tools/md2man.py VERBATIM)
# man pages and the changelog are gzipped as Debian policy wants (lintian: uncompressed-manual-page)
foreach(page man/mixcastd.8 man/mixcast.ini.5 man/mixcast-probe.1)
  add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${page}.gz
    COMMAND gzip -9n -c ${CMAKE_CURRENT_BINARY_DIR}/${page} > ${CMAKE_CURRENT_BINARY_DIR}/${page}.gz
    DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/${page} VERBATIM)
endforeach()
add_custom_target(mixcast_man ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/man/mixcastd.8.gz
                                          ${CMAKE_CURRENT_BINARY_DIR}/man/mixcast.ini.5.gz
                                          ${CMAKE_CURRENT_BINARY_DIR}/man/mixcast-probe.1.gz)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/man/mixcastd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/man/mixcast.ini.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
if(TARGET mixcast-probe OR (DRM_FOUND AND VADRM_FOUND))
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/man/mixcast-probe.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

set(MIXCAST_DOCDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/mixcast)
configure_file(packaging/deb/changelog.in ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog @ONLY)
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz
  COMMAND gzip -9n -c ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog > ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz
  DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog VERBATIM)
add_custom_target(mixcast_changelog ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz packaging/deb/copyright DESTINATION ${MIXCAST_DOCDIR})
install(FILES README.md docs/CONFIG.md DESTINATION ${MIXCAST_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mixcast)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${MIXCAST_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "camera and screen to a video call as simulcast RTP/SRTP")
set(CPACK_PACKAGE_DESCRIPTION "mixcastd captures a camera, a screen, a test pattern or a file, encodes up to
three simulcast layers (H.264 or VP8) on threads of their own and sends them as
RTP or SRTP to an SFU such as Janus or mediasoup. It runs as a sandboxed
systemd service with readiness notification and a watchdog.")
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# deb-systemd-helper/-invoke in the maintainer scripts; groupadd (passwd) is Priority: required
set(CPACK_DEBIAN_PACKAGE_DEPENDS "init-system-helpers (>= 1.54~)")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
configure_file(packaging/deb/conffiles.in ${CMAKE_CURRENT_BINARY_DIR}/packaging/conffiles @ONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_BINARY_DIR}/packaging/conffiles
    ${CMAKE_CURRENT_SOURCE_DIR}/packaging/deb/postinst ${CMAKE_CURRENT_SOURCE_DIR}/packaging/deb/prerm
    ${CMAKE_CURRENT_SOURCE_DIR}/packaging/deb/postrm)
include(CPack)
