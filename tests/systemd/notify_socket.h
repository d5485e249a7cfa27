// Test helper: a stand-in for systemd's notification socket. A test binds one, exports
// NOTIFY_SOCKET (and WATCHDOG_USEC) to itself or to a child process, and receives the
// sd_notify(3) datagrams (READY=1, STATUS=..., WATCHDOG=1, STOPPING=1) it sends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronus::test {

/// One datagram, parsed.
struct NotifyMessage {
  std::string raw;                            ///< The datagram as sent.
  std::map<std::string, std::string> fields;  ///< KEY=VALUE lines; a repeated key keeps the last.
  pid_t sender_pid =
      0;  ///< From SCM_CREDENTIALS (the kernel's, not the sender's claim); 0 if absent.
  std::chrono::steady_clock::time_point received;  ///< When Receive returned it.

  /// The message has `key` set to exactly `value`.
  bool Has(std::string_view key, std::string_view value) const;
  /// The value of `key`, or empty when absent.
  std::string Get(std::string_view key) const;
};

/// Parses "KEY=VALUE\nKEY=VALUE..." as sd_notify(3) sends it: lines without '=' are ignored.
std::map<std::string, std::string> ParseNotifyFields(std::string_view datagram);

/// A Unix datagram socket bound to a fresh path (a mkdtemp directory under $TMPDIR, or /tmp when
/// that path would not fit in sun_path), with SO_PASSCRED so each message carries the sender's
/// pid. The directory and socket are removed by the destructor.
///
/// Threading: one thread at a time (typically the test's main thread).
class NotifySocket {
 public:
  NotifySocket();
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  /// The socket is bound; when false, error() says why.
  bool ok() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }
  /// The value for $NOTIFY_SOCKET (an absolute path).
  const std::string& path() const { return path_; }

  /// Waits up to `timeout` for the next datagram. std::nullopt on timeout or error. Every
  /// message received is also appended to history().
  std::optional<NotifyMessage> Receive(std::chrono::milliseconds timeout);
  /// Receives until a message with `key`=`value` arrives (returned), or `timeout` passes in
  /// total (std::nullopt). Messages before it stay in history().
  std::optional<NotifyMessage> WaitFor(std::string_view key, std::string_view value,
                                       std::chrono::milliseconds timeout);
  /// Receives everything that arrives during `duration` (waits the whole duration) and returns
  /// those messages.
  std::vector<NotifyMessage> Collect(std::chrono::milliseconds duration);
  /// Messages received so far, oldest first.
  const std::vector<NotifyMessage>& history() const { return history_; }

 private:
  int fd_ = -1;
  std::string dir_;
  std::string path_;
  std::string error_;
  std::vector<NotifyMessage> history_;
};

/// Sets and unsets environment variables, restoring the previous values when destroyed (in
/// reverse order). setenv is not thread-safe: use it while the test has no other threads, e.g.
/// before starting a child process (which inherits the environment) or constructing a
/// SystemdNotifier.
class ScopedEnvironment {
 public:
  ScopedEnvironment() = default;
  ~ScopedEnvironment();
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

  ScopedEnvironment& Set(const std::string& name, const std::string& value);
  ScopedEnvironment& Unset(const std::string& name);

  /// NOTIFY_SOCKET=socket.path(); with a nonzero `watchdog`, WATCHDOG_USEC=<microseconds> and
  /// WATCHDOG_PID=`watchdog_pid` (0: unset, so that any process accepts it, e.g. a child whose
  /// pid is not known yet); with a zero `watchdog`, both unset.
  ScopedEnvironment& ExportNotify(const NotifySocket& socket,
                                  std::chrono::microseconds watchdog = {}, pid_t watchdog_pid = 0);

 private:
  void Save(const std::string& name);
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace chronus::test
