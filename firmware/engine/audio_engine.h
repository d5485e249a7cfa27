// The engine core that runs inside the audio thread each period: applies control commands at the
// block boundary (voice allocation happens here, so that the allocation is one authority shared by
// all workers), collects every worker's block, mixes, applies master gain and soft clip, and
// produces full-scale int32 frames. Device I/O is not here (see audio_thread.h), so the same core
// runs offline in tests.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "dsp/one_pole.h"
#include "dsp/voice_allocator.h"
#include "firmware/engine/control_queue.h"
#include "firmware/engine/dsp_worker.h"
#include "firmware/engine/engine_clock.h"
#include "firmware/engine/event_scheduler.h"
#include "firmware/engine/layer_host.h"
#include "firmware/engine/worker_share.h"

namespace chronus::firmware {

struct EngineConfig {
  float sample_rate = 48000.0f;  ///< Hz.
  uint32_t block_frames = 128;   ///< Frames per block (= the device period).
  uint32_t channels = 2;         ///< Output channels; the mono mix goes to each.
  uint32_t workers = 2;          ///< DSP worker threads.
  std::vector<int> worker_cpus;  ///< Core per worker (missing entries: not pinned).
  int worker_priority = 0;       ///< SCHED_FIFO priority of the workers, 0 = normal.
  /// true: share 0 has no worker thread; the audio thread renders it right after handing the
  /// other workers their blocks (DspWorkerConfig::threaded), as supernova's main thread does.
  /// One thread fewer competes for the cores (offline renders, machines with few cores); the
  /// audio thread's period cost then includes that share's render. Default off.
  bool audio_thread_renders = false;
  uint32_t voices = 16;           ///< Polyphony, spread over the workers (voice v -> worker v % N).
  uint32_t lookahead_blocks = 1;  ///< Blocks each worker renders ahead.
  /// With audio_thread_renders: blocks the audio thread keeps its own share rendered ahead
  /// (1 .. lookahead_blocks; 0 = lookahead_blocks). Fewer than lookahead_blocks lets the worker
  /// threads run ahead of the audio thread's render as well as behind it, which is what an offline
  /// render needs (DspWorkerConfig::rendered_ahead_blocks). Real time: no effect on timing.
  uint32_t audio_share_ahead_blocks = 0;
  /// How long (ns) an idle worker thread spins for its next block before it sleeps: for offline
  /// renders, where blocks come tens of us apart (DspWorkerConfig::idle_spin_ns). 0 in real time.
  int64_t worker_idle_spin_ns = 0;
  /// SuperDirt sample voices rendered by the same workers and mixed in stereo on top of the
  /// synth (sample_layer.h); not owned, may be null. Its block size, workers and lookahead must
  /// be these.
  class SampleLayer* sample_layer = nullptr;
};

/// Construction, Start, Stop: main thread. RenderPeriodRt: the audio thread only. Counters: any.
class AudioEngine {
 public:
  /// At most this many control commands are applied per period (the rest wait a period): 192,000
  /// a second at 128-frame periods, twice the 100,000/s OSC flood the box must absorb; half the
  /// worker command queue (DspWorker::kCommandCapacity), so that a period of parameter
  /// broadcasts fits with a block of lookahead.
  static constexpr int kMaxCommandsPerPeriod = 512;

  AudioEngine(const EngineConfig& config, ControlQueue& control);
  ~AudioEngine();

  /// Starts the workers; returns once each has rendered its first blocks.
  void Start();
  void Stop();

  /// Renders one period of `block_frames` frames into `out` (interleaved, `channels` per frame,
  /// full-scale int32 whose low 8 bits are zero: the output has 24-bit resolution). Never blocks,
  /// never allocates. A worker block that is not ready is counted as late and its share is
  /// rendered on the standby path in this same period (see worker_share.h).
  void RenderPeriodRt(int32_t* out);

  const EngineConfig& config() const { return config_; }
  /// The workers rendering now (one per share). Non-RT.
  std::vector<DspWorker*> workers() const;
  /// The audio thread's side of worker `index` (standby path, counters). Non-RT callers use its
  /// NonRt methods and counters only.
  WorkerShare& share(size_t index) { return *shares_[index]; }
  size_t share_count() const { return shares_.size(); }
  /// Creates and starts a replacement for share `index` pinned to `cpu` (-1: not pinned), owned by
  /// the engine. It starts idle (no prefill). Non-RT.
  DspWorker* CreateReplacementNonRt(size_t index, int cpu);
  /// Frees the workers that were abandoned (DspWorker::AbandonNonRt) and whose threads have
  /// ended; returns how many. Non-RT (the supervisor calls it on every check).
  size_t ReapAbandonedNonRt();
  /// The value of every synth parameter as last applied (units of dsp::kParamSpecs), and a
  /// counter of parameter changes applied: the patch as it sounds, whoever changed it. Any thread.
  float param_value(dsp::ParamId id) const {
    return param_values_[static_cast<size_t>(id)].load(std::memory_order_relaxed);
  }
  uint64_t param_changes() const { return param_changes_.load(std::memory_order_acquire); }
  uint64_t late_blocks() const { return late_blocks_.load(std::memory_order_relaxed); }
  uint64_t periods() const { return periods_.load(std::memory_order_relaxed); }
  uint32_t active_voices() const { return active_voices_.load(std::memory_order_relaxed); }
  uint64_t voices_stolen() const { return voices_stolen_.load(std::memory_order_relaxed); }
  /// Worker commands that did not fit a worker's queue (should stay 0).
  uint64_t dropped_commands() const { return dropped_commands_.load(std::memory_order_relaxed); }
  /// Installs the sound layers (FluidSynth, routing, generative events; see layer_host.h), or
  /// nullptr for the synth voices alone. Main thread, before the audio thread starts; `host` must
  /// outlive the audio thread's use of the engine.
  void SetLayerHostNonRt(LayerHost* host) { layer_host_ = host; }
  /// The control queue the engine takes its commands from (to add a producer lane). Non-RT.
  ControlQueue& control_queue() { return control_; }

