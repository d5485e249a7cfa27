// Per-orbit buses that sample voices render into: for each orbit (SuperDirt's per-track mixer
// channel with its own reverb and delay), a dry stereo pair and two stereo effect sends.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chronus::dsp {

/// Orbits (SuperDirt starts 12 by default: `~dirt.start(57120, 0 ! 12)`).
inline constexpr uint32_t kMaxOrbits = 12;

/// Channels of one orbit's bus, in this order in memory.
enum OrbitChannel : uint32_t {
  kDryLeft = 0,
  kDryRight,
  kReverbLeft,  ///< reverb send (room)
  kReverbRight,
  kDelayLeft,  ///< delay send
  kDelayRight,
  kOrbitChannels,
};

/// A view on `orbits` x kOrbitChannels channels of `frames` samples each, orbit-major
/// (channel c of orbit o starts at data + (o * kOrbitChannels + c) * frames). Owns nothing.
struct OrbitBuses {
  float* data = nullptr;
  uint32_t frames = 0;
  uint32_t orbits = 0;

  float* channel(uint32_t orbit, uint32_t c) const {
    return data + (static_cast<size_t>(orbit) * kOrbitChannels + c) * frames;
  }
  /// Zeroes every channel of `orbit`. RT-safe.
  void Clear(uint32_t orbit) const {
    float* p = channel(orbit, 0);
    for (size_t i = 0; i < static_cast<size_t>(kOrbitChannels) * frames; ++i) p[i] = 0.0f;
  }
};

}  // namespace chronus::dsp
