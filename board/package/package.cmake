# The Debian package (CPack DEB): `tools/package [amd64|arm64]`, or `cpack -G DEB` in a build
# directory. Included from the top-level CMakeLists.txt after every target is defined.
# Contents (paths for Debian bookworm / Raspberry Pi OS bookworm):
#   /usr/bin/chronus, /usr/bin/chronusctl (when that target exists)
#   /usr/lib/<multiarch>/alsa-lib/libasound_module_pcm_chronus_vcard.so   the virtual card
#   /usr/share/chronus/board/*.toml                                        board files
#   /usr/share/chronus/systemd/{rpi,watchdog}.conf                         optional drop-ins
#   /lib/systemd/system/chronus.service, /usr/lib/sysusers.d/chronus.conf, /lib/udev/rules.d/...
#   /lib/systemd/system/chronus-cpu-performance.service (optional tuning, not enabled)
#   /etc/chronus/chronus.toml (conffile: the board override)
#   /usr/share/doc/chronus/                                                README files
# Maintainer scripts: board/package/{postinst,prerm,postrm}.
# ALSA's plugin directory, whatever CMAKE_INSTALL_PREFIX (hal/vcard/CMakeLists.txt: the firmware
# looks there relative to its own directory).
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(CHRONUS_ALSA_PLUGIN_DIR lib/${CMAKE_LIBRARY_ARCHITECTURE}/alsa-lib)
else()
  set(CHRONUS_ALSA_PLUGIN_DIR lib/alsa-lib)
endif()

install(TARGETS chronus RUNTIME DESTINATION bin COMPONENT firmware)
if(TARGET chronusctl)
  install(TARGETS chronusctl RUNTIME DESTINATION bin COMPONENT firmware)
endif()
install(TARGETS chronus_vcard_plugin LIBRARY DESTINATION ${CHRONUS_ALSA_PLUGIN_DIR}
        COMPONENT firmware)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/board/ DESTINATION share/chronus/board COMPONENT firmware
        FILES_MATCHING PATTERN "*.toml" PATTERN "systemd" EXCLUDE PATTERN "package" EXCLUDE
        PATTERN "tuning" EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/board/systemd/rpi.conf
              ${PROJECT_SOURCE_DIR}/board/systemd/watchdog.conf
        DESTINATION share/chronus/systemd COMPONENT firmware)
install(FILES ${PROJECT_SOURCE_DIR}/board/systemd/chronus.service
        DESTINATION /lib/systemd/system COMPONENT firmware)
install(FILES ${PROJECT_SOURCE_DIR}/board/systemd/chronus.sysusers
        DESTINATION /usr/lib/sysusers.d RENAME chronus.conf COMPONENT firmware)
install(FILES ${PROJECT_SOURCE_DIR}/board/package/60-chronus-gpio-spi.rules
        DESTINATION /lib/udev/rules.d COMPONENT firmware)
install(FILES ${PROJECT_SOURCE_DIR}/board/package/chronus.toml
        DESTINATION /etc/chronus COMPONENT firmware)
install(FILES ${PROJECT_SOURCE_DIR}/board/README.md DESTINATION share/doc/chronus
        RENAME README.boards.md COMPONENT firmware)
install(FILES ${PROJECT_SOURCE_DIR}/board/systemd/README.md DESTINATION share/doc/chronus
        RENAME README.service.md COMPONENT firmware)
install(FILES ${PROJECT_SOURCE_DIR}/board/tuning/README.md DESTINATION share/doc/chronus
        RENAME README.tuning.md COMPONENT firmware)
# Optional boot-time tuning, installed but not enabled (board/tuning/README.md).
install(FILES ${PROJECT_SOURCE_DIR}/board/tuning/chronus-cpu-performance.service
        DESTINATION /lib/systemd/system COMPONENT firmware)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME chronus)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Chronus developers <chronus@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Chronus synthesizer firmware for the Raspberry Pi")
set(CPACK_PACKAGE_DESCRIPTION
    "Polyphonic synthesizer firmware: boots into a playing instrument on a Raspberry Pi 4/5\n"
    "(HiFiBerry DAC, headphone or HDMI output), played over OSC, recording to the SD card;\n"
    "on any other Linux machine it plays on its own paced virtual sound card.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # chronus_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION sound)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64)$")
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
endif()
# Depends: the shared libraries' packages (dpkg-shlibdeps; multiarch finds the :arm64 ones), plus
# systemd for the unit and systemd-sysusers.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "alsa-utils")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/board/package/postinst ${PROJECT_SOURCE_DIR}/board/package/prerm
    ${PROJECT_SOURCE_DIR}/board/package/postrm ${PROJECT_SOURCE_DIR}/board/package/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/package)
include(CPack)
