#include "firmware/health/boot_tuning.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace chronus::firmware {

namespace {

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  return line;
}

bool ParseInt(std::string_view text, int* value) {
  if (text.empty() || text.size() > 4) return false;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *value = v;
  return true;
}

// "1-3" for consecutive runs, "0,2" otherwise.
std::string FormatCpuList(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

bool Covers(const std::vector<int>& set, const std::vector<int>& cpus) {
  if (cpus.empty()) return false;
  return std::all_of(cpus.begin(), cpus.end(),
                     [&](int cpu) { return std::binary_search(set.begin(), set.end(), cpu); });
}

// The cpus the report is about: the board's real-time cpus, or all of them.
std::vector<int> Subject(const BootTuning& tuning, const std::vector<int>& rt_cpus) {
  std::vector<int> cpus = rt_cpus;
  if (cpus.empty()) {
    for (size_t i = 0; i < tuning.governors.size(); ++i) cpus.push_back(static_cast<int>(i));
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  cpus.erase(std::remove_if(cpus.begin(), cpus.end(), [](int c) { return c < 0; }), cpus.end());
  return cpus;
}

// Governors of `cpus`: "performance", "ondemand", "mixed (...)" or "" when none has cpufreq.
std::string GovernorOf(const BootTuning& tuning, const std::vector<int>& cpus, bool* all_perf) {
  std::vector<std::string> seen;
  *all_perf = true;
  bool any = false;
  for (int cpu : cpus) {
    const std::string g =
        static_cast<size_t>(cpu) < tuning.governors.size() ? tuning.governors[cpu] : "";
    if (g.empty()) continue;
    any = true;
    if (g != "performance") *all_perf = false;
    if (std::find(seen.begin(), seen.end(), g) == seen.end()) seen.push_back(g);
  }
  if (!any) return {};
  if (seen.size() == 1) return seen[0];
  std::string out = "mixed (";
  for (size_t i = 0; i < seen.size(); ++i) out += (i ? ", " : "") + seen[i];
  return out + ")";
}

}  // namespace

std::vector<int> ParseCpuList(std::string_view text) {
  std::vector<int> cpus;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view part = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t dash = part.find('-');
    int first = 0;
    int last = 0;
    if (dash == std::string_view::npos) {
      if (!ParseInt(part, &first)) continue;  // also isolcpus flags: domain, managed_irq, nohz
      last = first;
    } else if (!ParseInt(part.substr(0, dash), &first) || !ParseInt(part.substr(dash + 1), &last) ||
               last < first || last - first > 4096) {
      continue;
    }
    for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

BootTuning ReadBootTuning(const BootTuningPaths& paths) {
  BootTuning tuning;
  namespace fs = std::filesystem;
  std::error_code ec;
  int last_cpu = -1;
  for (fs::directory_iterator it(paths.cpu_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    int cpu = 0;
    if (name.size() > 3 && name.starts_with("cpu") && ParseInt(name.substr(3), &cpu)) {
      last_cpu = std::max(last_cpu, cpu);
    }
  }
  for (int cpu = 0; cpu <= last_cpu; ++cpu) {
    tuning.governors.push_back(
        ReadFirstLine(paths.cpu_dir + "/cpu" + std::to_string(cpu) + "/cpufreq/scaling_governor"));
  }
  std::istringstream cmdline(ReadFirstLine(paths.cmdline));
  for (std::string word; cmdline >> word;) {
    if (word == "--") break;
    if (word == "threadirqs") tuning.threadirqs = true;
    if (word.starts_with("isolcpus=")) tuning.isolated = ParseCpuList(word.substr(9));
    if (word.starts_with("nohz_full=")) tuning.nohz_full = ParseCpuList(word.substr(10));
  }
  tuning.preempt_rt = ReadFirstLine(paths.realtime) == "1";
  return tuning;
}

std::string DescribeBootTuning(const BootTuning& tuning, const std::vector<int>& rt_cpus) {
  const std::vector<int> cpus = Subject(tuning, rt_cpus);
  std::string line = "boot tuning for " +
                     std::string(rt_cpus.empty() ? "all cpus " : "real-time cpus ") +
                     (cpus.empty() ? std::string("(none found)") : FormatCpuList(cpus)) + ": ";
  bool all_perf = false;
  const std::string governor = GovernorOf(tuning, cpus, &all_perf);
  line += governor.empty()
              ? "governor unknown (no cpufreq)"
              : "governor " + governor + (all_perf ? " (in effect)" : " (not in effect)");
  auto cpu_set = [&](const char* name, const std::vector<int>& set) {
    if (set.empty()) return "; " + std::string(name) + " not set";
    return "; " + std::string(name) + " " + FormatCpuList(set) +
           (Covers(set, cpus) ? " (in effect)" : " (does not cover them)");
  };
  line += cpu_set("isolcpus", tuning.isolated);
  line += cpu_set("nohz_full", tuning.nohz_full);
  line += tuning.threadirqs ? "; threadirqs in effect" : "; threadirqs not set";
  line += tuning.preempt_rt ? "; kernel PREEMPT_RT" : "; kernel not PREEMPT_RT";
  line += BootTuningInEffect(tuning, rt_cpus) ? " -- all in effect"
                                              : " -- see /usr/share/doc/chronus/README.tuning.md";
  return line;
}

bool BootTuningInEffect(const BootTuning& tuning, const std::vector<int>& rt_cpus) {
  const std::vector<int> cpus = Subject(tuning, rt_cpus);
  bool all_perf = false;
  const std::string governor = GovernorOf(tuning, cpus, &all_perf);
  return (governor.empty() || all_perf) && Covers(tuning.isolated, cpus) &&
         Covers(tuning.nohz_full, cpus) && tuning.threadirqs;
}

}  // namespace chronus::firmware
