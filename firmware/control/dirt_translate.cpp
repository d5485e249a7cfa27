#include "firmware/control/dirt_translate.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "dsp/orbit_bus.h"
#include "dsp/sample_voice.h"
#include "firmware/control/osc_translate.h"
#include "firmware/samples/sample_bank.h"

namespace chronus::firmware {

namespace {

enum class Key : uint8_t {
  kS,
  kN,
  kGain,
  kOvergain,
  kPan,
  kSpeed,
  kBegin,
  kEnd,
  kCut,
  kOrbit,
  kNote,
  kLegato,
  kSustain,
  kDelta,
  kAttack,
  kRelease,
  kShape,
  kCutoff,
  kResonance,
  kHcutoff,
  kHresonance,
  kRoom,
  kSize,
  kDelay,
  kDelayTime,
  kDelayFeedback,
  kKnownIgnored,  // sent by Tidal on every event, not needed: _id_, cps, cycle
  kUnknown,
};

struct KeyName {
  std::string_view name;
  Key key;
};

// Tidal's names, and SuperDirt's aliases.
constexpr KeyName kKeys[] = {
    {"s", Key::kS},
    {"sound", Key::kS},
    {"n", Key::kN},
    {"gain", Key::kGain},
    {"overgain", Key::kOvergain},
    {"pan", Key::kPan},
    {"speed", Key::kSpeed},
    {"begin", Key::kBegin},
    {"end", Key::kEnd},
    {"cut", Key::kCut},
    {"orbit", Key::kOrbit},
    {"note", Key::kNote},
    {"up", Key::kNote},
    {"legato", Key::kLegato},
    {"sustain", Key::kSustain},
    {"delta", Key::kDelta},
    {"attack", Key::kAttack},
    {"att", Key::kAttack},
    {"release", Key::kRelease},
    {"rel", Key::kRelease},
    {"shape", Key::kShape},
    {"cutoff", Key::kCutoff},
    {"lpf", Key::kCutoff},
    {"resonance", Key::kResonance},
    {"lpq", Key::kResonance},
    {"hcutoff", Key::kHcutoff},
    {"hpf", Key::kHcutoff},
    {"hresonance", Key::kHresonance},
    {"hpq", Key::kHresonance},
    {"room", Key::kRoom},
    {"size", Key::kSize},
    {"sz", Key::kSize},
    {"delay", Key::kDelay},
    {"delaytime", Key::kDelayTime},
    {"delayt", Key::kDelayTime},
    {"delayfeedback", Key::kDelayFeedback},
    {"delayfb", Key::kDelayFeedback},
    {"_id_", Key::kKnownIgnored},
    {"cps", Key::kKnownIgnored},
    {"cycle", Key::kKnownIgnored},
    {"latency", Key::kKnownIgnored},
};

Key Lookup(std::string_view name) {
  for (const KeyName& k : kKeys) {
    if (k.name == name) return k.key;
  }
  return Key::kUnknown;
}

bool IsString(char type) { return type == 's' || type == 'S'; }

// Clamps `value` into [lo, hi], counting a change.
double Clamp(double value, double lo, double hi, uint32_t* clamped) {
  if (value < lo || value > hi) {
    ++*clamped;
    return std::clamp(value, lo, hi);
  }
  return value;
}

DirtPlayResult Refuse(std::string reason) {
  DirtPlayResult result;
  result.refusal = std::move(reason);
  return result;
}

std::string Printable(std::string_view text) {
  std::string shown(text.substr(0, 32));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return shown;
}

}  // namespace

bool DirtSynthMap::IsSynth(std::string_view name) const {
  return std::find(synth_names.begin(), synth_names.end(), name) != synth_names.end();
}

DirtPlayResult TranslateDirtPlay(const char* types, lo_arg* const* argv, int argc, uint64_t frame,
                                 const DirtSynthMap& synths, uint32_t orbits) {
  if (argc < 0 || argc > kDirtMaxArguments) return Refuse("too many arguments");
  if (argc % 2 != 0) return Refuse("odd number of arguments (expected key/value pairs)");
  if (argc > 0 && (types == nullptr || argv == nullptr || std::strlen(types) < size_t(argc))) {
    return Refuse("fewer type tags than arguments");
  }
  DirtPlayResult result;
  uint32_t& clamped = result.clamped;
  std::string_view s;
  double n = 0, gain = 1, overgain = 0, pan = 0.5, speed = 1, begin = 0, end = 1, note = 0;
  double cut = 0, orbit = 0, legato = -1, sustain = -1, delta = -1, attack = -1, release = -1;
  double shape = 0, cutoff = 0, resonance = 0, hcutoff = 0, hresonance = 0, room = 0, size = -1;
  double delay = 0, delay_time = -1, delay_feedback = -1;
  bool has_note = false, has_n = false;
  for (int i = 0; i < argc; i += 2) {
    if (argv[i] == nullptr || argv[i + 1] == nullptr) return Refuse("null argument");
    if (!IsString(types[i])) {
      return Refuse("argument " + std::to_string(i) + " is not a key (type '" +
                    std::string(1, types[i]) + "')");
    }
    const std::string_view key(reinterpret_cast<const char*>(argv[i]));
    const char type = types[i + 1];
    const Key k = Lookup(key);
    if (k == Key::kUnknown) {
      ++result.unknown_keys;
      continue;
    }
    if (k == Key::kKnownIgnored) continue;
    if (k == Key::kS) {
      if (!IsString(type)) return Refuse("s is not a string");
      s = std::string_view(reinterpret_cast<const char*>(argv[i + 1]));
      continue;
    }
    const std::optional<double> number = OscNumber(type, argv[i + 1]);
    if (!number) {
      return Refuse(Printable(key) + " is not a finite number (type '" + std::string(1, type) +
                    "')");
    }
    const double v = *number;
    switch (k) {
      case Key::kN:
        n = Clamp(v, -kDirtMaxN, kDirtMaxN, &clamped);
        has_n = true;
        break;
      case Key::kGain:
        gain = Clamp(v, 0, 2, &clamped);
        break;
      case Key::kOvergain:
        overgain = Clamp(v, -2, 2, &clamped);
        break;
      case Key::kPan:
        pan = Clamp(v, 0, 1, &clamped);
        break;
      case Key::kSpeed:
        speed = Clamp(v, -kDirtMaxSpeed, kDirtMaxSpeed, &clamped);
        break;
      case Key::kBegin:
        begin = Clamp(v, 0, 1, &clamped);
        break;
      case Key::kEnd:
        end = Clamp(v, 0, 1, &clamped);
        break;
      case Key::kCut:
        cut = Clamp(std::trunc(v), -1e6, 1e6, &clamped);
        break;
      case Key::kOrbit:
        orbit = Clamp(std::trunc(v), 0, 1e6, &clamped);
        break;
      case Key::kNote:
        note = Clamp(v, -kDirtMaxNote, kDirtMaxNote, &clamped);
        has_note = true;
        break;
      case Key::kLegato:
        legato = Clamp(v, 0, 1e3, &clamped);
        break;
      case Key::kSustain:
        sustain = Clamp(v, 0, kDirtMaxSeconds, &clamped);
        break;
      case Key::kDelta:
        delta = Clamp(v, 0, kDirtMaxSeconds, &clamped);
        break;
      case Key::kAttack:
        attack = Clamp(v, 0, kDirtMaxSeconds, &clamped);
        break;
      case Key::kRelease:
        release = Clamp(v, 0, kDirtMaxSeconds, &clamped);
        break;
      case Key::kShape:
        shape = Clamp(v, 0, 0.99, &clamped);
        break;
      case Key::kCutoff:
        cutoff = v <= 0 ? 0 : Clamp(v, 20, 20000, &clamped);
        break;
      case Key::kResonance:
        resonance = Clamp(v, 0, 1, &clamped);
        break;
      case Key::kHcutoff:
        hcutoff = v <= 0 ? 0 : Clamp(v, 20, 20000, &clamped);
        break;
      case Key::kHresonance:
        hresonance = Clamp(v, 0, 1, &clamped);
        break;
      case Key::kRoom:
        room = Clamp(v, 0, 1, &clamped);
        break;
      case Key::kSize:
        size = Clamp(v, 0, 1, &clamped);
        break;
      case Key::kDelay:
        delay = Clamp(v, 0, 1, &clamped);
        break;
      case Key::kDelayTime:
        delay_time = Clamp(v, 0, kDirtMaxDelayTime, &clamped);
        break;
      case Key::kDelayFeedback:
        delay_feedback = Clamp(v, 0, 0.98, &clamped);
        break;
      default:
        break;
    }
  }
  // `s "bd:3"` is `s "bd"`, n 3 (SuperDirt's splitName; Tidal already splits).
  if (const size_t colon = s.find(':'); colon != std::string_view::npos) {
    const std::string_view index = s.substr(colon + 1);
    s = s.substr(0, colon);
    if (!index.empty() && index.size() <= 7 &&
        std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      // Within kDirtMaxN also when both `n` and the suffix are given.
      n = Clamp(n + std::stod(std::string(index)), -kDirtMaxN, kDirtMaxN, &clamped);
      has_n = true;
    }
  }
  if (s.empty()) return Refuse("no s (sound name)");
  if (s.size() > kDirtNameBytes) return Refuse("s longer than 47 bytes");
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return Refuse("s has control bytes");
  }
  if (!(end > begin)) return Refuse("end is not after begin");

