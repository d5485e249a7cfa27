// The OSC fuzz target, shared by the libFuzzer binary (clang, `fuzz` preset) and the corpus
// regression test (any compiler, every preset): one datagram goes through liblo's own dispatch
// (message or bundle, nested bundles, time tags; exactly what the server thread does with a
// received datagram) into the firmware's TranslateOsc, and every outcome is checked.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chronus::fuzz {

/// Feeds `data` as one datagram. Aborts (a crash for libFuzzer, a failure for the test) when a
/// translated request breaks an invariant: a command out of range, a take name that could leave
/// the recordings directory, a refusal without a reason. Returns 0.
int FuzzOscPacket(const uint8_t* data, size_t size);

/// Counters since the process started (for the regression test's report).
struct FuzzOscStats {
  uint64_t packets = 0;
  uint64_t liblo_errors = 0;  ///< packets liblo refused (malformed)
  uint64_t messages = 0;      ///< messages handed to TranslateOsc (bundles hold several)
  uint64_t accepted = 0;      ///< messages translated into something other than a refusal
};
FuzzOscStats FuzzOscCounters();

}  // namespace chronus::fuzz
