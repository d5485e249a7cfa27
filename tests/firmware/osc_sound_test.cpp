// The OSC addresses beyond the core ones, through their handlers and a running OscServer (no
// firmware process): /midi/learn (armed, then bound by the next CC; refusals answered /fail),
// /gen/* (parsed, range-checked, reaching the generative player), /midi/note/* (commands on their
// channel, bundles at the frame of their timetag), /sf/load without FluidSynth.
#include <gtest/gtest.h>
#include <lo/lo.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "firmware/control/midi_mapper.h"
#include "firmware/control/osc_server.h"
#include "firmware/control/osc_sound.h"
#include "firmware/control/osc_translate.h"
#include "firmware/engine/engine_clock.h"
#include "firmware/generative/gen_player.h"
#include "firmware/sound/fluid_worker.h"
#include "firmware/sound/sound_layers.h"
#include "firmware/sound/soundfont_loader.h"
#include "hal/rt/clock.h"
#include "tests/control/recording_sink.h"
#include "tests/support/control_drain.h"
#include "tests/support/emulation.h"
#include "tests/support/firmware_process.h"
#include "tests/support/sanitizer.h"
#include "tests/support/timetag.h"

namespace chronus::firmware {
namespace {

using chronus::test::RealtimeNs;
using chronus::test::TimetagAtRealtimeNs;

using dsp::ParamId;

std::vector<Command> Drain(ControlQueue& control, size_t expected, int timeout_ms = 1000) {
  return test::DrainControl(control, expected, timeout_ms);
}

std::unique_ptr<OscServer> MakeServer(ControlQueue& control) {
  OscServerConfig config;
  config.port = test::FreeUdpPort();
  return std::make_unique<OscServer>(config, control, nullptr, [] {
    return std::vector<StatusEntry>{{"sample_rate", 1}};
  });
}

bool WaitFor(const std::function<bool()>& done, int timeout_ms = 2000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// /midi/learn over OSC

TEST(OscMidiLearn, GoodParameterArmsLearnAndTheNextCcIsBound) {
  ControlQueue control;
  MidiLearn learn;
  std::atomic<int> armed_calls{0};
  auto server = MakeServer(control);
  OscStateHooks hooks;
  hooks.midi_learn = [&](ParamId param) {
    ++armed_calls;
    learn.Arm(param);
    return std::string();
  };
  server->SetStateHooks(std::move(hooks));
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());
  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/midi/learn", "s", "resonance");
  const auto result = client.WaitResult("/midi/learn", 1000);
  ASSERT_TRUE(result.has_value()) << "no /done or /fail for /midi/learn";
  EXPECT_TRUE(result->first) << result->second;
  EXPECT_EQ(result->second, "resonance");
  EXPECT_EQ(armed_calls.load(), 1);
  EXPECT_TRUE(learn.armed());
  EXPECT_EQ(server->bad_messages(), 0u);
  EXPECT_EQ(server->messages(), 1u);

  // The MIDI side: the next CC moved is bound to resonance (as the MIDI thread would see it).
  testing::RecordingSink sink;
  MidiMapper mapper({}, &learn);
  hal::midi::MidiEvent cc;
  cc.type = hal::midi::MidiEvent::Type::kControlChange;
  cc.data1 = 74;
  cc.data2 = 10;
  mapper.Handle(cc, sink);
  EXPECT_FALSE(learn.armed());
  EXPECT_EQ(learn.bindings(), 1u);
  EXPECT_EQ(learn.last_binding(), "CC 74 -> resonance");
  ASSERT_EQ(mapper.mappings().size(), 1u);
  EXPECT_EQ(mapper.mappings()[0].target.param, ParamId::kResonance);
}

TEST(OscMidiLearn, BadParameterOrNoMidiIsAnsweredWithFailAndCounted) {
  ControlQueue control;
  MidiLearn learn;
  const std::string midi_off = "MIDI in is not running (see the log)";
  std::atomic<bool> midi_running{true};  // read on the OSC thread
  auto server = MakeServer(control);
  OscStateHooks hooks;
  hooks.midi_learn = [&](ParamId param) {
    if (!midi_running.load()) return midi_off;
    learn.Arm(param);
    return std::string();
  };
  server->SetStateHooks(std::move(hooks));
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());

  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/midi/learn", "s", "volume");
  auto result = client.WaitResult("/midi/learn", 1000);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->first);
  EXPECT_EQ(result->second, "unknown parameter");
  EXPECT_FALSE(learn.armed()) << "a bad name arms nothing";
  EXPECT_EQ(server->bad_messages(), 1u);

  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/midi/learn", "i", 74);
  result = client.WaitResult("/midi/learn", 1000);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->first);
  EXPECT_NE(result->second.find("expected one string"), std::string::npos) << result->second;
  EXPECT_EQ(server->bad_messages(), 2u);

  // MIDI in not running: the hook's reason goes back to the sender.
  midi_running.store(false);
  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/midi/learn", "s", "cutoff");
  result = client.WaitResult("/midi/learn", 1000);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->first);
  EXPECT_EQ(result->second, midi_off);
  EXPECT_FALSE(learn.armed());
  EXPECT_EQ(server->bad_messages(), 3u);
  EXPECT_EQ(server->messages(), 0u);
}

