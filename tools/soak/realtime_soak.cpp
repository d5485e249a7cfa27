// Real-time soak: the `chronus` executable on the virtual card for N minutes, played over OSC like
// a musician would (notes, parameter changes, a preset saved and one loaded every 20 s, a take
// recorded every minute), sampled every 10 s:
// the firmware's resident memory and open descriptors (/proc/PID), xruns, late blocks and the
// worst block time (/status). Reports the trends after warm-up.
//   realtime_soak --chronus BIN [--minutes 10] [--period 256] [--periods 3] [--dir DIR]
//                 [--csv FILE]
// Exit status 0 when RSS is flat after warm-up (growth < 1 MiB), descriptors are flat, every take
// was recorded and /status always answered; 1 otherwise. Xruns are reported, not judged: this
// VM has scheduling gaps without any load.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/firmware_process.h"
#include "tools/soak/osc_flood.h"

namespace {

namespace fs = std::filesystem;
using chronus::test::MonotonicSeconds;

struct Sample {
  double t;
  long rss_kib;
  int fds;
  int threads;
  double worker_replacements;  // 0 when the firmware does not report it
  bool recording;              // a take is open: one more descriptor
  double xruns, late_blocks, worst_block_us, recorded_frames, dropped_commands, bad_messages;
};

void Send(chronus::test::OscClient& client, const char* path, lo_message m) {
  client.Send(path, m);
  lo_message_free(m);
}

}  // namespace

