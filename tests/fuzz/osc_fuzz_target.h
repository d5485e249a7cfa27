// The OSC fuzz target, shared by the libFuzzer binary (clang, `fuzz` preset) and the corpus
// regression test (any compiler, every preset): one datagram goes through liblo's own dispatch
// (message or bundle, nested bundles, time tags; exactly what the server thread does with a
// received datagram) into every translator of the network input: the control port's TranslateOsc
// and TranslateSoundOsc (/midi/note/*, /sf/load, /gen/*), the SuperDirt port's TranslateDirtPlay,
// and the bundle timetag -> engine frame mapping both ports schedule by; every outcome is checked.
// In-process, no sockets used, no file opened.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chronus::fuzz {

/// Feeds `data` as one datagram. Aborts (a crash for libFuzzer, a failure for the test) when a
/// translated request breaks an invariant: a command, event or generative parameter out of its
/// documented range, a take name or SoundFont path that could leave its directory, a refusal
/// without a reason, a timed message scheduled at the wrong frame, inconsistent counts. Returns 0.
int FuzzOscPacket(const uint8_t* data, size_t size);

/// Counters since the process started (for the regression test's report).
struct FuzzOscStats {
  uint64_t packets = 0;
  uint64_t liblo_errors = 0;         ///< packets liblo refused (malformed)
  uint64_t messages = 0;             ///< messages handed to TranslateOsc (bundles hold several)
  uint64_t accepted = 0;             ///< messages translated into something other than a refusal
  uint64_t sound_messages = 0;       ///< messages to /midi/note/*, /sf/load, /gen/*
  uint64_t sound_accepted = 0;       ///< ... translated into something other than a refusal
  uint64_t soundfonts_resolved = 0;  ///< /sf/load names resolved to a file (in the fuzz directory)
  uint64_t timed_messages = 0;       ///< messages in a bundle with a timetag other than "now"
  uint64_t dirt_play = 0;            ///< /dirt/play messages translated
  uint64_t dirt_events = 0;          ///< ... accepted as an event
  uint64_t dirt_synth_events = 0;    ///< ... of which for a synth
  uint64_t dirt_requests = 0;        ///< /dirt/handshake, /samples/reload (routed, not run)
};
FuzzOscStats FuzzOscCounters();

}  // namespace chronus::fuzz
