#include "firmware/control/dirt_server.h"

#include <sys/socket.h>
#include <time.h>

#include <chrono>

#include "firmware/control/osc_translate.h"
#include "firmware/engine/timetag_frame.h"
#include "firmware/log/log.h"

namespace chronus::firmware {

namespace {

// liblo's error callback has no user pointer: errors are credited to the running server.
std::atomic<DirtServer*> g_dirt_server{nullptr};
std::atomic<uint64_t> g_dirt_errors{0};

double NowSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

DirtServer::DirtServer(const DirtServerConfig& config, SampleLayer& layer)
    : config_(config), layer_(layer), reply_limit_(config.replies_per_second, config.reply_burst) {
  if (const SampleBank* bank = layer.current_bank()) report_ = bank->Report();
}

DirtServer::~DirtServer() { Stop(); }

std::string DirtServer::Start() {
  const std::string port = std::to_string(config_.port);
  thread_ = lo_server_thread_new_with_proto(port.c_str(), LO_UDP, &DirtServer::OnError);
  if (thread_ == nullptr) {
    return "cannot open the SuperDirt UDP port " + port + " (in use, or not permitted)";
  }
  g_dirt_server.store(this);  // only a server that opened its port: a failed one takes no credit
  lo_server server = lo_server_thread_get_server(thread_);
  ConfigureOscLoServer(server);  // bundles at once (we schedule by timetag ourselves), bounded
  const int fd = lo_server_get_socket_fd(server);
  if (fd >= 0) {
    int size = config_.receive_buffer_bytes;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
  }
  port_ = lo_server_thread_get_port(thread_);
  lo_server_thread_add_method(thread_, nullptr, nullptr, &DirtServer::OnMessage, this);
  if (lo_server_thread_start(thread_) < 0) {
    Stop();
    return "cannot start the SuperDirt server thread";
  }
  return {};
}

void DirtServer::Stop() {
  stopping_.store(true);
  if (thread_ != nullptr) {
    lo_server_thread_stop(thread_);
    lo_server_thread_free(thread_);
    thread_ = nullptr;
  }
  if (loader_.joinable()) loader_.join();
  DirtServer* self = this;
  g_dirt_server.compare_exchange_strong(self, nullptr);
}

std::string DirtServer::last_report() const {
  std::lock_guard lock(report_mutex_);
  return report_;
}

int DirtServer::OnMessage(const char* path, const char* types, lo_arg** argv, int argc,
                          lo_message message, void* user_data) {
  return static_cast<DirtServer*>(user_data)->Handle(path, types, argv, argc, message);
}

void DirtServer::OnError(int number, const char* text, const char*) {
  if (!IsLibloPacketError(number)) {  // e.g. the port is taken: reported where it is opened
    LogWarning("SuperDirt: liblo: " + std::string(text != nullptr ? text : "?") + " (error " +
               std::to_string(number) + ")");
    return;
  }
  if (DirtServer* self = g_dirt_server.load()) self->bad_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t n = g_dirt_errors.fetch_add(1, std::memory_order_relaxed);
  if (n < 20 || n % 1000 == 0) {
    LogWarning("SuperDirt: refused a malformed packet (liblo error " + std::to_string(number) +
               ": " + (text != nullptr ? text : "?") + ")");
  }
}

void DirtServer::Refuse(std::string_view path, const std::string& reason) {
  bad_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t n = logged_.fetch_add(1, std::memory_order_relaxed);
  if (n < 20 || n % 1000 == 0) {
    std::string shown(path.substr(0, 64));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    LogWarning("SuperDirt: refused " + shown + ": " + reason);
  }
}

void DirtServer::Reply(lo_message to, const char* address, lo_message reply) {
  lo_address source = lo_message_get_source(to);
  if (source != nullptr && reply_limit_.Take(NowSeconds())) {
    lo_send_message_from(source, lo_server_thread_get_server(thread_), address, reply);
  }
}

uint64_t DirtServer::FrameOfTimetag(lo_timetag tag) const {
  // 0: at once ("immediately" = 0.1, or no clock yet); a time already past gives frame 1, which
  // the layer plays at once and counts late.
  return firmware::FrameOfTimetag(clock_, tag.sec, tag.frac);  // engine/timetag_frame.h (fuzzed)
}

int DirtServer::Handle(const char* path, const char* types, lo_arg** argv, int argc,
                       lo_message message) {
  const std::string_view address = path != nullptr ? path : "";
  if (address == "/dirt/play") {
    const uint64_t frame = FrameOfTimetag(lo_message_get_timestamp(message));
    const DirtPlayResult result =
        TranslateDirtPlay(types, argv, argc, frame, config_.synths, layer_.config().orbits);
    unknown_keys_.fetch_add(result.unknown_keys, std::memory_order_relaxed);
    clamped_.fetch_add(result.clamped, std::memory_order_relaxed);
    if (!result.ok) {
      Refuse(address, result.refusal);
    } else if (layer_.PushEventNonRt(result.event)) {
      events_.fetch_add(1, std::memory_order_relaxed);
    }
  } else if (address == "/dirt/handshake") {
    handshakes_.fetch_add(1, std::memory_order_relaxed);
    lo_message reply = lo_message_new();
    lo_message_add_string(reply, "&serverHostname");
    lo_message_add_string(reply, "127.0.0.1");
    lo_message_add_string(reply, "&serverPort");
    lo_message_add_int32(reply, 57110);
    lo_message_add_string(reply, "&controlBusIndices");
    for (int32_t i = 0; i < 16; ++i) lo_message_add_int32(reply, i);
    Reply(message, "/dirt/handshake/reply", reply);
    lo_message_free(reply);
  } else if (address == "/samples/reload") {
    StartReload(message);
  } else {
    Refuse(address, "unknown address on the SuperDirt port");
  }
  return 0;
}

void DirtServer::StartReload(lo_message from) {
  if (loading_.exchange(true)) {
    lo_message reply = lo_message_new();
    lo_message_add_string(reply, "/samples/reload");
    lo_message_add_string(reply, "a reload is already running");
    Reply(from, "/fail", reply);
    lo_message_free(reply);
    return;
  }
  if (loader_.joinable()) loader_.join();  // the previous one has finished (loading_ was false)
  lo_address source = lo_message_get_source(from);
  lo_address reply_to = source != nullptr ? lo_address_new(lo_address_get_hostname(source),
                                                           lo_address_get_port(source))
                                          : nullptr;
  loader_ = std::thread([this, reply_to] { ReloadThread(reply_to); });
}

void DirtServer::ReloadThread(lo_address reply_to) {
  pthread_setname_np(pthread_self(), "chronus-samples");
  LogInfo("SuperDirt: reloading samples from " + config_.samples.root);
  std::unique_ptr<SampleBank> bank = LoadSampleBank(config_.samples);
  const std::string report = bank->Report();
  Log::Write(bank->skipped().empty() ? LogLevel::kInfo : LogLevel::kWarning, report);
  {
    std::lock_guard lock(report_mutex_);
    report_ = report;
  }
  std::string summary = std::to_string(bank->sample_count()) + " samples in " +
                        std::to_string(bank->sound_count()) + " sounds, " +
                        std::to_string(bank->skipped().size()) + " skipped";
  bool ok = false;
  // The audio thread takes it at a block boundary, then hands the old bank back once no voice
  // reads it; it is freed here, off the RT path.
  for (int i = 0; i < 500 && !stopping_.load(); ++i) {
    if (layer_.OfferBankNonRt(bank)) {
      ok = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int i = 0; i < 500 && ok && !stopping_.load(); ++i) {
    if (auto old = layer_.TakeRetiredBankNonRt()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (ok) reloads_.fetch_add(1, std::memory_order_relaxed);
  if (reply_to != nullptr) {
    lo_message m = lo_message_new();
    lo_message_add_string(m, "/samples/reload");
    lo_message_add_string(m, ok ? summary.c_str() : "the audio engine did not take the new bank");
    SendFromOwnSocketNonRt(reply_to, ok ? "/done" : "/fail", m);  // the loader's thread
    lo_message_free(m);
    lo_address_free(reply_to);
  }
  loading_.store(false);
}

}  // namespace chronus::firmware
