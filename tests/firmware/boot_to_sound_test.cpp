// Boot to sound on the virtual card: the firmware's own log says when it started, when it sent
// READY=1 (received here over a stand-in NOTIFY_SOCKET, as systemd would) and when the audio
// thread first played a non-silent block. Like a musician pressing a key as soon as the box is
// up, the test sends /note/on every 10 ms from READY=1 on, with the default patch (empty state).
// Asserts the order of the three events, their consistency with what the test saw, and a generous
// bound; prints the figures (goal: first sound <= 1.5 s after start).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <thread>

#include "tests/support/firmware_process.h"
#include "tests/systemd/notify_socket.h"

namespace chronus::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// The time (CLOCK_MONOTONIC s) in the first log line matching "boot to sound: <what> at <t> s".
std::optional<double> EventTime(const std::string& log, const std::string& what) {
  const std::regex line("boot to sound: " + what + " at ([0-9]+\\.[0-9]+) s");
  std::smatch match;
  if (!std::regex_search(log, match, line)) return std::nullopt;
  return std::stod(match[1].str());
}

TEST(BootToSound, StartThenReadyThenFirstNonSilentBlockWithinBounds) {
  const fs::path dir = fs::temp_directory_path() / ("chronus-boot-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path log_path = dir / "firmware.log";
  auto read_log = [&] {
    std::ifstream in(log_path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const int port = FreeUdpPort();
  NotifySocket socket;
  ASSERT_TRUE(socket.ok()) << socket.error();
  FirmwareProcess process;
  const double spawned = MonotonicSeconds();
  {
    ScopedEnvironment env;
    env.ExportNotify(socket);
    ASSERT_TRUE(
        process.Start(CHRONUS_BIN,
                      {"--board", "dev-virtual", "--period", "256", "--periods", "3", "--capture",
                       (dir / "capture.wav").string(), "--recordings", (dir / "rec").string(),
                       "--state", (dir / "state").string(), "--osc-port", std::to_string(port)},
                      log_path.string()));
  }
  const auto ready = socket.WaitFor("READY", "1", milliseconds(10000));
  ASSERT_TRUE(ready) << read_log();
  const double ready_seen = MonotonicSeconds();

  // Key presses from READY=1 on, until the firmware logs its first non-silent block.
  OscClient client(port);
  std::optional<double> first;
  const double deadline = ready_seen + 10.0;
  while (!first && MonotonicSeconds() < deadline) {
    lo_message note = lo_message_new();
    lo_message_add_int32(note, 60);
    lo_message_add_float(note, 0.8f);
    client.Send("/note/on", note);
    lo_message_free(note);
    std::this_thread::sleep_for(milliseconds(10));
    first = EventTime(read_log(), "first non-silent block");
  }
  EXPECT_EQ(process.Stop(SIGTERM, 10.0), 0);
  const std::string log = read_log();
  const auto start = EventTime(log, "start");
  const auto ready_logged = EventTime(log, "READY=1");
  ASSERT_TRUE(start) << log;
  ASSERT_TRUE(ready_logged) << log;
  ASSERT_TRUE(first) << log;

  std::printf(
      "[ measure  ] boot to sound on the virtual card: exec -> start %.0f ms, start -> READY=1 "
      "%.0f ms, READY=1 -> first non-silent block %.0f ms; start -> first sound %.0f ms "
      "(goal <= 1500 ms)\n",
      (*start - spawned) * 1e3, (*ready_logged - *start) * 1e3, (*first - *ready_logged) * 1e3,
      (*first - *start) * 1e3);
  // Order, and consistency with what the test saw: the process was spawned before it started,
  // READY=1 was logged as it was sent, before the test received it.
  EXPECT_LT(spawned, *start);
  EXPECT_LT(*start, *ready_logged);
  EXPECT_LE(*ready_logged, ready_seen + 0.001);
  EXPECT_LT(*ready_logged, *first);
  // Generous bounds (this VM has scheduling hiccups; the 1.5 s goal is a figure, not a test).
  EXPECT_LT(*first - *start, 5.0);
  EXPECT_LT(*first - *ready_logged, 1.0);
  // The line carries the block's peak: a note at velocity 0.8, far above the -60 dBFS threshold.
  std::smatch peak;
  ASSERT_TRUE(std::regex_search(log, peak,
                                std::regex("first non-silent block at [0-9.]+ s "
                                           "\\(peak (-?[0-9.]+) dBFS\\)")));
  EXPECT_GT(std::stod(peak[1].str()), -60.0);
  EXPECT_LE(std::stod(peak[1].str()), 0.0);
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace chronus::test
