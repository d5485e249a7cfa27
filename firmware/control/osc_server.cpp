#include "firmware/control/osc_server.h"

#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <time.h>

#include <atomic>
#include <string>

#include "firmware/control/osc_translate.h"
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
      reply_limit_(config.replies_per_second, config.reply_burst),
      record_limit_(config.recordings_per_second, config.recording_burst) {}

OscServer::~OscServer() { Stop(); }

std::string OscServer::Start() {
  const std::string port = std::to_string(config_.port);
  if (control_ == nullptr) return "no free control queue lane for the OSC server";
  g_server.store(this);
  thread_ = lo_server_thread_new_with_proto(port.c_str(), LO_UDP, &OscServer::OnError);
  if (thread_ == nullptr) {
    g_server.store(nullptr);
    return "cannot open OSC UDP port " + port + " (in use, or not permitted)";
  }
  lo_server server = lo_server_thread_get_server(thread_);
  ConfigureOscLoServer(server);
  const int fd = lo_server_get_socket_fd(server);
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
  port_ = lo_server_thread_get_port(thread_);
  lo_server_thread_add_method(thread_, nullptr, nullptr, &OscServer::OnMessage, this);
  if (lo_server_thread_start(thread_) < 0) {
    Stop();
    return "cannot start the OSC server thread";
  }
  return {};
}

void OscServer::Stop() {
  if (thread_ != nullptr) {
    lo_server_thread_stop(thread_);  // joins the server thread
    // Handle what had already arrived (bounded: a flood cannot hold up the shutdown), so that a
    // command sent just before the shutdown is not lost. This thread is now the only one using
    // the server and the control lane (the join orders it after the server thread).
    lo_server server = lo_server_thread_get_server(thread_);
    for (int i = 0; i < kMaxDatagramsHandledOnStop && lo_server_recv_noblock(server, 0) > 0; ++i) {
    }
    fd_.store(-1);
    lo_server_thread_free(thread_);
    thread_ = nullptr;
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

void OscServer::Reply(lo_message to, const char* address, lo_message reply) {
  lo_address source = lo_message_get_source(to);
  if (source != nullptr) {
    lo_send_message_from(source, lo_server_thread_get_server(thread_), address, reply);
  }
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
    entries.push_back({"kernel_drops", static_cast<double>(kernel_drops())});
    entries.push_back({"throttled_requests", static_cast<double>(throttled())});
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
      lo_send_message_from(target, lo_server_thread_get_server(thread_), address, reply);
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

int OscServer::Handle(const char* path, const char* types, lo_arg** argv, int argc,
                      lo_message message) {
  const std::string_view address = path != nullptr ? path : "";
  if (extra_ && control_ != nullptr) {
    const OscExtraResult extra = extra_(address, types, argv, argc, message, *control_);
    if (extra.handled) {
      if (extra.refusal.empty()) {
        messages_.fetch_add(1, std::memory_order_relaxed);
      } else {
        Refuse(address, extra.refusal);
      }
      return 0;
    }
  }
  const OscRequest request = TranslateOsc(address, types, argv, argc);
  switch (request.kind) {
    case OscRequest::Kind::kRefuse:
      Refuse(address, request.refusal);
      if (request.reply_on_refusal) ReplyResult(message, address, false, request.refusal);
      break;
    case OscRequest::Kind::kCommand:
      if (control_->pushNonRt(request.command)) {
        messages_.fetch_add(1, std::memory_order_relaxed);
      } else if (ShouldLog()) {
        // Counted by the lane (dropped_commands): the audio thread did not keep up.
        LogWarning("OSC: control queue full; dropped " + std::string(address.substr(0, 64)));
      }
      break;
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
