// The OSC control server (liblo): turns messages into typed commands for the audio thread, answers
// /status, starts and stops recordings. Runs on liblo's own (non-RT) server thread.
#pragma once

#include <lo/lo.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "firmware/engine/control_queue.h"
#include "firmware/recorder/recorder.h"

namespace chronus::firmware {

/// One /status.reply entry: a key and an integer or float value.
struct StatusEntry {
  std::string key;
  double value;
  bool is_float = false;
};

struct OscServerConfig {
  int port = 9000;                     ///< UDP port.
  int receive_buffer_bytes = 4 << 20;  ///< SO_RCVBUF, so bursts are not lost in the kernel.
};

/// Address space (types: i int32, f float32; numbers of either type are accepted):
///   /note/on i f     MIDI note 0..127, velocity 0..1 (0 = note off)
///   /note/off i      MIDI note
///   /param/<name> f  a synth parameter of dsp::kParamSpecs in its unit (cutoff Hz, attack s, ...)
///   /record/start [s name]   replies /done /record/start <path> or /fail /record/start <reason>
///   /record/stop             replies /done /record/stop <path> or /fail ...
///   /status [i port] replies /status.reply with alternating string keys and values, to the
///                    sender, or to the sender's host at `port` when given
/// Anything else (unknown address, wrong argument count or type, out-of-range value, garbage
/// bytes) is refused, counted in bad_messages and logged (rate-limited); the sound is not touched.
class OscServer {
 public:
  using StatusFn = std::function<std::vector<StatusEntry>()>;

  /// `status` is called on the OSC thread to build /status.reply; `recorder` may be null.
  OscServer(const OscServerConfig& config, ControlQueue& control, Recorder* recorder,
            StatusFn status);
  ~OscServer();
  OscServer(const OscServer&) = delete;
  OscServer& operator=(const OscServer&) = delete;

  /// Binds the port and starts the server thread. Main thread. Returns "" or an error message.
  std::string Start();
  void Stop();

  int port() const { return port_; }
  /// Messages refused (malformed, unknown, out of range). Any thread.
  uint64_t bad_messages() const { return bad_messages_.load(std::memory_order_relaxed); }
  /// Messages accepted. Any thread.
  uint64_t messages() const { return messages_.load(std::memory_order_relaxed); }

 private:
  static int OnMessage(const char* path, const char* types, lo_arg** argv, int argc,
                       lo_message message, void* user_data);
  static void OnError(int number, const char* text, const char* where);
  int Handle(const std::string& path, const char* types, lo_arg** argv, int argc,
             lo_message message);
  void Refuse(const std::string& path, const std::string& reason, lo_message message);
  void Reply(lo_message to, const char* address, lo_message reply);
  void ReplyResult(lo_message to, const std::string& address, bool ok, const std::string& text);

  OscServerConfig config_;
  ControlQueue::Producer* control_;  // this server's lane, pushed from the liblo thread only
  Recorder* recorder_;
  StatusFn status_;
  lo_server_thread thread_ = nullptr;
  int port_ = 0;
  std::atomic<uint64_t> bad_messages_{0};
  std::atomic<uint64_t> messages_{0};
};

}  // namespace chronus::firmware
