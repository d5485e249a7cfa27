// chronusctl: command-line client for a Chronus box over OSC (liblo + CLI11). See
// firmware/control/OSC.md for the address space it speaks.
//   chronusctl [--host H] [--port P] [--timeout S] status
//   chronusctl note 60 --vel 0.8 --dur 0.5
//   chronusctl set cutoff 1200
//   chronusctl preset load 3 | preset save 3
//   chronusctl record start [take1] | record stop
//   chronusctl monitor [--count N] [--seconds S]
// Exit codes: 0 done; 1 the box refused (/fail, with its reason); 2 usage; 3 no answer within
// --timeout.
#include <lo/lo.h>
#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::atomic<bool> g_interrupted{false};

// One OSC conversation with the box: a UDP socket of our own, so replies come back to it.
class Box {
 public:
  Box(const std::string& host, int port, double timeout_s)
      : host_(host), port_(port), timeout_s_(timeout_s) {
    address_ = lo_address_new(host.c_str(), std::to_string(port).c_str());
    server_ = lo_server_new_with_proto(nullptr, LO_UDP, nullptr);
    if (server_ != nullptr) lo_server_add_method(server_, nullptr, nullptr, &Box::OnMessage, this);
  }
  ~Box() {
    if (server_ != nullptr) lo_server_free(server_);
    if (address_ != nullptr) lo_address_free(address_);
  }
  bool ok() const { return address_ != nullptr && server_ != nullptr; }

  bool Send(const char* path, lo_message message) {
    return lo_send_message_from(address_, server_, path, message) >= 0;
  }

  struct Reply {
    std::string path;
    std::vector<std::string> text;  // arguments formatted
  };
  // Waits for a message for which `match` is true; handles every other one meanwhile.
  template <typename Match>
  std::optional<Reply> Wait(Match match, double timeout_s) {
    const double deadline = Now() + timeout_s;
    for (;;) {
      for (size_t i = 0; i < inbox_.size(); ++i) {
        if (match(inbox_[i])) {
          Reply r = inbox_[i];
          inbox_.erase(inbox_.begin() + static_cast<long>(i));
          return r;
        }
      }
      inbox_.clear();
      if (Now() >= deadline || g_interrupted) return std::nullopt;
      lo_server_recv_noblock(server_, 20);
    }
  }
  // /done or /fail for `address`.
  std::optional<Reply> WaitResult(const std::string& address) {
    return Wait(
        [&](const Reply& r) {
          return (r.path == "/done" || r.path == "/fail") && !r.text.empty() &&
                 r.text[0] == address;
        },
        timeout_s_);
  }
  std::string NoAnswer() const {
    return "chronusctl: no answer from " + host_ + ":" + std::to_string(port_) + " within " +
           Format(timeout_s_) + " s (is chronus running there, and is this host allowed?)";
  }
  double timeout_s() const { return timeout_s_; }

  static std::string Format(double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", v);
    return buf;
  }

 private:
  // liblo aligns arguments to 4 bytes while lo_arg is an 8-byte union: read them by memcpy.
  template <typename T>
  static T Read(const lo_arg* arg) {
    T value;
    std::memcpy(&value, arg, sizeof(value));
    return value;
  }
  static int OnMessage(const char* path, const char* types, lo_arg** argv, int argc, lo_message,
                       void* user_data) {
    auto* self = static_cast<Box*>(user_data);
    Reply reply{path, {}};
    for (int i = 0; i < argc; ++i) {
      switch (types[i]) {
        case 's':
          reply.text.emplace_back(reinterpret_cast<const char*>(argv[i]));
          break;
        case 'i':
          reply.text.push_back(std::to_string(Read<int32_t>(argv[i])));
          break;
        case 'h':
          reply.text.push_back(std::to_string(static_cast<long long>(Read<int64_t>(argv[i]))));
          break;
        case 'f':
          reply.text.push_back(Format(Read<float>(argv[i])));
          break;
        case 'd':
          reply.text.push_back(Format(Read<double>(argv[i])));
          break;
        default:
          reply.text.emplace_back("?");
      }
    }
    self->inbox_.push_back(std::move(reply));
    return 0;
  }

