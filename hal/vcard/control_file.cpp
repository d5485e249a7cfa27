#include "hal/vcard/control_file.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <utility>

#include "hal/vcard/frame_clock.h"

namespace chronus::hal::vcard {

namespace {

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

// What identifies a version of the file without reading it.
struct FileStamp {
  bool exists = false;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {};
  return {true, st.st_ino, st.st_size,
          static_cast<int64_t>(st.st_mtim.tv_sec) * kNsPerSecond + st.st_mtim.tv_nsec};
}

}  // namespace

bool SaysUnplugged(std::string_view text) {
  static constexpr std::string_view kWord = "unplugged";
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsWordChar(text[i])) ++i;
    const size_t begin = i;
    while (i < text.size() && IsWordChar(text[i])) ++i;
    const std::string_view word = text.substr(begin, i - begin);
    if (word.size() != kWord.size()) continue;
    bool same = true;
    for (size_t k = 0; k < word.size() && same; ++k) {
      same = std::tolower(static_cast<unsigned char>(word[k])) == kWord[k];
    }
    if (same) return true;
  }
  return false;
}

bool ReadUnplugged(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[4096];
  size_t size = 0;
  while (size < sizeof(buffer)) {
    const ssize_t n = read(fd, buffer + size, sizeof(buffer) - size);
    if (n <= 0) break;
    size += static_cast<size_t>(n);
  }
  close(fd);
  return SaysUnplugged(std::string_view(buffer, size));
}

ControlWatcher::ControlWatcher(std::string path, std::function<void()> on_unplug)
    : path_(std::move(path)), on_unplug_(std::move(on_unplug)) {
  thread_ = std::thread([this] { Run(); });
}

ControlWatcher::~ControlWatcher() { Stop(); }

void ControlWatcher::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ControlWatcher::Run() {
  pthread_setname_np(pthread_self(), "vcard-control");
  // Threads inherit their creator's policy: never poll a file at the client's real-time priority.
  sched_param normal{};
  pthread_setschedparam(pthread_self(), SCHED_OTHER, &normal);
  FileStamp last;
  bool first = true;
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    const FileStamp stamp = Stamp(path_);
    if (first || !(stamp == last)) {
      first = false;
      last = stamp;
      if (stamp.exists && ReadUnplugged(path_)) {
        unplugged_at_ns_.store(MonotonicNowNs(), std::memory_order_release);
        unplugged_.store(true, std::memory_order_seq_cst);
        if (on_unplug_) on_unplug_();
        return;  // latched: nothing more to watch
      }
    }
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(kPollIntervalMs), [this] { return stop_; });
  }
}

}  // namespace chronus::hal::vcard
