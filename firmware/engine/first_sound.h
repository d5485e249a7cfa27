// Boot to sound: the audio thread notes when it first plays a block above a threshold (one
// relaxed load per period once it has), and a non-RT thread reads the time and logs it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "hal/rt/clock.h"

namespace chronus::firmware {

class FirstSound {
 public:
  /// Threshold in S32 sample units: 2^31 * 10^(-60/20), i.e. -60 dBFS.
  static constexpr int32_t kDefaultThreshold = 2147484;

  explicit FirstSound(int32_t threshold = kDefaultThreshold) : threshold_(threshold) {}

  /// Looks at one rendered block of `count` interleaved S32 samples. Audio thread; RT-safe (no
  /// allocation, no syscall: CLOCK_MONOTONIC is read through the vDSO, once).
  void ObserveRt(const int32_t* samples, size_t count) {
    if (time_ns_.load(std::memory_order_relaxed) != 0) return;
    int64_t peak = 0;
    for (size_t i = 0; i < count; ++i) {
      const int64_t magnitude = std::llabs(static_cast<int64_t>(samples[i]));
      if (magnitude > peak) peak = magnitude;
    }
    if (peak <= threshold_) return;
    peak_.store(peak, std::memory_order_relaxed);
    time_ns_.store(hal::MonotonicNs(), std::memory_order_release);
  }

  /// CLOCK_MONOTONIC ns when the first block above the threshold was rendered; 0 = not yet.
  /// Any thread.
  int64_t time_ns() const { return time_ns_.load(std::memory_order_acquire); }
  /// Peak of that block, S32 units (full scale 2^31). Any thread, after time_ns() != 0.
  int64_t peak() const { return peak_.load(std::memory_order_relaxed); }

 private:
  const int32_t threshold_;
  std::atomic<int64_t> time_ns_{0};
  std::atomic<int64_t> peak_{0};
};

}  // namespace chronus::firmware
