// The SuperDirt layer without a sound card: /dirt/play translation (incl. fuzz-style hostile
// input), sample banks on disk, and the sample layer rendered offline by the engine's workers.
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "firmware/control/dirt_translate.h"
#include "firmware/engine/audio_engine.h"
#include "firmware/engine/fault.h"
#include "firmware/engine/sample_layer.h"
#include "firmware/samples/sample_bank.h"
#include "tests/support/alloc_counter.h"

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;

// Builds a /dirt/play argument list with liblo and translates it.
DirtPlayResult Translate(lo_message m, uint64_t frame = 0, const DirtSynthMap& synths = {}) {
  const int argc = lo_message_get_argc(m);
  DirtPlayResult r =
      TranslateDirtPlay(lo_message_get_types(m), lo_message_get_argv(m), argc, frame, synths, 12);
  lo_message_free(m);
  return r;
}

TEST(DirtTranslate, TidalEventWithDefaults) {
  lo_message m = lo_message_new();
  lo_message_add(m, "sssfsfsfss", "_id_", "1", "cps", 0.5625f, "cycle", 3.0f, "delta", 0.2f, "s",
                 "bd");
  const DirtPlayResult r = Translate(m, 4800);
  ASSERT_TRUE(r.ok) << r.refusal;
  EXPECT_STREQ(r.event.s, "bd");
  EXPECT_EQ(r.event.frame, 4800u);
  EXPECT_EQ(r.event.n, 0);
  EXPECT_FLOAT_EQ(r.event.amp, 0.4f);
  EXPECT_FLOAT_EQ(r.event.pan, 0.5f);
  EXPECT_FLOAT_EQ(r.event.rate, 1.0f);
  EXPECT_EQ(r.event.orbit, 0u);
  EXPECT_EQ(r.event.cut, 0);
  EXPECT_EQ(r.event.sustain_s, 0.0f);  // the whole sample
  EXPECT_EQ(r.unknown_keys, 0u);
  EXPECT_EQ(r.clamped, 0u);
  EXPECT_EQ(r.event.kind, DirtEvent::Kind::kSample);
}

TEST(DirtTranslate, ParametersAndAliases) {
  lo_message m = lo_message_new();
  lo_message_add(m, "sssfsfsfsfsisisfsfsfsfsfsfsfsfsfsfsfsfsfsf", "s", "sn:2", "n", 1.0f, "gain",
                 0.5f, "pan", 0.0f, "speed", -2.0f, "cut", 1, "orbit", 3, "note", 12.0f, "legato",
                 0.5f, "delta", 0.4f, "attack", 0.01f, "release", 0.02f, "shape", 0.5f, "lpf",
                 800.0f, "resonance", 0.3f, "hpf", 100.0f, "room", 0.4f, "size", 0.9f, "delay",
                 0.25f, "delaytime", 0.375f, "delayfeedback", 0.6f);
  const DirtPlayResult r = Translate(m);
  ASSERT_TRUE(r.ok) << r.refusal;
  EXPECT_STREQ(r.event.s, "sn");
  EXPECT_EQ(r.event.n, 3);  // "sn:2" + n 1
  EXPECT_FLOAT_EQ(r.event.amp, 0.4f / 16.0f);
  EXPECT_FLOAT_EQ(r.event.rate, -4.0f);  // speed -2, an octave up
  EXPECT_EQ(r.event.cut, 1);
  EXPECT_EQ(r.event.orbit, 3u);
  EXPECT_FLOAT_EQ(r.event.sustain_s, 0.2f);  // legato * delta
  EXPECT_FLOAT_EQ(r.event.attack_s, 0.01f);
  EXPECT_FLOAT_EQ(r.event.lpf_hz, 800.0f);
  EXPECT_FLOAT_EQ(r.event.hpf_hz, 100.0f);
  EXPECT_FLOAT_EQ(r.event.room, 0.4f);
  EXPECT_FLOAT_EQ(r.event.size, 0.9f);
  EXPECT_FLOAT_EQ(r.event.delay_time_s, 0.375f);
  EXPECT_FLOAT_EQ(r.event.delay_feedback, 0.6f);
}

