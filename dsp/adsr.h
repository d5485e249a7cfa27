// ADSR amplitude envelope.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chronus::dsp {

/// ADSR envelope with exponential (RC-like) segments, output in [0, 1].
///
/// Each segment is an exponential aimed past its end level so it arrives in finite time
/// (as in Nigel Redmon's EarLevel ADSR): attack overshoots 1 by kAttackRatio of its span
/// (a convex charge curve), decay and release by kDecayRatio (so a segment's time is the time
/// to cover 60 dB of its span, like an analog T60). The aim point is solved from the float
/// coefficient actually used, so the curve lands on its end level to ~1e-6 even for 20 s
/// segments (no step at the segment end). The segment's sample count,
/// round(time * sample_rate), is counted exactly: attack ends at level 1, decay at the sustain
/// level and release at exactly 0 (then the envelope is idle) on that sample. A segment takes its
/// set time from wherever it starts, so a retrigger attacks from the current level (no click)
/// and a release from any level lasts the release time. Time changes apply from the next
/// segment; a sustain change is followed with a kSustainGlideS one-pole glide.
class Adsr {
 public:
  enum class Stage : uint8_t { kIdle, kAttack, kDecay, kSustain, kRelease };

  static constexpr float kAttackRatio = 0.3f;
  static constexpr float kDecayRatio = 0.001f;
  static constexpr float kSustainGlideS = 0.005f;

  /// One exponential segment: dev is multiplied by `coef` each sample for `frames` samples.
  struct Segment {
    float coef = 0.0f;   ///< per-sample decay of the deviation from the aim point
    double decay = 0.0;  ///< coef^frames as the float recursion applies it
    uint32_t frames = 1;
  };
  /// The segment lasting round(seconds * sample_rate) samples (at least 1) whose deviation
  /// shrinks by ratio / (1 + ratio) over that span. Not RT-critical (std::pow).
  static Segment MakeSegment(float seconds, float ratio, float sample_rate);
  /// Aim point `base` and deviation `dev` (level = base + dev, dev *= seg.coef per sample) of a
  /// segment starting at `level` that lands on `end_level` after seg.frames samples. RT-safe.
  static void Aim(float level, const Segment& seg, float end_level, float* base, float* dev) {
    const double b = (end_level - level * seg.decay) / (1.0 - seg.decay);
    *base = static_cast<float>(b);
    *dev = static_cast<float>(level - b);
  }
  /// Per-sample one-pole coefficient of the sustain glide at `sample_rate` Hz.
  static float SustainGlideCoef(float sample_rate);

  /// Prepares for `sample_rate` Hz, idle at level 0, with the synth_params.h default times.
  void Init(float sample_rate);
  /// Attack time, seconds (0 -> one sample). RT-safe.
  void SetAttack(float seconds);
  /// Decay time (1 -> sustain), seconds. RT-safe.
  void SetDecay(float seconds);
  /// Sustain level, 0..1 linear amplitude. RT-safe.
  void SetSustain(float level);
  /// Release time (current level -> 0), seconds. RT-safe.
  void SetRelease(float seconds);

  /// Gate on starts the attack from the current level; gate off starts the release. RT-safe.
  void Gate(bool on);
  /// Jumps to idle, level 0. RT-safe.
  void Reset();

  /// Advances one sample and returns the level. RT-safe.
  float Process() {
    switch (stage_) {
      case Stage::kIdle:
        return 0.0f;
      case Stage::kSustain:
        if (level_ != sustain_) {
          const float next = level_ + (sustain_ - level_) * glide_coef_;
          // Snap when close or when rounding stalls the glide (no denormals, no endless glide).
          const bool done = next == level_ || (next - sustain_ < 1e-7f && sustain_ - next < 1e-7f);
          level_ = done ? sustain_ : next;
        }
        return level_;
      default:
        dev_ *= coef_;
        level_ = base_ + dev_;
        if (--remaining_ == 0) EndSegment();
        return level_;
    }
  }
  /// Writes `frames` levels to `out`. RT-safe.
  void Process(float* out, size_t frames);

  /// Current segments and sustain level (for renderers that run the same envelope elsewhere).
  const Segment& attack() const { return attack_; }
  const Segment& decay() const { return decay_; }
  const Segment& release() const { return release_; }
  float sustain() const { return sustain_; }

  Stage stage() const { return stage_; }
  float level() const { return level_; }
  /// False once the release has reached 0 (and before the first gate).
  bool IsActive() const { return stage_ != Stage::kIdle; }

 private:
  void StartSegment(Stage stage, const Segment& seg, float end_level);
  void EndSegment();

  float sample_rate_ = 48000.0f;
  Segment attack_, decay_, release_;
  float sustain_ = 0.7f;
  float glide_coef_ = 0.0f;
  // Current segment: level = base_ + dev_, dev_ *= coef_ each sample, for remaining_ samples.
  float level_ = 0.0f;
  float base_ = 0.0f;
  float dev_ = 0.0f;
  float coef_ = 0.0f;
  float end_level_ = 0.0f;
  uint32_t remaining_ = 0;
  Stage stage_ = Stage::kIdle;
};

// Inline so a local copy of an Adsr in a render loop can live in registers.
inline void Adsr::StartSegment(Stage stage, const Segment& seg, float end_level) {
  stage_ = stage;
  end_level_ = end_level;
  // Aim point such that base + (level - base) * decay == end_level after seg.frames samples.
  Aim(level_, seg, end_level, &base_, &dev_);
  coef_ = seg.coef;
  remaining_ = seg.frames;
}

inline void Adsr::EndSegment() {
  level_ = end_level_;
  switch (stage_) {
    case Stage::kAttack:
      StartSegment(Stage::kDecay, decay_, sustain_);
      break;
    case Stage::kDecay:
      stage_ = Stage::kSustain;
      break;
    default:
      level_ = 0.0f;
      stage_ = Stage::kIdle;
      break;
  }
}

}  // namespace chronus::dsp
