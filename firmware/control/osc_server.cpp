#include "firmware/control/osc_server.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "firmware/control/midi_learn_osc.h"
#include "firmware/control/osc_translate.h"
#include "firmware/engine/timetag_frame.h"
#include "firmware/log/log.h"

namespace chronus::firmware {

namespace {

// liblo's error callback has no user pointer: errors (garbage bytes, malformed packets) are
// credited to the running server.
std::atomic<OscServer*> g_server{nullptr};
std::atomic<uint64_t> g_logged_refusals{0};

// Logs the first refusals and then one in a thousand, so a flood cannot flood the log.
bool ShouldLog() {
  const uint64_t n = g_logged_refusals.fetch_add(1, std::memory_order_relaxed);
  return n < 20 || n % 1000 == 0;
}

double MonotonicSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The socket's drop counter (sk_drops: datagrams refused because the receive buffer was full).
uint64_t SocketDrops(int fd) {
  if (fd < 0) return 0;
  uint32_t info[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof(info);
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) != 0) return 0;
  if (len < sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1)) return 0;
  return info[SK_MEMINFO_DROPS];
}

}  // namespace

OscServer::OscServer(const OscServerConfig& config, ControlQueue& control, Recorder* recorder,
                     StatusFn status)
    : config_(config),
      control_(control.AddProducerNonRt()),
      recorder_(recorder),
      status_(std::move(status)),
      subscriptions_(config.max_subscribers, config.notify_ttl_s),
      reply_limit_(config.replies_per_second, config.reply_burst),
      record_limit_(config.recordings_per_second, config.recording_burst) {}

OscServer::~OscServer() { Stop(); }

std::string OscServer::BindUdp(lo_server server) {
  // liblo 0.31 always binds every interface: bind our own socket to the address and put it in
  // place of liblo's (same descriptor number), which was bound to an ephemeral port.
  const bool v6 = config_.bind_address.find(':') != std::string::npos;
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(config_.port));
    if (inet_pton(AF_INET6, config_.bind_address.c_str(), &a->sin6_addr) != 1) length = 1;
    length = length == 1 ? 0 : sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(config_.port));
    length = inet_pton(AF_INET, config_.bind_address.c_str(), &a->sin_addr) == 1 ? sizeof(*a) : 0;
  }
  if (length == 0) return "OSC bind address '" + config_.bind_address + "' is not an IP address";
  const int own = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (own < 0) return std::string("cannot create the OSC socket: ") + std::strerror(errno);
  if (v6) {
    const int off = 0;
    setsockopt(own, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  if (bind(own, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    const int err = errno;
    close(own);
    return "cannot bind OSC UDP " + config_.bind_address + ":" + std::to_string(config_.port) +
           ": " + std::strerror(err);
  }
  const int fd = lo_server_get_socket_fd(server);
  if (fd < 0 || dup2(own, fd) < 0) {
    close(own);
    return "cannot install the OSC socket";
  }
  close(own);
  socklen_t bound_length = sizeof(storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &bound_length) == 0) {
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  }
  return {};
}

std::string OscServer::Start() {
  const std::string port = std::to_string(config_.port);
  if (control_ == nullptr) return "no free control queue lane for the OSC server";
  for (const std::string& network : config_.allow) {
    if (std::string error = allow_.Add(network); !error.empty()) {
      return "OSC allow-list: " + error;
    }
  }
  const bool bind_own = !config_.bind_address.empty();
  udp_ = lo_server_new_with_proto(bind_own ? "0" : port.c_str(), LO_UDP, &OscServer::OnError);
  if (udp_ == nullptr) return "cannot open OSC UDP port " + port + " (in use, or not permitted)";
  g_server.store(this);  // only a server that opened its port: a failed one takes no credit
  ConfigureOscLoServer(udp_);
  if (bind_own) {
    if (std::string error = BindUdp(udp_); !error.empty()) {
      Stop();
      return error;
    }
  }
  const int fd = lo_server_get_socket_fd(udp_);
  if (fd >= 0) {
    // SO_RCVBUFFORCE passes net.core.rmem_max when allowed (CAP_NET_ADMIN); else the plain
    // option, capped by rmem_max.
    int size = config_.receive_buffer_bytes;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    socklen_t len = sizeof(size);
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len) == 0) receive_buffer_bytes_ = size;
    kernel_drops_at_start_ = SocketDrops(fd);
    fd_.store(fd);
  }
  if (!bind_own) port_ = lo_server_get_port(udp_);
  lo_server_add_method(udp_, nullptr, nullptr, &OscServer::OnMessage, this);
  if (config_.tcp_port > 0) {
    const std::string tcp = std::to_string(config_.tcp_port);
    tcp_ = lo_server_new_with_proto(tcp.c_str(), LO_TCP, &OscServer::OnError);
    if (tcp_ == nullptr) {
      Stop();
      return "cannot open OSC TCP port " + tcp + " (in use, or not permitted)";
    }
    ConfigureOscLoServer(tcp_);
    tcp_port_ = lo_server_get_port(tcp_);
    lo_server_add_method(tcp_, nullptr, nullptr, &OscServer::OnMessage, this);
  }
  // One thread serves UDP and TCP alike: the control lane is single-producer, and the rate
  // limits and reply paths are this thread's own.
  receiving_.store(true);
  receiver_ = std::thread([this] { ReceiveLoop(); });
  if (param_value_ && param_changes_) {
    notifier_stop_ = false;
    notifier_ = std::thread([this] { NotifierLoop(); });
  }
  return {};
}

