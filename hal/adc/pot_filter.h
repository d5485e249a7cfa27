// Smoothing and hysteresis for a potentiometer read through an ADC at a fixed rate, so that a
// resting knob sends nothing and a turned one sends a clean, monotonic series. Pure: fed one raw
// reading per sample period.
//
// Smoothing: a one-pole low-pass (exponential moving average) y += a (x - y). Hysteresis: a new
// position is reported only when the smoothed value has moved at least `hysteresis` raw units from
// the last reported one (a dead band around it), so noise of a few LSB never reaches the output,
// and a sweep is reported in steps of at least `hysteresis` in the sweep's direction. The ends
// snap: within `hysteresis` of 0 or full scale reports exactly 0 or 1, so both ends are reachable.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>

namespace chronus::hal::adc {

struct PotFilterConfig {
  uint16_t full_scale = 1023;  ///< Largest raw reading (MCP3008: 10 bits).
  float smoothing = 0.3f;      ///< a of the one-pole, 0 < a <= 1 (1 = off); 0.3 at 100 Hz ~ 28 ms.
  float hysteresis = 6.0f;     ///< Dead band, raw units (MCP3008 noise is a few LSB).
};

class PotFilter {
 public:
  explicit PotFilter(const PotFilterConfig& config = {}) : config_(config) {}

  /// One raw reading. Returns the new position 0..1 when it changed past the dead band; the first
  /// reading always reports (the knob's position at start). One thread per filter.
  std::optional<float> Push(uint16_t raw) {
    const auto x = static_cast<float>(raw);
    if (!started_) {
      started_ = true;
      smoothed_ = x;
      return Report(x);
    }
    smoothed_ += config_.smoothing * (x - smoothed_);
    const auto full = static_cast<float>(config_.full_scale);
    // Inside an end zone the end is reported once, even if the dead band was not crossed.
    const bool to_low_end = smoothed_ < config_.hysteresis && position_ != 0.0f;
    const bool to_high_end = smoothed_ > full - config_.hysteresis && position_ != 1.0f;
    if (!to_low_end && !to_high_end && std::fabs(smoothed_ - reported_raw_) < config_.hysteresis) {
      return std::nullopt;
    }
    return Report(smoothed_);
  }

  /// The last reported position 0..1 (0 before the first reading).
  float position() const { return position_; }

 private:
  float Report(float raw) {
    const auto full = static_cast<float>(config_.full_scale);
    reported_raw_ = raw;
    if (raw < config_.hysteresis) {
      position_ = 0.0f;
    } else if (raw > full - config_.hysteresis) {
      position_ = 1.0f;
    } else {
      position_ = raw / full;
    }
    return position_;
  }

  PotFilterConfig config_;
  bool started_ = false;
  float smoothed_ = 0.0f;
  float reported_raw_ = 0.0f;
  float position_ = 0.0f;
};

}  // namespace chronus::hal::adc
