// Validation and translation of the sound-layer and generative-mode OSC addresses (the extra
// handler of OscServer, osc_sound.h: /midi/note/*, /sf/load, /gen/*) into what the handler does
// with them. Pure: no sockets, no loader, no player, no global state, so it can be fuzzed
// (tests/fuzz) and unit-tested without a server. Non-RT (a refusal allocates its reason); any
// thread.
#pragma once

#include <lo/lo.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "firmware/engine/command.h"
#include "firmware/generative/composer.h"

namespace chronus::firmware {

/// Longest SoundFont name or path taken from /sf/load, bytes (longer ones are cut here and then
/// refused by ResolveSoundFont, whose limit is 1024).
inline constexpr size_t kMaxOscSoundFontNameBytes = 1025;

/// What one message of the sound-layer address space asks for.
struct SoundOscRequest {
  enum class Kind : uint8_t {
    kNotMine,        ///< not one of these addresses: the built-in address space runs
    kRefuse,         ///< malformed or out of range: `refusal` says why
    kMidiNote,       ///< `command`: kNoteOn / kNoteOff, channel 0..15, note 0..127, velocity 0..1
    kSoundFontLoad,  ///< load `soundfont` (not yet resolved: ResolveSoundFont) into `slot`
    kGenStart,
    kGenStop,
    kGenMode,       ///< `mode`
    kGenRoot,       ///< `integer`: MIDI note 24..96
    kGenSeed,       ///< `integer`: 0..2^31-1
    kGenBpm,        ///< `number`: 20..300 quarter notes per minute
    kGenIntensity,  ///< `number`: 0..1
  };
  Kind kind = Kind::kNotMine;
  std::string refusal;
  /// kRefuse of /sf/load: the sender expects /fail /sf/load <reason>.
  bool reply_on_refusal = false;
  Command command{CommandType::kNoteOn};
  std::string_view soundfont;  ///< kSoundFontLoad: points into the message's arguments.
  int slot = 0;                ///< kSoundFontLoad: 0..kSoundFontSlots-1.
  generative::Mode mode = generative::Mode::kDorian;
  int64_t integer = 0;
  double number = 0.0;
};

/// Translates one message (`types`: the `argc` liblo type tags; a `types` shorter than `argc` or
/// a null argument is refused, never read past). Address space: see osc_sound.h. `soundfont_slots`
/// is the number of SoundFont slots (kSoundFontSlots).
SoundOscRequest TranslateSoundOsc(std::string_view path, const char* types, lo_arg* const* argv,
                                  int argc, int soundfont_slots);

/// Range of /gen/root, /gen/seed, /gen/bpm, /gen/intensity (inclusive).
inline constexpr int64_t kGenMinRoot = 24, kGenMaxRoot = 96;
inline constexpr int64_t kGenMaxSeed = 2147483647;
inline constexpr double kGenMinBpm = 20.0, kGenMaxBpm = 300.0;

}  // namespace chronus::firmware
