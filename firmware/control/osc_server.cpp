#include "firmware/control/osc_server.h"

#include <sys/socket.h>

#include <atomic>
#include <cmath>
#include <string>

#include "dsp/synth_params.h"
#include "firmware/log/log.h"

namespace chronus::firmware {

namespace {

// liblo's error callback has no user pointer: errors (garbage bytes, malformed packets) are
// credited to the running server.
std::atomic<OscServer*> g_server{nullptr};
std::atomic<uint64_t> g_logged_refusals{0};

bool IsNumber(char type) { return type == 'i' || type == 'f' || type == 'd' || type == 'h'; }

double Number(char type, const lo_arg* arg) {
  switch (type) {
    case 'i':
      return arg->i;
    case 'f':
      return arg->f;
    case 'd':
      return arg->d;
    case 'h':
      return static_cast<double>(arg->h);
  }
  return NAN;
}

// Logs the first refusals and then one in a thousand, so a flood cannot flood the log.
bool ShouldLog() {
  const uint64_t n = g_logged_refusals.fetch_add(1, std::memory_order_relaxed);
  return n < 20 || n % 1000 == 0;
}

}  // namespace

OscServer::OscServer(const OscServerConfig& config, ControlQueue& control, Recorder* recorder,
                     StatusFn status)
    : config_(config),
      control_(control.AddProducerNonRt()),
      recorder_(recorder),
      status_(std::move(status)) {}

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
  const int fd = lo_server_get_socket_fd(server);
  int size = config_.receive_buffer_bytes;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
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
    lo_server_thread_stop(thread_);
    lo_server_thread_free(thread_);
    thread_ = nullptr;
  }
  OscServer* self = this;
  g_server.compare_exchange_strong(self, nullptr);
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

void OscServer::Refuse(const std::string& path, const std::string& reason, lo_message message) {
  bad_messages_.fetch_add(1, std::memory_order_relaxed);
  if (ShouldLog()) LogWarning("OSC: refused " + path + ": " + reason);
  (void)message;
}

void OscServer::Reply(lo_message to, const char* address, lo_message reply) {
  lo_address source = lo_message_get_source(to);
  if (source != nullptr) {
    lo_send_message_from(source, lo_server_thread_get_server(thread_), address, reply);
  }
}

void OscServer::ReplyResult(lo_message to, const std::string& address, bool ok,
                            const std::string& text) {
  lo_message reply = lo_message_new();
  lo_message_add_string(reply, address.c_str());
  lo_message_add_string(reply, text.c_str());
  Reply(to, ok ? "/done" : "/fail", reply);
  lo_message_free(reply);
}