  DirtEvent& e = result.event;
  e.frame = frame;
  std::memcpy(e.s, s.data(), s.size());
  e.s[s.size()] = '\0';
  e.s_hash = SoundNameHash(s);
  e.n = static_cast<int64_t>(std::floor(n));
  // SuperDirt: a sample's rate is speed * (note as a frequency ratio).
  double rate = speed * std::exp2(note / 12.0);
  if (std::fabs(rate) > kDirtMaxSpeed) {
    ++clamped;
    rate = std::copysign(kDirtMaxSpeed, rate);
  } else if (std::fabs(rate) < kDirtMinSpeed) {
    ++clamped;
    rate = std::copysign(kDirtMinSpeed, rate == 0 ? 1.0 : rate);
  }
  e.rate = static_cast<float>(rate);
  e.amp = dsp::DirtAmp(static_cast<float>(gain), static_cast<float>(overgain));
  e.pan = static_cast<float>(pan);
  e.begin = static_cast<float>(begin);
  e.end = static_cast<float>(end);
  e.cut = static_cast<int32_t>(cut);
  const auto orbit_index = static_cast<uint64_t>(orbit);
  const uint32_t orbit_count = orbits == 0 ? 1 : std::min(orbits, dsp::kMaxOrbits);
  if (orbit_index >= orbit_count) ++clamped;  // SuperDirt wraps (with a warning)
  e.orbit = static_cast<uint32_t>(orbit_index % orbit_count);
  // SuperDirt's DirtEvent.calcTimeSpan: sustain, else legato * delta, else the whole sample.
  if (sustain >= 0) {
    e.sustain_s = static_cast<float>(sustain);
  } else if (legato >= 0 && delta >= 0) {
    e.sustain_s = static_cast<float>(std::min(legato * delta, kDirtMaxSeconds));
  }
  if (e.sustain_s == 0.0f && (sustain >= 0 || legato >= 0)) e.sustain_s = 1e-4f;  // 0: silent
  e.attack_s = static_cast<float>(attack);
  e.release_s = static_cast<float>(release);
  e.shape = static_cast<float>(shape);
  e.lpf_hz = static_cast<float>(cutoff);
  e.lpf_resonance = static_cast<float>(resonance);
  e.hpf_hz = static_cast<float>(hcutoff);
  e.hpf_resonance = static_cast<float>(hresonance);
  e.room = static_cast<float>(room);
  e.size = static_cast<float>(size);
  e.delay = static_cast<float>(delay);
  e.delay_time_s = static_cast<float>(delay_time);
  e.delay_feedback = static_cast<float>(delay_feedback);
  if (synths.IsSynth(s)) {
    // SuperDirt's synths: midinote = note, else n, + octave 5 * 12.
    e.kind = DirtEvent::Kind::kSynth;
    const double midi = 60.0 + (has_note ? note : (has_n ? std::floor(n) : 0.0));
    e.midi_note = static_cast<uint8_t>(Clamp(std::round(midi), 0, 127, &clamped));
    e.velocity = std::clamp(e.amp / 0.4f, 0.0f, 1.0f);
    e.duration_s = e.sustain_s > 0 ? e.sustain_s : static_cast<float>(delta > 0 ? delta : 0.25);
  }
  result.ok = true;
  return result;
}

}  // namespace chronus::firmware
