// render_w1: Chronus's side of the peer comparison (tools/bench/peers). Renders workload W1 of
// /work/shared/notes/peer-benchmarks.md offline and writes it as a 32-bit float stereo WAV with
// libsndfile, as the peers do:
//   N voices, voice i: band-limited saw at f = 55 * 2^((i mod 48) / 12) * (1 + 0.0037 floor(i /
//   48))
//   -> resonant 2-pole low-pass at 4 f, Q 5 -> ADSR 10 ms / 100 ms / 0.7 / 200 ms, gate held
//   -> equal-power pan ((i mod 9) - 4) / 5, amplitude 1 / N -> stereo sum; 48 kHz, blocks of 64.
//
//   render_w1 [--voices N] [--seconds S] [--workers 1|2] [--lookahead B] [--main-voices M]
//             [--out FILE.wav] [--simd baseline|avx2|avx512]
//
// --workers 2 splits the voices in two banks (the first M, default half, and the rest): this
// thread renders the first itself (on a 2-core machine a separate driver thread would compete
// with the two workers for the cores, which is why the firmware can let its audio thread render
// a share: EngineConfig::audio_thread_renders) and one more thread renders the other, up to
// --lookahead blocks of 64 frames ahead (default 256) through a single-producer single-consumer
// ring, as a firmware worker renders ahead into its ready queue; waits spin briefly, then
// yield; the two threads are pinned to cores 0 and 1. The main thread sums the two blocks and
// writes (no PEAK chunk). An uneven split costs more than it saves: the kernels render voices in
// groups of the SIMD width (16 with AVX-512). --simd forces the kernels' instruction set
// (default: the best this CPU has). Prints one line: voices, workers, SIMD level, seconds
// rendered, wall seconds of the render loop (the peers script times the whole process), and
// where that time went besides rendering: seconds in sf_writef_float, seconds this thread waited
// for worker 1's blocks, seconds worker 1 waited for ring room.
#include <pthread.h>
#include <sched.h>
#include <sndfile.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include "dsp/pitch.h"
#include "dsp/svf.h"
#include "dsp/voice_bank.h"
#include "hal/rt/cpu_relax.h"

namespace {

using chronus::dsp::ParamId;
using chronus::dsp::SimdLevel;
using chronus::dsp::VoiceBank;
using chronus::hal::CpuRelax;

constexpr float kFs = 48000.0f;
constexpr size_t kBlock = 64;
constexpr size_t kWriteFrames = 4096;  // frames per sf_writef_float call

struct Options {
  size_t voices = 64;
  double seconds = 60.0;
  int workers = 1;
  // Blocks worker 1 may render ahead. 256 (a 64 KiB ring per channel pair): at 64 voices a block
  // renders in ~0.6 us, and worker 1 writes file chunks only while it waits for room; with 64 the
  // main thread, writing when every chunk buffer was full, stalled worker 1 (this VM, W1 64
  // voices, loop wall time: 64 -> 0.039-0.042 s, 256 -> 0.036-0.038 s, 1024 no better).
  size_t lookahead = 256;
  long main_voices = -1;  // --workers 2: voices the main thread renders (-1: automatic)
  std::string out = "/dev/shm/chronus_w1.wav";
  std::string simd;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "render_w1: %s\nusage: render_w1 [--voices N] [--seconds S] [--workers 1|2] "
               "[--lookahead B] [--main-voices M] [--out FILE.wav] [--simd baseline|avx2|avx512]\n",
               why);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) Usage(("missing value for " + a).c_str());
    const char* v = argv[++i];
    if (a == "--voices") {
      o.voices = std::strtoul(v, nullptr, 10);
    } else if (a == "--seconds") {
      o.seconds = std::strtod(v, nullptr);
    } else if (a == "--workers") {
      o.workers = std::atoi(v);
    } else if (a == "--lookahead") {
      o.lookahead = std::strtoul(v, nullptr, 10);
    } else if (a == "--out") {
      o.out = v;
    } else if (a == "--simd") {
      o.simd = v;
    } else if (a == "--main-voices") {
      o.main_voices = std::atol(v);
    } else {
      Usage(("unknown option " + a).c_str());
    }
  }
  if (o.voices < 1 || o.voices > chronus::dsp::kMaxVoices) Usage("--voices must be 1..256");
  if (o.workers != 1 && o.workers != 2) Usage("--workers must be 1 or 2");
  if (!(o.seconds > 0.0)) Usage("--seconds must be > 0");
  if (o.lookahead < 1 || o.lookahead > 1024) Usage("--lookahead must be 1..1024");
  if (o.main_voices > static_cast<long>(o.voices)) Usage("--main-voices must be <= --voices");
  return o;
}