  std::string host_;
  int port_;
  double timeout_s_;
  lo_address address_ = nullptr;
  lo_server server_ = nullptr;
  std::vector<Reply> inbox_;
};

// Fire-and-forget messages get no reply of their own: a /status round trip after them proves
// the box got them (UDP keeps order on loopback and usually on a LAN), and a /fail for the
// address that arrived meanwhile says the box refused it.
int Confirm(Box& box, const std::string& address) {
  lo_message status = lo_message_new();
  box.Send("/status", status);
  lo_message_free(status);
  std::optional<std::string> refusal;
  const auto reply = box.Wait(
      [&](const Box::Reply& r) {
        if (r.path == "/fail" && r.text.size() >= 2 && r.text[0] == address) {
          refusal = r.text[1];
        }
        return r.path == "/status.reply";
      },
      box.timeout_s());
  if (refusal) {
    std::fprintf(stderr, "chronusctl: %s refused: %s\n", address.c_str(), refusal->c_str());
    return 1;
  }
  if (!reply) {
    std::fprintf(stderr, "%s\n", box.NoAnswer().c_str());
    return 3;
  }
  return 0;
}

int Result(Box& box, const std::string& address) {
  const auto reply = box.WaitResult(address);
  if (!reply) {
    std::fprintf(stderr, "%s\n", box.NoAnswer().c_str());
    return 3;
  }
  const std::string text = reply->text.size() >= 2 ? reply->text[1] : "";
  if (reply->path == "/fail") {
    std::fprintf(stderr, "chronusctl: %s failed: %s\n", address.c_str(), text.c_str());
    return 1;
  }
  std::printf("%s%s%s\n", address.c_str(), text.empty() ? "" : " ", text.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 9000;
  double timeout_s = 2.0;
  CLI::App app{"chronusctl: control a Chronus synthesizer over OSC (see OSC.md)."};
  app.add_option("--host", host, "Host name or address of the box")->capture_default_str();
  app.add_option("--port", port, "Its OSC UDP port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app.add_option("--timeout", timeout_s, "Seconds to wait for an answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.require_subcommand(1);

  auto* status = app.add_subcommand("status", "Print the box's status (/status)");

  int note = 60;
  double velocity = 0.8, duration = 0.5;
  auto* note_cmd = app.add_subcommand("note", "Play a note (/note/on, then /note/off)");
  note_cmd->add_option("note", note, "MIDI note 0..127")->required()->check(CLI::Range(0, 127));
  note_cmd->add_option("--vel", velocity, "Velocity 0..1")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  note_cmd->add_option("--dur", duration, "Seconds until the note-off")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();

  std::string param;
  double value = 0;
  auto* set = app.add_subcommand("set", "Set a synth parameter (/param/<name> value)");
  set->add_option("name", param, "Parameter: cutoff, resonance, attack, ... (see OSC.md)")
      ->required();
  set->add_option("value", value, "Value in the parameter's unit (Hz, s, dB, 0..1)")->required();

  std::string preset_action;
  int slot = 0;
  auto* preset = app.add_subcommand("preset", "Load or save a preset (/preset/load, /preset/save)");
  preset->add_option("action", preset_action, "load or save")
      ->required()
      ->check(CLI::IsMember({"load", "save"}));
  preset->add_option("slot", slot, "Preset slot 0..127")->required()->check(CLI::Range(0, 127));

  std::string record_action, take;
  auto* record = app.add_subcommand("record", "Start or stop a recording (/record/start, stop)");
  record->add_option("action", record_action, "start or stop")
      ->required()
      ->check(CLI::IsMember({"start", "stop"}));
  record->add_option("name", take, "Take name (start only)");

  int count = 0;
  double seconds = 0;
  auto* monitor = app.add_subcommand(
      "monitor", "Subscribe (/notify 1) and print parameter changes as they happen");
  monitor->add_option("--count", count, "Exit after this many changes (0 = run until Ctrl-C)");
  monitor->add_option("--seconds", seconds, "Exit after this many seconds (0 = no limit)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help: 0; a usage error: 2 (CLI11 printed why)
  }

  Box box(host, port, timeout_s);
  if (!box.ok()) {
    std::fprintf(stderr, "chronusctl: cannot resolve %s or open a UDP socket\n", host.c_str());
    return 2;
  }

  if (*status) {
    lo_message m = lo_message_new();
    box.Send("/status", m);
    lo_message_free(m);
    const auto reply =
        box.Wait([](const Box::Reply& r) { return r.path == "/status.reply"; }, timeout_s);
    if (!reply) {
      std::fprintf(stderr, "%s\n", box.NoAnswer().c_str());
      return 3;
    }
    for (size_t i = 0; i + 1 < reply->text.size(); i += 2) {
      std::printf("%s %s\n", reply->text[i].c_str(), reply->text[i + 1].c_str());
    }
    return 0;
  }
  if (*note_cmd) {
    lo_message on = lo_message_new();
    lo_message_add_int32(on, note);
    lo_message_add_float(on, static_cast<float>(velocity));
    box.Send("/note/on", on);
    lo_message_free(on);
    if (const int code = Confirm(box, "/note/on"); code != 0) return code;
    std::this_thread::sleep_for(std::chrono::duration<double>(duration));
    lo_message off = lo_message_new();
    lo_message_add_int32(off, note);
    box.Send("/note/off", off);
    lo_message_free(off);
    return Confirm(box, "/note/off");
  }
  if (*set) {
    const std::string address = "/param/" + param;
    lo_message m = lo_message_new();
    lo_message_add_float(m, static_cast<float>(value));
    box.Send(address.c_str(), m);
    lo_message_free(m);
    const int code = Confirm(box, address);
    if (code == 0) std::printf("%s %s\n", param.c_str(), Box::Format(value).c_str());
    return code;
  }
  if (*preset) {
    const std::string address = "/preset/" + preset_action;
    lo_message m = lo_message_new();
    lo_message_add_int32(m, slot);
    box.Send(address.c_str(), m);
    lo_message_free(m);
    return Result(box, address);
  }
  if (*record) {
    const std::string address = "/record/" + record_action;
    lo_message m = lo_message_new();
    if (record_action == "start" && !take.empty()) lo_message_add_string(m, take.c_str());
    box.Send(address.c_str(), m);
    lo_message_free(m);
    return Result(box, address);
  }
  if (*monitor) {
    signal(SIGINT, [](int) { g_interrupted = true; });
    signal(SIGTERM, [](int) { g_interrupted = true; });
    auto subscribe = [&](int on) {
      lo_message m = lo_message_new();
      lo_message_add_int32(m, on);
      box.Send("/notify", m);
      lo_message_free(m);
    };
    subscribe(1);
    // The first answer is /done /notify; the box then sends every parameter once.
    const auto first = box.Wait(
        [](const Box::Reply& r) {
          return r.path == "/param" || ((r.path == "/done" || r.path == "/fail") &&
                                        !r.text.empty() && r.text[0] == "/notify");
        },
        timeout_s);
    if (!first) {
      std::fprintf(stderr, "%s\n", box.NoAnswer().c_str());
      return 3;
    }
    if (first->path == "/fail") {
      std::fprintf(stderr, "chronusctl: /notify failed: %s\n",
                   first->text.size() > 1 ? first->text[1].c_str() : "");
      return 1;
    }
    const double start = Now();
    double renewed = start;
    int printed = 0;
    // The dump may overtake the acknowledgment (another thread of the box sends it): a /param
    // that came first is a change like the others.
    if (first->path == "/param" && first->text.size() >= 2) {
      std::printf("%s %s\n", first->text[0].c_str(), first->text[1].c_str());
      std::fflush(stdout);
      ++printed;
    }
    while (!g_interrupted && (seconds <= 0 || Now() - start < seconds) &&
           (count <= 0 || printed < count)) {
      if (Now() - renewed > 20.0) {  // the box drops subscribers silent for 60 s
        subscribe(1);
        renewed = Now();
      }
      const auto change = box.Wait([](const Box::Reply& r) { return r.path == "/param"; }, 0.1);
      if (!change || change->text.size() < 2) continue;
      std::printf("%s %s\n", change->text[0].c_str(), change->text[1].c_str());
      std::fflush(stdout);
      ++printed;
    }
    subscribe(0);
    return 0;
  }
  return 2;
}
