// The audio thread's whole per-period cost offline, at 64 frames: what AudioThread does each
// period besides waiting for the device, i.e.
//   AudioEngine::RenderPeriodRt (collect the workers' blocks, commands, mix, master gain, soft
//   clip, 24-bit quantisation) + ConvertFromS32 into a buffer standing in for the ALSA mmap area
//   + Recorder::PushRt (a take recording to tmpfs, its writer thread running).
// The DSP workers render in their own threads as in the firmware; like engine_bench, the timed
// region starts once every worker has delivered, so it is the audio thread's own time.
//   build/release/tools/bench/period_bench
// Counters (per period, 64 frames = 1333 us at 48 kHz):
//   audio_thread_us (all three), render_us, convert_us, record_us, period_pct (audio_thread_us
//   as a percentage of the period), late_blocks, dropped_blocks (recorder; should be 0).
// Workload: W1 with one shared cutoff (as engine_bench), 2 channels, S32_LE device format.
#include <benchmark/benchmark.h>
#include <time.h>

#include <filesystem>
#include <string>
#include <vector>

#include "firmware/engine/audio_engine.h"
#include "firmware/recorder/recorder.h"
#include "hal/audio/sample_convert.h"

namespace {

using chronus::dsp::ParamId;
using chronus::firmware::AudioEngine;
using chronus::firmware::Command;
using chronus::firmware::CommandType;
using chronus::firmware::ControlQueue;
using chronus::firmware::EngineConfig;
using chronus::firmware::Recorder;
using chronus::firmware::RecorderConfig;

constexpr uint32_t kPeriod = 64;
constexpr uint32_t kChannels = 2;
constexpr double kPeriodUs = kPeriod / 48000.0 * 1e6;

double NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

void BM_AudioThreadPeriod(benchmark::State& state) {
  const auto voices = static_cast<uint32_t>(state.range(0));
  const auto workers = static_cast<uint32_t>(state.range(1));
  const auto format = static_cast<chronus::hal::SampleFormat>(state.range(2));
  ControlQueue queue;
  ControlQueue::Producer& control = *queue.AddProducerNonRt();
  EngineConfig config;
  config.block_frames = kPeriod;
  config.channels = kChannels;
  config.workers = workers;
  config.voices = voices;
  AudioEngine engine(config, queue);
  engine.Start();

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("chronus-period-bench-" + std::to_string(getpid()));
  RecorderConfig rec_config;
  rec_config.directory = dir;
  rec_config.channels = kChannels;
  rec_config.max_block_frames = kPeriod;
  // The benchmark runs periods ~20x faster than real time: a deep ring keeps the writer from
  // falling behind, so that every PushRt copies its block (a dropped block costs less).
  rec_config.ring_blocks = 1u << 17;
  Recorder recorder(rec_config);
  if (!recorder.StartNonRt("bench").ok) {
    state.SkipWithError("recorder could not start a take");
    return;
  }

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
  std::vector<int32_t> out(kPeriod * kChannels);
  std::vector<int32_t> mmap_area(kPeriod * kChannels);  // 4 bytes per sample covers every format
  double render_ns = 0, convert_ns = 0, record_ns = 0;
  auto period = [&](bool timed) {
    const uint64_t target = engine.periods() + 1;
    for (const auto& worker : engine.workers()) {
      while (worker->blocks_rendered() < target) {
      }
    }
    const double t0 = NowNs();
    engine.RenderPeriodRt(out.data());
    const double t1 = NowNs();
    chronus::hal::ConvertFromS32(out.data(), mmap_area.data(), out.size(), format);
    const double t2 = NowNs();
    recorder.PushRt(out.data(), kPeriod);
    const double t3 = NowNs();
    if (timed) {
      render_ns += t1 - t0;
      convert_ns += t2 - t1;
      record_ns += t3 - t2;
    }
  };
  for (int i = 0; i < 200; ++i) period(false);  // past the commands and the attack
  int64_t periods = 0;
  for (auto _ : state) {
    period(true);
    ++periods;
  }
  engine.Stop();
  recorder.StopNonRt();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  const double p = double(periods);
  const double total_us = (render_ns + convert_ns + record_ns) / p / 1e3;
  state.counters["audio_thread_us"] = total_us;
  state.counters["render_us"] = render_ns / p / 1e3;
  state.counters["convert_us"] = convert_ns / p / 1e3;
  state.counters["record_us"] = record_ns / p / 1e3;
  state.counters["period_pct"] = 100.0 * total_us / kPeriodUs;
  state.counters["late_blocks"] = double(engine.late_blocks());
  state.counters["dropped_blocks"] = double(recorder.dropped_blocks());
}

BENCHMARK(BM_AudioThreadPeriod)
    ->ArgNames({"voices", "workers", "format"})
    ->ArgsProduct({{64, 256}, {1, 2}, {int(chronus::hal::SampleFormat::kS32)}})
    ->Args({256, 2, int(chronus::hal::SampleFormat::kS16)})
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
