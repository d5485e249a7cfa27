// Cost of the polyphonic voice (saw -> resonant low-pass, cutoff 4 * f0, Q ~5 -> ADSR
// 10 ms / 100 ms / 0.7 / 200 ms, gate held) per voice-sample, 48 kHz, blocks of 64 frames.
//
// BM_Voices/1 worker: one thread renders every voice through one VoiceBank.
// BM_Voices/2 workers: two std::threads each own a VoiceBank with half the voices and render
// it into their own buffer per block; the main thread releases them with a barrier, waits on a
// second one and mixes the two buffers. Time is per-block wall time.
// BM_Voices2WorkersSpin: for comparison, the main thread renders one half itself and one
// std::thread the other, handing blocks over with a spinning atomic epoch (no system calls);
// it shows what two cores give when synchronisation is cheap.
// BM_Voices2WorkersAhead: as Spin, but the other thread renders up to kAheadBlocks blocks ahead
// into a ring (as a firmware worker renders ahead into its ready queue), so the hand-over is off
// the critical path: the main thread renders its half, mixes the other half's block when it is
// there, and goes on; it rereads the producer's counter only when it has used up what it last
// saw, and publishes its own every kConsumeBatch blocks, so that the cores exchange cache lines
// a few times per 16 blocks instead of twice per block (a round trip between the two vCPUs of a
// VM costs ~0.5 us, half of a 64-voice block). This is the 2-worker throughput figure: on a
// 2-core machine a separate driver thread would compete with the two workers, so the driver
// renders one worker's share itself.
// Counters (from wall time): ns_per_voice_sample, us_per_block, rt_load (block time / 1.333 ms
// block period). The label names the SIMD level of the voice bank's kernels (the best the CPU
// has; dsp_bench compares the levels).
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "dsp/pitch.h"
#include "dsp/svf.h"
#include "dsp/voice_bank.h"
#include "hal/rt/cpu_relax.h"

