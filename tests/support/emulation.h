// Tests under emulation: the arm64 build's tests run under qemu-aarch64 (rpi-test preset,
// tools/test-cross), where real-time scheduling and the paced virtual card's timing mean nothing
// (the emulator runs several times slower than the hardware and its threads are not real-time).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace chronus::test {

/// The emulator the tests run under ("qemu-aarch64"), or "" when native. Set at build time by
/// CHRONUS_EMULATED_TESTS (tests/emulation/emulation.cmake) or at run time by the environment
/// variable CHRONUS_EMULATED. Any thread.
inline std::string Emulator() {
  if (const char* env = std::getenv("CHRONUS_EMULATED"); env != nullptr && *env != '\0') return env;
#ifdef CHRONUS_EMULATED_TESTS
  return "an emulator";
#else
  return "";
#endif
}

}  // namespace chronus::test

/// Skips the current test with `reason` (printed by GoogleTest and listed by ctest) when it runs
/// under emulation. Use in the test body, before anything that needs real hardware timing.
#define CHRONUS_SKIP_IF_EMULATED(reason)                                                 \
  do {                                                                                   \
    if (const std::string emulator_ = ::chronus::test::Emulator(); !emulator_.empty()) { \
      GTEST_SKIP() << "under " << emulator_ << ": " << (reason);                         \
    }                                                                                    \
  } while (0)
