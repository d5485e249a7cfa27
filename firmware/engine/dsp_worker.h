// A DSP worker thread: owns a share of the synth's voices and renders them one block ahead of the
// audio thread into preallocated blocks that travel through lock-free queues.
#pragma once

#include <atomic>
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>

#include "dsp/voice_bank.h"
#include "firmware/engine/command.h"

namespace chronus::firmware {

/// One rendered block of a worker's voices (mono, `frames` samples).
struct WorkerBlock {
  float* samples = nullptr;  ///< Points into the worker's preallocated storage.
  uint32_t frames = 0;
  uint64_t commands_applied = 0;        ///< Worker commands applied before this block was rendered.
  std::bitset<dsp::kMaxVoices> active;  ///< Worker-local voice slots still sounding after it.
};

struct DspWorkerConfig {
  int index = 0;                  ///< Worker number, used in the thread name.
  int cpu = -1;                   ///< Core to pin to, or -1.
  int priority = 0;               ///< SCHED_FIFO priority (below the audio thread's), 0 = normal.
  float sample_rate = 48000.0f;   ///< Hz.
  uint32_t block_frames = 128;    ///< Frames per block (= the device period).
  uint32_t voices = 8;            ///< Voice slots this worker owns.
  uint32_t lookahead_blocks = 1;  ///< Blocks rendered ahead of the audio thread.
};

/// Construction, Start and Stop from the main thread; the *Rt methods from the audio thread only.
class DspWorker {
 public:
  static constexpr size_t kCommandCapacity = 1024;

  explicit DspWorker(const DspWorkerConfig& config);
  ~DspWorker();
  DspWorker(const DspWorker&) = delete;
  DspWorker& operator=(const DspWorker&) = delete;

  /// Starts the thread; it renders `lookahead_blocks` blocks of silence-or-voices at once.
  void Start();
  /// Stops and joins the thread.
  void Stop();

  /// Queues a command for the next block the worker renders. Audio thread. False when full.
  bool pushCommandRt(const WorkerCommand& command) { return commands_.push(command); }
  /// Takes the next rendered block, or nullptr when the worker has not finished it (late).
  WorkerBlock* popBlockRt() {
    WorkerBlock* block = nullptr;
    return ready_.pop(block) ? block : nullptr;
  }
  /// Hands a block back for rendering and wakes the worker (a futex wake; never blocks).
  void returnBlockRt(WorkerBlock* block);

  const DspWorkerConfig& config() const { return config_; }
  /// Warnings from the thread's real-time set-up ("" when all applied). Valid after Start().
  std::string setup_warnings() const;
  /// Blocks rendered since start. Any thread.
  uint64_t blocks_rendered() const { return blocks_rendered_.load(std::memory_order_relaxed); }
  /// Longest time one block took to render, ns. Any thread.
  uint64_t worst_render_ns() const { return worst_render_ns_.load(std::memory_order_relaxed); }
  /// True once the thread entered its render loop.
  bool running() const { return in_loop_.load(std::memory_order_acquire); }

 private:
  void Run();
  void Apply(const WorkerCommand& command);

  DspWorkerConfig config_;
  dsp::VoiceBank bank_;
  std::vector<float> storage_;
  std::vector<WorkerBlock> blocks_;
  boost::lockfree::spsc_queue<WorkerCommand> commands_{kCommandCapacity};
  boost::lockfree::spsc_queue<WorkerBlock*> ready_;
  boost::lockfree::spsc_queue<WorkerBlock*> free_;
  std::atomic<uint32_t> wake_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> in_loop_{false};
  std::atomic<uint64_t> blocks_rendered_{0};
  std::atomic<uint64_t> worst_render_ns_{0};
  uint64_t commands_applied_ = 0;
  std::string setup_warnings_;
  std::atomic<bool> setup_done_{false};
  std::thread thread_;
};

}  // namespace chronus::firmware