TEST(OscMidiLearn, WithoutAHookLearnFails) {
  ControlQueue control;
  auto server = MakeServer(control);
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());
  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/midi/learn", "s", "cutoff");
  const auto result = client.WaitResult("/midi/learn", 1000);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->first);
  EXPECT_EQ(result->second, "MIDI in is not running");
  EXPECT_EQ(server->bad_messages(), 1u);
}

// ---------------------------------------------------------------------------------------------
// OscSoundHandler, called directly with liblo messages

// A message built with liblo and handed to the handler as the server would.
class Call {
 public:
  explicit Call(lo_message message) : message_(message) {}
  ~Call() { lo_message_free(message_); }
  OscExtraResult On(OscSoundHandler& handler, const char* path, ControlQueue::Producer& lane) {
    return handler.Handle(path, lo_message_get_types(message_), lo_message_get_argv(message_),
                          lo_message_get_argc(message_), message_, lane);
  }

 private:
  lo_message message_;
};

lo_message Msg() { return lo_message_new(); }
lo_message MsgF(float v) {
  lo_message m = lo_message_new();
  lo_message_add_float(m, v);
  return m;
}
lo_message MsgI(int32_t v) {
  lo_message m = lo_message_new();
  lo_message_add_int32(m, v);
  return m;
}
lo_message MsgS(const char* v) {
  lo_message m = lo_message_new();
  lo_message_add_string(m, v);
  return m;
}

class OscSoundHandlerTest : public ::testing::Test {
 protected:
  OscSoundHandlerTest() : layers_(Patch(), nullptr, 48000.0f) {
    player_ = std::make_unique<GenPlayer>(layers_, GenerativeConfig{}, GenPlayerConfig{});
    player_->SetLaneNonRt(gen_queue_.AddProducerNonRt());
    handler_ = std::make_unique<OscSoundHandler>(nullptr, player_.get());
    lane_ = queue_.AddProducerNonRt();
  }
  static SoundPatch Patch() {
    SoundPatch patch;
    patch.layers = {LayerConfig{}};
    return patch;
  }
  OscExtraResult Send(const char* path, lo_message message) {
    Call call(message);
    return call.On(*handler_, path, *lane_);
  }
  // Expects `path` to be refused with a reason containing `reason`.
  void ExpectRefused(const char* path, lo_message message, const std::string& reason) {
    const OscExtraResult r = Send(path, message);
    EXPECT_TRUE(r.handled) << path;
    EXPECT_NE(r.refusal.find(reason), std::string::npos)
        << path << ": '" << r.refusal << "' lacks '" << reason << "'";
  }
  void ExpectAccepted(const char* path, lo_message message) {
    const OscExtraResult r = Send(path, message);
    EXPECT_TRUE(r.handled) << path;
    EXPECT_EQ(r.refusal, "") << path;
  }

  SoundLayers layers_;
  ControlQueue gen_queue_;
  ControlQueue queue_;
  ControlQueue::Producer* lane_ = nullptr;
  std::unique_ptr<GenPlayer> player_;
  std::unique_ptr<OscSoundHandler> handler_;
};

