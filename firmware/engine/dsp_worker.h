// A DSP worker thread: owns a share of the synth's voices and renders them one block ahead of the
// audio thread into preallocated blocks that travel through lock-free queues. After each block it
// publishes a checkpoint (its voice state after that block) and a heartbeat, so that the audio
// thread can take its share over at once when a block is late (see share_standby.h).
#pragma once

#include <atomic>
#include <bitset>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>

#include "dsp/voice_bank.h"
#include "firmware/engine/command.h"
#include "firmware/engine/fault.h"

namespace chronus::firmware {

/// Extra voices a worker renders in the same pass as its synth voices (the sample voices of
/// sample_layer.h), into storage of the layer's own keyed by the block's `slot`.
class WorkerLayer {
 public:
  virtual ~WorkerLayer() = default;
  /// Called by worker `worker` right after it rendered its synth voices into the block in `slot`
  /// (0 .. lookahead_blocks - 1), which plays at engine frame `start_frame`, before the block is
  /// published. Worker thread; RT rules apply. Two threads may call it for the same `worker` at
  /// once (a stalled thread that came back while its replacement runs): the layer lets one in
  /// and returns false to the other, whose block then carries no layer output; it also returns
  /// false for a frame it rendered already (the audio thread covered it on standby).
  virtual bool RenderWorkerRt(int worker, uint32_t slot, uint64_t start_frame, uint32_t frames) = 0;
};

/// One rendered block of a worker's voices (mono, `frames` samples).
struct WorkerBlock {
  float* samples = nullptr;  ///< Points into the worker's preallocated storage.
  uint32_t frames = 0;
  uint64_t index = 0;  ///< 0, 1, 2, ... in rendering order.
  /// Engine frame of the block's first sample, set by the audio thread when it hands the block
  /// over for rendering: worker commands are applied at their frame within [start, start+frames).
  uint64_t start_frame = 0;
  uint64_t commands_applied = 0;  ///< Worker commands applied before this block was rendered.
  const dsp::VoiceBank* checkpoint = nullptr;  ///< Voice state right after this block.
  std::bitset<dsp::kMaxVoices> active;         ///< Worker-local voice slots still sounding.
  uint32_t slot = 0;            ///< This block's place in the worker's storage (WorkerLayer key).
  bool layer_rendered = false;  ///< The WorkerLayer rendered its part of this block.
  uint32_t render_ns = 0;       ///< How long the worker took to render it (wall clock), ns.
};

struct DspWorkerConfig {
  int index = 0;                  ///< Worker number, used in the thread name.
  int cpu = -1;                   ///< Core to pin to, or -1.
  int priority = 0;               ///< SCHED_FIFO priority (below the audio thread's), 0 = normal.
  float sample_rate = 48000.0f;   ///< Hz.
  uint32_t block_frames = 128;    ///< Frames per block (= the device period).
  uint32_t voices = 8;            ///< Voice slots this worker owns.
  uint32_t lookahead_blocks = 1;  ///< Blocks rendered ahead of the audio thread.
  /// true: the worker renders its first blocks at once. false (a replacement worker): its blocks
  /// start in the ready queue unrendered, for the audio thread to park until it hands the share
  /// over with the voice state it kept.
  bool prefill = true;
  WorkerLayer* layer = nullptr;  ///< Rendered after the synth voices when set; not owned.
  /// false: no thread of its own. The thread that hands a block back (returnBlockRt: the audio
  /// thread) renders it there and then, as supernova's main audio thread renders a share of the
  /// graph itself: with N workers only N - 1 extra threads compete for the cores. Such a worker
  /// is never late (so never on standby) and takes no injected faults.
  bool threaded = true;
  /// Without a thread: how many blocks to keep rendered ahead of the one the audio thread plays
  /// (1 .. lookahead_blocks; 0 = lookahead_blocks, every block rendered when handed back). The
  /// worker threads may render up to lookahead_blocks ahead; a share the audio thread renders
  /// fewer ahead lets them run ahead of it as well as behind it, so that offline (nothing pacing
  /// the audio thread) neither thread waits on the other's block-to-block jitter. In real time it
  /// changes nothing but which block the audio thread renders in a period.
  uint32_t rendered_ahead_blocks = 0;
  /// With a thread: how long it spins (ns) for the next block handed back before it sleeps on
  /// its futex. Offline the next block comes ~20 us later, and a futex sleep and wake-up costs
  /// about as much on a VM; in real time (a block per period, ms apart) leave it 0.
  int64_t idle_spin_ns = 0;
};

/// Applies one worker command to a voice bank. Shared by the worker and the audio thread's
/// standby path, so both interpret commands identically. RT-safe.
void ApplyWorkerCommand(dsp::VoiceBank& bank, const WorkerCommand& command);

/// Renders `frames` samples of `bank` into `out` for the block starting at engine frame
/// `start_frame`, applying the commands that `next` yields in between, each at its frame (the
/// render is split there; a frame before the block applies at its start). `next(limit, &command)`
/// must hand over the next command if its frame is < `limit` and return false otherwise, leaving
/// later commands for later blocks. Returns the commands applied. Shared by the worker and the
/// standby path. RT-safe.
template <typename NextFn>
uint64_t RenderWithEvents(dsp::VoiceBank& bank, float* out, uint32_t frames, uint64_t start_frame,
                          NextFn&& next) {
  uint64_t applied = 0;
  uint32_t done = 0;
  WorkerCommand command;
  while (next(start_frame + frames, &command)) {
    const uint32_t at =
        command.frame > start_frame ? static_cast<uint32_t>(command.frame - start_frame) : 0;
    if (at > done) {
      bank.Render(out + done, at - done);
      done = at;
    }
    ApplyWorkerCommand(bank, command);
    ++applied;
  }
  if (done < frames) bank.Render(out + done, frames - done);
  return applied;
}

/// Construction, Start and Stop from a non-RT thread; the *Rt methods from the audio thread only.
class DspWorker {
 public:
  static constexpr size_t kCommandCapacity = 1024;

