// Full-scale OSC flood against the real firmware on the virtual card (not in CI; the CI test is
// tests/firmware/osc_hostile_test.cpp at reduced scale). Starts `chronus`, measures an idle window,
// floods, and reports: sent, accepted, refused, our drops (control lane full), kernel drops
// (socket receive buffer full), /status latency during the flood, xruns during the flood vs the
// idle window, the firmware's RSS and descriptors before and after.
//   osc_flood --chronus BIN [--rate 100000] [--seconds 10] [--senders 3] [--period 128]
//             [--periods 3] [--dir DIR] [--board dev-virtual] [--sender-cpu N]
// --board is the firmware's board (name or file); --sender-cpu pins the sender threads to core N
// (see FloodConfig::sender_cpu).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/support/firmware_process.h"
#include "tools/soak/osc_flood.h"

namespace {

namespace fs = std::filesystem;

int Usage() {
  std::fprintf(stderr,
               "usage: osc_flood --chronus BIN [--rate N] [--seconds S] [--senders K] "
               "[--period F] [--periods N] [--dir DIR] [--board B] [--sender-cpu N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string chronus;
  std::string dir = (fs::temp_directory_path() / ("chronus-flood-" + std::to_string(getpid())));
  chronus::soak::FloodConfig flood;
  flood.messages_per_second = 100000;
  flood.seconds = 10;
  flood.senders = 3;
  int period = 128, periods = 3;
  std::string board = "dev-virtual";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    const char* value = argv[++i];
    if (arg == "--chronus") {
      chronus = value;
    } else if (arg == "--rate") {
      flood.messages_per_second = std::atof(value);
    } else if (arg == "--seconds") {
      flood.seconds = std::atof(value);
    } else if (arg == "--senders") {
      flood.senders = std::atoi(value);
    } else if (arg == "--period") {
      period = std::atoi(value);
    } else if (arg == "--periods") {
      periods = std::atoi(value);
    } else if (arg == "--dir") {
      dir = value;
    } else if (arg == "--board") {
      board = value;
    } else if (arg == "--sender-cpu") {
      flood.sender_cpu = std::atoi(value);
    } else {
      return Usage();
    }
  }
  if (chronus.empty() || flood.senders < 1 || flood.seconds <= 0 || flood.messages_per_second <= 0)
    return Usage();

  fs::create_directories(dir);
  flood.port = chronus::test::FreeUdpPort();
  chronus::test::FirmwareProcess process;
  if (!process.Start(
          chronus,
          {"--board", board, "--period", std::to_string(period), "--periods",
           std::to_string(periods), "--capture", dir + "/capture.wav", "--recordings", dir + "/rec",
           "--state", dir + "/state", "--osc-port", std::to_string(flood.port)},
          dir + "/firmware.log")) {
    std::fprintf(stderr, "cannot start %s\n", chronus.c_str());
    return 1;
  }
  std::optional<std::map<std::string, double>> first;
  for (int i = 0; i < 100 && !first; ++i) first = chronus::soak::QueryStatus(flood.port, 100);
  if (!first) {
    std::fprintf(stderr, "firmware does not answer; log in %s/firmware.log\n", dir.c_str());
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // warm-up
  const auto mem_before = chronus::soak::SampleProcess(process.pid());
  auto idle_start = chronus::soak::QueryStatus(flood.port, 1000);
  std::this_thread::sleep_for(std::chrono::duration<double>(flood.seconds));
  auto before = chronus::soak::QueryStatus(flood.port, 1000);
  std::printf("flood: %.0f messages/s for %.0f s from %d senders, period %d x %d\n",
              flood.messages_per_second, flood.seconds, flood.senders, period, periods);
  const chronus::soak::FloodResult r = chronus::soak::RunFlood(flood);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto after = chronus::soak::QueryStatus(flood.port, 2000);
  const auto mem_after = chronus::soak::SampleProcess(process.pid());
  if (!idle_start || !before || !after) {
    std::fprintf(stderr, "a /status query went unanswered\n");
    process.Stop(SIGKILL, 5);
    return 1;
  }
  auto d = [&](const char* key) { return (*after)[key] - (*before)[key]; };
  const double arrived = d("osc_messages") + d("bad_messages") + d("osc_queue_full") +
                         d("kernel_drops") + d("throttled_requests");
  const double total = static_cast<double>(r.sent + r.probes + 1);
  std::printf(
      "  sent            %llu datagrams in %.2f s (%.0f/s), %llu send errors, %llu skipped "
      "by late senders\n",
      static_cast<unsigned long long>(r.sent), r.seconds, static_cast<double>(r.sent) / r.seconds,
      static_cast<unsigned long long>(r.send_errors), static_cast<unsigned long long>(r.skipped));
  std::printf("  accepted        %.0f (incl. %llu /status probes + 1 query)\n", d("osc_messages"),
              static_cast<unsigned long long>(r.probes));
  std::printf("  refused         %.0f malformed, %.0f throttled\n", d("bad_messages"),
              d("throttled_requests"));
  std::printf(
      "  our drops       %.0f (control lane full: the audio thread took fewer per period)\n",
      d("osc_queue_full"));
  std::printf(
      "  kernel drops    %.0f (OSC socket receive buffer full: the OSC thread fell "
      "behind)\n",
      d("kernel_drops"));
  std::printf("  accounted       %.0f of %.0f (%s)\n", arrived, total,
              arrived == total ? "all" : "MISMATCH");
  std::printf(
      "  /status         %llu of %llu answered during the flood, max %.1f ms, p99 %.1f ms\n",
      static_cast<unsigned long long>(r.answered), static_cast<unsigned long long>(r.probes),
      r.max_latency_ms, r.p99_latency_ms);
  std::printf("  xruns           %.0f during the flood, %.0f in the idle window before (%.0f s)\n",
              d("xruns"), (*before)["xruns"] - (*idle_start)["xruns"], flood.seconds);
  std::printf("  late blocks     %.0f during the flood, %.0f idle\n", d("late_blocks"),
              (*before)["late_blocks"] - (*idle_start)["late_blocks"]);
  std::printf("  worst block     %.1f us (since start)\n", (*after)["worst_block_us"]);
  std::printf("  firmware        RSS %ld -> %ld KiB, fds %d -> %d\n", mem_before.rss_kib,
              mem_after.rss_kib, mem_before.fds, mem_after.fds);
  const int code = process.Stop(SIGTERM, 10.0);
  std::printf("  exit            %d (log %s/firmware.log)\n", code, dir.c_str());
  const bool ok = code == 0 && arrived == total && r.answered == r.probes;
  if (ok) fs::remove_all(dir);
  return ok ? 0 : 1;
}