TEST_F(OscSoundHandlerTest, GenParametersReachThePlayerAndOutOfRangeValuesAreRefused) {
  const generative::GenParams defaults = player_->params();
  ASSERT_EQ(defaults.mode, generative::Mode::kDorian);
  // Refused, with the range in the reason; nothing reaches the player.
  ExpectRefused("/gen/bpm", MsgF(19.9f), "bpm must be 20..300");
  ExpectRefused("/gen/bpm", MsgF(301.0f), "bpm must be 20..300");
  ExpectRefused("/gen/bpm", MsgS("fast"), "bpm must be 20..300");
  ExpectRefused("/gen/bpm", Msg(), "expected one argument");
  ExpectRefused("/gen/intensity", MsgF(-0.01f), "intensity must be 0..1");
  ExpectRefused("/gen/intensity", MsgF(1.5f), "intensity must be 0..1");
  ExpectRefused("/gen/root", MsgI(23), "root must be a MIDI note 24..96");
  ExpectRefused("/gen/root", MsgI(97), "root must be a MIDI note 24..96");
  ExpectRefused("/gen/root", MsgF(60.5f), "root must be a MIDI note 24..96");
  ExpectRefused("/gen/seed", MsgI(-1), "seed must be an integer 0..2147483647");
  ExpectRefused("/gen/seed", MsgF(1.5f), "seed must be an integer 0..2147483647");
  ExpectRefused("/gen/mode", MsgS("blues"), "unknown mode (ionian ... locrian)");
  ExpectRefused("/gen/mode", MsgI(2), "expected /gen/mode s");
  ExpectRefused("/gen/tempo", MsgF(90.0f), "unknown /gen address");
  const generative::GenParams unchanged = player_->params();
  EXPECT_EQ(unchanged.mode, defaults.mode);
  EXPECT_EQ(unchanged.root, defaults.root);
  EXPECT_DOUBLE_EQ(unchanged.bpm, defaults.bpm);
  EXPECT_DOUBLE_EQ(unchanged.intensity, defaults.intensity);
  const uint32_t seed = player_->seed();

  // Accepted values reach the player (the edges of each range included; ints and floats alike).
  ExpectAccepted("/gen/bpm", MsgF(300.0f));
  EXPECT_DOUBLE_EQ(player_->params().bpm, 300.0);
  ExpectAccepted("/gen/bpm", MsgI(90));
  EXPECT_DOUBLE_EQ(player_->params().bpm, 90.0);
  ExpectAccepted("/gen/intensity", MsgF(0.0f));
  EXPECT_DOUBLE_EQ(player_->params().intensity, 0.0);
  ExpectAccepted("/gen/intensity", MsgF(0.75f));
  EXPECT_DOUBLE_EQ(player_->params().intensity, 0.75);
  ExpectAccepted("/gen/root", MsgI(24));
  EXPECT_EQ(player_->params().root, 24);
  ExpectAccepted("/gen/root", MsgF(62.0f));  // an integral float is an integer
  EXPECT_EQ(player_->params().root, 62);
  ExpectAccepted("/gen/mode", MsgS("Lydian"));
  EXPECT_EQ(player_->params().mode, generative::Mode::kLydian);
  ExpectAccepted("/gen/mode", MsgS("minor"));
  EXPECT_EQ(player_->params().mode, generative::Mode::kAeolian);
  ExpectAccepted("/gen/seed", MsgI(2147483647));
  EXPECT_EQ(player_->seed(), 2147483647u);
  EXPECT_NE(player_->seed(), seed);
  EXPECT_FALSE(player_->playing()) << "parameters do not start the music";
}

TEST_F(OscSoundHandlerTest, GenStartStopAndArguments) {
  ExpectRefused("/gen/start", MsgI(1), "expected no arguments");
  player_->StepNonRt(48000);
  EXPECT_FALSE(player_->playing());
  ExpectAccepted("/gen/start", Msg());
  player_->StepNonRt(48000);  // the player's thread sees the request at its next step
  EXPECT_TRUE(player_->playing());
  EXPECT_GT(player_->bars(), 0u);
  ExpectAccepted("/gen/stop", Msg());
  player_->StepNonRt(96000);
  EXPECT_FALSE(player_->playing());

  OscSoundHandler without(nullptr, nullptr);
  Call call(Msg());
  const OscExtraResult r = call.On(without, "/gen/start", *lane_);
  EXPECT_TRUE(r.handled);
  EXPECT_EQ(r.refusal, "the generative mode is not available");
  // Not its addresses: left to the built-in address space.
  EXPECT_FALSE(Send("/note/on", Msg()).handled);
  EXPECT_FALSE(Send("/midi/learn", MsgS("cutoff")).handled);
  EXPECT_FALSE(Send("/midi/note/bend", Msg()).handled);
}

