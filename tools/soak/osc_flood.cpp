#include "tools/soak/osc_flood.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <lo/lo.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "firmware/control/osc_translate.h"

namespace chronus::soak {

namespace {

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<uint8_t> Serialise(lo_message m, const char* path) {
  size_t size = 0;
  void* data = lo_message_serialise(m, path, nullptr, &size);
  std::vector<uint8_t> bytes(static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  std::free(data);
  lo_message_free(m);
  return bytes;
}

// A musically plausible mix, pre-serialised: note on, parameter change, note off, parameter.
std::vector<std::vector<uint8_t>> Messages(int sender) {
  std::vector<std::vector<uint8_t>> out;
  for (int i = 0; i < 64; ++i) {
    const int note = 36 + (sender * 7 + i * 5) % 48;
    lo_message on = lo_message_new();
    lo_message_add_int32(on, note);
    lo_message_add_float(on, 0.3f);
    out.push_back(Serialise(on, "/note/on"));
    lo_message cutoff = lo_message_new();
    lo_message_add_float(cutoff, 200.0f + 50.0f * static_cast<float>(i));
    out.push_back(Serialise(cutoff, "/param/cutoff"));
    lo_message off = lo_message_new();
    lo_message_add_int32(off, note);
    out.push_back(Serialise(off, "/note/off"));
    lo_message res = lo_message_new();
    lo_message_add_float(res, 0.1f + 0.01f * static_cast<float>(i % 50));
    out.push_back(Serialise(res, "/param/resonance"));
  }
  return out;
}

struct SenderTotals {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> skipped{0};
};

void Send(const FloodConfig& config, int index, double start, SenderTotals* totals) {
  if (config.sender_cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(config.sender_cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(config.port));
  const auto messages = Messages(index);
  const double rate = config.messages_per_second / config.senders;
  const uint64_t total = static_cast<uint64_t>(rate * config.seconds);
  constexpr uint64_t kBatch = 64;
  mmsghdr headers[kBatch];
  iovec iov[kBatch];
  // A sender that fell behind (descheduled) skips what it missed beyond 5 ms instead of catching
  // up in a burst: the flood never exceeds its rate.
  const uint64_t max_backlog = std::max<uint64_t>(kBatch, static_cast<uint64_t>(rate * 0.005));
  uint64_t sent = 0;
  size_t next = 0;
  while (Now() < start) std::this_thread::yield();
  while (sent < total) {
    const double elapsed = std::max(0.0, Now() - start);
    const uint64_t due = std::min(total, static_cast<uint64_t>(elapsed * rate));
    if (due > sent + max_backlog) {
      totals->skipped.fetch_add(due - max_backlog - sent);
      sent = due - max_backlog;
    }
    if (due <= sent) {
      timespec pause{0, 200000};  // 0.2 ms
      nanosleep(&pause, nullptr);
      continue;
    }
    const int n = static_cast<int>(std::min<uint64_t>(due - sent, kBatch));
    for (int i = 0; i < n; ++i) {
      auto& bytes = messages[next];
      next = (next + 1) % messages.size();
      iov[i].iov_base = const_cast<uint8_t*>(bytes.data());
      iov[i].iov_len = bytes.size();
      headers[i] = {};
      headers[i].msg_hdr.msg_name = &addr;
      headers[i].msg_hdr.msg_namelen = sizeof(addr);
      headers[i].msg_hdr.msg_iov = &iov[i];
      headers[i].msg_hdr.msg_iovlen = 1;
    }
    const int done = sendmmsg(fd, headers, static_cast<unsigned>(n), 0);
    if (done < 0) {
      totals->errors.fetch_add(static_cast<uint64_t>(n));
      sent += static_cast<uint64_t>(n);
      continue;
    }
    totals->sent.fetch_add(static_cast<uint64_t>(done));
    if (done < n) totals->errors.fetch_add(static_cast<uint64_t>(n - done));
    sent += static_cast<uint64_t>(n);
  }
  close(fd);
}

struct Prober {
  lo_server server = nullptr;
  lo_address address = nullptr;
  bool got = false;
  std::map<std::string, double> values;

  explicit Prober(int port) {
    server = lo_server_new_with_proto(nullptr, LO_UDP, nullptr);
    address = lo_address_new("127.0.0.1", std::to_string(port).c_str());
    lo_server_add_method(server, "/status.reply", nullptr, &Prober::OnReply, this);
  }
  ~Prober() {
    lo_address_free(address);
    lo_server_free(server);
  }

  static int OnReply(const char*, const char* types, lo_arg** argv, int argc, lo_message,
                     void* user) {
    auto* self = static_cast<Prober*>(user);
    self->got = true;
    self->values.clear();
    for (int i = 0; i + 1 < argc; i += 2) {
      if (types[i] != 's') continue;
      const double v = chronus::firmware::OscNumber(types[i + 1], argv[i + 1]).value_or(0.0);
      self->values[reinterpret_cast<const char*>(argv[i])] = v;
    }
    return 0;
  }

  // Sends /status and waits for the reply; returns the round trip in ms, or -1.
  double Probe(int timeout_ms) {
    // Drop a late reply to an earlier probe.
    while (lo_server_recv_noblock(server, 0) > 0) {
    }
    got = false;
    lo_message m = lo_message_new();
    const double t0 = Now();
    lo_send_message_from(address, server, "/status", m);
    lo_message_free(m);
    const double deadline = t0 + timeout_ms / 1000.0;
    while (!got) {
      const double left_ms = (deadline - Now()) * 1000.0;
      if (left_ms <= 0) return -1.0;
      lo_server_recv_noblock(server, std::max(1, static_cast<int>(left_ms)));
    }
    return (Now() - t0) * 1000.0;
  }
};

}  // namespace

std::optional<std::map<std::string, double>> QueryStatus(int port, int timeout_ms) {
  Prober prober(port);
  if (prober.Probe(timeout_ms) < 0) return std::nullopt;
  return prober.values;
}

FloodResult RunFlood(const FloodConfig& config) {
  FloodResult result;
  SenderTotals totals;
  Prober prober(config.port);
  const double start = Now() + 0.01;
  std::vector<std::thread> threads;
  for (int i = 0; i < config.senders; ++i) {
    threads.emplace_back(Send, std::cref(config), i, start, &totals);
  }
  while (Now() < start) std::this_thread::yield();
  const double end = start + config.seconds;
  double next_probe = start + config.status_interval_ms / 1000.0;
  while (Now() < end) {
    if (Now() < next_probe) {
      timespec pause{0, 1000000};
      nanosleep(&pause, nullptr);
      continue;
    }
    ++result.probes;
    const double latency = prober.Probe(config.status_timeout_ms);
    if (latency >= 0) {
      ++result.answered;
      result.latency_ms.push_back(latency);
    }
    next_probe += config.status_interval_ms / 1000.0;
    if (next_probe < Now()) next_probe = Now();
  }
  for (auto& t : threads) t.join();
  result.seconds = Now() - start;
  result.sent = totals.sent.load();
  result.send_errors = totals.errors.load();
  result.skipped = totals.skipped.load();
  if (!result.latency_ms.empty()) {
    std::vector<double> sorted = result.latency_ms;
    std::sort(sorted.begin(), sorted.end());
    result.max_latency_ms = sorted.back();
    result.p99_latency_ms =
        sorted[static_cast<size_t>(0.99 * static_cast<double>(sorted.size() - 1))];
  }
  return result;
}

ProcSample SampleProcess(int pid) {
  ProcSample sample;
  const std::string base = "/proc/" + std::to_string(pid);
  if (FILE* f = std::fopen((base + "/statm").c_str(), "r")) {
    long size = 0, resident = 0;
    if (std::fscanf(f, "%ld %ld", &size, &resident) == 2) {
      sample.rss_kib = resident * (sysconf(_SC_PAGESIZE) / 1024);
    }
    std::fclose(f);
  }
  if (DIR* dir = opendir((base + "/fd").c_str())) {
    int n = 0;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++n;
    }
    closedir(dir);
    sample.fds = n;
  }
  if (DIR* dir = opendir((base + "/task").c_str())) {
    int n = 0;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++n;
    }
    closedir(dir);
    sample.threads = n;
  }
  return sample;
}

std::vector<Mapping> ReadMappings(int pid) {
  std::vector<Mapping> maps;
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // A mapping's header: "start-end perms offset dev inode [name]"; then "Key: value kB" lines.
    const size_t colon = line.find(':');
    const size_t space = line.find(' ');
    if (space != std::string::npos && (colon == std::string::npos || colon > space)) {
      std::istringstream header(line);
      std::string range, perms, offset, dev, inode, name;
      header >> range >> perms >> offset >> dev >> inode;
      std::getline(header >> std::ws, name);
      maps.push_back({range + " " + perms, name.empty() ? "[anon]" : name, 0});
    } else if (!maps.empty() && line.rfind("Rss:", 0) == 0) {
      maps.back().rss_kib = std::atol(line.c_str() + 4);
    }
  }
  return maps;
}

std::string DiffMappings(const std::vector<Mapping>& before, const std::vector<Mapping>& after,
                         long min_kib) {
  // Keyed by start address and name: a growing heap keeps its start.
  auto key = [](const Mapping& m) { return m.range.substr(0, m.range.find('-')) + m.name; };
  std::map<std::string, const Mapping*> old;
  for (const Mapping& m : before) old[key(m)] = &m;
  std::string out;
  auto line = [&out](long delta, const Mapping& m, const char* what) {
    out += (delta >= 0 ? "+" : "") + std::to_string(delta) + " KiB " + m.range + " " + m.name +
           what + "\n";
  };
  for (const Mapping& m : after) {
    auto it = old.find(key(m));
    if (it == old.end()) {
      if (m.rss_kib >= min_kib) line(m.rss_kib, m, " (new)");
      continue;
    }
    const long delta = m.rss_kib - it->second->rss_kib;
    if (std::labs(delta) >= min_kib) line(delta, m, "");
    old.erase(it);
  }
  for (const auto& entry : old) {
    const Mapping& m = *entry.second;
    if (m.rss_kib >= min_kib) line(-m.rss_kib, m, " (gone)");
  }
  return out;
}

}  // namespace chronus::soak
