#include "firmware/engine/dirt_clock.h"

#include <time.h>

#include <algorithm>
#include <cmath>

namespace chronus::firmware {

namespace {

constexpr int64_t kNtpToUnixSeconds = 2208988800LL;

int64_t ClockNs(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

}  // namespace

void DirtClock::TickRt(uint64_t frame, int64_t now_ns) {
  const auto frame_ns = static_cast<int64_t>(static_cast<double>(frame) * 1e9 / sample_rate_);
  const int64_t offset = now_ns - frame_ns;
  int64_t grid = INT64_MAX;
  for (const int64_t m : window_min_) grid = std::min(grid, m);
  if (grid != INT64_MAX && offset > grid + kJumpNs) {
    if (++above_ >= kJumpPeriods) {  // the grid moved (an xrun): start over
      for (int64_t& m : window_min_) m = INT64_MAX;
      grid = INT64_MAX;
      above_ = 0;
    }
  } else {
    above_ = 0;
  }
  int64_t& current = window_min_[window_];
  current = std::min(current, offset);
  grid = std::min(grid, current);
  if (static_cast<double>(frame - window_start_) >= sample_rate_) {
    window_ = (window_ + 1) % kWindows;
    window_min_[window_] = INT64_MAX;
    window_start_ = frame;
  }
  const auto latency_ns =
      static_cast<int64_t>(static_cast<double>(latency_frames_) * 1e9 / sample_rate_);
  origin_ns_.store(grid + latency_ns, std::memory_order_release);
}

uint64_t DirtClock::FrameAtMonotonicNs(int64_t t_ns) const {
  const int64_t origin = origin_ns_.load(std::memory_order_acquire);
  if (origin == kUnset || t_ns <= origin) return 0;
  return static_cast<uint64_t>(
      std::llround(static_cast<double>(t_ns - origin) * sample_rate_ / 1e9));
}

int64_t DirtClock::TimetagToMonotonicNs(lo_timetag timetag) {
  const int64_t unix_ns =
      (static_cast<int64_t>(timetag.sec) - kNtpToUnixSeconds) * 1000000000LL +
      static_cast<int64_t>((static_cast<uint64_t>(timetag.frac) * 1000000000ULL) >> 32);
  return unix_ns - (ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_MONOTONIC));
}

uint64_t DirtClock::FrameForTimetag(lo_timetag timetag) const {
  if (timetag.sec == 0 && timetag.frac <= 1) return 0;  // LO_TT_IMMEDIATE
  return FrameAtMonotonicNs(TimetagToMonotonicNs(timetag));
}

}  // namespace chronus::firmware
