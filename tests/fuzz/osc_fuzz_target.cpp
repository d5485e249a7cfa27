#include "tests/fuzz/osc_fuzz_target.h"

#include <lo/lo.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "dsp/orbit_bus.h"
#include "dsp/synth_params.h"
#include "firmware/control/dirt_translate.h"
#include "firmware/control/osc_translate.h"
#include "firmware/control/sound_osc_translate.h"
#include "firmware/engine/engine_clock.h"
#include "firmware/engine/timetag_frame.h"
#include "firmware/recorder/take_name.h"
#include "firmware/samples/sample_bank.h"
#include "firmware/sound/sound_patch.h"

namespace chronus::fuzz {

namespace {

using firmware::CommandType;
namespace generative = firmware::generative;
using firmware::OscRequest;

FuzzOscStats g_stats;

[[noreturn]] void Violation(const char* what, const char* path) {
  std::fprintf(stderr, "OSC fuzz invariant broken: %s (address \"%.80s\")\n", what,
               path != nullptr ? path : "(null)");
  std::abort();
}

void Check(const OscRequest& request, const char* path) {
  switch (request.kind) {
    case OscRequest::Kind::kRefuse:
      if (request.refusal.empty()) Violation("refusal without a reason", path);
      break;
    case OscRequest::Kind::kCommand: {
      const auto& c = request.command;
      if (c.note > 127) Violation("note out of range", path);
      if (!std::isfinite(c.value)) Violation("value not finite", path);
      if (c.type == CommandType::kNoteOn && !(c.value >= 0.0f && c.value <= 1.0f)) {
        Violation("velocity out of range", path);
      }
      if (c.type == CommandType::kSetParam) {
        if (static_cast<size_t>(c.param) >= dsp::kParamCount) Violation("unknown param", path);
        const dsp::ParamSpec& spec = dsp::Spec(c.param);
        if (!(c.value >= spec.min && c.value <= spec.max)) Violation("param out of range", path);
      }
      if (c.type != CommandType::kNoteOn && c.type != CommandType::kNoteOff &&
          c.type != CommandType::kSetParam) {
        Violation("command type not reachable from OSC", path);
      }
      break;
    }
    case OscRequest::Kind::kStatus:
    case OscRequest::Kind::kHealth:
      if (request.reply_port < 0 || request.reply_port > 65535) Violation("reply port", path);
      break;
    case OscRequest::Kind::kPresetSave:
    case OscRequest::Kind::kPresetLoad:
      if (request.preset < 0 || request.preset >= firmware::kPresetSlots) {
        Violation("preset slot out of range", path);
      }
      break;
    case OscRequest::Kind::kPing:
    case OscRequest::Kind::kNotify:
      break;
    case OscRequest::Kind::kRecordStart: {
      if (!firmware::CheckTakeName(request.take_name).empty()) Violation("take name", path);
      if (request.take_name.size() > firmware::kMaxOscTakeNameBytes) Violation("name size", path);
      std::string stem = firmware::SanitizeTakeStem(request.take_name);
      if (stem.empty()) stem = "take";
      const std::filesystem::path dir = "/recordings";
      const std::filesystem::path file = (dir / firmware::TakeFileName(stem, 9999));
      if (file.lexically_normal().parent_path() != dir || file.filename().string() == "..") {
        Violation("take escapes the recordings directory", path);
      }
      break;
    }
    case OscRequest::Kind::kRecordStop:
      break;
  }
}

// ---- The control port's extra handler (osc_sound.h): /midi/note/*, /sf/load, /gen/*. ----

// SoundFont slots of the firmware (fluid_instance.h: kSoundFontSlots; not included, it needs
// FluidSynth's headers).
constexpr int kFuzzSoundFontSlots = 4;

// The SoundFont directory the fuzz target resolves /sf/load names against: a private temporary
// directory holding one empty file, so names can resolve. ResolveSoundFont only looks at
// metadata (stat, readlink); nothing is opened or loaded.
const std::filesystem::path& SoundFontDir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path d =
        std::filesystem::temp_directory_path() / "chronus-osc-fuzz" / "soundfonts";
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    if (!std::filesystem::exists(d / "a.sf2", ec)) std::ofstream(d / "a.sf2").put('\0');
    return std::filesystem::weakly_canonical(d, ec);
  }();
  return dir;
}

