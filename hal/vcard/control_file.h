// The virtual card's fault-injection control file: while it says "unplugged", the card behaves
// like a USB sound card that was pulled out (see vcard_plugin.cpp and vcard_config.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace chronus::hal::vcard {

/// Whether control-file text says "unplugged": one of its words (maximal runs of letters, digits,
/// '_' and '-') is "unplugged", in any letter case. Pure; any thread.
bool SaysUnplugged(std::string_view text);

/// Reads the control file at `path` (its first 4 KiB): SaysUnplugged of its text; false when it
/// is missing or unreadable (a missing file means "plugged in"). Non-RT (file I/O).
bool ReadUnplugged(const std::string& path);

/// Watches a control file from its own (SCHED_OTHER) thread: every kPollIntervalMs it stat()s the
/// file and reads it again only when it changed (inode, size or mtime), so the client's threads
/// never touch it. Once the file says "unplugged" the watcher latches (a removed card never comes
/// back: a new open is needed): it sets unplugged() first, then calls `on_unplug` once from its
/// thread (so what the callback wakes sees the flag), and stops polling.
class ControlWatcher {
 public:
  static constexpr int kPollIntervalMs = 10;

  /// Non-RT. Starts the thread. Throws std::system_error if it cannot start.
  ControlWatcher(std::string path, std::function<void()> on_unplug);
  ~ControlWatcher();
  ControlWatcher(const ControlWatcher&) = delete;
  ControlWatcher& operator=(const ControlWatcher&) = delete;

  /// The file has said "unplugged" since the watcher started. Any thread; RT-safe (one atomic
  /// load).
  bool unplugged() const { return unplugged_.load(std::memory_order_acquire); }
  /// CLOCK_MONOTONIC ns at which the watcher saw "unplugged", or -1. Any thread; RT-safe.
  int64_t unplugged_at_ns() const { return unplugged_at_ns_.load(std::memory_order_acquire); }

  /// Non-RT. Stops and joins the thread. Idempotent.
  void Stop();

 private:
  void Run();

  const std::string path_;
  const std::function<void()> on_unplug_;
  std::atomic<int64_t> unplugged_at_ns_{-1};  // written before unplugged_ is set
  std::atomic<bool> unplugged_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;   // guarded by mutex_
  std::thread thread_;  // started last, once every member above is initialised
};

}  // namespace chronus::hal::vcard