float VoiceFreq(size_t i) {
  return 55.0f * std::exp2(static_cast<float>(i % 48) / 12.0f) *
         (1.0f + 0.0037f * static_cast<float>(i / 48));
}

// Bank of the voices first .. first + count - 1 (global indices), W1 parameters, all notes on.
std::unique_ptr<VoiceBank> MakeBank(const Options& o, size_t first, size_t count) {
  auto bank = std::make_unique<VoiceBank>();
  bank->Init(kFs, count);
  if (!o.simd.empty()) {
    SimdLevel level = SimdLevel::kBaseline;
    if (o.simd == "avx2") {
      level = SimdLevel::kAvx2;
    } else if (o.simd == "avx512") {
      level = SimdLevel::kAvx512;
    } else if (o.simd != "baseline") {
      Usage("--simd must be baseline, avx2 or avx512");
    }
    if (!bank->SetSimdLevel(level)) Usage("this CPU lacks the requested --simd level");
  }
  const float q5 = std::log(5.0f / chronus::dsp::kMinQ) /
                   std::log(chronus::dsp::kMaxQ / chronus::dsp::kMinQ);  // resonance for Q 5
  bank->SetParam(ParamId::kWaveform, 1.0f);
  bank->SetParam(ParamId::kResonance, q5);
  bank->SetParam(ParamId::kAttackS, 0.01f);
  bank->SetParam(ParamId::kDecayS, 0.1f);
  bank->SetParam(ParamId::kSustain, 0.7f);
  bank->SetParam(ParamId::kReleaseS, 0.2f);
  for (size_t slot = 0; slot < count; ++slot) {
    const size_t i = first + slot;  // global voice index
    const float f0 = VoiceFreq(i);
    bank->SetVoiceParam(slot, ParamId::kCutoffHz, 4.0f * f0);
    bank->SetVoicePan(slot, static_cast<float>(static_cast<int>(i % 9) - 4) / 5.0f);
    bank->NoteOn(slot, chronus::dsp::HzToMidi(f0), 1.0f / static_cast<float>(o.voices));
  }
  return bank;
}