void CheckSoundFontPath(std::string_view name, const char* path) {
  std::string error;
  const std::string resolved =
      firmware::ResolveSoundFont(std::string(name), {SoundFontDir().string()}, &error);
  if (resolved.empty()) {
    if (error.empty()) Violation("SoundFont refused without a reason", path);
    return;
  }
  ++g_stats.soundfonts_resolved;
  std::error_code ec;
  const std::filesystem::path real = std::filesystem::weakly_canonical(resolved, ec);
  const std::filesystem::path rel = real.lexically_relative(SoundFontDir());
  if (ec || rel.empty() || *rel.begin() == ".." || rel == ".") {
    Violation("SoundFont path escapes the SoundFont directory", path);
  }
}

void CheckSound(const firmware::SoundOscRequest& r, std::string_view address, const char* path) {
  using Kind = firmware::SoundOscRequest::Kind;
  const bool mine =
      address.starts_with("/midi/note/") || address == "/sf/load" || address.starts_with("/gen/");
  if ((r.kind == Kind::kNotMine) == mine && !address.starts_with("/midi/note/")) {
    Violation("sound address routed wrongly", path);
  }
  if (r.kind != Kind::kRefuse && !r.refusal.empty()) Violation("reason without a refusal", path);
  if (r.reply_on_refusal && address != "/sf/load") Violation("/fail for a non-request", path);
  switch (r.kind) {
    case Kind::kNotMine:
      break;
    case Kind::kRefuse:
      if (r.refusal.empty()) Violation("sound refusal without a reason", path);
      break;
    case Kind::kMidiNote: {
      const firmware::Command& c = r.command;
      if (c.type != CommandType::kNoteOn && c.type != CommandType::kNoteOff) {
        Violation("MIDI note of another type", path);
      }
      if (c.note > 127 || c.channel > 15) Violation("MIDI note or channel out of range", path);
      if (!(c.value >= 0.0f && c.value <= 1.0f)) Violation("MIDI velocity out of range", path);
      if (c.type == CommandType::kNoteOff && c.value != 0.0f) Violation("note off velocity", path);
      if (c.frame != 0) Violation("MIDI note scheduled", path);
      break;
    }
    case Kind::kSoundFontLoad:
      if (address != "/sf/load") Violation("SoundFont load from another address", path);
      if (r.slot < 0 || r.slot >= kFuzzSoundFontSlots) Violation("SoundFont slot", path);
      if (r.soundfont.size() > firmware::kMaxOscSoundFontNameBytes) Violation("name size", path);
      CheckSoundFontPath(r.soundfont, path);
      break;
    case Kind::kGenStart:
    case Kind::kGenStop:
      break;
    case Kind::kGenMode:
      if (r.mode > generative::Mode::kLocrian) Violation("generative mode", path);
      break;
    case Kind::kGenRoot:
      if (r.integer < firmware::kGenMinRoot || r.integer > firmware::kGenMaxRoot) {
        Violation("generative root out of range", path);
      }
      break;
    case Kind::kGenSeed:
      if (r.integer < 0 || r.integer > firmware::kGenMaxSeed) Violation("seed", path);
      break;
    case Kind::kGenBpm:
      if (!(r.number >= firmware::kGenMinBpm && r.number <= firmware::kGenMaxBpm)) {
        Violation("bpm out of range", path);
      }
      break;
    case Kind::kGenIntensity:
      if (!(r.number >= 0.0 && r.number <= 1.0)) Violation("intensity out of range", path);
      break;
  }
}

// ---- The SuperDirt port (dirt_server.h): /dirt/play, /dirt/handshake, /samples/reload. ----

constexpr uint32_t kFuzzOrbits = 2;

// The bounds as floats: a value clamped in double to 0.99 is stored as the float nearest 0.99.
bool Within(float v, double lo, double hi) {
  return std::isfinite(v) && v >= static_cast<float>(lo) && v <= static_cast<float>(hi);
}
// -1 ("unchanged" / "default") or within [lo, hi].
bool UnsetOrWithin(float v, double lo, double hi) { return v == -1.0f || Within(v, lo, hi); }