  explicit DspWorker(const DspWorkerConfig& config);
  ~DspWorker();
  DspWorker(const DspWorker&) = delete;
  DspWorker& operator=(const DspWorker&) = delete;

  /// Starts the thread and returns once it has set itself up.
  void Start();
  /// Stops and joins the thread. Must not be called on an abandoned worker.
  void Stop();
  /// Gives up on a thread that does not come back (spinning, or stalled for good) or that is
  /// being replaced: demotes it to SCHED_IDLE so it cannot starve a core, tells it to stop, wakes
  /// it if it sleeps between blocks (it then ends at once; a stalled one ends when it comes back,
  /// a spinning one never), and detaches it. The object must be kept alive while running() is
  /// true (AudioEngine::ReapAbandonedNonRt frees it after). Non-RT.
  void AbandonNonRt();
  /// AbandonNonRt was called. Any thread.
  bool abandoned() const { return abandoned_.load(std::memory_order_acquire); }

  /// Queues a command for the next block the worker renders. Audio thread. False when full.
  bool pushCommandRt(const WorkerCommand& command) { return commands_.push(command); }
  /// Takes the next rendered block, or nullptr when the worker has not finished it (late).
  WorkerBlock* popBlockRt() {
    WorkerBlock* block = nullptr;
    return ready_.pop(block) ? block : nullptr;
  }
  /// Hands a block back for rendering and wakes the worker (a futex wake, made only when the
  /// worker is asleep; never blocks). Without a thread (config.threaded false) renders it here.
  void returnBlockRt(WorkerBlock* block);
  /// The worker's own voice bank. The audio thread may write it (hand-over) only while it holds
  /// every one of the worker's blocks: the worker is then idle and has published all its writes.
  dsp::VoiceBank& bankForHandoverRt() { return bank_; }
  /// Commands the worker has applied; valid under the same condition as bankForHandoverRt.
  uint64_t commands_applied_for_handover_rt() const { return commands_applied_; }

  /// Arms a fault for the worker's next block (tests only). Non-RT.
  void InjectFaultNonRt(const FaultSpec& fault);

  const DspWorkerConfig& config() const { return config_; }
  /// Warnings from the thread's real-time set-up ("" when all applied). Valid after Start().
  std::string setup_warnings() const { return setup_warnings_; }
  /// Heartbeat, any thread: blocks rendered since start.
  uint64_t blocks_rendered() const { return blocks_rendered_.load(std::memory_order_relaxed); }
  /// Heartbeat, any thread: CLOCK_MONOTONIC ns at which the block being rendered was started,
  /// or 0 while the worker is idle.
  int64_t render_started_ns() const { return render_started_ns_.load(std::memory_order_acquire); }
  /// Time the last block took to render, ns. Any thread.
  uint64_t last_render_ns() const { return last_render_ns_.load(std::memory_order_relaxed); }
  /// Longest time one block took to render, ns. Any thread.
  uint64_t worst_render_ns() const { return worst_render_ns_.load(std::memory_order_relaxed); }
  /// True while the thread is in its render loop; false before Start and after it ended (Stop,
  /// or an exception thrown in a render).
  bool running() const { return in_loop_.load(std::memory_order_acquire); }
  /// True once the thread ended because a render threw. Any thread.
  bool failed() const { return failed_.load(std::memory_order_acquire); }

 private:
  void Run();
  void RunLoop();
  // Renders the blocks handed back so far, until `max_ready` are rendered and not yet taken. False
  // when the thread was abandoned meanwhile.
  bool RenderFreeBlocksRt(size_t max_ready = SIZE_MAX);
  // Blocks the caller keeps rendered when the worker has no thread (config.rendered_ahead_blocks).
  size_t ReadyTargetRt() const;
  // Spins up to config.idle_spin_ns for wake_ to move on from `seen`. True when it did.
  bool SpinForWake(uint32_t seen) const;
  void ConsumeFault();

  DspWorkerConfig config_;
  dsp::VoiceBank bank_;
  std::vector<dsp::VoiceBank> checkpoints_;  // lookahead + 1, ring by block index
  std::vector<float> storage_;
  std::vector<WorkerBlock> blocks_;
  boost::lockfree::spsc_queue<WorkerCommand> commands_{kCommandCapacity};
  boost::lockfree::spsc_queue<WorkerBlock*> ready_;
  boost::lockfree::spsc_queue<WorkerBlock*> free_;
  std::atomic<uint32_t> wake_{0};
  std::atomic<bool> sleeping_{false};  // the worker is (about to be) in its futex wait
  std::atomic<bool> stop_{false};
  std::atomic<bool> in_loop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> abandoned_{false};
  std::atomic<bool> setup_done_{false};
  std::atomic<uint64_t> blocks_rendered_{0};
  std::atomic<int64_t> render_started_ns_{0};
  std::atomic<uint64_t> worst_render_ns_{0};
  std::atomic<uint64_t> last_render_ns_{0};
  std::atomic<uint8_t> fault_type_{0};
  std::atomic<double> fault_stall_ms_{0};
  uint64_t commands_applied_ = 0;
  uint64_t next_index_ = 0;
  std::string setup_warnings_;
  std::thread thread_;
};

}  // namespace chronus::firmware
