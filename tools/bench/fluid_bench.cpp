// fluid_bench: Chronus's FluidSynth path against the fluidsynth command-line renderer on the same
// MIDI content and settings, in one run; and the CPU share of the generative mode on one worker.
//
// Content (like the peer workload W2): 60 s of 32-note chords, 16 notes on a piano (program 0,
// channel 1) and 16 on a pad (program 89, channel 2), a new chord every second, FluidR3_GM.sf2,
// polyphony 256, reverb and chorus on, 48 kHz, float WAV to tmpfs. The MIDI file is written here;
// the command line is `fluidsynth -ni -q -F out.wav -r 48000 -T wav -O float -o ... sf2 file.mid`.
// Both sides are timed as whole jobs: SoundFont load + render + WAV writing.
//
// Usage: fluid_bench [--sf2 path] [--seconds 60] [--block 256] [--runs 3] [--dir /dev/shm]
//                    [--generative-only 1]   (soak: --seconds 28800 renders 8 hours of the
//                                             generative mode offline and reports the RSS drift)
#include <fluidsynth.h>
#include <pthread.h>
#include <sched.h>
#include <sndfile.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "firmware/engine/audio_engine.h"
#include "firmware/generative/gen_player.h"
#include "firmware/sound/fluid_instance.h"
#include "firmware/sound/fluid_worker.h"
#include "firmware/sound/sound_layers.h"

namespace cf = chronus::firmware;
namespace fs = std::filesystem;

namespace {

constexpr double kRate = 48000.0;
// The FluidSynth worker runs SCHED_FIFO as in the firmware (needs root or CAP_SYS_NICE; falls back
// to normal scheduling), so that the machine's other processes do not take its core.
constexpr int kWorkerPriority = 50;

struct Event {
  double time_s;
  int channel;  // 0-based
  int key;
  int velocity;  // 0 = off
};

std::vector<Event> Content(int seconds) {
  std::vector<Event> events;
  for (int s = 0; s < seconds; ++s) {
    for (int ch = 0; ch < 2; ++ch) {
      for (int k = 0; k < 16; ++k) {
        const int key = 36 + ch * 12 + ((s * 5 + k * 3) % 48);
        events.push_back({static_cast<double>(s), ch, key, 70 + (k % 5) * 10});
        events.push_back({s + 0.999, ch, key, 0});
      }
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time_s < b.time_s; });
  return events;
}

void VarLen(std::vector<uint8_t>* out, uint32_t value) {
  uint8_t bytes[5];
  int n = 0;
  bytes[n++] = value & 0x7f;
  while ((value >>= 7) != 0) bytes[n++] = static_cast<uint8_t>(0x80 | (value & 0x7f));
  while (n > 0) out->push_back(bytes[--n]);
}

// Standard MIDI file, format 0, 960 ticks per quarter at 60 bpm: 960 ticks per second.
void WriteMidi(const std::string& path, const std::vector<Event>& events) {
  std::vector<uint8_t> track;
  auto meta_tempo = std::vector<uint8_t>{0x00, 0xff, 0x51, 0x03, 0x0f, 0x42, 0x40};  // 1 s / qn
  track.insert(track.end(), meta_tempo.begin(), meta_tempo.end());
  for (const auto& [ch, program] : {std::pair{0, 0}, std::pair{1, 89}}) {
    track.insert(track.end(),
                 {0x00, static_cast<uint8_t>(0xc0 | ch), static_cast<uint8_t>(program)});
  }
  uint32_t last = 0;
  for (const Event& e : events) {
    const auto tick = static_cast<uint32_t>(std::lround(e.time_s * 960.0));
    VarLen(&track, tick - last);
    last = tick;
    track.push_back(static_cast<uint8_t>((e.velocity > 0 ? 0x90 : 0x80) | e.channel));
    track.push_back(static_cast<uint8_t>(e.key));
    track.push_back(static_cast<uint8_t>(e.velocity));
  }
  track.insert(track.end(), {0x00, 0xff, 0x2f, 0x00});
  std::ofstream out(path, std::ios::binary);
  const uint8_t header[] = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0x03, 0xc0};
  out.write(reinterpret_cast<const char*>(header), sizeof(header));
  const auto size = static_cast<uint32_t>(track.size());
  const uint8_t chunk[] = {'M',
                           'T',
                           'r',
                           'k',
                           static_cast<uint8_t>(size >> 24),
                           static_cast<uint8_t>(size >> 16),
                           static_cast<uint8_t>(size >> 8),
                           static_cast<uint8_t>(size)};
  out.write(reinterpret_cast<const char*>(chunk), sizeof(chunk));
  out.write(reinterpret_cast<const char*>(track.data()), static_cast<std::streamsize>(size));
}