int OscServer::Handle(const std::string& path, const char* types, lo_arg** argv, int argc,
                      lo_message message) {
  auto numeric = [&](int count) {
    if (argc != count) return false;
    for (int i = 0; i < count; ++i) {
      if (!IsNumber(types[i])) return false;
    }
    return true;
  };
  auto queue = [&](const Command& command) {
    if (!control_->pushNonRt(command)) {
      Refuse(path, "control queue full", message);
      return;
    }
    messages_.fetch_add(1, std::memory_order_relaxed);
  };
  auto note_arg = [&](int* note) {
    const double value = Number(types[0], argv[0]);
    if (!(value >= 0 && value <= 127) || value != std::floor(value)) return false;
    *note = static_cast<int>(value);
    return true;
  };

  if (path == "/note/on") {
    if (!numeric(2)) {
      Refuse(path, "expected arguments i f (note, velocity)", message);
      return 0;
    }
    int note;
    const double velocity = Number(types[1], argv[1]);
    if (!note_arg(&note)) {
      Refuse(path, "note must be an integer 0..127", message);
    } else if (!(velocity >= 0.0 && velocity <= 1.0)) {
      Refuse(path, "velocity must be 0..1", message);
    } else {
      queue(Command{CommandType::kNoteOn, static_cast<uint8_t>(note), dsp::ParamId::kCutoffHz,
                    static_cast<float>(velocity)});
    }
    return 0;
  }
  if (path == "/note/off") {
    int note;
    if (!numeric(1)) {
      Refuse(path, "expected argument i (note)", message);
    } else if (!note_arg(&note)) {
      Refuse(path, "note must be an integer 0..127", message);
    } else {
      queue(Command{CommandType::kNoteOff, static_cast<uint8_t>(note)});
    }
    return 0;
  }
  if (path.starts_with("/param/")) {
    const dsp::ParamSpec* spec = dsp::FindParam(std::string_view(path).substr(7));
    if (spec == nullptr) {
      Refuse(path, "unknown parameter", message);
    } else if (!numeric(1)) {
      Refuse(path, "expected one number", message);
    } else {
      const double value = Number(types[0], argv[0]);
      if (!(value >= spec->min && value <= spec->max)) {
        Refuse(path,
               "value " + std::to_string(value) + " outside " + std::to_string(spec->min) + ".." +
                   std::to_string(spec->max) + " " + std::string(spec->unit),
               message);
      } else {
        queue(Command{CommandType::kSetParam, 0, spec->id, static_cast<float>(value)});
      }
    }
    return 0;
  }
  if (path == "/record/start" || path == "/record/stop") {
    const bool start = path == "/record/start";
    if (recorder_ == nullptr) {
      Refuse(path, "no recorder", message);
      ReplyResult(message, path, false, "recording is not available");
      return 0;
    }
    if ((start && !(argc == 0 || (argc == 1 && types[0] == 's'))) || (!start && argc != 0)) {
      Refuse(path, start ? "expected no argument or one string (take name)" : "expected none",
             message);
      ReplyResult(message, path, false, "wrong arguments");
      return 0;
    }
    auto result =
        start ? recorder_->StartNonRt(argc == 1 ? &argv[0]->s : "") : recorder_->StopNonRt();
    messages_.fetch_add(1, std::memory_order_relaxed);
    if (result.ok) {
      LogInfo(std::string(start ? "recording to " : "recording stopped: ") + result.path_or_error);
    } else {
      LogWarning(path + " failed: " + result.path_or_error);
    }
    ReplyResult(message, path, result.ok, result.path_or_error);
    return 0;
  }
  if (path == "/status") {
    int reply_port = 0;
    if (argc == 1 && IsNumber(types[0])) {
      const double value = Number(types[0], argv[0]);
      if (value >= 1 && value <= 65535) reply_port = static_cast<int>(value);
    }
    if (argc > 1 || (argc == 1 && reply_port == 0)) {
      Refuse(path, "expected no argument or a reply port 1..65535", message);
      return 0;
    }
    messages_.fetch_add(1, std::memory_order_relaxed);
    lo_message reply = lo_message_new();
    for (const StatusEntry& entry : status_()) {
      lo_message_add_string(reply, entry.key.c_str());
      if (entry.is_float) {
        lo_message_add_float(reply, static_cast<float>(entry.value));
      } else if (entry.value > 2147483647.0) {
        lo_message_add_int64(reply, static_cast<int64_t>(entry.value));
      } else {
        lo_message_add_int32(reply, static_cast<int32_t>(entry.value));
      }
    }
    if (reply_port != 0) {
      // For clients that cannot listen on the port they send from (oscsend + oscdump).
      lo_address source = lo_message_get_source(message);
      lo_address target =
          lo_address_new(source != nullptr ? lo_address_get_hostname(source) : "127.0.0.1",
                         std::to_string(reply_port).c_str());
      lo_send_message_from(target, lo_server_thread_get_server(thread_), "/status.reply", reply);
      lo_address_free(target);
    } else {
      Reply(message, "/status.reply", reply);
    }
    lo_message_free(reply);
    return 0;
  }
  Refuse(path, "unknown address", message);
  return 0;
}

}  // namespace chronus::firmware