namespace {

using chronus::dsp::ParamId;
using chronus::dsp::VoiceBank;
using chronus::hal::CpuRelax;

constexpr float kFs = 48000.0f;
constexpr size_t kBlock = 64;
constexpr size_t kMaxBlock = 256;  // BM_Voices1Worker and BM_Voices2WorkersAhead: frames arg

float VoiceFreq(size_t i) {
  return 55.0f * std::exp2(static_cast<float>(i % 48) / 12.0f) *
         (1.0f + 0.0037f * static_cast<float>(i / 48));
}

// Bank holding global voices [first, first + count), gate held, past attack and decay.
std::unique_ptr<VoiceBank> MakeBank(size_t first, size_t count) {
  auto bank = std::make_unique<VoiceBank>();
  bank->Init(kFs, count);
  // Resonance for Q = 5 under ResonanceToQ's exponential mapping.
  const float res =
      std::log(5.0f / chronus::dsp::kMinQ) / std::log(chronus::dsp::kMaxQ / chronus::dsp::kMinQ);
  bank->SetParam(ParamId::kWaveform, 1.0f);
  bank->SetParam(ParamId::kResonance, res);
  bank->SetParam(ParamId::kAttackS, 0.01f);
  bank->SetParam(ParamId::kDecayS, 0.1f);
  bank->SetParam(ParamId::kSustain, 0.7f);
  bank->SetParam(ParamId::kReleaseS, 0.2f);
  for (size_t s = 0; s < count; ++s) {
    const float f0 = VoiceFreq(first + s);
    bank->SetVoiceParam(s, ParamId::kCutoffHz, 4.0f * f0);
    bank->NoteOn(s, chronus::dsp::HzToMidi(f0), 1.0f);
  }
  std::array<float, kBlock> buf{};
  for (size_t i = 0; i < static_cast<size_t>(0.5f * kFs) / kBlock; ++i) {
    bank->Render(buf.data(), kBlock);
  }
  return bank;
}

using Clock = std::chrono::steady_clock;

// Counters from the wall time of the timed loop (started at `t0`).
void SetCounters(benchmark::State& state, size_t voices, Clock::time_point t0,
                 size_t frames = kBlock) {
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  const double per_block = ns / static_cast<double>(state.iterations());
  if (voices > 0) {
    state.counters["ns_per_voice_sample"] = per_block / static_cast<double>(voices * frames);
  }
  state.counters["us_per_block"] = per_block * 1e-3;
  state.counters["rt_load"] = per_block / (static_cast<double>(frames) / kFs * 1e9);
}

void BM_Voices1Worker(benchmark::State& state) {
  const auto voices = static_cast<size_t>(state.range(0));
  const auto frames = static_cast<size_t>(state.range(1));
  auto bank = MakeBank(0, voices);
  std::array<float, kMaxBlock> out{};
  const auto t0 = Clock::now();
  for (auto _ : state) {
    bank->Render(out.data(), frames);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, voices, t0, frames);
  state.SetLabel(VoiceBank::SimdLevelName(bank->simd_level()));
  if (bank->ActiveCount() != voices) state.SkipWithError("voices stopped");
}

void BM_Voices2Workers(benchmark::State& state) {
  const auto voices = static_cast<size_t>(state.range(0));
  const size_t half = voices / 2;
  std::array<std::unique_ptr<VoiceBank>, 2> banks = {MakeBank(0, half),
                                                     MakeBank(half, voices - half)};
  std::array<std::array<float, kBlock>, 2> bufs{};
  std::barrier<> start(3);
  std::barrier<> done(3);
  std::atomic<bool> stop{false};
  std::array<std::thread, 2> workers;
  for (size_t w = 0; w < 2; ++w) {
    workers[w] = std::thread([&, w] {
      for (;;) {
        start.arrive_and_wait();
        if (stop.load(std::memory_order_relaxed)) return;
        banks[w]->Render(bufs[w].data(), kBlock);
        done.arrive_and_wait();
      }
    });
  }
  std::array<float, kBlock> out{};
  const auto t0 = Clock::now();
  for (auto _ : state) {
    start.arrive_and_wait();
    done.arrive_and_wait();
    for (size_t i = 0; i < kBlock; ++i) out[i] = bufs[0][i] + bufs[1][i];
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, voices, t0);
  stop.store(true, std::memory_order_relaxed);
  start.arrive_and_wait();
  for (auto& t : workers) t.join();
  if (banks[0]->ActiveCount() + banks[1]->ActiveCount() != voices) {
    state.SkipWithError("voices stopped");
  }
}

void BM_Voices2WorkersSpin(benchmark::State& state) {
  const auto voices = static_cast<size_t>(state.range(0));
  const size_t half = voices / 2;
  std::array<std::unique_ptr<VoiceBank>, 2> banks = {MakeBank(0, half),
                                                     MakeBank(half, voices - half)};
  alignas(64) std::array<float, kBlock> buf0{};
  alignas(64) std::array<float, kBlock> buf1{};
  alignas(64) std::atomic<uint64_t> go{0};
  alignas(64) std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::thread helper([&] {
    uint64_t seen = 0;
    for (;;) {
      uint64_t epoch;
      while ((epoch = go.load(std::memory_order_acquire)) == seen) CpuRelax();
      seen = epoch;
      if (stop.load(std::memory_order_relaxed)) return;
      banks[1]->Render(buf1.data(), kBlock);
      done.store(epoch, std::memory_order_release);
    }
  });
  std::array<float, kBlock> out{};
  uint64_t epoch = 0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    go.store(++epoch, std::memory_order_release);
    banks[0]->Render(buf0.data(), kBlock);
    while (done.load(std::memory_order_acquire) != epoch) CpuRelax();
    for (size_t i = 0; i < kBlock; ++i) out[i] = buf0[i] + buf1[i];
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, voices, t0);
  stop.store(true, std::memory_order_relaxed);
  go.store(++epoch, std::memory_order_release);
  helper.join();
  if (banks[0]->ActiveCount() + banks[1]->ActiveCount() != voices) {
    state.SkipWithError("voices stopped");
  }
}

