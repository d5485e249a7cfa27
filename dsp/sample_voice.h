// One sample playback voice, as SuperDirt's `dirt_sample` synth plus its per-event modules:
// variable-rate cubic playback (negative rate plays backwards), begin/end, a linear
// attack-hold-release envelope (SuperDirt's fade-in/fade-out and `attack`/`release`), resonant
// low-pass and high-pass, `shape` waveshaping, equal-power pan, and sends to the orbit's reverb
// and delay.
#pragma once

#include <cstdint>

#include "dsp/orbit_bus.h"
#include "dsp/svf.h"

namespace chronus::dsp {

/// Frames of zeros stored before and after every sample's data, so that cubic interpolation can
/// read data[-1] .. data[frames + 1] without bounds checks.
inline constexpr uint32_t kSamplePadFrames = 2;

/// A mono or stereo sample at the engine's rate. `data` points at frame 0 of interleaved frames,
/// with kSamplePadFrames zero frames readable on each side. Owns nothing.
struct SampleView {
  const float* data = nullptr;
  uint32_t frames = 0;
  uint32_t channels = 0;  ///< 1 or 2
};

/// SuperDirt's default fade time (DirtOrbit `~fadeTime`), seconds.
inline constexpr float kDirtFadeTime = 0.001f;
/// Fade applied to a voice that is cut (cut group) or stolen, seconds.
inline constexpr float kCutFadeTime = 0.002f;

/// Everything one sample event needs, already resolved and clamped by the caller.
struct SamplePlay {
  SampleView sample;
  float rate = 1.0f;   ///< Sample frames per output frame; negative plays backwards (reverse).
  float begin = 0.0f;  ///< Start, fraction of the sample 0..1.
  float end = 1.0f;    ///< End, fraction 0..1 (begin < end; reverse plays from end to begin).
  float amp = 0.4f;    ///< Linear gain (SuperDirt: 0.4 * gain^4).
  float pan = 0.5f;    ///< 0 = hard left, 1 = hard right.
  /// Seconds until the end of the release (SuperDirt `sustain`, or legato * delta); <= 0: the
  /// whole begin..end span at |rate|. Never longer than that span.
  float sustain_s = 0.0f;
  float attack_s = -1.0f;      ///< Fade-in, s; < 0: SuperDirt's (0, or the fade time if begin > 0).
  float release_s = -1.0f;     ///< Fade-out, s; < 0: SuperDirt's fade time (1 ms, capped).
  float lpf_hz = 0.0f;         ///< Low-pass cutoff, Hz; 0 = off.
  float lpf_resonance = 0.0f;  ///< 0..1 (ResonanceToQ).
  float hpf_hz = 0.0f;         ///< High-pass cutoff, Hz; 0 = off.
  float hpf_resonance = 0.0f;  ///< 0..1.
  float shape = 0.0f;          ///< Waveshaper amount 0..0.99; 0 = off.
  float room = 0.0f;           ///< Reverb send, 0..1.
  float delay = 0.0f;          ///< Delay send, 0..1.
  uint32_t orbit = 0;          ///< < kMaxOrbits.
};

/// Init once, then Start / Render per block; no allocation, RT-safe throughout.
class SampleVoice {
 public:
  /// Largest block Render accepts, frames.
  static constexpr uint32_t kMaxBlockFrames = 1024;

  void Init(float sample_rate);
  /// Starts `play` at frame `offset` of the next Render call (0 <= offset < that block's
  /// frames), replacing whatever the voice played.
  void Start(const SamplePlay& play, uint32_t offset);
  /// Fades the voice out over kCutFadeTime from frame `offset` of the next Render call (cut
  /// groups); a voice whose onset is at or after that frame is dropped unheard.
  void Cut(uint32_t offset);
  /// Adds the next `frames` (<= kMaxBlockFrames) of the voice to its orbit in `out`. `scratch`
  /// holds 2 * kMaxBlockFrames floats (shared by the voices of a bank).
  void Render(const OrbitBuses& out, uint32_t frames, float* scratch);

  bool active() const { return active_; }
  uint32_t orbit() const { return play_.orbit; }
  const SamplePlay& play() const { return play_; }
  /// Output frames left until the voice ends (0 when inactive).
  uint64_t frames_left() const { return active_ ? frames_left_ : 0; }

 private:
  void SetupEnvelope();
  void StepStage();
  void ApplyCut();
  static constexpr uint64_t kNoCut = ~uint64_t{0};

  float sample_rate_ = 48000.0f;
  SamplePlay play_;
  bool active_ = false;
  uint32_t start_offset_ = 0;
  double pos_ = 0.0;   // sample frame position
  double rate_ = 1.0;  // frames per output frame (signed)
  uint64_t frames_left_ = 0;
  uint64_t cut_countdown_ = kNoCut;  // voice frames until a pending cut
  // Envelope: stage 0 attack, 1 hold, 2 release; linear segments.
  int stage_ = 0;
  uint64_t stage_left_ = 0;
  float env_ = 0.0f;
  float env_step_ = 0.0f;
  uint64_t attack_frames_ = 0;
  uint64_t hold_frames_ = 0;
  uint64_t release_frames_ = 0;
  bool lpf_on_ = false;
  bool hpf_on_ = false;
  Svf lpf_[2];
  Svf hpf_[2];
  float shape_k_ = 0.0f;
  float shape_gain_ = 1.0f;
  float gain_left_ = 0.0f;
  float gain_right_ = 0.0f;
};

/// SuperDirt's amplitude for `gain` (DirtEvent.finaliseParameters):
/// amp = 0.4 * (min(gain, 2) + overgain)^4, 0.4 being DirtOrbit's default `amp`. RT-safe.
inline float DirtAmp(float gain, float overgain = 0.0f) {
  const float g = (gain < 2.0f ? gain : 2.0f) + overgain;
  const float g2 = g * g;
  return 0.4f * g2 * g2;
}

/// SuperDirt's `shape` waveshaper on one sample: k = 2s / (1 - s),
/// y = (1 + k) x / (1 + k |x|) * (1 - 0.15 s / (s + 2)). RT-safe.
inline float DirtShape(float x, float k, float gain) {
  const float ax = x < 0.0f ? -x : x;
  return (1.0f + k) * x / (1.0f + k * ax) * gain;
}

}  // namespace chronus::dsp