size_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

cf::FluidConfig Settings() {
  cf::FluidConfig f;
  f.polyphony = 256;
  f.gain = 0.2;
  f.reverb = true;
  f.chorus = true;
  f.cpu_cores = 1;
  return f;
}

std::string CliSettings(const cf::FluidConfig& f, uint32_t block) {
  char buf[1024];
  std::snprintf(buf, sizeof(buf),
                "-o synth.polyphony=%d -o synth.gain=%g -o synth.reverb.active=%d "
                "-o synth.reverb.room-size=%g -o synth.reverb.damp=%g -o synth.reverb.width=%g "
                "-o synth.reverb.level=%g -o synth.chorus.active=%d -o synth.chorus.nr=%d "
                "-o synth.chorus.level=%g -o synth.chorus.speed=%g -o synth.chorus.depth=%g "
                "-o synth.cpu-cores=%d -o audio.period-size=%u",
                f.polyphony, f.gain, f.reverb ? 1 : 0, f.reverb_room_size, f.reverb_damping,
                f.reverb_width, f.reverb_level, f.chorus ? 1 : 0, f.chorus_voices, f.chorus_level,
                f.chorus_speed_hz, f.chorus_depth_ms, f.cpu_cores, block);
  return buf;
}

int64_t WavFrames(const std::string& path, double* rms) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (f == nullptr) return -1;
  std::vector<float> buf(4096 * static_cast<size_t>(info.channels));
  double sum = 0;
  int64_t n = 0;
  sf_count_t got;
  while ((got = sf_readf_float(f, buf.data(), 4096)) > 0) {
    for (sf_count_t i = 0; i < got * info.channels; ++i)
      sum += double(buf[static_cast<size_t>(i)]) * buf[static_cast<size_t>(i)];
    n += got;
  }
  sf_close(f);
  *rms = std::sqrt(sum / static_cast<double>(std::max<int64_t>(1, n * info.channels)));
  return n;
}

// Our path: FluidInstance + FluidWorker thread + SoundLayers (timed notes), the calling thread in
// the role of the audio thread (waiting for each block), libsndfile float WAV.
double RunOurs(const std::string& sf2, const std::vector<Event>& events, int64_t frames,
               uint32_t block, const std::string& wav, double* render_only_s) {
  const double t0 = Now();
  // The calling thread plays the audio thread: SCHED_FIFO too (it spins while the worker renders;
  // on 2 cores they run side by side).
  sched_param fifo{};
  fifo.sched_priority = kWorkerPriority;
  pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo);
  cf::SoundPatch patch;
  patch.fluid = Settings();
  for (int program : {0, 89}) {
    cf::LayerConfig layer;
    layer.target = cf::LayerConfig::Target::kFluid;
    layer.channels = static_cast<uint16_t>(1u << (program == 0 ? 0 : 1));
    layer.program = program;
    layer.gain_db = 40.0 * std::log10(100.0 / 127.0);  // CC 7 = 100, the MIDI default the CLI uses
    patch.layers.push_back(layer);
  }
  std::string error;
  auto instance = cf::FluidInstance::Create(patch.fluid, kRate, &error);
  if (!instance || !instance->LoadFont(0, sf2).empty()) {
    std::fprintf(stderr, "cannot load %s\n", sf2.c_str());
    std::exit(1);
  }
  instance->ApplyLayers(patch.layers, cf::AssignFluidChannels(patch.layers));
  cf::FluidWorker worker({-1, kWorkerPriority, block, 1}, std::move(instance));
  cf::SoundLayers layers(patch, &worker, static_cast<float>(kRate));
  worker.Start();
  SF_INFO info{};
  info.samplerate = static_cast<int>(kRate);
  info.channels = 2;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* out = sf_open(wav.c_str(), SFM_WRITE, &info);
  const double t1 = Now();
  std::vector<float> zero(block, 0.0f), left(block), right(block), inter(2 * block);
  size_t next = 0;
  cf::Command synth[256];
  const uint64_t periods = (static_cast<uint64_t>(frames) + block - 1) / block + 1;
  for (uint64_t p = 0; p < periods; ++p) {
    const uint64_t start = p * block;
    while (next < events.size() &&
           static_cast<uint64_t>(std::llround(events[next].time_s * kRate)) < start + 2 * block &&
           layers.timed_room() > 0) {
      const Event& e = events[next++];
      layers.pushTimedNonRt({static_cast<uint64_t>(std::llround(e.time_s * kRate)), 0,
                             static_cast<uint8_t>(e.channel), static_cast<uint8_t>(e.key),
                             static_cast<float>(e.velocity) / 127.0f});
    }
    while (worker.blocks_rendered() < p + 1) {
    }
    layers.BeginPeriodRt(start, block, synth, 256);
    layers.MixRt(zero.data(), left.data(), right.data(), block);
    if (p == 0) continue;  // one block of latency: drop the first (silent) block
    for (uint32_t i = 0; i < block; ++i) {
      inter[2 * i] = left[i];
      inter[2 * i + 1] = right[i];
    }
    sf_writef_float(out, inter.data(), block);
  }
  sf_close(out);
  *render_only_s = Now() - t1;
  worker.Stop();
  sched_param other{};
  pthread_setschedparam(pthread_self(), SCHED_OTHER, &other);
  return Now() - t0;
}

