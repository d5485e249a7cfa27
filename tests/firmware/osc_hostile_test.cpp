// Hostile input end to end: the real `chronus` executable on the virtual card, attacked over its
// OSC port. Take names that try to leave the recordings directory; a flood from several senders at
// reduced scale (the full-scale run is tools/soak/osc-flood) with /status answered meanwhile and
// every datagram accounted for: accepted, refused, dropped by us (control lane full) or dropped by
// the kernel (socket receive buffer full).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "tests/support/firmware_process.h"
#include "tests/support/sanitizer.h"
#include "tools/soak/osc_flood.h"

namespace chronus::test {
namespace {

namespace fs = std::filesystem;

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("chronus-hostile-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rec");
    port_ = FreeUdpPort();
    ASSERT_TRUE(
        process_.Start(CHRONUS_BIN,
                       {"--board", "dev-virtual", "--period", "256", "--periods", "3", "--capture",
                        (dir_ / "capture.wav").string(), "--recordings", (dir_ / "rec").string(),
                        "--state", (dir_ / "state").string(), "--osc-port", std::to_string(port_)},
                       (dir_ / "firmware.log").string()));
    client_ = std::make_unique<OscClient>(port_);
    bool ready = false;
    for (int i = 0; i < 100 && !ready; ++i) ready = client_->Status(100).has_value();
    ASSERT_TRUE(ready) << "firmware did not answer /status; log: " << Log();
  }

  void TearDown() override {
    if (process_.pid() > 0) process_.Stop(SIGKILL, 5.0);
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string Log() {
    std::ifstream in(dir_ / "firmware.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // /record/start with `name`; retries while the recording rate limit refuses.
  std::optional<std::pair<bool, std::string>> Start(const std::string& name) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      lo_message m = lo_message_new();
      lo_message_add_string(m, name.c_str());
      client_->Send("/record/start", m);
      lo_message_free(m);
      auto result = client_->WaitResult("/record/start", 3000);
      if (!result || result->second.find("too many") == std::string::npos) return result;
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
    }
    return std::nullopt;
  }

  std::set<fs::path> FilesUnder(const fs::path& root) {
    std::set<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(root)) files.insert(e.path());
    return files;
  }

  fs::path dir_;
  int port_ = 0;
  FirmwareProcess process_;
  std::unique_ptr<OscClient> client_;
};

TEST_F(HostileInput, TakeNamesCannotLeaveTheRecordingsDirectory) {
  const fs::path rec = dir_ / "rec";
  const std::set<fs::path> before = FilesUnder(dir_);
  // Refused outright: path separators, control characters, dot names, too long.
  const std::vector<std::string> refused = {"../escape",
                                            "../../../../../../tmp/escape",
                                            "/tmp/escape",
                                            "rec/../../escape",
                                            "..\\..\\escape",
                                            "a/b",
                                            ".",
                                            "..",
                                            "x\n",
                                            "tab\there",
                                            std::string(65, 'x'),
                                            "./../escape",
                                            "escape/"};
  for (const std::string& name : refused) {
    auto result = Start(name);
    ASSERT_TRUE(result) << name;
    EXPECT_FALSE(result->first) << "accepted: " << name << " -> " << result->second;
  }
  // Accepted, and written directly inside the recordings directory (the recorder sanitises).
  const std::vector<std::string> accepted = {"my take", "%2e%2e%2fescape", "..hidden",
                                             "-rf",     "~root",           "Gr\xC3\xBC\xC3\x9F"};
  for (const std::string& name : accepted) {
    auto result = Start(name);
    ASSERT_TRUE(result) << name;
    EXPECT_TRUE(result->first) << name << ": " << result->second;
    EXPECT_EQ(fs::path(result->second).parent_path(), rec) << name << " -> " << result->second;
  }
  lo_message m = lo_message_new();
  client_->Send("/record/stop", m);
  lo_message_free(m);
  auto stopped = client_->WaitResult("/record/stop", 3000);
  ASSERT_TRUE(stopped);
  // Nothing new anywhere but in rec/ (besides the capture, the state and the log of this test).
  const std::string state = (dir_ / "state").string();
  for (const fs::path& p : FilesUnder(dir_)) {
    if (before.count(p) || p.parent_path() == rec || p.string().rfind(state, 0) == 0) continue;
    const std::string name = p.filename().string();
    EXPECT_TRUE(name == "capture.wav" || name == "capture.wav.t0" || name == "firmware.log")
        << "unexpected file " << p;
  }
  EXPECT_FALSE(fs::exists(fs::temp_directory_path() / "escape"));
  EXPECT_FALSE(fs::exists(dir_ / "escape"));
  auto status = client_->Status(1000);
  ASSERT_TRUE(status);
  EXPECT_GE((*status)["bad_messages"], double(refused.size()));
}

