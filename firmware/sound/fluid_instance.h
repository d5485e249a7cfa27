// One FluidSynth synthesizer (libfluidsynth): its settings, the SoundFonts loaded into it and the
// programs its channels play. Created, loaded and configured off the RT path (main or loader
// thread), then handed to the FluidSynth worker, the only thread that calls it afterwards; freed
// off the RT path again. Its audio driver is never started: the worker pulls blocks with
// fluid_synth_write_float.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "firmware/sound/sound_patch.h"

typedef struct _fluid_hashtable_t fluid_settings_t;
typedef struct _fluid_synth_t fluid_synth_t;

namespace chronus::firmware {

/// SoundFont slots of an instance (see /sf/load s [i slot]).
inline constexpr int kSoundFontSlots = 4;

class FluidInstance {
 public:
  /// Creates the settings (synth.* from `config`, synth.threadsafe-api = 0: no mutex in any
  /// fluid_synth_* call, which is correct because one thread uses the instance at a time) and the
  /// synth at `sample_rate` Hz. nullptr with `*error` set on failure. Non-RT.
  static std::unique_ptr<FluidInstance> Create(const FluidConfig& config, double sample_rate,
                                               std::string* error);
  ~FluidInstance();
  FluidInstance(const FluidInstance&) = delete;
  FluidInstance& operator=(const FluidInstance&) = delete;

  /// Loads the SoundFont file `path` into `slot` (0..kSoundFontSlots-1, replacing what was
  /// there), calling `progress` with the fraction of the file read so far (0..1) on this thread.
  /// Returns "" or the reason (missing file, not a SoundFont, corrupt). Non-RT; takes seconds for a
  /// large font.
  std::string LoadFont(int slot, const std::string& path,
                       const std::function<void(double)>& progress = {});
  /// Selects each FluidSynth layer's program on its channel (`channels[i]` for `layers[i]`, -1 for
  /// synth layers) and sets its volume (CC 7, from gain_db with the GM curve
  /// 40 log10(cc / 127) dB) and pan (CC 10). Returns warnings ("" when all applied). Non-RT.
  std::string ApplyLayers(const std::vector<LayerConfig>& layers, const std::vector<int>& channels);

  fluid_synth_t* synth() const { return synth_; }
  /// The file in each slot ("" = empty).
  const std::array<std::string, kSoundFontSlots>& font_paths() const { return font_paths_; }
  int voices_playing() const;

 private:
  FluidInstance() = default;
  fluid_settings_t* settings_ = nullptr;
  fluid_synth_t* synth_ = nullptr;
  std::array<int, kSoundFontSlots> font_ids_{-1, -1, -1, -1};
  std::array<std::string, kSoundFontSlots> font_paths_;
};

/// Routes FluidSynth's log messages: dropped on threads marked with MarkFluidRtThread (the worker
/// must not log), forwarded to the firmware log elsewhere (warnings and errors only). Idempotent.
void InstallFluidLogRouting();
/// Marks the calling thread as one on which FluidSynth must not log.
void MarkFluidRtThread();

}  // namespace chronus::firmware
