// The firmware's own render path, offline: AudioEngine with its DspWorker threads (the same code
// the audio thread runs each period, without the sound card), driven as fast as the workers
// deliver blocks. Reports ns per voice-sample and the audio thread's own share per period.
//   build/release/tools/bench/engine_bench
// Workload (W1 of the peer benchmarks, with one shared cutoff): band-limited saw -> resonant
// low-pass (2 kHz, Q ~5) -> ADSR 10 ms / 100 ms / 0.7 / 200 ms, gate held; 64-frame periods.
#include <benchmark/benchmark.h>
#include <time.h>

#include <cmath>
#include <thread>
#include <vector>

#include "firmware/engine/audio_engine.h"

namespace {

using chronus::dsp::ParamId;
using chronus::firmware::AudioEngine;
using chronus::firmware::Command;
using chronus::firmware::CommandType;
using chronus::firmware::ControlQueue;
using chronus::firmware::EngineConfig;

constexpr uint32_t kPeriod = 64;

double NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

void BM_EnginePeriod(benchmark::State& state) {
  const auto voices = static_cast<uint32_t>(state.range(0));
  const auto workers = static_cast<uint32_t>(state.range(1));
  ControlQueue queue;
  ControlQueue::Producer& control = *queue.AddProducerNonRt();
  EngineConfig config;
  config.block_frames = kPeriod;
  config.workers = workers;
  config.voices = voices;
  AudioEngine engine(config, queue);
  engine.Start();
  const std::pair<ParamId, float> params[] = {
      {ParamId::kWaveform, 1.0f}, {ParamId::kCutoffHz, 2000.0f}, {ParamId::kResonance, 0.585f},
      {ParamId::kAttackS, 0.01f}, {ParamId::kDecayS, 0.1f},      {ParamId::kSustain, 0.7f},
      {ParamId::kReleaseS, 0.2f}};
  for (const auto& [id, value] : params)
    control.pushNonRt(Command{CommandType::kSetParam, 0, id, value});
  for (uint32_t v = 0; v < voices; ++v) {
    control.pushNonRt(Command{CommandType::kNoteOn, static_cast<uint8_t>(33 + v % 48),
                              ParamId::kCutoffHz, 1.0f / float(voices)});
  }
  std::vector<int32_t> out(kPeriod * 2);
  const std::vector<chronus::firmware::DspWorker*> worker_threads = engine.workers();
  auto render = [&] {
    const uint64_t target = engine.periods() + 1;
    for (const auto* worker : worker_threads) {
      while (worker->blocks_rendered() < target) {
      }
    }
    const double start = NowNs();
    engine.RenderPeriodRt(out.data());
    return NowNs() - start;
  };
  for (int i = 0; i < 200; ++i) render();  // past the commands and the attack
  double audio_thread_ns = 0;
  int64_t periods = 0;
  for (auto _ : state) {
    audio_thread_ns += render();
    ++periods;
  }
  engine.Stop();
  const double samples = double(periods) * kPeriod * voices;
  state.counters["ns_per_voice_sample"] =
      benchmark::Counter(samples, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["x_realtime"] =
      benchmark::Counter(double(periods) * kPeriod / 48000.0, benchmark::Counter::kIsRate);
  state.counters["audio_thread_us_per_period"] = audio_thread_ns / double(periods) / 1e3;
  state.counters["late_blocks"] = double(engine.late_blocks());
}

BENCHMARK(BM_EnginePeriod)
    ->ArgNames({"voices", "workers"})
    ->ArgsProduct({{16, 64, 256}, {1, 2}})
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