TEST(DirtTranslate, UnknownKeysAreIgnoredAndCountedAbsurdValuesClamped) {
  lo_message m = lo_message_new();
  lo_message_add(m, "sssssfsfsfsi", "s", "hh", "vowel", "a", "crush", 4.0f, "n", 1e9f, "speed",
                 1000.0f, "orbit", 99);
  const DirtPlayResult r = Translate(m);
  ASSERT_TRUE(r.ok) << r.refusal;
  EXPECT_EQ(r.unknown_keys, 2u);
  EXPECT_EQ(r.event.n, 1000000);
  EXPECT_FLOAT_EQ(r.event.rate, static_cast<float>(kDirtMaxSpeed));
  EXPECT_EQ(r.event.orbit, 99u % 12u);  // wrapped, as SuperDirt
  EXPECT_EQ(r.clamped, 3u);
  lo_message z = lo_message_new();
  lo_message_add(z, "sssf", "s", "hh", "speed", 0.0f);
  const DirtPlayResult zero = Translate(z);
  ASSERT_TRUE(zero.ok);
  EXPECT_FLOAT_EQ(zero.event.rate, static_cast<float>(kDirtMinSpeed));
}

// Found by the fuzz target (tests/fuzz/corpus/osc/seed-129): the index suffix of `s "bd:N"` was
// added to an `n` already at its bound, past kDirtMaxN.
TEST(DirtTranslate, NameSuffixPlusNStaysWithinBound) {
  lo_message m = lo_message_new();
  lo_message_add(m, "sssf", "s", "bd:9999999", "n", 1e6f);
  const DirtPlayResult r = Translate(m);
  ASSERT_TRUE(r.ok) << r.refusal;
  EXPECT_STREQ(r.event.s, "bd");
  EXPECT_EQ(r.event.n, static_cast<int64_t>(kDirtMaxN));
  EXPECT_EQ(r.clamped, 1u);
  lo_message small = lo_message_new();
  lo_message_add(small, "sssf", "s", "bd:3", "n", 2.0f);
  const DirtPlayResult sum = Translate(small);
  ASSERT_TRUE(sum.ok) << sum.refusal;
  EXPECT_EQ(sum.event.n, 5);
  EXPECT_EQ(sum.clamped, 0u);
}

TEST(DirtTranslate, MalformedIsRefused) {
  auto refused = [](lo_message m) { return !Translate(m).ok; };
  lo_message a = lo_message_new();
  lo_message_add(a, "sf", "n", 1.0f);  // no s
  EXPECT_TRUE(refused(a));
  lo_message b = lo_message_new();
  lo_message_add(b, "sss", "s", "bd", "n");  // odd
  EXPECT_TRUE(refused(b));
  lo_message c = lo_message_new();
  lo_message_add(c, "ssfs", "s", "bd", 1.0f, "x");  // key not a string
  EXPECT_TRUE(refused(c));
  lo_message d = lo_message_new();
  lo_message_add(d, "ssss", "s", "bd", "gain", "loud");  // wrong type
  EXPECT_TRUE(refused(d));
  lo_message e = lo_message_new();
  lo_message_add(e, "sssf", "s", "bd", "gain", NAN);
  EXPECT_TRUE(refused(e));
  lo_message f = lo_message_new();
  lo_message_add(f, "si", "s", 3);  // s not a string
  EXPECT_TRUE(refused(f));
  lo_message g = lo_message_new();
  lo_message_add(g, "ss", "s", std::string(200, 'x').c_str());
  EXPECT_TRUE(refused(g));
  lo_message h = lo_message_new();
  lo_message_add(h, "ss", "s", "b\x01");
  EXPECT_TRUE(refused(h));
  lo_message i = lo_message_new();
  lo_message_add(i, "sssfsf", "s", "bd", "begin", 0.8f, "end", 0.2f);
  EXPECT_TRUE(refused(i));
  EXPECT_FALSE(TranslateDirtPlay("ss", nullptr, 2, 0, {}, 12).ok);
  EXPECT_FALSE(TranslateDirtPlay("s", nullptr, 2, 0, {}, 12).ok);
}

TEST(DirtTranslate, SynthNamesPlayTheSynth) {
  DirtSynthMap synths{{"superpiano"}};
  lo_message m = lo_message_new();
  lo_message_add(m, "sssfsfsf", "s", "superpiano", "note", 7.0f, "delta", 0.5f, "legato", 1.0f);
  const DirtPlayResult r = Translate(m, 0, synths);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.event.kind, DirtEvent::Kind::kSynth);
  EXPECT_EQ(r.event.midi_note, 67);
  EXPECT_FLOAT_EQ(r.event.duration_s, 0.5f);
}

