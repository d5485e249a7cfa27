#include "firmware/control/sound_osc_translate.h"

#include <utility>

#include "firmware/control/osc_translate.h"

namespace chronus::firmware {

namespace {

using Kind = SoundOscRequest::Kind;

SoundOscRequest Refused(std::string reason, bool reply = false) {
  SoundOscRequest request;
  request.kind = Kind::kRefuse;
  request.refusal = std::move(reason);
  request.reply_on_refusal = reply;
  return request;
}

SoundOscRequest Of(Kind kind) {
  SoundOscRequest request;
  request.kind = kind;
  return request;
}

bool HasTypes(const char* types, int argc, int want) {
  return types != nullptr && argc >= want &&
         static_cast<int>(std::string_view(types).size()) >= argc;
}

SoundOscRequest SoundFontLoad(const char* types, lo_arg* const* argv, int argc, int slots) {
  if (!HasTypes(types, argc, 1) || argc > 2 || types[0] != 's' || argv == nullptr ||
      argv[0] == nullptr) {
    return Refused("expected /sf/load s [i slot]", true);
  }
  SoundOscRequest request = Of(Kind::kSoundFontLoad);
  if (argc == 2) {
    const std::optional<int> index = OscIndex(types[1], argv[1], slots);
    if (!index) {
      return Refused("slot must be an integer 0.." + std::to_string(slots - 1), true);
    }
    request.slot = *index;
  }
  const std::string_view name(reinterpret_cast<const char*>(argv[0]));
  request.soundfont = name.substr(0, kMaxOscSoundFontNameBytes);
  return request;
}

}  // namespace

SoundOscRequest TranslateSoundOsc(std::string_view path, const char* types, lo_arg* const* argv,
                                  int argc, int soundfont_slots) {
  if (path.starts_with("/midi/note/")) {
    const bool on = path == "/midi/note/on";
    if (!on && path != "/midi/note/off") return {};
    if (!HasTypes(types, argc, on ? 3 : 2) || argc != (on ? 3 : 2) || argv == nullptr) {
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
    SoundOscRequest request = Of(Kind::kMidiNote);
    request.command =
        Command{on ? CommandType::kNoteOn : CommandType::kNoteOff, static_cast<uint8_t>(*note),
                dsp::ParamId::kCutoffHz, velocity, static_cast<uint8_t>(*channel - 1)};
    return request;
  }
  if (path == "/sf/load") return SoundFontLoad(types, argv, argc, soundfont_slots);
  if (!path.starts_with("/gen/")) return {};
  const std::string_view what = path.substr(5);
  if (what == "start" || what == "stop") {
    if (argc != 0) return Refused("expected no arguments");
    return Of(what == "start" ? Kind::kGenStart : Kind::kGenStop);
  }
  if (!HasTypes(types, argc, 1) || argc != 1 || argv == nullptr) {
    return Refused("expected one argument");
  }
  if (what == "mode") {
    if (types[0] != 's' || argv[0] == nullptr) return Refused("expected /gen/mode s");
    const auto mode = generative::ParseMode(reinterpret_cast<const char*>(argv[0]));
    if (!mode) return Refused("unknown mode (ionian ... locrian)");
    SoundOscRequest request = Of(Kind::kGenMode);
    request.mode = *mode;
    return request;
  }
  if (what == "root" || what == "seed") {
    const bool root = what == "root";
    const auto value = root ? OscInteger(types[0], argv[0], kGenMinRoot, kGenMaxRoot)
                            : OscInteger(types[0], argv[0], 0, kGenMaxSeed);
    if (!value) {
      return Refused(root ? "root must be a MIDI note 24..96"
                          : "seed must be an integer 0..2147483647");
    }
    SoundOscRequest request = Of(root ? Kind::kGenRoot : Kind::kGenSeed);
    request.integer = *value;
    return request;
  }
  const auto value = OscNumber(types[0], argv[0]);
  if (what == "bpm" || what == "intensity") {
    const bool bpm = what == "bpm";
    const double lo = bpm ? kGenMinBpm : 0.0;
    const double hi = bpm ? kGenMaxBpm : 1.0;
    if (!value || *value < lo || *value > hi) {
      return Refused(bpm ? "bpm must be 20..300" : "intensity must be 0..1");
    }
    SoundOscRequest request = Of(bpm ? Kind::kGenBpm : Kind::kGenIntensity);
    request.number = *value;
    return request;
  }
  return Refused("unknown /gen address");
}

}  // namespace chronus::firmware
