#include "firmware/control/osc_translate.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include <lo/lo_errors.h>

#include "dsp/synth_params.h"

namespace chronus::firmware {

namespace {

OscRequest Refuse(std::string reason, bool reply = false) {
  OscRequest request;
  request.kind = OscRequest::Kind::kRefuse;
  request.refusal = std::move(reason);
  request.reply_on_refusal = reply;
  return request;
}

OscRequest Queue(const Command& command) {
  OscRequest request;
  request.kind = OscRequest::Kind::kCommand;
  request.command = command;
  return request;
}

// Reads an argument of type T. liblo's argument pointers are only 4-byte aligned (OSC pads to 4)
// while lo_arg is an 8-byte aligned union: reading through `arg->h` would be a misaligned access.
template <typename T>
T Read(const lo_arg* arg) {
  T value;
  std::memcpy(&value, static_cast<const void*>(arg), sizeof(value));
  return value;
}

// Formats a double without std::to_string's six fixed decimals (1e9 -> "1e+09", 0.5 -> "0.5").
std::string Format(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", value);
  return buf;
}

}  // namespace

bool IsLibloPacketError(int number) {
  return number != LO_UNKNOWNPROTO && number != LO_NOPORT && number != LO_INT_ERR &&
         number != LO_EALLOC;
}

bool IsOscNumber(char type) { return type == 'i' || type == 'f' || type == 'd' || type == 'h'; }

std::optional<double> OscNumber(char type, const lo_arg* arg) {
  if (arg == nullptr) return std::nullopt;
  double value = NAN;
  switch (type) {
    case 'i':
      value = Read<int32_t>(arg);
      break;
    case 'f':
      value = Read<float>(arg);
      break;
    case 'd':
      value = Read<double>(arg);
      break;
    case 'h':
      value = static_cast<double>(Read<int64_t>(arg));
      break;
    default:
      return std::nullopt;
  }
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<int64_t> OscInteger(char type, const lo_arg* arg, int64_t min, int64_t max) {
  if (arg == nullptr || min > max) return std::nullopt;
  int64_t value = 0;
  if (type == 'i') {
    value = Read<int32_t>(arg);
  } else if (type == 'h') {
    value = Read<int64_t>(arg);  // compared as an integer: no rounding through double
  } else {
    const std::optional<double> number = OscNumber(type, arg);
    if (!number || *number != std::floor(*number)) return std::nullopt;
    // Range-check in double before converting: casting an out-of-range double is undefined.
    if (*number < static_cast<double>(min) || *number > static_cast<double>(max)) {
      return std::nullopt;
    }
    value = static_cast<int64_t>(*number);
  }
  if (value < min || value > max) return std::nullopt;
  return value;
}

std::optional<int> OscIndex(char type, const lo_arg* arg, int count) {
  if (count <= 0) return std::nullopt;
  const std::optional<int64_t> index = OscInteger(type, arg, 0, count - 1);
  if (!index) return std::nullopt;
  return static_cast<int>(*index);
}

std::string_view CheckTakeName(std::string_view name) {
  if (name.size() > kMaxOscTakeNameBytes) return "take name longer than 64 bytes";
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\') return "take name must be a plain file name (no '/' or '\\')";
    if (byte < 0x20 || byte == 0x7f) return "take name must not contain control characters";
  }
  if (name == "." || name == "..") return "take name must not be '.' or '..'";
  return {};
}

OscRequest TranslateOsc(std::string_view path, const char* types, lo_arg* const* argv, int argc) {
  // The shape of the arguments first: nothing below reads past argc, types or a null argument.
  if (argc < 0 || (argc > 0 && (types == nullptr || argv == nullptr)) ||
      (argc > 0 && strnlen(types, static_cast<size_t>(argc)) < static_cast<size_t>(argc))) {
    return Refuse("inconsistent argument list");
  }
  for (int i = 0; i < argc; ++i) {
    if (argv[i] == nullptr) return Refuse("inconsistent argument list");
  }
  auto numeric = [&](int count) {
    if (argc != count) return false;
    for (int i = 0; i < count; ++i) {
      if (!IsOscNumber(types[i])) return false;
    }
    return true;
  };

  if (path == "/note/on") {
    if (!numeric(2)) return Refuse("expected arguments i f (note, velocity)");
    const std::optional<int64_t> note = OscInteger(types[0], argv[0], 0, 127);
    if (!note) return Refuse("note must be an integer 0..127");
    const std::optional<double> velocity = OscNumber(types[1], argv[1]);
    if (!velocity || !(*velocity >= 0.0 && *velocity <= 1.0)) {
      return Refuse("velocity must be 0..1");
    }
    return Queue(Command{CommandType::kNoteOn, static_cast<uint8_t>(*note), dsp::ParamId::kCutoffHz,
                         static_cast<float>(*velocity)});
  }
  if (path == "/note/off") {
    if (!numeric(1)) return Refuse("expected argument i (note)");
    const std::optional<int64_t> note = OscInteger(types[0], argv[0], 0, 127);
    if (!note) return Refuse("note must be an integer 0..127");
    return Queue(Command{CommandType::kNoteOff, static_cast<uint8_t>(*note)});
  }
  if (path.starts_with("/param/")) {
    const dsp::ParamSpec* spec = dsp::FindParam(path.substr(7));
    if (spec == nullptr) return Refuse("unknown parameter");
    if (!numeric(1)) return Refuse("expected one number");
    const std::optional<double> value = OscNumber(types[0], argv[0]);
    if (!value || !(*value >= spec->min && *value <= spec->max)) {
      return Refuse("value " + (value ? Format(*value) : std::string("not finite")) + " outside " +
                    Format(spec->min) + ".." + Format(spec->max) + (spec->unit.empty() ? "" : " ") +
                    std::string(spec->unit));
    }
    // The range check in double also guarantees the float conversion is in range.
    return Queue(Command{CommandType::kSetParam, 0, spec->id, static_cast<float>(*value)});
  }
  if (path == "/record/start") {
    if (argc == 0) {
      OscRequest request;
      request.kind = OscRequest::Kind::kRecordStart;
      return request;
    }
    if (argc != 1 || types[0] != 's') {
      return Refuse("expected no argument or one string (take name)", true);
    }
    const std::string_view name(reinterpret_cast<const char*>(argv[0]));  // liblo: terminated
    const std::string_view problem = CheckTakeName(name);
    if (!problem.empty()) return Refuse(std::string(problem), true);
    OscRequest request;
    request.kind = OscRequest::Kind::kRecordStart;
    request.take_name = name;
    return request;
  }
  if (path == "/record/stop") {
    if (argc != 0) return Refuse("expected no argument", true);
    OscRequest request;
    request.kind = OscRequest::Kind::kRecordStop;
    return request;
  }
  if (path == "/preset/save" || path == "/preset/load") {
    const std::optional<int> slot =
        argc == 1 ? OscIndex(types[0], argv[0], kPresetSlots) : std::nullopt;
    if (!slot) {
      return Refuse("expected one preset slot 0.." + std::to_string(kPresetSlots - 1), true);
    }
    OscRequest request;
    request.kind =
        path == "/preset/save" ? OscRequest::Kind::kPresetSave : OscRequest::Kind::kPresetLoad;
    request.preset = *slot;
    return request;
  }
  if (path == "/ping") {
    if (argc != 0) return Refuse("expected no argument");
    OscRequest request;
    request.kind = OscRequest::Kind::kPing;
    return request;
  }
  if (path == "/notify") {
    const std::optional<int64_t> on =
        argc == 1 ? OscInteger(types[0], argv[0], 0, 1) : std::nullopt;
    if (!on) return Refuse("expected one argument 1 (subscribe) or 0 (unsubscribe)", true);
    OscRequest request;
    request.kind = OscRequest::Kind::kNotify;
    request.notify_on = *on == 1;
    return request;
  }
  if (path == "/status" || path == "/health") {
    OscRequest request;
    request.kind = path == "/status" ? OscRequest::Kind::kStatus : OscRequest::Kind::kHealth;
    if (argc == 0) return request;
    const std::optional<int64_t> port =
        argc == 1 ? OscInteger(types[0], argv[0], 1, 65535) : std::nullopt;
    if (!port) return Refuse("expected no argument or a reply port 1..65535");
    request.reply_port = static_cast<int>(*port);
    return request;
  }
  return Refuse("unknown address");
}

void ConfigureOscLoServer(lo_server server) {
  if (server == nullptr) return;
  lo_server_enable_queue(server, 0, 1);
  lo_server_max_msg_size(server, kMaxOscPacketBytes);
}

bool SendFromOwnSocketNonRt(lo_address target, const char* address, lo_message message) {
  if (target == nullptr) return false;
  lo_server own = lo_server_new_with_proto(nullptr, LO_UDP, [](int, const char*, const char*) {});
  if (own == nullptr) return false;
  const bool ok = lo_send_message_from(target, own, address, message) >= 0;
  lo_server_free(own);
  return ok;
}

}  // namespace chronus::firmware
