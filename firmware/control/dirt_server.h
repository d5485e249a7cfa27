// The SuperDirt protocol server (liblo, its own UDP port, default 57120, on its own non-RT
// thread): /dirt/play in timetagged bundles becomes a DirtEvent at the engine frame of the
// bundle's timetag for the sample layer; /dirt/handshake is answered with /dirt/handshake/reply as
// SuperDirt does; /samples/reload reloads the sample bank on a loader thread and swaps it in.
// Translation lives in dirt_translate.h (pure); this is the liblo glue.
#pragma once

#include <lo/lo.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "firmware/control/dirt_translate.h"
#include "firmware/control/rate_limit.h"
#include "firmware/engine/engine_clock.h"
#include "firmware/engine/sample_layer.h"
#include "firmware/samples/sample_bank.h"

namespace chronus::firmware {

struct DirtServerConfig {
  int port = 57120;                    ///< UDP port.
  int receive_buffer_bytes = 4 << 20;  ///< SO_RCVBUF (a pattern sends bursts of bundles).
  DirtSynthMap synths;                 ///< `s` names played by the synth.
  SampleBankConfig samples;            ///< What /samples/reload loads.
  double replies_per_second = 20.0;    ///< Handshake and reload replies, at most.
  double reply_burst = 20.0;
};

/// Address space (all on `port`):
///   /dirt/play k v k v ...   an event (see TranslateDirtPlay), played at its bundle's timetag
///                            (a message outside a bundle, or a past timetag: at once)
///   /dirt/handshake          replies /dirt/handshake/reply "&serverHostname" "127.0.0.1"
///                            "&serverPort" 57110 "&controlBusIndices" 0 1 ... to the sender
///   /samples/reload          reloads the bank from its directory; replies /done /samples/reload
///                            <summary> or /fail /samples/reload <reason> when done
/// Anything else, and refused /dirt/play messages, are counted in bad_messages and logged
/// (rate-limited); the box keeps playing.
class DirtServer {
 public:
  DirtServer(const DirtServerConfig& config, SampleLayer& layer);
  ~DirtServer();
  DirtServer(const DirtServer&) = delete;
  DirtServer& operator=(const DirtServer&) = delete;

  /// The engine clock that maps timetags to engine frames (the one OSC bundles use: one clock for
  /// every timed input). Main thread, before Start; without one every event plays at once.
  void SetClock(const EngineClock* clock) { clock_ = clock; }
  /// Binds the port and starts the thread. Main thread. Returns "" or an error message.
  std::string Start();
  /// Stops the thread and any reload in progress. Main thread.
  void Stop();

  int port() const { return port_; }
  uint64_t events() const { return events_.load(std::memory_order_relaxed); }
  uint64_t bad_messages() const { return bad_.load(std::memory_order_relaxed); }
  uint64_t unknown_keys() const { return unknown_keys_.load(std::memory_order_relaxed); }
  uint64_t clamped_values() const { return clamped_.load(std::memory_order_relaxed); }
  uint64_t handshakes() const { return handshakes_.load(std::memory_order_relaxed); }
  uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }
  /// Report of the last bank load (what was loaded, what was skipped and why). Any thread.
  std::string last_report() const;

 private:
  static int OnMessage(const char* path, const char* types, lo_arg** argv, int argc,
                       lo_message message, void* user_data);
  static void OnError(int number, const char* text, const char* where);
  int Handle(const char* path, const char* types, lo_arg** argv, int argc, lo_message message);
  void Refuse(std::string_view path, const std::string& reason);
  uint64_t FrameOfTimetag(lo_timetag tag) const;
  void Reply(lo_message to, const char* address, lo_message reply);
  void StartReload(lo_message from);
  void ReloadThread(lo_address reply_to);

  DirtServerConfig config_;
  SampleLayer& layer_;
  const EngineClock* clock_ = nullptr;
  lo_server_thread thread_ = nullptr;
  int port_ = 0;
  TokenBucket reply_limit_;
  std::thread loader_;
  std::atomic<bool> loading_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex report_mutex_;  // non-RT threads only
  std::string report_;
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> bad_{0};
  std::atomic<uint64_t> unknown_keys_{0};
  std::atomic<uint64_t> clamped_{0};
  std::atomic<uint64_t> handshakes_{0};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> logged_{0};
};

}  // namespace chronus::firmware