constexpr size_t kAheadBlocks = 16;
constexpr size_t kConsumeBatch = 4;

void BM_Voices2WorkersAhead(benchmark::State& state) {
  const auto voices = static_cast<size_t>(state.range(0));
  const auto frames = static_cast<size_t>(state.range(1));
  const size_t half = voices / 2;
  std::array<std::unique_ptr<VoiceBank>, 2> banks = {MakeBank(0, half),
                                                     MakeBank(half, voices - half)};
  alignas(64) std::array<float, kMaxBlock> buf0{};
  alignas(64) std::array<std::array<float, kMaxBlock>, kAheadBlocks> ring{};
  alignas(64) std::atomic<uint64_t> produced{0};
  alignas(64) std::atomic<uint64_t> consumed{0};
  alignas(64) std::atomic<bool> stop{false};
  std::thread helper([&] {
    uint64_t room_until = kAheadBlocks;  // blocks below this index have a free ring slot
    for (uint64_t k = 0;; ++k) {
      while (k >= room_until) {
        if (stop.load(std::memory_order_relaxed)) return;
        room_until = consumed.load(std::memory_order_acquire) + kAheadBlocks;
        if (k < room_until) break;
        CpuRelax();
      }
      if (stop.load(std::memory_order_relaxed)) return;
      banks[1]->Render(ring[k % kAheadBlocks].data(), frames);
      produced.store(k + 1, std::memory_order_release);
    }
  });
  std::array<float, kMaxBlock> out{};
  uint64_t k = 0;
  uint64_t seen = 0;  // blocks known to be in the ring
  double wait_ns = 0.0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    banks[0]->Render(buf0.data(), frames);
    if (seen <= k) {
      const auto w0 = Clock::now();
      while (seen <= k) {
        seen = produced.load(std::memory_order_acquire);
        if (seen <= k) CpuRelax();
      }
      wait_ns += std::chrono::duration<double, std::nano>(Clock::now() - w0).count();
    }
    const auto& other = ring[k % kAheadBlocks];
    for (size_t i = 0; i < frames; ++i) out[i] = buf0[i] + other[i];
    if (++k % kConsumeBatch == 0) consumed.store(k, std::memory_order_release);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, voices, t0, frames);
  // Time this thread waited for the other half: > 0 when the other worker is the slower one.
  state.counters["wait_us_per_block"] = wait_ns * 1e-3 / static_cast<double>(state.iterations());
  stop.store(true, std::memory_order_relaxed);
  helper.join();
  state.SetLabel(VoiceBank::SimdLevelName(banks[0]->simd_level()));
  if (banks[0]->ActiveCount() + banks[1]->ActiveCount() != voices) {
    state.SkipWithError("voices stopped");
  }
}

}  // namespace

// frames: the block (= firmware period) size; 64 is the figure, 128 and 256 show how
// the fixed per-block costs (hand-over between cores, per-bank overhead) fade.
BENCHMARK(BM_Voices1Worker)
    ->ArgNames({"voices", "frames"})
    ->ArgsProduct({{16, 64, 256}, {64}})
    ->Args({64, 128})
    ->Args({256, 128})
    ->Args({256, 256})
    ->UseRealTime();
// voices:0 measures the barrier round trip alone (the 2-worker synchronisation floor).
BENCHMARK(BM_Voices2Workers)->ArgName("voices")->Arg(0)->Arg(16)->Arg(64)->Arg(256)->UseRealTime();

BENCHMARK(BM_Voices2WorkersSpin)
    ->ArgName("voices")
    ->Arg(0)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->UseRealTime();

BENCHMARK(BM_Voices2WorkersAhead)
    ->ArgNames({"voices", "frames"})
    ->ArgsProduct({{0, 16, 64, 256}, {64}})
    ->Args({64, 128})
    ->Args({256, 128})
    ->Args({256, 256})
    ->UseRealTime();

BENCHMARK_MAIN();
