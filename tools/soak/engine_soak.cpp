// Accelerated soak: the firmware's engine (AudioEngine + DSP worker threads) and recorder driven
// offline, as fast as the workers deliver blocks, for hours of audio, with a control thread that
// plays notes, changes parameters and records takes on the audio timeline. Samples the process's
// resident memory and open descriptors as it goes and reports their trend after warm-up.
// Presets are saved and loaded through the state store every audio minute.
//   engine_soak [--hours 4] [--period 128] [--workers 2] [--voices 16] [--dir DIR] [--csv FILE]
// Exit status 0 when RSS is flat after warm-up (growth < 1 MiB), descriptors are flat, no worker
// command was dropped and nothing failed; 1 otherwise.
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "firmware/engine/audio_engine.h"
#include "firmware/recorder/recorder.h"
#include "firmware/state/state_store.h"

namespace {

namespace fs = std::filesystem;
using chronus::dsp::ParamId;
using chronus::firmware::AudioEngine;
using chronus::firmware::Command;
using chronus::firmware::CommandType;
using chronus::firmware::ControlQueue;
using chronus::firmware::DspWorker;
using chronus::firmware::EngineConfig;
using chronus::firmware::Recorder;
using chronus::firmware::RecorderConfig;
using chronus::firmware::StateStore;

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

long RssKib() {
  long size = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int OpenFds() {
  int n = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (const dirent* e = readdir(dir)) n += e->d_name[0] != '.';
    closedir(dir);
    --n;  // the directory being read
  }
  return n;
}

struct Sample {
  double audio_s;
  double wall_s;
  long rss_kib;
  int fds;
  bool recording;  // a take is open: one more descriptor
  uint64_t late_blocks;
  uint64_t dropped_commands;
  uint64_t recorder_dropped;
  uint64_t takes;
};

// Least-squares slope of y over x.
double Slope(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  if (n < 2) return 0.0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    sxy += x[i] * y[i];
  }
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0.0 : (n * sxy - sx * sy) / d;
}

}  // namespace

