// board/systemd: the unit file passes `systemd-analyze verify` (alone and with its drop-ins), its
// `systemd-analyze security --offline=yes` exposure stays within CHRONUS_UNIT_MAX_EXPOSURE, and it
// keeps what the firmware needs (a lower score must not come from breaking the function).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace chronus::test {
namespace {

namespace fs = std::filesystem;

const fs::path kUnitDir = CHRONUS_UNIT_DIR;
constexpr double kMaxExposure = CHRONUS_UNIT_MAX_EXPOSURE;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string FindInPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(std::string(path != nullptr ? path : "") + ":/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

struct Result {
  int status = -1;     // exit code, or -1
  std::string output;  // stdout and stderr
};

// Runs a shell command line, capturing stdout and stderr.
Result RunCommand(const std::string& command) {
  Result result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string Quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A fresh directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && base[0] != '\0' ? base : "/tmp") + "/chronus_unit.XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The unit, as `[Section] Key` -> every value assigned, in order.
std::map<std::string, std::vector<std::string>> ParseUnit(const std::string& text) {
  std::map<std::string, std::vector<std::string>> keys;
  std::istringstream lines(text);
  std::string section;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      section = line;
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    keys[section + " " + line.substr(0, eq)].push_back(line.substr(eq + 1));
  }
  return keys;
}

class SystemdUnitFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    analyze_ = FindInPath("systemd-analyze");
    if (analyze_.empty()) {
      GTEST_SKIP() << "systemd-analyze not installed (Debian package: systemd)";
    }
  }

  // A copy of the unit (and `drop_ins` in chronus.service.d/) whose ExecStart runs /bin/true:
  // verify insists the executable exists, and /usr/bin/chronus is not installed here.
  fs::path StageUnit(const TempDir& dir, const std::vector<std::string>& drop_ins) {
    std::string text = Slurp(kUnitDir / "chronus.service");
    const std::string exec = "ExecStart=/usr/bin/chronus ";
    const size_t at = text.find(exec);
    EXPECT_NE(at, std::string::npos);
    if (at != std::string::npos) text.replace(at, exec.size(), "ExecStart=/bin/true ");
    const fs::path unit = dir.path() / "chronus.service";
    std::ofstream(unit) << text;
    if (!drop_ins.empty()) fs::create_directory(dir.path() / "chronus.service.d");
    for (const std::string& name : drop_ins) {
      fs::copy_file(kUnitDir / name, dir.path() / "chronus.service.d" / name);
    }
    return unit;
  }

  // Runs `systemd-analyze verify`; returns its complaints about our files (other units' lines,
  // e.g. about the host's own configuration, are not ours to fix).
  std::string Verify(const fs::path& unit, const fs::path& dir) {
    const Result result = RunCommand(Quote(analyze_) + " verify --man=no " + Quote(unit.string()));
    std::string ours;
    std::istringstream lines(result.output);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(dir.string()) != std::string::npos ||
          line.find("chronus") != std::string::npos) {
        ours += line + "\n";
      }
    }
    EXPECT_EQ(result.status, 0) << result.output;
    return ours;
  }

  // `systemd-analyze security --offline=yes`: the overall exposure, or -1.
  double Exposure(const fs::path& unit, std::string* report) {
    const Result result =
        RunCommand(Quote(analyze_) + " security --offline=yes --no-pager " + Quote(unit.string()));
    *report = result.output;
    std::smatch match;
    static const std::regex kOverall(R"(Overall exposure level for [^:]+: ([0-9]+\.[0-9]+))");
    if (!std::regex_search(result.output, match, kOverall)) return -1;
    return std::stod(match[1].str());
  }

  std::string analyze_;
};

TEST_F(SystemdUnitFileTest, VerifyFindsNothingToReport) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path unit = StageUnit(dir, {});
  EXPECT_EQ(Verify(unit, dir.path()), "");
}

TEST_F(SystemdUnitFileTest, VerifyFindsNothingToReportWithTheRaspberryPiDropIn) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path unit = StageUnit(dir, {"rpi.conf"});
  EXPECT_EQ(Verify(unit, dir.path()), "");
}

