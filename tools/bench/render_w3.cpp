// W3 of the peer benchmarks (../shared/notes/peer-benchmarks.md), through the firmware's own
// path: AudioEngine + SampleLayer with its DSP worker threads, offline, as fast as the workers
// deliver blocks. 16 layers, each retriggered every 62.5 ms (256 triggers/s), each trigger a
// short percussive mono sample (16 samples of 0.04-0.5 s, mean 0.27 s) with a linen envelope
// (1 ms attack, 5 ms release) and a pan; ~65 voices sound at once. 48 kHz, 512-frame blocks
// (the unit of the peers' figures), 60 s. Runs 1 and 2 workers alternately in one process and
// prints x real time for each (median of --reps) and the 1 -> 2 scaling ratio.
//   build/release/tools/bench/render_w3 [--seconds 60] [--reps 3] [--lookahead 4] [--ahead 2]
//                                       [--spin-us 50] [--threaded] [--only 1|2] [--out w3.wav]
// By default the driving thread (the audio thread's stand-in) renders share 0 itself
// (EngineConfig::audio_thread_renders, as supernova's main thread does): "1 worker" is then one
// thread on one core, and "2 workers" one more thread, which is what a 2-core machine can run
// without a third thread competing. --threaded puts every share on a worker thread (the firmware's
// default), so that 1 worker already uses two threads. Offline nothing paces the audio thread:
// with one block of lookahead every block handed back costs a futex wake-up of a worker whose
// core went idle (~20 us on this VM, more than half a block's render), which a 2.7 ms real-time
// period hides but a 30 us offline period does not. Hence, by default: the worker threads render
// up to 4 blocks ahead (--lookahead), the audio thread keeps its own share 2 ahead (--ahead,
// EngineConfig::audio_share_ahead_blocks), so that either side can run 2 blocks ahead of the
// other through the blocks' uneven cost, and an idle worker spins 50 us (--spin-us,
// EngineConfig::worker_idle_spin_ns) before it sleeps. On this VM (2026-11-21, 120 s, 5 reps,
// two rounds) 1 -> 2 worker scaling went from 1.50x / 1.47x (lookahead 2, share 2 ahead, no
// spin: the defaults before) to 1.61x / 1.52x.
#include <sndfile.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "firmware/engine/audio_engine.h"
#include "firmware/engine/sample_layer.h"

