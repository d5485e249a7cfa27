// Fault injection for tests of the standby path: compiled in, off by default, enabled only from
// the command line (`--fault`), never from the network.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chronus::firmware {

enum class FaultType : uint8_t { kNone, kStall, kSpin, kThrow, kStallAudio };

/// One planned fault: `type` hits worker `worker` `at_s` seconds after start.
struct FaultSpec {
  FaultType type = FaultType::kNone;
  int worker = 0;       ///< Not used by kStallAudio.
  double stall_ms = 0;  ///< kStall and kStallAudio.
  double at_s = 0;
};

/// Parses "stall:<worker>:<ms>@<seconds>", "spin:<worker>@<seconds>", "throw:<worker>@<seconds>"
/// or "stall-audio:<ms>@<seconds>" (the audio thread itself stalls).
/// Returns "" and fills `spec`, or an error naming what was expected. Any thread.
std::string ParseFault(const std::string& text, FaultSpec* spec);

}  // namespace chronus::firmware
