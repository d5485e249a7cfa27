// A fixed-capacity set of voices rendered into one mono (or stereo) buffer, several voices at a
// time with SIMD.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dsp/adsr.h"
#include "dsp/synth_params.h"

namespace chronus::dsp {

/// Instruction sets the voice bank's kernels are built for. kBaseline is the build target's own
/// (SSE2 on generic x86-64, NEON on aarch64); the others exist on x86-64 only and are chosen at
/// run time when the CPU has them, so a generic x86-64 build still runs everywhere.
enum class SimdLevel : uint8_t { kBaseline, kAvx2, kAvx512 };

/// The voices one DSP worker owns, addressed by slot 0..num_voices-1. The control side decides
/// which slot plays which note (see VoiceAllocator); the bank only renders. Out-of-range slots
/// are ignored. Storage is fixed (no allocation at all); about 70 KB, so construct it once.
///
/// Each voice is Voice's signal chain (PolyBLEP saw / square or polynomial sine, Välimäki &
/// Huovilainen 2007 -> TPT state-variable low-pass, Zavalishin "The Art of VA Filter Design"
/// ch. 4 in Simper's solved form -> exponential ADSR after Redmon, times velocity) and renders
/// the same samples as a Voice driven the same way, within float rounding while parameters are
/// steady (tests/dsp/voice_bank_test.cpp states and checks the bounds). Voice is the
/// straightforward per-sample reference; VoiceBank is the fast one:
///  - Structure of arrays: per-voice state lives in arrays indexed by lane; kernels run 8 (SSE2,
///    NEON), 16 (AVX2) or 32 (AVX-512) lanes at once through simd.h's GCC vector types, with no
///    per-sample branch, call or parameter test: the waveform, whether coefficients ramp and
///    where envelope segments end are decided per piece and select a specialised kernel.
///  - Control grid: the cutoff and resonance glides (one-pole, Voice::kSmoothingMs, OnePole's
///    snapping) step every kControlFrames samples, at absolute sample positions that are
///    multiples of kControlFrames counted from Init, never relative to the caller's blocks. The
///    filter coefficients (g = TanApprox(pi fc / fs), a1 = 1 / (1 + g (g + k)), a2 = g a1) are
///    computed there, for 4 lanes at a time, and ramped linearly over the next kControlFrames
///    samples. So the output does not depend on how the caller splits its Render calls (it is
///    bit-identical for any block sizes), and a change made between two grid points starts its
///    glide at the next one (at most 15 samples, 0.3 ms, later; the firmware's changes arrive at
///    period boundaries, which are on the grid).
///  - Pieces: between grid points where nothing glides or fades, up to kMaxPieceFrames samples
///    are rendered per kernel call; envelope segment ends split pieces, so they stay
///    sample-exact.
///  - Active voices are kept packed in the lowest lanes (at a grid point a voice is moved,
///    bit-exactly, to a free lower lane), so idle slots cost nothing whichever slots are in use.
///  - Render flushes subnormals to zero for its duration (ScopedFlushDenormals).
/// The instruction set is picked at Init (DetectSimdLevel; AVX2 and AVX-512 kernels are compiled
/// with GCC target attributes and only called when the CPU has them).
class VoiceBank {
 public:
  /// Control grid period, samples: smoothing steps and filter coefficient updates.
  static constexpr size_t kControlFrames = 16;
  /// Longest piece rendered without returning to the control logic, samples.
  static constexpr size_t kMaxPieceFrames = 64;
  /// Lanes per chunk: the unit of kernel selection and envelope bookkeeping.
  static constexpr size_t kChunkLanes = 32;
  static constexpr size_t kMaxChunks = (kMaxVoices + kChunkLanes - 1) / kChunkLanes;