void CheckDirt(const firmware::DirtPlayResult& r, int argc, uint64_t frame, const char* path) {
  namespace fw = firmware;
  if (r.unknown_keys > static_cast<uint32_t>(argc / 2 + 1)) Violation("unknown key count", path);
  // Each key is clamped at most once, plus the rate, the orbit, the MIDI note and the ":n" suffix.
  if (r.clamped > static_cast<uint32_t>(argc / 2 + 4)) Violation("clamp count", path);
  if (!r.ok) {
    if (r.refusal.empty()) Violation("/dirt/play refused without a reason", path);
    return;
  }
  if (!r.refusal.empty()) Violation("/dirt/play accepted with a refusal", path);
  const fw::DirtEvent& e = r.event;
  const size_t s_len = strnlen(e.s, sizeof(e.s));
  if (s_len == 0 || s_len > fw::kDirtNameBytes) Violation("sound name length", path);
  for (size_t i = 0; i < s_len; ++i) {
    const auto c = static_cast<unsigned char>(e.s[i]);
    if (c < 0x20 || c == 0x7f || c == ':') Violation("sound name bytes", path);
  }
  if (e.s_hash != fw::SoundNameHash(std::string_view(e.s, s_len))) Violation("s_hash", path);
  if (e.frame != frame) Violation("event frame is not its timetag's", path);
  if (std::fabs(static_cast<double>(e.n)) > fw::kDirtMaxN) Violation("n out of range", path);
  const double rate = std::fabs(static_cast<double>(e.rate));
  if (!(rate >= fw::kDirtMinSpeed && rate <= fw::kDirtMaxSpeed)) Violation("rate", path);
  if (!Within(e.amp, 0.0, 0.4 * 256.0)) Violation("amp out of range", path);  // DirtAmp(2, 2)
  if (!Within(e.pan, 0, 1)) Violation("pan out of range", path);
  if (!Within(e.begin, 0, 1) || !Within(e.end, 0, 1) || !(e.end > e.begin)) {
    Violation("begin/end out of range", path);
  }
  if (e.cut < -1000000 || e.cut > 1000000) Violation("cut out of range", path);
  if (e.orbit >= std::min(kFuzzOrbits, dsp::kMaxOrbits)) Violation("orbit out of range", path);
  if (!Within(e.sustain_s, 0, fw::kDirtMaxSeconds)) Violation("sustain out of range", path);
  if (!UnsetOrWithin(e.attack_s, 0, fw::kDirtMaxSeconds) ||
      !UnsetOrWithin(e.release_s, 0, fw::kDirtMaxSeconds)) {
    Violation("attack/release out of range", path);
  }
  if (!Within(e.shape, 0, 0.99)) Violation("shape out of range", path);
  if (!(e.lpf_hz == 0.0f || Within(e.lpf_hz, 20, 20000)) ||
      !(e.hpf_hz == 0.0f || Within(e.hpf_hz, 20, 20000)) || !Within(e.lpf_resonance, 0, 1) ||
      !Within(e.hpf_resonance, 0, 1)) {
    Violation("filter out of range", path);
  }
  if (!Within(e.room, 0, 1) || !Within(e.delay, 0, 1) || !UnsetOrWithin(e.size, 0, 1) ||
      !UnsetOrWithin(e.delay_time_s, 0, fw::kDirtMaxDelayTime) ||
      !UnsetOrWithin(e.delay_feedback, 0, 0.98)) {
    Violation("send or orbit effect out of range", path);
  }
  if (e.kind == fw::DirtEvent::Kind::kSynth) {
    ++g_stats.dirt_synth_events;
    if (e.midi_note > 127 || !Within(e.velocity, 0, 1) ||
        !Within(e.duration_s, 0, fw::kDirtMaxSeconds)) {
      Violation("synth event out of range", path);
    }
  } else if (e.kind != fw::DirtEvent::Kind::kSample) {
    Violation("event kind", path);
  }
}

// ---- Bundle timetag -> engine frame (engine/timetag_frame.h, osc_server and dirt_server). ----

constexpr uint64_t kAnchorFrame = 1'000'000;
constexpr uint32_t kRate = 48000;

struct FuzzClock {
  firmware::EngineClock clock{kRate};
  int64_t anchor_ns = 0;  // CLOCK_MONOTONIC ns at which kAnchorFrame is heard
  int64_t offset_ns = 0;  // CLOCK_REALTIME - CLOCK_MONOTONIC
};

FuzzClock& Clock() {
  static FuzzClock* clock = [] {
    auto* c = new FuzzClock;
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    c->anchor_ns = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    c->clock.PublishRt(kAnchorFrame, c->anchor_ns, true);  // this thread stands in for audio
    c->offset_ns = firmware::EngineClock::RealtimeMinusMonotonicNs();
    return c;
  }();
  return *clock;
}

