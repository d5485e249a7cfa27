#include "firmware/control/osc_sound.h"

#include <memory>
#include <string>

#include "firmware/control/osc_timetag.h"
#include "firmware/control/osc_translate.h"
#include "firmware/log/log.h"

namespace chronus::firmware {

namespace {

// Where to send the results of a request: the sender's host and port, copied (the request
// outlives the message).
struct ReplyTarget {
  std::string host;
  std::string port;
  void Send(const char* address, lo_message message) const {
    if (host.empty()) return;
    lo_address target = lo_address_new(host.c_str(), port.c_str());
    if (target == nullptr) return;
    SendFromOwnSocketNonRt(target, address, message);  // the SoundFont loader's thread
    lo_address_free(target);
  }
  void Result(bool ok, const std::string& text) const {
    lo_message m = lo_message_new();
    lo_message_add_string(m, "/sf/load");
    lo_message_add_string(m, text.c_str());
    Send(ok ? "/done" : "/fail", m);
    lo_message_free(m);
  }
};

ReplyTarget SourceOf(lo_message message) {
  ReplyTarget target;
  lo_address source = message != nullptr ? lo_message_get_source(message) : nullptr;
  if (source == nullptr) return target;
  const char* host = lo_address_get_hostname(source);
  const char* port = lo_address_get_port(source);
  if (host != nullptr && port != nullptr) {
    target.host = host;
    target.port = port;
  }
  return target;
}

OscExtraResult Refused(std::string reason) { return {true, std::move(reason)}; }
OscExtraResult Done() { return {true, {}}; }

bool HasTypes(const char* types, int argc, int want) {
  return types != nullptr && argc >= want &&
         static_cast<int>(std::string_view(types).size()) >= argc;
}

}  // namespace

OscExtraResult OscSoundHandler::LoadSoundFont(const char* types, lo_arg** argv, int argc,
                                              lo_message message) {
  const ReplyTarget reply = SourceOf(message);
  auto refuse = [&](const std::string& reason) {
    reply.Result(false, reason);
    OscExtraResult result = Refused(reason);
    result.answered = true;  // /fail sent here (from the loader's socket, like /done)
    return result;
  };
  if (!HasTypes(types, argc, 1) || argc > 2 || types[0] != 's' || argv[0] == nullptr) {
    return refuse("expected /sf/load s [i slot]");
  }
  int slot = 0;
  if (argc == 2) {
    const std::optional<int> index = OscIndex(types[1], argv[1], kSoundFontSlots);
    if (!index) return refuse("slot must be an integer 0.." + std::to_string(kSoundFontSlots - 1));
    slot = *index;
  }
  if (loader_ == nullptr) return refuse("FluidSynth is not available in this patch");
  SoundFontRequest request;
  request.name = std::string(reinterpret_cast<const char*>(argv[0])).substr(0, 1025);
  request.slot = slot;
  request.progress = [reply](const std::string& path, double fraction) {
    lo_message m = lo_message_new();
    lo_message_add_string(m, path.c_str());
    lo_message_add_float(m, static_cast<float>(fraction));
    reply.Send("/sf/progress", m);
    lo_message_free(m);
  };
  request.done = [reply](bool ok, const std::string& text) { reply.Result(ok, text); };
  const std::string error = loader_->RequestNonRt(std::move(request));
  if (!error.empty()) return refuse(error);
  return Done();
}

OscExtraResult OscSoundHandler::Handle(std::string_view path, const char* types, lo_arg** argv,
                                       int argc, lo_message message, ControlQueue::Producer& lane) {
  if (path.starts_with("/midi/note/")) {
    const bool on = path == "/midi/note/on";
    if (!on && path != "/midi/note/off") return {};
    if (!HasTypes(types, argc, on ? 3 : 2) || argc != (on ? 3 : 2)) {
      return Refused(on ? "expected /midi/note/on i channel i note f velocity"
                        : "expected /midi/note/off i channel i note");
    }
    const auto channel = OscInteger(types[0], argv[0], 1, 16);
    const auto note = OscInteger(types[1], argv[1], 0, 127);
    if (!channel || !note) return Refused("channel must be 1..16 and note 0..127");
    float velocity = 0.0f;
    if (on) {
      const auto v = OscNumber(types[2], argv[2]);
      if (!v || *v < 0.0 || *v > 1.0) return Refused("velocity must be 0..1");
      velocity = static_cast<float>(*v);
    }
    Command command{on ? CommandType::kNoteOn : CommandType::kNoteOff, static_cast<uint8_t>(*note),
                    dsp::ParamId::kCutoffHz, velocity, static_cast<uint8_t>(*channel - 1)};
    // A bundle's timetag: the note takes effect at the engine frame heard then (as /note/*).
    command.frame = CommandFrameOfTimetag(
        clock_, message != nullptr ? lo_message_get_timestamp(message) : lo_timetag{0, 1});
    if (!lane.pushNonRt(command)) return Refused("control queue full");
    OscExtraResult done = Done();
    done.timed = command.frame != 0;  // counted by the server in timed_commands
    return done;
  }
  if (path == "/sf/load") return LoadSoundFont(types, argv, argc, message);
  if (!path.starts_with("/gen/")) return {};
  if (gen_ == nullptr) return Refused("the generative mode is not available");
  const std::string_view what = path.substr(5);
  if (what == "start" || what == "stop") {
    if (argc != 0) return Refused("expected no arguments");
    if (what == "start") {
      gen_->StartMusicNonRt();
    } else {
      gen_->StopMusicNonRt();
    }
    return Done();
  }
  if (!HasTypes(types, argc, 1) || argc != 1) return Refused("expected one argument");
  if (what == "mode") {
    if (types[0] != 's' || argv[0] == nullptr) return Refused("expected /gen/mode s");
    const auto mode = generative::ParseMode(reinterpret_cast<const char*>(argv[0]));
    if (!mode) return Refused("unknown mode (ionian ... locrian)");
    gen_->SetModeNonRt(*mode);
    return Done();
  }
  if (what == "root") {
    const auto root = OscInteger(types[0], argv[0], 24, 96);
    if (!root) return Refused("root must be a MIDI note 24..96");
    gen_->SetRootNonRt(static_cast<int>(*root));
    return Done();
  }
  if (what == "seed") {
    const auto seed = OscInteger(types[0], argv[0], 0, 2147483647);
    if (!seed) return Refused("seed must be an integer 0..2147483647");
    gen_->SetSeedNonRt(static_cast<uint32_t>(*seed));
    return Done();
  }
  const auto value = OscNumber(types[0], argv[0]);
  if (what == "bpm") {
    if (!value || *value < 20.0 || *value > 300.0) return Refused("bpm must be 20..300");
    gen_->SetBpmNonRt(*value);
    return Done();
  }
  if (what == "intensity") {
    if (!value || *value < 0.0 || *value > 1.0) return Refused("intensity must be 0..1");
    gen_->SetIntensityNonRt(*value);
    return Done();
  }
  return Refused("unknown /gen address");
}

}  // namespace chronus::firmware
