// Everything the sound patch adds to the engine, owned in one place for the application: the
// layers (a LayerHost on the audio thread), the FluidSynth worker (when a layer plays FluidSynth),
// the SoundFont loader, the generative player and their OSC addresses and /status keys.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "firmware/control/osc_server.h"
#include "firmware/control/osc_sound.h"
#include "firmware/engine/audio_engine.h"
#include "firmware/generative/gen_player.h"
#include "firmware/sound/fluid_watch.h"
#include "firmware/sound/fluid_worker.h"
#include "firmware/sound/sound_layers.h"
#include "firmware/sound/sound_patch.h"
#include "firmware/sound/soundfont_loader.h"

namespace chronus::firmware {

struct SoundSystemConfig {
  std::string patch = "default";  ///< Name or path (board [sound] patch).
  float sample_rate = 48000.0f;
  uint32_t block_frames = 128;
  int worker_priority = 0;  ///< SCHED_FIFO priority of the FluidSynth worker.
  uint32_t synth_voices = 16;
};

/// Main thread: construction, AttachAndStart (before the audio thread starts), Stop (after it
/// stopped). Status: any non-RT thread.
class SoundSystem {
 public:
  explicit SoundSystem(const SoundSystemConfig& config);
  ~SoundSystem();

  /// Installs the layers into `engine`, starts the FluidSynth worker, the loader (which loads the
  /// patch's SoundFont in the background: the layer is silent until then) and the generative
  /// player's thread.
  void AttachAndStart(AudioEngine& engine);
  void Stop();
  /// The watchdog's check of the FluidSynth worker (fluid_watch.h): call on the watchdog thread
  /// each tick. Nothing without a FluidSynth layer.
  void WatchTick(int64_t now_ns) {
    if (fluid_watch_ != nullptr) fluid_watch_->Tick(now_ns);
  }

  /// /status.reply entries of the sound layers and the generative mode.
  std::vector<StatusEntry> Status() const;
  /// The OSC handler of /sf/*, /gen/*, /midi/note/*.
  OscExtraHandler Handler();

  const SoundPatch& patch() const { return patch_; }
  SoundLayers& layers() { return *layers_; }
  FluidWorker* fluid() { return fluid_.get(); }
  SoundFontLoader* loader() { return loader_.get(); }
  GenPlayer& gen() { return *gen_; }

 private:
  SoundSystemConfig config_;
  SoundPatch patch_;
  std::unique_ptr<FluidWorker> fluid_;
  std::unique_ptr<SoundLayers> layers_;
  std::unique_ptr<SoundFontLoader> loader_;
  std::unique_ptr<GenPlayer> gen_;
  std::unique_ptr<OscSoundHandler> osc_;
  std::unique_ptr<FluidWatch> fluid_watch_;
  bool started_ = false;
};

}  // namespace chronus::firmware