uint64_t CheckTimetag(lo_timetag tag, const char* path) {
  const FuzzClock& c = Clock();
  const uint64_t frame = firmware::FrameOfTimetag(&c.clock, tag.sec, tag.frac);
  const firmware::EngineClock unpublished{kRate};
  if (firmware::FrameOfTimetag(nullptr, tag.sec, tag.frac) != 0 ||
      firmware::FrameOfTimetag(&unpublished, tag.sec, tag.frac) != 0) {
    Violation("timetag scheduled without a clock", path);
  }
  if (tag.sec == 0 && tag.frac <= 1) {
    if (frame != 0) Violation("immediate timetag scheduled", path);
    return frame;
  }
  ++g_stats.timed_messages;
  if (frame == 0) Violation("timed message played at once", path);
  // The frame heard at that time, computed here independently: (t - anchor) * rate + anchor
  // frame, in long double; past times give frame 1. Allowed: 10 ms of clock-offset drift between
  // the two readings.
  const long double unix_s = static_cast<long double>(tag.sec) - 2'208'988'800.0L +
                             static_cast<long double>(tag.frac) / 4294967296.0L;
  const long double mono_ns = unix_s * 1e9L - static_cast<long double>(c.offset_ns);
  long double expected = static_cast<long double>(kAnchorFrame) +
                         (mono_ns - static_cast<long double>(c.anchor_ns)) * kRate / 1e9L;
  if (expected < 1.0L) expected = 1.0L;
  if (std::fabs(static_cast<long double>(frame) - expected) > kRate / 100 + 1) {
    Violation("timetag mapped to the wrong frame", path);
  }
  return frame;
}

int OnMessage(const char* path, const char* types, lo_arg** argv, int argc, lo_message message,
              void*) {
  ++g_stats.messages;
  const std::string_view address = path != nullptr ? path : "";
  // The control port: the extra handler first (as OscServer::Handle), then the built-in space.
  const firmware::SoundOscRequest sound =
      firmware::TranslateSoundOsc(address, types, argv, argc, kFuzzSoundFontSlots);
  if (sound.kind != firmware::SoundOscRequest::Kind::kNotMine) ++g_stats.sound_messages;
  if (sound.kind != firmware::SoundOscRequest::Kind::kNotMine &&
      sound.kind != firmware::SoundOscRequest::Kind::kRefuse) {
    ++g_stats.sound_accepted;
  }
  CheckSound(sound, address, path);
  const OscRequest request = firmware::TranslateOsc(address, types, argv, argc);
  if (request.kind != OscRequest::Kind::kRefuse) ++g_stats.accepted;
  Check(request, path);
  // The timetag of the bundle the message came in (both ports schedule by it).
  const uint64_t frame = CheckTimetag(lo_message_get_timestamp(message), path);
  // The SuperDirt port (as DirtServer::Handle; /dirt/handshake and /samples/reload take no
  // arguments and start I/O, a reply or a reload thread: counted here, not run).
  if (address == "/dirt/play") {
    static const firmware::DirtSynthMap synths{{"superpiano", "supersaw"}};
    const firmware::DirtPlayResult dirt =
        firmware::TranslateDirtPlay(types, argv, argc, frame, synths, kFuzzOrbits);
    ++g_stats.dirt_play;
    if (dirt.ok) ++g_stats.dirt_events;
    CheckDirt(dirt, argc, frame, path);
  } else if (address == "/dirt/handshake" || address == "/samples/reload") {
    ++g_stats.dirt_requests;
  }
  return 0;
}

void OnError(int, const char*, const char*) { ++g_stats.liblo_errors; }

lo_server Server() {
  // One server for the process (as the firmware has one), configured like the firmware's. It
  // binds an ephemeral UDP port but never receives: datagrams come from the fuzzer.
  static lo_server server = [] {
    lo_server s = lo_server_new_with_proto(nullptr, LO_UDP, &OnError);
    if (s == nullptr) {
      std::fprintf(stderr, "cannot create a liblo server\n");
      std::abort();
    }
    firmware::ConfigureOscLoServer(s);
    lo_server_add_method(s, nullptr, nullptr, &OnMessage, nullptr);
    return s;
  }();
  return server;
}

}  // namespace

int FuzzOscPacket(const uint8_t* data, size_t size) {
  lo_server server = Server();
  ++g_stats.packets;
  // The server reads at most kMaxOscPacketBytes of a datagram: so does the fuzz target.
  if (size > static_cast<size_t>(firmware::kMaxOscPacketBytes)) {
    size = static_cast<size_t>(firmware::kMaxOscPacketBytes);
  }
  // An exact-size heap copy (liblo takes a mutable pointer), so that reading one byte past the
  // datagram is an AddressSanitizer report.
  std::vector<uint8_t> copy(data, data + size);
  lo_server_dispatch_data(server, copy.empty() ? nullptr : copy.data(), copy.size());
  // Nothing may stay queued (time tags are not honoured: see ConfigureOscLoServer).
  if (lo_server_events_pending(server)) Violation("a message was queued for later", "");
  return 0;
}

FuzzOscStats FuzzOscCounters() { return g_stats; }

}  // namespace chronus::fuzz
