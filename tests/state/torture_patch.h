// The self-checking patches of the kill -9 torture test (shared by the test and its child).
#pragma once

#include <cstdint>
#include <optional>

#include "firmware/state/patch.h"

namespace chronus::firmware::test {

/// A fresh, in-range patch whose every value derives from `counter` (< 2^20), so that a loader can
/// tell which save it came from and that no value comes from another save.
inline Patch TorturePatch(uint32_t counter) {
  using dsp::ParamId;
  Patch p;
  p[ParamId::kCutoffHz] = static_cast<float>(20 + counter % 16384);
  p[ParamId::kMasterGainDb] = static_cast<float>(-60 + static_cast<int>(counter / 16384 % 64));
  p[ParamId::kResonance] = static_cast<float>(counter * 37 % 1000) / 1000.0f;
  p[ParamId::kAttackS] = 0.0005f + static_cast<float>(counter % 997) * 0.01f;
  p[ParamId::kDecayS] = 0.001f + static_cast<float>(counter * 7 % 1000) * 0.009f;
  p[ParamId::kSustain] = static_cast<float>(counter * 13 % 1024) / 1024.0f;
  p[ParamId::kReleaseS] = 0.001f + static_cast<float>(counter * 11 % 2000) * 0.01f;
  p[ParamId::kWaveform] = static_cast<float>(counter % 3);
  return p;
}

/// The counter `p` was made from by TorturePatch, or nullopt if `p` is not exactly such a patch.
inline std::optional<uint32_t> TortureCounter(const Patch& p) {
  using dsp::ParamId;
  const float cutoff = p[ParamId::kCutoffHz];
  const float gain = p[ParamId::kMasterGainDb];
  if (!(cutoff >= 20.0f && gain >= -60.0f)) return std::nullopt;
  const auto counter =
      static_cast<uint32_t>(cutoff - 20.0f) + 16384u * static_cast<uint32_t>(gain + 60.0f);
  if (TorturePatch(counter) != p) return std::nullopt;
  return counter;
}

}  // namespace chronus::firmware::test
