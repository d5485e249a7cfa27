// The FluidSynth worker: a DSP worker thread that owns the FluidSynth instance and renders it one
// block ahead of the audio thread with fluid_synth_write_float into preallocated stereo blocks
// that travel through lock-free queues (the same hand-off as the synth voices' DspWorker). Note
// events come from the audio thread through a wait-free SPSC queue: FluidSynth is called on this
// thread only, never on the audio thread.
//
// SoundFont swap: a new instance prepared off the RT path is offered through an atomic pointer;
// the worker takes it at a block boundary, renders that one block from both instances with a
// linear crossfade (no click), and hands the old instance back through another atomic pointer to
// be freed off the RT path (TakeRetiredNonRt).
//
// Standby story (FluidSynth state cannot be checkpointed, unlike the synth voices): when a block
// is late the FluidSynth layer goes silent for the stall: the audio thread fades the last
// sample out over ~3 ms instead of a hard cut, counts the period as late, and keeps sending
// events; the synth voices keep their own standby path and play on. When the worker is back, its
// first block fades in and it applies every queued event (those of missed periods at the start of
// the block), so notes that started during the stall sound late, and note-offs are not lost.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>

#include "firmware/sound/fluid_instance.h"

namespace chronus::firmware {

/// A note event for FluidSynth. `offset` is the frame within the next block the worker renders at
/// which it applies (FluidSynth itself quantises to its internal 64-frame block).
struct FluidEvent {
  enum class Type : uint8_t {
    kNoteOn,       ///< channel, key, velocity 1..127
    kNoteOff,      ///< channel, key
    kAllNotesOff,  ///< every channel
    kEndOfPeriod,  ///< marks the end of one audio period's events (sent by EndPeriodRt)
  };
  Type type = Type::kNoteOn;
  uint8_t channel = 0;
  uint8_t key = 0;
  uint8_t velocity = 0;
  uint32_t offset = 0;
};

/// One rendered stereo block (planar).
struct FluidBlock {
  float* left = nullptr;
  float* right = nullptr;
  uint32_t frames = 0;
  uint64_t index = 0;
};

struct FluidWorkerConfig {
  int cpu = -1;                   ///< Core to pin to, or -1.
  int priority = 0;               ///< SCHED_FIFO priority (below the audio thread), 0 = normal.
  uint32_t block_frames = 128;    ///< Frames per block (= the device period).
  uint32_t lookahead_blocks = 1;  ///< Blocks rendered ahead.
};

/// Construction, Start, Stop and *NonRt: non-RT threads. *Rt: the audio thread only.
class FluidWorker {
 public:
  static constexpr size_t kEventCapacity = 8192;

  /// `instance` may be null: the worker renders silence until one is offered.
  FluidWorker(const FluidWorkerConfig& config, std::unique_ptr<FluidInstance> instance);
  ~FluidWorker();
  FluidWorker(const FluidWorker&) = delete;
  FluidWorker& operator=(const FluidWorker&) = delete;

  void Start();
  void Stop();

  /// Queues an event for the next block rendered. False when the queue is full (event lost).
  bool pushEventRt(const FluidEvent& event) { return events_.push(event); }
  /// Closes this period's events: the worker applies them in the next block it renders.
  bool EndPeriodRt();
  /// The next rendered block, or nullptr when it is late.
  FluidBlock* popBlockRt() {
    FluidBlock* block = nullptr;
    return ready_.pop(block) ? block : nullptr;
  }
  /// Hands a block back for rendering and wakes the worker (futex wake; never blocks).
  void returnBlockRt(FluidBlock* block);

  /// Offers a prepared instance: on success the worker owns it (`instance` is emptied); false
  /// (and `instance` kept) when another one is still pending. Non-RT.
  bool OfferInstanceNonRt(std::unique_ptr<FluidInstance>& instance);
  /// True while an offered instance waits for the worker.
  bool instance_pending() const { return pending_.load(std::memory_order_acquire) != nullptr; }
  /// The instance the worker stopped using after a swap, to be freed by the caller. Non-RT.
  std::unique_ptr<FluidInstance> TakeRetiredNonRt() {
    return std::unique_ptr<FluidInstance>(retired_.exchange(nullptr, std::memory_order_acq_rel));
  }
  /// The current instance (for reading its font paths; do not call FluidSynth on it). Any thread;
  /// valid until the next swap.
  const FluidInstance* current_for_info() const { return info_.load(std::memory_order_acquire); }

  /// Takes a queued event instead of the worker (tests of the routing, worker not started).
  bool popEventForTest(FluidEvent* event) { return events_.pop(*event); }
  /// Stalls the worker for `ms` before its next block (tests only). Non-RT.
  void InjectStallNonRt(double ms) { stall_ms_.store(ms, std::memory_order_release); }
  /// True while an injected stall has not yet been taken by the worker (tests only). Any thread.
  bool stall_pending() const { return stall_ms_.load(std::memory_order_acquire) != 0.0; }

  uint64_t blocks_rendered() const { return blocks_rendered_.load(std::memory_order_relaxed); }
  /// CLOCK_MONOTONIC start of the block render under way, 0 while the worker waits (for the
  /// watchdog: fluid_watch.h). Any thread.
  int64_t render_started_ns() const { return render_started_ns_.load(std::memory_order_acquire); }
  uint64_t worst_render_ns() const { return worst_render_ns_.load(std::memory_order_relaxed); }
  uint64_t swaps() const { return swaps_.load(std::memory_order_relaxed); }
  int voices_playing() const { return voices_.load(std::memory_order_relaxed); }
  const FluidWorkerConfig& config() const { return config_; }

 private:
  void Run();
  void RenderBlock(FluidBlock* block);
  void ApplyEvent(const FluidEvent& event);
  void RenderSpan(float* left, float* right, uint32_t frames);

  FluidWorkerConfig config_;
  FluidInstance* current_ = nullptr;  // worker thread only (after Start)
  std::atomic<FluidInstance*> info_{nullptr};
  std::atomic<FluidInstance*> pending_{nullptr};
  std::atomic<FluidInstance*> retired_{nullptr};
  std::vector<float> storage_;
  std::vector<float> fade_;  // scratch for the crossfade of a swap
  std::vector<FluidBlock> blocks_;
  boost::lockfree::spsc_queue<FluidEvent> events_{kEventCapacity};
  boost::lockfree::spsc_queue<FluidBlock*> ready_;
  boost::lockfree::spsc_queue<FluidBlock*> free_;
  std::atomic<uint64_t> periods_sent_{0};  // EndPeriodRt markers pushed
  uint64_t periods_applied_ = 0;           // worker thread only
  std::atomic<uint32_t> wake_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> setup_done_{false};
  std::atomic<double> stall_ms_{0.0};
  std::atomic<uint64_t> blocks_rendered_{0};
  std::atomic<int64_t> render_started_ns_{0};
  std::atomic<uint64_t> worst_render_ns_{0};
  std::atomic<uint64_t> swaps_{0};
  std::atomic<int> voices_{0};
  uint64_t next_index_ = 0;
  std::thread thread_;
};

}  // namespace chronus::firmware
