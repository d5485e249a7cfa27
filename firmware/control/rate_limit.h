// A token bucket: bounds how often something costly may happen at the request of the network
// (replies sent, recordings started). One thread; no allocation; the clock is passed in so tests
// drive it.
#pragma once

#include <algorithm>

namespace chronus::firmware {

class TokenBucket {
 public:
  /// `rate` tokens per second, at most `burst` saved up; starts full.
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  /// Takes one token at time `now_s` (seconds, monotonic); false when none is left.
  bool Take(double now_s) {
    if (last_s_ >= 0.0 && now_s > last_s_) {
      tokens_ = std::min(burst_, tokens_ + (now_s - last_s_) * rate_);
    }
    if (last_s_ < 0.0 || now_s > last_s_) last_s_ = now_s;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  double last_s_ = -1.0;
};

}  // namespace chronus::firmware
