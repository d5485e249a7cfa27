// End to end on the virtual card: timetagged OSC bundles land on their sample in the captured
// audio; late bundles are applied at once and counted; subscribers see other clients' changes;
// a sender outside the board's allow-list is refused.
#include <gtest/gtest.h>
#include <lo/lo.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/audio_analysis.h"
#include "tests/support/firmware_process.h"
#include "tests/support/sanitizer.h"
#include "tests/support/timetag.h"

namespace chronus::test {
namespace {

namespace fs = std::filesystem;

// Under TSan the firmware runs several times slower, and at 256 x 3 CI's TSan stage once had
// 1-4 xruns in each of 6 attempts: 1024 x 3 (64 ms of buffer) there.
constexpr int kPeriod = test::kSanitized ? 1024 : 256;
constexpr double kRate = 48000.0;

void SleepSeconds(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

class OscTiming : public ::testing::Test {
 protected:
  void Start(const std::string& board = "dev-virtual") {
    dir_ = fs::temp_directory_path() /
           ("chronus-ot-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    port_ = FreeUdpPort();
    capture_ = (dir_ / "capture.wav").string();
    ASSERT_TRUE(
        process_.Start(CHRONUS_BIN,
                       {"--board", board, "--period", std::to_string(kPeriod), "--periods", "3",
                        "--capture", capture_, "--recordings", (dir_ / "rec").string(), "--state",
                        (dir_ / "state").string(), "--osc-port", std::to_string(port_)},
                       (dir_ / "firmware.log").string()));
    client_ = std::make_unique<OscClient>(port_);
  }
  bool WaitReady() {
    bool ready = false;
    for (int i = 0; i < 100 && !ready; ++i) ready = client_->Status(100).has_value();
    return ready;
  }

  void TearDown() override {
    if (process_.pid() > 0) process_.Stop(SIGKILL, 5.0);
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string Log() {
    std::ifstream in(dir_ / "firmware.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  void Param(const char* name, float value) {
    lo_send(client_->address(), (std::string("/param/") + name).c_str(), "f", value);
  }

  // A bundle at CLOCK_REALTIME `ns` holding /note/on `note` 0.8 (with midi_: /midi/note/on on
  // MIDI channel 1, which the default sound patch plays on the synth voices as it does /note/*).
  void NoteBundle(int64_t ns, const char* path, int note) {
    lo_bundle bundle = lo_bundle_new(TimetagAtRealtimeNs(ns));
    lo_message m = lo_message_new();
    if (midi_) lo_message_add_int32(m, 1);
    lo_message_add_int32(m, note);
    if (std::string(path) == "/note/on") lo_message_add_float(m, 0.8f);
    lo_bundle_add_message(bundle, midi_ ? (std::string("/midi") + path).c_str() : path, m);
    lo_send_bundle_from(client_->address(), client_->server(), bundle);
    lo_bundle_free_recursive(bundle);
  }

  void TenMsApart();  // BundlesTenMsApartLand480FramesApartAtTheirTime, /note/* or /midi/note/*

  bool midi_ = false;
  fs::path dir_;
  int port_ = 0;
  std::string capture_;
  FirmwareProcess process_;
  std::unique_ptr<OscClient> client_;
};

// First non-zero sample at or after `from` that follows at least `quiet` zero samples.
int64_t OnsetAfterSilence(const std::vector<int32_t>& interleaved, int channels, int64_t from,
                          int quiet) {
  const int64_t frames = static_cast<int64_t>(interleaved.size()) / channels;
  int run = 0;
  for (int64_t f = std::max<int64_t>(from, 0); f < frames; ++f) {
    if (interleaved[f * channels] == 0) {
      ++run;
    } else if (run >= quiet) {
      return f;
    } else {
      run = 0;
    }
  }
  return -1;
}

void OscTiming::TenMsApart() {
  constexpr int kPairs = 5;
  constexpr int kCleanPairsNeeded = 3;
  std::vector<int64_t> gaps, errors_us;
  std::vector<bool> clean;
  int clean_pairs = 0;
  // An xrun (this VM's scheduling gaps: 5-8 a minute in a noisy hour here, 1-2 in some 2.5 s
  // runs) shifts the capture's timeline against the engine's frames: the pair played next lands
  // one gap late (17-27 ms measured), and the pairs after it are on time again. /status is read
  // before each pair is sent, so that a pair counts only when no xrun came from the one before it
  // was sent until after it played; an attempt with fewer than 3 such pairs of 5 is run again,
  // up to 6 attempts of ~3 s.
  for (int attempt = 0; attempt < 6; ++attempt) {
    Start();
    ASSERT_TRUE(WaitReady()) << Log();
    Param("attack", 0.0005f);
    Param("decay", 0.01f);
    Param("release", 0.001f);
    SleepSeconds(0.5);  // the clock mapping settles (its minimum filter)
    std::vector<int64_t> first_mono_ns;
    std::vector<double> xruns_at;  // before pair 0, 1, ..., then at the end
    for (int i = 0; i < kPairs; ++i) {
      auto before = client_->Status(2000);
      ASSERT_TRUE(before);
      xruns_at.push_back((*before)["xruns"]);
      // 300 ms ahead (Tidal sends ~200-300 ms ahead), pairs 200 ms apart.
      const int64_t offset = ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_MONOTONIC);
      const int64_t t = ClockNs(CLOCK_REALTIME) + 300'000'000;
      NoteBundle(t, "/note/on", 60);
      NoteBundle(t + 3'000'000, "/note/off", 60);  // silent again 1 ms after the release starts
      NoteBundle(t + 10'000'000, "/note/on", 60);
      NoteBundle(t + 13'000'000, "/note/off", 60);
      first_mono_ns.push_back(t - offset);
      SleepSeconds(0.2);
    }
    SleepSeconds(0.5);
    auto status = client_->Status(2000);
    ASSERT_TRUE(status);
    xruns_at.push_back((*status)["xruns"]);
    EXPECT_EQ((*status)["timed_commands"], 4 * kPairs);
    EXPECT_EQ((*status)["late_events"], 0) << "bundles sent 300 ms ahead were late";
    ASSERT_EQ(process_.Stop(SIGTERM, 10.0), 0) << Log();
    std::ifstream t0_in(capture_ + ".t0");
    int64_t t0_ns = 0;
    t0_in >> t0_ns;
    ASSERT_GT(t0_ns, 0);
    const WavData wav = ReadWav(capture_);
    ASSERT_TRUE(wav.ok) << wav.error;
    gaps.clear();
    errors_us.clear();
    clean.clear();
    clean_pairs = 0;
    int64_t from = 0;
    for (int i = 0; i < kPairs; ++i) {
      const int64_t first = OnsetAfterSilence(wav.interleaved, wav.channels, from, 1000);
      ASSERT_GT(first, 0) << "pair " << i << ": no onset";
      const int64_t second = OnsetAfterSilence(wav.interleaved, wav.channels, first + 1, 100);
      ASSERT_GT(second, first) << "pair " << i;
      gaps.push_back(second - first);
      // Capture frame f was heard at t0 + f / rate (CLOCK_MONOTONIC).
      const double expected = static_cast<double>(first_mono_ns[i] - t0_ns) * kRate / 1e9;
      errors_us.push_back(std::llround((static_cast<double>(first) - expected) / kRate * 1e6));
      from = second + 1;
      // Pair i is sent at xruns_at[i] and plays 300 ms later, before pair i + 2 is sent.
      const double xruns_near = xruns_at[static_cast<size_t>(std::min(i + 2, kPairs))] -
                                xruns_at[static_cast<size_t>(std::max(i - 1, 0))];
      clean.push_back(xruns_near == 0);
      clean_pairs += xruns_near == 0 ? 1 : 0;
    }
    if (clean_pairs >= kCleanPairsNeeded) break;
    std::printf("[ measure  ] %.0f xruns from the VM, %d of %d pairs clear of them, run again\n",
                xruns_at.back() - xruns_at.front(), clean_pairs, kPairs);
    fs::remove_all(dir_);
  }
  ASSERT_GE(clean_pairs, kCleanPairsNeeded)
      << "the VM caused xruns near most pairs in every attempt";
  for (int i = 0; i < kPairs; ++i) {
    std::printf(
        "[ measure  ] pair %d: onsets %lld frames apart (timetags 480 apart), first onset "
        "%+lld us from its timetag%s\n",
        i, static_cast<long long>(gaps[i]), static_cast<long long>(errors_us[i]),
        clean[i] ? "" : " (an xrun near it: not judged)");
    if (!clean[i]) continue;
    EXPECT_NEAR(static_cast<double>(gaps[i]), 480.0, 1.0);
    // Stated tolerance: 1 ms (48 frames) between a timetag and the sound in the capture. The
    // mapping is estimated from the device position each period; only VM preemption between
    // reading the position and the clock makes it late, and the minimum filter removes that.
    EXPECT_LE(std::abs(errors_us[i]), 1000);
  }
}

TEST_F(OscTiming, BundlesTenMsApartLand480FramesApartAtTheirTime) { TenMsApart(); }

// The same with /midi/note/on and /midi/note/off (the sound layers' addresses) on channel 1.
TEST_F(OscTiming, MidiNoteBundlesTenMsApartLand480FramesApartAtTheirTime) {
  midi_ = true;
  TenMsApart();
}

TEST_F(OscTiming, LateBundleAppliesAtOnceAndIsCountedImmediateIsNot) {
  Start();
  ASSERT_TRUE(WaitReady()) << Log();
  SleepSeconds(0.3);
  auto before = client_->Status(1000);
  ASSERT_TRUE(before);
  const int64_t now = ClockNs(CLOCK_REALTIME);
  NoteBundle(now - 1'000'000'000, "/note/on", 64);  // a second in the past
  lo_bundle immediate = lo_bundle_new(LO_TT_IMMEDIATE);
  lo_message m = lo_message_new();
  lo_message_add_int32(m, 67);
  lo_message_add_float(m, 0.8f);
  lo_bundle_add_message(immediate, "/note/on", m);
  lo_send_bundle_from(client_->address(), client_->server(), immediate);
  lo_bundle_free_recursive(immediate);
  SleepSeconds(0.3);
  auto after = client_->Status(1000);
  ASSERT_TRUE(after);
  EXPECT_EQ((*after)["late_events"] - (*before)["late_events"], 1);
  EXPECT_EQ((*after)["timed_commands"] - (*before)["timed_commands"], 1);
  EXPECT_EQ((*after)["voices"], 2);  // both sound
}

TEST_F(OscTiming, SubscriberSeesAnotherClientsParameterChange) {
  Start();
  ASSERT_TRUE(WaitReady()) << Log();
  OscClient subscriber(port_);
  lo_send_from(subscriber.address(), subscriber.server(), LO_TT_IMMEDIATE, "/notify", "i", 1);
  auto done = subscriber.WaitResult("/notify", 2000);
  ASSERT_TRUE(done.has_value());
  ASSERT_TRUE(done->first) << done->second;
  auto initial = subscriber.WaitParam("cutoff", 2000);  // every parameter once, at subscription
  ASSERT_TRUE(initial.has_value());
  subscriber.TakeParams(100);
  std::vector<double> latencies;
  for (int i = 0; i < 10; ++i) {
    const float value = 500.0f + 100.0f * static_cast<float>(i);
    SleepSeconds(0.1);  // isolated changes: the 30 Hz per-parameter limit does not hold them
    const double t = MonotonicSeconds();
    Param("cutoff", value);
    std::optional<float> got;
    while (MonotonicSeconds() < t + 2.0) {
      got = subscriber.WaitParam("cutoff", 50);
      if (got && *got == value) break;
    }
    ASSERT_TRUE(got.has_value()) << "no /param cutoff " << value;
    latencies.push_back((MonotonicSeconds() - t) * 1000.0);
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf(
      "[ measure  ] subscription: change from another client -> /param at the subscriber: "
      "median %.1f ms, max %.1f ms (10 changes 100 ms apart)\n",
      latencies[latencies.size() / 2], latencies.back());
  EXPECT_LT(latencies[latencies.size() / 2], 50.0);
  auto status = client_->Status(1000);
  ASSERT_TRUE(status);
  EXPECT_EQ((*status)["subscribers"], 1);
}

TEST_F(OscTiming, SenderOutsideTheBoardAllowListIsRefusedAndLogged) {
  // A board that allows 10.0.0.0/8 only: this test sends from 127.0.0.1.
  std::ifstream in(std::string(CHRONUS_SOURCE_BOARD_DIR) + "/dev-virtual.toml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text = std::regex_replace(text, std::regex("\\[osc\\]\\n"), "[osc]\nallow = [\"10.0.0.0/8\"]\n");
  ASSERT_NE(text.find("allow"), std::string::npos);
  const fs::path board =
      fs::temp_directory_path() / ("chronus-allow-" + std::to_string(getpid()) + ".toml");
  std::ofstream(board) << text;
  Start(board.string());
  EXPECT_FALSE(WaitReady()) << "a refused sender got a /status reply";
  lo_send(client_->address(), "/note/on", "if", 60, 0.8f);
  SleepSeconds(0.3);
  EXPECT_EQ(process_.Stop(SIGTERM, 10.0), 0);
  const std::string log = Log();
  EXPECT_NE(log.find("127.0.0.1: sender not in the [osc] allow-list"), std::string::npos) << log;
  fs::remove(board);
}

}  // namespace
}  // namespace chronus::test
