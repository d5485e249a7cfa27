#include "firmware/app.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "firmware/config/board_config.h"
#include "firmware/config/board_detect.h"
#include "firmware/control/controls.h"
#include "firmware/control/dirt_server.h"
#include "firmware/control/osc_translate.h"
#include "firmware/engine/audio_engine.h"
#include "firmware/engine/audio_thread.h"
#include "firmware/engine/fault.h"
#include "firmware/engine/worker_supervisor.h"
#include "firmware/generative/gen_control.h"
#include "firmware/health/boot_tuning.h"
#include "firmware/health/watchdog.h"
#include "firmware/log/log.h"
#include "firmware/recorder/recorder.h"
#include "firmware/sound/sound_system.h"
#include "firmware/state/crash_guard.h"
#include "firmware/state/state_store.h"
#include "hal/audio/alsa_output.h"
#include "hal/rt/clock.h"
#include "hal/rt/thread_setup.h"
#include "hal/watchdog/systemd_notifier.h"

namespace chronus::firmware {

namespace {

// The patch as the engine plays it now.
Patch CurrentPatch(const AudioEngine& engine) {
  Patch patch;
  for (const auto& spec : dsp::kParamSpecs) patch[spec.id] = engine.param_value(spec.id);
  return patch;
}

std::string SecondsText(int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", static_cast<double>(ns) * 1e-9);
  return text;
}

std::string MsText(int64_t ns) { return std::to_string((ns + 500000) / 1000000); }

int Fail(int code, const std::string& message) {
  LogError(message);
  Log::Stop();
  return code;
}

}  // namespace

int RunApp(const AppOptions& options) {
  // Before any thread starts (the log thread is the first): their stacks are locked whole.
  const std::string stack_error = hal::SetDefaultThreadStack(hal::kThreadStackBytes);
  Log::Start();
  if (!stack_error.empty()) LogWarning(stack_error);
  // Boot to sound (tests/firmware/boot_to_sound_test.cpp parses these lines): start, READY=1,
  // first non-silent block, CLOCK_MONOTONIC seconds.
  const int64_t start_ns = hal::MonotonicNs();
  std::atomic<int64_t> ready_ns{0};
  LogInfo("boot to sound: start at " + SecondsText(start_ns) + " s, pid " +
          std::to_string(getpid()));

  std::string board_name = options.board;
  if (board_name.empty()) {
    const BoardChoice choice =
        SelectBoard(options.settings_path, options.model_path, options.cards_path);
    if (!choice.warning.empty()) LogWarning(choice.warning);
    board_name = choice.board;
    LogInfo("no --board given; board '" + board_name + "': " + choice.reason);
  }
  const std::string board_path = FindBoardFile(board_name, DefaultBoardSearchDirs());
  if (board_path.empty()) return Fail(2, "board '" + board_name + "' not found");
  BoardLoadResult loaded = LoadBoardFile(board_path);
  if (!loaded.error.empty()) return Fail(2, "invalid board file: " + loaded.error);
  BoardConfig board = loaded.board;
  if (!options.capture.empty()) board.audio.capture_path = options.capture;
  board.audio.vcard_control_path = options.vcard_control;
  if (!options.recordings.empty()) board.recordings_dir = options.recordings;
  if (!options.state.empty()) board.state_dir = options.state;
  if (options.osc_port >= 0) board.osc_port = options.osc_port;
  if (options.dirt_port >= 0) board.dirt_port = options.dirt_port;
  if (!options.samples.empty()) board.samples_dir = options.samples;
  if (options.period > 0) board.audio.period_frames = static_cast<uint32_t>(options.period);
  if (options.periods > 0) board.audio.periods = static_cast<uint32_t>(options.periods);
  if (board.audio.virtual_card && board.audio.capture_path.empty()) {
    board.audio.capture_path = "sdcard/capture.wav";
  }
  if (board.audio.virtual_card) {
    std::error_code ec;
    auto parent = std::filesystem::path(board.audio.capture_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }

  {  // Is the system tuned for the real-time cores (board/tuning/README.md)?
    std::vector<int> rt_cpus = board.worker_cpus;
    if (board.audio_cpu >= 0) rt_cpus.push_back(board.audio_cpu);
    LogInfo(DescribeBootTuning(ReadBootTuning(), rt_cpus));
  }

  std::vector<FaultSpec> faults;
  for (const std::string& text : options.faults) {
    FaultSpec fault;
    const std::string error = ParseFault(text, &fault);
    if (!error.empty()) return Fail(2, error);
    faults.push_back(fault);
  }
  if (!faults.empty()) LogWarning("fault injection armed (--fault): this run is a test");

  // State: crash-loop guard first, then the patch to start with.
  CrashGuard guard;
  const CrashGuard::Result entered = guard.Enter(board.state_dir);
  if (!entered.error.empty()) LogWarning("crash-loop guard: " + entered.error);
  if (!entered.report.empty()) {
    Log::Write(entered.unclean_previous ? LogLevel::kWarning : LogLevel::kInfo, entered.report);
  }
  StateStore store({board.state_dir, 1.0, 5.0, 128,
                    [](std::string_view error) { LogError("state: " + std::string(error)); }});
  if (!store.init_error().empty()) LogWarning("state: " + store.init_error());
  std::string patch_report;
  bool patch_degraded = false;
  Patch start_patch = store.LoadAtStart(&patch_report, &patch_degraded);
  if (!patch_report.empty()) {
    Log::Write(patch_degraded ? LogLevel::kWarning : LogLevel::kInfo, patch_report);
  }
  if (entered.safe_mode) {
    const PatchLoadResult known_good = guard.LoadKnownGood();
    start_patch = known_good.patch;
    LogWarning("crash-loop guard: " + std::to_string(entered.recent_unclean) +
               " unclean starts within a minute: starting with the last known-good patch (" +
               known_good.report + ")");
    store.NoteChangedNonRt(start_patch);
  }

  const std::string lock = hal::LockMemory();
  if (!lock.empty()) LogWarning(lock);

  hal::AlsaOutput output;
  const std::string open_error = output.Open(board.audio);
  if (!open_error.empty()) return Fail(3, open_error);
  // The stream's shape as negotiated now. Other threads use these, never `output`'s accessors:
  // the device thread reopens `output` after a loss (same configuration, same shape).
  const hal::SampleFormat stream_format = output.format();
  const uint32_t stream_rate = output.sample_rate();
  const uint32_t stream_channels = output.channels();
  const uint32_t stream_period = output.period_frames();
  const uint32_t stream_periods = output.periods();

  RecorderConfig recorder_config;
  recorder_config.directory = board.recordings_dir;
  recorder_config.sample_rate = stream_rate;
  recorder_config.channels = stream_channels;
  recorder_config.max_block_frames = stream_period;
  // About 4 s of audio between the audio thread and the SD card writer.
  recorder_config.ring_blocks = 4 * stream_rate / stream_period + 1;
  recorder_config.flush_interval = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(board.recorder_flush_interval_s));
  recorder_config.log = [](RecorderLogLevel level, const std::string& text) {
    Log::Write(level == RecorderLogLevel::kError     ? LogLevel::kError
               : level == RecorderLogLevel::kWarning ? LogLevel::kWarning
                                                     : LogLevel::kInfo,
               text);
  };
  Recorder recorder(recorder_config);
  recorder.RecoverNonRt();  // unfinished takes of a crash or power cut: repaired, never replaced

  // SuperDirt sample layer: its first bank is loaded here, before the audio thread runs.
  SampleLayerConfig layer_config;
  layer_config.sample_rate = static_cast<float>(stream_rate);
  layer_config.block_frames = stream_period;
  layer_config.workers = board.workers;
  layer_config.voices = board.dirt_voices;
  SampleLayer sample_layer(layer_config);
  const SampleBankConfig bank_config{board.samples_dir, layer_config.sample_rate,
                                     size_t{board.sample_memory_mb} << 20};
  {
    std::unique_ptr<SampleBank> bank = LoadSampleBank(bank_config);
    Log::Write(bank->skipped().empty() ? LogLevel::kInfo : LogLevel::kWarning, bank->Report());
    sample_layer.SetInitialBankNonRt(std::move(bank));
  }

  ControlQueue control;
  EngineConfig engine_config;
  engine_config.sample_rate = static_cast<float>(stream_rate);
  engine_config.block_frames = stream_period;
  engine_config.channels = stream_channels;
  engine_config.workers = board.workers;
  engine_config.worker_cpus = board.worker_cpus;
  engine_config.worker_priority = board.worker_priority;
  engine_config.audio_thread_renders = board.audio_thread_renders;
  engine_config.voices = board.voices;
  engine_config.sample_layer = &sample_layer;
  AudioEngine engine(engine_config, control);
  SoundSystem sound({board.sound_patch, engine_config.sample_rate, engine_config.block_frames,
                     board.worker_priority, board.voices});
  ControlQueue::Producer* state_lane = control.AddProducerNonRt();
  for (const auto& spec : dsp::kParamSpecs) {
    state_lane->pushNonRt(Command{CommandType::kSetParam, 0, spec.id, start_patch[spec.id]});
  }
  engine.Start();
  for (const auto& worker : engine.workers()) {
    if (!worker->setup_warnings().empty()) {
      LogWarning("worker " + std::to_string(worker->config().index) + ": " +
                 worker->setup_warnings());
    }
  }

  sound.AttachAndStart(engine);  // layers, FluidSynth worker, SoundFont loader, generative mode

  AudioThread audio({board.audio_priority, board.audio_cpu}, output, board.audio, engine,
                    &recorder);
  const std::string start_error = audio.Start();
  if (!start_error.empty()) {
    engine.Stop();
    sound.Stop();
    return Fail(3, start_error);
  }
  if (!audio.setup_warnings().empty()) LogWarning("audio thread: " + audio.setup_warnings());

  std::atomic<OscServer*> osc_running{nullptr};  // set once the OSC server runs
  lo_address ping_address = nullptr;             // the watchdog's liveness probe target
  const hal::watchdog::SystemdNotifier systemd;
  WatchdogConfig watchdog_config;
  if (systemd.WatchdogInterval().count() > 0) {
    watchdog_config.alive_interval =
        std::chrono::duration_cast<std::chrono::milliseconds>(systemd.WatchdogInterval() / 2);
  }
  uint64_t saved_changes = 0;  // watchdog thread only
  // Watchdog thread only: the first non-silent block has been logged.
  bool first_sound_logged = false;
  watchdog_config.periodic = [&](int64_t now_ns) {
    sound.WatchTick(now_ns);  // the FluidSynth worker: logged and counted, not a restart reason
    if (!first_sound_logged && audio.first_sound().time_ns() != 0) {
      first_sound_logged = true;
      const int64_t at = audio.first_sound().time_ns();
      char peak[16];
      std::snprintf(
          peak, sizeof peak, "%.1f",
          20.0 * std::log10(static_cast<double>(audio.first_sound().peak()) / 2147483648.0));
      const int64_t ready = ready_ns.load();
      LogInfo("boot to sound: first non-silent block at " + SecondsText(at) + " s (peak " + peak +
              " dBFS), " + MsText(at - start_ns) + " ms after start" +
              (ready != 0 ? ", " + MsText(at - ready) + " ms after READY=1" : ""));
    }
    const uint64_t changes = engine.param_changes();
    if (changes == saved_changes) return;
    saved_changes = changes;
    store.NoteChangedNonRt(CurrentPatch(engine));  // saved, debounced, on the state thread
  };
  WorkerSupervisor supervisor(engine, SupervisorConfig{}, faults, hal::MonotonicNs(),
                              [&](double ms) { audio.InjectStallNonRt(ms); });
  bool wedged_reported = false;
  Watchdog watchdog(
      watchdog_config, supervisor,
      ProgressSources{[&] { return engine.periods(); },
                      [&] {
                        // The control thread answers the watchdog's /ping; without a running OSC
                        // server no probe goes out and the control thread is not judged.
                        OscServer* server = osc_running.load();
                        return server != nullptr ? server->pings() : uint64_t{0};
                      },
                      [&] {
                        if (osc_running.load() == nullptr || ping_address == nullptr) return false;
                        lo_message ping = lo_message_new();
                        SendFromOwnSocketNonRt(ping_address, "/ping", ping);  // watchdog thread
                        lo_message_free(ping);
                        return true;
                      }},
      [&] {
        if (wedged_reported) LogInfo("watchdog: every thread makes progress again");
        wedged_reported = false;
        systemd.Watchdog();
      },
      [&](const std::string& problems) {
        if (!wedged_reported)
          LogError("watchdog: " + problems + "not telling systemd we are alive");
        wedged_reported = true;
      });
  watchdog.Start();

  auto sum_shares = [&](auto field) {
    uint64_t total = 0;
    for (size_t i = 0; i < engine.share_count(); ++i) total += field(engine.share(i));
    return total;
  };
  auto failovers = [&] { return sum_shares([](WorkerShare& s) { return s.failovers(); }); };
  auto handbacks = [&] { return sum_shares([](WorkerShare& s) { return s.handbacks(); }); };
  auto replacements = [&] { return sum_shares([](WorkerShare& s) { return s.adoptions(); }); };
  auto standby_periods = [&] {
    return sum_shares([](WorkerShare& s) { return s.standby_periods(); });
  };
  auto workers_on_standby = [&] {
    return sum_shares(
        [](WorkerShare& s) -> uint64_t { return s.mode() == WorkerShare::Mode::kStandby ? 1 : 0; });
  };
  std::atomic<size_t> preset_count{store.ListPresetsNonRt().size()};
  DirtServerConfig dirt_config;
  dirt_config.port = board.dirt_port;
  dirt_config.samples = bank_config;
  for (size_t begin = 0; begin <= board.dirt_synths.size();) {
    size_t end = board.dirt_synths.find(',', begin);
    if (end == std::string::npos) end = board.dirt_synths.size();
    if (end > begin)
      dirt_config.synths.synth_names.push_back(board.dirt_synths.substr(begin, end - begin));
    begin = end + 1;
  }
  DirtServer dirt(dirt_config, sample_layer);
  // Hardware controls (GPIO, ADC, MIDI) when the board describes them; a missing device is a
  // warning, never fatal.
  const ControlsLoadResult controls_loaded = LoadControlsConfig(board_path);
  for (const std::string& error : controls_loaded.errors) LogWarning("board: " + error);
  ControlHooks control_hooks;
  control_hooks.param_value = [&](dsp::ParamId id) { return engine.param_value(id); };
  control_hooks.load_preset = [&](int slot, std::vector<Command>* commands) {
    const PatchLoadResult preset = store.LoadPresetNonRt(slot);
    if (!preset.ok()) return preset.report.empty() ? std::string("cannot be read") : preset.report;
    for (const auto& spec : dsp::kParamSpecs) {
      commands->push_back(Command{CommandType::kSetParam, 0, spec.id, preset.patch[spec.id]});
    }
    return std::string();
  };
  control_hooks.list_presets = [&] { return store.ListPresetsNonRt(); };
  control_hooks.record = [&](bool start) {
    const Recorder::Result result = start ? recorder.StartNonRt("") : recorder.StopNonRt();
    return std::make_pair(result.ok, result.path_or_error);
  };
  control_hooks.recording = [&] { return recorder.recording(); };
  control_hooks.generative = [&](TargetKind kind, float value) {
    ApplyGenControl(sound.gen(), kind, value);
  };
  control_hooks.generative_value = [&](TargetKind kind) {
    return GenControlValue(sound.gen(), kind);
  };
  Controls controls(controls_loaded.controls, control, control_hooks);
  auto patch_values = [](const Patch& patch) {
    ParamValues values{};
    for (const auto& spec : dsp::kParamSpecs) values[static_cast<size_t>(spec.id)] = patch[spec.id];
    return values;
  };
  controls.NotePatchLoaded(patch_values(start_patch));  // knobs pick the start patch up
  OscServerConfig osc_config;
  osc_config.port = board.osc_port;
  osc_config.bind_address = board.osc_bind;
  osc_config.tcp_port = board.osc_tcp_port;
  osc_config.allow = board.osc_allow;
  OscServer osc(osc_config, control, &recorder, [&] {
    std::vector<StatusEntry> entries = sound.Status();
    std::vector<StatusEntry> core{
        {"sample_rate", static_cast<double>(stream_rate)},
        {"period", static_cast<double>(stream_period)},
        {"periods", static_cast<double>(stream_periods)},
        {"xruns", static_cast<double>(audio.xruns())},
        {"late_blocks", static_cast<double>(engine.late_blocks())},
        {"voices", static_cast<double>(engine.active_voices())},
        {"worst_block_us", static_cast<double>(audio.worst_period_ns()) / 1000.0, true},
        {"bad_messages", static_cast<double>(osc.bad_messages())},
        {"recording", recorder.recording() ? 1.0 : 0.0},
        {"recorded_frames", static_cast<double>(recorder.recorded_frames())},
        {"dropped_blocks", static_cast<double>(recorder.dropped_blocks())},
        {"presets", static_cast<double>(preset_count.load())},
        {"state_saves", static_cast<double>(store.saves())},
        {"state_save_errors", static_cast<double>(store.save_errors())},
        {"record_flushed_frames", static_cast<double>(recorder.flushed_frames())},
        {"record_gaps", static_cast<double>(recorder.gaps())},
        {"record_write_errors", static_cast<double>(recorder.write_errors())},
        {"record_error", static_cast<double>(static_cast<int>(recorder.stop_reason()))},
        {"record_bytes_written", static_cast<double>(recorder.stats().bytes_written)},
        {"record_recovered", static_cast<double>(recorder.recovered_takes())},
        {"record_flush_max_ms", static_cast<double>(recorder.stats().slowest_flush_us) / 1000.0,
         true},
        {"workers", static_cast<double>(engine.workers().size())},
        {"voices_stolen", static_cast<double>(engine.voices_stolen())},
        {"dropped_commands", static_cast<double>(engine.dropped_commands() + control.dropped())},
        {"device_errors", static_cast<double>(audio.device_errors())},
        {"device_ok", audio.device_ok() ? 1.0 : 0.0},
        {"device_losses", static_cast<double>(audio.device_losses())},
        {"device_reopens", static_cast<double>(audio.device_reopens())},
        {"periods_played", static_cast<double>(engine.periods())},
        {"failovers", static_cast<double>(failovers())},
        {"standby_periods", static_cast<double>(standby_periods())},
        {"workers_on_standby", static_cast<double>(workers_on_standby())},
        {"worker_replacements", static_cast<double>(replacements())},
        {"handbacks", static_cast<double>(handbacks())},
        {"dirt_events", static_cast<double>(dirt.events())},
        {"dirt_played", static_cast<double>(sample_layer.events_played())},
        {"dirt_bad_messages", static_cast<double>(dirt.bad_messages())},
        {"dirt_unknown_keys", static_cast<double>(dirt.unknown_keys())},
        {"dirt_clamped", static_cast<double>(dirt.clamped_values())},
        {"dirt_handshakes", static_cast<double>(dirt.handshakes())},
        {"dirt_late_events", static_cast<double>(sample_layer.late_events())},
        {"dirt_unknown_sounds", static_cast<double>(sample_layer.unknown_sounds())},
        {"dirt_dropped_events", static_cast<double>(sample_layer.dropped_events())},
        {"sample_voices", static_cast<double>(sample_layer.active_voices())},
        {"sample_voices_stolen", static_cast<double>(sample_layer.voices_stolen())},
        {"sample_render_collisions", static_cast<double>(sample_layer.render_collisions())},
        {"sample_standby_blocks", static_cast<double>(sample_layer.standby_blocks())},
        {"sample_standby_misses", static_cast<double>(sample_layer.standby_misses())},
        {"sample_stale_blocks", static_cast<double>(sample_layer.stale_blocks())},
        {"sample_reloads", static_cast<double>(dirt.reloads())},
        {"samples_loaded", static_cast<double>(sample_layer.current_bank() != nullptr
                                                   ? sample_layer.current_bank()->sample_count()
                                                   : 0)},
        {"scheduled_events", static_cast<double>(engine.scheduled_events())},
        {"late_events", static_cast<double>(engine.late_events())},
        {"pending_events", static_cast<double>(engine.pending_events())},
        {"scheduler_overflows", static_cast<double>(engine.scheduler_overflows())},
        {"controls_errors",
         static_cast<double>(controls.device_errors() + controls_loaded.errors.size())},
        {"controls_running", static_cast<double>(controls.running_threads())},
        {"control_commands", static_cast<double>(controls.commands())},
        {"midi_events", static_cast<double>(controls.midi_events())},
        {"midi_learned", static_cast<double>(controls.midi_learn().bindings())},
        {"midi_tempo_bpm", controls.midi_tempo_bpm(), true},
    };
    core.insert(core.end(), entries.begin(), entries.end());
    return core;
  });
  osc.SetExtraHandler(sound.Handler());
  osc.SetStateHooks(OscStateHooks{
      [&](int slot) {
        std::string error = store.SavePresetNonRt(slot, CurrentPatch(engine));
        if (error.empty()) preset_count = store.ListPresetsNonRt().size();
        return error;
      },
      [&](int slot, std::vector<Command>* commands) {
        const PatchLoadResult preset = store.LoadPresetNonRt(slot);
        if (!preset.ok()) {
          return preset.report.empty() ? "preset " + std::to_string(slot) + " cannot be read"
                                       : preset.report;
        }
        for (const auto& spec : dsp::kParamSpecs) {
          commands->push_back(Command{CommandType::kSetParam, 0, spec.id, preset.patch[spec.id]});
        }
        controls.NotePatchLoaded(patch_values(preset.patch));  // knobs wait for pickup
        return std::string();
      },
      [&] {
        std::vector<StatusEntry> entries = {
            {"audio.periods", static_cast<double>(engine.periods())},
            {"audio.xruns", static_cast<double>(audio.xruns())},
            {"audio.late_blocks", static_cast<double>(engine.late_blocks())},
            {"audio.device_ok", audio.device_ok() ? 1.0 : 0.0},
            {"audio.worst_period_us", static_cast<double>(audio.worst_period_ns()) / 1000.0, true},
            {"watchdog.alive", static_cast<double>(watchdog.alive_count())},
            {"watchdog.wedged", static_cast<double>(watchdog.wedged_count())},
        };
        const std::vector<ShareHealth> shares = supervisor.Health();
        for (size_t i = 0; i < shares.size(); ++i) {
          const std::string w = "worker" + std::to_string(i) + ".";
          const DspWorker* worker = engine.share(i).worker();
          entries.push_back({w + "state", 0, false, shares[i].state});
          entries.push_back({w + "cpu", static_cast<double>(shares[i].cpu)});
          entries.push_back({w + "blocks", static_cast<double>(worker->blocks_rendered())});
          entries.push_back({w + "worst_render_us",
                             static_cast<double>(worker->worst_render_ns()) / 1000.0, true});
          entries.push_back({w + "failovers", static_cast<double>(shares[i].failovers)});
          entries.push_back({w + "handbacks", static_cast<double>(shares[i].handbacks)});
          entries.push_back({w + "replacements", static_cast<double>(shares[i].replacements)});
          entries.push_back({w + "standby_s", shares[i].standby_s, true});
        }
        return entries;
      },
      [&](dsp::ParamId param) {
        if (!controls.midi_running()) return std::string("MIDI in is not running (see the log)");
        controls.midi_learn().Arm(param);
        LogInfo("MIDI learn: move a controller to bind it to " +
                std::string(dsp::Spec(param).name));
        return std::string();
      }});
  osc.SetClock(&engine.clock());
  dirt.SetClock(&engine.clock());
  osc.SetParamSource([&](dsp::ParamId id) { return engine.param_value(id); },
                     [&] { return engine.param_changes(); });
  // Control input is taken once the audio thread has applied the start patch: it takes from the
  // lanes in turn, so a /param sent right after READY=1 would otherwise be applied before the
  // start patch's older value for the same parameter, which then overwrote it (seen under ASan
  // in the OSC timing test: the release set over OSC ended at the patch's 0.2 s).
  for (int i = 0; i < 4000 && !state_lane->drainedNonRt(); ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));  // boot waits ~1 period, no more
  }
  if (!state_lane->drainedNonRt()) {
    LogWarning("the audio thread has not applied the start patch after 2 s; control starts anyway");
  }
  const std::string osc_error = osc.Start();
  if (osc_error.empty()) {
    ping_address = lo_address_new("127.0.0.1", std::to_string(osc.port()).c_str());
    osc_running.store(&osc);
  }
  if (!osc_error.empty()) LogError(osc_error + "; playing on without OSC control");
  const std::string dirt_error = dirt.Start();
  if (!dirt_error.empty()) LogError(dirt_error + "; playing on without SuperDirt input");
  controls.Start();

  std::string summary =
      "playing on " + (board.audio.virtual_card
                           ? "the virtual card (capture " + board.audio.capture_path + ")"
                           : "'" + board.audio.device + "'");
  summary += ", " + std::string(hal::SampleFormatName(stream_format)) + " " +
             std::to_string(stream_rate) + " Hz, period " + std::to_string(stream_period) + " x " +
             std::to_string(stream_periods) + ", " + std::to_string(engine.workers().size()) +
             " workers, " + std::to_string(board.voices) + " voices; board " + board.name +
             "; OSC on UDP " + std::to_string(osc.port()) + "; SuperDirt on UDP " +
             std::to_string(dirt.port()) + "; recordings in " + board.recordings_dir;
  LogInfo(summary);
  // The time is taken before READY=1 is sent, so that whoever receives it sees it at or after
  // the logged time (taken after, a preemption between the two put it 1.3 ms late once under
  // ASan in CI).
  ready_ns.store(hal::MonotonicNs());
  systemd.Ready(summary);
  LogInfo("boot to sound: READY=1 at " + SecondsText(ready_ns.load()) + " s, " +
          MsText(ready_ns.load() - start_ns) + " ms after start");

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  LogInfo(std::string("received ") + (received == SIGINT ? "SIGINT" : "SIGTERM") +
          "; shutting down");
  systemd.Stopping();

  watchdog.Stop();
  osc_running.store(nullptr);
  osc.Stop();
  dirt.Stop();
  controls.Stop();
  if (ping_address != nullptr) lo_address_free(ping_address);
  if (recorder.recording()) {
    auto result = recorder.StopNonRt();
    LogInfo("recording finalized: " + result.path_or_error);
  }
  // Let the audio thread apply what control accepted before it stopped, then keep that patch.
  const uint64_t applied_by = engine.periods() + 2;
  for (int i = 0; i < 100 && engine.periods() < applied_by; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const Patch final_patch = CurrentPatch(engine);
  audio.Stop();
  engine.Stop();
  sound.Stop();
  store.NoteChangedNonRt(final_patch);
  if (const std::string error = store.FlushNonRt(); !error.empty()) LogError("state: " + error);
  if (const std::string error = guard.SaveKnownGood(final_patch); !error.empty()) {
    LogError("state: " + error);
  }
  if (const std::string error = guard.LeaveCleanly(); !error.empty()) LogError("state: " + error);
  output.Close();
  LogInfo("stopped: " + std::to_string(audio.xruns()) + " xruns, " +
          std::to_string(engine.late_blocks()) + " late blocks, " +
          std::to_string(recorder.dropped_blocks()) + " dropped recorder blocks");
  Log::Stop();
  return 0;
}

int PrintBoardChoice(const AppOptions& options) {
  const BoardChoice choice =
      SelectBoard(options.settings_path, options.model_path, options.cards_path);
  if (!choice.warning.empty()) std::fprintf(stderr, "warning: %s\n", choice.warning.c_str());
  std::fprintf(stderr, "%s\n", choice.reason.c_str());
  std::printf("%s\n", choice.board.c_str());
  return 0;
}

}  // namespace chronus::firmware
