#include "firmware/log/log.h"

#include <time.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>

#include <boost/lockfree/spsc_queue.hpp>

namespace chronus::firmware {

namespace {

constexpr size_t kRtLanes = 32;
constexpr size_t kRtLaneCapacity = 256;

struct RtLane {
  boost::lockfree::spsc_queue<RtLogRecord, boost::lockfree::capacity<kRtLaneCapacity>> queue;
  std::atomic<bool> taken{false};
};

RtLane g_lanes[kRtLanes];
thread_local RtLane* t_lane = nullptr;
std::atomic<uint64_t> g_dropped{0};
std::atomic<bool> g_running{false};
std::thread g_thread;
std::mutex g_wake_mutex;
std::condition_variable g_wake;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void WriteLine(LogLevel level, int64_t time_ns, std::string_view text) {
  std::fprintf(stderr, "[%10.3f] chronus %s: %.*s\n", static_cast<double>(time_ns) * 1e-9,
               LevelName(level), static_cast<int>(text.size()), text.data());
}

}  // namespace

void Log::Write(LogLevel level, std::string_view text) { WriteLine(level, NowNs(), text); }

void Log::PushRt(LogLevel level, const char* format, double a0, double a1, double a2, double a3,
                 uint8_t arg_count) {
  RtLogRecord record{level, arg_count, format, {a0, a1, a2, a3}, 0};
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO, no syscall
  record.time_ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  if (t_lane == nullptr || !t_lane->queue.push(record)) {
    g_dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

std::string Log::FormatRecord(const RtLogRecord& record) {
  std::string out;
  std::string_view format = record.format;
  size_t arg = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '{' && i + 1 < format.size() && format[i + 1] == '}') {
      if (arg < record.arg_count && arg < 4) {
        char buffer[32];
        std::snprintf(buffer, sizeof(buffer), "%.6g", record.args[arg]);
        out += buffer;
      } else {
        out += "{}";
      }
      ++arg;
      ++i;
    } else {
      out += format[i];
    }
  }
  return out;
}

bool Log::RegisterRtThread() {
  if (t_lane != nullptr) return true;
  for (RtLane& lane : g_lanes) {
    bool expected = false;
    if (lane.taken.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      t_lane = &lane;
      return true;
    }
  }
  return false;
}

void Log::UnregisterRtThread() {
  if (t_lane == nullptr) return;
  t_lane->taken.store(false, std::memory_order_release);
  t_lane = nullptr;
}

void Log::Drain() {
  RtLogRecord record;
  for (RtLane& lane : g_lanes) {
    while (lane.queue.pop(record)) WriteLine(record.level, record.time_ns, FormatRecord(record));
  }
}

void Log::Start() {
  if (g_running.exchange(true)) return;
  g_thread = std::thread([] {
    pthread_setname_np(pthread_self(), "chronus-log");
    while (g_running.load()) {
      Drain();
      std::unique_lock lock(g_wake_mutex);
      g_wake.wait_for(lock, std::chrono::milliseconds(20));
    }
    Drain();
  });
}

void Log::Stop() {
  if (!g_running.exchange(false)) return;
  g_wake.notify_all();
  g_thread.join();
}

uint64_t Log::dropped() { return g_dropped.load(std::memory_order_relaxed); }

}  // namespace chronus::firmware
