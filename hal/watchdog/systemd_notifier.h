// systemd service notification: readiness, status text, watchdog keep-alives and shutdown, sent
// with libsystemd's sd_notify to the socket systemd passes in $NOTIFY_SOCKET (Type=notify units).
#pragma once

#include <chrono>
#include <string_view>

namespace chronus::hal::watchdog {

/// A thin wrapper over sd_notify(3) and sd_watchdog_enabled(3).
///
/// enabled() and WatchdogInterval() come from the environment ($NOTIFY_SOCKET, $WATCHDOG_USEC,
/// $WATCHDOG_PID) as the constructor saw it; the variables are left in place (each send reads
/// $NOTIFY_SOCKET again, inside libsystemd). Without $NOTIFY_SOCKET (not started by systemd, or
/// not Type=notify) every send is a no-op that returns false.
///
/// Threading: every method may be called from any thread, concurrently (nothing is mutated after
/// construction); do not setenv/unsetenv these variables meanwhile. Sends are not RT-safe (each
/// one allocates and makes a few syscalls: socket, sendmsg, close): never call them from the
/// audio thread or a DSP worker's render loop.
///
/// Errors: a send returns false when nothing was delivered (no $NOTIFY_SOCKET, or sd_notify
/// failed, e.g. the socket is gone); there is nothing useful a caller can do about it besides
/// logging, and systemd treats missing WATCHDOG=1 keep-alives as a hang, as it should.
class SystemdNotifier {
 public:
  /// Reads the environment. Call before other threads may call setenv/unsetenv.
  SystemdNotifier();

  /// $NOTIFY_SOCKET is set (non-empty): sends go somewhere.
  bool enabled() const { return enabled_; }

  /// "READY=1" and "STATUS=<status>" in one datagram: start-up is complete. For Chronus: only
  /// once the audio thread is running. `status`: one line of UTF-8 for `systemctl status`
  /// (newlines are replaced by spaces; empty: no STATUS= field).
  bool Ready(std::string_view status) const;
  /// "STATUS=<status>" (newlines replaced by spaces).
  bool Status(std::string_view status) const;
  /// "WATCHDOG=1": the keep-alive for WatchdogSec=. Send it at least every
  /// WatchdogInterval() / 2, and only while every thread that must make progress does.
  bool Watchdog() const;
  /// "STOPPING=1": an orderly shutdown has begun (e.g. on SIGTERM).
  bool Stopping() const;

  /// The watchdog timeout systemd expects keep-alives within ($WATCHDOG_USEC, honoured only
  /// when $WATCHDOG_PID is unset or is this process, per sd_watchdog_enabled), in microseconds;
  /// 0 when the watchdog is not enabled or the variables are malformed.
  std::chrono::microseconds WatchdogInterval() const { return watchdog_interval_; }

 private:
  bool Send(const char* state) const;

  bool enabled_ = false;
  std::chrono::microseconds watchdog_interval_{0};
};

}  // namespace chronus::hal::watchdog