TEST_F(SystemdUnitFileTest, VerifyReportsABrokenUnit) {
  // The check above would pass vacuously if verify's complaints went unnoticed.
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path unit = StageUnit(dir, {});
  std::ofstream(unit, std::ios::app) << "[Service]\nNoSuchSetting=1\n";
  EXPECT_NE(Verify(unit, dir.path()).find("NoSuchSetting"), std::string::npos);
}

TEST_F(SystemdUnitFileTest, SecurityExposureIsWithinTheLimit) {
  for (const std::vector<std::string>& drop_ins :
       {std::vector<std::string>{}, std::vector<std::string>{"rpi.conf"}}) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const fs::path unit = StageUnit(dir, drop_ins);
    std::string report;
    const double exposure = Exposure(unit, &report);
    ASSERT_GE(exposure, 0.0) << report;
    const std::string variant = drop_ins.empty() ? "chronus.service" : "chronus.service + rpi.conf";
    std::printf("systemd-analyze security --offline=yes %s: overall exposure %.1f (limit %.1f)\n",
                variant.c_str(), exposure, kMaxExposure);
    RecordProperty(drop_ins.empty() ? "exposure" : "exposure_rpi", std::to_string(exposure));
    EXPECT_LE(exposure, kMaxExposure) << report;
  }
}

TEST_F(SystemdUnitFileTest, TheUnitKeepsWhatTheFirmwareNeeds) {
  auto keys = ParseUnit(Slurp(kUnitDir / "chronus.service"));
  auto last = [&](const std::string& key) {
    const auto& values = keys["[Service] " + key];
    return values.empty() ? std::string("<unset>") : values.back();
  };
  auto all = [&](const std::string& key) {
    std::string joined;
    for (const std::string& value : keys["[Service] " + key]) joined += value + " ";
    return joined;
  };
  EXPECT_EQ(last("Type"), "notify");
  EXPECT_EQ(last("NotifyAccess"), "main");
  EXPECT_NE(last("WatchdogSec"), "<unset>");
  EXPECT_EQ(last("Restart"), "on-failure");
  EXPECT_EQ(last("User"), "chronus");
  EXPECT_EQ(last("LimitMEMLOCK"), "infinity");
  EXPECT_GE(std::atoi(last("LimitRTPRIO").c_str()), 80) << "boards use SCHED_FIFO 80";
  EXPECT_EQ(last("RestrictRealtime"), "no");
  EXPECT_EQ(last("NoNewPrivileges"), "yes");
  EXPECT_EQ(last("ProtectSystem"), "strict");
  EXPECT_EQ(last("PrivateTmp"), "yes");
  EXPECT_NE(all("StateDirectory").find("chronus/recordings"), std::string::npos);
  EXPECT_NE(last("ExecStart").find("/usr/bin/chronus"), std::string::npos);
  EXPECT_NE(all("SupplementaryGroups").find("audio"), std::string::npos);
  EXPECT_NE(all("DeviceAllow").find("char-alsa rw"), std::string::npos);
  EXPECT_NE(last("PrivateNetwork"), "yes") << "OSC needs the network";
  EXPECT_NE(last("PrivateDevices"), "yes") << "hotplugged /dev/snd nodes must appear";
  EXPECT_NE(last("ProcSubset"), "pid") << "board detection reads /proc/device-tree, /proc/asound";
  const std::string families = all("RestrictAddressFamilies");
  for (const char* family : {"AF_UNIX", "AF_INET", "AF_INET6"}) {
    EXPECT_NE(families.find(family), std::string::npos) << family;
  }
  const std::string syscalls = all("SystemCallFilter");
  for (const char* call : {"sched_setscheduler", "sched_setaffinity"}) {
    EXPECT_NE(syscalls.find(call), std::string::npos) << call << " (real-time threads)";
  }
}

TEST_F(SystemdUnitFileTest, SysusersCreatesTheChronusUser) {
  const std::string sysusers = FindInPath("systemd-sysusers");
  if (sysusers.empty()) GTEST_SKIP() << "systemd-sysusers not installed";
  const Result result =
      RunCommand(Quote(sysusers) + " --dry-run " + Quote((kUnitDir / "chronus.sysusers").string()));
  EXPECT_EQ(result.status, 0) << result.output;
  if (RunCommand("getent passwd chronus").status != 0) {
    EXPECT_NE(result.output.find("Creating user 'chronus'"), std::string::npos) << result.output;
  }
}

}  // namespace
}  // namespace chronus::test
