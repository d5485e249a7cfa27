#include "firmware/sound/sound_system.h"

#include "firmware/config/board_config.h"
#include "firmware/log/log.h"

namespace chronus::firmware {

SoundSystem::SoundSystem(const SoundSystemConfig& config) : config_(config) {
  const std::string path = FindSoundPatch(config.patch, DefaultBoardSearchDirs());
  if (path.empty()) {
    LogWarning("sound patch '" + config.patch + "' not found; playing the synth voices only");
    patch_ = DefaultSoundPatch();
  } else {
    SoundPatchLoadResult loaded = LoadSoundPatch(path);
    for (const std::string& error : loaded.errors) LogWarning("sound patch: " + error);
    patch_ = loaded.patch;
    if (patch_.layers.empty()) {
      LogWarning("sound patch " + path + " has no valid layer; playing the synth voices only");
      patch_.layers = DefaultSoundPatch().layers;
    }
  }
  bool any_fluid = false;
  for (const LayerConfig& layer : patch_.layers) {
    any_fluid = any_fluid || layer.target == LayerConfig::Target::kFluid;
  }
  if (any_fluid && patch_.fluid.soundfont != "none") {
    FluidWorkerConfig wc;
    wc.cpu = patch_.fluid.cpu;
    wc.priority = config.worker_priority;
    wc.block_frames = config.block_frames;
    fluid_ = std::make_unique<FluidWorker>(wc, nullptr);
    loader_ = std::make_unique<SoundFontLoader>(*fluid_, patch_, config.sample_rate);
  }
  layers_ = std::make_unique<SoundLayers>(patch_, fluid_.get(), config.sample_rate);
  GenPlayerConfig gc;
  gc.sample_rate = config.sample_rate;
  gc.max_voices = {static_cast<int>(std::min<uint32_t>(4, config.synth_voices)), 1, 1};
  gen_ = std::make_unique<GenPlayer>(*layers_, patch_.generative, gc);
  osc_ = std::make_unique<OscSoundHandler>(loader_.get(), gen_.get());
}

SoundSystem::~SoundSystem() { Stop(); }

void SoundSystem::AttachAndStart(AudioEngine& engine) {
  engine.SetLayerHostNonRt(layers_.get());
  osc_->SetClock(&engine.clock());  // /midi/note/* in timetagged bundles
  ControlQueue::Producer* gen_lane = engine.control_queue().AddProducerNonRt();
  if (gen_lane == nullptr)
    LogWarning("generative mode: no free control queue lane; it stays silent");
  gen_->SetLaneNonRt(gen_lane);  // its own producer lane: the player's thread pushes into it
  if (fluid_ != nullptr) {
    FluidWorker* fluid = fluid_.get();
    fluid_watch_ = std::make_unique<FluidWatch>(FluidWatchSources{
        [fluid] { return fluid->render_started_ns(); },
        [fluid] { return fluid->blocks_rendered(); }, [&engine] { return engine.periods(); }});
    fluid_->Start();
    loader_->Start();
    SoundFontRequest initial;
    initial.name = patch_.fluid.soundfont;
    initial.done = [](bool ok, const std::string& text) {
      if (!ok) LogWarning("FluidSynth layers stay silent until /sf/load succeeds: " + text);
    };
    loader_->RequestNonRt(std::move(initial));
  }
  gen_->Start();
  started_ = true;
  LogInfo("sound patch '" + patch_.name + "': " + std::to_string(patch_.layers.size()) + " layers" +
          (fluid_ != nullptr ? ", FluidSynth worker started" : ", synth only"));
}

void SoundSystem::Stop() {
  if (!started_) return;
  started_ = false;
  gen_->Stop();
  if (loader_ != nullptr) loader_->Stop();
  if (fluid_ != nullptr) fluid_->Stop();
}

std::vector<StatusEntry> SoundSystem::Status() const {
  std::vector<StatusEntry> entries = {
      {"fluid_late_blocks", static_cast<double>(layers_->fluid_late_blocks())},
      {"fluid_stalls", static_cast<double>(layers_->fluid_stalls())},
      {"fluid_dropped_events", static_cast<double>(layers_->fluid_dropped_events())},
      {"fluid_voices", static_cast<double>(fluid_ != nullptr ? fluid_->voices_playing() : 0)},
      {"fluid_swaps", static_cast<double>(fluid_ != nullptr ? fluid_->swaps() : 0)},
      {"fluid_stuck_episodes",
       static_cast<double>(fluid_watch_ != nullptr ? fluid_watch_->episodes() : 0)},
      {"fluid_stuck", fluid_watch_ != nullptr && fluid_watch_->stuck() ? 1.0 : 0.0},
      {"fluid_worst_render_us",
       static_cast<double>(fluid_ != nullptr ? fluid_->worst_render_ns() : 0) / 1000.0, true},
      {"sf_loads", static_cast<double>(loader_ != nullptr ? loader_->loads() : 0)},
      {"sf_load_failures", static_cast<double>(loader_ != nullptr ? loader_->failures() : 0)},
      {"sf_loading", loader_ != nullptr && loader_->busy() ? 1.0 : 0.0},
      {"gen_playing", gen_->playing() ? 1.0 : 0.0},
      {"gen_bars", static_cast<double>(gen_->bars())},
      {"gen_notes", static_cast<double>(gen_->notes_queued())},
      {"gen_late_notes", static_cast<double>(layers_->gen_late())},
      {"gen_dropped_notes", static_cast<double>(gen_->notes_dropped())},
  };
  return entries;
}

OscExtraHandler SoundSystem::Handler() {
  OscSoundHandler* handler = osc_.get();
  return [handler](std::string_view path, const char* types, lo_arg** argv, int argc,
                   lo_message message, ControlQueue::Producer& lane) {
    return handler->Handle(path, types, argv, argc, message, lane);
  };
}

}  // namespace chronus::firmware
