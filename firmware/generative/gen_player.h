// Plays the generative composer: a non-RT thread composes each bar shortly before it is due
// (`lead_s` ahead of the audio thread's position) and sends its notes through the same event path
// as timetagged OSC: note-on/off Commands with their engine frame and the part's MIDI channel,
// through the player's own control-queue lane, into the engine's event scheduler, which
// dispatches each at its frame to the sound layers (synth voices and FluidSynth programs, by
// channel), sample-accurately. Each note carries the player's generation (Command::generation):
// /gen/stop and /gen/start begin a new one, so notes already scheduled are dropped when due and
// those sounding are released (SoundLayers::SetGenerationNonRt). At most two bars wait in the
// scheduler (<= 2 * Composer::kMaxNotesPerBar = 192 of its 4096 places) and in the lane (2048).
// Parameter changes (/gen/*) are atomics read
// when the next bar is composed: they take effect at the next bar (or the one after, when the next
// bar had already been composed less than `lead_s` before its start). The composer allocates
// nothing after start: memory stays flat however long it plays.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "firmware/engine/control_queue.h"
#include "firmware/generative/composer.h"
#include "firmware/sound/sound_layers.h"
#include "firmware/sound/sound_patch.h"

namespace chronus::firmware {

struct GenPlayerConfig {
  double sample_rate = 48000.0;  ///< Hz.
  double lead_s = 0.5;           ///< A bar is composed this long before it starts, s.
  double poll_s = 0.02;          ///< The thread's wake-up interval, s.
  /// The first bar starts this long after /gen/start is seen, s: more than the engine's latency
  /// (a period and its lookahead blocks), or the first notes are late.
  double start_s = 0.1;
  /// Voices each part may sound at once (pad, melody, bass): within the synth voices and the
  /// FluidSynth polyphony.
  std::array<int, generative::kParts> max_voices = {4, 1, 1};
};

/// Set*/Start/Stop music: any non-RT thread (atomics). StepNonRt: the player's thread (or a test
/// driving it instead of the thread).
class GenPlayer {
 public:
  GenPlayer(SoundLayers& layers, const GenerativeConfig& defaults, const GenPlayerConfig& config);
  ~GenPlayer();

  /// The lane the player sends its notes into (its own: the player's thread, or the thread that
  /// calls StepNonRt, is its one producer). Main thread, before Start. Without a lane nothing is
  /// composed.
  void SetLaneNonRt(ControlQueue::Producer* lane) { lane_ = lane; }

  /// Starts / stops the composing thread (main thread).
  void Start();
  void Stop();

  void StartMusicNonRt() { start_requested_.store(true, std::memory_order_release); }
  void StopMusicNonRt() { stop_requested_.store(true, std::memory_order_release); }
  void SetModeNonRt(generative::Mode mode) { mode_.store(mode, std::memory_order_relaxed); }
  void SetRootNonRt(int root) { root_.store(root, std::memory_order_relaxed); }
  void SetBpmNonRt(double bpm) { bpm_.store(bpm, std::memory_order_relaxed); }
  void SetIntensityNonRt(double intensity) {
    intensity_.store(intensity, std::memory_order_relaxed);
  }
  /// Takes effect at the next /gen/start.
  void SetSeedNonRt(uint32_t seed) { seed_.store(seed, std::memory_order_relaxed); }

  /// Composes and queues every bar that starts before `now_frame` + lead (engine frames; the
  /// thread passes the first frame of the period being played). Returns the number of bars
  /// composed.
  int StepNonRt(uint64_t now_frame);

  bool playing() const { return playing_.load(std::memory_order_relaxed); }
  generative::GenParams params() const;
  uint32_t seed() const { return seed_.load(std::memory_order_relaxed); }
  uint64_t bars() const { return bars_.load(std::memory_order_relaxed); }
  uint64_t notes_queued() const { return notes_queued_.load(std::memory_order_relaxed); }
  /// Notes not queued because the lane was full (should stay 0: a bar is only composed when the
  /// lane has room for a whole one).
  uint64_t notes_dropped() const { return notes_dropped_.load(std::memory_order_relaxed); }

 private:
  void Run();
  void NextGenerationNonRt();

  SoundLayers& layers_;
  ControlQueue::Producer* lane_ = nullptr;
  GenPlayerConfig config_;
  std::array<uint8_t, generative::kParts> channels_{};
  generative::Composer composer_;         // player thread only
  std::vector<generative::GenNote> bar_;  // player thread only, reserved once
  uint16_t generation_ = 0;               // player thread only
  std::atomic<bool> start_requested_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> playing_{false};
  std::atomic<generative::Mode> mode_;
  std::atomic<int> root_;
  std::atomic<double> bpm_;
  std::atomic<double> intensity_;
  std::atomic<uint32_t> seed_;
  std::atomic<uint64_t> bars_{0};
  std::atomic<uint64_t> notes_queued_{0};
  std::atomic<uint64_t> notes_dropped_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace chronus::firmware
