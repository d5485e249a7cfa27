#include "firmware/engine/engine_clock.h"

#include <algorithm>
#include <cmath>

namespace chronus::firmware {

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
constexpr int64_t kNtpToUnixSeconds = 2'208'988'800;

int64_t ClockNs(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

}  // namespace

void EngineClock::PublishRt(uint64_t frame, int64_t play_ns, bool reset) {
  const auto f = static_cast<int64_t>(frame);
  if (reset || !have_estimate_) {
    est_ns_ = play_ns;
  } else {
    // The estimate is only ever late: keep the earliest, allowing a slow rise for drift.
    const double elapsed_ns = static_cast<double>(f - est_frame_) * 1e9 / rate_;
    const auto predicted = est_ns_ + static_cast<int64_t>(std::llround(elapsed_ns));
    const auto leak = static_cast<int64_t>(std::llround(elapsed_ns * kDriftPpm * 1e-6));
    est_ns_ = std::min(play_ns, predicted + leak);
  }
  est_frame_ = f;
  have_estimate_ = true;
  const uint32_t s = seq_.load(std::memory_order_relaxed);
  // A seqlock without fences (GCC's TSan does not model them): the data stores are releases, so a
  // reader that sees new data (its loads are acquires) also sees the odd sequence number after.
  seq_.store(s + 1, std::memory_order_relaxed);
  anchor_frame_.store(est_frame_, std::memory_order_release);
  anchor_ns_.store(est_ns_, std::memory_order_release);
  seq_.store(s + 2, std::memory_order_release);
}

void EngineClock::Read(int64_t* frame, int64_t* origin_ns) const {
  for (;;) {
    const uint32_t before = seq_.load(std::memory_order_acquire);
    if (before & 1u) continue;  // a write is in progress (it takes nanoseconds)
    *frame = anchor_frame_.load(std::memory_order_acquire);
    *origin_ns = anchor_ns_.load(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) == before) return;
  }
}

int64_t EngineClock::FrameAtMonotonicNs(int64_t t_ns) const {
  if (!valid()) return 0;
  int64_t frame = 0, ns = 0;
  Read(&frame, &ns);
  return frame + std::llround(static_cast<double>(t_ns - ns) * rate_ / 1e9);
}

int64_t EngineClock::MonotonicNsOfFrame(int64_t frame) const {
  if (!valid()) return 0;
  int64_t anchor = 0, ns = 0;
  Read(&anchor, &ns);
  return ns + std::llround(static_cast<double>(frame - anchor) * 1e9 / rate_);
}

int64_t EngineClock::FrameAtNonRt(const timespec& realtime) const {
  const int64_t realtime_ns =
      static_cast<int64_t>(realtime.tv_sec) * kNsPerSecond + realtime.tv_nsec;
  return FrameAtMonotonicNs(realtime_ns - RealtimeMinusMonotonicNs());
}

timespec EngineClock::NtpToRealtime(uint32_t ntp_seconds, uint32_t ntp_fraction) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(static_cast<int64_t>(ntp_seconds) - kNtpToUnixSeconds);
  ts.tv_nsec = static_cast<long>((static_cast<uint64_t>(ntp_fraction) * kNsPerSecond) >> 32);
  return ts;
}

int64_t EngineClock::RealtimeMinusMonotonicNs() {
  int64_t best_gap = INT64_MAX;
  int64_t offset = 0;
  for (int i = 0; i < 3; ++i) {
    const int64_t m0 = ClockNs(CLOCK_MONOTONIC);
    const int64_t r = ClockNs(CLOCK_REALTIME);
    const int64_t m1 = ClockNs(CLOCK_MONOTONIC);
    if (m1 - m0 < best_gap) {
      best_gap = m1 - m0;
      offset = r - (m0 + (m1 - m0) / 2);
    }
  }
  return offset;
}

}  // namespace chronus::firmware
