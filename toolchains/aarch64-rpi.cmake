# Cross-compiling Chronus for the Raspberry Pi 4 and 5 (Raspberry Pi OS bookworm 64-bit, which is
# Debian bookworm arm64) on a Debian bookworm x86-64 machine, with Debian multiarch: no sysroot.
# The compilers search /usr/include/aarch64-linux-gnu and /usr/lib/aarch64-linux-gnu, and
# aarch64-linux-gnu-pkg-config finds the :arm64 packages' .pc files.
# Dependencies: tools/install-deps --cross. Presets: rpi-release, rpi-test (CMakePresets.json).
#
# -mcpu=cortex-a72 (Pi 4's core): the same binary runs on the Pi 5 (cortex-a76). A cortex-a76
# build uses LSE atomics and dies with SIGILL on a Pi 4.
# Tests and gtest_discover_tests run under qemu-aarch64 with the Pi 4's CPU model (qemu's default
# "max" CPU would hide instructions a Pi 4 lacks) and / as the prefix for the arm64 loader and
# libraries (no binfmt_misc needed).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(PKG_CONFIG_EXECUTABLE aarch64-linux-gnu-pkg-config CACHE FILEPATH "pkg-config for arm64")
set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-a72")
set(CMAKE_CXX_FLAGS_INIT "-mcpu=cortex-a72")
set(CMAKE_CROSSCOMPILING_EMULATOR "qemu-aarch64;-cpu;cortex-a72;-L;/")

# liblo-dev cannot be installed for arm64 beside the amd64 one: tools/install-deps-cross puts
# its arm64 liblo.so and liblo.pc in build/cross-deps/arm64 (headers: the identical amd64 ones).
get_filename_component(_chronus_cross_deps "${CMAKE_CURRENT_LIST_DIR}/../build/cross-deps/arm64"
                       ABSOLUTE)
if(EXISTS "${_chronus_cross_deps}/lib/pkgconfig/liblo.pc")
  set(ENV{PKG_CONFIG_PATH} "${_chronus_cross_deps}/lib/pkgconfig")
endif()

# Host programs (qemu, dpkg-shlibdeps) from the host; libraries and headers only for the target.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