  /// Prepares `num_voices` (clamped to kMaxVoices) inactive voices for `sample_rate` Hz with the
  /// synth_params.h defaults, centred pan, and the best SimdLevel this CPU supports.
  void Init(float sample_rate, size_t num_voices);
  /// Starts (or retriggers) `midi_note` (fractional allowed) at `velocity` 0..1 on `slot`. On a
  /// silent slot this resets phase, filter and glides; on a sounding one the envelope attacks
  /// again from its current level (no click), keeping phase and filter. RT-safe.
  void NoteOn(size_t slot, float midi_note, float velocity);
  /// Releases `slot`. RT-safe.
  void NoteOff(size_t slot);
  /// Sets a parameter on every voice, units of synth_params.h (clamped to its range);
  /// kMasterGainDb is ignored (engine-level). RT-safe.
  void SetParam(ParamId id, float value);
  /// Sets a parameter on one voice only (e.g. a per-note cutoff). RT-safe.
  void SetVoiceParam(size_t slot, ParamId id, float value);
  /// Pan of one voice for RenderStereo: -1 (left) .. 1 (right), equal-power (cos / sin of
  /// (pan + 1) * pi / 4, as SuperCollider's Pan2). RT-safe.
  void SetVoicePan(size_t slot, float pan);
  /// Glide time constant of cutoff and resonance, ms (0 = reach the target at the next grid
  /// point, still ramped over kControlFrames). Default Voice::kSmoothingMs. RT-safe.
  void SetSmoothingMs(float ms);

  /// Writes (does not add) the mono sum of all voices (each times its velocity), `frames`
  /// samples. RT-safe.
  void Render(float* out, size_t frames);
  /// Writes the stereo sum of all voices, each panned by SetVoicePan, `frames` samples to each
  /// of `left` and `right`. RT-safe.
  void RenderStereo(float* left, float* right, size_t frames);

  /// Makes this bank an exact copy of `other` (voices, parameters, smoothing, oscillator, filter
  /// and envelope state, control grid position), so that it renders what `other` would from
  /// here on: used for checkpoints and failover hand-over between threads. Copies
  /// `other.num_voices()` voices only. RT-safe, no allocation.
  void CopyStateFrom(const VoiceBank& other);

  bool IsActive(size_t slot) const { return slot < num_voices_ && slots_[slot].lane >= 0; }
  size_t ActiveCount() const { return active_count_; }
  size_t num_voices() const { return num_voices_; }
  /// Slots whose release ended during the last Render (to report to the allocator's MarkFree).
  std::span<const uint16_t> Finished() const { return {finished_.data(), num_finished_}; }
  /// Smoothed cutoff of `slot`, Hz, as of the last grid point (its target when silent).
  float cutoff_hz(size_t slot) const;
  /// Envelope level of `slot` after the last rendered sample (0 when silent).
  float envelope_level(size_t slot) const;
  /// Samples rendered since Init.
  uint64_t position() const { return pos_; }

  /// Instruction set used by Render.
  SimdLevel simd_level() const { return simd_; }
  /// Selects the kernels' instruction set (tests, benchmarks); false, and no change, when this
  /// CPU or build lacks it. Results differ between levels by float rounding only. RT-safe.
  bool SetSimdLevel(SimdLevel level);
  /// Best level this CPU supports.
  static SimdLevel DetectSimdLevel();
  static const char* SimdLevelName(SimdLevel level);

  // Implementation types, public so that the kernels (voice_bank.cpp) can name them.
  enum class WaveMode : uint8_t { kSine, kSaw, kSquare, kMix };
  /// Hot per-lane state, one array per field (structure of arrays): lanes_.f[field][lane].
  struct alignas(64) Lanes {
    enum Field : uint8_t {
      kPhase,    // oscillator phase, cycles [0, 1)
      kInc,      // phase increment per sample
      kInvInc,   // 1 / kInc (0 when kInc is 0)
      kWeight0,  // crossfade weights of sine, saw, square (kWeight0 + Waveform)
      kWeight1,
      kWeight2,
      kTarget0,  // 1 for the waveform being faded to, else 0 (kTarget0 + Waveform)
      kTarget1,
      kTarget2,
      kIc1,  // SVF state
      kIc2,
      kA1,  // SVF coefficients (Simper's a1, a2, and g) and their per-sample ramps
      kA2,
      kG,
      kDa1,
      kDa2,
      kDg,
      kEnvBase,  // envelope: level = base + dev, dev *= coef per sample
      kEnvDev,
      kEnvCoef,
      kGain,   // mono gain (velocity)
      kGainL,  // stereo gains (velocity times the pan law)
      kGainR,
      // Control rate only (ControlStep), not read by the kernels:
      kCutoff,  // smoothed cutoff, Hz, and its target
      kCutoffTarget,
      kDamping,  // smoothed damping k = 1 / Q, and its target
      kDampingTarget,
      kA1End,  // kA1, kA2, kG at the end of the current ramp
      kA2End,
      kGEnd,
      kFields
    };
    float f[kFields][kMaxVoices];
  };
  friend struct VoiceBankKernels;

