#include "firmware/generative/composer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

namespace chronus::firmware::generative {

namespace {

constexpr std::array<int, 7> kIonian = {0, 2, 4, 5, 7, 9, 11};
constexpr std::array<const char*, 7> kNames = {"ionian",     "dorian",  "phrygian", "lydian",
                                               "mixolydian", "aeolian", "locrian"};

int FloorDiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

std::optional<Mode> ParseMode(std::string_view name) {
  std::string lower;
  for (const char c : name.substr(0, 16)) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (name.size() > 16) return std::nullopt;
  if (lower == "major") return Mode::kIonian;
  if (lower == "minor") return Mode::kAeolian;
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (lower == kNames[i]) return static_cast<Mode>(i);
  }
  return std::nullopt;
}

const char* ModeName(Mode mode) { return kNames[static_cast<size_t>(mode)]; }

std::array<int, 7> ModeIntervals(Mode mode) {
  const int shift = static_cast<int>(mode);
  std::array<int, 7> out{};
  for (int i = 0; i < 7; ++i) {
    const int j = i + shift;
    out[static_cast<size_t>(i)] = kIonian[static_cast<size_t>(j % 7)] + (j >= 7 ? 12 : 0) -
                                  kIonian[static_cast<size_t>(shift)];
  }
  return out;
}

bool InMode(int note, int root, Mode mode) {
  const int pc = ((note - root) % 12 + 12) % 12;
  for (const int interval : ModeIntervals(mode)) {
    if (interval == pc) return true;
  }
  return false;
}

void Pcg32::Seed(uint64_t seed) {
  state_ = 0;
  inc_ = (seed << 1u) | 1u;
  Next();
  state_ += 0x853c49e6748fea9bULL ^ seed;
  Next();
}

uint32_t Pcg32::Next() {
  const uint64_t old = state_;
  state_ = old * 6364136223846793005ULL + inc_;
  const auto xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
  const auto rot = static_cast<uint32_t>(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

void Composer::Init(const ComposerConfig& config, uint32_t seed, uint64_t start_frame) {
  config_ = config;
  config_.bars_per_phrase = std::clamp(config_.bars_per_phrase, 1, 16);
  config_.beats_per_bar = std::clamp(config_.beats_per_bar, 1, 16);
  rng_.Seed(seed);
  next_bar_frame_ = start_frame;
  bars_ = 0;
  melody_degree_ = 7;
}

void Composer::NewPhrase() {
  // A walk over the diatonic chords: starts on the tonic, prefers steps of a third, fourth and
  // fifth, and ends on IV or V leading back to the tonic of the next phrase.
  static constexpr std::array<int, 6> kMoves = {3, 4, 2, 5, 1, 6};
  const int bars = config_.bars_per_phrase;
  int degree = 0;
  for (int b = 0; b < bars; ++b) {
    if (b > 0) {
      const int move = kMoves[static_cast<size_t>(std::min(rng_.Below(9), 5))];
      degree = (degree + move) % 7;
    }
    if (b == bars - 1 && bars > 1) degree = rng_.Below(2) == 0 ? 3 : 4;
    progression_[static_cast<size_t>(b)] = degree;
  }
}

int Composer::Pitch(const GenParams& params, int degree) const {
  const std::array<int, 7> intervals = ModeIntervals(params.mode);
  const int octave = FloorDiv(degree, 7);
  return params.root + 12 * octave + intervals[static_cast<size_t>(degree - 7 * octave)];
}

void Composer::Add(std::vector<GenNote>* out, uint64_t on, uint64_t off, Part part, int note,
                   float velocity) {
  if (note < 0 || note > 127 || off <= on || out->size() + 2 > kMaxNotesPerBar) return;
  out->push_back(GenNote{on, part, static_cast<uint8_t>(note), std::clamp(velocity, 0.05f, 1.0f)});
  out->push_back(GenNote{off, part, static_cast<uint8_t>(note), 0.0f});
}

uint64_t Composer::ComposeBar(const GenParams& p, std::vector<GenNote>* out) {
  out->clear();
  GenParams params = p;
  params.bpm = std::clamp(params.bpm, 20.0, 300.0);
  params.root = std::clamp(params.root, 24, 96);
  const double intensity = std::clamp(params.intensity, 0.0, 1.0);
  const auto fi = static_cast<float>(intensity);
  const int bar_in_phrase =
      static_cast<int>(bars_ % static_cast<uint64_t>(config_.bars_per_phrase));
  if (bar_in_phrase == 0) NewPhrase();
  const int chord = progression_[static_cast<size_t>(bar_in_phrase)];

  const auto bar_frames = static_cast<uint64_t>(
      std::llround(config_.beats_per_bar * 60.0 / params.bpm * config_.sample_rate));
  const uint64_t start = next_bar_frame_;
  const uint64_t end = start + bar_frames;
  auto slot_frame = [&](int slot) {  // eighth notes
    return start + bar_frames * static_cast<uint64_t>(slot) /
                       static_cast<uint64_t>(2 * config_.beats_per_bar);
  };
  const int slots = 2 * config_.beats_per_bar;

  // Pad: the bar's chord (triad, or seventh chord at high intensity), held for the bar.
  const int chord_size = std::min(intensity > 0.6 ? 4 : 3, config_.max_voices[0]);
  for (int k = 0; k < chord_size; ++k) {
    Add(out, start, end, Part::kPad, Pitch(params, chord + 2 * k), 0.25f + 0.25f * fi);
  }

  // Bass: the chord's root an octave down; at higher intensity sometimes the fifth on beat 3.
  if (config_.max_voices[2] > 0) {
    const int bass_root = Pitch(params, chord - 7);
    const float velocity = 0.4f + 0.3f * fi;
    if (intensity > 0.5 && rng_.Uniform() < intensity) {
      const uint64_t half = slot_frame(slots / 2);
      Add(out, start, half, Part::kBass, bass_root, velocity);
      Add(out, half, end, Part::kBass, Pitch(params, chord + 4 - 7), velocity * 0.9f);
    } else {
      Add(out, start, end, Part::kBass, bass_root, velocity);
    }
  }

  // Melody: one voice; onsets on eighths with a density set by the intensity; chord tones on
  // strong beats, steps of the scale in between, within a register that widens with intensity.
  if (config_.max_voices[1] > 0) {
    std::array<bool, 32> onset{};
    for (int s = 0; s < slots; ++s) {
      const double strong = s % 4 == 0 ? 0.15 : 0.0;
      onset[static_cast<size_t>(s)] = rng_.Uniform() < 0.08 + 0.72 * intensity + strong;
    }
    const int low = 7;
    const int high = 11 + static_cast<int>(std::lround(7.0 * intensity));
    for (int s = 0; s < slots; ++s) {
      if (!onset[static_cast<size_t>(s)]) continue;
      int degree;
      if (s % 4 == 0) {
        const int candidates[3] = {chord + 7, chord + 9, chord + 11};
        degree = candidates[rng_.Below(3)];
        while (degree - melody_degree_ > 4 && degree - 7 >= low) degree -= 7;
        while (melody_degree_ - degree > 4 && degree + 7 <= high) degree += 7;
      } else {
        static constexpr int kSteps[4] = {-2, -1, 1, 2};
        degree = melody_degree_ + kSteps[rng_.Below(4)];
      }
      degree = std::clamp(degree, low, high);
      melody_degree_ = degree;
      int next = s + 1;
      while (next < slots && !onset[static_cast<size_t>(next)]) ++next;
      const int length = std::min(1 + rng_.Below(3), next - s);
      const float velocity = 0.35f + 0.45f * fi + static_cast<float>(rng_.Uniform() - 0.5) * 0.1f;
      Add(out, slot_frame(s), s + length >= slots ? end : slot_frame(s + length), Part::kMelody,
          Pitch(params, degree), velocity);
    }
  }

  std::sort(out->begin(), out->end(), [](const GenNote& a, const GenNote& b) {
    if (a.frame != b.frame) return a.frame < b.frame;
    const bool a_off = a.velocity <= 0.0f, b_off = b.velocity <= 0.0f;
    if (a_off != b_off) return a_off;
    if (a.part != b.part) return a.part < b.part;
    return a.note < b.note;
  });
  next_bar_frame_ = end;
  ++bars_;
  return start;
}

}  // namespace chronus::firmware::generative
