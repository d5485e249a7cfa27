// Boot-time tuning report: whether the system settings that keep the real-time cores quiet are in
// effect (board/tuning/README.md): the CPU frequency governor `performance`, `isolcpus=` and
// `nohz_full=` covering the real-time cores, `threadirqs`, and a PREEMPT_RT kernel. The firmware
// logs one line at start; nothing is changed. Paths are parameters so tests inject contents.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace chronus::firmware {

struct BootTuningPaths {
  std::string cpu_dir = "/sys/devices/system/cpu";  ///< cpuN/cpufreq/scaling_governor
  std::string cmdline = "/proc/cmdline";
  std::string realtime = "/sys/kernel/realtime";  ///< "1" on a PREEMPT_RT kernel
};

/// What was read.
struct BootTuning {
  /// scaling_governor of cpu0, cpu1, ... (index = cpu id) up to the last cpuN directory; "" for
  /// a cpu without cpufreq (virtual machines, or the directory is missing).
  std::vector<std::string> governors;
  std::vector<int> isolated;   ///< isolcpus= cpus (flags such as "domain," dropped)
  std::vector<int> nohz_full;  ///< nohz_full= cpus
  bool threadirqs = false;     ///< `threadirqs` on the kernel command line
  bool preempt_rt = false;     ///< PREEMPT_RT kernel
};

/// Parses a kernel cpu list ("1-3", "2,3", "0,2-3"; isolcpus may start with flags: "domain,
/// managed_irq,1-3"). Invalid parts are skipped. Sorted, unique. Pure.
std::vector<int> ParseCpuList(std::string_view text);

/// Reads the governors, the command line (up to "--", after which arguments go to init) and the
/// PREEMPT_RT flag. Missing files read as empty. Main thread, at start-up.
BootTuning ReadBootTuning(const BootTuningPaths& paths = {});

/// One log line on the cores that run real time (`rt_cpus`: the board's audio cpu and worker
/// cpus; empty when the board pins nothing, then every cpu counts), e.g.
/// "boot tuning for real-time cpus 1-3: governor performance (in effect); isolcpus 1-3 (in
/// effect); nohz_full not set; threadirqs in effect; kernel not PREEMPT_RT". Pure.
std::string DescribeBootTuning(const BootTuning& tuning, const std::vector<int>& rt_cpus);

/// True when every item that applies is in effect: governor performance on the rt cpus (when
/// they have cpufreq), isolcpus and nohz_full covering them, threadirqs. Pure.
bool BootTuningInEffect(const BootTuning& tuning, const std::vector<int>& rt_cpus);

}  // namespace chronus::firmware
