// The sound layers of a patch, on the audio thread (a LayerHost for the AudioEngine): routes each
// note by MIDI channel and key range to the synth voices and/or FluidSynth programs when it is due
// (at its frame: timetagged OSC and the generative mode's notes come through the engine's event
// scheduler), drops the generative notes of a cancelled generation, plays timed notes queued
// directly (pushTimedNonRt: fixed sequences of tests and benchmarks), and mixes the synth voices
// (mono, with their layer's gain and pan) with the FluidSynth worker's stereo blocks (per-layer
// gain and pan are MIDI volume and pan inside FluidSynth). The FluidSynth worker's stall story is
// in fluid_worker.h.
#pragma once

#include <array>
#include <atomic>
#include <bitset>
#include <cstdint>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>

#include "firmware/engine/layer_host.h"
#include "firmware/sound/fluid_worker.h"
#include "firmware/sound/sound_patch.h"

namespace chronus::firmware {

/// A note at an absolute engine frame, queued straight into the layers (one producer thread; the
/// FluidSynth tests and tools/bench/fluid_bench play fixed sequences this way). It plays in the
/// period whose frames contain it, i.e. lookahead blocks later than a Command with that frame.
struct TimedNote {
  uint64_t frame = 0;     ///< Absolute engine frame (frames since the engine started).
  uint32_t epoch = 0;     ///< Generation of the producer; notes of an older epoch are dropped.
  uint8_t channel = 0;    ///< MIDI channel 0..15.
  uint8_t note = 0;       ///< MIDI note.
  float velocity = 0.0f;  ///< 0..1; 0 = note off.
};

/// The FluidSynth channel of each layer (-1 for synth layers): layers playing bank 128 (drum
/// kits) get channel 9 if free, the others 0, 1, ... skipping 9. Non-RT.
std::vector<int> AssignFluidChannels(const std::vector<LayerConfig>& layers);

/// Construction and *NonRt: non-RT. LayerHost methods: audio thread. Counters: any thread.
class SoundLayers final : public LayerHost {
 public:
  static constexpr size_t kTimedCapacity = 8192;

  /// `fluid` may be null (synth only); it must outlive this object's use by the audio thread.
  SoundLayers(const SoundPatch& patch, FluidWorker* fluid, float sample_rate);

  bool RouteRt(const Command& command, uint64_t block_start, Command* synth) override;
  uint32_t BeginPeriodRt(uint64_t frame, uint32_t frames, Command* synth,
                         uint32_t capacity) override;
  void MixRt(const float* synth_mono, float* left, float* right, uint32_t frames) override;

  /// Queues a timed note (single producer: the generative thread). False when full.
  bool pushTimedNonRt(const TimedNote& note) { return timed_.push(note); }
  /// Free room in the timed queue. Producer thread.
  size_t timed_room() const { return timed_.write_available(); }
  /// Makes `epoch` the current generation: queued notes of other epochs are dropped and the notes
  /// they left sounding are released at the next block boundary. Any non-RT thread.
  void SetTimedEpochNonRt(uint32_t epoch) { epoch_.store(epoch, std::memory_order_release); }
  /// Makes `generation` (non-zero) the generative mode's current one: notes stamped with another
  /// generation (Command::generation) are dropped when they come due, and the notes they left
  /// sounding are released at the next block boundary. Any non-RT thread.
  void SetGenerationNonRt(uint16_t generation) {
    generation_.store(generation, std::memory_order_release);
  }
  /// The first frame of the period being played (for producers of timed notes). Any thread.
  uint64_t frame_now() const { return frame_now_.load(std::memory_order_acquire); }

  const std::vector<LayerConfig>& layers() const { return layers_; }
  const std::vector<int>& fluid_channels() const { return fluid_channels_; }
  FluidWorker* fluid() const { return fluid_; }

  uint64_t fluid_late_blocks() const { return fluid_late_.load(std::memory_order_relaxed); }
  uint64_t fluid_stalls() const { return fluid_stalls_.load(std::memory_order_relaxed); }
  /// Events that did not fit the FluidSynth worker's queue (should stay 0).
  uint64_t fluid_dropped_events() const { return fluid_dropped_.load(std::memory_order_relaxed); }
  uint64_t fluid_events() const { return fluid_events_.load(std::memory_order_relaxed); }
  /// Timed notes played, and those played after their frame had passed.
  uint64_t timed_played() const { return timed_played_.load(std::memory_order_relaxed); }
  uint64_t timed_late() const { return timed_late_.load(std::memory_order_relaxed); }
  /// Generation-stamped notes played, those played after their frame had passed, and those
  /// dropped because their generation had been cancelled.
  uint64_t gen_played() const { return gen_played_.load(std::memory_order_relaxed); }
  uint64_t gen_late() const { return gen_late_.load(std::memory_order_relaxed); }
  uint64_t gen_cancelled() const { return gen_cancelled_.load(std::memory_order_relaxed); }

 private:
  // Routes one note; returns true and fills *synth when a synth layer takes it.
  bool RouteNoteRt(uint8_t channel, uint8_t note, float velocity, uint32_t offset, Command* synth);
  void SendFluidRt(const FluidEvent& event);

  std::vector<LayerConfig> layers_;
  std::vector<int> fluid_channels_;
  FluidWorker* fluid_;
  float synth_left_ = 1.0f, synth_right_ = 1.0f;
  float decay_ = 0.99f;  // per sample, for the fade-out of a late FluidSynth block
  bool fluid_stalled_ = false;
  float last_left_ = 0.0f, last_right_ = 0.0f;
  boost::lockfree::spsc_queue<TimedNote, boost::lockfree::capacity<kTimedCapacity>> timed_;
  std::atomic<uint32_t> epoch_{0};
  uint32_t seen_epoch_ = 0;
  std::array<std::bitset<128>, 16> timed_held_{};  // audio thread: notes the timed queue left on
  std::atomic<uint16_t> generation_{0};
  uint16_t seen_generation_ = 0;
  // Audio thread: the generation of each (channel, note) a stamped note left sounding, 0 = none.
  std::array<std::array<uint16_t, 128>, 16> gen_held_{};
  std::atomic<uint64_t> frame_now_{0};
  std::atomic<uint64_t> fluid_late_{0};
  std::atomic<uint64_t> fluid_stalls_{0};
  std::atomic<uint64_t> fluid_dropped_{0};
  std::atomic<uint64_t> fluid_events_{0};
  std::atomic<uint64_t> timed_played_{0};
  std::atomic<uint64_t> timed_late_{0};
  std::atomic<uint64_t> gen_played_{0};
  std::atomic<uint64_t> gen_late_{0};
  std::atomic<uint64_t> gen_cancelled_{0};
};

}  // namespace chronus::firmware
