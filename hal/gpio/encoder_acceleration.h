// Speed acceleration of a rotary encoder: a fast turn steps further per detent. Pure (timestamps
// are parameters). After Zynthian's zyncoder.c, which counts a whole detent per transition when
// transitions come less than 10 ms apart and half a detent when less than 40 ms apart; here the
// same thresholds are applied per detent (4 transitions): detents less than `fast_ns` apart count
// `fast_multiplier`, less than `medium_ns` apart `medium_multiplier`, else 1. A change of
// direction always counts 1 (a reversal is a correction, not a fast turn).
#pragma once

#include <cstdint>

namespace chronus::hal::gpio {

struct AccelerationConfig {
  bool enabled = true;
  int64_t fast_ns = 40'000'000;  ///< 40 ms between detents: ~25 detents/s.
  int fast_multiplier = 4;
  int64_t medium_ns = 160'000'000;  ///< 160 ms between detents.
  int medium_multiplier = 2;
};

class EncoderAcceleration {
 public:
  explicit EncoderAcceleration(const AccelerationConfig& config = {}) : config_(config) {}

  /// A detent step (`direction` +1 or -1) at `time_ns` (CLOCK_MONOTONIC); returns the signed
  /// number of steps it is worth. One thread per instance.
  int Step(int direction, int64_t time_ns) {
    const int64_t dt = time_ns - last_ns_;
    const bool same = direction == last_direction_ && has_last_;
    last_ns_ = time_ns;
    last_direction_ = direction;
    has_last_ = true;
    if (!config_.enabled || !same) return direction;
    if (dt < config_.fast_ns) return direction * config_.fast_multiplier;
    if (dt < config_.medium_ns) return direction * config_.medium_multiplier;
    return direction;
  }

 private:
  AccelerationConfig config_;
  int64_t last_ns_ = 0;
  int last_direction_ = 0;
  bool has_last_ = false;
};

}  // namespace chronus::hal::gpio