void OscServer::Stop() {
  if (notifier_.joinable()) {
    {
      std::lock_guard lock(notifier_mutex_);
      notifier_stop_ = true;
    }
    notifier_wake_.notify_all();
    notifier_.join();
  }
  if (receiver_.joinable()) {
    receiving_.store(false);
    receiver_.join();  // within kReceivePollMs
  }
  if (udp_ != nullptr) {
    // Handle what had already arrived (bounded: a flood cannot hold up the shutdown), so that a
    // command sent just before the shutdown is not lost. This thread is now the only one using
    // the server and the control lane (the join orders it after the receiver thread).
    for (int i = 0; i < kMaxDatagramsHandledOnStop && lo_server_recv_noblock(udp_, 0) > 0; ++i) {
    }
    fd_.store(-1);
    lo_server_free(udp_);
    udp_ = nullptr;
  }
  if (tcp_ != nullptr) {
    lo_server_free(tcp_);
    tcp_ = nullptr;
    tcp_port_ = 0;
  }
  OscServer* self = this;
  g_server.compare_exchange_strong(self, nullptr);
}

uint64_t OscServer::kernel_drops() const {
  const int fd = fd_.load();
  if (fd < 0) return 0;
  const uint64_t drops = SocketDrops(fd);
  return drops >= kernel_drops_at_start_ ? drops - kernel_drops_at_start_ : drops;
}

int OscServer::OnMessage(const char* path, const char* types, lo_arg** argv, int argc,
                         lo_message message, void* user_data) {
  auto* self = static_cast<OscServer*>(user_data);
  return self->Handle(path, types, argv, argc, message);
}

void OscServer::OnError(int number, const char* text, const char* where) {
  if (!IsLibloPacketError(number)) {  // e.g. the port is taken: reported where it is opened
    LogWarning(std::string("OSC: liblo: ") + (text ? text : "?") + " (error " +
               std::to_string(number) + ")");
    return;
  }
  OscServer* self = g_server.load();
  if (self != nullptr) self->bad_messages_.fetch_add(1, std::memory_order_relaxed);
  if (ShouldLog()) {
    LogWarning(std::string("OSC: refused a malformed packet (liblo error ") +
               std::to_string(number) + ": " + (text ? text : "?") +
               (where ? std::string(" at ") + where : std::string()) + ")");
  }
}

void OscServer::Refuse(std::string_view path, std::string_view reason) {
  bad_messages_.fetch_add(1, std::memory_order_relaxed);
  if (ShouldLog()) {
    // The address comes from the network: at most 64 bytes of it go to the log.
    std::string shown(path.substr(0, 64));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    LogWarning("OSC: refused " + shown + ": " + std::string(reason));
  }
}

