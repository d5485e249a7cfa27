// Tempo estimate from incoming MIDI clock (24 pulses per quarter note, MIDI 1.0 Detailed
// Specification, "System Real Time Messages"). Pure: fed each pulse's receive time.
//
// The tempo is 60 / (24 * mean pulse interval), the mean taken over the last kWindow intervals
// (one beat), which averages out the scheduling jitter of a USB or software clock source. A gap of
// more than kTimeoutNs (the source stopped sending) forgets the history.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace chronus::hal::midi {

class MidiClock {
 public:
  static constexpr size_t kWindow = 24;
  static constexpr int64_t kTimeoutNs = 500'000'000;  ///< Below 5 BPM: not a clock any more.

  /// A clock pulse received at `time_ns`. One thread.
  void Pulse(int64_t time_ns) {
    if (has_last_) {
      const int64_t dt = time_ns - last_ns_;
      if (dt <= 0 || dt > kTimeoutNs) {
        Forget();
      } else {
        sum_ns_ += dt - intervals_[next_];
        intervals_[next_] = dt;
        next_ = (next_ + 1) % kWindow;
        if (count_ < kWindow) ++count_;
      }
    }
    last_ns_ = time_ns;
    has_last_ = true;
  }

  /// Forgets the pulses (Stop, or a timeout).
  void Forget() {
    intervals_.fill(0);
    sum_ns_ = 0;
    count_ = 0;
    next_ = 0;
  }

  /// Beats per minute, or 0 with fewer than 6 intervals seen (a quarter of a beat).
  double bpm() const {
    if (count_ < 6 || sum_ns_ <= 0) return 0.0;
    const double interval_s = static_cast<double>(sum_ns_) / static_cast<double>(count_) * 1e-9;
    return 60.0 / (24.0 * interval_s);
  }

 private:
  std::array<int64_t, kWindow> intervals_{};
  int64_t sum_ns_ = 0;
  size_t count_ = 0;
  size_t next_ = 0;
  int64_t last_ns_ = 0;
  bool has_last_ = false;
};

}  // namespace chronus::hal::midi