double RunCli(const std::string& sf2, const std::string& mid, const std::string& wav,
              uint32_t block) {
  // Same scheduling as our side: SCHED_FIFO (chrt), so that other processes do not compete.
  const std::string command = "chrt -f " + std::to_string(kWorkerPriority) +
                              " fluidsynth -ni -q -F '" + wav + "' -r 48000 -T wav -O float " +
                              CliSettings(Settings(), block) + " '" + sf2 + "' '" + mid +
                              "' >/dev/null 2>&1";
  const double t0 = Now();
  const int rc = std::system(command.c_str());
  const double took = Now() - t0;
  if (rc != 0) {
    std::fprintf(stderr, "fluidsynth failed (%d): %s\n", rc, command.c_str());
    std::exit(1);
  }
  return took;
}

// The generative mode on one synth worker + the FluidSynth worker, offline as fast as possible.
void RunGenerative(const std::string& sf2, double seconds, uint32_t block) {
  cf::ControlQueue control;
  cf::EngineConfig ec;
  ec.sample_rate = static_cast<float>(kRate);
  ec.block_frames = block;
  ec.workers = 1;
  ec.voices = 16;
  ec.worker_priority = kWorkerPriority;
  cf::AudioEngine engine(ec, control);
  cf::SoundPatch patch;
  patch.fluid.polyphony = 64;
  cf::LayerConfig pad;  // the pad on the synth voices
  pad.channels = 1u << 13;
  cf::LayerConfig piano;
  piano.target = cf::LayerConfig::Target::kFluid;
  piano.channels = 1u << 14;
  cf::LayerConfig bass = piano;
  bass.channels = 1u << 15;
  bass.program = 32;
  patch.layers = {pad, piano, bass};
  std::string error;
  auto instance = cf::FluidInstance::Create(patch.fluid, kRate, &error);
  instance->LoadFont(0, sf2);
  instance->ApplyLayers(patch.layers, cf::AssignFluidChannels(patch.layers));
  cf::FluidWorker worker({-1, kWorkerPriority, block, 1}, std::move(instance));
  cf::SoundLayers layers(patch, &worker, static_cast<float>(kRate));
  engine.SetLayerHostNonRt(&layers);
  cf::GenerativeConfig gen_config;
  gen_config.intensity = 0.8;
  cf::GenPlayer player(layers, gen_config, cf::GenPlayerConfig{});
  player.SetLaneNonRt(control.AddProducerNonRt());  // notes through the engine's event scheduler
  engine.Start();
  worker.Start();
  player.StartMusicNonRt();
  std::vector<int32_t> out(block * 2);
  const auto periods = static_cast<uint64_t>(seconds * kRate / block);
  const std::vector<cf::DspWorker*> workers = engine.workers();
  const double t0 = Now();
  const uint64_t warm_up = static_cast<uint64_t>(std::min(600.0, seconds / 4) * kRate / block);
  size_t rss_warm = 0, rss_max = 0;
  for (uint64_t p = 0; p < periods; ++p) {
    if (p == warm_up) rss_warm = RssBytes();
    if (p > warm_up && p % 20000 == 0) rss_max = std::max(rss_max, RssBytes());
    player.StepNonRt(p * block);
    for (cf::DspWorker* w : workers) {
      while (w->blocks_rendered() < p + 1) {
      }
    }
    while (worker.blocks_rendered() < p + 1) {
    }
    engine.RenderPeriodRt(out.data());
  }
  rss_max = std::max({rss_max, rss_warm, RssBytes()});  // and at the end (short runs: only then)
  const double took = Now() - t0;
  std::printf(
      "GENERATIVE seconds %.0f wall %.3f s x_realtime %.1f cpu_share_of_one_core %.2f %% "
      "(synth worker + FluidSynth worker + audio thread, serialised), bars %llu notes "
      "%llu late %llu (engine late events %llu, scheduler overflows %llu)\n",
      seconds, took, seconds / took, 100.0 * took / seconds,
      static_cast<unsigned long long>(player.bars()),
      static_cast<unsigned long long>(player.notes_queued()),
      static_cast<unsigned long long>(layers.gen_late()),
      static_cast<unsigned long long>(engine.late_events()),
      static_cast<unsigned long long>(engine.scheduler_overflows()));
  std::printf("GENERATIVE rss after warm-up %.1f MB, max after %.1f MB, drift %.3f MB\n",
              static_cast<double>(rss_warm) / 1e6, static_cast<double>(rss_max) / 1e6,
              (static_cast<double>(rss_max) - static_cast<double>(rss_warm)) / 1e6);
  worker.Stop();
  engine.Stop();
}

}  // namespace

