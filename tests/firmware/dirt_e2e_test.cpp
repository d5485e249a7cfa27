// End-to-end: the `chronus` executable on the paced virtual card, driven like TidalCycles drives
// SuperDirt: /dirt/play in bundles with future timetags, built with liblo. Each onset is checked
// in the captured WAV against its timetag (through the capture's .t0 sidecar).
// The 16-layer pattern for 60 s runs only with CHRONUS_LONG_TESTS=1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sndfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <optional>
#include <thread>

#include "tests/support/audio_analysis.h"
#include "tests/support/firmware_process.h"
#include "tests/support/sanitizer.h"
#include "tests/support/timetag.h"

namespace chronus::test {
namespace {

namespace fs = std::filesystem;

constexpr double kRate = 48000.0;
constexpr double kMaster = 0.50118723;  // default master gain, -6 dB

void SleepSeconds(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// The NTP timetag of CLOCK_MONOTONIC time `mono_s`.
lo_timetag TimetagAtMonotonic(double mono_s) {
  const int64_t offset = ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_MONOTONIC);
  return TimetagAtRealtimeNs(static_cast<int64_t>(mono_s * 1e9) + offset);
}

void WriteMono(const fs::path& path, const std::vector<float>& x) {
  SF_INFO info{};
  info.samplerate = 48000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr);
  sf_writef_float(f, x.data(), static_cast<sf_count_t>(x.size()));
  sf_close(f);
}

std::vector<float> Sine(double hz, double seconds, float amp) {
  std::vector<float> x(static_cast<size_t>(seconds * kRate));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = amp * static_cast<float>(std::sin(2 * std::numbers::pi * hz * double(i) / kRate));
  }
  return x;
}