TEST_F(HostileInput, FloodAtReducedScaleKeepsStatusAnsweredAndCountsEveryDrop) {
  // Reduced scale for CI: 20,000 messages/s for 2 s from 3 senders (full scale: 100,000/s for
  // 10 s, tools/soak/osc-flood). Under a sanitizer the firmware is several times slower: 5,000/s.
  soak::FloodConfig flood;
  flood.port = port_;
  flood.senders = 3;
  flood.messages_per_second = kSanitized ? 5000.0 : 20000.0;
  flood.seconds = 2.0;
  flood.status_interval_ms = 50;

  auto before_idle = soak::QueryStatus(port_, 1000);
  ASSERT_TRUE(before_idle);
  std::this_thread::sleep_for(std::chrono::duration<double>(flood.seconds));
  auto before = soak::QueryStatus(port_, 1000);
  ASSERT_TRUE(before);
  const soak::FloodResult result = soak::RunFlood(flood);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the server drain
  // Up to 5 queries of 2 s: a sanitized build on a loaded machine may still be draining the
  // flood's backlog (seen once in CI's ASan stage: no answer within 2 s). Each query that
  // arrives is accounted for below, answered late or dropped by the kernel.
  std::optional<std::map<std::string, double>> after;
  int queries = 0;
  while (!after && queries < 5) {
    ++queries;
    after = soak::QueryStatus(port_, 2000);
  }
  ASSERT_TRUE(after) << "no /status answer in " << queries << " queries of 2 s";
  auto delta = [&](const char* key) { return (*after)[key] - (*before)[key]; };
  const double idle_xruns = (*before)["xruns"] - (*before_idle)["xruns"];
  // Everything that reached the socket: accepted (osc_messages: commands queued and /status
  // served, the probes and the final query included), refused (bad_messages), dropped by us
  // (osc_queue_full), dropped by the kernel (kernel_drops), refused by a rate limit.
  const double arrived = delta("osc_messages") + delta("bad_messages") + delta("osc_queue_full") +
                         delta("kernel_drops") + delta("throttled_requests");
  const double expected = double(result.sent) + double(result.probes) + double(queries);
  std::printf(
      "[ measure  ] flood %.0f msgs/s x %.2f s from %d senders: sent %llu (send errors %llu, "
      "skipped by late senders %llu); accepted %.0f, refused %.0f, our drops (control lane full) "
      "%.0f, kernel drops %.0f\n",
      flood.messages_per_second, result.seconds, flood.senders,
      static_cast<unsigned long long>(result.sent),
      static_cast<unsigned long long>(result.send_errors),
      static_cast<unsigned long long>(result.skipped), delta("osc_messages"), delta("bad_messages"),
      delta("osc_queue_full"), delta("kernel_drops"));
  std::printf(
      "[ measure  ] /status during the flood: %llu of %llu answered, max %.1f ms, p99 %.1f ms; "
      "xruns %.0f during the flood vs %.0f in an equal idle window; late blocks %.0f; "
      "dropped_commands %.0f\n",
      static_cast<unsigned long long>(result.answered),
      static_cast<unsigned long long>(result.probes), result.max_latency_ms, result.p99_latency_ms,
      delta("xruns"), idle_xruns, delta("late_blocks"), delta("dropped_commands"));
  // Senders that the VM descheduled skip what they missed rather than burst.
  EXPECT_GT(result.sent, uint64_t(0.5 * flood.messages_per_second * flood.seconds));
  EXPECT_EQ(arrived, expected) << "every datagram is accounted for";
  EXPECT_EQ(delta("bad_messages"), 0);
  EXPECT_EQ(result.answered, result.probes);
  EXPECT_GE(result.probes, 20u);
  // The firmware is still playing and answering.
  EXPECT_GT(delta("periods_played"), 0);
  ASSERT_TRUE(client_->Status(1000));
  // Answered within 100 ms throughout (sanitized builds too: at their reduced rate ASan and TSan
  // measured < 5 ms).
  EXPECT_LT(result.max_latency_ms, 100.0);
}

}  // namespace
}  // namespace chronus::test
