#include "dsp/voice_bank.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "dsp/denormals.h"
#include "dsp/oscillator.h"
#include "dsp/pitch.h"
#include "dsp/simd.h"
#include "dsp/svf.h"
#include "dsp/voice.h"

namespace chronus::dsp {

using Field = VoiceBank::Lanes::Field;
using WaveMode = VoiceBank::WaveMode;

namespace {

// ---- Per-lane signal functions, any Pack type; the same arithmetic as the scalar modules. ----

// PolyBlep (oscillator.h) without branches. Its two polynomials are perfect squares:
//   t < dt:      2u - u^2 - 1 = -(1 - u)^2,  u = t / dt
//   t > 1 - dt:  u^2 + 2u + 1 =  (1 - w)^2,  w = (1 - t) / dt
// so with r1 = max(1 - t / dt, 0) and r2 = max(1 - (1 - t) / dt, 0), which are non-zero exactly in
// those regions (disjoint as dt < 0.5), the residual is r2^2 - r1^2: 8 operations, no select.
// (1 - t is exact in float for t in [0.5, 1], so w carries one rounding, as the reference's u.)
template <class V>
CHRONUS_SIMD_INLINE V Blep(V t, V inv_dt, V zero) {
  const V one = V::Splat(1.0f);
  const V r1 = Max(one - t * inv_dt, zero);
  const V r2 = Max(one - (one - t) * inv_dt, zero);
  return r2 * r2 - r1 * r1;
}

template <class V>
CHRONUS_SIMD_INLINE V SawWave(V t, V inv_dt, V zero) {
  return V::Splat(2.0f) * t - V::Splat(1.0f) - Blep(t, inv_dt, zero);
}

template <class V>
CHRONUS_SIMD_INLINE V SquareWave(V t, V inv_dt, V zero) {
  const V one = V::Splat(1.0f);
  V half = t + V::Splat(0.5f);
  half = Select(half >= one, half - one, half);
  return Select(t < V::Splat(0.5f), one, -one) + Blep(t, inv_dt, zero) - Blep(half, inv_dt, zero);
}

// Svf::SetCoefficients with g = TanApprox(pi fc / fs) (TanApprox inlined for vectors); the
// kernels use a1, a2 and g. Works for float and for Pack types.
template <class T>
CHRONUS_SIMD_INLINE void FilterCoefficients(T cutoff_hz, T damping, T pi_over_fs, T* a1, T* a2,
                                            T* g) {
  const T x = cutoff_hz * pi_over_fs;
  const T x2 = x * x;
  const T num = x * (T(10395.0f) + x2 * (T(-1260.0f) + x2 * T(21.0f)));
  const T den = T(10395.0f) + x2 * (T(-4725.0f) + x2 * (T(210.0f) - x2));
  *g = num / den;
  *a1 = T(1.0f) / (T(1.0f) + *g * (*g + damping));
  *a2 = *g * *a1;
}
// SinCycle (oscillator.h).
template <class V>
CHRONUS_SIMD_INLINE V SineWave(V t) {
  V x = t - V::Splat(0.5f);
  x = Select(x > V::Splat(0.25f), V::Splat(0.5f) - x,
             Select(x < V::Splat(-0.25f), V::Splat(-0.5f) - x, x));
  const V a = x * V::Splat(6.28318530717958648f);
  const V a2 = a * a;
  const V p =
      V::Splat(1.0f) +
      a2 * (V::Splat(-1.0f / 6.0f) +
            a2 * (V::Splat(1.0f / 120.0f) +
                  a2 * (V::Splat(-1.0f / 5040.0f) +
                        a2 * (V::Splat(1.0f / 362880.0f) + a2 * V::Splat(-1.0f / 39916800.0f)))));
  return -a * p;
}

// Renders `n` samples of lanes [l0, l0 + V::kLanes) and adds them, summed over V's parts, to
// the first V::kWidth floats of the accumulator rows acc[i * kRow] (acc1 too when stereo).
// kMode selects the waveform (kMix: crossfade of all three), kRamp whether the filter
// coefficients move.
template <class V, WaveMode kMode, bool kRamp, bool kStereo, size_t kRow>
CHRONUS_SIMD_INLINE void RenderLanes(VoiceBank::Lanes& lanes, size_t l0, size_t n, float fade_step,
                                     float* acc0, float* acc1) {
  using N = typename V::Native;
  static_assert(static_cast<size_t>(V::kWidth) <= kRow);
  constexpr size_t kW = kRow;
  auto at = [&](Field f) { return lanes.f[f] + l0; };
  const V one = V::Splat(1.0f);
  const V two = V::Splat(2.0f);
  const V zero = V::Splat(0.0f).Opaque();  // see Pack::Opaque
  V phase = V::Load(at(Field::kPhase));
  const V inc = V::Load(at(Field::kInc));
  const V inv_inc = V::Load(at(Field::kInvInc));
  V ic1 = V::Load(at(Field::kIc1));
  V ic2 = V::Load(at(Field::kIc2));
  V a1 = V::Load(at(Field::kA1));
  V a2 = V::Load(at(Field::kA2));
  V g = V::Load(at(Field::kG));
  V da1{}, da2{}, dg{};
  if constexpr (kRamp) {
    da1 = V::Load(at(Field::kDa1));
    da2 = V::Load(at(Field::kDa2));
    dg = V::Load(at(Field::kDg));
  }
  const V base = V::Load(at(Field::kEnvBase));
  V dev = V::Load(at(Field::kEnvDev));
  const V coef = V::Load(at(Field::kEnvCoef));
  const V g0 = V::Load(at(kStereo ? Field::kGainL : Field::kGain));
  V g1{};
  if constexpr (kStereo) g1 = V::Load(at(Field::kGainR));
  V w0{}, w1{}, w2{};
  typename V::Mask t0{}, t1{}, t2{};
  V step{};
  if constexpr (kMode == WaveMode::kMix) {
    w0 = V::Load(at(Field::kWeight0));
    w1 = V::Load(at(Field::kWeight1));
    w2 = V::Load(at(Field::kWeight2));
    const V half = V::Splat(0.5f);
    t0 = V::Load(at(Field::kTarget0)) > half;
    t1 = V::Load(at(Field::kTarget1)) > half;
    t2 = V::Load(at(Field::kTarget2)) > half;
    step = V::Splat(fade_step);
  }
  for (size_t i = 0; i < n; ++i) {
    V x;  // oscillator
    if constexpr (kMode == WaveMode::kSaw) {
      x = SawWave(phase, inv_inc, zero);
    } else if constexpr (kMode == WaveMode::kSine) {
      x = SineWave(phase);
    } else if constexpr (kMode == WaveMode::kSquare) {
      x = SquareWave(phase, inv_inc, zero);
    } else {
      const V sum = w0 * SineWave(phase) + w1 * SawWave(phase, inv_inc, zero) +
                    w2 * SquareWave(phase, inv_inc, zero);
      x = sum / Max(w0 + w1 + w2, V::Splat(1e-30f));
      w0 = Select(t0, Min(w0 + step, one), Max(w0 - step, zero));
      w1 = Select(t1, Min(w1 + step, one), Max(w1 - step, zero));
      w2 = Select(t2, Min(w2 + step, one), Max(w2 - step, zero));
    }
    phase += inc;
    phase = Select(phase >= one, phase - one, phase);
    if constexpr (kRamp) {
      a1 += da1;
      a2 += da2;
      g += dg;
    }
    // Svf::Process, with a2 * ic1 + a3 * v3 = g * v1 (a2 = g a1, a3 = g a2): one FMA less.
    const V v3 = x - ic2;
    const V v1 = a1 * ic1 + a2 * v3;
    const V v2 = ic2 + g * v1;
    ic1 = two * v1 - ic1;
    ic2 = two * v2 - ic2;
    // Adsr::Process: every stage is level = base + dev, dev *= coef.
    dev *= coef;
    const V env = base + dev;
    N row0;
    __builtin_memcpy(&row0, acc0 + i * kW, sizeof(N));
    row0 += (v2 * (env * g0)).SumParts();
    __builtin_memcpy(acc0 + i * kW, &row0, sizeof(N));
    if constexpr (kStereo) {
      N row1;
      __builtin_memcpy(&row1, acc1 + i * kW, sizeof(N));
      row1 += (v2 * (env * g1)).SumParts();
      __builtin_memcpy(acc1 + i * kW, &row1, sizeof(N));
    }
  }
  phase.Store(at(Field::kPhase));
  ic1.Store(at(Field::kIc1));
  ic2.Store(at(Field::kIc2));
  if constexpr (kRamp) {
    a1.Store(at(Field::kA1));
    a2.Store(at(Field::kA2));
    g.Store(at(Field::kG));
  }
  dev.Store(at(Field::kEnvDev));
  if constexpr (kMode == WaveMode::kMix) {
    w0.Store(at(Field::kWeight0));
    w1.Store(at(Field::kWeight1));
    w2.Store(at(Field::kWeight2));
  }
}

template <class V, bool kStereo, size_t kRow>
CHRONUS_SIMD_INLINE void DispatchLanes(WaveMode mode, bool ramp, VoiceBank::Lanes& lanes, size_t l0,
                                       size_t n, float fade_step, float* acc0, float* acc1) {
#define CHRONUS_LANES(MODE)                                                                        \
  (ramp ? RenderLanes<V, WaveMode::MODE, true, kStereo, kRow>(lanes, l0, n, fade_step, acc0, acc1) \
        : RenderLanes<V, WaveMode::MODE, false, kStereo, kRow>(lanes, l0, n, fade_step, acc0,      \
                                                               acc1))
  switch (mode) {
    case WaveMode::kSaw:
      CHRONUS_LANES(kSaw);
      break;
    case WaveMode::kSine:
      CHRONUS_LANES(kSine);
      break;
    case WaveMode::kSquare:
      CHRONUS_LANES(kSquare);
      break;
    case WaveMode::kMix:
      CHRONUS_LANES(kMix);
      break;
  }
#undef CHRONUS_LANES
}

}  // namespace

/// The piece renderer, instantiated once per instruction set (below).
struct VoiceBankKernels {
  template <class V, bool kStereo>
  CHRONUS_SIMD_INLINE static void Piece(VoiceBank& b, size_t n, float* out0, float* out1) {
    constexpr size_t kW = V::kLanes;                       // lanes per pass
    constexpr auto kRow = static_cast<size_t>(V::kWidth);  // accumulator row: one native vector
    constexpr size_t kPasses = VoiceBank::kChunkLanes / kW;
    constexpr uint32_t kPassMask = kW >= 32 ? ~uint32_t{0} : (uint32_t{1} << (kW % 32)) - 1u;
    static_assert(VoiceBank::kChunkLanes % kW == 0 && VoiceBank::kChunkLanes <= 32);
    // Cleared with the kernels' own vector width (a rep-stos memset is not forwarded to their
    // loads that follow at once).
    using N = typename V::Native;
    const N zero_row{};
    for (size_t i = 0; i < n; ++i) {
      __builtin_memcpy(b.acc0_ + i * kRow, &zero_row, sizeof(N));
      if constexpr (kStereo) __builtin_memcpy(b.acc1_ + i * kRow, &zero_row, sizeof(N));
    }
    const size_t chunks = (b.lanes_in_use_ + VoiceBank::kChunkLanes - 1) / VoiceBank::kChunkLanes;
    for (size_t c = 0; c < chunks; ++c) {
      size_t s = 0;
      while (s < n && b.chunk_mask_[c] != 0) {
        // Up to the next envelope segment end in this chunk (always after pos_ + s).
        const uint64_t now = b.pos_ + s;
        size_t m = n - s;
        if (b.chunk_event_[c] - now < m) m = static_cast<size_t>(b.chunk_event_[c] - now);
        const uint32_t mask = b.chunk_mask_[c];
        for (size_t p = 0; p < kPasses; ++p) {
          const uint32_t pass = (mask >> (p * kW)) & kPassMask;
          if (pass == 0) continue;
          const size_t l0 = c * VoiceBank::kChunkLanes + p * kW;
          if constexpr (V::kParts == 2) {
            // Only the lower half in use (few voices): one vector, half the work. (Two vectors of
            // half the width would hide the filter's latency but cost more issue slots.)
            using Half = simd::Pack<typename V::Native, 1>;
            if ((pass >> Half::kLanes) == 0) {
              DispatchLanes<Half, kStereo, kRow>(b.chunk_mode_[c], b.chunk_ramp_[c], b.lanes_, l0,
                                                 m, b.fade_step_, b.acc0_ + s * kRow,
                                                 b.acc1_ + s * kRow);
              continue;
            }
          }
          DispatchLanes<V, kStereo, kRow>(b.chunk_mode_[c], b.chunk_ramp_[c], b.lanes_, l0, m,
                                          b.fade_step_, b.acc0_ + s * kRow, b.acc1_ + s * kRow);
        }
        s += m;
        if (b.chunk_event_[c] == b.pos_ + s) b.HandleEnvelopeEvents(c, b.pos_ + s);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      N row;
      __builtin_memcpy(&row, b.acc0_ + i * kRow, sizeof(N));
      out0[i] = simd::HorizontalSum(row);
      if constexpr (kStereo) {
        __builtin_memcpy(&row, b.acc1_ + i * kRow, sizeof(N));
        out1[i] = simd::HorizontalSum(row);
      }
    }
  }
};

namespace {

using simd::F16;
using simd::F4;
using simd::F8;
using simd::Pack;

// Baseline: SSE2 on x86-64 (16 registers), NEON on aarch64 (32 registers).
void PieceBaseline(VoiceBank& b, size_t n, float* out0, float* out1) {
  using V = Pack<F4, 2>;
  if (out1 != nullptr) {
    VoiceBankKernels::Piece<V, true>(b, n, out0, out1);
  } else {
    VoiceBankKernels::Piece<V, false>(b, n, out0, nullptr);
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void PieceAvx2(VoiceBank& b, size_t n, float* out0,
                                                   float* out1) {
  using V = Pack<F8, 2>;
  if (out1 != nullptr) {
    VoiceBankKernels::Piece<V, true>(b, n, out0, out1);
  } else {
    VoiceBankKernels::Piece<V, false>(b, n, out0, nullptr);
  }
}

__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))) void PieceAvx512(
    VoiceBank& b, size_t n, float* out0, float* out1) {
  using V = Pack<F16, 2>;
  if (out1 != nullptr) {
    VoiceBankKernels::Piece<V, true>(b, n, out0, out1);
  } else {
    VoiceBankKernels::Piece<V, false>(b, n, out0, nullptr);
  }
}
#endif

bool Supported(SimdLevel level) {
  switch (level) {
    case SimdLevel::kBaseline:
      return true;
#if defined(__x86_64__)
    case SimdLevel::kAvx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SimdLevel::kAvx512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default:
      return false;
  }
}

}  // namespace

// ---- Instruction set selection ----

SimdLevel VoiceBank::DetectSimdLevel() {
  if (Supported(SimdLevel::kAvx512)) return SimdLevel::kAvx512;
  if (Supported(SimdLevel::kAvx2)) return SimdLevel::kAvx2;
  return SimdLevel::kBaseline;
}

const char* VoiceBank::SimdLevelName(SimdLevel level) {
  switch (level) {
    case SimdLevel::kBaseline:
#if defined(__aarch64__)
      return "neon";
#elif defined(__x86_64__)
      return "sse2";
#else
      return "baseline";
#endif
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kAvx512:
      return "avx512";
  }
  return "?";
}

bool VoiceBank::SetSimdLevel(SimdLevel level) {
  if (!Supported(level)) return false;
  simd_ = level;
  switch (level) {
#if defined(__x86_64__)
    case SimdLevel::kAvx2:
      piece_ = PieceAvx2;
      break;
    case SimdLevel::kAvx512:
      piece_ = PieceAvx512;
      break;
#endif
    default:
      piece_ = PieceBaseline;
      break;
  }
  return true;
}

// ---- Set-up and control (scalar) ----

void VoiceBank::Init(float sample_rate, size_t num_voices) {
  num_voices_ = std::min(num_voices, kMaxVoices);
  sample_rate_ = sample_rate;
  pi_over_fs_ = std::numbers::pi_v<float> / sample_rate;
  max_cutoff_hz_ = Svf::kMaxFreqRatio * sample_rate;
  fade_step_ = 1.0f / (Oscillator::kCrossfadeS * sample_rate);
  sustain_coef_ = 1.0f - Adsr::SustainGlideCoef(sample_rate);
  for (auto& row : lanes_.f) std::fill(std::begin(row), std::end(row), 0.0f);
  std::fill(std::begin(lanes_.f[Field::kWeight1]), std::end(lanes_.f[Field::kWeight1]), 1.0f);
  std::fill(std::begin(lanes_.f[Field::kTarget1]), std::end(lanes_.f[Field::kTarget1]), 1.0f);
  std::fill(std::begin(lanes_.f[Field::kA1]), std::end(lanes_.f[Field::kA1]), 1.0f);
  std::fill(slots_.begin(), slots_.end(), Slot{});
  SetSmoothingMs(Voice::kSmoothingMs);
  lane_slot_.fill(-1);
  seg_end_.fill(kNever);
  chunk_mask_.fill(0);
  chunk_event_.fill(kNever);
  chunk_mode_.fill(WaveMode::kSaw);
  chunk_ramp_.fill(false);
  chunk_glide_.fill(false);
  chunk_fading_.fill(false);
  num_finished_ = 0;
  active_count_ = 0;
  lanes_in_use_ = 0;
  pos_ = 0;
  quiet_ = false;
  for (size_t i = 0; i < kParamCount; ++i) {
    SetParam(static_cast<ParamId>(i), kParamSpecs[i].default_value);
  }
  SetSimdLevel(DetectSimdLevel());
}

void VoiceBank::SetParam(ParamId id, float value) { ApplyParam(0, num_voices_, id, value); }

void VoiceBank::SetVoiceParam(size_t slot, ParamId id, float value) {
  if (slot < num_voices_) ApplyParam(slot, slot + 1, id, value);
}

void VoiceBank::ApplyParam(size_t first, size_t last, ParamId id, float value) {
  if (static_cast<size_t>(id) >= kParamCount) return;
  value = ClampToSpec(id, value);
  switch (id) {
    case ParamId::kCutoffHz: {
      const float hz = std::min(value, max_cutoff_hz_);
      for (size_t s = first; s < last; ++s) SetGlideTarget(s, Field::kCutoffTarget, hz);
      break;
    }
    case ParamId::kResonance: {
      const float k = 1.0f / ResonanceToQ(value);
      for (size_t s = first; s < last; ++s) SetGlideTarget(s, Field::kDampingTarget, k);
      break;
    }
    case ParamId::kAttackS: {
      const auto seg = Adsr::MakeSegment(value, Adsr::kAttackRatio, sample_rate_);
      for (size_t s = first; s < last; ++s) slots_[s].attack = seg;
      break;
    }
    case ParamId::kDecayS: {
      const auto seg = Adsr::MakeSegment(value, Adsr::kDecayRatio, sample_rate_);
      for (size_t s = first; s < last; ++s) slots_[s].decay = seg;
      break;
    }
    case ParamId::kReleaseS: {
      const auto seg = Adsr::MakeSegment(value, Adsr::kDecayRatio, sample_rate_);
      for (size_t s = first; s < last; ++s) slots_[s].release = seg;
      break;
    }
    case ParamId::kSustain:
      for (size_t s = first; s < last; ++s) SetSustain(s, value);
      break;
    case ParamId::kWaveform: {
      auto w = static_cast<Waveform>(static_cast<int>(std::lround(value)));
      if (static_cast<size_t>(w) > 2) w = Waveform::kSaw;
      for (size_t s = first; s < last; ++s) SetWaveform(s, w);
      break;
    }
    case ParamId::kPitchBendSemitones:
      for (size_t s = first; s < last; ++s) {
        slots_[s].bend = value;
        if (slots_[s].lane >= 0) SetLaneFrequency(s);
      }
      break;
    case ParamId::kMasterGainDb:
    case ParamId::kCount:
      return;
  }
  quiet_ = false;
}

void VoiceBank::SetSustain(size_t slot, float level) {
  Slot& s = slots_[slot];
  s.sustain = level;
  if (s.lane >= 0 && s.stage == Stage::kSustain) {
    // Glide from the current level to the new one (Adsr's sustain glide).
    const auto lane = static_cast<size_t>(s.lane);
    const float current = LaneLevel(lane);
    lanes_.f[Field::kEnvBase][lane] = level;
    lanes_.f[Field::kEnvDev][lane] = current - level;
  }
}

void VoiceBank::SetWaveform(size_t slot, Waveform w) {
  Slot& s = slots_[slot];
  if (s.waveform == w) return;
  s.waveform = w;
  if (s.lane < 0) return;  // a silent voice starts on the new waveform (Oscillator::Reset)
  const auto lane = static_cast<size_t>(s.lane);
  for (size_t k = 0; k < 3; ++k) {
    lanes_.f[Field::kTarget0 + k][lane] = k == static_cast<size_t>(w) ? 1.0f : 0.0f;
  }
  UpdateChunk(lane / kChunkLanes);
}

void VoiceBank::SetVoicePan(size_t slot, float pan) {
  if (slot >= num_voices_) return;
  slots_[slot].pan = pan > -1.0f ? (pan < 1.0f ? pan : 1.0f) : -1.0f;
  if (slots_[slot].lane >= 0) SetLaneGains(slot);
}

void VoiceBank::SetSmoothingMs(float ms) {
  // OnePole's coefficient for one step of kControlFrames samples.
  smooth_coef_ = ms > 0.0f ? static_cast<float>(1.0 - std::exp(-1000.0 * kControlFrames /
                                                               (static_cast<double>(ms) *
                                                                static_cast<double>(sample_rate_))))
                           : 1.0f;
}

void VoiceBank::SetGlideTarget(size_t slot, size_t target_field, float value) {
  Slot& s = slots_[slot];
  (target_field == Field::kCutoffTarget ? s.cutoff : s.damping) = value;
  if (s.lane < 0) return;
  const auto lane = static_cast<size_t>(s.lane);
  lanes_.f[target_field][lane] = value;
  chunk_glide_[lane / kChunkLanes] = true;
}

float VoiceBank::cutoff_hz(size_t slot) const {
  if (slot >= num_voices_) return 0.0f;
  const Slot& s = slots_[slot];
  return s.lane >= 0 ? lanes_.f[Field::kCutoff][static_cast<size_t>(s.lane)] : s.cutoff;
}

void VoiceBank::SetLaneGains(size_t slot) {
  const Slot& s = slots_[slot];
  const auto lane = static_cast<size_t>(s.lane);
  const float angle = (s.pan + 1.0f) * (std::numbers::pi_v<float> / 4.0f);
  lanes_.f[Field::kGain][lane] = s.velocity;
  lanes_.f[Field::kGainL][lane] = s.velocity * std::cos(angle);
  lanes_.f[Field::kGainR][lane] = s.velocity * std::sin(angle);
}

void VoiceBank::SetLaneFrequency(size_t slot) {
  const Slot& s = slots_[slot];
  const auto lane = static_cast<size_t>(s.lane);
  // Oscillator::SetFreq, at the note plus the pitch bend.
  float hz = MidiToHz(s.note + s.bend);
  if (!(hz > 0.0f)) hz = 0.0f;
  hz = std::min(hz, Oscillator::kMaxFreqRatio * sample_rate_);
  const float inc = hz / sample_rate_;
  lanes_.f[Field::kInc][lane] = inc;
  lanes_.f[Field::kInvInc][lane] = inc > 0.0f ? 1.0f / inc : 0.0f;
}

void VoiceBank::NoteOn(size_t slot, float midi_note, float velocity) {
  if (slot >= num_voices_) return;
  Slot& s = slots_[slot];
  s.note = midi_note;
  s.velocity = std::clamp(velocity, 0.0f, 1.0f);
  if (s.lane < 0) StartLane(slot);
  const auto lane = static_cast<size_t>(s.lane);
  SetLaneFrequency(slot);
  SetLaneGains(slot);
  StartSegment(lane, Stage::kAttack, s.attack, 1.0f, pos_);
  UpdateChunk(lane / kChunkLanes);
  quiet_ = false;
}

void VoiceBank::NoteOff(size_t slot) {
  if (slot >= num_voices_) return;
  Slot& s = slots_[slot];
  if (s.lane < 0 || s.stage == Stage::kRelease || s.stage == Stage::kIdle) return;
  const auto lane = static_cast<size_t>(s.lane);
  StartSegment(lane, Stage::kRelease, s.release, 0.0f, pos_);
  UpdateChunk(lane / kChunkLanes);
  quiet_ = false;
}

void VoiceBank::StartLane(size_t slot) {
  size_t lane = 0;
  while (lane_slot_[lane] >= 0) ++lane;  // a free lane exists: lanes = slots
  Slot& s = slots_[slot];
  s.lane = static_cast<int16_t>(lane);
  s.stage = Stage::kIdle;
  lane_slot_[lane] = static_cast<int16_t>(slot);
  ++active_count_;
  lanes_in_use_ = std::max(lanes_in_use_, lane + 1);
  auto& f = lanes_.f;
  // Oscillator::Reset(0): phase 0, crossfade complete.
  f[Field::kPhase][lane] = 0.0f;
  for (size_t k = 0; k < 3; ++k) {
    const float one_hot = k == static_cast<size_t>(s.waveform) ? 1.0f : 0.0f;
    f[Field::kWeight0 + k][lane] = one_hot;
    f[Field::kTarget0 + k][lane] = one_hot;
  }
  // Svf::Reset, glides jump to their targets.
  f[Field::kIc1][lane] = 0.0f;
  f[Field::kIc2][lane] = 0.0f;
  f[Field::kCutoff][lane] = f[Field::kCutoffTarget][lane] = s.cutoff;
  f[Field::kDamping][lane] = f[Field::kDampingTarget][lane] = s.damping;
  float a[3];
  FilterCoefficients(s.cutoff, s.damping, pi_over_fs_, &a[0], &a[1], &a[2]);
  for (size_t k = 0; k < 3; ++k) {
    f[Field::kA1 + k][lane] = a[k];
    f[Field::kA1End + k][lane] = a[k];
    f[Field::kDa1 + k][lane] = 0.0f;
  }
  f[Field::kEnvBase][lane] = 0.0f;
  f[Field::kEnvDev][lane] = 0.0f;
  f[Field::kEnvCoef][lane] = 0.0f;
}

void VoiceBank::FreeLane(size_t lane) {
  const auto slot = static_cast<size_t>(lane_slot_[lane]);
  Slot& s = slots_[slot];
  s.lane = -1;
  s.stage = Stage::kIdle;
  lane_slot_[lane] = -1;
  seg_end_[lane] = kNever;
  auto& f = lanes_.f;
  f[Field::kEnvBase][lane] = 0.0f;
  f[Field::kEnvDev][lane] = 0.0f;
  f[Field::kEnvCoef][lane] = 0.0f;
  f[Field::kGain][lane] = 0.0f;
  f[Field::kGainL][lane] = 0.0f;
  f[Field::kGainR][lane] = 0.0f;
  for (size_t k = 0; k < 3; ++k) {
    f[Field::kA1 + k][lane] = f[Field::kA1End + k][lane];
    f[Field::kDa1 + k][lane] = 0.0f;
  }
  f[Field::kCutoff][lane] = f[Field::kCutoffTarget][lane];  // no glide left in a free lane
  f[Field::kDamping][lane] = f[Field::kDampingTarget][lane];
  --active_count_;
  while (lanes_in_use_ > 0 && lane_slot_[lanes_in_use_ - 1] < 0) --lanes_in_use_;
  finished_[num_finished_++] = static_cast<uint16_t>(slot);
  quiet_ = false;
}

void VoiceBank::MoveLane(size_t from, size_t to) {
  for (auto& row : lanes_.f) row[to] = row[from];
  seg_end_[to] = seg_end_[from];
  const int16_t slot = lane_slot_[from];
  lane_slot_[to] = slot;
  slots_[static_cast<size_t>(slot)].lane = static_cast<int16_t>(to);
  lane_slot_[from] = -1;
  seg_end_[from] = kNever;
  auto& f = lanes_.f;
  f[Field::kEnvBase][from] = 0.0f;
  f[Field::kEnvDev][from] = 0.0f;
  f[Field::kEnvCoef][from] = 0.0f;
  f[Field::kGain][from] = 0.0f;
  f[Field::kGainL][from] = 0.0f;
  f[Field::kGainR][from] = 0.0f;
}

void VoiceBank::StartSegment(size_t lane, Stage stage, const Adsr::Segment& seg, float end_level,
                             uint64_t now) {
  Slot& s = slots_[static_cast<size_t>(lane_slot_[lane])];
  s.stage = stage;
  s.end_level = end_level;
  Adsr::Aim(LaneLevel(lane), seg, end_level, &lanes_.f[Field::kEnvBase][lane],
            &lanes_.f[Field::kEnvDev][lane]);
  lanes_.f[Field::kEnvCoef][lane] = seg.coef;
  seg_end_[lane] = now + seg.frames;
}

void VoiceBank::HandleEnvelopeEvents(size_t chunk, uint64_t now) {
  const size_t first = chunk * kChunkLanes;
  const size_t last = std::min(first + kChunkLanes, kMaxVoices);
  auto& f = lanes_.f;
  for (size_t lane = first; lane < last; ++lane) {
    if (lane_slot_[lane] < 0 || seg_end_[lane] != now) continue;
    Slot& s = slots_[static_cast<size_t>(lane_slot_[lane])];
    // Adsr::EndSegment: the segment lands exactly on its end level.
    f[Field::kEnvBase][lane] = s.end_level;
    f[Field::kEnvDev][lane] = 0.0f;
    switch (s.stage) {
      case Stage::kAttack:
        StartSegment(lane, Stage::kDecay, s.decay, s.sustain, now);
        break;
      case Stage::kDecay:
        s.stage = Stage::kSustain;
        f[Field::kEnvBase][lane] = s.sustain;
        f[Field::kEnvDev][lane] = s.end_level - s.sustain;
        f[Field::kEnvCoef][lane] = sustain_coef_;
        seg_end_[lane] = kNever;
        break;
      default:
        FreeLane(lane);
        break;
    }
  }
  UpdateChunk(chunk);
}

void VoiceBank::UpdateChunk(size_t chunk) {
  const size_t first = chunk * kChunkLanes;
  const size_t last = std::min(first + kChunkLanes, kMaxVoices);
  const auto& f = lanes_.f;
  uint32_t mask = 0;
  uint64_t event = kNever;
  bool ramp = false;
  bool glide = false;
  bool fading = false;
  int wave = -1;  // common steady waveform, -2 when they differ
  for (size_t lane = first; lane < last; ++lane) {
    if (lane_slot_[lane] < 0) continue;
    mask |= uint32_t{1} << (lane - first);
    event = std::min(event, seg_end_[lane]);
    ramp = ramp || f[Field::kDa1][lane] != 0.0f || f[Field::kDa2][lane] != 0.0f ||
           f[Field::kDg][lane] != 0.0f;
    glide = glide || f[Field::kCutoff][lane] != f[Field::kCutoffTarget][lane] ||
            f[Field::kDamping][lane] != f[Field::kDampingTarget][lane];
    int steady = -1;
    for (int k = 0; k < 3; ++k) {
      if (f[Field::kTarget0 + k][lane] == 1.0f) steady = k;
    }
    for (int k = 0; k < 3; ++k) {
      const float want = k == steady ? 1.0f : 0.0f;
      if (f[Field::kWeight0 + k][lane] != want) steady = -1;
    }
    if (steady < 0) fading = true;
    if (wave == -1) wave = steady < 0 ? -2 : steady;
    if (wave != steady) wave = -2;
  }
  chunk_mask_[chunk] = mask;
  chunk_event_[chunk] = event;
  chunk_ramp_[chunk] = ramp;
  chunk_glide_[chunk] = glide || ramp;
  chunk_fading_[chunk] = fading;
  chunk_mode_[chunk] = wave < 0 ? (mask != 0 && wave == -2 ? WaveMode::kMix : WaveMode::kSaw)
                                : static_cast<WaveMode>(wave);
}

void VoiceBank::Compact() {
  if (lanes_in_use_ <= active_count_) return;
  size_t hole = 0;
  while (lanes_in_use_ > active_count_) {
    while (lane_slot_[hole] >= 0) ++hole;
    MoveLane(lanes_in_use_ - 1, hole);
    while (lanes_in_use_ > 0 && lane_slot_[lanes_in_use_ - 1] < 0) --lanes_in_use_;
  }
  for (size_t c = 0; c < kMaxChunks; ++c) UpdateChunk(c);
}

void VoiceBank::ControlStep() {
  Compact();
  bool pending = false;
  const size_t chunks = (lanes_in_use_ + kChunkLanes - 1) / kChunkLanes;
  for (size_t c = 0; c < chunks; ++c) {
    if (chunk_glide_[c]) GlideStep(c);
    if (chunk_fading_[c]) UpdateChunk(c);  // a crossfade may have ended
    pending = pending || chunk_glide_[c] || chunk_fading_[c];
  }
  quiet_ = !pending;
}

// One grid period of the cutoff and damping glides of a chunk's lanes, 4 lanes at a time:
// OnePole's step (with its snapping) at the grid rate, new coefficients, and linear ramps to
// them over the next kControlFrames samples. Lanes that stopped gliding land exactly on their
// last coefficients and stop ramping.
void VoiceBank::GlideStep(size_t chunk) {
  using V = simd::Pack<simd::F4, 1>;
  auto& f = lanes_.f;
  const V coef = V::Splat(smooth_coef_);
  const V pi_over_fs = V::Splat(pi_over_fs_);
  const V inv_frames = V::Splat(1.0f / static_cast<float>(kControlFrames));
  const V zero = V::Splat(0.0f);
  auto glide = [&](V value, V target) {
    const V next = value + (target - value) * coef;
    const V snap = Abs(target) * V::Splat(1e-6f) + V::Splat(1e-9f);
    return Select((next == value) | (Abs(target - next) <= snap), target, next);
  };
  bool ramp = false;
  bool more = false;
  for (size_t l = chunk * kChunkLanes; l < (chunk + 1) * kChunkLanes; l += V::kLanes) {
    const V cutoff = V::Load(f[Field::kCutoff] + l);
    const V cutoff_target = V::Load(f[Field::kCutoffTarget] + l);
    const V damping = V::Load(f[Field::kDamping] + l);
    const V damping_target = V::Load(f[Field::kDampingTarget] + l);
    const auto gliding = (cutoff != cutoff_target) | (damping != damping_target);
    const V next_cutoff = glide(cutoff, cutoff_target);
    const V next_damping = glide(damping, damping_target);
    next_cutoff.Store(f[Field::kCutoff] + l);
    next_damping.Store(f[Field::kDamping] + l);
    V end[3];
    FilterCoefficients(next_cutoff, next_damping, pi_over_fs, &end[0], &end[1], &end[2]);
    for (size_t j = 0; j < 3; ++j) {
      const V a = V::Load(f[Field::kA1 + j] + l);
      const V old_end = V::Load(f[Field::kA1End + j] + l);
      Select(gliding, end[j], old_end).Store(f[Field::kA1End + j] + l);
      Select(gliding, (end[j] - a) * inv_frames, zero).Store(f[Field::kDa1 + j] + l);
      Select(gliding, a, old_end).Store(f[Field::kA1 + j] + l);
    }
    ramp = ramp || Any(gliding);
    more = more || Any((next_cutoff != cutoff_target) | (next_damping != damping_target));
  }
  chunk_ramp_[chunk] = ramp;
  chunk_glide_[chunk] = ramp || more;  // a ramp ends at the next step
}

uint64_t VoiceBank::NextEvent() const {
  uint64_t event = kNever;
  const size_t chunks = (lanes_in_use_ + kChunkLanes - 1) / kChunkLanes;
  for (size_t c = 0; c < chunks; ++c) event = std::min(event, chunk_event_[c]);
  return event;
}

float VoiceBank::envelope_level(size_t slot) const {
  if (slot >= num_voices_ || slots_[slot].lane < 0) return 0.0f;
  return LaneLevel(static_cast<size_t>(slots_[slot].lane));
}

// ---- Rendering ----

void VoiceBank::Render(float* out, size_t frames) { RenderImpl<false>(out, nullptr, frames); }

void VoiceBank::RenderStereo(float* left, float* right, size_t frames) {
  RenderImpl<true>(left, right, frames);
}

template <bool kStereo>
void VoiceBank::RenderImpl(float* out0, float* out1, size_t frames) {
  const ScopedFlushDenormals flush_denormals;
  num_finished_ = 0;
  size_t done = 0;
  while (done < frames) {
    const auto grid = static_cast<size_t>(pos_ % kControlFrames);
    if (grid == 0 && !quiet_) ControlStep();
    size_t n = std::min(frames - done, quiet_ ? kMaxPieceFrames : kControlFrames - grid);
    if (quiet_) {
      // Nothing changes at grid points until an envelope event: stop at the first grid point
      // at or after it, where the control step may have work again (a voice to compact).
      const uint64_t event = NextEvent();
      if (event < pos_ + n) {
        const uint64_t next_grid = (event + kControlFrames - 1) / kControlFrames * kControlFrames;
        n = std::min(n, static_cast<size_t>(next_grid - pos_));
      }
    }
    float* o0 = out0 + done;
    float* o1 = kStereo ? out1 + done : nullptr;
    if (active_count_ == 0) {
      std::fill_n(o0, n, 0.0f);
      if constexpr (kStereo) std::fill_n(o1, n, 0.0f);
    } else {
      piece_(*this, n, o0, o1);
    }
    pos_ += n;
    done += n;
  }
}

void VoiceBank::CopyStateFrom(const VoiceBank& other) {
  if (this == &other) return;
  const size_t lanes =
      std::min(kMaxVoices, (other.lanes_in_use_ + kChunkLanes - 1) / kChunkLanes * kChunkLanes);
  for (size_t k = 0; k < Lanes::kFields; ++k) {
    std::copy_n(other.lanes_.f[k], lanes, lanes_.f[k]);
  }
  std::copy_n(other.slots_.begin(), other.num_voices_, slots_.begin());
  lane_slot_ = other.lane_slot_;
  seg_end_ = other.seg_end_;
  chunk_mask_ = other.chunk_mask_;
  chunk_event_ = other.chunk_event_;
  chunk_mode_ = other.chunk_mode_;
  chunk_ramp_ = other.chunk_ramp_;
  chunk_glide_ = other.chunk_glide_;
  chunk_fading_ = other.chunk_fading_;
  num_voices_ = other.num_voices_;
  num_finished_ = 0;
  active_count_ = other.active_count_;
  lanes_in_use_ = other.lanes_in_use_;
  pos_ = other.pos_;
  quiet_ = other.quiet_;
  sample_rate_ = other.sample_rate_;
  pi_over_fs_ = other.pi_over_fs_;
  max_cutoff_hz_ = other.max_cutoff_hz_;
  fade_step_ = other.fade_step_;
  sustain_coef_ = other.sustain_coef_;
  smooth_coef_ = other.smooth_coef_;
  simd_ = other.simd_;
  piece_ = other.piece_;
}

}  // namespace chronus::dsp
