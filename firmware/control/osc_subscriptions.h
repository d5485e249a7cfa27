// Subscribers to parameter changes (/notify 1|0): who they are, when they expire, and which
// parameter values they have been sent. The OSC thread registers and removes senders; the
// notifier thread (OscServer) polls the engine's parameter values at a fixed rate and pushes the
// changed ones as `/param <name> <value>`, so a change is sent at most once per poll per
// parameter (coalesced to its latest value) whoever made it: another OSC client, a knob, MIDI.
// Thread-safe (one mutex; neither thread is real-time). Time is passed in (seconds, monotonic).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace chronus::firmware {

class OscSubscriptions {
 public:
  enum class Result : uint8_t { kAdded, kRenewed, kRemoved, kNotSubscribed, kFull };

  /// `max_subscribers` at once; a subscriber not renewed (/notify 1 again) within `ttl_s` seconds
  /// is dropped.
  OscSubscriptions(size_t max_subscribers, double ttl_s) : max_(max_subscribers), ttl_s_(ttl_s) {}

  /// /notify 1 (`on`) or /notify 0 from `host`:`port` at `now_s`.
  Result Notify(const std::string& host, const std::string& port, bool on, double now_s);
  /// Drops the subscribers whose time ran out; returns how many.
  size_t Expire(double now_s);

  struct Target {
    std::string host;
    std::string port;
    bool wants_all;  ///< New: is sent every parameter once, not only the changed ones.
  };
  /// The current subscribers; clears their wants_all flags (they are about to be served).
  std::vector<Target> TakeTargets();
  size_t size() const;
  uint64_t expired() const;

 private:
  struct Subscriber {
    std::string host;
    std::string port;
    double expires_s;
    bool wants_all;
  };
  mutable std::mutex mutex_;
  std::vector<Subscriber> subscribers_;
  size_t max_;
  double ttl_s_;
  uint64_t expired_ = 0;
};

}  // namespace chronus::firmware
