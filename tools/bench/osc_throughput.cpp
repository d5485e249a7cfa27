// OSC throughput: the highest rate of control messages (notes on/off, parameter changes; the
// flood of tools/soak/osc_flood) that the firmware on the virtual card absorbs on loopback with
// zero loss (every datagram accepted: no kernel drop, no control-lane drop) and zero xruns.
// Starts `chronus`, then floods at rising rates (doubling from --from) for --seconds each, and
// reports each step and the highest clean rate. Not a test (speed targets live in benchmarks):
//   osc_throughput --chronus BIN [--from 5000] [--max 320000] [--seconds 3] [--senders 2]
//                  [--period 128] [--periods 3]
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/support/firmware_process.h"
#include "tools/soak/osc_flood.h"

namespace {

namespace fs = std::filesystem;

int Usage() {
  std::fprintf(stderr,
               "usage: osc_throughput --chronus BIN [--from N] [--max N] [--seconds S] "
               "[--senders K] [--period F] [--periods N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string chronus;
  double from = 5000, max_rate = 320000, seconds = 3;
  int senders = 2, period = 128, periods = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    const char* value = argv[++i];
    if (arg == "--chronus") {
      chronus = value;
    } else if (arg == "--from") {
      from = std::atof(value);
    } else if (arg == "--max") {
      max_rate = std::atof(value);
    } else if (arg == "--seconds") {
      seconds = std::atof(value);
    } else if (arg == "--senders") {
      senders = std::atoi(value);
    } else if (arg == "--period") {
      period = std::atoi(value);
    } else if (arg == "--periods") {
      periods = std::atoi(value);
    } else {
      return Usage();
    }
  }
  if (chronus.empty() || from <= 0 || seconds <= 0 || senders < 1) return Usage();

  const std::string dir = fs::temp_directory_path() / ("chronus-tput-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const int port = chronus::test::FreeUdpPort();
  chronus::test::FirmwareProcess process;
  if (!process.Start(chronus,
                     {"--board", "dev-virtual", "--period", std::to_string(period), "--periods",
                      std::to_string(periods), "--capture", dir + "/capture.wav", "--recordings",
                      dir + "/rec", "--state", dir + "/state", "--osc-port", std::to_string(port)},
                     dir + "/firmware.log")) {
    std::fprintf(stderr, "cannot start %s\n", chronus.c_str());
    return 1;
  }
  std::optional<std::map<std::string, double>> ready;
  for (int i = 0; i < 100 && !ready; ++i) ready = chronus::soak::QueryStatus(port, 100);
  if (!ready) {
    std::fprintf(stderr, "firmware does not answer; log in %s/firmware.log\n", dir.c_str());
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(4));  // warm-up (start-up work settles)
  std::printf(
      "OSC throughput on loopback: chronus on the virtual card, period %d x %d, %d senders, "
      "%.0f s per step\n",
      period, periods, senders, seconds);
  std::printf("%10s %10s %10s %8s %8s %8s %6s %10s  %s\n", "rate/s", "sent", "accepted", "kernel",
              "lane", "refused", "xruns", "p99 ms", "result");
  double best = 0;
  for (double rate = from; rate <= max_rate; rate *= 2) {
    auto before = chronus::soak::QueryStatus(port, 2000);
    chronus::soak::FloodConfig flood;
    flood.port = port;
    flood.senders = senders;
    flood.messages_per_second = rate;
    flood.seconds = seconds;
    flood.status_interval_ms = 100;
    const chronus::soak::FloodResult r = chronus::soak::RunFlood(flood);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto after = chronus::soak::QueryStatus(port, 2000);
    if (!before || !after) {
      std::printf("%10.0f  /status unanswered: stop\n", rate);
      break;
    }
    auto d = [&](const char* key) { return (*after)[key] - (*before)[key]; };
    // The probes and the `after` query are accepted too.
    const double accepted = d("osc_messages") - static_cast<double>(r.probes) - 1;
    const double kernel = d("kernel_drops");
    const double lane = d("osc_queue_full");
    const double refused = d("bad_messages") + d("throttled_requests");
    const double xruns = d("xruns");
    const double achieved = static_cast<double>(r.sent) / r.seconds;
    const bool clean = r.send_errors == 0 && accepted == static_cast<double>(r.sent) &&
                       kernel == 0 && lane == 0 && refused == 0 && xruns == 0 &&
                       achieved >= 0.95 * rate && r.answered == r.probes;
    std::printf(
        "%10.0f %10llu %10.0f %8.0f %8.0f %8.0f %6.0f %10.1f  %s\n", achieved,
        static_cast<unsigned long long>(r.sent), accepted, kernel, lane, refused, xruns,
        r.p99_latency_ms,
        clean ? "clean" : (achieved < 0.95 * rate ? "senders could not reach the rate" : "LOSS"));
    std::fflush(stdout);
    if (!clean) break;
    best = achieved;
  }
  std::printf("highest clean rate: %.0f messages/s (zero loss, zero xruns)\n", best);
  const int code = process.Stop(SIGTERM, 10.0);
  if (code == 0) fs::remove_all(dir);
  return best > 0 ? 0 : 1;
}