class DirtE2E : public ::testing::Test {
 protected:
  void StartFirmware(int period, int periods) {
    dir_ = fs::temp_directory_path() /
           ("chronus-dirt-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "samples" / "click");
    fs::create_directories(dir_ / "samples" / "tone");
    // click:0 and click:1 differ in level; a 200-frame DC burst has a sharp onset.
    WriteMono(dir_ / "samples" / "click" / "a.wav", std::vector<float>(200, 0.5f));
    WriteMono(dir_ / "samples" / "click" / "b.wav", std::vector<float>(200, 0.25f));
    WriteMono(dir_ / "samples" / "tone" / "a.wav", Sine(440.0, 0.5, 0.5f));
    for (int i = 0; i < 16; ++i) {  // the 16-layer workload's samples: 0.04 .. 0.5 s
      const fs::path d = dir_ / "samples" / ("l" + std::to_string(i));
      fs::create_directories(d);
      std::vector<float> x = Sine(100.0 + 50.0 * i, 0.04 + 0.46 * i / 15.0, 0.3f);
      for (size_t k = 0; k < x.size(); ++k) x[k] *= std::exp(-8.0f * float(k) / float(x.size()));
      WriteMono(d / "a.wav", x);
    }
    port_ = FreeUdpPort();
    dirt_port_ = FreeUdpPort();
    capture_ = (dir_ / "capture.wav").string();
    ASSERT_TRUE(process_.Start(
        CHRONUS_BIN,
        {"--board", "dev-virtual", "--period", std::to_string(period), "--periods",
         std::to_string(periods), "--capture", capture_, "--recordings", (dir_ / "rec").string(),
         "--state", (dir_ / "state").string(), "--osc-port", std::to_string(port_), "--dirt-port",
         std::to_string(dirt_port_), "--samples", (dir_ / "samples").string()},
        (dir_ / "firmware.log").string()));
    client_ = std::make_unique<OscClient>(port_);
    bool ready = false;
    for (int i = 0; i < 100 && !ready; ++i) ready = client_->Status(100).has_value();
    ASSERT_TRUE(ready) << Log();
    if (dirt_ != nullptr) lo_address_free(dirt_);
    dirt_ = lo_address_new("127.0.0.1", std::to_string(dirt_port_).c_str());
    SleepSeconds(2.0);  // the clock's first windows
    const auto warm = client_->Status(500);
    ASSERT_TRUE(warm.has_value());
    start_xruns_ = warm->at("xruns");
    start_late_ = warm->at("late_blocks");
  }

  void TearDown() override {
    if (dirt_ != nullptr) lo_address_free(dirt_);
    if (process_.pid() > 0) process_.Stop(SIGKILL, 5.0);
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string Log() {
    std::ifstream in(dir_ / "firmware.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Sends one /dirt/play bundle, as Tidal does, to be played at CLOCK_MONOTONIC `at_s`.
  void Play(double at_s, lo_message args) {
    lo_bundle bundle = lo_bundle_new(TimetagAtMonotonic(at_s));
    lo_bundle_add_message(bundle, "/dirt/play", args);
    lo_send_bundle(dirt_, bundle);
    lo_bundle_free_recursive(bundle);
  }
  lo_message Event(const char* s, float n, float pan, float gain = 1.0f) {
    lo_message m = lo_message_new();
    lo_message_add(m, "sssfsfsfsssfsfsf", "_id_", "1", "cps", 0.5625f, "cycle", 1.0f, "delta", 0.2f,
                   "s", s, "n", n, "pan", pan, "gain", gain);
    return m;
  }

  WavData StopAndReadCapture(double* t0) {
    EXPECT_EQ(process_.Stop(SIGTERM, 10.0), 0) << Log();
    std::ifstream in(capture_ + ".t0");
    int64_t ns = 0;
    in >> ns;
    *t0 = static_cast<double>(ns) * 1e-9;
    EXPECT_GT(ns, 0);
    return ReadWav(capture_);
  }
  static float Channel(const WavData& w, int64_t frame, int c) {
    return static_cast<float>(w.interleaved[static_cast<size_t>(frame) * 2 + c]) / 2147483648.0f;
  }
  static int64_t OnsetIn(const WavData& w, int c, int64_t from, int64_t to) {
    for (int64_t f = std::max<int64_t>(0, from); f < std::min(to, w.frames); ++f) {
      if (std::fabs(Channel(w, f, c)) > 1e-4f) return f;
    }
    return -1;
  }

  fs::path dir_;
  int port_ = 0;
  int dirt_port_ = 0;
  std::string capture_;
  FirmwareProcess process_;
  std::unique_ptr<OscClient> client_;
  lo_address dirt_ = nullptr;
  double start_xruns_ = 0;  // at the end of the warm-up
  double start_late_ = 0;
};

TEST_F(DirtE2E, OnsetsLandOnTheirTimetagsAndParametersSoundAsSuperDirt) {
  if (kSanitized) {
    // ±1 frame of the timetag needs the engine clock's estimate of when each period is heard,
    // which the sanitizer's slowdown of the audio thread blurs; the dev build runs it.
    GTEST_SKIP() << "sample-accurate timing against the wall clock; not under a sanitizer";
  }
  struct Sent {
    double at;
    int n;
    float pan;
    float gain;
  };
  std::vector<Sent> sent;
  double t_speed = 0;
  double t_cut = 0;
  std::optional<std::map<std::string, double>> status;
  // An xrun moves the device's frame grid; the clock follows it within a second, but events
  // around it cannot be placed to the frame: such a run says nothing about accuracy. Likewise a
  // late worker block: that worker's sample voices pause for the period. Up to 3 runs.
  for (int attempt = 0;; ++attempt) {
    StartFirmware(256, 3);
    const double base = MonotonicSeconds() + 0.3;
    sent.clear();
    for (int k = 0; k < 10; ++k) {  // spread over the block grid, alternately n 0 / 1
      const Sent s{base + 0.0731 * k, k % 2, k < 8 ? 0.0f : 1.0f, k == 9 ? 0.5f : 1.0f};
      Play(s.at, Event("click", float(s.n), s.pan, s.gain));
      sent.push_back(s);
    }
    // speed 2 on the tone: half the duration, twice the pitch.
    t_speed = base + 1.0;
    {
      lo_message m = lo_message_new();
      lo_message_add(m, "sssfsf", "s", "tone", "speed", 2.0f, "pan", 0.0f);
      Play(t_speed, m);
    }
    // cut 1: the tone is cut by the click of the same group 0.1 s later.
    t_cut = base + 1.6;
    {
      lo_message a = lo_message_new();
      lo_message_add(a, "sssisf", "s", "tone", "cut", 1, "pan", 1.0f);
      Play(t_cut, a);
      lo_message b = lo_message_new();
      lo_message_add(b, "sssisfsf", "s", "click", "cut", 1, "pan", 0.0f, "n", 0.0f);
      Play(t_cut + 0.1, b);
    }
    SleepSeconds(2.6);
    status = client_->Status(500);
    ASSERT_TRUE(status.has_value());
    const double xruns = status->at("xruns") - start_xruns_;
    const double late = status->at("late_blocks") - start_late_;
    std::printf("[ measure  ] start-up: %g xruns, %g late blocks; during the test: %g, %g\n",
                start_xruns_, start_late_, xruns, late);
    if (xruns == 0 && late == 0) break;
    if (attempt == 2) {
      GTEST_SKIP() << xruns << " xruns, " << late
                   << " late blocks (host load) in 3 runs: timing not measurable; rerun";
    }
    process_.Stop(SIGKILL, 5.0);
  }
  EXPECT_EQ(status->at("dirt_events"), 13);
  EXPECT_EQ(status->at("dirt_played"), 13)
      << "dropped " << status->at("dirt_dropped_events") << ", late "
      << status->at("dirt_late_events") << ", unknown sounds " << status->at("dirt_unknown_sounds")
      << ", sample voices " << status->at("sample_voices") << ", workers on standby "
      << status->at("workers_on_standby") << ", periods " << status->at("periods_played");
  EXPECT_EQ(status->at("dirt_late_events"), 0);
  EXPECT_EQ(status->at("dirt_bad_messages"), 0);
  double t0 = 0;
  const WavData w = StopAndReadCapture(&t0);
  ASSERT_TRUE(w.ok) << w.error;
  for (const Sent& s : sent) {
    const auto expected = static_cast<int64_t>(std::llround((s.at - t0) * kRate));
    const int c = s.pan == 0.0f ? 0 : 1;
    const int64_t onset = OnsetIn(w, c, expected - 2000, expected + 2000);
    EXPECT_NEAR(double(onset), double(expected), 1.0) << "event at " << s.at - sent[0].at;
    if (onset < 0) continue;
    const float level = Channel(w, onset + 100, c);
    const float file = s.n == 0 ? 0.5f : 0.25f;
    const float want = std::tanh(float(0.4 * std::pow(s.gain, 4) * file * kMaster));
    EXPECT_NEAR(level, want, 2e-4) << "n " << s.n << " gain " << s.gain;
    EXPECT_EQ(Channel(w, onset + 100, 1 - c), 0.0f) << "pan " << s.pan;
  }
  // speed 2: 0.25 s at 880 Hz.
  const auto speed_at = static_cast<int64_t>(std::llround((t_speed - t0) * kRate));
  const int64_t speed_on = OnsetIn(w, 0, speed_at - 10, speed_at + 10);
  ASSERT_GE(speed_on, 0);
  int64_t last = speed_on;
  for (int64_t f = speed_on; f < speed_on + 20000; ++f) {
    if (std::fabs(Channel(w, f, 0)) > 1e-4f) last = f;
  }
  EXPECT_NEAR(double(last - speed_on), 12000.0, 30.0);
  EXPECT_NEAR(PeakFrequency(w.mono, speed_on + 1000, 9600, kRate, 300, 2000), 880.0, 1.0);
  // cut: the tone (right) stops within the cut fade after the click's onset (left).
  const auto cut_at = static_cast<int64_t>(std::llround((t_cut + 0.1 - t0) * kRate));
  const int64_t click_on = OnsetIn(w, 0, cut_at - 10, cut_at + 10);
  ASSERT_GE(click_on, 0);
  EXPECT_GT(std::fabs(Channel(w, click_on - 200, 1)) + std::fabs(Channel(w, click_on - 210, 1)),
            1e-3f);
  for (int64_t f = click_on + 96; f < click_on + 4800; ++f) {
    ASSERT_EQ(Channel(w, f, 1), 0.0f)
        << "tone still sounding " << f - click_on << " frames after the cut";
  }
}

TEST_F(DirtE2E, HandshakeIsAnsweredAndHostileInputIsRefusedOrClamped) {
  StartFirmware(256, 3);
  // Handshake from our own liblo server, as Tidal sends it from its port.
  lo_server server = lo_server_new(nullptr, nullptr);
  ASSERT_NE(server, nullptr);
  int replies = 0;
  std::string first;
  std::pair<int*, std::string*> reply_target(&replies, &first);
  lo_server_add_method(
      server, "/dirt/handshake/reply", nullptr,
      [](const char*, const char* types, lo_arg** argv, int argc, lo_message, void* user) -> int {
        auto* out = static_cast<std::pair<int*, std::string*>*>(user);
        ++*out->first;
        if (argc > 0 && types[0] == 's') *out->second = reinterpret_cast<const char*>(argv[0]);
        return 0;
      },
      &reply_target);
  lo_message hs = lo_message_new();
  lo_send_message_from(dirt_, server, "/dirt/handshake", hs);
  lo_message_free(hs);
  for (int i = 0; i < 20 && replies == 0; ++i) lo_server_recv_noblock(server, 100);
  EXPECT_EQ(replies, 1);
  EXPECT_EQ(first, "&serverHostname");
  lo_server_free(server);

  auto send = [&](const char* types, auto... args) {
    lo_message m = lo_message_new();
    lo_message_add(m, types, args...);
    lo_send_message(dirt_, "/dirt/play", m);
    lo_message_free(m);
  };
  send("sf", "n", 1.0f);                        // missing s: refused
  send("ssss", "s", "click", "gain", "loud");   // wrong type: refused
  send("ssif", "s", "click", 3, 1.0f);          // key not a string: refused
  send("sssf", "s", "click", "n", 1e9f);        // huge n: clamped, plays
  send("sssf", "s", "click", "speed", 1e6f);    // absurd speed: clamped, plays
  send("sssf", "s", "nosuchsound", "x", 1.0f);  // unknown key counted; unknown sound counted
  lo_send(dirt_, "/dirt/nonsense", "i", 1);     // unknown address: refused
  const int raw = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(dirt_port_));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const char garbage[] = "/dirt/play\0\0,sss\0\0\0\0s\xff";
  sendto(raw, garbage, sizeof(garbage), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  close(raw);
  SleepSeconds(0.5);
  // The box keeps playing: a valid event after all that is played.
  Play(MonotonicSeconds() + 0.2, Event("click", 0, 0.0f));
  SleepSeconds(0.6);
  const auto status = client_->Status(500);
  ASSERT_TRUE(status.has_value());
  EXPECT_GE(status->at("dirt_bad_messages"), 5);
  EXPECT_EQ(status->at("dirt_clamped"), 2);
  EXPECT_EQ(status->at("dirt_unknown_keys"), 1);
  EXPECT_EQ(status->at("dirt_unknown_sounds"), 1);
  EXPECT_EQ(status->at("dirt_played"), 3);
  EXPECT_EQ(status->at("dirt_handshakes"), 1);
  std::printf("xruns %g, late blocks %g during the hostile input (measurements)\n",
              status->at("xruns"), status->at("late_blocks"));
}

// The W3 workload (16 layers, each retriggered every 62.5 ms with its own sample and pan) for
// 60 s at 128 x 3: no late block, no stolen voice at the default pool size.
TEST_F(DirtE2E, SixteenLayerPatternFor60Seconds) {
  if (std::getenv("CHRONUS_LONG_TESTS") == nullptr) GTEST_SKIP() << "set CHRONUS_LONG_TESTS=1";
  StartFirmware(128, 3);
  const double start = MonotonicSeconds() + 0.25;
  const double step = 0.0625;
  for (int tick = 0; tick < int(60.0 / step); ++tick) {
    const double at = start + tick * step;
    while (MonotonicSeconds() < at - 0.2) SleepSeconds(0.005);  // sent ~0.2 s ahead, as Tidal
    for (int layer = 0; layer < 16; ++layer) {
      lo_message m = lo_message_new();
      const std::string s = "l" + std::to_string(layer);
      lo_message_add(m, "sssfsfsf", "s", s.c_str(), "pan", float(layer % 9) / 8.0f, "attack",
                     0.001f, "release", 0.005f);
      Play(at, m);
    }
  }
  SleepSeconds(1.0);
  const auto status = client_->Status(500);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->at("dirt_played"), 16 * int(60.0 / step));
  EXPECT_EQ(status->at("late_blocks") - start_late_, 0);
  EXPECT_EQ(status->at("sample_voices_stolen"), 0);
  EXPECT_EQ(status->at("dirt_late_events"), 0);
  RecordProperty("xruns", std::to_string(status->at("xruns")));
  std::printf("16-layer 60 s at 128x3: xruns %g, late blocks %g, steals %g, worst block %g us\n",
              status->at("xruns"), status->at("late_blocks"), status->at("sample_voices_stolen"),
              status->at("worst_block_us"));
}

}  // namespace
}  // namespace chronus::test