 private:
  using Stage = Adsr::Stage;
  static constexpr uint64_t kNever = ~uint64_t{0};

  /// Cold per-slot state: parameters (a sounding voice's glides live in its lane).
  struct Slot {
    float cutoff = 2000.0f;  // target cutoff, Hz
    float damping = 1.0f;    // target damping k = 1 / Q
    Adsr::Segment attack, decay, release;
    float sustain = 0.7f;
    float end_level = 0.0f;  // level the current segment lands on
    float velocity = 0.0f;
    float pan = 0.0f;
    float note = 0.0f;
    float bend = 0.0f;  // pitch bend, semitones
    int16_t lane = -1;  // -1: silent
    Waveform waveform = Waveform::kSaw;
    Stage stage = Stage::kIdle;
  };

  template <bool kStereo>
  void RenderImpl(float* out0, float* out1, size_t frames);
  void ControlStep();
  void Compact();
  void MoveLane(size_t from, size_t to);
  void StartLane(size_t slot);
  void FreeLane(size_t lane);
  void GlideStep(size_t chunk);
  void SetGlideTarget(size_t slot, size_t target_field, float value);
  void SetLaneGains(size_t slot);
  void SetLaneFrequency(size_t slot);
  void SetSustain(size_t slot, float level);
  void SetWaveform(size_t slot, Waveform w);
  void StartSegment(size_t lane, Stage stage, const Adsr::Segment& seg, float end_level,
                    uint64_t now);
  void HandleEnvelopeEvents(size_t chunk, uint64_t now);
  void UpdateChunk(size_t chunk);
  void ApplyParam(size_t first, size_t last, ParamId id, float value);
  float LaneLevel(size_t lane) const {
    return lanes_.f[Lanes::kEnvBase][lane] + lanes_.f[Lanes::kEnvDev][lane];
  }
  uint64_t NextEvent() const;

  using PieceFn = void (*)(VoiceBank& bank, size_t frames, float* out0, float* out1);

  Lanes lanes_{};  // zeroed: idle lanes are always finite, whatever a bank was copied from
  std::array<Slot, kMaxVoices> slots_{};
  std::array<int16_t, kMaxVoices> lane_slot_{};    // slot rendered by each lane, -1 = free
  std::array<uint64_t, kMaxVoices> seg_end_{};     // sample at which the lane's segment ends
  std::array<uint32_t, kMaxChunks> chunk_mask_{};  // active lanes of each chunk
  std::array<uint64_t, kMaxChunks> chunk_event_{};
  std::array<WaveMode, kMaxChunks> chunk_mode_{};
  std::array<bool, kMaxChunks> chunk_ramp_{};    // some lane's coefficients ramp
  std::array<bool, kMaxChunks> chunk_glide_{};   // the control step has glide work
  std::array<bool, kMaxChunks> chunk_fading_{};  // some lane crossfades waveforms
  std::array<uint16_t, kMaxVoices> finished_{};
  size_t num_voices_ = 0;
  size_t num_finished_ = 0;
  size_t active_count_ = 0;
  size_t lanes_in_use_ = 0;  // highest active lane + 1
  uint64_t pos_ = 0;         // samples rendered since Init
  bool quiet_ = false;       // the next grid points' ControlStep would change nothing
  float sample_rate_ = 48000.0f;
  float pi_over_fs_ = 0.0f;
  float max_cutoff_hz_ = 20000.0f;
  float fade_step_ = 0.0f;
  float sustain_coef_ = 0.0f;  // per-sample decay of the sustain glide's deviation
  float smooth_coef_ = 1.0f;   // one-pole coefficient of the glides, per grid period
  SimdLevel simd_ = SimdLevel::kBaseline;
  PieceFn piece_ = nullptr;
  // Per-piece accumulators: [sample][lane of a native vector]; not part of the state.
  static constexpr size_t kMaxNativeLanes = 16;
  alignas(64) float acc0_[kMaxPieceFrames * kMaxNativeLanes];
  alignas(64) float acc1_[kMaxPieceFrames * kMaxNativeLanes];
};

}  // namespace chronus::dsp
