// Validation and translation of SuperDirt's `/dirt/play` (a flat list of key/value pairs, as
// TidalCycles sends it: see ../shared/notes/superdirt-protocol.md) into a DirtEvent. Pure: no
// sockets, no clock, no global state, so it can be fuzzed and unit-tested. Non-RT; any thread.
#pragma once

#include <lo/lo.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "firmware/engine/dirt_event.h"

namespace chronus::firmware {

/// Bounds applied to numbers from the network (values outside are clamped and counted).
inline constexpr double kDirtMaxN = 1e6;           ///< |n|
inline constexpr double kDirtMaxSpeed = 32.0;      ///< |speed * 2^(note/12)|
inline constexpr double kDirtMinSpeed = 1.0 / 64;  ///< smallest |rate| (speed 0 plays at this)
inline constexpr double kDirtMaxNote = 96.0;       ///< |note| semitones
inline constexpr double kDirtMaxSeconds = 60.0;    ///< sustain, attack, release, delta
inline constexpr double kDirtMaxDelayTime = 2.0;   ///< delaytime, s
inline constexpr int kDirtMaxArguments = 256;      ///< arguments of one message (128 pairs)

/// Routes `s` names to a synth instead of samples (e.g. "superpiano").
struct DirtSynthMap {
  std::vector<std::string> synth_names;
  bool IsSynth(std::string_view name) const;
};

struct DirtPlayResult {
  bool ok = false;
  DirtEvent event;
  std::string refusal;        ///< When !ok: why (for the log).
  uint32_t unknown_keys = 0;  ///< Keys ignored (unknown, or SuperDirt effects not provided).
  uint32_t clamped = 0;       ///< Values brought into range.
};

/// Translates the arguments of one `/dirt/play` (`types`: the `argc` liblo type tags) played at
/// engine frame `frame`. Refused (ok = false): an odd argument count, a key that is not a string,
/// a missing or empty `s`, an `s` longer than kDirtNameBytes or with control characters, a known
/// numeric key with a non-numeric value or NaN/infinity, more than kDirtMaxArguments arguments,
/// `types` shorter than `argc` or a null argument. SuperDirt's defaults fill in what is absent
/// (n 0, gain 1, pan 0.5, speed 1, orbit 0, begin 0, end 1, cut 0).
DirtPlayResult TranslateDirtPlay(const char* types, lo_arg* const* argv, int argc, uint64_t frame,
                                 const DirtSynthMap& synths, uint32_t orbits);

}  // namespace chronus::firmware
