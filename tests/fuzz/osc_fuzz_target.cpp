#include "tests/fuzz/osc_fuzz_target.h"

#include <lo/lo.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "dsp/synth_params.h"
#include "firmware/control/osc_translate.h"
#include "firmware/recorder/take_name.h"

namespace chronus::fuzz {

namespace {

using firmware::CommandType;
using firmware::OscRequest;

FuzzOscStats g_stats;

[[noreturn]] void Violation(const char* what, const char* path) {
  std::fprintf(stderr, "OSC fuzz invariant broken: %s (address \"%.80s\")\n", what,
               path != nullptr ? path : "(null)");
  std::abort();
}

void Check(const OscRequest& request, const char* path) {
  switch (request.kind) {
    case OscRequest::Kind::kRefuse:
      if (request.refusal.empty()) Violation("refusal without a reason", path);
      break;
    case OscRequest::Kind::kCommand: {
      const auto& c = request.command;
      if (c.note > 127) Violation("note out of range", path);
      if (!std::isfinite(c.value)) Violation("value not finite", path);
      if (c.type == CommandType::kNoteOn && !(c.value >= 0.0f && c.value <= 1.0f)) {
        Violation("velocity out of range", path);
      }
      if (c.type == CommandType::kSetParam) {
        if (static_cast<size_t>(c.param) >= dsp::kParamCount) Violation("unknown param", path);
        const dsp::ParamSpec& spec = dsp::Spec(c.param);
        if (!(c.value >= spec.min && c.value <= spec.max)) Violation("param out of range", path);
      }
      if (c.type != CommandType::kNoteOn && c.type != CommandType::kNoteOff &&
          c.type != CommandType::kSetParam) {
        Violation("command type not reachable from OSC", path);
      }
      break;
    }
    case OscRequest::Kind::kStatus:
    case OscRequest::Kind::kHealth:
      if (request.reply_port < 0 || request.reply_port > 65535) Violation("reply port", path);
      break;
    case OscRequest::Kind::kPresetSave:
    case OscRequest::Kind::kPresetLoad:
      if (request.preset < 0 || request.preset >= firmware::kPresetSlots) {
        Violation("preset slot out of range", path);
      }
      break;
    case OscRequest::Kind::kPing:
    case OscRequest::Kind::kNotify:
      break;
    case OscRequest::Kind::kRecordStart: {
      if (!firmware::CheckTakeName(request.take_name).empty()) Violation("take name", path);
      if (request.take_name.size() > firmware::kMaxOscTakeNameBytes) Violation("name size", path);
      std::string stem = firmware::SanitizeTakeStem(request.take_name);
      if (stem.empty()) stem = "take";
      const std::filesystem::path dir = "/recordings";
      const std::filesystem::path file = (dir / firmware::TakeFileName(stem, 9999));
      if (file.lexically_normal().parent_path() != dir || file.filename().string() == "..") {
        Violation("take escapes the recordings directory", path);
      }
      break;
    }
    case OscRequest::Kind::kRecordStop:
      break;
  }
}

int OnMessage(const char* path, const char* types, lo_arg** argv, int argc, lo_message, void*) {
  ++g_stats.messages;
  const OscRequest request = firmware::TranslateOsc(path != nullptr ? path : "", types, argv, argc);
  if (request.kind != OscRequest::Kind::kRefuse) ++g_stats.accepted;
  Check(request, path);
  return 0;
}

void OnError(int, const char*, const char*) { ++g_stats.liblo_errors; }

lo_server Server() {
  // One server for the process (as the firmware has one), configured like the firmware's. It
  // binds an ephemeral UDP port but never receives: datagrams come from the fuzzer.
  static lo_server server = [] {
    lo_server s = lo_server_new_with_proto(nullptr, LO_UDP, &OnError);
    if (s == nullptr) {
      std::fprintf(stderr, "cannot create a liblo server\n");
      std::abort();
    }
    firmware::ConfigureOscLoServer(s);
    lo_server_add_method(s, nullptr, nullptr, &OnMessage, nullptr);
    return s;
  }();
  return server;
}

}  // namespace

int FuzzOscPacket(const uint8_t* data, size_t size) {
  lo_server server = Server();
  ++g_stats.packets;
  // The server reads at most kMaxOscPacketBytes of a datagram: so does the fuzz target.
  if (size > static_cast<size_t>(firmware::kMaxOscPacketBytes)) {
    size = static_cast<size_t>(firmware::kMaxOscPacketBytes);
  }
  // An exact-size heap copy (liblo takes a mutable pointer), so that reading one byte past the
  // datagram is an AddressSanitizer report.
  std::vector<uint8_t> copy(data, data + size);
  lo_server_dispatch_data(server, copy.empty() ? nullptr : copy.data(), copy.size());
  // Nothing may stay queued (time tags are not honoured: see ConfigureOscLoServer).
  if (lo_server_events_pending(server)) Violation("a message was queued for later", "");
  return 0;
}

FuzzOscStats FuzzOscCounters() { return g_stats; }

}  // namespace chronus::fuzz
