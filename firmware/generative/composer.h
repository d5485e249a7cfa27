// The generative ambient composer: pure music logic (no threads, no I/O, no clock). It writes
// phrases of 8 bars in a church mode (Ionian ... Locrian) on a root note: a diatonic chord
// progression on a pad, a melodic line on a piano and a sparse bass, as note events at absolute
// frames, one bar at a time so that tempo, intensity, mode and root changes apply from the next
// bar. Deterministic: the same seed and the same parameter changes at the same bars give the same
// events (its random numbers come from its own PCG32, not from the standard library's
// distributions, whose output differs between implementations).
//
// Intensity 0..1 raises the melody's note density (probability of a note per eighth), the
// velocities, the melody's register spread, adds a seventh to the pad chords (> 0.6) and a second
// bass note (> 0.5).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace chronus::firmware::generative {

enum class Mode : uint8_t { kIonian, kDorian, kPhrygian, kLydian, kMixolydian, kAeolian, kLocrian };

/// "ionian" ... "locrian" (case-insensitive; "major" and "minor" too), or nullopt.
std::optional<Mode> ParseMode(std::string_view name);
const char* ModeName(Mode mode);
/// Semitones of the 7 degrees above the root (Ionian 0 2 4 5 7 9 11, the others rotations).
std::array<int, 7> ModeIntervals(Mode mode);
/// Whether MIDI `note` is one of the mode's pitch classes on `root`.
bool InMode(int note, int root, Mode mode);

/// The composer's parts; each plays on its own MIDI channel (see GenerativeConfig).
enum class Part : uint8_t { kPad = 0, kMelody = 1, kBass = 2 };
inline constexpr int kParts = 3;

struct GenParams {
  Mode mode = Mode::kDorian;
  int root = 50;           ///< MIDI note of the tonic (D3).
  double bpm = 60.0;       ///< Quarter notes per minute, 20..300.
  double intensity = 0.5;  ///< 0..1.
};

/// One note event. Note-offs have velocity 0.
struct GenNote {
  uint64_t frame = 0;  ///< Absolute frame.
  Part part = Part::kPad;
  uint8_t note = 0;
  float velocity = 0.0f;  ///< 0..1; 0 = note off.
};

struct ComposerConfig {
  double sample_rate = 48000.0;  ///< Hz.
  int beats_per_bar = 4;
  int bars_per_phrase = 8;
  /// Voices each part may sound at once (the pad's chord size is capped by it).
  std::array<int, kParts> max_voices = {4, 1, 1};
};

/// Small deterministic random generator (PCG32, O'Neill 2014, pcg-random.org).
class Pcg32 {
 public:
  explicit Pcg32(uint64_t seed = 1) { Seed(seed); }
  void Seed(uint64_t seed);
  uint32_t Next();
  /// Uniform in [0, 1).
  double Uniform() { return (Next() >> 8) * (1.0 / 16777216.0); }
  /// Uniform integer in [0, n).
  int Below(int n) { return static_cast<int>(Uniform() * n); }

 private:
  uint64_t state_ = 0;
  uint64_t inc_ = 0;
};

class Composer {
 public:
  /// Notes of one bar at most (the bar's output vector never grows past it).
  static constexpr size_t kMaxNotesPerBar = 96;

  /// Starts a piece at `start_frame` with `seed`. Allocation-free after construction.
  void Init(const ComposerConfig& config, uint32_t seed, uint64_t start_frame);
  /// Composes the next bar with `params` into `out` (cleared first; at most kMaxNotesPerBar
  /// events, sorted by frame, note-offs before note-ons at the same frame). Every note sounding
  /// in the bar ends at or before the bar's end. Returns the bar's first frame. Allocates nothing
  /// when `out` has kMaxNotesPerBar capacity.
  uint64_t ComposeBar(const GenParams& params, std::vector<GenNote>* out);

  uint64_t next_bar_frame() const { return next_bar_frame_; }
  uint64_t bars() const { return bars_; }

 private:
  void NewPhrase();
  int Pitch(const GenParams& params, int degree) const;  // scale degree (any int) -> MIDI note
  void Add(std::vector<GenNote>* out, uint64_t on, uint64_t off, Part part, int note,
           float velocity);

  ComposerConfig config_;
  Pcg32 rng_;
  uint64_t next_bar_frame_ = 0;
  uint64_t bars_ = 0;
  std::array<int, 16> progression_{};  // chord degree per bar of the phrase
  int melody_degree_ = 7;              // last melody degree (relative to the root, scale steps)
};

}  // namespace chronus::firmware::generative
