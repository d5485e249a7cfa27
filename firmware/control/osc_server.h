// The OSC control server (liblo): turns messages into typed commands for the audio thread, answers
// /status, starts and stops recordings. Runs on its own (non-RT) thread, "chronus-osc", which
// serves the UDP port and the optional TCP port alike. Validation and translation live in
// osc_translate.h (pure, fuzzed); this file is the liblo glue and the effects.
#pragma once

#include <lo/lo.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dsp/synth_params.h"
#include "firmware/control/net_allow_list.h"
#include "firmware/control/osc_subscriptions.h"
#include "firmware/control/rate_limit.h"
#include "firmware/engine/control_queue.h"
#include "firmware/engine/engine_clock.h"
#include "firmware/recorder/recorder.h"

namespace chronus::firmware {

/// One /status.reply entry: a key and an integer or float value.
struct StatusEntry {
  std::string key;
  double value;
  bool is_float = false;
  std::string text{};  ///< When not empty, the value sent is this string (e.g. a worker's state).
};

/// What the OSC server asks of the rest of the firmware for presets and /health; all called on
/// the OSC thread. Unset hooks make those addresses answer /fail.
struct OscStateHooks {
  /// Saves the current patch into `slot`; returns "" or the error.
  std::function<std::string(int slot)> save_preset;
  /// Reads preset `slot` into the commands that set it; returns "" or the error.
  std::function<std::string(int slot, std::vector<Command>* commands)> load_preset;
  /// Entries of /health.reply.
  std::function<std::vector<StatusEntry>()> health;
  /// /midi/learn <param>: arms MIDI learn for `param`; returns "" or why not (midi_learn_osc.h).
  std::function<std::string(dsp::ParamId param)> midi_learn = nullptr;
};

/// What an extra address handler (see OscServer::SetExtraHandler) did with a message.
struct OscExtraResult {
  bool handled = false;  ///< false: not one of its addresses (the built-in address space runs).
  std::string refusal;   ///< handled but refused (counted in bad_messages): the reason.
  /// Refused and already answered by the handler (else the server answers /fail <address>
  /// <refusal>).
  bool answered = false;
  /// Accepted command scheduled at the frame of its bundle's timetag (counted in
  /// timed_commands).
  bool timed = false;
};
/// An extra address handler, called on the OSC thread before the built-in address space. It may
/// queue commands on `lane` (the server's own control lane).
using OscExtraHandler =
    std::function<OscExtraResult(std::string_view path, const char* types, lo_arg** argv, int argc,
                                 lo_message message, ControlQueue::Producer& lane)>;

struct OscServerConfig {
  int port = 9000;                     ///< UDP port.
  int receive_buffer_bytes = 4 << 20;  ///< SO_RCVBUF, so bursts are not lost in the kernel.
  /// Replies (/status.reply, /done, /fail) sent per second at most, and how many may be saved up:
  /// bounds what a flood of requests (possibly with a forged sender address) makes the box send.
  double replies_per_second = 500.0;
  double reply_burst = 100.0;
  /// /record/start and /record/stop accepted per second at most (each creates or finalizes a file
  /// on the SD card and blocks this thread meanwhile), and how many may be saved up.
  double recordings_per_second = 2.0;
  double recording_burst = 8.0;
  /// Local address the UDP port is bound to ("" = every interface; "127.0.0.1" = this machine
  /// only; an IPv6 address binds an IPv6 socket that also takes IPv4-mapped senders).
  std::string bind_address{};
  /// TCP port (OSC 1.0 stream framing: a 32-bit big-endian length before each packet), 0 = none.
  /// Binds every interface (liblo 0.31 has no bind address for TCP); the allow-list applies.
  int tcp_port = 0;
  /// Sender networks allowed (CIDR, see NetAllowList); empty = everyone. Messages from other
  /// senders are dropped unanswered and counted (refused_senders).
  std::vector<std::string> allow{};
  /// Subscriptions (/notify): each parameter is pushed at most notify_rate_hz times a second,
  /// coalesced to its latest value (parameters are polled every 5 ms, so an isolated change goes
  /// out within ~5 ms); subscribers at most; seconds until a subscriber that did not renew with
  /// /notify 1 is dropped.
  double notify_rate_hz = 30.0;
  size_t max_subscribers = 16;
  double notify_ttl_s = 60.0;
};

/// Address space (types: i int32, f float32; numbers of either type are accepted, also h and d):
///   /note/on i f     MIDI note 0..127, velocity 0..1 (0 = note off)
///   /note/off i      MIDI note
///   /param/<name> f  a synth parameter of dsp::kParamSpecs in its unit (cutoff Hz, attack s, ...)
///   /record/start [s name]   replies /done /record/start <path> or /fail /record/start <reason>;
///                            a name is at most 64 bytes, without '/', '\' or control characters
///   /record/stop             replies /done /record/stop <path> or /fail ...
///   /midi/learn s param  the next MIDI CC moved is bound to `param`; replies /done /midi/learn
///                    <param> or /fail /midi/learn <reason> (see midi_learn_osc.h)
///   /status [i port] replies /status.reply with alternating string keys and values, to the
///                    sender, or to the sender's host at `port` when given
/// Bundles: liblo's own queue of future-dated messages is switched off (it is unbounded); commands
/// in a bundle with a future timetag are scheduled at its engine frame instead (SetClock), others
/// apply at once (see OSC.md). Anything else (unknown address, wrong argument count or type,
/// out-of-range value, garbage bytes) is refused, counted in bad_messages and logged
/// (rate-limited); the sound is not touched.
///
/// /status.reply also carries this server's own counters, appended after the caller's entries:
///   osc_messages        messages accepted (commands queued, requests served)
///   osc_queue_full      commands dropped because the control lane stayed full ("our" drops: the
///                       audio thread did not keep up; also included in dropped_commands)
///   osc_queue_waits     commands that found the lane full and got in after waiting (see
///                       kLaneWait: back-pressure instead of loss)
///   kernel_drops        datagrams the kernel dropped on the OSC socket (receive buffer full)
///   throttled_requests  requests refused by the reply or recording rate limits
class OscServer {
 public:
  using StatusFn = std::function<std::vector<StatusEntry>()>;

