#include "hal/watchdog/systemd_notifier.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace chronus::hal::watchdog {

namespace {

// "KEY=<text>" with the newlines of `text` (which would start a new assignment) made spaces.
std::string Assignment(std::string_view key, std::string_view text) {
  std::string line(key);
  line += '=';
  for (char c : text) line += (c == '\n' || c == '\r') ? ' ' : c;
  return line;
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) {
    watchdog_interval_ = std::chrono::microseconds(static_cast<int64_t>(usec));
  }
}

bool SystemdNotifier::Send(const char* state) const {
  if (!enabled_) return false;
  return sd_notify(0, state) > 0;
}

bool SystemdNotifier::Ready(std::string_view status) const {
  std::string state = "READY=1";
  if (!status.empty()) state += "\n" + Assignment("STATUS", status);
  return Send(state.c_str());
}

bool SystemdNotifier::Status(std::string_view status) const {
  return Send(Assignment("STATUS", status).c_str());
}

bool SystemdNotifier::Watchdog() const { return Send("WATCHDOG=1"); }

bool SystemdNotifier::Stopping() const { return Send("STOPPING=1"); }

}  // namespace chronus::hal::watchdog