// Fuzz-style: random type tags and values, and random datagrams through liblo's parser, never
// crash and never produce an event that breaks the invariants.
TEST(DirtTranslate, RandomInputNeverBreaksInvariants) {
  std::mt19937 rng(1234);
  const char kTypes[] = "sifdhSTFNc";
  const char* kKeys[] = {"s",    "n",      "gain",    "speed", "pan",  "cut",   "orbit",
                         "note", "legato", "sustain", "begin", "end",  "delta", "room",
                         "size", "delay",  "lpf",     "x",     "_id_", "shape"};
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    lo_message m = lo_message_new();
    if (rng() % 2 == 0) lo_message_add(m, "ss", "s", "bd");
    const int pairs = static_cast<int>(rng() % 12);
    for (int p = 0; p < pairs; ++p) {
      if (rng() % 8 == 0) {
        lo_message_add_int32(m, static_cast<int32_t>(rng()));
      } else {
        lo_message_add_string(m, kKeys[rng() % (sizeof(kKeys) / sizeof(kKeys[0]))]);
      }
      switch (kTypes[rng() % (sizeof(kTypes) - 1)]) {
        case 'i':
          lo_message_add_int32(m, static_cast<int32_t>(rng()));
          break;
        case 'f': {
          uint32_t bits = static_cast<uint32_t>(rng());
          float v;
          std::memcpy(&v, &bits, sizeof(v));
          lo_message_add_float(m, v);
          break;
        }
        case 'd':
          lo_message_add_double(m, (double(rng()) - 2e9) * 1e3);
          break;
        case 'h':
          lo_message_add_int64(m, (int64_t(rng()) << 32) | rng());
          break;
        case 's':
          lo_message_add_string(m, rng() % 2 ? "bd" : "sn:3");
          break;
        case 'T':
          lo_message_add_true(m);
          break;
        case 'N':
          lo_message_add_nil(m);
          break;
        default:
          lo_message_add_char(m, 'x');
          break;
      }
    }
    const DirtPlayResult r = Translate(m);
    if (!r.ok) continue;
    ++accepted;
    const DirtEvent& e = r.event;
    ASSERT_GT(std::strlen(e.s), 0u);
    ASSERT_LE(std::fabs(e.rate), kDirtMaxSpeed);
    ASSERT_GE(std::fabs(e.rate), kDirtMinSpeed * 0.999);
    ASSERT_TRUE(std::isfinite(e.amp) && e.amp >= 0 && e.amp <= 0.4f * 256.0f);
    ASSERT_LT(e.orbit, 12u);
    ASSERT_LE(std::llabs(e.n), 1000001);
    ASSERT_GE(e.pan, 0.0f);
    ASSERT_LE(e.pan, 1.0f);
    ASSERT_LT(e.begin, e.end);
  }
  EXPECT_GT(accepted, 100);
  // Random bytes as datagrams: liblo refuses them or hands over something we translate safely.
  for (int iter = 0; iter < 5000; ++iter) {
    std::vector<uint8_t> bytes(12 + rng() % 120);  // room for the address and its padding
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    const char* path = "/dirt/play";
    std::memcpy(bytes.data(), path, 11);
    bytes[11] = 0;
    int result = 0;
    lo_message m = lo_message_deserialise(bytes.data(), bytes.size(), &result);
    if (m == nullptr) continue;
    Translate(m);
  }
}

// ---------------------------------------------------------------------------------------------
// Sample banks.

void WriteWav(const fs::path& path, const std::vector<float>& frames, int channels, int rate,
              int format = SF_FORMAT_WAV | SF_FORMAT_FLOAT) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  sf_writef_float(f, frames.data(), static_cast<sf_count_t>(frames.size() / channels));
  sf_close(f);
}

class SampleBankTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("chronus_bank_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "bd");
    fs::create_directories(root_ / "hh");
    fs::create_directories(root_ / "bad");
    // bd: three files whose level tells them apart, named out of order.
    WriteWav(root_ / "bd" / "b.wav", std::vector<float>(480, 0.2f), 1, 48000);
    WriteWav(root_ / "bd" / "a.wav", std::vector<float>(480, 0.1f), 1, 48000);
    WriteWav(root_ / "bd" / "c.flac", std::vector<float>(480, 0.25f), 1, 48000,
             SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
    // hh: a 44.1 kHz stereo sine, resampled at load.
    std::vector<float> sine(2 * 4410);
    for (size_t i = 0; i < 4410; ++i) {
      sine[2 * i] = sine[2 * i + 1] =
          0.5f * static_cast<float>(std::sin(2 * M_PI * 1000.0 * double(i) / 44100.0));
    }
    WriteWav(root_ / "hh" / "x.aiff", sine, 2, 44100, SF_FORMAT_AIFF | SF_FORMAT_FLOAT);
    // bad: three channels, garbage, a text file.
    WriteWav(root_ / "bad" / "three.wav", std::vector<float>(300, 0.1f), 3, 48000);
    std::ofstream(root_ / "bad" / "garbage.wav") << "not a wav file at all";
    std::ofstream(root_ / "bd" / "README.txt") << "ignored";
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(SampleBankTest, LoadsSortsResamplesAndReportsSkips) {
  auto bank = LoadSampleBank({root_.string(), 48000.0f, size_t{16} << 20});
  ASSERT_EQ(bank->sound_count(), 2u) << bank->Report();
  const uint32_t bd = SoundNameHash("bd");
  auto level = [&](int64_t n) { return bank->Find("bd", bd, n)->data[100]; };
  EXPECT_FLOAT_EQ(level(0), 0.1f);     // a.wav
  EXPECT_FLOAT_EQ(level(1), 0.2f);     // b.wav
  EXPECT_NEAR(level(2), 0.25f, 1e-4);  // c.flac
  EXPECT_FLOAT_EQ(level(3), 0.1f);     // n modulo 3
  EXPECT_NEAR(level(-1), 0.25f, 1e-4);
  EXPECT_FLOAT_EQ(level(1000000), level(1000000 % 3));
  EXPECT_EQ(bank->Find("sn", SoundNameHash("sn"), 0), nullptr);
  const dsp::SampleView* hh = bank->Find("hh", SoundNameHash("hh"), 0);
  ASSERT_NE(hh, nullptr);
  EXPECT_EQ(hh->channels, 2u);
  EXPECT_NEAR(hh->frames, 4800, 2);  // 0.1 s at 48 kHz
  // Still 1 kHz after resampling: 100 periods in 0.1 s -> count upward zero crossings.
  int crossings = 0;
  for (uint32_t i = 1; i < hh->frames; ++i) {
    if (hh->data[2 * (i - 1)] < 0 && hh->data[2 * i] >= 0) ++crossings;
  }
  EXPECT_NEAR(crossings, 99, 1);
  EXPECT_EQ(hh->data[-1], 0.0f);  // padding
  ASSERT_EQ(bank->skipped().size(), 2u) << bank->Report();
  const std::string report = bank->Report();
  EXPECT_NE(report.find("three.wav: 3 channels"), std::string::npos) << report;
  EXPECT_NE(report.find("garbage.wav: cannot read"), std::string::npos) << report;
}

TEST_F(SampleBankTest, BudgetSkipsWhatDoesNotFit) {
  auto bank = LoadSampleBank({root_.string(), 48000.0f, 4000});  // bytes: two 480-frame files
  EXPECT_EQ(bank->sample_count(), 2u) << bank->Report();
  EXPECT_LE(bank->bytes(), 4000u);
  EXPECT_NE(bank->Report().find("over the sample memory budget"), std::string::npos);
  auto none = LoadSampleBank({(root_ / "missing").string(), 48000.0f, 1 << 20});
  EXPECT_EQ(none->sample_count(), 0u);
  EXPECT_NE(none->Report().find("not a directory"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The sample layer in the engine, offline.

class LayerTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kBlock = 128;
  static constexpr float kMaster = 0.50118723f;  // the default master gain, -6 dB

  void Start(uint32_t workers, uint32_t voices, uint32_t lookahead = 1) {
    SampleLayerConfig lc;
    lc.block_frames = kBlock;
    lc.workers = workers;
    lc.voices = voices;
    lc.lookahead_blocks = lookahead;
    lc.max_delay_s = 0.5f;
    layer_ = std::make_unique<SampleLayer>(lc);
    root_ = fs::temp_directory_path() / ("chronus_layer_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "dc");
    WriteWav(root_ / "dc" / "0.wav", std::vector<float>(4800, 0.5f), 1, 48000);
    WriteWav(root_ / "dc" / "1.wav", std::vector<float>(4800, 0.25f), 1, 48000);
    fs::create_directories(root_ / "click");
    WriteWav(root_ / "click" / "0.wav", std::vector<float>(100, 0.5f), 1, 48000);
    fs::create_directories(root_ / "tone");  // 0.25 s of 220 Hz: where a pause would show
    std::vector<float> tone(12000);
    for (size_t i = 0; i < tone.size(); ++i) {
      tone[i] = 0.5f * std::sin(2.0f * std::numbers::pi_v<float> * 220.0f * float(i) / 48000.0f);
    }
    WriteWav(root_ / "tone" / "0.wav", tone, 1, 48000);
    layer_->SetInitialBankNonRt(LoadSampleBank({root_.string(), 48000.0f, 1 << 20}));
    EngineConfig ec;
    ec.block_frames = kBlock;
    ec.workers = workers;
    ec.voices = 4;
    ec.lookahead_blocks = lookahead;
    ec.sample_layer = layer_.get();
    engine_ = std::make_unique<AudioEngine>(ec, queue_);
    engine_->Start();
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
    fs::remove_all(root_);
  }
  // Renders `periods` periods, each once every worker has delivered its block; appends stereo.
  void Render(int periods) {
    std::vector<int32_t> out(2 * kBlock);
    for (int p = 0; p < periods; ++p) {
      const uint64_t target = engine_->periods() + 1;
      for (const auto* worker : engine_->workers()) {
        while (worker->blocks_rendered() < target) std::this_thread::yield();
      }
      engine_->RenderPeriodRt(out.data());
      for (uint32_t i = 0; i < kBlock; ++i) {
        left_.push_back(float(out[2 * i]) / 2147483648.0f);
        right_.push_back(float(out[2 * i + 1]) / 2147483648.0f);
      }
    }
  }
  DirtEvent Event(uint64_t frame, int64_t n = 0, float pan = 0.0f, const char* s = "dc") {
    DirtEvent e;
    std::strcpy(e.s, s);
    e.s_hash = SoundNameHash(s);
    e.frame = frame;
    e.n = n;
    e.pan = pan;
    e.release_s = 0.0f;
    return e;
  }
  static int64_t Onset(const std::vector<float>& x, int64_t from) {
    for (size_t i = static_cast<size_t>(from); i < x.size(); ++i) {
      if (std::fabs(x[i]) > 1e-4f) return static_cast<int64_t>(i);
    }
    return -1;
  }

  ControlQueue queue_;
  std::unique_ptr<SampleLayer> layer_;
  std::unique_ptr<AudioEngine> engine_;
  fs::path root_;
  std::vector<float> left_, right_;
};

TEST_F(LayerTest, EventsStartAtTheirFrameOnEveryWorker) {
  Start(2, 8);
  Render(2);
  const uint64_t frames[] = {1000, 1101, 1202, 2000 + 127, 5555};
  for (uint64_t f : frames) layer_->PushEventNonRt(Event(f, 0, 0.0f, "click"));
  Render(60);
  for (uint64_t f : frames) {
    EXPECT_EQ(Onset(left_, static_cast<int64_t>(f) - 1), static_cast<int64_t>(f));
    EXPECT_NEAR(left_[f + 50], std::tanh(0.4f * 0.5f * kMaster), 1e-4);  // pan 0: gain 0.4
    EXPECT_EQ(left_[f + 100], 0.0f);                                     // 100 frames long
  }
  EXPECT_EQ(Onset(right_, 0), -1);  // pan 0: nothing on the right
  layer_->PushEventNonRt(Event(9000, 0, 0.0f, "click"));
  layer_->PushEventNonRt(Event(9000, 0, 0.0f, "click"));  // two at once, on both workers
  Render(10);
  EXPECT_NEAR(left_[9050], std::tanh(2 * 0.4f * 0.5f * kMaster), 1e-4);
  EXPECT_EQ(layer_->events_played(), 7u);
  EXPECT_EQ(layer_->late_events(), 0u);
  EXPECT_EQ(engine_->late_blocks(), 0u);
}

TEST_F(LayerTest, NSelectsPanCutAndStealing) {
  Start(2, 2);  // one voice per worker
  Render(2);
  layer_->PushEventNonRt(Event(1000, 1, 1.0f));  // the 0.25 file, hard right
  Render(50);
  EXPECT_EQ(Onset(left_, 0), -1);
  EXPECT_NEAR(right_[1100], std::tanh(0.4f * 0.25f * kMaster), 1e-4);
  // Cut group: the second event cuts the first wherever it plays.
  DirtEvent a = Event(8000, 0, 1.0f);
  a.cut = 1;
  DirtEvent b = Event(8200, 1, 1.0f);
  b.cut = 1;
  layer_->PushEventNonRt(a);
  layer_->PushEventNonRt(b);
  Render(20);
  EXPECT_NEAR(right_[8100], std::tanh(0.4f * 0.5f * kMaster), 1e-4);
  EXPECT_NEAR(right_[8200 + 200], std::tanh(0.4f * 0.25f * kMaster), 1e-4);  // only b now
  EXPECT_EQ(layer_->voices_stolen(), 0u);
  // Three at once on two voices: the oldest is stolen, and counted.
  Render(40);
  for (int i = 0; i < 3; ++i) layer_->PushEventNonRt(Event(20000 + 10 * i, 0, 1.0f));
  test::StartCountingRtAllocations();
  Render(60);
  EXPECT_EQ(test::StopCountingRtAllocations(), 0u);
  EXPECT_EQ(layer_->voices_stolen(), 1u);
}

TEST(SampleLayerWorkers, AStalledWorkerBackBesideItsReplacementNeverRendersTheSameState) {
  // A stalled worker thread that comes back while its replacement runs calls RenderWorkerRt for
  // the same worker index at the same time: one of them renders, the other is turned away and
  // counted. Under TSan, two renders of one worker state at once would be reported.
  SampleLayerConfig lc;
  lc.block_frames = 128;
  lc.workers = 1;
  lc.voices = 4;
  lc.lookahead_blocks = 2;
  SampleLayer layer(lc);
  constexpr int kCalls = 20000;
  std::atomic<int> rendered{0};
  std::atomic<bool> go{false};
  auto worker = [&](uint32_t slot) {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < kCalls; ++i) {
      if (layer.RenderWorkerRt(0, slot, uint64_t{128} * static_cast<uint64_t>(i), 128)) {
        rendered.fetch_add(1);
      }
    }
  };
  std::thread old_thread(worker, 0u);
  std::thread replacement(worker, 1u);
  go.store(true);
  old_thread.join();
  replacement.join();
  // Each block frame is rendered at most once; the other call was turned away (the state was
  // taken) or found the frame rendered already.
  EXPECT_EQ(
      static_cast<uint64_t>(rendered.load()) + layer.render_collisions() + layer.stale_blocks(),
      2u * kCalls);
  EXPECT_GT(rendered.load(), 0);
  EXPECT_LE(rendered.load(), kCalls);
}

// The standby path covers sample voices too. Both worker threads stall for 60 ms while two
// sample voices play (one on each worker): the audio thread renders their sample voices itself,
// from the same state, in the same periods; the threads come back, find those blocks covered and
// leave the state alone; after the hand-back they render the voices again. The output equals a
// run without the stall sample for sample. (Before: the voices paused while their worker was on
// standby, and went on late afterwards.)
TEST_F(LayerTest, StalledWorkersSampleVoicesPlayOnThroughTheStandbyPath) {
  auto run = [&](bool stall) {
    left_.clear();
    right_.clear();
    Start(2, 8);
    Render(2);
    layer_->PushEventNonRt(Event(1000, 0, 0.0f, "tone"));  // hard left
    layer_->PushEventNonRt(Event(1000, 0, 1.0f, "tone"));  // hard right, on the other worker
    Render(20);
    std::vector<int32_t> out(2 * kBlock);
    // Renders periods without waiting for the workers, or (`wait`) each once every worker has
    // rendered the block it was handed in the period before (the first: at once).
    auto render_periods = [&](int periods, bool wait) {
      std::vector<uint64_t> seen;
      for (const DspWorker* worker : engine_->workers()) seen.push_back(worker->blocks_rendered());
      for (int p = 0; p < periods; ++p) {
        for (size_t w = 0; wait && p > 0 && w < seen.size(); ++w) {
          while (engine_->workers()[w]->blocks_rendered() <= seen[w]) std::this_thread::yield();
          seen[w] = engine_->workers()[w]->blocks_rendered();
        }
        engine_->RenderPeriodRt(out.data());
        for (uint32_t i = 0; i < kBlock; ++i) {
          left_.push_back(float(out[2 * i]) / 2147483648.0f);
          right_.push_back(float(out[2 * i + 1]) / 2147483648.0f);
        }
      }
    };
    if (stall) {
      FaultSpec fault;
      fault.type = FaultType::kStall;
      fault.stall_ms = 60;
      for (DspWorker* worker : engine_->workers()) {  // idle, its next block rendered: the
        while (worker->blocks_rendered() < engine_->periods() + 1) std::this_thread::yield();
        worker->InjectFaultNonRt(fault);  // fault hits the block handed back next
      }
      Render(1);                  // hands each worker the block it stalls on
      render_periods(10, false);  // 10 periods in far less than 60 ms: both on standby
      std::this_thread::sleep_for(std::chrono::milliseconds(150));  // both threads are back
      for (size_t w = 0; w < 2; ++w) engine_->share(w).RequestHandBackNonRt();
      render_periods(30, true);  // hand-back at the first boundary; then the workers again
    } else {
      Render(41);
    }
    engine_->Stop();
  };
  run(false);
  const std::vector<float> left_ref = left_, right_ref = right_;
  engine_.reset();
  layer_.reset();
  run(true);
  ASSERT_EQ(left_.size(), left_ref.size());
  float worst = 0.0f;
  for (size_t i = 0; i < left_.size(); ++i) {
    worst =
        std::max({worst, std::fabs(left_[i] - left_ref[i]), std::fabs(right_[i] - right_ref[i])});
  }
  std::printf(
      "[ measure  ] standby blocks %llu, misses %llu, stale worker blocks %llu, "
      "collisions %llu, max |difference| %.3g over %zu frames\n",
      (unsigned long long)layer_->standby_blocks(), (unsigned long long)layer_->standby_misses(),
      (unsigned long long)layer_->stale_blocks(), (unsigned long long)layer_->render_collisions(),
      double(worst), left_.size());
  EXPECT_EQ(worst, 0.0f);
  EXPECT_GE(Onset(left_, 0), 1000);
  double energy = 0;  // the tone sounds through the standby periods (frames 2816 .. 4096)
  for (size_t i = 2816; i < 4096; ++i) energy += double(left_[i]) * left_[i];
  EXPECT_GT(std::sqrt(energy / 1280), 0.05);
  EXPECT_GE(layer_->standby_blocks(), 20u);  // 10 periods x 2 workers, at least
  EXPECT_EQ(layer_->standby_misses(), 0u);
  // Each thread's block stalled on was found covered (or, on a loaded machine, the audio thread
  // was rendering that state at the moment the thread came back).
  EXPECT_GE(layer_->stale_blocks() + layer_->render_collisions(), 2u);
  EXPECT_EQ(engine_->share(0).handbacks(), 1u);
  EXPECT_EQ(engine_->share(1).handbacks(), 1u);
  EXPECT_EQ(layer_->late_events(), 0u);
}

TEST_F(LayerTest, BankSwapAtABlockBoundaryRetiresTheOldBank) {
  Start(2, 8);
  Render(2);
  layer_->PushEventNonRt(Event(500, 0, 0.0f));
  Render(8);
  fs::create_directories(root_ / "other");
  WriteWav(root_ / "other" / "x.wav", std::vector<float>(480, 0.3f), 1, 48000);
  const SampleBank* old = layer_->current_bank();
  auto next = LoadSampleBank({root_.string(), 48000.0f, 1 << 20});
  ASSERT_TRUE(layer_->OfferBankNonRt(next));
  EXPECT_EQ(next, nullptr);
  Render(10);
  EXPECT_NE(layer_->current_bank(), old);
  EXPECT_EQ(layer_->current_bank()->sound_count(), 4u);  // dc, click, tone, other
  auto retired = layer_->TakeRetiredBankNonRt();
  EXPECT_EQ(retired.get(), old);
  EXPECT_EQ(layer_->bank_swaps(), 1u);
  const int64_t quiet_from = static_cast<int64_t>(left_.size());
  Render(2);
  EXPECT_EQ(Onset(left_, quiet_from), -1);  // the old voice was cut
}

}  // namespace
}  // namespace chronus::firmware