lo_message Note(int32_t channel, int32_t note, float velocity) {
  lo_message m = lo_message_new();
  lo_message_add_int32(m, channel);
  lo_message_add_int32(m, note);
  lo_message_add_float(m, velocity);
  return m;
}
lo_message NoteOff(int32_t channel, int32_t note) {
  lo_message m = lo_message_new();
  lo_message_add_int32(m, channel);
  lo_message_add_int32(m, note);
  return m;
}

TEST_F(OscSoundHandlerTest, MidiNotesBecomeCommandsOnTheirChannel) {
  ExpectAccepted("/midi/note/on", Note(10, 36, 0.5f));
  ExpectAccepted("/midi/note/off", NoteOff(16, 127));
  ExpectRefused("/midi/note/on", Note(0, 60, 0.5f), "channel must be 1..16 and note 0..127");
  ExpectRefused("/midi/note/on", Note(17, 60, 0.5f), "channel must be 1..16 and note 0..127");
  ExpectRefused("/midi/note/on", Note(1, 128, 0.5f), "channel must be 1..16 and note 0..127");
  ExpectRefused("/midi/note/on", Note(1, 60, 1.5f), "velocity must be 0..1");
  ExpectRefused("/midi/note/on", NoteOff(1, 60),
                "expected /midi/note/on i channel i note f velocity");
  ExpectRefused("/midi/note/off", Note(1, 60, 0.5f), "expected /midi/note/off i channel i note");
  const std::vector<Command> commands = Drain(queue_, 3, 100);
  ASSERT_EQ(commands.size(), 2u) << "only the accepted notes are queued";
  EXPECT_EQ(commands[0].type, CommandType::kNoteOn);
  EXPECT_EQ(commands[0].note, 36);
  EXPECT_EQ(commands[0].channel, 9);  // MIDI channel 10 (GM drums), 0-based
  EXPECT_FLOAT_EQ(commands[0].value, 0.5f);
  EXPECT_EQ(commands[0].frame, 0u) << "outside a bundle: at once";
  EXPECT_EQ(commands[1].type, CommandType::kNoteOff);
  EXPECT_EQ(commands[1].note, 127);
  EXPECT_EQ(commands[1].channel, 15);
}

// Through a running OscServer with the handler installed, as the firmware does (SoundSystem).
TEST(OscSoundHandler, MidiNotesInATimetaggedBundleGetTheFrameOfTheTimetag) {
  ControlQueue control;
  EngineClock clock(48000);
  OscSoundHandler handler(nullptr, nullptr);
  handler.SetClock(&clock);
  auto server = MakeServer(control);
  server->SetClock(&clock);
  server->SetExtraHandler([&](std::string_view path, const char* types, lo_arg** argv, int argc,
                              lo_message message, ControlQueue::Producer& lane) {
    return handler.Handle(path, types, argv, argc, message, lane);
  });
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());

  // Engine frame 96000 is heard now: published next to the time the timetags count from (under
  // qemu, starting the server above took ~10 ms).
  clock.PublishRt(96000, hal::MonotonicNs(), true);
  const int64_t now = RealtimeNs();
  for (int64_t offset_ms : {500, 510}) {  // two bundles 10 ms apart, 0.5 s ahead
    lo_bundle bundle = lo_bundle_new(TimetagAtRealtimeNs(now + offset_ms * 1'000'000));
    lo_bundle_add_message(bundle, "/midi/note/on",
                          Note(2, static_cast<int32_t>(60 + offset_ms % 100), 0.8f));
    ASSERT_GT(lo_send_bundle_from(client.address(), client.server(), bundle), 0);
    lo_bundle_free_recursive(bundle);
  }
  lo_bundle immediate = lo_bundle_new(LO_TT_IMMEDIATE);
  lo_bundle_add_message(immediate, "/midi/note/off", NoteOff(2, 60));
  ASSERT_GT(lo_send_bundle_from(client.address(), client.server(), immediate), 0);
  lo_bundle_free_recursive(immediate);
  lo_message plain = Note(2, 61, 0.5f);
  client.Send("/midi/note/on", plain);  // outside a bundle
  lo_message_free(plain);

  const std::vector<Command> commands = Drain(control, 4);
  ASSERT_EQ(commands.size(), 4u);
  EXPECT_EQ(commands[0].channel, 1);
  EXPECT_EQ(commands[0].note, 60);
  EXPECT_EQ(commands[1].note, 70);
  const double expected = 96000 + 24000;  // 0.5 s later
  const bool slow = test::kSanitized || !test::Emulator().empty();
  EXPECT_NEAR(static_cast<double>(commands[0].frame), expected, slow ? 480.0 : 48.0);
  // 10 ms apart at 48 kHz: 480 frames (+-1 for the rounding of each timetag).
  EXPECT_NEAR(static_cast<double>(commands[1].frame) - static_cast<double>(commands[0].frame),
              480.0, 1.0);
  EXPECT_EQ(commands[2].type, CommandType::kNoteOff);
  EXPECT_EQ(commands[2].frame, 0u) << "immediate timetag: at once";
  EXPECT_EQ(commands[3].frame, 0u) << "outside a bundle: at once";
  EXPECT_EQ(server->timed_commands(), 2u) << "the two future bundles, not the immediate ones";
}

