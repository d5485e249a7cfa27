// Loads SoundFonts off the RT path: a background thread builds a new FluidSynth instance with the
// same settings, loads the fonts of every slot into it (the requested slot's new file with
// progress reports), selects the layers' programs, and offers it to the FluidSynth worker, which
// swaps it in at a block boundary with a one-block crossfade; the old instance is freed here, on
// this thread. A missing or corrupt file is refused with the reason and the current sound keeps
// playing (the current instance is never touched by a load).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "firmware/sound/fluid_worker.h"
#include "firmware/sound/sound_patch.h"

namespace chronus::firmware {

struct SoundFontRequest {
  std::string name;  ///< File name in a SoundFont directory, or a path inside one.
  int slot = 0;      ///< 0..kSoundFontSlots-1.
  /// Progress 0..1 of reading the file (called on the loader thread, at most every 5 %).
  std::function<void(const std::string& path, double fraction)> progress;
  /// Result: ok and the path, or not ok and the reason (called on the loader thread).
  std::function<void(bool ok, const std::string& text)> done;
};

/// RequestNonRt: any non-RT thread. Start/Stop: main thread.
class SoundFontLoader {
 public:
  static constexpr size_t kMaxQueued = 8;

  SoundFontLoader(FluidWorker& worker, const SoundPatch& patch, double sample_rate);
  ~SoundFontLoader();
  void Start();
  void Stop();

  /// Queues a load; returns "" or why it is refused at once (queue full, bad slot).
  std::string RequestNonRt(SoundFontRequest request);
  /// Blocks until no load is queued or running (tests, shutdown). Non-RT.
  void WaitIdleNonRt();

  uint64_t loads() const { return loads_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  /// Whether a load is queued or running.
  bool busy() const { return busy_.load(std::memory_order_relaxed); }

 private:
  void Run();
  void Load(const SoundFontRequest& request);
  bool Quitting();
  void FreeRetired();

  FluidWorker& worker_;
  SoundPatch patch_;
  std::vector<int> channels_;
  double sample_rate_;
  std::array<std::string, kSoundFontSlots> slots_;  // loader thread: the fonts now playing
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<SoundFontRequest> queue_;
  bool quit_ = false;
  std::atomic<bool> busy_{false};
  std::atomic<uint64_t> loads_{0};
  std::atomic<uint64_t> failures_{0};
  std::thread thread_;
};

}  // namespace chronus::firmware
