// The generative mode's hardware-control targets (board file: gen_intensity, gen_bpm, gen_mode,
// gen_toggle; see firmware/control/control_target.h) applied to the GenPlayer, and read back so
// that an encoder resumes from the value the mode plays. Both: any non-RT thread (the player's
// setters are atomics; a change takes effect at the next bar the player composes).
#pragma once

#include "firmware/control/control_target.h"
#include "firmware/generative/gen_player.h"

namespace chronus::firmware {

/// gen_intensity: `value` 0..1 (clamped); gen_bpm: quarter notes per minute (clamped 20..300);
/// gen_mode: 0..6 = Ionian..Locrian (rounded, clamped); gen_toggle: starts the mode, or stops it
/// when it plays (`value` ignored). Other kinds: nothing.
void ApplyGenControl(GenPlayer& player, TargetKind kind, float value);

/// The current value of a generative target (gen_toggle: 1 while playing, else 0); 0 for others.
float GenControlValue(const GenPlayer& player, TargetKind kind);

}  // namespace chronus::firmware