TEST(OscSoundHandler, RefusalsAreAnsweredWithFailOnceAndCounted) {
  ControlQueue control;
  SoundPatch patch;
  patch.layers = {LayerConfig{}};
  SoundLayers layers(patch, nullptr, 48000.0f);
  GenPlayer player(layers, GenerativeConfig{}, GenPlayerConfig{});
  OscSoundHandler handler(nullptr, &player);
  auto server = MakeServer(control);
  server->SetExtraHandler([&](std::string_view path, const char* types, lo_arg** argv, int argc,
                              lo_message message, ControlQueue::Producer& lane) {
    return handler.Handle(path, types, argv, argc, message, lane);
  });
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());

  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/gen/bpm", "f", 500.0f);
  auto result = client.WaitResult("/gen/bpm", 1000);
  ASSERT_TRUE(result.has_value()) << "a refused /gen/bpm is answered";
  EXPECT_FALSE(result->first);
  EXPECT_EQ(result->second, "bpm must be 20..300");
  EXPECT_EQ(server->bad_messages(), 1u);
  EXPECT_DOUBLE_EQ(player.params().bpm, 60.0);

  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/gen/bpm", "f", 90.0f);
  EXPECT_TRUE(WaitFor([&] { return player.params().bpm == 90.0; }));
  EXPECT_EQ(server->messages(), 1u);
  EXPECT_EQ(server->bad_messages(), 1u);

  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/midi/note/on", "iif", 17, 60,
               0.5f);
  result = client.WaitResult("/midi/note/on", 1000);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->first);
  EXPECT_EQ(result->second, "channel must be 1..16 and note 0..127");
  EXPECT_EQ(server->bad_messages(), 2u);

  // /sf/load answers for itself (from the loader's socket): one /fail, not two.
  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/sf/load", "s", "x.sf2");
  result = client.WaitResult("/sf/load", 1000);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->first);
  EXPECT_EQ(result->second, "FluidSynth is not available in this patch");
  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/sf/load", "si", "x.sf2", 9);
  result = client.WaitResult("/sf/load", 1000);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->second, "slot must be an integer 0..3");
  EXPECT_FALSE(client.WaitResult("/sf/load", 200).has_value()) << "one answer per request";
  EXPECT_EQ(server->bad_messages(), 4u);
}

