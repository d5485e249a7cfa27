// OSC flood: several senders on loopback blast well-formed control messages (notes on and off,
// parameter changes) at a fixed total rate while a prober sends /status at intervals and times the
// replies. Used by the reduced-scale flood test (tests/firmware/osc_hostile_test.cpp, in CI) and
// the full-scale tools/soak/osc-flood (100,000 messages/s for 10 s, not in CI).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chronus::soak {

struct FloodConfig {
  int port = 9000;  ///< The firmware's OSC port on 127.0.0.1.
  int senders = 3;  ///< Sender threads, each with its own socket (source port).
  double messages_per_second = 20000.0;  ///< Total over all senders.
  double seconds = 2.0;
  int status_interval_ms = 50;   ///< /status probes during the flood.
  int status_timeout_ms = 1000;  ///< A probe not answered within this is counted unanswered.
  /// Pins the sender threads to this core (-1: not pinned). On loopback the kernel does the
  /// receiving side's packet work in the sender's system call: pinned away from the firmware's
  /// audio core, that work lands where a network card's would on the Pi (core 0).
  int sender_cpu = -1;
};

struct FloodResult {
  uint64_t sent = 0;         ///< Datagrams handed to the kernel by the senders.
  uint64_t send_errors = 0;  ///< sendmmsg refusals (counted, not retried).
  uint64_t skipped = 0;      ///< Not sent: a sender fell over 5 ms behind (it skips, never bursts).
  double seconds = 0.0;      ///< Measured duration of the flood.
  uint64_t probes = 0;       ///< /status sent by the prober.
  uint64_t answered = 0;     ///< ... and answered within status_timeout_ms.
  std::vector<double> latency_ms;  ///< Each answered probe's round trip.
  double max_latency_ms = 0.0;
  double p99_latency_ms = 0.0;
};

/// Runs the flood (blocking). The prober's own /status messages are in `probes`, not in `sent`.
FloodResult RunFlood(const FloodConfig& config);

/// One /status round trip to 127.0.0.1:`port` (keys and values), or nullopt after `timeout_ms`.
std::optional<std::map<std::string, double>> QueryStatus(int port, int timeout_ms);

/// Reads /proc/`pid`: resident set (KiB), open file descriptors and threads; -1 when unreadable.
struct ProcSample {
  long rss_kib = -1;
  int fds = -1;
  int threads = -1;
};
ProcSample SampleProcess(int pid);

/// One mapping of /proc/`pid`/smaps: its address range and name ("[heap]", a file, "" for
/// anonymous memory) and its resident size (KiB).
struct Mapping {
  std::string range;
  std::string name;
  long rss_kib = 0;
};
std::vector<Mapping> ReadMappings(int pid);

/// The mappings whose resident size changed by at least `min_kib` between two readings (new and
/// removed mappings included), one line each: "+4084 KiB 7f..-7f.. rw-p [anon]"; for finding what
/// a step in a soak's RSS is.
std::string DiffMappings(const std::vector<Mapping>& before, const std::vector<Mapping>& after,
                         long min_kib);

}  // namespace chronus::soak