int main(int argc, char** argv) {
  std::string chronus;
  double minutes = 10;
  int period = 256, periods = 3;
  std::string dir = fs::temp_directory_path() / ("chronus-rt-soak-" + std::to_string(getpid()));
  std::string csv;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    const char* value = argv[i + 1];
    if (arg == "--chronus") {
      chronus = value;
    } else if (arg == "--minutes") {
      minutes = std::atof(value);
    } else if (arg == "--period") {
      period = std::atoi(value);
    } else if (arg == "--periods") {
      periods = std::atoi(value);
    } else if (arg == "--dir") {
      dir = value;
    } else if (arg == "--csv") {
      csv = value;
    } else {
      std::fprintf(stderr, "unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (chronus.empty() || minutes <= 0) {
    std::fprintf(stderr, "usage: realtime_soak --chronus BIN [--minutes M] ...\n");
    return 2;
  }
  fs::create_directories(dir);
  const int port = chronus::test::FreeUdpPort();
  chronus::test::FirmwareProcess process;
  // The virtual card captures everything played (~11 MB per minute): deleted at the end.
  if (!process.Start(chronus,
                     {"--board", "dev-virtual", "--period", std::to_string(period), "--periods",
                      std::to_string(periods), "--capture", dir + "/capture.wav", "--recordings",
                      dir + "/rec", "--state", dir + "/state", "--osc-port", std::to_string(port)},
                     dir + "/firmware.log")) {
    std::fprintf(stderr, "cannot start %s\n", chronus.c_str());
    return 1;
  }
  chronus::test::OscClient client(port);
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) ready = client.Status(100).has_value();
  if (!ready) {
    std::fprintf(stderr, "firmware does not answer; see %s/firmware.log\n", dir.c_str());
    return 1;
  }
  std::printf("realtime soak: %.1f min on the virtual card, period %d x %d\n", minutes, period,
              periods);
  FILE* csv_file = csv.empty() ? nullptr : std::fopen(csv.c_str(), "w");
  if (csv_file) {
    std::fprintf(csv_file,
                 "t_s,rss_kib,fds,threads,worker_replacements,xruns,late_blocks,worst_block_us,"
                 "recorded_frames,dropped_commands,bad_messages\n");
  }

  std::mt19937 rng(11);
  std::vector<chronus::soak::Mapping> last_maps;
  const double start = MonotonicSeconds();
  const double end = start + minutes * 60.0;
  double next_note = start, next_param = start, next_sample = start + 10.0;
  double next_take = start + 30.0, take_stop = 0.0;
  double next_preset = start + 15.0;
  int presets_saved = 0, presets_loaded = 0, preset_failures = 0;
  std::vector<int> held;
  std::vector<Sample> samples;
  int takes = 0, take_failures = 0, status_failures = 0;
  uint64_t messages = 0;
  while (MonotonicSeconds() < end) {
    const double now = MonotonicSeconds();
    if (now >= next_note) {  // about 8 notes per second, up to 6 held
      if (held.size() >= 6 || (!held.empty() && rng() % 2)) {
        lo_message m = lo_message_new();
        lo_message_add_int32(m, held.front());
        Send(client, "/note/off", m);
        held.erase(held.begin());
      } else {
        const int note = 40 + static_cast<int>(rng() % 40);
        lo_message m = lo_message_new();
        lo_message_add_int32(m, note);
        lo_message_add_float(m, 0.1f + 0.1f * static_cast<float>(rng() % 5));
        Send(client, "/note/on", m);
        held.push_back(note);
      }
      ++messages;
      next_note += 0.125;
    }
    if (now >= next_param) {  // 20 parameter changes per second
      const char* names[] = {"cutoff", "resonance", "attack", "decay", "sustain", "release"};
      const float values[] = {300.0f + float(rng() % 4000),      0.1f * float(rng() % 9),
                              0.001f + 0.01f * float(rng() % 5), 0.05f + 0.05f * float(rng() % 5),
                              0.1f * float(rng() % 10),          0.05f + 0.05f * float(rng() % 5)};
      const size_t k = rng() % 6;
      lo_message m = lo_message_new();
      lo_message_add_float(m, values[k]);
      Send(client, (std::string("/param/") + names[k]).c_str(), m);
      ++messages;
      next_param += 0.05;
    }
    if (now >= next_preset) {  // save the current sound into a slot, load another slot
      lo_message m = lo_message_new();
      lo_message_add_int32(m, presets_saved % 8);
      Send(client, "/preset/save", m);
      auto saved = client.WaitResult("/preset/save", 3000);
      if (saved && saved->first) {
        ++presets_saved;
      } else {
        ++preset_failures;
      }
      m = lo_message_new();
      lo_message_add_int32(m, static_cast<int>(rng() % std::max(1, std::min(presets_saved, 8))));
      Send(client, "/preset/load", m);
      auto loaded = client.WaitResult("/preset/load", 3000);
      if (loaded && loaded->first) {
        ++presets_loaded;
      } else {
        ++preset_failures;
      }
      next_preset += 20.0;
    }
    if (now >= next_take && take_stop == 0.0) {  // a 20 s take every minute
      lo_message m = lo_message_new();
      lo_message_add_string(m, "soak");
      Send(client, "/record/start", m);
      auto r = client.WaitResult("/record/start", 3000);
      if (r && r->first) {
        take_stop = now + 20.0;
      } else {
        ++take_failures;
        next_take += 60.0;
      }
    }
    if (take_stop != 0.0 && now >= take_stop) {
      Send(client, "/record/stop", lo_message_new());
      auto r = client.WaitResult("/record/stop", 5000);
      if (r && r->first) {
        ++takes;
        std::error_code ec;
        fs::remove(r->second, ec);  // keep the disk bounded
      } else {
        ++take_failures;
      }
      take_stop = 0.0;
      next_take += 60.0;
    }
    if (now >= next_sample) {
      const auto proc = chronus::soak::SampleProcess(process.pid());
      // A step in RSS after warm-up: say which mappings grew (what to look at, not a verdict).
      std::vector<chronus::soak::Mapping> maps = chronus::soak::ReadMappings(process.pid());
      if (!samples.empty() && proc.rss_kib - samples.back().rss_kib >= 512) {
        std::printf("  RSS +%ld KiB at %.0f s, by mapping:\n%s",
                    proc.rss_kib - samples.back().rss_kib, now - start,
                    chronus::soak::DiffMappings(last_maps, maps, 256).c_str());
      }
      last_maps = std::move(maps);
      auto status = client.Status(1000);
      if (!status) {
        ++status_failures;
      } else {
        Sample s{now - start,
                 proc.rss_kib,
                 proc.fds,
                 proc.threads,
                 (*status)["worker_replacements"],
                 (*status)["recording"] != 0,
                 (*status)["xruns"],
                 (*status)["late_blocks"],
                 (*status)["worst_block_us"],
                 (*status)["recorded_frames"],
                 (*status)["dropped_commands"],
                 (*status)["bad_messages"]};
        samples.push_back(s);
        if (csv_file) {
          std::fprintf(csv_file, "%.0f,%ld,%d,%d,%.0f,%.0f,%.0f,%.1f,%.0f,%.0f,%.0f\n", s.t,
                       s.rss_kib, s.fds, s.threads, s.worker_replacements, s.xruns, s.late_blocks,
                       s.worst_block_us, s.recorded_frames, s.dropped_commands, s.bad_messages);
          std::fflush(csv_file);
        }
        if (samples.size() % 6 == 0) {
          std::printf(
              "  %5.1f min: RSS %ld KiB, fds %d, threads %d (worker replacements %.0f), "
              "xruns %.0f, late blocks %.0f, worst block %.0f us\n",
              s.t / 60, s.rss_kib, s.fds, s.threads, s.worker_replacements, s.xruns, s.late_blocks,
              s.worst_block_us);
          std::fflush(stdout);
        }
      }
      next_sample += 10.0;
    }
    // Drain replies we do not wait for, then sleep until the next event.
    lo_server_recv_noblock(client.server(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (csv_file) std::fclose(csv_file);
  const int code = process.Stop(SIGTERM, 10.0);

  if (samples.size() < 4) {
    std::fprintf(stderr, "too few samples\n");
    return 1;
  }
  // Warm-up: the first quarter of the run (at least a minute): one-time growth (thread arenas,
  // the first takes and presets, the first failovers) happens there.
  const double warm_s = std::max(60.0, minutes * 15.0);
  size_t warm = 0;
  while (warm + 1 < samples.size() && samples[warm].t < warm_s) ++warm;
  const Sample& w = samples[warm];
  const Sample& last = samples.back();
  long max_rss = 0;
  int min_fds = 1 << 30, max_fds = 0;
  int idle_fds = -1;  // descriptors while no take is open, at the first such sample
  for (size_t i = warm; i < samples.size(); ++i) {
    max_rss = std::max(max_rss, samples[i].rss_kib);
    if (samples[i].recording) continue;  // a take holds one more descriptor while it is open
    if (idle_fds < 0) idle_fds = samples[i].fds;
    min_fds = std::min(min_fds, samples[i].fds);
    max_fds = std::max(max_fds, samples[i].fds);
  }
  // Late blocks and xruns per minute, first half after warm-up vs second half.
  const Sample& mid = samples[warm + (samples.size() - 1 - warm) / 2];
  auto per_min = [](const Sample& a, const Sample& b, double Sample::*field) {
    return b.t > a.t ? (b.*field - a.*field) / ((b.t - a.t) / 60.0) : 0.0;
  };
  std::printf("realtime soak: %.1f min, %llu control messages, %d takes (%d failed), exit %d\n",
              last.t / 60, static_cast<unsigned long long>(messages), takes, take_failures, code);
  // A replaced worker's thread ends and is freed (only one spinning forever would stay, and the
  // soak injects no fault): RSS and the thread count stay flat through replacements too.
  const long growth = max_rss - w.rss_kib;
  std::printf("  RSS at warm-up (%.0f s) %ld KiB, max after %ld KiB, end %ld KiB: growth %ld KiB\n",
              w.t, w.rss_kib, max_rss, last.rss_kib, growth);
  std::printf(
      "  fds %d..%d after warm-up (at warm-up %d); threads %d at warm-up, %d at the end "
      "(worker replacements %.0f at warm-up, %.0f at the end)\n",
      min_fds, max_fds, w.fds, w.threads, last.threads, w.worker_replacements,
      last.worker_replacements);
  std::printf("  late blocks/min %.2f first half, %.2f second half (total %.0f)\n",
              per_min(w, mid, &Sample::late_blocks), per_min(mid, last, &Sample::late_blocks),
              last.late_blocks);
  std::printf("  xruns/min %.2f first half, %.2f second half (total %.0f); worst block %.0f us\n",
              per_min(w, mid, &Sample::xruns), per_min(mid, last, &Sample::xruns), last.xruns,
              last.worst_block_us);
  std::printf("  presets: %d saved, %d loaded, %d failed\n", presets_saved, presets_loaded,
              preset_failures);
  std::printf("  dropped commands %.0f, bad messages %.0f, /status unanswered %d\n",
              last.dropped_commands, last.bad_messages, status_failures);
  const bool ok = code == 0 && growth < 1024 && last.threads == w.threads && min_fds == idle_fds &&
                  max_fds == idle_fds && take_failures == 0 && preset_failures == 0 &&
                  status_failures == 0;
  std::printf("realtime soak: %s\n", ok ? "PASS (RSS, fds and threads flat)" : "FAIL");
  if (ok) fs::remove_all(dir);
  return ok ? 0 : 1;
}
