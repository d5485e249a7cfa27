// A SuperDirt event as the audio thread schedules it: validated, clamped, with an absolute engine
// frame for its onset. Trivially copyable, so it crosses threads in a Boost.Lockfree queue.
#pragma once

#include <cstdint>

namespace chronus::firmware {

/// Longest sound name an event carries, bytes (= kMaxSoundNameBytes of the sample bank).
inline constexpr uint32_t kDirtNameBytes = 47;

struct DirtEvent {
  enum class Kind : uint8_t {
    kSample,  ///< a sample of the bank: s, n
    kSynth,   ///< a synth voice (s mapped to the synth): midi_note for duration_s
  };
  Kind kind = Kind::kSample;
  /// Absolute engine frame of the onset (frame 0 = the first frame the engine rendered); 0 plays
  /// at the next block the workers render.
  uint64_t frame = 0;
  char s[kDirtNameBytes + 1] = {};  ///< Sound name, NUL-terminated.
  uint32_t s_hash = 0;              ///< SoundNameHash(s).
  int64_t n = 0;                    ///< Sample index (modulo the sound's file count).
  float rate = 1.0f;                ///< speed * 2^(note / 12); negative plays backwards.
  float amp = 0.4f;                 ///< Linear: DirtAmp(gain).
  float pan = 0.5f;                 ///< 0..1.
  float begin = 0.0f;               ///< 0..1.
  float end = 1.0f;                 ///< 0..1, > begin.
  int32_t cut = 0;                  ///< Cut group; 0 = none.
  uint32_t orbit = 0;               ///< < dsp::kMaxOrbits.
  float sustain_s = 0.0f;           ///< sustain, or legato * delta; 0 = the sample's own length.
  float attack_s = -1.0f;           ///< < 0: SuperDirt's default fade.
  float release_s = -1.0f;          ///< < 0: SuperDirt's default fade.
  float shape = 0.0f;
  float lpf_hz = 0.0f;  ///< 0 = off.
  float lpf_resonance = 0.0f;
  float hpf_hz = 0.0f;  ///< 0 = off.
  float hpf_resonance = 0.0f;
  float room = 0.0f;             ///< Reverb send 0..1.
  float delay = 0.0f;            ///< Delay send 0..1.
  float size = -1.0f;            ///< Orbit reverb size 0..1; < 0 = unchanged.
  float delay_time_s = -1.0f;    ///< Orbit delay time, s; < 0 = unchanged.
  float delay_feedback = -1.0f;  ///< Orbit delay feedback; < 0 = unchanged.
  uint8_t midi_note = 60;        ///< kSynth: MIDI note (60 + note, or 60 + n).
  float velocity = 1.0f;         ///< kSynth: 0..1.
  float duration_s = 0.25f;      ///< kSynth: gate length, s.
};

}  // namespace chronus::firmware