namespace {

using namespace chronus::firmware;
namespace fs = std::filesystem;

constexpr float kRate = 48000.0f;
constexpr uint32_t kBlock = 512;
constexpr int kLayers = 16;
constexpr uint64_t kStepFrames = 3000;  // 62.5 ms

double NowS() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void WriteMono(const fs::path& path, const std::vector<float>& x) {
  SF_INFO info{};
  info.samplerate = 48000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  sf_writef_float(f, x.data(), static_cast<sf_count_t>(x.size()));
  sf_close(f);
}

fs::path MakeSamples() {
  // One directory per process: tools/bench/scaling_ceiling runs two at once.
  const fs::path root =
      fs::temp_directory_path() / ("chronus_w3_samples_" + std::to_string(getpid()));
  fs::remove_all(root);
  for (int i = 0; i < kLayers; ++i) {
    const fs::path dir = root / ("l" + std::to_string(i));
    fs::create_directories(dir);
    const double seconds = 0.04 + 0.46 * i / (kLayers - 1);
    std::vector<float> x(static_cast<size_t>(seconds * kRate));
    uint32_t noise = 12345u + static_cast<uint32_t>(i);
    for (size_t k = 0; k < x.size(); ++k) {  // a decaying tone + noise: a drum-like hit
      noise = noise * 1664525u + 1013904223u;
      const double t = double(k) / kRate;
      x[k] = static_cast<float>((0.3 * std::sin(2 * M_PI * (60.0 + 40.0 * i) * t) +
                                 0.1 * (double(noise >> 8) / 8388608.0 - 1.0)) *
                                std::exp(-6.0 * t / seconds));
    }
    WriteMono(dir / "a.wav", x);
  }
  return root;
}

struct Options {
  double seconds = 60.0;
  int reps = 3;
  uint32_t lookahead = 4;
  uint32_t ahead = 2;     // blocks the audio thread keeps its share rendered ahead (0 = lookahead)
  double spin_us = 50;    // how long an idle worker spins before it sleeps
  bool threaded = false;  // true: every share on a worker thread, the audio thread only mixes
  int only = 0;           // 1 or 2: run only that worker count (tools/bench/scaling_ceiling)
  std::string out_path;
};

struct Result {
  double x_realtime;
  double ms_per_512;
  double mean_voices;
  uint64_t steals;
  uint64_t late;
  double audio_cpu_us;      // the driving (audio) thread's CPU time per period
  double process_cpu_us;    // every thread's CPU time per period
  double render_period_us;  // RenderPeriodRt's wall time per period
  uint32_t offset;          // the audio thread's share's load offset at the end (voices)
};

double CpuSeconds(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

Result Run(uint32_t workers, const Options& o, const fs::path& samples, std::vector<float>* out) {
  SampleLayerConfig lc;
  lc.sample_rate = kRate;
  lc.block_frames = kBlock;
  lc.workers = workers;
  lc.voices = 256;
  lc.lookahead_blocks = o.lookahead;
  SampleLayer layer(lc);
  layer.SetInitialBankNonRt(LoadSampleBank({samples.string(), kRate, size_t{64} << 20}));
  ControlQueue queue;
  EngineConfig ec;
  ec.sample_rate = kRate;
  ec.block_frames = kBlock;
  ec.workers = workers;
  ec.voices = 2;
  ec.lookahead_blocks = o.lookahead;
  ec.audio_thread_renders = !o.threaded;
  ec.audio_share_ahead_blocks = o.ahead;
  ec.worker_idle_spin_ns = int64_t(o.spin_us * 1000);
  ec.sample_layer = &layer;
  AudioEngine engine(ec, queue);
  engine.Start();
  const auto periods = static_cast<uint64_t>(o.seconds * kRate / kBlock);
  const uint64_t total_frames = periods * kBlock;
  std::vector<int32_t> block(2 * kBlock);
  uint64_t next_tick = 0;
  double voice_sum = 0;
  double render_s = 0;
  if (out != nullptr) out->clear();
  const std::vector<DspWorker*> threads = engine.workers();
  const double start = NowS();
  const double audio_cpu0 = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  const double process_cpu0 = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
  for (uint64_t p = 0; p < periods; ++p) {
    // Events up to ~0.25 s ahead, as a Tidal client's bundles arrive.
    const uint64_t horizon = (p + 1) * kBlock + 12000;
    for (; next_tick * kStepFrames < horizon && next_tick * kStepFrames < total_frames;
         ++next_tick) {
      for (int l = 0; l < kLayers; ++l) {
        DirtEvent e;
        const std::string s = "l" + std::to_string(l);
        std::memcpy(e.s, s.c_str(), s.size() + 1);
        e.s_hash = SoundNameHash(s);
        e.frame = next_tick * kStepFrames + 1;  // frame 0 means "at once"
        e.pan = float(l % 9) / 8.0f;
        e.attack_s = 0.001f;
        e.release_s = 0.005f;
        layer.PushEventNonRt(e);
      }
    }
    // As fast as the workers deliver: the block for this period must be there (no standby).
    const uint64_t target = p + 1;
    for (const DspWorker* w : threads) {
      while (w->blocks_rendered() < target) std::this_thread::yield();
    }
    const double r0 = NowS();
    engine.RenderPeriodRt(block.data());
    render_s += NowS() - r0;
    voice_sum += layer.active_voices();
    if (out != nullptr) {
      for (uint32_t i = 0; i < kBlock; ++i) {
        out->push_back(float(block[2 * i]) / 2147483648.0f);
        out->push_back(float(block[2 * i + 1]) / 2147483648.0f);
      }
    }
  }
  const double wall = NowS() - start;
  const double us_per_period = 1e6 / double(periods);
  const double audio_cpu = (CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - audio_cpu0) * us_per_period;
  const double process_cpu = (CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - process_cpu0) * us_per_period;
  engine.Stop();
  return {double(total_frames) / kRate / wall,
          wall * 1e3 / double(periods),
          voice_sum / double(periods),
          layer.voices_stolen(),
          engine.late_blocks(),
          audio_cpu,
          process_cpu,
          render_s * us_per_period,
          layer.audio_thread_offset_rt()};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--threaded") {
      o.threaded = true;
      continue;
    }
    if (a == "--seconds")
      o.seconds = std::atof(v);
    else if (a == "--only")
      o.only = std::atoi(v);
    else if (a == "--reps")
      o.reps = std::atoi(v);
    else if (a == "--lookahead")
      o.lookahead = uint32_t(std::max(1, std::atoi(v)));
    else if (a == "--ahead")
      o.ahead = uint32_t(std::max(0, std::atoi(v)));
    else if (a == "--spin-us")
      o.spin_us = std::atof(v);
    else if (a == "--out")
      o.out_path = v;
    else {
      std::fprintf(stderr,
                   "usage: render_w3 [--seconds 60] [--reps 3] [--lookahead 4] [--ahead 2] "
                   "[--spin-us 50] [--threaded] [--only 1|2] [--out w3.wav]\n");
      return 2;
    }
    ++i;
  }
  const fs::path samples = MakeSamples();
  std::vector<double> x1, x2;
  Result last1{}, last2{};
  std::vector<float> audio;
  auto line = [](const char* name, const Result& r) {
    std::printf(
        "  %s: %.1fx (%.4f ms/512); per period: audio thread CPU %.1f us (RenderPeriodRt %.1f "
        "us), all threads' CPU %.1f us; audio thread's share offset %u voices\n",
        name, r.x_realtime, r.ms_per_512, r.audio_cpu_us, r.render_period_us, r.process_cpu_us,
        r.offset);
  };
  if (o.only == 1 || o.only == 2) {  // one worker count, median x real time on one line
    std::vector<double> x;
    for (int r = 0; r < o.reps; ++r)
      x.push_back(Run(uint32_t(o.only), o, samples, nullptr).x_realtime);
    std::sort(x.begin(), x.end());
    std::printf("W3 %d worker(s): %.1fx real time, median of %d\n", o.only, x[x.size() / 2],
                o.reps);
    fs::remove_all(samples);
    return 0;
  }
  for (int r = 0; r < o.reps; ++r) {
    last1 = Run(1, o, samples, nullptr);
    x1.push_back(last1.x_realtime);
    last2 = Run(2, o, samples, r == o.reps - 1 && !o.out_path.empty() ? &audio : nullptr);
    x2.push_back(last2.x_realtime);
    std::printf("rep %d:\n", r);
    line("1 worker ", last1);
    line("2 workers", last2);
  }
  std::sort(x1.begin(), x1.end());
  std::sort(x2.begin(), x2.end());
  const double m1 = x1[x1.size() / 2];
  const double m2 = x2[x2.size() / 2];
  std::printf(
      "W3 16-layer, %.0f s at 48 kHz, 512-frame blocks, lookahead %u (the audio thread's share %u "
      "ahead), idle workers spin %.0f us, %s, median of %d:\n"
      "  1 worker : %.1fx real time (%.3f ms per 512 frames), %.1f voices on average, %llu "
      "steals, %llu late blocks\n"
      "  2 workers: %.1fx real time (%.3f ms per 512 frames), %llu steals, %llu late blocks\n"
      "  scaling 1 -> 2 workers: %.2fx\n",
      o.seconds, o.lookahead, o.ahead == 0 ? o.lookahead : o.ahead, o.spin_us,
      o.threaded ? "every share on a worker thread"
                 : "the audio thread renders share 0 (1 worker = 1 thread)",
      o.reps, m1, 1e3 * kBlock / kRate / m1, last1.mean_voices, (unsigned long long)last1.steals,
      (unsigned long long)last1.late, m2, 1e3 * kBlock / kRate / m2,
      (unsigned long long)last2.steals, (unsigned long long)last2.late, m2 / m1);
  if (!o.out_path.empty()) {
    SF_INFO info{};
    info.samplerate = 48000;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* f = sf_open(o.out_path.c_str(), SFM_WRITE, &info);
    if (f != nullptr) {
      sf_writef_float(f, audio.data(), static_cast<sf_count_t>(audio.size() / 2));
      sf_close(f);
    }
  }
  fs::remove_all(samples);
  return 0;
}