int main(int argc, char** argv) {
  std::string sf2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
  int seconds = 60;
  uint32_t block = 256;
  int runs = 3;
  bool gen_only = false;
  std::string dir = fs::exists("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--sf2") sf2 = argv[i + 1];
    if (key == "--seconds") seconds = std::atoi(argv[i + 1]);
    if (key == "--block") block = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    if (key == "--runs") runs = std::atoi(argv[i + 1]);
    if (key == "--dir") dir = argv[i + 1];
    if (key == "--generative-only") gen_only = std::string(argv[i + 1]) == "1";
  }
  if (gen_only) {  // the soak: hours of generative music rendered offline, RSS trend
    RunGenerative(sf2, seconds, block);
    return 0;
  }
  const std::string base = dir + "/chronus-fluid-bench-" + std::to_string(getpid());
  const std::vector<Event> events = Content(seconds);
  WriteMidi(base + ".mid", events);
  std::vector<double> cli, ours, render;
  int64_t frames = 0;
  double cli_rms = 0, our_rms = 0;
  for (int r = 0; r < runs; ++r) {  // interleaved, so that both see the same machine
    cli.push_back(RunCli(sf2, base + ".mid", base + "-cli.wav", block));
    frames = WavFrames(base + "-cli.wav", &cli_rms);
    double render_only = 0;
    ours.push_back(RunOurs(sf2, events, frames, block, base + "-ours.wav", &render_only));
    render.push_back(render_only);
    WavFrames(base + "-ours.wav", &our_rms);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double audio_s = static_cast<double>(frames) / kRate;
  std::printf("FLUID content %.1f s, %d runs, block %u, polyphony 256, reverb+chorus on\n", audio_s,
              runs, block);
  std::printf("FLUID cli    wall %.3f s  x_realtime %.1f  rms %.4f\n", median(cli),
              audio_s / median(cli), cli_rms);
  std::printf("FLUID chronus wall %.3f s  x_realtime %.1f  rms %.4f  (render only %.3f s)\n",
              median(ours), audio_s / median(ours), our_rms, median(render));
  std::printf("FLUID ratio chronus/cli speed %.3f (goal >= 0.95)\n", median(cli) / median(ours));
  fs::remove(base + ".mid");
  fs::remove(base + "-cli.wav");
  fs::remove(base + "-ours.wav");
  RunGenerative(sf2, seconds, block);
  return 0;
}
