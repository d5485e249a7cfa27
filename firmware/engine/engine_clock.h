// The mapping between engine frames and time, for producers that schedule commands at a time
// (OSC bundle timetags, sequencers): which engine frame (Command::frame) plays at a given
// CLOCK_MONOTONIC or CLOCK_REALTIME instant.
//
// The audio thread publishes, once per period, the CLOCK_MONOTONIC time at which the first frame
// of the period it is about to write will be heard: now + (frames already queued in the device
// buffer) / rate. That estimate is only ever late (the thread may be preempted between reading
// the device position and the clock), so it is filtered by a minimum that may rise slowly
// (kDriftPpm, enough for a sound card crystal against the system clock) and is reset when the
// stream restarts (xrun recovery, device reopened, device standby). Readers take a consistent
// (frame, time) pair through a seqlock. CLOCK_REALTIME (and NTP time, which OSC timetags use) is
// converted through the current REALTIME - MONOTONIC offset, read at conversion time, so that a
// step of the system clock applies to timetags as it does to their senders.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

namespace chronus::firmware {

/// PublishRt: the audio thread only (RT-safe: atomics, no allocation). Readers: any thread.
class EngineClock {
 public:
  /// Largest drift of the device clock against CLOCK_MONOTONIC that the filter follows, ppm.
  static constexpr double kDriftPpm = 200.0;

  explicit EngineClock(uint32_t sample_rate = 48000) : rate_(sample_rate) {}

  /// Engine frame `frame` (the first of the period being rendered) is estimated to be heard at
  /// CLOCK_MONOTONIC `play_ns`. `reset`: the stream (re)started, forget the filter's history.
  /// Audio thread only.
  void PublishRt(uint64_t frame, int64_t play_ns, bool reset);

  /// True once a mapping has been published.
  bool valid() const { return seq_.load(std::memory_order_acquire) >= 2; }
  uint32_t sample_rate() const { return rate_; }

  /// The engine frame heard at CLOCK_MONOTONIC `t_ns` (rounded to the nearest frame; may be
  /// earlier than the current period, or negative before frame 0). 0 when not valid().
  int64_t FrameAtMonotonicNs(int64_t t_ns) const;
  /// CLOCK_MONOTONIC ns at which engine frame `frame` is heard. 0 when not valid().
  int64_t MonotonicNsOfFrame(int64_t frame) const;
  /// The engine frame heard at CLOCK_REALTIME `t` (e.g. an OSC timetag converted with
  /// NtpToRealtime). Reads both clocks to convert. Any thread, non-RT by convention.
  int64_t FrameAtNonRt(const timespec& realtime) const;

  /// CLOCK_REALTIME of an NTP timestamp (seconds since 1900, 2^-32 s fraction), as OSC timetags.
  static timespec NtpToRealtime(uint32_t ntp_seconds, uint32_t ntp_fraction);
  /// CLOCK_REALTIME ns minus CLOCK_MONOTONIC ns now (read back to back, the pair with the
  /// shortest gap of three tries).
  static int64_t RealtimeMinusMonotonicNs();

 private:
  void Read(int64_t* frame, int64_t* origin_ns) const;

  uint32_t rate_;
  // The filtered origin: CLOCK_MONOTONIC ns at which engine frame `anchor_frame_` is heard.
  std::atomic<uint32_t> seq_{0};
  std::atomic<int64_t> anchor_frame_{0};
  std::atomic<int64_t> anchor_ns_{0};
  // Audio thread only.
  bool have_estimate_ = false;
  int64_t est_frame_ = 0;
  int64_t est_ns_ = 0;
};

}  // namespace chronus::firmware
