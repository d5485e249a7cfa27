#include "firmware/control/osc_subscriptions.h"

#include <algorithm>

namespace chronus::firmware {

OscSubscriptions::Result OscSubscriptions::Notify(const std::string& host, const std::string& port,
                                                  bool on, double now_s) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(subscribers_.begin(), subscribers_.end(),
                         [&](const Subscriber& s) { return s.host == host && s.port == port; });
  if (!on) {
    if (it == subscribers_.end()) return Result::kNotSubscribed;
    subscribers_.erase(it);
    return Result::kRemoved;
  }
  if (it != subscribers_.end()) {
    it->expires_s = now_s + ttl_s_;
    return Result::kRenewed;
  }
  if (subscribers_.size() >= max_) return Result::kFull;
  subscribers_.push_back({host, port, now_s + ttl_s_, true});
  return Result::kAdded;
}

size_t OscSubscriptions::Expire(double now_s) {
  std::lock_guard lock(mutex_);
  const size_t before = subscribers_.size();
  std::erase_if(subscribers_, [&](const Subscriber& s) { return s.expires_s <= now_s; });
  expired_ += before - subscribers_.size();
  return before - subscribers_.size();
}

std::vector<OscSubscriptions::Target> OscSubscriptions::TakeTargets() {
  std::lock_guard lock(mutex_);
  std::vector<Target> targets;
  targets.reserve(subscribers_.size());
  for (Subscriber& s : subscribers_) {
    targets.push_back({s.host, s.port, s.wants_all});
    s.wants_all = false;
  }
  return targets;
}

size_t OscSubscriptions::size() const {
  std::lock_guard lock(mutex_);
  return subscribers_.size();
}

uint64_t OscSubscriptions::expired() const {
  std::lock_guard lock(mutex_);
  return expired_;
}

}  // namespace chronus::firmware
