// The SuperDirt sample layer of the engine: sample voices spread over the DSP workers, rendered
// by them one block ahead (next to their synth voices) into per-orbit buses, mixed by the audio
// thread, which then runs each orbit's reverb and delay.
//
// Threads:
// - A control thread (the dirt server) pushes DirtEvents (PushEventNonRt: one producer) and
//   offers new sample banks (OfferBankNonRt) and frees retired ones (TakeRetiredBankNonRt).
// - The audio thread (MixPeriodRt, from AudioEngine::RenderPeriodRt) keeps the events in a
//   preallocated time-ordered heap and dispatches each into the worker block that covers its
//   frame, at its offset in that block: it picks the least-loaded worker and a voice slot
//   (dsp::SampleVoiceAllocator: no lock, no allocation; the oldest voice is stolen and counted when
//   every pool is full), applies cut groups to the voices concerned wherever they play, and sends
//   a command into that worker's own lock-free queue.
// - Each worker (RenderWorkerRt, through DspWorker's WorkerLayer hook) applies its commands and
//   renders its voice pool into the block's buses.
// Sample banks are swapped at a block boundary: every voice is cut, and the old bank is handed
// back for freeing off the RT path once every worker has rendered past the cut.
// Standby: when a worker's block is late (its share is on standby, worker_share.h), the audio
// thread renders that worker's sample voices itself, from the same state, in the same period
// (RenderStandbyRt): the voices play on without a gap, and new events go to the other workers.
// Every rendered block carries the engine frame it starts at and the state remembers the next
// frame due, so a worker thread that comes back with blocks the audio thread already covered
// leaves the state alone (stale_blocks), and commands are applied in the block they were sent
// for. Only a thread stalled in the middle of rendering the state itself (it holds `rendering`)
// cannot be covered: its voices pause for the period (standby_misses).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>

#include "dsp/orbit_effects.h"
#include "dsp/sample_voice_allocator.h"
#include "dsp/sample_voice_bank.h"
#include "firmware/engine/command.h"
#include "firmware/engine/dirt_event.h"
#include "firmware/engine/dsp_worker.h"
#include "firmware/samples/sample_bank.h"

namespace chronus::firmware {

struct SampleLayerConfig {
  float sample_rate = 48000.0f;   ///< Hz.
  uint32_t block_frames = 128;    ///< = the engine's.
  uint32_t workers = 2;           ///< = the engine's.
  uint32_t lookahead_blocks = 1;  ///< = the engine's.
  uint32_t voices = 128;          ///< Sample voices in all, spread evenly over the workers.
  uint32_t orbits = dsp::kMaxOrbits;
  float max_delay_s = 2.0f;  ///< Longest delaytime of the orbit delays, s.
};

class SampleLayer final : public WorkerLayer {
 public:
  static constexpr size_t kEventQueueCapacity = 4096;   ///< From the control thread.
  static constexpr size_t kPendingCapacity = 8192;      ///< Scheduled events (and note-offs).
  static constexpr size_t kWorkerQueueCapacity = 1024;  ///< Commands per worker per block.
  static constexpr size_t kMaxSynthCommands = 64;       ///< Synth note on/offs per period.

  explicit SampleLayer(const SampleLayerConfig& config);
  ~SampleLayer() override;

  /// Queues an event. One control thread only. False (and counted) when the queue is full.
  bool PushEventNonRt(const DirtEvent& event);
  /// Hands a new bank to the audio thread, which swaps it in at a block boundary. Takes it (and
  /// returns true) unless a bank is already waiting; then `bank` is left to the caller. Non-RT.
  bool OfferBankNonRt(std::unique_ptr<SampleBank>& bank);
  /// The bank the audio thread stopped using, once no voice reads it any more, or nullptr. Non-RT.
  std::unique_ptr<SampleBank> TakeRetiredBankNonRt();
  /// Sets the first bank before the audio thread runs. Main thread.
  void SetInitialBankNonRt(std::unique_ptr<SampleBank> bank);
  /// The bank in use (the control thread may read its report; it is freed only through
  /// TakeRetiredBankNonRt, after it stopped being current). Any thread.
  const SampleBank* current_bank() const { return current_.load(std::memory_order_acquire); }