bool OscServer::TakeReply() {
  if (reply_limit_.Take(MonotonicSeconds())) return true;
  throttled_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

lo_server OscServer::ServerOf(lo_message message) const {
  lo_address source = lo_message_get_source(message);
  if (tcp_ != nullptr && source != nullptr && lo_address_get_protocol(source) == LO_TCP) {
    return tcp_;
  }
  return udp_;
}

void OscServer::ReceiveLoop() {
  pthread_setname_np(pthread_self(), "chronus-osc");
  lo_server servers[2] = {udp_, tcp_};
  int received[2] = {0, 0};
  const int count = tcp_ != nullptr ? 2 : 1;
  while (receiving_.load(std::memory_order_relaxed)) {
    lo_servers_recv_noblock(servers, received, count, kReceivePollMs);
  }
}

void OscServer::Reply(lo_message to, const char* address, lo_message reply) {
  lo_address source = lo_message_get_source(to);
  if (source != nullptr) lo_send_message_from(source, ServerOf(to), address, reply);
}

void OscServer::ReplyResult(lo_message to, std::string_view address, bool ok,
                            const std::string& text) {
  if (!TakeReply()) return;
  lo_message reply = lo_message_new();
  lo_message_add_string(reply, std::string(address).c_str());
  lo_message_add_string(reply, text.c_str());
  Reply(to, ok ? "/done" : "/fail", reply);
  lo_message_free(reply);
}

void OscServer::SendStatus(lo_message to, int reply_port, bool health) {
  if (!TakeReply()) return;
  messages_.fetch_add(1, std::memory_order_relaxed);
  std::vector<StatusEntry> entries;
  if (health) {
    if (hooks_.health) entries = hooks_.health();
    entries.push_back({"control.messages", static_cast<double>(messages())});
    entries.push_back({"control.pings", static_cast<double>(pings())});
  } else {
    entries = status_();
    entries.push_back({"osc_messages", static_cast<double>(messages())});
    entries.push_back({"osc_queue_full", static_cast<double>(queue_full())});
    entries.push_back({"osc_queue_waits", static_cast<double>(queue_waits())});
    entries.push_back({"kernel_drops", static_cast<double>(kernel_drops())});
    entries.push_back({"throttled_requests", static_cast<double>(throttled())});
    entries.push_back({"refused_senders", static_cast<double>(refused_senders())});
    entries.push_back({"timed_commands", static_cast<double>(timed_commands())});
    entries.push_back({"subscribers", static_cast<double>(subscribers())});
    entries.push_back({"notifications", static_cast<double>(notifications())});
  }
  const char* address = health ? "/health.reply" : "/status.reply";
  lo_message reply = lo_message_new();
  for (const StatusEntry& entry : entries) {
    lo_message_add_string(reply, entry.key.c_str());
    if (!entry.text.empty()) {
      lo_message_add_string(reply, entry.text.c_str());
    } else if (entry.is_float) {
      lo_message_add_float(reply, static_cast<float>(entry.value));
    } else if (entry.value > 2147483647.0) {
      lo_message_add_int64(reply, static_cast<int64_t>(entry.value));
    } else {
      lo_message_add_int32(reply, static_cast<int32_t>(entry.value));
    }
  }
  if (reply_port != 0) {
    // For clients that cannot listen on the port they send from (oscsend + oscdump). Only the
    // sender's own host can be addressed.
    lo_address source = lo_message_get_source(to);
    const char* host = source != nullptr ? lo_address_get_hostname(source) : nullptr;
    lo_address target =
        lo_address_new(host != nullptr ? host : "127.0.0.1", std::to_string(reply_port).c_str());
    if (target != nullptr) {
      lo_send_message_from(target, ServerOf(to), address, reply);
      lo_address_free(target);
    }
  } else {
    Reply(to, address, reply);
  }
  lo_message_free(reply);
}

void OscServer::Preset(lo_message to, std::string_view path, bool save, int slot) {
  messages_.fetch_add(1, std::memory_order_relaxed);
  std::string error;
  if (save) {
    error = hooks_.save_preset ? hooks_.save_preset(slot) : "presets are not available";
  } else {
    std::vector<Command> commands;
    error = hooks_.load_preset ? hooks_.load_preset(slot, &commands) : "presets are not available";
    for (const Command& command : commands) {
      if (!error.empty()) break;
      if (!control_->pushNonRt(command)) error = "control queue full; preset not fully applied";
    }
  }
  if (error.empty()) {
    LogInfo(std::string(save ? "saved preset " : "loaded preset ") + std::to_string(slot));
  } else {
    LogWarning(std::string(path) + " " + std::to_string(slot) + " failed: " + error);
  }
  ReplyResult(to, path, error.empty(), error.empty() ? std::to_string(slot) : error);
}

void OscServer::Record(lo_message to, std::string_view path, bool start, std::string_view name) {
  if (recorder_ == nullptr) {
    Refuse(path, "no recorder");
    ReplyResult(to, path, false, "recording is not available");
    return;
  }
  if (!record_limit_.Take(MonotonicSeconds())) {
    throttled_.fetch_add(1, std::memory_order_relaxed);
    if (ShouldLog()) LogWarning(std::string(path) + " refused: too many recording requests");
    ReplyResult(to, path, false, "too many recording requests; try again in a second");
    return;
  }
  messages_.fetch_add(1, std::memory_order_relaxed);
  const Recorder::Result result = start ? recorder_->StartNonRt(name) : recorder_->StopNonRt();
  if (result.ok) {
    LogInfo(std::string(start ? "recording to " : "recording stopped: ") + result.path_or_error);
  } else {
    LogWarning(std::string(path) + " failed: " + result.path_or_error);
  }
  ReplyResult(to, path, result.ok, result.path_or_error);
}

void OscServer::Notify(lo_message to, std::string_view path, bool on) {
  messages_.fetch_add(1, std::memory_order_relaxed);
  if (!param_value_ || !param_changes_) {
    ReplyResult(to, path, false, "subscriptions are not available");
    return;
  }
  lo_address source = lo_message_get_source(to);
  const char* host = source != nullptr ? lo_address_get_hostname(source) : nullptr;
  const char* port = source != nullptr ? lo_address_get_port(source) : nullptr;
  if (host == nullptr || port == nullptr) {
    ReplyResult(to, path, false, "cannot tell the sender's address");
    return;
  }
  using R = OscSubscriptions::Result;
  const R result = subscriptions_.Notify(host, port, on, MonotonicSeconds());
  if (result == R::kFull) {
    ReplyResult(to, path, false,
                "too many subscribers (" + std::to_string(config_.max_subscribers) + ")");
    return;
  }
  if (result == R::kAdded) {
    notifier_wake_.notify_all();  // the new subscriber gets every parameter at once
  }
  ReplyResult(to, path, true, on ? "1" : "0");
}

void OscServer::NotifierLoop() {
  pthread_setname_np(pthread_self(), "chronus-oscnote");
  // Polls every 5 ms (an isolated change is pushed within ~5 ms); each parameter is pushed at
  // most notify_rate_hz times a second, with its latest value (changes in between coalesce).
  const double min_interval_s = 1.0 / std::max(config_.notify_rate_hz, 0.1);
  const auto poll = std::chrono::duration<double>(std::min(0.005, min_interval_s));
  std::vector<float> sent(dsp::kParamCount, NAN);       // value last pushed per parameter
  std::vector<double> sent_at(dsp::kParamCount, -1e9);  // when, monotonic seconds
  uint64_t seen_changes = ~uint64_t{0};
  bool held_back = false;  // a change waits for its parameter's rate limit
  lo_server server = udp_;
  std::unique_lock lock(notifier_mutex_);
  while (!notifier_stop_) {
    notifier_wake_.wait_for(lock, poll);
    if (notifier_stop_) break;
    lock.unlock();
    const double now = MonotonicSeconds();
    subscriptions_.Expire(now);
    const std::vector<OscSubscriptions::Target> targets = subscriptions_.TakeTargets();
    std::vector<size_t> changed;
    if (targets.empty()) {
      seen_changes = ~uint64_t{0};  // look again at everything when someone subscribes
    } else {
      const uint64_t changes = param_changes_();
      if (changes != seen_changes || held_back) {
        seen_changes = changes;
        held_back = false;
        for (const auto& spec : dsp::kParamSpecs) {
          const auto i = static_cast<size_t>(spec.id);
          const float value = param_value_(spec.id);
          if (value == sent[i]) continue;
          if (now - sent_at[i] < min_interval_s) {
            held_back = true;
            continue;
          }
          changed.push_back(i);
          sent[i] = value;
          sent_at[i] = now;
        }
      }
    }
    for (const OscSubscriptions::Target& target : targets) {
      if (changed.empty() && !target.wants_all) continue;
      lo_address address = lo_address_new(target.host.c_str(), target.port.c_str());
      if (address == nullptr) continue;
      for (const auto& spec : dsp::kParamSpecs) {
        const auto i = static_cast<size_t>(spec.id);
        const bool is_changed = std::find(changed.begin(), changed.end(), i) != changed.end();
        if (!target.wants_all && !is_changed) continue;
        lo_message message = lo_message_new();
        lo_message_add_string(message, std::string(spec.name).c_str());
        lo_message_add_float(message, is_changed ? sent[i] : param_value_(spec.id));
        lo_send_message_from(address, server, "/param", message);
        lo_message_free(message);
        notifications_.fetch_add(1, std::memory_order_relaxed);
      }
      lo_address_free(address);
    }
    lock.lock();
  }
}

int OscServer::Handle(const char* path, const char* types, lo_arg** argv, int argc,
                      lo_message message) {
  const std::string_view address = path != nullptr ? path : "";
  if (!allow_.empty()) {
    lo_address source = lo_message_get_source(message);
    const char* host = source != nullptr ? lo_address_get_hostname(source) : nullptr;
    if (host == nullptr || !allow_.Allows(host)) {
      refused_senders_.fetch_add(1, std::memory_order_relaxed);
      if (ShouldLog()) {
        LogWarning(std::string("OSC: refused a message from ") + (host ? host : "?") +
                   ": sender not in the [osc] allow-list");
      }
      return 0;
    }
  }
  if (extra_ && control_ != nullptr) {  // sound layers, generative mode (SetExtraHandler)
    const OscExtraResult extra = extra_(address, types, argv, argc, message, *control_);
    if (extra.handled) {
      if (extra.refusal.empty()) {
        messages_.fetch_add(1, std::memory_order_relaxed);
        if (extra.timed) timed_commands_.fetch_add(1, std::memory_order_relaxed);
      } else {
        Refuse(address, extra.refusal);
        if (!extra.answered) ReplyResult(message, address.substr(0, 256), false, extra.refusal);
      }
      return 0;
    }
  }
  if (address == kMidiLearnAddress) {  // hardware controls: firmware/control/midi_learn_osc.h
    std::string error;
    const std::optional<dsp::ParamId> param = ParseMidiLearn(types, argv, argc, &error);
    if (param) error = hooks_.midi_learn ? hooks_.midi_learn(*param) : "MIDI in is not running";
    if (error.empty()) {
      messages_.fetch_add(1, std::memory_order_relaxed);
    } else {
      Refuse(address, error);
    }
    ReplyResult(message, address, error.empty(),
                error.empty() ? std::string(dsp::Spec(*param).name) : error);
    return 0;
  }
  const OscRequest request = TranslateOsc(address, types, argv, argc);
  switch (request.kind) {
    case OscRequest::Kind::kRefuse:
      Refuse(address, request.refusal);
      if (request.reply_on_refusal) {
        ReplyResult(message, address, false, request.refusal);
      } else if (reply_limit_.Take(MonotonicSeconds())) {
        // SuperCollider's convention: every refused command is answered /fail <address> <why>
        // (while the reply budget lasts; refusals beyond it are not counted as throttled).
        lo_message reply = lo_message_new();
        lo_message_add_string(reply, std::string(address.substr(0, 256)).c_str());
        lo_message_add_string(reply, request.refusal.c_str());
        Reply(message, "/fail", reply);
        lo_message_free(reply);
      }
      break;
    case OscRequest::Kind::kNotify:
      Notify(message, address, request.notify_on);
      break;
    case OscRequest::Kind::kCommand: {
      Command command = request.command;
      // A bundle's timetag (NTP time): its commands apply at the engine frame heard then.
      const lo_timetag tag = lo_message_get_timestamp(message);
      command.frame = FrameOfTimetag(clock_, tag.sec, tag.frac);  // 1: long past, late
      if (command.frame != 0) timed_commands_.fetch_add(1, std::memory_order_relaxed);
      if (control_->pushNonRtWaiting(command, kLaneWait)) {
        messages_.fetch_add(1, std::memory_order_relaxed);
      } else if (ShouldLog()) {
        // Counted by the lane (dropped_commands): the audio thread did not keep up.
        LogWarning("OSC: control queue full; dropped " + std::string(address.substr(0, 64)));
      }
      break;
    }
    case OscRequest::Kind::kStatus:
      SendStatus(message, request.reply_port);
      break;
    case OscRequest::Kind::kRecordStart:
      Record(message, address, true, request.take_name);
      break;
    case OscRequest::Kind::kRecordStop:
      Record(message, address, false, {});
      break;
    case OscRequest::Kind::kPresetSave:
    case OscRequest::Kind::kPresetLoad:
      Preset(message, address, request.kind == OscRequest::Kind::kPresetSave, request.preset);
      break;
    case OscRequest::Kind::kHealth:
      SendStatus(message, request.reply_port, true);
      break;
    case OscRequest::Kind::kPing:
      pings_.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  return 0;
}

}  // namespace chronus::firmware
