// Maps OSC timetags to engine frames for the SuperDirt layer: a minimal stand-in for the engine
// clock of the timetag work (controls issue), behind this small interface so that it can be
// replaced by it.
//
// Model: the audio thread renders engine frame F = period * block_frames when it wakes for that
// period; on a paced device the ideal wake time is on a grid, and the frame is heard
// `latency_frames` (= (periods - 1) * period: what is already queued) later. Wakes can only be
// late, so the grid is estimated by the minimum of (wake time - F / rate) over a sliding window
// of kWindows one-second windows: steady under load (the minimum wake latency of a few seconds,
// ~10 us here). An xrun moves the grid later for good: when every wake for kJumpPeriods periods
// in a row is more than kJumpNs later than the estimate, the windows restart from there.
#pragma once

#include <lo/lo.h>

#include <atomic>
#include <cstdint>

namespace chronus::firmware {

class DirtClock {
 public:
  DirtClock(double sample_rate, uint32_t latency_frames)
      : sample_rate_(sample_rate), latency_frames_(latency_frames) {}

  /// Audio thread, once per period: engine frame `frame` was rendered at CLOCK_MONOTONIC `now_ns`.
  void TickRt(uint64_t frame, int64_t now_ns);
  /// True once a tick was seen. Any thread.
  bool valid() const { return origin_ns_.load(std::memory_order_acquire) != kUnset; }
  /// Engine frame heard at CLOCK_MONOTONIC `t_ns` (0 when invalid or before frame 0). Any thread.
  uint64_t FrameAtMonotonicNs(int64_t t_ns) const;
  /// Engine frame of an OSC timetag (NTP, wall clock); 0 for "immediately" (0.1) or invalid.
  /// Any thread (reads CLOCK_REALTIME and CLOCK_MONOTONIC).
  uint64_t FrameForTimetag(lo_timetag timetag) const;
  /// CLOCK_MONOTONIC ns of an NTP timetag (through the current REALTIME-MONOTONIC offset).
  static int64_t TimetagToMonotonicNs(lo_timetag timetag);

 private:
  static constexpr int64_t kUnset = INT64_MIN;
  double sample_rate_;
  uint32_t latency_frames_;
  static constexpr int kWindows = 4;
  static constexpr int kJumpPeriods = 16;
  static constexpr int64_t kJumpNs = 2000000;
  int above_ = 0;
  // Audio thread only:
  int64_t window_min_[kWindows] = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
  int window_ = 0;
  uint64_t window_start_ = 0;
  // Published: CLOCK_MONOTONIC ns at which engine frame 0 would be heard.
  std::atomic<int64_t> origin_ns_{kUnset};
};

}  // namespace chronus::firmware