  // Scheduled commands (Command::frame != 0). A command is dispatched to the workers in the
  // period in which its frame falls into the next block they render (lookahead_blocks ahead of
  // the period being played), and rendered from that frame on (sub-block split). Latency of an
  // immediate command: lookahead_blocks * block_frames frames after the current period's start.
  // Exception: kMasterGainDb is applied by the audio thread when dispatched, i.e. up to
  // lookahead_blocks blocks before its frame.
  /// Engine frame at which the period the audio thread renders next starts (periods * block).
  uint64_t next_period_frame() const { return periods() * config_.block_frames; }
  /// Earliest frame a command sent now can still take effect at (a smaller Command::frame is
  /// late): the start of the block the workers render after the next period. Any thread.
  uint64_t earliest_schedulable_frame() const {
    return (periods() + config_.lookahead_blocks + 1) * config_.block_frames;
  }
  /// Commands whose frame had passed when the audio thread got them (applied at once).
  uint64_t late_events() const { return late_events_.load(std::memory_order_relaxed); }
  /// Commands scheduled for a later block (kept in the scheduler until due).
  uint64_t scheduled_events() const { return scheduled_events_.load(std::memory_order_relaxed); }
  /// Scheduled commands that did not fit the scheduler (applied at once instead).
  uint64_t scheduler_overflows() const {
    return scheduler_overflows_.load(std::memory_order_relaxed);
  }
  /// Engine frames <-> time (published by the audio thread, read by any thread).
  EngineClock& clock() { return clock_; }
  const EngineClock& clock() const { return clock_; }
  /// Commands waiting in the scheduler now.
  uint32_t pending_events() const { return pending_events_.load(std::memory_order_relaxed); }

 private:
  void ApplyRt(const Command& command);
  void SendRt(uint32_t voice, WorkerCommand command);
  void BroadcastRt(const WorkerCommand& command);
  void MixSampleLayerRt();
  void DispatchRt(const Command& command, uint64_t block_start);
  // A due command: through the layer host (when there is one), then DispatchRt.
  void RouteAndDispatchRt(const Command& command, uint64_t block_start);
  // Step 4: master gain, soft clip and 24-bit quantisation of left_/right_ into `out`.
  void WriteOutputRt(int32_t* out);

  EngineConfig config_;
  ControlQueue& control_;
  mutable std::mutex workers_mutex_;  // guards owned_ (non-RT only)
  std::vector<std::unique_ptr<DspWorker>> owned_;
  std::vector<std::unique_ptr<WorkerShare>> shares_;
  std::vector<uint64_t> note_on_seq_;  // per voice: its share's command count after its NoteOn
  std::vector<float> mix_;
  std::vector<float> layer_out_;                  // sample layer: stereo interleaved
  std::vector<const WorkerBlock*> layer_blocks_;  // sample layer: each share's block this period
  dsp::VoiceAllocator allocator_;
  dsp::OnePole master_gain_;  // linear gain, smoothed per sample
  std::array<std::atomic<float>, dsp::kParamCount> param_values_;
  std::atomic<uint64_t> param_changes_{0};
  std::atomic<uint64_t> late_blocks_{0};
  std::atomic<uint64_t> periods_{0};
  std::atomic<uint32_t> active_voices_{0};
  std::atomic<uint64_t> voices_stolen_{0};
  std::atomic<uint64_t> dropped_commands_{0};
  EventScheduler scheduler_;
  EngineClock clock_;
  uint64_t event_frame_ = 0;  // audio thread: frame stamped on the worker commands being sent
  std::atomic<uint64_t> late_events_{0};
  std::atomic<uint64_t> scheduled_events_{0};
  std::atomic<uint64_t> scheduler_overflows_{0};
  std::atomic<uint32_t> pending_events_{0};
  LayerHost* layer_host_ = nullptr;
  std::vector<float> left_, right_;  // the stereo mix (the synth's mono mix in both without a host)
  std::vector<float> gain_;          // the master gain of each frame of the period
  uint64_t audio_other_ns_ = 0;      // audio thread: last period's work besides its own share
  std::array<Command, kMaxCommandsPerPeriod> host_commands_{};
};

}  // namespace chronus::firmware
