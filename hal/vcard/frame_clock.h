// Conversions between CLOCK_MONOTONIC time and frame positions on one timeline.
#pragma once

#include <time.h>

#include <cstdint>

namespace chronus::hal::vcard {

inline constexpr int64_t kNsPerSecond = 1'000'000'000;

/// CLOCK_MONOTONIC now, in ns. Any thread; RT-safe (vDSO, no syscall).
inline int64_t MonotonicNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

/// A frame grid anchored at t0: frame f plays at t0 + f / rate. Exact integer arithmetic (no
/// drift, no overflow for centuries of frames); pure, any thread.
struct FrameClock {
  int64_t t0_ns = 0;     ///< CLOCK_MONOTONIC ns of frame 0.
  uint32_t rate_hz = 1;  ///< Frames per second.

  /// Frames whose start time is <= t: floor((t - t0) * rate / 1e9); 0 before t0.
  int64_t FramesAt(int64_t t_ns) const {
    if (t_ns <= t0_ns) return 0;
    const int64_t dt = t_ns - t0_ns;
    return dt / kNsPerSecond * rate_hz + dt % kNsPerSecond * rate_hz / kNsPerSecond;
  }

  /// First frame that starts at or after t: ceil((t - t0) * rate / 1e9); 0 before t0.
  int64_t FramesAtCeil(int64_t t_ns) const {
    if (t_ns <= t0_ns) return 0;
    const int64_t dt = t_ns - t0_ns;
    const int64_t rem = dt % kNsPerSecond * rate_hz;
    return dt / kNsPerSecond * rate_hz + (rem + kNsPerSecond - 1) / kNsPerSecond;
  }

  /// Earliest time t (ns) with FramesAt(t) >= frame: t0 + ceil(frame * 1e9 / rate).
  int64_t TimeOf(int64_t frame) const {
    const int64_t rem = frame % rate_hz * kNsPerSecond;
    return t0_ns + frame / rate_hz * kNsPerSecond + (rem + rate_hz - 1) / rate_hz;
  }
};

}  // namespace chronus::hal::vcard
