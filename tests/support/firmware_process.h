// Runs the `chronus` executable as a subprocess and talks to it over OSC with liblo, for
// integration tests.
#pragma once

#include <lo/lo.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chronus::test {

/// A free UDP port on 127.0.0.1 (bound and released).
int FreeUdpPort();
/// CLOCK_MONOTONIC in seconds.
double MonotonicSeconds();

class FirmwareProcess {
 public:
  ~FirmwareProcess();
  /// Starts `binary args...` with stdout and stderr appended to `log_path`.
  bool Start(const std::string& binary, const std::vector<std::string>& args,
             const std::string& log_path);
  /// Sends `signal` and waits up to `timeout_s`; returns the exit code, 128+signal when killed
  /// by a signal, or -1 on timeout (the process is then killed).
  int Stop(int signal, double timeout_s);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

/// A liblo client with its own reply port.
class OscClient {
 public:
  explicit OscClient(int port);
  ~OscClient();
  lo_address address() const { return address_; }
  lo_server server() const { return server_; }
  /// Sends a message built by the caller (not freed).
  bool Send(const char* path, lo_message message);
  /// Sends /status and waits for /status.reply; returns the key/value pairs. Replies to earlier
  /// requests that arrived after those requests gave up (a firmware still starting) are handled
  /// first and never taken for this request's answer.
  std::optional<std::map<std::string, double>> Status(int timeout_ms);
  /// Sends /health and waits for /health.reply; values as text (numbers formatted with %g).
  std::optional<std::map<std::string, std::string>> Health(int timeout_ms);
  /// Waits for /done or /fail for `address`; returns {ok, text}.
  std::optional<std::pair<bool, std::string>> WaitResult(const std::string& address,
                                                         int timeout_ms);
  /// Waits for a subscription push `/param <name> <value>` for `name` (one received earlier
  /// counts, and is consumed); returns the value.
  std::optional<float> WaitParam(const std::string& name, int timeout_ms);
  /// Handles what has arrived within `ms`, then returns the /param pushes received so far
  /// (name, value) and forgets them.
  std::vector<std::pair<std::string, float>> TakeParams(int ms);

 private:
  /// Handles every message already waiting on the reply port (stale replies included).
  void HandlePending();
  static int OnReply(const char* path, const char* types, lo_arg** argv, int argc,
                     lo_message message, void* user_data);
  lo_address address_ = nullptr;
  lo_server server_ = nullptr;
  std::optional<std::map<std::string, double>> status_;
  std::optional<std::map<std::string, std::string>> health_;
  std::vector<std::tuple<std::string, bool, std::string>> results_;
  std::vector<std::pair<std::string, float>> params_;
};

}  // namespace chronus::test