  /// `status` is called on the OSC thread to build /status.reply; `recorder` may be null.
  OscServer(const OscServerConfig& config, ControlQueue& control, Recorder* recorder,
            StatusFn status);
  ~OscServer();
  OscServer(const OscServer&) = delete;
  OscServer& operator=(const OscServer&) = delete;

  /// Installs the preset and /health hooks. Main thread, before Start.
  void SetStateHooks(OscStateHooks hooks) { hooks_ = std::move(hooks); }
  /// The engine's clock: commands in a bundle with a future timetag are scheduled at the engine
  /// frame of that time (sample-accurate). Without it, bundles apply at once. Main thread, before
  /// Start.
  void SetClock(const EngineClock* clock) { clock_ = clock; }
  /// The source of the /param notifications to subscribers: the value of a synth parameter as
  /// the engine plays it (AudioEngine::param_value) and a counter that changes whenever one
  /// changes (AudioEngine::param_changes), whoever changed it. Both are called on the notifier
  /// thread. Unset: /notify answers /fail. Main thread, before Start.
  void SetParamSource(std::function<float(dsp::ParamId)> value, std::function<uint64_t()> changes) {
    param_value_ = std::move(value);
    param_changes_ = std::move(changes);
  }
  /// Installs the handler of extra addresses (sound layers, generative mode). Main thread, before
  /// Start.
  void SetExtraHandler(OscExtraHandler handler) { extra_ = std::move(handler); }

  /// Binds the port and starts the server thread. Main thread. Returns "" or an error message.
  std::string Start();
  /// Stops the server thread, then handles on the calling thread the datagrams that had already
  /// arrived (at most kMaxDatagramsHandledOnStop: a flood cannot hold up the shutdown), so that a
  /// command sent just before the shutdown is not lost; closes the socket. Main thread.
  void Stop();
  static constexpr int kMaxDatagramsHandledOnStop = 4096;

