// The firmware as a systemd service and as an instrument whose sound card can vanish: sd_notify
// readiness and watchdog keep-alives (and their absence while the process is wedged), and device
// standby on the virtual card.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <tuple>

#include "tests/support/audio_analysis.h"
#include "tests/support/firmware_process.h"
#include "tests/support/sanitizer.h"
#include "tests/systemd/notify_socket.h"

namespace chronus::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr double kRate = 48000.0;

class Service : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("chronus-svc-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    port_ = FreeUdpPort();
  }
  void TearDown() override {
    if (process_.pid() > 0) process_.Stop(SIGKILL, 5.0);
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::vector<std::string> Args(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--board",      "dev-virtual",
                                     "--period",     "256",
                                     "--periods",    "3",
                                     "--capture",    (dir_ / "capture.wav").string(),
                                     "--recordings", (dir_ / "rec").string(),
                                     "--osc-port",   std::to_string(port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::string Log() {
    std::ifstream in(dir_ / "firmware.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Largest gap between WATCHDOG=1 keep-alives in `messages`, and when it ended (s after first).
  static std::pair<double, double> LargestWatchdogGap(const std::vector<NotifyMessage>& messages) {
    double largest = 0, end = 0;
    std::optional<std::chrono::steady_clock::time_point> previous, first;
    for (const auto& m : messages) {
      if (!m.Has("WATCHDOG", "1")) continue;
      if (!first) first = m.received;
      if (previous) {
        const double gap = std::chrono::duration<double>(m.received - *previous).count();
        if (gap > largest) {
          largest = gap;
          end = std::chrono::duration<double>(m.received - *first).count();
        }
      }
      previous = m.received;
    }
    return {largest, end};
  }
  static int CountWatchdogs(const std::vector<NotifyMessage>& messages) {
    int n = 0;
    for (const auto& m : messages) n += m.Has("WATCHDOG", "1");
    return n;
  }

  fs::path dir_;
  int port_ = 0;
  FirmwareProcess process_;
};

TEST_F(Service, NotifiesReadyThenKeepAlivesAndStopsThemWhileTheAudioThreadIsWedged) {
  NotifySocket socket;
  ASSERT_TRUE(socket.ok()) << socket.error();
  {
    ScopedEnvironment env;
    env.ExportNotify(socket, milliseconds(500));  // WatchdogSec=0.5: keep-alives every 250 ms
    ASSERT_TRUE(process_.Start(CHRONUS_BIN, Args({"--fault", "stall-audio:1500@2"}),
                               (dir_ / "firmware.log").string()));
  }
  auto ready = socket.WaitFor("READY", "1", milliseconds(10000));
  ASSERT_TRUE(ready) << Log();
  EXPECT_EQ(ready->sender_pid, process_.pid());
  EXPECT_NE(ready->Get("STATUS").find("playing on"), std::string::npos);
  const auto before = socket.Collect(milliseconds(1200));  // t ~ 0.2 .. 1.4 s: healthy
  const std::string healthy_log = Log();
  const auto around = socket.Collect(milliseconds(3500));  // the 1.5 s audio stall at t = 2 s
  const auto [healthy_gap, unused] = LargestWatchdogGap(before);
  const auto [stall_gap, gap_end] = LargestWatchdogGap(around);
  std::printf(
      "[ measure  ] keep-alives: %d in 1.2 s healthy (largest gap %.3f s); largest gap "
      "around the audio stall %.3f s, %d keep-alives in 3.5 s\n",
      CountWatchdogs(before), healthy_gap, stall_gap, CountWatchdogs(around));
  EXPECT_GE(CountWatchdogs(before), 3);
  EXPECT_LT(healthy_gap, 0.6);
  // A healthy start reports nothing wedged (the control thread cannot answer a probe that was
  // never sent because the OSC server was not running yet).
  EXPECT_EQ(healthy_log.find("wedged"), std::string::npos) << healthy_log;
  EXPECT_GT(stall_gap, 1.2);  // nothing while the audio thread was wedged
  // ... and keep-alives again afterwards.
  int after_gap = 0;
  bool past = false;
  for (const auto& m : around) {
    if (!m.Has("WATCHDOG", "1")) continue;
    if (std::chrono::duration<double>(m.received - around.front().received).count() >= gap_end) {
      past = true;
    }
    after_gap += past;
  }
  EXPECT_GE(after_gap, 2);
  EXPECT_EQ(process_.Stop(SIGTERM, 10.0), 0);
  bool stopping = false;
  for (const auto& m : socket.Collect(milliseconds(200))) stopping |= m.Has("STOPPING", "1");
  for (const auto& m : socket.history()) stopping |= m.Has("STOPPING", "1");
  EXPECT_TRUE(stopping);
}

TEST_F(Service, StopsKeepAlivesWhileEveryWorkerIsWedgedYetTheSoundGoesOn) {
  if (kSanitized) {
    // The premise is two stalls that overlap within the stuck limit (250 ms); a sanitizer build
    // runs the workers several times slower, so the two faults take hold too far apart and each
    // worker is (rightly) replaced on its own. The dev build runs it.
    GTEST_SKIP()
        << "needs both workers to stall within 250 ms of each other; not under a sanitizer";
  }
  // Both stalls are injected at the same moment; a VM scheduling gap of over 250 ms between the
  // two workers' next blocks makes the first stall look like one thread's (rightly replaced):
  // that run is the VM's doing and is run again (up to 3 times), as the failover tests do for
  // the VM's xruns. A supervisor that replaces wedged workers every time still fails.
  std::optional<std::map<std::string, double>> status;
  double gap = 0.0, gap_end = 0.0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    NotifySocket socket;
    ASSERT_TRUE(socket.ok()) << socket.error();
    {
      ScopedEnvironment env;
      env.ExportNotify(socket, milliseconds(500));
      ASSERT_TRUE(process_.Start(CHRONUS_BIN,
                                 Args({"--fault", "stall:0:2500@2", "--fault", "stall:1:2500@2"}),
                                 (dir_ / "firmware.log").string()));
    }
    ASSERT_TRUE(socket.WaitFor("READY", "1", milliseconds(10000))) << Log();
    OscClient client(port_);
    lo_send(client.address(), "/param/waveform", "f", 0.0f);
    lo_send(client.address(), "/note/on", "if", 69, 0.4f);
    const auto messages = socket.Collect(milliseconds(5000));
    std::tie(gap, gap_end) = LargestWatchdogGap(messages);
    status = client.Status(2000);
    ASSERT_TRUE(status);
    std::printf(
        "[ measure  ] largest keep-alive gap while both workers stalled 2.5 s: %.3f s; "
        "failovers %.0f, replacements %.0f, xruns %.0f\n",
        gap, (*status)["failovers"], (*status)["worker_replacements"], (*status)["xruns"]);
    if ((*status)["worker_replacements"] == 0 || attempt == 2) break;
    std::printf("[ measure  ] the stalls did not overlap within 250 ms: run again\n");
    EXPECT_EQ(process_.Stop(SIGTERM, 10.0), 0);
  }
  EXPECT_GT(gap, 1.5);
  EXPECT_EQ((*status)["worker_replacements"], 0);  // all stuck: not hidden by new threads
  EXPECT_EQ((*status)["workers_on_standby"], 0);   // both came back
  EXPECT_GE((*status)["failovers"], 2);
  EXPECT_EQ(process_.Stop(SIGTERM, 10.0), 0);
  // Meanwhile the audio thread played both shares on standby: one continuous tone.
  WavData wav = ReadWav((dir_ / "capture.wav").string());
  ASSERT_TRUE(wav.ok);
  const int64_t onset = FindOnset(wav.mono, 0, 0.01f);
  ASSERT_GT(onset, 0);
  int quiet = 0;
  for (int64_t f = onset + 4800; f + 480 < wav.frames - 4800; f += 480) {
    quiet += Rms(wav.mono, f, 480) < 0.02;
  }
  EXPECT_LE(quiet, 10 * static_cast<int>((*status)["xruns"]));
}

TEST_F(Service, DeviceStandbyWhileTheCardIsUnpluggedAndSoundWithin2sOfItsReturn) {
  const std::string control = (dir_ / "vcard-control").string();
  ASSERT_TRUE(process_.Start(CHRONUS_BIN, Args({"--vcard-control", control}),
                             (dir_ / "firmware.log").string()));
  OscClient client(port_);
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) ready = client.Status(100).has_value();
  ASSERT_TRUE(ready) << Log();
  lo_send(client.address(), "/param/waveform", "f", 0.0f);
  lo_send(client.address(), "/note/on", "if", 69, 0.4f);
  lo_send(client.address(), "/record/start", "s", "through-the-outage");
  std::this_thread::sleep_for(milliseconds(700));

  std::ofstream(control) << "unplugged\n";
  const double t_unplug = MonotonicSeconds();
  std::this_thread::sleep_for(milliseconds(500));
  auto during = client.Status(1000);
  ASSERT_TRUE(during) << "the firmware must stay alive without its card";
  EXPECT_EQ((*during)["device_ok"], 0);
  EXPECT_GE((*during)["device_losses"], 1);
  EXPECT_EQ((*during)["recording"], 1);
  std::this_thread::sleep_for(milliseconds(700));

  std::ofstream(control) << "plugged\n";
  const double t_replug = MonotonicSeconds();
  double back_after = -1;
  while (MonotonicSeconds() - t_replug < 3.0) {
    auto s = client.Status(500);
    if (s && (*s)["device_ok"] == 1) {
      back_after = MonotonicSeconds() - t_replug;
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::printf("[ measure  ] device back and playing %.3f s after the card returned\n", back_after);
  ASSERT_GE(back_after, 0) << Log();
  EXPECT_LT(back_after, 2.0);
  std::this_thread::sleep_for(milliseconds(600));
  lo_send(client.address(), "/record/stop", "");
  auto after = client.Status(1000);
  ASSERT_TRUE(after);
  EXPECT_GE((*after)["device_reopens"], 1);
  EXPECT_EQ(process_.Stop(SIGTERM, 10.0), 0);

  // The capture is one timeline: silence while unplugged, the tone again within 2 s of the return.
  std::ifstream t0_file((dir_ / "capture.wav").string() + ".t0");
  int64_t t0_ns = 0;
  t0_file >> t0_ns;
  const double t0 = double(t0_ns) * 1e-9;
  WavData wav = ReadWav((dir_ / "capture.wav").string());
  ASSERT_TRUE(wav.ok) << wav.error;
  const int64_t unplug_frame = int64_t((t_unplug - t0) * kRate);
  const int64_t replug_frame = int64_t((t_replug - t0) * kRate);
  EXPECT_LT(Rms(wav.mono, unplug_frame + 4800, 9600), 1e-4);  // the card played nothing
  const int64_t resumed = FindOnset(wav.mono, replug_frame, 0.05f);
  ASSERT_GT(resumed, 0);
  const double sound_after = double(resumed - replug_frame) / kRate;
  std::printf("[ measure  ] sound again %.3f s after the card returned\n", sound_after);
  EXPECT_LT(sound_after, 2.0);
  // The recording never stopped: the engine kept rendering through the outage.
  WavData take;
  for (const auto& entry : fs::directory_iterator(dir_ / "rec")) {
    if (entry.path().extension() == ".wav") take = ReadWav(entry.path().string());
  }
  ASSERT_TRUE(take.ok);
  int quiet = 0;
  for (int64_t f = 4800; f + 480 < take.frames - 4800; f += 480)
    quiet += Rms(take.mono, f, 480) < 0.02;
  std::printf("[ measure  ] take %.2f s, %d quiet 10 ms windows\n", double(take.frames) / kRate,
              quiet);
  EXPECT_GT(take.frames, int64_t(1.8 * kRate));
  EXPECT_EQ(quiet, 0);
}

}  // namespace
}  // namespace chronus::test