  // WorkerLayer: worker `worker` renders its sample voices for its block `slot`, which plays at
  // engine frame `start_frame`; false (and nothing touched) when that frame was rendered already.
  bool RenderWorkerRt(int worker, uint32_t slot, uint64_t start_frame, uint32_t frames) override;

  /// Audio thread, once per period, after the shares took their blocks and before they hand
  /// them back: `blocks[w]` is the block share w took (nullptr: late or on standby), `usable`
  /// has bit w set when share w may take new voices. Mixes the workers' sample voices and the
  /// orbit effects into `out` (interleaved stereo, block_frames frames, overwritten) and
  /// dispatches the events due in the blocks the workers render next (event frames are engine
  /// frames: the period count times block_frames, as AudioEngine and its EngineClock count).
  void MixPeriodRt(const WorkerBlock* const* blocks, uint32_t usable, float* out);
  /// When the audio thread renders worker `worker`'s share itself (EngineConfig::
  /// audio_thread_renders): `other_ns` is what the rest of its last period took (mixing,
  /// effects, output), ns. New voices then lean to the other workers by that much, counted in
  /// voices at the measured cost of a voice, so that the audio thread's period ends when the
  /// workers' blocks do. Audio thread, before MixPeriodRt.
  void SetAudioThreadWorkRt(int worker, uint64_t other_ns);
  /// The load offset (voices) the audio thread's share carries now. Audio thread.
  uint32_t audio_thread_offset_rt() const {
    return audio_worker_ >= 0 ? allocator_.load_offset(static_cast<uint32_t>(audio_worker_)) : 0;
  }
  /// Synth note on/offs due this period (s mapped to a synth), for the engine to apply.
  /// Audio thread, after MixPeriodRt.
  size_t synth_command_count_rt() const { return synth_count_; }
  const Command& synth_command_rt(size_t i) const { return synth_commands_[i]; }

  const SampleLayerConfig& config() const { return config_; }

  // Counters, any thread.
  uint64_t events_played() const { return played_.load(std::memory_order_relaxed); }
  uint64_t voices_stolen() const { return stolen_.load(std::memory_order_relaxed); }
  /// Events dispatched after the block of their frame had been rendered (played late).
  uint64_t late_events() const { return late_.load(std::memory_order_relaxed); }
  /// Events whose s/n named no sample of the bank.
  uint64_t unknown_sounds() const { return unknown_.load(std::memory_order_relaxed); }
  /// Events dropped: queue or schedule full, no usable worker, worker queue full.
  uint64_t dropped_events() const { return dropped_.load(std::memory_order_relaxed); }
  uint32_t active_voices() const { return active_.load(std::memory_order_relaxed); }
  uint64_t bank_swaps() const { return swaps_.load(std::memory_order_relaxed); }
  /// Blocks rendered without their sample voices because another thread of the same worker (a
  /// stalled one that came back, or its replacement) was rendering them.
  uint64_t render_collisions() const { return collisions_.load(std::memory_order_relaxed); }
  /// Worker blocks for frames already rendered (by the standby path, or by another thread of the
  /// same worker): left without sample voices, which had played on time.
  uint64_t stale_blocks() const { return stale_.load(std::memory_order_relaxed); }
  /// Blocks of late workers whose sample voices the audio thread rendered (standby path).
  uint64_t standby_blocks() const { return standby_blocks_.load(std::memory_order_relaxed); }
  /// Periods in which a late worker's sample voices could not be covered (its thread stalled
  /// while rendering them): they paused for the period.
  uint64_t standby_misses() const { return standby_misses_.load(std::memory_order_relaxed); }

