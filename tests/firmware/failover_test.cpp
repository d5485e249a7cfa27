// The standby path end to end: faults injected into a DSP worker of the real firmware on the
// virtual card; the captured audio must have no gap and no discontinuity, and the worker must get
// its voices back (or be replaced) afterwards.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/audio_analysis.h"
#include "tests/support/firmware_process.h"
#include "tests/support/sanitizer.h"

namespace chronus::test {
namespace {

namespace fs = std::filesystem;

constexpr int kPeriod = 512;  // generous: VM scheduling gaps below 21 ms cause no xrun
constexpr double kRate = 48000.0;

struct FaultRun {
  std::string kind;  // "stall:0:50", "spin:0", "throw:0"
  int count;         // faults in the run
  double spacing_s;  // between faults
};

struct RunResult {
  bool ok = false;
  std::string error;
  std::map<std::string, double> status;
  double max_residual = 0;
  int64_t checked_frames = 0;
  int silent_gaps = 0;        // runs of exact silence inside the checked range (see CheckSine)
  std::filesystem::path dir;  // the run's files: kept and its log printed when a check fails
};

// After a run's checks: prints the firmware's log when one failed (the files stay for a look),
// removes the run's files otherwise.
void ReportOrRemove(const RunResult& result) {
  if (result.dir.empty()) return;
  if (!::testing::Test::HasFailure()) {
    std::filesystem::remove_all(result.dir);
    return;
  }
  std::ifstream log(result.dir / "firmware.log");
  std::printf("--- firmware log (%s) ---\n%s--- end of log ---\n", result.dir.c_str(),
              std::string(std::istreambuf_iterator<char>(log), {}).c_str());
}

// Largest deviation of x from a pure sinusoid of `hz` in [from, to): x[n+1] - 2cos(w)x[n] + x[n-1]
// is 0 for any sine of that frequency whatever its phase and amplitude; a gap, a jump or a
// repeated block is not.
double MaxSineResidual(const std::vector<float>& x, int64_t from, int64_t to, double hz) {
  const double c = 2.0 * std::cos(2.0 * std::numbers::pi * hz / kRate);
  double worst = 0;
  for (int64_t n = from + 1; n + 1 < to; ++n) {  // x[from, to) only
    const double r = double(x[size_t(n + 1)]) - c * x[size_t(n)] + double(x[size_t(n - 1)]);
    worst = std::max(worst, std::fabs(r));
  }
  return worst;
}

// Checks that x[from, to) is one sine of `hz`, except for runs of exact silence: the virtual card
// writes silence into its capture for the time an xrun lasts (the "DMA" stops), and a VM
// scheduling gap longer than the buffer causes one. The parts between silent runs are checked
// each on its own (the tone continues after the gap, but not in phase with what the gap hid);
// the caller compares the number of silent runs with the xruns counted. A share the standby path
// failed to cover would also be a silent period: one per fault, far more than the VM's xruns.
void CheckSine(const std::vector<float>& x, int64_t from, int64_t to, double hz,
               RunResult* result) {
  const std::vector<FrameSpan> spans = SoundingSpans(x, from, to);
  result->silent_gaps = static_cast<int>(SilentRuns(x, from, to).size());
  for (const auto& [begin, end] : spans) {
    result->max_residual = std::max(result->max_residual, MaxSineResidual(x, begin, end, hz));
    result->checked_frames += end - begin;
  }
}

RunResult RunWithFaults(const FaultRun& run) {
  RunResult result;
  const fs::path dir =
      fs::temp_directory_path() /
      ("chronus-fo-" + std::to_string(getpid()) + "-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  fs::create_directories(dir);
  result.dir = dir;
  const int port = FreeUdpPort();
  const std::string capture = (dir / "capture.wav").string();
  std::vector<std::string> args = {"--board",      "dev-virtual",
                                   "--period",     std::to_string(kPeriod),
                                   "--periods",    "3",
                                   "--capture",    capture,
                                   "--recordings", (dir / "rec").string(),
                                   "--osc-port",   std::to_string(port)};
  const double first_fault_s = 1.0;
  for (int i = 0; i < run.count; ++i) {
    args.push_back("--fault");
    args.push_back(run.kind + "@" + std::to_string(first_fault_s + i * run.spacing_s));
  }
  FirmwareProcess process;
  if (!process.Start(CHRONUS_BIN, args, (dir / "firmware.log").string())) {
    result.error = "cannot start chronus";
    return result;
  }
  OscClient client(port);
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) ready = client.Status(100).has_value();
  if (!ready) {
    result.error = "no /status";
    return result;
  }
  lo_send(client.address(), "/param/waveform", "f", 0.0f);  // one sine: see MaxSineResidual
  lo_send(client.address(), "/param/attack", "f", 0.001f);
  lo_send(client.address(), "/note/on", "if", 69, 0.4f);  // voice 0, rendered by worker 0
  const double run_s = first_fault_s + run.count * run.spacing_s + 0.8;
  std::this_thread::sleep_for(std::chrono::duration<double>(run_s));
  // The last fault is 0.8 s behind, yet a VM gap may just have put a share on standby (both
  // workers late at once, no xrun: seen under TSan); its quarantine is 50 ms. The final status
  // is the first that shows every share rendered by a worker again, or the last after 2 s.
  auto status = client.Status(2000);
  for (int i = 0; i < 20 && status && (*status)["workers_on_standby"] != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = client.Status(2000);
  }
  const int code = process.Stop(SIGTERM, 10.0);
  if (!status) {
    result.error = "no /status after the faults";
    return result;
  }
  result.status = *status;
  if (code != 0) {
    result.error = "exit code " + std::to_string(code);
    return result;
  }
  WavData wav = ReadWav(capture);
  if (!wav.ok) {
    result.error = "capture: " + wav.error;
    return result;
  }
  const int64_t onset = FindOnset(wav.mono, 0, 0.01f);
  if (onset < 0) {
    result.error = "no tone";
    return result;
  }
  // From the sustain (the decay is over after 0.3 s) to the end of the run.
  const int64_t from = onset + int64_t(0.3 * kRate);
  const int64_t to = wav.frames - int64_t(0.05 * kRate);
  CheckSine(wav.mono, from, to, 440.0, &result);
  result.ok = true;
  return result;
}

// The checks of a fault run, each with its reason; what a run failed, or empty. Used both to
// decide on a rerun and for the test's verdict, so the two never disagree.
std::vector<std::string> FailedChecks(RunResult& r, const FaultRun& run, bool replaced) {
  auto& s = r.status;
  const struct {
    bool ok;
    const char* what;
  } checks[] = {
      // Silence in the capture only where the VM caused an xrun (at most one gap each): never a
      // period the standby path should have covered.
      {r.silent_gaps <= s["xruns"], "more silent gaps than xruns"},
      // Every fault made the worker miss its deadline, and each miss was covered in its own
      // period.
      {s["failovers"] >= run.count, "fewer failovers than faults"},
      {s["late_blocks"] == s["standby_periods"], "late blocks != standby periods"},
      // No gap, no click: the output stays one continuous sine through every failover. A silent
      // period or a repeated block would deviate by about the tone's amplitude (~0.1).
      {r.max_residual < 2e-3, "the sine deviates by 2e-3 or more"},
      // Afterwards every share is rendered by a worker again.
      {s["workers_on_standby"] == 0, "a share still on standby"},
      {(replaced ? s["worker_replacements"] : s["handbacks"]) >= run.count,
       replaced ? "fewer replacements than faults" : "fewer hand-backs than faults"},
  };
  std::vector<std::string> failed;
  for (const auto& check : checks) {
    if (!check.ok) failed.emplace_back(check.what);
  }
  return failed;
}

// Runs `run`, again (up to 6 attempts) when the VM itself caused an xrun and the run does not
// pass: an xrun's silence is the VM's doing, not the fault's, and a fault that fell inside the
// VM's gap (the audio thread stalled with the worker) makes no failover. A run with xruns that
// passes every check counts.
void CheckFaultRun(const FaultRun& run, bool replaced) {
  RunResult result;
  for (int attempt = 0; attempt < 6; ++attempt) {
    if (attempt > 0) std::filesystem::remove_all(result.dir);
    result = RunWithFaults(run);
    if (!result.ok) {
      ADD_FAILURE() << result.error;
      ReportOrRemove(result);
      return;
    }
    const double xruns = result.status["xruns"];
    if (xruns == 0 || FailedChecks(result, run, replaced).empty()) break;
    std::printf("[ measure  ] %s: %.0f xruns from the VM, %d silent gaps, run again\n",
                run.kind.c_str(), xruns, result.silent_gaps);
  }
  auto& s = result.status;
  std::printf(
      "[ measure  ] %s x%d: failovers %.0f, handbacks %.0f, replacements %.0f, standby periods "
      "%.0f, late blocks %.0f, xruns %.0f, silent gaps %d, max deviation from the sine %.2e over "
      "%lld frames\n",
      run.kind.c_str(), run.count, s["failovers"], s["handbacks"], s["worker_replacements"],
      s["standby_periods"], s["late_blocks"], s["xruns"], result.silent_gaps, result.max_residual,
      static_cast<long long>(result.checked_frames));
  for (const std::string& failed : FailedChecks(result, run, replaced)) ADD_FAILURE() << failed;
  ReportOrRemove(result);
}

TEST(Failover, Stall5ms) {
  // 5 ms is less than the slack of a 512-frame period: the worker may not even be late.
  RunResult result = RunWithFaults({"stall:0:5", 10, 0.2});
  ASSERT_TRUE(result.ok) << result.error;
  std::printf(
      "[ measure  ] stall 5 ms x10: failovers %.0f, xruns %.0f, silent gaps %d, max deviation "
      "%.2e\n",
      result.status["failovers"], result.status["xruns"], result.silent_gaps, result.max_residual);
  EXPECT_LE(result.silent_gaps, result.status["xruns"]);
  EXPECT_LT(result.max_residual, 2e-3);
  EXPECT_EQ(result.status["workers_on_standby"], 0);
  ReportOrRemove(result);
}

// Faults per run: 10 in the test suite; tools/soak/failover sets CHRONUS_FAILOVER_COUNT=100.
int Repeats() {
  const char* env = std::getenv("CHRONUS_FAILOVER_COUNT");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 10;
}

TEST(Failover, Stall50msRepeated) { CheckFaultRun({"stall:0:50", Repeats(), 0.25}, false); }

// Longer than the supervisor's 250 ms "stuck" limit: the worker is replaced, not waited for.
TEST(Failover, Stall500msRepeated) { CheckFaultRun({"stall:0:500", Repeats(), 0.8}, true); }

TEST(Failover, SpinForeverRepeated) {
  if (kSanitized) {
    // Each abandoned thread keeps spinning (demoted to SCHED_IDLE): with the sanitizer's several-
    // fold slowdown of every other thread, ten of them on 2 cores make the healthy worker miss
    // deadlines too, which this test's premise (one faulty worker) excludes. The dev build runs
    // it; ThrowRepeated and the stall tests cover replacement under a sanitizer.
    GTEST_SKIP() << "ten abandoned spinning threads plus a sanitizer's slowdown; not under one";
  }
  CheckFaultRun({"spin:0", Repeats(), 0.5}, true);
}

TEST(Failover, ThrowRepeated) { CheckFaultRun({"throw:0", Repeats(), 0.3}, true); }

}  // namespace
}  // namespace chronus::test
