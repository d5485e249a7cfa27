#include "firmware/state/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chronus::firmware {

namespace {

namespace fs = std::filesystem;

std::string Errno(const std::string& what, const fs::path& path, int error) {
  return what + " " + path.string() + ": " + std::strerror(error);
}

// Closes `fd` on scope exit unless released.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and returns close()'s errno (0 on success).
  int Close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

std::string WriteAndSync(const fs::path& tmp, std::string_view bytes) {
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Errno("cannot create", tmp, errno);
  const char* data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd.get(), data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", tmp, errno);
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return Errno("cannot fsync", tmp, errno);
  if (const int error = fd.Close(); error != 0) return Errno("cannot close", tmp, error);
  return {};
}

}  // namespace

std::string FsyncDirectory(const fs::path& dir) {
  const fs::path name = dir.empty() ? fs::path(".") : dir;
  Fd fd(::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("cannot open directory", name, errno);
  if (::fsync(fd.get()) != 0) return Errno("cannot fsync directory", name, errno);
  return {};
}

std::string WriteFileAtomically(const fs::path& path, std::string_view bytes, bool keep_previous) {
  fs::path tmp = path;
  tmp += ".tmp";
  if (std::string error = WriteAndSync(tmp, bytes); !error.empty()) {
    ::unlink(tmp.c_str());
    return error;
  }
  if (keep_previous) {
    fs::path prev = path;
    prev += ".prev";
    if (::rename(path.c_str(), prev.c_str()) != 0 && errno != ENOENT) {
      const int error = errno;
      ::unlink(tmp.c_str());
      return Errno("cannot rename to " + prev.string() + ":", path, error);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return Errno("cannot rename to " + path.string() + ":", tmp, error);
  }
  return FsyncDirectory(path.parent_path());
}

FileRead ReadWholeFile(const fs::path& path) {
  constexpr size_t kMaxBytes = 1 << 20;
  FileRead result;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno != ENOENT) {
      result.exists = true;
      result.error = Errno("cannot open", path, errno);
    }
    return result;
  }
  result.exists = true;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      result.error = Errno("cannot read", path, errno);
      return result;
    }
    if (n == 0) break;
    if (result.bytes.size() + static_cast<size_t>(n) > kMaxBytes) {
      result.error = path.string() + ": larger than 1 MiB, not a state file";
      return result;
    }
    result.bytes.append(buffer, static_cast<size_t>(n));
  }
  return result;
}

}  // namespace chronus::firmware