// /sf/load over OSC with a real loader and FluidSynth worker: /sf/progress reaches the sender,
// rising to 1, then /done /sf/load <path> once the font is swapped in; a missing font is answered
// /fail with the reason.
TEST(OscSoundHandler, SoundFontLoadSendsProgressThenDone) {
  const std::string font = "/usr/share/sounds/sf2/TimGM6mb.sf2";
  if (!std::filesystem::exists(font)) GTEST_SKIP() << "timgm6mb-soundfont is not installed";
  constexpr uint32_t kBlock = 128;
  SoundPatch patch;
  LayerConfig piano;
  piano.target = LayerConfig::Target::kFluid;
  patch.layers = {piano};
  patch.fluid.soundfont_dirs = {"/usr/share/sounds/sf2"};
  FluidWorker worker(FluidWorkerConfig{-1, 0, kBlock, 1}, nullptr);
  SoundLayers layers(patch, &worker, 48000.0f);
  worker.Start();
  SoundFontLoader loader(worker, patch, 48000.0);
  loader.Start();
  // The audio thread's part: periods, each once the worker's block is there (the swap happens
  // at a block boundary).
  std::atomic<bool> rendering{true};
  std::thread audio([&] {
    std::vector<float> zero(kBlock, 0.0f), left(kBlock), right(kBlock);
    Command synth[64];
    uint64_t periods = 0;
    uint64_t consumed = 0;
    while (rendering.load()) {
      while (worker.blocks_rendered() < consumed + 1 && rendering.load()) {
        std::this_thread::yield();
      }
      layers.BeginPeriodRt(periods * kBlock, kBlock, synth, 64);
      const uint64_t late = layers.fluid_late_blocks();
      layers.MixRt(zero.data(), left.data(), right.data(), kBlock);
      if (layers.fluid_late_blocks() == late) ++consumed;
      ++periods;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  OscSoundHandler handler(&loader, nullptr);
  ControlQueue control;
  auto server = MakeServer(control);
  server->SetExtraHandler([&](std::string_view path, const char* types, lo_arg** argv, int argc,
                              lo_message message, ControlQueue::Producer& lane) {
    return handler.Handle(path, types, argv, argc, message, lane);
  });
  ASSERT_EQ(server->Start(), "");

  // A client that records /sf/progress, /done and /fail.
  struct Received {
    std::mutex mutex;
    std::vector<std::pair<std::string, float>> progress;
    std::vector<std::tuple<std::string, std::string, std::string>> results;  // reply, addr, text
  } received;
  lo_server client = lo_server_new("0", nullptr);
  ASSERT_NE(client, nullptr);
  lo_server_add_method(
      client, "/sf/progress", "sf",
      [](const char*, const char*, lo_arg** argv, int, lo_message, void* user) {
        auto* r = static_cast<Received*>(user);
        std::lock_guard lock(r->mutex);
        // liblo aligns arguments to 4 bytes, lo_arg is an 8-byte union: no member access.
        r->progress.emplace_back(reinterpret_cast<const char*>(argv[0]),
                                 static_cast<float>(*OscNumber('f', argv[1])));
        return 0;
      },
      &received);
  for (const char* reply : {"/done", "/fail"}) {
    lo_server_add_method(
        client, reply, "ss",
        [](const char* path, const char*, lo_arg** argv, int, lo_message, void* user) {
          auto* r = static_cast<Received*>(user);
          std::lock_guard lock(r->mutex);
          r->results.emplace_back(path, reinterpret_cast<const char*>(argv[0]),
                                  reinterpret_cast<const char*>(argv[1]));
          return 0;
        },
        &received);
  }
  lo_address box = lo_address_new("127.0.0.1", std::to_string(server->port()).c_str());
  auto wait_results = [&](size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      lo_server_recv_noblock(client, 10);
      std::lock_guard lock(received.mutex);
      if (received.results.size() >= n) return true;
    }
    return false;
  };
  lo_send_from(box, client, LO_TT_IMMEDIATE, "/sf/load", "s", "TimGM6mb.sf2");
  const bool first = wait_results(1);
  lo_send_from(box, client, LO_TT_IMMEDIATE, "/sf/load", "si", "missing.sf2", 1);
  const bool second = wait_results(2);
  for (int i = 0; i < 20; ++i) lo_server_recv_noblock(client, 10);  // nothing more arrives

  server->Stop();
  loader.Stop();
  rendering.store(false);
  audio.join();
  worker.Stop();
  lo_address_free(box);
  lo_server_free(client);

  ASSERT_TRUE(first) << "no /done or /fail for /sf/load";
  ASSERT_TRUE(second);
  std::lock_guard lock(received.mutex);
  ASSERT_EQ(received.results.size(), 2u);
  EXPECT_EQ(received.results[0],
            std::make_tuple(std::string("/done"), std::string("/sf/load"), std::string(font)));
  EXPECT_EQ(std::get<0>(received.results[1]), "/fail");
  EXPECT_EQ(std::get<1>(received.results[1]), "/sf/load");
  EXPECT_EQ(std::get<2>(received.results[1]),
            "no such SoundFont in the SoundFont directories: missing.sf2");
  ASSERT_GE(received.progress.size(), 2u) << "progress while the file is read";
  for (size_t i = 0; i < received.progress.size(); ++i) {
    EXPECT_EQ(received.progress[i].first, font);
    if (i > 0) {
      EXPECT_GE(received.progress[i].second, received.progress[i - 1].second);
    }
  }
  EXPECT_FLOAT_EQ(received.progress.back().second, 1.0f);
  EXPECT_EQ(worker.swaps(), 1u);
  EXPECT_EQ(loader.loads(), 1u);
  EXPECT_EQ(loader.failures(), 1u);
  EXPECT_EQ(server->messages(), 2u) << "both requests accepted; the missing font fails later";
}

}  // namespace
}  // namespace chronus::firmware