// Pins the calling thread to `cpu` (as the firmware pins its workers): left unpinned, the two
// threads sometimes start on one core and take turns there through their waits (seen here: half
// the runs twice as slow). Best effort: a machine with one core keeps the default.
void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Spins briefly, then yields: on a loaded 2-core machine a pure spin can starve the other side.
template <class Pred>
void WaitUntil(Pred done) {
  for (int spins = 0; !done(); ++spins) {
    if (spins < 4096) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
}

// Writes the rendered file in chunks of kWriteFrames frames, each by whichever thread is free to
// do it: the main thread fills chunk after chunk; it and worker 1 (when it waits for ring room)
// write the chunks that are ready, one thread at a time, in order. A single-threaded writer
// would be a serial part of the 2-worker render (Amdahl: at 64 voices, 7 ms of 45).
class ChunkWriter {
 public:
  static constexpr size_t kChunks = 16;

  explicit ChunkWriter(SNDFILE* file)
      : file_(file), buffers_(kChunks, std::vector<float>(kWriteFrames * 2)), frames_(kChunks) {}

  // Main thread: the buffer for chunk n (0, 1, 2, ...) once its previous use is written.
  float* Buffer(uint64_t n, double* write_s) {
    while (n - written_.load(std::memory_order_acquire) >= kChunks) {
      TryWrite(write_s);
      CpuRelax();
    }
    return buffers_[n % kChunks].data();
  }
  // Main thread: chunk n is filled with `frames` frames.
  void Publish(uint64_t n, size_t frames) {
    frames_[n % kChunks] = frames;
    ready_.store(n + 1, std::memory_order_release);
  }
  // Any thread: writes every chunk that is ready, unless another thread is writing. Adds the
  // time spent to *write_s.
  void TryWrite(double* write_s) {
    if (written_.load(std::memory_order_acquire) == ready_.load(std::memory_order_acquire)) return;
    if (busy_.exchange(true, std::memory_order_acquire)) return;
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t w = written_.load(std::memory_order_relaxed);
    while (w < ready_.load(std::memory_order_acquire)) {
      const auto count = static_cast<sf_count_t>(frames_[w % kChunks]);
      if (sf_writef_float(file_, buffers_[w % kChunks].data(), count) != count) failed_ = true;
      written_.store(++w, std::memory_order_release);
    }
    *write_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    busy_.store(false, std::memory_order_release);
  }
  // Main thread, at the end: waits until every published chunk is written. False after a write
  // error.
  bool Finish(double* write_s) {
    while (written_.load(std::memory_order_acquire) < ready_.load(std::memory_order_acquire)) {
      TryWrite(write_s);
      CpuRelax();
    }
    return !failed_.load();
  }

 private:
  SNDFILE* file_;
  std::vector<std::vector<float>> buffers_;
  std::vector<size_t> frames_;
  alignas(64) std::atomic<uint64_t> ready_{0};
  alignas(64) std::atomic<uint64_t> written_{0};
  alignas(64) std::atomic<bool> busy_{false};
  std::atomic<bool> failed_{false};
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  const auto frames = static_cast<size_t>(std::llround(o.seconds * kFs));

  SF_INFO info{};
  info.samplerate = static_cast<int>(kFs);
  info.channels = 2;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* file = sf_open(o.out.c_str(), SFM_WRITE, &info);
  if (file == nullptr) {
    std::fprintf(stderr, "render_w1: cannot write %s: %s\n", o.out.c_str(), sf_strerror(nullptr));
    return 1;
  }

  // No PEAK chunk (per-channel peak metadata): keeping it costs a pass over every sample written,
  // half the write time here, and nothing reads it.
  sf_command(file, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);

  std::vector<std::unique_ptr<VoiceBank>> banks;
  const size_t main_count =
      o.workers == 1 ? o.voices
                     : (o.main_voices >= 0 ? static_cast<size_t>(o.main_voices) : o.voices / 2);
  banks.push_back(MakeBank(o, 0, main_count));
  if (o.workers == 2) banks.push_back(MakeBank(o, main_count, o.voices - main_count));

  alignas(64) float l0[kBlock], r0[kBlock];
  ChunkWriter writer(file);
  uint64_t chunk = 0;            // the chunk being filled
  float* interleaved = nullptr;  // its buffer
  size_t pending = 0;            // frames in it

  // Worker 1's blocks: ring[(k % lookahead)] holds block k (left then right), produced in order.
  const size_t blocks = (frames + kBlock - 1) / kBlock;
  std::vector<float> ring(o.lookahead * 2 * kBlock);
  alignas(64) std::atomic<uint64_t> produced{0};
  alignas(64) std::atomic<uint64_t> consumed{0};
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  double helper_wait_s = 0.0;  // where the time goes: waits on each side, file writing
  double main_wait_s = 0.0;
  double write_s = 0.0;         // by the main thread
  double helper_write_s = 0.0;  // by worker 1
  // Each side publishes its progress every `batch` blocks: the two cores exchange cache lines a
  // few times per lookahead instead of twice per block.
  const size_t batch = std::max<size_t>(1, o.lookahead / 4);
  std::thread helper;
  if (o.workers == 2) {
    helper = std::thread([&] {
      PinToCpu(1);
      uint64_t room_until = o.lookahead;  // blocks below this index have a free ring slot
      for (uint64_t k = 0; k < blocks; ++k) {
        if (k >= room_until) {
          const auto w0 = Clock::now();
          WaitUntil([&] {
            room_until = consumed.load(std::memory_order_acquire) + o.lookahead;
            if (k < room_until) return true;
            writer.TryWrite(&helper_write_s);  // idle: write what the main thread has filled
            return false;
          });
          helper_wait_s += seconds_since(w0);
        }
        float* slot = ring.data() + (k % o.lookahead) * 2 * kBlock;
        banks[1]->RenderStereo(slot, slot + kBlock, kBlock);
        if ((k + 1) % batch == 0 || k + 1 == blocks) {
          produced.store(k + 1, std::memory_order_release);
        }
      }
    });
  }
  // The main thread rereads `produced` only when it has used up what it last saw.
  uint64_t seen = 0;

  if (o.workers == 2) PinToCpu(0);
  const auto t0 = Clock::now();
  for (size_t k = 0; k < blocks; ++k) {
    const size_t pos = k * kBlock;
    const size_t n = std::min(kBlock, frames - pos);
    banks[0]->RenderStereo(l0, r0, kBlock);
    if (o.workers == 2) {
      if (seen <= k) {
        const auto w0 = Clock::now();
        WaitUntil([&] {
          seen = produced.load(std::memory_order_acquire);
          return seen > k;
        });
        main_wait_s += seconds_since(w0);
      }
      const float* slot = ring.data() + (k % o.lookahead) * 2 * kBlock;
      for (size_t i = 0; i < kBlock; ++i) {
        l0[i] += slot[i];
        r0[i] += slot[kBlock + i];
      }
      if ((k + 1) % batch == 0) consumed.store(k + 1, std::memory_order_release);
    }
    if (interleaved == nullptr) interleaved = writer.Buffer(chunk, &write_s);
    for (size_t i = 0; i < n; ++i) {
      interleaved[2 * (pending + i)] = l0[i];
      interleaved[2 * (pending + i) + 1] = r0[i];
    }
    pending += n;
    if (pending + kBlock > kWriteFrames || pos + n >= frames) {
      writer.Publish(chunk++, pending);
      // Worker 1 writes it when it has nothing to render; with one worker, or when every
      // buffer is taken, this thread does (Buffer, Finish).
      if (o.workers == 1) writer.TryWrite(&write_s);
      interleaved = nullptr;
      pending = 0;
    }
  }
  if (!writer.Finish(&write_s)) {
    std::fprintf(stderr, "render_w1: write failed: %s\n", sf_strerror(file));
    return 1;
  }
  const double wall = seconds_since(t0);
  if (helper.joinable()) helper.join();
  sf_close(file);

  size_t active = 0;
  for (const auto& b : banks) active += b->ActiveCount();
  if (active != o.voices) {
    std::fprintf(stderr, "render_w1: %zu of %zu voices still sound\n", active, o.voices);
    return 1;
  }
  std::printf(
      "render_w1 voices %zu workers %d simd %s seconds %.3f render_wall_s %.4f write_s %.4f "
      "helper_write_s %.4f main_wait_s %.4f helper_wait_s %.4f\n",
      o.voices, o.workers, VoiceBank::SimdLevelName(banks[0]->simd_level()),
      static_cast<double>(frames) / kFs, wall, write_s, helper_write_s, main_wait_s, helper_wait_s);
  return 0;
}
