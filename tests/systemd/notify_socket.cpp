#include "tests/systemd/notify_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace chronus::test {

namespace {

constexpr size_t kMaxDatagram = 4096;  // systemd's own receive buffer (PIPE_BUF)

std::string MakeTempDir(const std::string& base) {
  std::string pattern = base + "/chronus_notify.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return {};
  return pattern;
}

}  // namespace

bool NotifyMessage::Has(std::string_view key, std::string_view value) const {
  const auto it = fields.find(std::string(key));
  return it != fields.end() && it->second == value;
}

std::string NotifyMessage::Get(std::string_view key) const {
  const auto it = fields.find(std::string(key));
  return it == fields.end() ? std::string() : it->second;
}

std::map<std::string, std::string> ParseNotifyFields(std::string_view datagram) {
  std::map<std::string, std::string> fields;
  while (!datagram.empty()) {
    const size_t end = datagram.find('\n');
    const std::string_view line = datagram.substr(0, end);
    const size_t eq = line.find('=');
    if (eq != std::string_view::npos && eq > 0) {
      fields[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    if (end == std::string_view::npos) break;
    datagram.remove_prefix(end + 1);
  }
  return fields;
}

NotifySocket::NotifySocket() {
  sockaddr_un address{};
  const char* tmp = std::getenv("TMPDIR");
  const std::string base = tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp";
  // "<dir>/notify" must fit in sun_path with its terminating NUL.
  constexpr size_t kSuffix = sizeof("/chronus_notify.XXXXXX/notify");
  dir_ = MakeTempDir(base.size() + kSuffix <= sizeof(address.sun_path) ? base : "/tmp");
  if (dir_.empty()) {
    error_ = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  path_ = dir_ + "/notify";
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return;
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
  const int one = 1;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
    error_ = "bind " + path_ + ": " + std::strerror(errno);
    close(fd);
    return;
  }
  fd_ = fd;
}

NotifySocket::~NotifySocket() {
  if (fd_ >= 0) close(fd_);
  if (!path_.empty()) unlink(path_.c_str());
  if (!dir_.empty()) rmdir(dir_.c_str());
}

std::optional<NotifyMessage> NotifySocket::Receive(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;

    char buffer[kMaxDatagram];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec iov{buffer, sizeof(buffer)};
    msghdr header{};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
    const ssize_t n = recvmsg(fd_, &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return std::nullopt;

    NotifyMessage message;
    message.raw.assign(buffer, static_cast<size_t>(n));
    message.fields = ParseNotifyFields(message.raw);
    message.received = std::chrono::steady_clock::now();
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
          c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
        ucred credentials{};
        std::memcpy(&credentials, CMSG_DATA(c), sizeof(credentials));
        message.sender_pid = credentials.pid;
      }
    }
    history_.push_back(message);
    return message;
  }
}

std::optional<NotifyMessage> NotifySocket::WaitFor(std::string_view key, std::string_view value,
                                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return std::nullopt;
    std::optional<NotifyMessage> message = Receive(left);
    if (!message) return std::nullopt;
    if (message->Has(key, value)) return message;
  }
}

std::vector<NotifyMessage> NotifySocket::Collect(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  std::vector<NotifyMessage> messages;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return messages;
    std::optional<NotifyMessage> message = Receive(left);
    if (message) messages.push_back(std::move(*message));
  }
}

ScopedEnvironment::~ScopedEnvironment() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
    if (it->second) {
      setenv(it->first.c_str(), it->second->c_str(), 1);
    } else {
      unsetenv(it->first.c_str());
    }
  }
}

void ScopedEnvironment::Save(const std::string& name) {
  const char* old = std::getenv(name.c_str());
  saved_.emplace_back(name, old != nullptr ? std::optional<std::string>(old) : std::nullopt);
}

ScopedEnvironment& ScopedEnvironment::Set(const std::string& name, const std::string& value) {
  Save(name);
  setenv(name.c_str(), value.c_str(), 1);
  return *this;
}

ScopedEnvironment& ScopedEnvironment::Unset(const std::string& name) {
  Save(name);
  unsetenv(name.c_str());
  return *this;
}

ScopedEnvironment& ScopedEnvironment::ExportNotify(const NotifySocket& socket,
                                                   std::chrono::microseconds watchdog,
                                                   pid_t watchdog_pid) {
  Set("NOTIFY_SOCKET", socket.path());
  if (watchdog.count() > 0) {
    Set("WATCHDOG_USEC", std::to_string(watchdog.count()));
    if (watchdog_pid > 0) {
      Set("WATCHDOG_PID", std::to_string(watchdog_pid));
    } else {
      Unset("WATCHDOG_PID");
    }
  } else {
    Unset("WATCHDOG_USEC");
    Unset("WATCHDOG_PID");
  }
  return *this;
}

}  // namespace chronus::test
