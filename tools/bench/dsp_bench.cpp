// Per-sample cost of each DSP module, and of the voice bank per voice-sample at each instruction
// set level, 48 kHz, blocks of 64 frames. Not a test; measure with the release preset:
//   cmake --preset release && cmake --build build/release --target dsp_bench
//   build/release/tools/bench/dsp_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
// Counters: ns_per_sample (modules) or ns_per_voice_sample (voices), from CPU time.
//  - BM_Oscillator/Svf/Adsr/OnePole/SoftClip: the scalar modules (what Voice runs).
//  - BM_ReferenceVoice: dsp::Voice, the straightforward per-sample voice (the reference).
//  - BM_VoiceBank<level>/voices:N: the optimised bank on W1 (saw -> low-pass at 4 f0, Q 5 ->
//    ADSR 10/100/0.7/200 ms, gate held, past the decay), mono; BM_VoiceBankStereo: panned stereo
//    as render_w1 uses it; BM_VoiceBankGliding: every voice's cutoff gliding all the time (the
//    coefficient-ramp kernel plus the control step); BM_VoiceBankCrossfade: a waveform
//    crossfade running (the kernel that mixes all three waveforms).
//  - BM_VoiceBankCopyState: VoiceBank::CopyStateFrom (the firmware's per-block checkpoint).
#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include "dsp/adsr.h"
#include "dsp/one_pole.h"
#include "dsp/oscillator.h"
#include "dsp/pitch.h"
#include "dsp/soft_clip.h"
#include "dsp/svf.h"
#include "dsp/voice.h"
#include "dsp/voice_bank.h"

