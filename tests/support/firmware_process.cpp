#include "tests/support/firmware_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "firmware/control/osc_translate.h"

extern char** environ;

namespace chronus::test {

int FreeUdpPort() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

double MonotonicSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

FirmwareProcess::~FirmwareProcess() {
  if (pid_ > 0) Stop(SIGKILL, 5.0);
}

bool FirmwareProcess::Start(const std::string& binary, const std::vector<std::string>& args,
                            const std::string& log_path) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  // fork + exec rather than posix_spawn, for PR_SET_PDEATHSIG: when the test process dies (a
  // failed ASSERT in a helper thread, a sanitizer abort, a ctest timeout), its firmware goes with
  // it instead of running on and loading the machine. Only async-signal-safe calls in the child.
  const pid_t pid = fork();
  if (pid < 0) {
    pid_ = -1;
    return false;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(127);
    if (fd > 2) close(fd);
    execve(binary.c_str(), argv.data(), environ);
    _exit(127);
  }
  pid_ = pid;
  return true;
}

int FirmwareProcess::Stop(int signal, double timeout_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  const double deadline = MonotonicSeconds() + timeout_s;
  int status = 0;
  while (MonotonicSeconds() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

OscClient::OscClient(int port) {
  address_ = lo_address_new("127.0.0.1", std::to_string(port).c_str());
  server_ = lo_server_new_with_proto(nullptr, LO_UDP, nullptr);
  lo_server_add_method(server_, nullptr, nullptr, &OscClient::OnReply, this);
}

OscClient::~OscClient() {
  lo_server_free(server_);
  lo_address_free(address_);
}

bool OscClient::Send(const char* path, lo_message message) {
  return lo_send_message_from(address_, server_, path, message) >= 0;
}

int OscClient::OnReply(const char* path, const char* types, lo_arg** argv, int argc, lo_message,
                       void* user_data) {
  auto* self = static_cast<OscClient*>(user_data);
  const std::string p = path;
  if (p == "/status.reply") {
    std::map<std::string, double> values;
    for (int i = 0; i + 1 < argc; i += 2) {
      if (types[i] != 's') continue;
      const char t = types[i + 1];
      // liblo aligns arguments to 4 bytes only: read through OscNumber (memcpy), never ->i/->h.
      values[reinterpret_cast<const char*>(argv[i])] =
          firmware::OscNumber(t, argv[i + 1]).value_or(0.0);
    }
    self->status_ = values;
  } else if (p == "/health.reply") {
    std::map<std::string, std::string> values;
    for (int i = 0; i + 1 < argc; i += 2) {
      if (types[i] != 's') continue;
      const char t = types[i + 1];
      char number[32];
      if (t == 's') {
        values[reinterpret_cast<const char*>(argv[i])] = reinterpret_cast<const char*>(argv[i + 1]);
        continue;
      }
      std::snprintf(number, sizeof(number), "%g",
                    firmware::OscNumber(t, argv[i + 1]).value_or(0.0));
      values[reinterpret_cast<const char*>(argv[i])] = number;
    }
    self->health_ = values;
  } else if (p == "/param" && argc == 2 && types[0] == 's' && types[1] == 'f') {
    self->params_.emplace_back(
        reinterpret_cast<const char*>(argv[0]),
        static_cast<float>(firmware::OscNumber(types[1], argv[1]).value_or(0.0)));
  } else if ((p == "/done" || p == "/fail") && argc >= 1 && types[0] == 's') {
    self->results_.emplace_back(
        reinterpret_cast<const char*>(argv[0]), p == "/done",
        argc >= 2 && types[1] == 's' ? reinterpret_cast<const char*>(argv[1]) : "");
  }
  return 0;
}

void OscClient::HandlePending() {
  while (lo_server_recv_noblock(server_, 0) > 0) {
  }
}

std::optional<std::map<std::string, double>> OscClient::Status(int timeout_ms) {
  HandlePending();
  status_.reset();
  lo_message m = lo_message_new();
  Send("/status", m);
  lo_message_free(m);
  const double deadline = MonotonicSeconds() + timeout_ms / 1000.0;
  while (!status_ && MonotonicSeconds() < deadline) lo_server_recv_noblock(server_, 10);
  return status_;
}

std::optional<std::map<std::string, std::string>> OscClient::Health(int timeout_ms) {
  HandlePending();
  health_.reset();
  lo_message m = lo_message_new();
  Send("/health", m);
  lo_message_free(m);
  const double deadline = MonotonicSeconds() + timeout_ms / 1000.0;
  while (!health_ && MonotonicSeconds() < deadline) lo_server_recv_noblock(server_, 10);
  return health_;
}

std::optional<std::pair<bool, std::string>> OscClient::WaitResult(const std::string& address,
                                                                  int timeout_ms) {
  const double deadline = MonotonicSeconds() + timeout_ms / 1000.0;
  for (;;) {
    for (auto it = results_.begin(); it != results_.end(); ++it) {
      if (std::get<0>(*it) == address) {
        auto result = std::make_pair(std::get<1>(*it), std::get<2>(*it));
        results_.erase(it);
        return result;
      }
    }
    if (MonotonicSeconds() >= deadline) return std::nullopt;
    lo_server_recv_noblock(server_, 10);
  }
}

std::optional<float> OscClient::WaitParam(const std::string& name, int timeout_ms) {
  const double deadline = MonotonicSeconds() + timeout_ms / 1000.0;
  for (;;) {
    for (auto it = params_.begin(); it != params_.end(); ++it) {
      if (it->first == name) {
        const float value = it->second;
        params_.erase(it);
        return value;
      }
    }
    if (MonotonicSeconds() >= deadline) return std::nullopt;
    lo_server_recv_noblock(server_, 5);
  }
}

std::vector<std::pair<std::string, float>> OscClient::TakeParams(int ms) {
  const double deadline = MonotonicSeconds() + ms / 1000.0;
  while (MonotonicSeconds() < deadline) lo_server_recv_noblock(server_, 5);
  std::vector<std::pair<std::string, float>> out;
  out.swap(params_);
  return out;
}

}  // namespace chronus::test