 private:
  struct WorkerCommandPacket {
    enum Type : uint8_t { kStart, kCut, kCutAll } type = kStart;
    uint16_t slot = 0;
    uint32_t offset = 0;       // frames into the block it is for
    uint64_t block_start = 0;  // engine frame of that block
    dsp::SamplePlay play;
  };
  struct BlockOut {
    std::vector<float> storage;
    dsp::OrbitBuses buses;
    dsp::OrbitMasks masks;
    std::vector<uint8_t> active;
    uint64_t commands_applied = 0;
    uint64_t start_frame = UINT64_MAX;  // engine frame of the block rendered into it
  };
  struct WorkerState {
    dsp::SampleVoiceBank bank;
    boost::lockfree::spsc_queue<WorkerCommandPacket> commands{kWorkerQueueCapacity};
    std::vector<BlockOut> blocks;
    BlockOut standby;         // the audio thread's, when it renders this state (standby path)
    uint64_t applied = 0;     // the thread holding `rendering`
    uint64_t next_frame = 0;  // the thread holding `rendering`: the first frame not rendered
    // Held while a worker thread renders this state: a stalled thread that comes back while its
    // replacement renders finds it taken and leaves the state alone (RenderWorkerRt).
    std::atomic<bool> rendering{false};
    // Audio thread only:
    uint64_t sent = 0;
    std::vector<uint64_t> start_seq;  // per voice: `sent` after its start command
  };
  struct Pending {
    uint64_t frame;
    uint64_t order;  // FIFO among equal frames
    DirtEvent event;
    bool note_off;
  };

  void PushPendingRt(const Pending& pending);
  void PopPendingRt();
  void DispatchRt(const Pending& pending, uint64_t block_start);
  bool SendRt(uint32_t worker, WorkerCommandPacket packet);
  // Applies the commands for the block at `start_frame` and renders it into `out`; the caller
  // holds ws.rendering.
  void RenderStateRt(WorkerState& ws, BlockOut& out, uint64_t start_frame, uint32_t frames);
  // Audio thread: worker `worker`'s sample voices for the period at `start_frame`, rendered now
  // (or found rendered by the worker), or nullptr when its thread holds the state.
  const BlockOut* RenderStandbyRt(uint32_t worker, uint64_t start_frame);
  void SwapBankRt();

  SampleLayerConfig config_;
  uint32_t per_worker_;
  std::vector<std::unique_ptr<WorkerState>> workers_;
  boost::lockfree::spsc_queue<DirtEvent> events_{kEventQueueCapacity};
  // Audio thread only:
  std::vector<Pending> heap_;
  size_t heap_size_ = 0;
  uint64_t order_ = 0;
  uint64_t period_ = 0;
  uint64_t send_block_ = 0;  // engine frame of the block the commands sent now are for
  uint32_t usable_mask_ = 0;
  std::vector<uint64_t> applied_seen_;  // per worker: commands_applied of its last block taken
  std::vector<const BlockOut*> outs_;   // per worker: its sample voices of this period, or null
  int audio_worker_ = -1;               // the share the audio thread renders, or -1
  double audio_other_ns_ = 0;           // smoothed: the audio thread's work besides that share
  double ns_per_voice_ = 0;             // smoothed: render time of a sounding voice
  dsp::SampleVoiceAllocator allocator_;
  std::vector<dsp::OrbitEffects> effects_;
  std::vector<dsp::OrbitEffectParams> effect_params_;
  std::vector<float> mix_storage_;
  dsp::OrbitBuses mix_;
  std::vector<float> out_left_;
  std::vector<float> out_right_;
  std::vector<Command> synth_commands_;
  size_t synth_count_ = 0;
  const SampleBank* bank_rt_ = nullptr;
  const SampleBank* retiring_ = nullptr;
  std::vector<uint64_t> retire_seq_;  // per worker: commands that include the CutAll
  uint64_t retire_after_period_ = 0;
  std::atomic<const SampleBank*> current_{nullptr};
  std::atomic<SampleBank*> offered_{nullptr};
  std::atomic<SampleBank*> retired_{nullptr};
  std::atomic<uint64_t> played_{0};
  std::atomic<uint64_t> stolen_{0};
  std::atomic<uint64_t> late_{0};
  std::atomic<uint64_t> unknown_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint32_t> active_{0};
  std::atomic<uint64_t> swaps_{0};
  std::atomic<uint64_t> collisions_{0};
  std::atomic<uint64_t> stale_{0};
  std::atomic<uint64_t> standby_blocks_{0};
  std::atomic<uint64_t> standby_misses_{0};
};

}  // namespace chronus::firmware