namespace {

using chronus::dsp::ParamId;
using chronus::dsp::SimdLevel;
using chronus::dsp::VoiceBank;

constexpr float kFs = 48000.0f;
constexpr size_t kBlock = 64;

// ns per sample from CPU time: the counter is iterations * samples / seconds, inverted.
void SetNsPer(benchmark::State& state, double samples_per_iteration, const char* name) {
  state.counters[name] = benchmark::Counter(
      samples_per_iteration * 1e-9,
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// ---- Scalar modules ----

void BM_Oscillator(benchmark::State& state) {
  chronus::dsp::Oscillator osc;
  osc.Init(kFs);
  osc.SetWaveform(static_cast<chronus::dsp::Waveform>(state.range(0)));
  osc.Reset();
  osc.SetFreq(220.0f);
  std::array<float, kBlock> out{};
  for (auto _ : state) {
    osc.Process(out.data(), kBlock);
    benchmark::DoNotOptimize(out.data());
  }
  SetNsPer(state, kBlock, "ns_per_sample");
}
BENCHMARK(BM_Oscillator)->ArgName("waveform")->Arg(0)->Arg(1)->Arg(2);

void BM_Svf(benchmark::State& state) {
  chronus::dsp::Svf svf;
  svf.Init(kFs);
  svf.SetFreq(1000.0f);
  svf.SetQ(5.0f);
  std::array<float, kBlock> buf{};
  for (size_t i = 0; i < kBlock; ++i) buf[i] = static_cast<float>(i % 7) * 0.1f - 0.3f;
  for (auto _ : state) {
    svf.Process(buf.data(), buf.data(), kBlock);
    benchmark::DoNotOptimize(buf.data());
  }
  SetNsPer(state, kBlock, "ns_per_sample");
}
BENCHMARK(BM_Svf);

// Coefficients recomputed every sample (a gliding cutoff in the reference Voice).
void BM_SvfModulated(benchmark::State& state) {
  chronus::dsp::Svf svf;
  svf.Init(kFs);
  std::array<float, kBlock> buf{};
  float fc = 500.0f;
  for (auto _ : state) {
    for (size_t i = 0; i < kBlock; ++i) {
      fc = fc < 8000.0f ? fc * 1.001f : 500.0f;
      svf.SetCoefficients(chronus::dsp::TanApprox(fc * (3.14159265f / kFs)), 0.2f);
      buf[i] = svf.Process(static_cast<float>(i & 1) - 0.5f);
    }
    benchmark::DoNotOptimize(buf.data());
  }
  SetNsPer(state, kBlock, "ns_per_sample");
}
BENCHMARK(BM_SvfModulated);

void BM_Adsr(benchmark::State& state) {
  chronus::dsp::Adsr env;
  env.Init(kFs);
  env.SetSustain(0.7f);
  env.Gate(true);
  std::array<float, kBlock> out{};
  size_t n = 0;
  for (auto _ : state) {
    env.Process(out.data(), kBlock);
    benchmark::DoNotOptimize(out.data());
    if (++n % 4096 == 0) env.Gate(n % 8192 == 0);  // cycle through all stages
  }
  SetNsPer(state, kBlock, "ns_per_sample");
}
BENCHMARK(BM_Adsr);

void BM_OnePole(benchmark::State& state) {
  chronus::dsp::OnePole p;
  p.Init(kFs, 10.0f, 0.0f);
  std::array<float, kBlock> out{};
  size_t n = 0;
  for (auto _ : state) {
    if (++n % 64 == 0) p.SetTarget(n % 128 == 0 ? 1.0f : 0.0f);  // gliding half of the time
    for (size_t i = 0; i < kBlock; ++i) out[i] = p.Process();
    benchmark::DoNotOptimize(out.data());
  }
  SetNsPer(state, kBlock, "ns_per_sample");
}
BENCHMARK(BM_OnePole);

void BM_SoftClip(benchmark::State& state) {
  std::array<float, kBlock> buf{};
  for (size_t i = 0; i < kBlock; ++i) buf[i] = static_cast<float>(i) * 0.03f - 1.0f;
  for (auto _ : state) {
    std::array<float, kBlock> x = buf;
    chronus::dsp::SoftClip(x.data(), kBlock);
    benchmark::DoNotOptimize(x.data());
  }
  SetNsPer(state, kBlock, "ns_per_sample");
}
BENCHMARK(BM_SoftClip);

// ---- Voices ----

float VoiceFreq(size_t i) {
  return 55.0f * std::exp2(static_cast<float>(i % 48) / 12.0f) *
         (1.0f + 0.0037f * static_cast<float>(i / 48));
}

float ResonanceForQ5() {
  return std::log(5.0f / chronus::dsp::kMinQ) / std::log(chronus::dsp::kMaxQ / chronus::dsp::kMinQ);
}

void BM_ReferenceVoice(benchmark::State& state) {
  const auto voices = static_cast<size_t>(state.range(0));
  std::vector<chronus::dsp::Voice> v(voices);
  for (size_t i = 0; i < voices; ++i) {
    v[i].Init(kFs);
    v[i].SetParam(ParamId::kResonance, ResonanceForQ5());
    v[i].SetParam(ParamId::kAttackS, 0.01f);
    v[i].SetParam(ParamId::kCutoffHz, 4.0f * VoiceFreq(i));
    v[i].NoteOn(chronus::dsp::HzToMidi(VoiceFreq(i)), 1.0f / static_cast<float>(voices));
  }
  std::array<float, kBlock> out{};
  for (int i = 0; i < 400; ++i) {
    for (auto& voice : v) voice.RenderAdd(out.data(), kBlock);
  }
  for (auto _ : state) {
    out.fill(0.0f);
    for (auto& voice : v) voice.RenderAdd(out.data(), kBlock);
    benchmark::DoNotOptimize(out.data());
  }
  SetNsPer(state, static_cast<double>(kBlock * voices), "ns_per_voice_sample");
}
BENCHMARK(BM_ReferenceVoice)->ArgName("voices")->Arg(16)->Arg(64)->Arg(256);

enum class Load { kSteady, kGliding, kCrossfade };

std::unique_ptr<VoiceBank> MakeBank(size_t voices, SimdLevel level) {
  auto bank = std::make_unique<VoiceBank>();
  bank->Init(kFs, voices);
  bank->SetSimdLevel(level);
  bank->SetParam(ParamId::kResonance, ResonanceForQ5());
  bank->SetParam(ParamId::kAttackS, 0.01f);
  bank->SetParam(ParamId::kDecayS, 0.1f);
  bank->SetParam(ParamId::kSustain, 0.7f);
  bank->SetParam(ParamId::kReleaseS, 0.2f);
  for (size_t i = 0; i < voices; ++i) {
    bank->SetVoiceParam(i, ParamId::kCutoffHz, 4.0f * VoiceFreq(i));
    bank->SetVoicePan(i, static_cast<float>(static_cast<int>(i % 9) - 4) / 5.0f);
    bank->NoteOn(i, chronus::dsp::HzToMidi(VoiceFreq(i)), 1.0f / static_cast<float>(voices));
  }
  std::array<float, kBlock> out{};
  for (size_t i = 0; i < static_cast<size_t>(0.5f * kFs) / kBlock; ++i) {
    bank->Render(out.data(), kBlock);
  }
  return bank;
}

template <SimdLevel kLevel, bool kStereo, Load kLoad>
void BM_Bank(benchmark::State& state) {
  const auto voices = static_cast<size_t>(state.range(0));
  auto bank = MakeBank(voices, kLevel);
  if (bank->simd_level() != kLevel) {
    state.SkipWithError("instruction set not supported by this CPU");
    return;
  }
  std::array<float, kBlock> left{};
  std::array<float, kBlock> right{};
  size_t n = 0;
  for (auto _ : state) {
    if constexpr (kLoad == Load::kGliding) {
      // A new cutoff target every 8 blocks (~10 ms): the glides never settle.
      if (n % 8 == 0) bank->SetParam(ParamId::kCutoffHz, n % 16 == 0 ? 400.0f : 3000.0f);
    } else if constexpr (kLoad == Load::kCrossfade) {
      // A waveform change every 4 blocks: a 5 ms (240-sample) crossfade always running.
      if (n % 4 == 0) bank->SetParam(ParamId::kWaveform, static_cast<float>((n / 4) % 3));
    }
    ++n;
    if constexpr (kStereo) {
      bank->RenderStereo(left.data(), right.data(), kBlock);
    } else {
      bank->Render(left.data(), kBlock);
    }
    benchmark::DoNotOptimize(left.data());
    benchmark::DoNotOptimize(right.data());
  }
  SetNsPer(state, static_cast<double>(kBlock * voices), "ns_per_voice_sample");
  if (bank->ActiveCount() != voices) state.SkipWithError("voices stopped");
}

#define CHRONUS_BANK_BENCH(level, stereo, load, name) \
  BENCHMARK(BM_Bank<SimdLevel::level, stereo, Load::load>)->Name(name)->ArgName("voices")

CHRONUS_BANK_BENCH(kBaseline, false, kSteady, "BM_VoiceBank/baseline")->Arg(16)->Arg(64)->Arg(256);
CHRONUS_BANK_BENCH(kAvx2, false, kSteady, "BM_VoiceBank/avx2")->Arg(16)->Arg(64)->Arg(256);
CHRONUS_BANK_BENCH(kAvx512, false, kSteady, "BM_VoiceBank/avx512")->Arg(16)->Arg(64)->Arg(256);
CHRONUS_BANK_BENCH(kBaseline, true, kSteady, "BM_VoiceBankStereo/baseline")->Arg(64)->Arg(256);
CHRONUS_BANK_BENCH(kAvx2, true, kSteady, "BM_VoiceBankStereo/avx2")->Arg(64)->Arg(256);
CHRONUS_BANK_BENCH(kAvx512, true, kSteady, "BM_VoiceBankStereo/avx512")->Arg(64)->Arg(256);
CHRONUS_BANK_BENCH(kAvx2, false, kGliding, "BM_VoiceBankGliding/avx2")->Arg(64)->Arg(256);
CHRONUS_BANK_BENCH(kAvx2, false, kCrossfade, "BM_VoiceBankCrossfade/avx2")->Arg(64)->Arg(256);

void BM_VoiceBankCopyState(benchmark::State& state) {
  const auto voices = static_cast<size_t>(state.range(0));
  auto bank = MakeBank(voices, VoiceBank::DetectSimdLevel());
  auto copy = std::make_unique<VoiceBank>();
  for (auto _ : state) {
    copy->CopyStateFrom(*bank);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_VoiceBankCopyState)->ArgName("voices")->Arg(32)->Arg(128)->Arg(256);

}  // namespace

BENCHMARK_MAIN();