  int port() const { return port_; }
  /// /ping messages handled: the watchdog's proof that the control thread makes progress.
  uint64_t pings() const { return pings_.load(std::memory_order_relaxed); }
  /// Messages refused (malformed, unknown, out of range). Any thread.
  uint64_t bad_messages() const { return bad_messages_.load(std::memory_order_relaxed); }
  /// Messages accepted. Any thread.
  uint64_t messages() const { return messages_.load(std::memory_order_relaxed); }
  /// Commands not queued because this server's control lane was full (the audio thread did not
  /// keep up): counted by the lane, reported here too. Any thread.
  uint64_t queue_full() const { return control_ != nullptr ? control_->dropped() : 0; }
  /// Commands that found the lane full and were queued after waiting. Any thread.
  uint64_t queue_waits() const { return control_ != nullptr ? control_->waits() : 0; }
  /// How long the server thread waits for room in a full control lane before dropping a command
  /// (back-pressure: meanwhile the socket's receive buffer holds what arrives). One period of the
  /// largest supported size (1024 frames at 48 kHz is 21 ms); a lane still full after that is
  /// congested and drops at once until it has room again (ControlQueue::pushNonRtWaiting).
  static constexpr std::chrono::microseconds kLaneWait{25000};
  /// Requests refused by a rate limit (replies, recordings). Any thread.
  uint64_t throttled() const { return throttled_.load(std::memory_order_relaxed); }
  /// Datagrams the kernel dropped on this server's socket since Start (receive buffer full), read
  /// with SO_MEMINFO; 0 when unavailable or not running. Any thread.
  uint64_t kernel_drops() const;
  /// The socket's receive buffer as granted by the kernel (bytes), 0 when not running.
  int receive_buffer_bytes() const { return receive_buffer_bytes_; }
  /// The TCP port, 0 when none.
  int tcp_port() const { return tcp_port_; }
  /// Messages dropped because their sender is not in the allow-list. Any thread.
  uint64_t refused_senders() const { return refused_senders_.load(std::memory_order_relaxed); }
  /// Commands that arrived in a bundle with a future timetag (scheduled at its frame). Any thread.
  uint64_t timed_commands() const { return timed_commands_.load(std::memory_order_relaxed); }
  /// Subscribers now; /param notifications sent; subscribers dropped for not renewing.
  size_t subscribers() const { return subscriptions_.size(); }
  uint64_t notifications() const { return notifications_.load(std::memory_order_relaxed); }
  uint64_t expired_subscribers() const { return subscriptions_.expired(); }

 private:
  static int OnMessage(const char* path, const char* types, lo_arg** argv, int argc,
                       lo_message message, void* user_data);
  static void OnError(int number, const char* text, const char* where);
  int Handle(const char* path, const char* types, lo_arg** argv, int argc, lo_message message);
  void Refuse(std::string_view path, std::string_view reason);
  bool TakeReply();
  void Reply(lo_message to, const char* address, lo_message reply);
  void ReplyResult(lo_message to, std::string_view address, bool ok, const std::string& text);
  void SendStatus(lo_message to, int reply_port, bool health = false);
  void Preset(lo_message to, std::string_view path, bool save, int slot);
  void Record(lo_message to, std::string_view path, bool start, std::string_view name);
  void Notify(lo_message to, std::string_view path, bool on);
  void NotifierLoop();
  std::string BindUdp(lo_server server);
  lo_server ServerOf(lo_message message) const;
  void ReceiveLoop();
  static constexpr int kReceivePollMs = 50;  // how soon the receiver thread sees Stop

  OscServerConfig config_;
  ControlQueue::Producer* control_;  // this server's lane, pushed from the OSC thread only
  Recorder* recorder_;
  StatusFn status_;
  lo_server udp_ = nullptr;  // both served by receiver_ (and by Stop after the join)
  lo_server tcp_ = nullptr;
  std::thread receiver_;
  std::atomic<bool> receiving_{false};
  int port_ = 0;
  int tcp_port_ = 0;
  const EngineClock* clock_ = nullptr;
  NetAllowList allow_;
  OscSubscriptions subscriptions_;
  std::thread notifier_;
  std::mutex notifier_mutex_;
  std::condition_variable notifier_wake_;
  bool notifier_stop_ = false;
  std::atomic<uint64_t> refused_senders_{0};
  std::atomic<uint64_t> timed_commands_{0};
  std::atomic<uint64_t> notifications_{0};
  std::atomic<int> fd_{-1};
  int receive_buffer_bytes_ = 0;
  uint64_t kernel_drops_at_start_ = 0;
  TokenBucket reply_limit_;   // OSC thread only
  TokenBucket record_limit_;  // OSC thread only
  std::atomic<uint64_t> bad_messages_{0};
  std::atomic<uint64_t> messages_{0};
  std::atomic<uint64_t> throttled_{0};
  std::atomic<uint64_t> pings_{0};
  OscStateHooks hooks_;
  std::function<float(dsp::ParamId)> param_value_;
  std::function<uint64_t()> param_changes_;
  OscExtraHandler extra_;
};

}  // namespace chronus::firmware