int main(int argc, char** argv) {
  double hours = 4.0;
  uint32_t period = 128, workers = 2, voices = 16;
  std::string dir = fs::temp_directory_path() / ("chronus-engine-soak-" + std::to_string(getpid()));
  std::string csv;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    const char* value = argv[i + 1];
    if (arg == "--hours") {
      hours = std::atof(value);
    } else if (arg == "--period") {
      period = static_cast<uint32_t>(std::atoi(value));
    } else if (arg == "--workers") {
      workers = static_cast<uint32_t>(std::atoi(value));
    } else if (arg == "--voices") {
      voices = static_cast<uint32_t>(std::atoi(value));
    } else if (arg == "--dir") {
      dir = value;
    } else if (arg == "--csv") {
      csv = value;
    } else {
      std::fprintf(stderr, "unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (hours <= 0 || period < 16 || workers < 1 || voices < 1) return 2;
  constexpr double kRate = 48000.0;
  const uint64_t total_periods = static_cast<uint64_t>(hours * 3600.0 * kRate / period);
  const uint64_t periods_per_minute = static_cast<uint64_t>(60.0 * kRate / period);

  ControlQueue queue;
  EngineConfig config;
  config.sample_rate = static_cast<float>(kRate);
  config.block_frames = period;
  config.workers = workers;
  config.voices = voices;
  AudioEngine engine(config, queue);
  RecorderConfig rc;
  rc.directory = fs::path(dir) / "rec";
  rc.sample_rate = static_cast<uint32_t>(kRate);
  rc.max_block_frames = period;
  rc.ring_blocks = 4 * static_cast<uint32_t>(kRate) / period + 1;
  Recorder recorder(rc);
  engine.Start();
  const std::vector<DspWorker*> engine_workers = engine.workers();

  // The musician plays on the audio timeline: notes and parameters are queued by the driving
  // thread (its own control lane) before each period, so that commands never arrive in bursts;
  // takes are started and stopped by a control thread (those calls block on the disk).
  std::atomic<bool> done{false};
  std::atomic<uint64_t> takes{0}, take_failures{0};
  uint64_t commands = 0;
  ControlQueue::Producer* lane = queue.AddProducerNonRt();
  std::mt19937 rng(7);
  auto play = [&](uint64_t p) {
    if (p % 8 == 0) {  // a note every 8 periods, another released 3 periods later
      lane->pushNonRt(Command{CommandType::kNoteOn, static_cast<uint8_t>(36 + rng() % 48),
                              ParamId::kCutoffHz, 0.2f + 0.6f * float(rng() % 100) / 100.0f});
      ++commands;
    }
    if (p % 8 == 3) {
      lane->pushNonRt(Command{CommandType::kNoteOff, static_cast<uint8_t>(36 + rng() % 48)});
      ++commands;
    }
    if (p % 5 == 0) {  // parameter sweeps
      const auto& spec = chronus::dsp::kParamSpecs[rng() % chronus::dsp::kParamCount];
      const float t = float(rng() % 1000) / 1000.0f;
      lane->pushNonRt(
          Command{CommandType::kSetParam, 0, spec.id, spec.min + t * (spec.max - spec.min) * 0.5f});
      ++commands;
    }
    if (p % (periods_per_minute * 10) == 0) {
      lane->pushNonRt(Command{CommandType::kAllNotesOff});
      ++commands;
    }
  };
  StateStore store({fs::path(dir) / "state", 1.0, 5.0, 16, nullptr});
  std::atomic<uint64_t> presets_saved{0}, presets_loaded{0}, preset_failures{0};
  std::thread control([&] {
    // Its own lane: the loaded presets' parameters are queued from this thread.
    ControlQueue::Producer* preset_lane = queue.AddProducerNonRt();
    std::mt19937 preset_rng(3);
    uint64_t next_preset = periods_per_minute;
    uint64_t last = 0;
    bool recording = false;
    uint64_t take_started = 0;
    std::string take_path;
    while (!done.load()) {
      const uint64_t now = engine.periods();
      if (now == last) {
        std::this_thread::sleep_for(std::chrono::microseconds(500));
        continue;
      }
      // Every audio minute: save a preset into one of 16 slots, load another one.
      if (now >= next_preset) {
        next_preset += periods_per_minute;
        chronus::firmware::Patch patch = chronus::firmware::DefaultPatch();
        for (const auto& spec : chronus::dsp::kParamSpecs) {
          patch[spec.id] = spec.min + float(preset_rng() % 1000) / 1000.0f * (spec.max - spec.min);
        }
        const int slot = static_cast<int>(presets_saved.load() % 16);
        if (store.SavePresetNonRt(slot, patch).empty()) {
          presets_saved.fetch_add(1);
        } else {
          preset_failures.fetch_add(1);
        }
        const auto loaded = store.LoadPresetNonRt(static_cast<int>(preset_rng() % 16));
        if (loaded.ok()) {
          for (const auto& spec : chronus::dsp::kParamSpecs) {
            preset_lane->pushNonRt(
                Command{CommandType::kSetParam, 0, spec.id, loaded.patch[spec.id]});
          }
          presets_loaded.fetch_add(1);
        }
      }
      // A 20-second take every 2 minutes of audio; each take is deleted once finalized.
      if (!recording && now % (2 * periods_per_minute) < 64 && now > periods_per_minute) {
        auto result = recorder.StartNonRt("soak");
        if (result.ok) {
          recording = true;
          take_started = now;
          take_path = result.path_or_error;
        } else {
          take_failures.fetch_add(1);
        }
      }
      if (recording && now - take_started > periods_per_minute / 3) {
        auto result = recorder.StopNonRt();
        recording = false;
        if (result.ok) {
          takes.fetch_add(1);
          std::error_code ec;
          fs::remove(take_path, ec);
        } else {
          take_failures.fetch_add(1);
        }
      }
      last = now;
    }
    if (recording) recorder.StopNonRt();
  });

  std::vector<int32_t> out(period * 2);
  std::vector<Sample> samples;
  const double start = Now();
  const uint64_t sample_every = periods_per_minute * 5;  // every 5 minutes of audio
  FILE* csv_file = csv.empty() ? nullptr : std::fopen(csv.c_str(), "w");
  if (csv_file) {
    std::fprintf(csv_file,
                 "audio_s,wall_s,rss_kib,fds,late_blocks,dropped_commands,recorder_dropped,"
                 "takes\n");
  }
  std::printf("engine soak: %.2f h of audio, period %u, %u workers, %u voices\n", hours, period,
              workers, voices);
  for (uint64_t p = 0; p < total_periods; ++p) {
    const uint64_t target = engine.periods() + 1;
    for (DspWorker* worker : engine_workers) {
      while (worker->blocks_rendered() < target) std::this_thread::yield();
    }
    play(p);
    engine.RenderPeriodRt(out.data());
    recorder.PushRt(out.data(), period);
    if ((p + 1) % sample_every == 0 || p + 1 == total_periods) {
      Sample s{static_cast<double>(p + 1) * period / kRate,
               Now() - start,
               RssKib(),
               OpenFds(),
               recorder.recording(),
               engine.late_blocks(),
               engine.dropped_commands() + queue.dropped(),
               recorder.dropped_blocks(),
               takes.load()};
      samples.push_back(s);
      if (csv_file) {
        std::fprintf(csv_file, "%.0f,%.1f,%ld,%d,%llu,%llu,%llu,%llu\n", s.audio_s, s.wall_s,
                     s.rss_kib, s.fds, static_cast<unsigned long long>(s.late_blocks),
                     static_cast<unsigned long long>(s.dropped_commands),
                     static_cast<unsigned long long>(s.recorder_dropped),
                     static_cast<unsigned long long>(s.takes));
        std::fflush(csv_file);
      }
      if (samples.size() % 12 == 1 || p + 1 == total_periods) {
        std::printf("  %6.2f h audio in %7.1f s wall (%.0fx real time): RSS %ld KiB, fds %d\n",
                    s.audio_s / 3600, s.wall_s, s.audio_s / s.wall_s, s.rss_kib, s.fds);
        std::fflush(stdout);
      }
    }
  }
  done = true;
  control.join();
  engine.Stop();
  if (csv_file) std::fclose(csv_file);

  // Trend after warm-up (the first 10% of the run, at least the first sample).
  const size_t warm = std::max<size_t>(1, samples.size() / 10);
  std::vector<double> x, rss;
  long max_rss = 0;
  int min_fds = 1 << 30, max_fds = 0, first_fds = -1, last_fds = -1, above_min = 0;
  for (size_t i = warm; i < samples.size(); ++i) {
    x.push_back(samples[i].audio_s / 3600.0);
    rss.push_back(static_cast<double>(samples[i].rss_kib));
    max_rss = std::max(max_rss, samples[i].rss_kib);
    if (samples[i].recording) continue;  // a take holds one more descriptor while it is open
    min_fds = std::min(min_fds, samples[i].fds);
    max_fds = std::max(max_fds, samples[i].fds);
    if (first_fds < 0) first_fds = samples[i].fds;
    last_fds = samples[i].fds;
  }
  int idle = 0;
  for (size_t i = warm; i < samples.size(); ++i) {
    above_min += !samples[i].recording && samples[i].fds > min_fds ? 1 : 0;
    idle += samples[i].recording ? 0 : 1;
  }
  const Sample& first = samples[warm - 1];
  const Sample& last = samples.back();
  const double slope = Slope(x, rss);
  const long growth = max_rss - first.rss_kib;
  std::printf(
      "engine soak: %.2f h of audio in %.0f s (%.0fx real time), %llu commands, %llu "
      "takes (%llu failed)\n",
      last.audio_s / 3600, last.wall_s, last.audio_s / last.wall_s,
      static_cast<unsigned long long>(commands), static_cast<unsigned long long>(takes.load()),
      static_cast<unsigned long long>(take_failures.load()));
  std::printf(
      "  RSS after warm-up %ld KiB, max %ld KiB, end %ld KiB: growth %ld KiB, trend %.1f "
      "KiB per audio hour\n",
      first.rss_kib, max_rss, last.rss_kib, growth, slope);
  std::printf(
      "  fds %d..%d after warm-up while not recording (%d at warm-up, %d at the end; %d samples "
      "caught a preset file being written)\n",
      min_fds, max_fds, first_fds, last_fds, above_min);
  std::printf("  presets: %llu saved, %llu loaded, %llu failed (state store)\n",
              static_cast<unsigned long long>(presets_saved.load()),
              static_cast<unsigned long long>(presets_loaded.load()),
              static_cast<unsigned long long>(preset_failures.load()));
  std::printf(
      "  late blocks %llu (offline: the driver waits for the workers), dropped commands "
      "%llu, recorder dropped blocks %llu (accelerated: the writer may not keep up)\n",
      static_cast<unsigned long long>(last.late_blocks),
      static_cast<unsigned long long>(last.dropped_commands),
      static_cast<unsigned long long>(last.recorder_dropped));
  // Flat: never more than the one descriptor a preset save holds open for a moment, and only in a
  // few samples (a leaked descriptor would stay in every later one).
  const bool fds_flat = max_fds <= min_fds + 1 && above_min * 10 <= idle;
  const bool ok = growth < 1024 && fds_flat && last.dropped_commands == 0 &&
                  take_failures.load() == 0 && preset_failures.load() == 0;
  std::printf("engine soak: %s\n", ok ? "PASS (RSS and fds flat)" : "FAIL");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return ok ? 0 : 1;
}
