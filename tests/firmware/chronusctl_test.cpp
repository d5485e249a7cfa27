// tools/chronusctl against the firmware on the virtual card: each subcommand, its output and exit
// code, and the error when the box does not answer.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "tests/support/firmware_process.h"

namespace chronus::test {
namespace {

namespace fs = std::filesystem;

struct CtlRun {
  int code = -1;
  std::string output;  // stdout and stderr
};

CtlRun Chronusctl(int port, const std::string& args) {
  const std::string command = std::string(CHRONUSCTL_BIN) + " --port " + std::to_string(port) +
                              " --timeout 2 " + args + " 2>&1";
  CtlRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) run.output.append(buf, n);
  const int status = pclose(pipe);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

class ChronusctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("chronus-ctl-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    port_ = FreeUdpPort();
    ASSERT_TRUE(
        process_.Start(CHRONUS_BIN,
                       {"--board", "dev-virtual", "--period", "256", "--periods", "3", "--capture",
                        (dir_ / "capture.wav").string(), "--recordings", (dir_ / "rec").string(),
                        "--state", (dir_ / "state").string(), "--osc-port", std::to_string(port_)},
                       (dir_ / "firmware.log").string()));
    OscClient client(port_);
    bool ready = false;
    for (int i = 0; i < 100 && !ready; ++i) ready = client.Status(100).has_value();
    ASSERT_TRUE(ready);
  }
  void TearDown() override {
    if (process_.pid() > 0) process_.Stop(SIGKILL, 5.0);
    if (!HasFailure()) fs::remove_all(dir_);
  }

  fs::path dir_;
  int port_ = 0;
  FirmwareProcess process_;
};

TEST_F(ChronusctlTest, StatusPrintsKeyValueLines) {
  const CtlRun run = Chronusctl(port_, "status");
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("sample_rate 48000\n"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("xruns "), std::string::npos);
}

TEST_F(ChronusctlTest, SetNotePresetRecordSucceedAndRefusalsFail) {
  CtlRun run = Chronusctl(port_, "set cutoff 1200");
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_EQ(run.output, "cutoff 1200\n");
  run = Chronusctl(port_, "set cutoff 1e9");
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_NE(run.output.find("/param/cutoff refused: value 1e+09 outside"), std::string::npos)
      << run.output;
  run = Chronusctl(port_, "set nosuch 1");
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_NE(run.output.find("unknown parameter"), std::string::npos) << run.output;
  run = Chronusctl(port_, "note 60 --vel 0.8 --dur 0.2");
  EXPECT_EQ(run.code, 0) << run.output;
  run = Chronusctl(port_, "preset save 3");
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_EQ(run.output, "/preset/save 3\n");
  run = Chronusctl(port_, "preset load 3");
  EXPECT_EQ(run.code, 0) << run.output;
  run = Chronusctl(port_, "preset load 77");  // never saved
  EXPECT_EQ(run.code, 1) << run.output;
  run = Chronusctl(port_, "record start take1");
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("take1"), std::string::npos) << run.output;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  run = Chronusctl(port_, "record stop");
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find(".wav"), std::string::npos) << run.output;
  run = Chronusctl(port_, "preset load 999");  // refused by chronusctl itself: usage error
  EXPECT_EQ(run.code, 2) << run.output;
  EXPECT_NE(run.output.find("slot"), std::string::npos) << run.output;
}

TEST_F(ChronusctlTest, MonitorPrintsAnotherClientsChange) {
  auto monitor =
      std::async(std::launch::async, [&] { return Chronusctl(port_, "monitor --seconds 2.5"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(Chronusctl(port_, "set resonance 0.42").code, 0);
  const CtlRun run = monitor.get();
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("cutoff "), std::string::npos) << run.output;  // every value first
  EXPECT_NE(run.output.find("resonance 0.42\n"), std::string::npos) << run.output;
}

TEST(Chronusctl, NoAnswerIsAClearErrorWithExitCode3) {
  const int port = FreeUdpPort();  // nobody listens
  const auto start = std::chrono::steady_clock::now();
  const CtlRun run = Chronusctl(port, "status");
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(run.code, 3);
  EXPECT_NE(run.output.find("no answer from 127.0.0.1:" + std::to_string(port) + " within 2 s"),
            std::string::npos)
      << run.output;
  EXPECT_LT(took, 4.0);
  EXPECT_EQ(Chronusctl(port, "set cutoff 500").code, 3);
}

}  // namespace
}  // namespace chronus::test
