// The boot-time tuning report from injected sysfs and /proc/cmdline contents.
#include "firmware/health/boot_tuning.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;

class BootTuningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("chronus-tuning-" + std::to_string(getpid()));
    fs::create_directories(root_ / "cpu");
    paths_.cpu_dir = (root_ / "cpu").string();
    paths_.cmdline = (root_ / "cmdline").string();
    paths_.realtime = (root_ / "realtime").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  // A Pi-like machine: cpu0..cpu3 with the given governors ("" = no cpufreq directory), and the
  // cpu directories sysfs also has (cpufreq, cpuidle, online...).
  void Cpus(const std::vector<std::string>& governors) {
    for (size_t i = 0; i < governors.size(); ++i) {
      const fs::path cpu = root_ / "cpu" / ("cpu" + std::to_string(i));
      fs::create_directories(cpu);
      if (!governors[i].empty()) {
        fs::create_directories(cpu / "cpufreq");
        std::ofstream(cpu / "cpufreq" / "scaling_governor") << governors[i] << "\n";
      }
    }
    fs::create_directories(root_ / "cpu" / "cpufreq");
    fs::create_directories(root_ / "cpu" / "cpuidle");
    std::ofstream(root_ / "cpu" / "online") << "0-" << governors.size() - 1 << "\n";
  }
  void Cmdline(const std::string& text) { std::ofstream(paths_.cmdline) << text << "\n"; }

  fs::path root_;
  BootTuningPaths paths_;
};

TEST(BootTuningParse, CpuLists) {
  EXPECT_EQ(ParseCpuList("1-3"), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(ParseCpuList("3,2"), (std::vector<int>{2, 3}));
  EXPECT_EQ(ParseCpuList("0,2-3,2"), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(ParseCpuList("domain,managed_irq,1-3"), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(ParseCpuList("3-1,x,-,"), std::vector<int>{});
  EXPECT_EQ(ParseCpuList(""), std::vector<int>{});
}

TEST_F(BootTuningTest, TunedPiIsReportedInEffect) {
  Cpus({"performance", "performance", "performance", "performance"});
  Cmdline(
      "coherent_pool=1M 8250.nr_uarts=0 console=tty1 root=PARTUUID=0e1a-02 rootwait "
      "isolcpus=domain,managed_irq,1-3 nohz_full=1-3 rcu_nocbs=1-3 threadirqs");
  std::ofstream(paths_.realtime) << "1\n";
  const BootTuning tuning = ReadBootTuning(paths_);
  EXPECT_EQ(tuning.governors.size(), 4u);
  EXPECT_EQ(tuning.isolated, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(tuning.nohz_full, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(tuning.threadirqs);
  EXPECT_TRUE(tuning.preempt_rt);
  EXPECT_TRUE(BootTuningInEffect(tuning, {1, 2, 3}));
  EXPECT_EQ(DescribeBootTuning(tuning, {1, 2, 3}),
            "boot tuning for real-time cpus 1-3: governor performance (in effect); isolcpus 1-3 "
            "(in effect); nohz_full 1-3 (in effect); threadirqs in effect; kernel PREEMPT_RT -- "
            "all in effect");
}

TEST_F(BootTuningTest, UntunedPiSaysWhatIsMissing) {
  Cpus({"ondemand", "ondemand", "ondemand", "ondemand"});
  Cmdline("console=tty1 root=PARTUUID=0e1a-02 rootwait quiet splash");
  const BootTuning tuning = ReadBootTuning(paths_);
  EXPECT_FALSE(BootTuningInEffect(tuning, {1, 2, 3}));
  const std::string line = DescribeBootTuning(tuning, {1, 2, 3});
  EXPECT_EQ(line,
            "boot tuning for real-time cpus 1-3: governor ondemand (not in effect); isolcpus not "
            "set; nohz_full not set; threadirqs not set; kernel not PREEMPT_RT -- see "
            "/usr/share/doc/chronus/README.tuning.md");
}

TEST_F(BootTuningTest, PartialTuningIsNotInEffect) {
  // Governor set on the RT cores only (what the package's optional service does), isolcpus for
  // the workers but not the audio core, threadirqs.
  Cpus({"ondemand", "performance", "performance", "performance"});
  Cmdline("isolcpus=2,3 threadirqs nohz_full=1-3");
  const BootTuning tuning = ReadBootTuning(paths_);
  EXPECT_FALSE(BootTuningInEffect(tuning, {1, 2, 3}));
  const std::string line = DescribeBootTuning(tuning, {1, 2, 3});
  EXPECT_NE(line.find("governor performance (in effect)"), std::string::npos) << line;
  EXPECT_NE(line.find("isolcpus 2-3 (does not cover them)"), std::string::npos) << line;
  EXPECT_TRUE(BootTuningInEffect(tuning, {2, 3}));
  // Core 0 (housekeeping) is not an RT core: its governor does not matter. Unpinned boards
  // (rt_cpus empty) are judged on every cpu.
  EXPECT_NE(DescribeBootTuning(tuning, {}).find("governor mixed (ondemand, performance)"),
            std::string::npos);
}

TEST_F(BootTuningTest, ArgumentsForInitAndMissingFilesAreIgnored) {
  Cpus({"", ""});  // a VM: no cpufreq
  Cmdline("console=ttyS0 quiet -- threadirqs isolcpus=0-1");
  const BootTuning tuning = ReadBootTuning(paths_);
  EXPECT_EQ(tuning.governors, (std::vector<std::string>{"", ""}));
  EXPECT_FALSE(tuning.threadirqs);
  EXPECT_TRUE(tuning.isolated.empty());
  EXPECT_FALSE(tuning.preempt_rt);  // no realtime file
  EXPECT_NE(DescribeBootTuning(tuning, {}).find("governor unknown (no cpufreq)"),
            std::string::npos);

  BootTuningPaths nowhere;
  nowhere.cpu_dir = (root_ / "missing").string();
  nowhere.cmdline = (root_ / "missing").string();
  nowhere.realtime = (root_ / "missing").string();
  const BootTuning none = ReadBootTuning(nowhere);
  EXPECT_TRUE(none.governors.empty());
  EXPECT_EQ(DescribeBootTuning(none, {}).rfind("boot tuning for all cpus (none found): ", 0), 0u);
}

}  // namespace
}  // namespace chronus::firmware
