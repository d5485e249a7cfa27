#include "firmware/sound/fluid_instance.h"

#include <fluidsynth.h>
#include <sys/stat.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "firmware/log/log.h"

namespace chronus::firmware {

namespace {

thread_local bool t_fluid_rt = false;
std::atomic<uint64_t> g_rt_log_drops{0};

void RouteFluidLog(int level, const char* message, void*) {
  if (t_fluid_rt) {
    g_rt_log_drops.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (level <= FLUID_WARN) {
    LogWarning(std::string("FluidSynth: ") + (message != nullptr ? message : "?"));
  }
}

// Progress of the load running on this thread: FluidSynth reads the file through these callbacks.
struct ProgressFile {
  FILE* file = nullptr;
};
struct LoadProgress {
  const std::function<void(double)>* report = nullptr;
  long long size = 1;
  long long read = 0;
  double last = -1.0;
};
thread_local LoadProgress* t_progress = nullptr;

void* OpenFile(const char* filename) {
  FILE* file = std::fopen(filename, "rb");
  if (file == nullptr) return nullptr;
  return new ProgressFile{file};
}
int ReadFile(void* buf, fluid_long_long_t count, void* handle) {
  auto* h = static_cast<ProgressFile*>(handle);
  const size_t n = std::fread(buf, 1, static_cast<size_t>(count), h->file);
  if (t_progress != nullptr) {
    t_progress->read += static_cast<long long>(n);
    const double fraction = std::min(
        1.0, static_cast<double>(t_progress->read) / static_cast<double>(t_progress->size));
    if (fraction - t_progress->last >= 0.05 && t_progress->report != nullptr &&
        *t_progress->report) {
      t_progress->last = fraction;
      (*t_progress->report)(fraction);
    }
  }
  return n == static_cast<size_t>(count) ? FLUID_OK : FLUID_FAILED;
}
int SeekFile(void* handle, fluid_long_long_t offset, int origin) {
  return std::fseek(static_cast<ProgressFile*>(handle)->file, static_cast<long>(offset), origin) ==
                 0
             ? FLUID_OK
             : FLUID_FAILED;
}
fluid_long_long_t TellFile(void* handle) {
  return std::ftell(static_cast<ProgressFile*>(handle)->file);
}
int CloseFile(void* handle) {
  auto* h = static_cast<ProgressFile*>(handle);
  const int rc = std::fclose(h->file);
  delete h;
  return rc == 0 ? FLUID_OK : FLUID_FAILED;
}

}  // namespace

void InstallFluidLogRouting() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int level : {FLUID_PANIC, FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG}) {
      fluid_set_log_function(level, RouteFluidLog, nullptr);
    }
  });
}

void MarkFluidRtThread() { t_fluid_rt = true; }

std::unique_ptr<FluidInstance> FluidInstance::Create(const FluidConfig& config, double sample_rate,
                                                     std::string* error) {
  InstallFluidLogRouting();
  std::unique_ptr<FluidInstance> instance(new FluidInstance());
  fluid_settings_t* s = new_fluid_settings();
  if (s == nullptr) {
    *error = "FluidSynth: cannot create settings";
    return nullptr;
  }
  instance->settings_ = s;
  bool ok = fluid_settings_setnum(s, "synth.sample-rate", sample_rate) == FLUID_OK;
  ok = ok && fluid_settings_setint(s, "synth.polyphony", config.polyphony) == FLUID_OK;
  ok = ok && fluid_settings_setnum(s, "synth.gain", config.gain) == FLUID_OK;
  ok = ok && fluid_settings_setint(s, "synth.reverb.active", config.reverb ? 1 : 0) == FLUID_OK;
  ok =
      ok && fluid_settings_setnum(s, "synth.reverb.room-size", config.reverb_room_size) == FLUID_OK;
  ok = ok && fluid_settings_setnum(s, "synth.reverb.damp", config.reverb_damping) == FLUID_OK;
  ok = ok && fluid_settings_setnum(s, "synth.reverb.width", config.reverb_width) == FLUID_OK;
  ok = ok && fluid_settings_setnum(s, "synth.reverb.level", config.reverb_level) == FLUID_OK;
  ok = ok && fluid_settings_setint(s, "synth.chorus.active", config.chorus ? 1 : 0) == FLUID_OK;
  ok = ok && fluid_settings_setint(s, "synth.chorus.nr", config.chorus_voices) == FLUID_OK;
  ok = ok && fluid_settings_setnum(s, "synth.chorus.level", config.chorus_level) == FLUID_OK;
  ok = ok && fluid_settings_setnum(s, "synth.chorus.speed", config.chorus_speed_hz) == FLUID_OK;
  ok = ok && fluid_settings_setnum(s, "synth.chorus.depth", config.chorus_depth_ms) == FLUID_OK;
  ok = ok && fluid_settings_setint(s, "synth.cpu-cores", config.cpu_cores) == FLUID_OK;
  ok = ok && fluid_settings_setint(s, "synth.threadsafe-api", 0) == FLUID_OK;
  ok = ok && fluid_settings_setint(s, "synth.midi-channels", 16) == FLUID_OK;
  if (!ok) {
    *error = "FluidSynth: a setting was refused (out of FluidSynth's range)";
    return nullptr;
  }
  instance->synth_ = new_fluid_synth(s);
  if (instance->synth_ == nullptr) {
    *error = "FluidSynth: cannot create the synth";
    return nullptr;
  }
  fluid_sfloader_t* loader = new_fluid_defsfloader(s);
  if (loader != nullptr) {
    fluid_sfloader_set_callbacks(loader, OpenFile, ReadFile, SeekFile, TellFile, CloseFile);
    fluid_synth_add_sfloader(instance->synth_, loader);  // the synth owns it
  }
  return instance;
}

FluidInstance::~FluidInstance() {
  if (synth_ != nullptr) delete_fluid_synth(synth_);
  if (settings_ != nullptr) delete_fluid_settings(settings_);
}

std::string FluidInstance::LoadFont(int slot, const std::string& path,
                                    const std::function<void(double)>& progress) {
  if (slot < 0 || slot >= kSoundFontSlots) return "no SoundFont slot " + std::to_string(slot);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "cannot read " + path + " (no such file)";
  if (!S_ISREG(st.st_mode)) return path + " is not a regular file";
  if (st.st_size < 12) return path + " is not a SoundFont (too short for a RIFF sfbk header)";
  {  // FluidSynth accepts only RIFF....sfbk; check first for a clear message
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return "cannot open " + path;
    char header[12] = {};
    const size_t n = std::fread(header, 1, sizeof(header), f);
    std::fclose(f);
    if (n != sizeof(header) || std::string(header, 4) != "RIFF" ||
        std::string(header + 8, 4) != "sfbk") {
      return path + " is not a SoundFont (no RIFF sfbk header)";
    }
  }
  LoadProgress state;
  state.report = &progress;
  state.size = st.st_size > 0 ? st.st_size : 1;
  t_progress = &state;
  const int id = fluid_synth_sfload(synth_, path.c_str(), 0);
  t_progress = nullptr;
  if (id == FLUID_FAILED) {
    return path + " is corrupt or not a SoundFont FluidSynth can read";
  }
  if (font_ids_[static_cast<size_t>(slot)] >= 0) {
    fluid_synth_sfunload(synth_, font_ids_[static_cast<size_t>(slot)], 0);
  }
  font_ids_[static_cast<size_t>(slot)] = id;
  font_paths_[static_cast<size_t>(slot)] = path;
  if (progress) progress(1.0);
  return {};
}

std::string FluidInstance::ApplyLayers(const std::vector<LayerConfig>& layers,
                                       const std::vector<int>& channels) {
  std::string warnings;
  for (size_t i = 0; i < layers.size() && i < channels.size(); ++i) {
    const LayerConfig& layer = layers[i];
    const int chan = channels[i];
    if (chan < 0 || layer.target != LayerConfig::Target::kFluid) continue;
    const int id = font_ids_[static_cast<size_t>(layer.font_slot)];
    if (id < 0) {
      warnings += "layer '" + layer.name + "': SoundFont slot " + std::to_string(layer.font_slot) +
                  " is empty; ";
      continue;
    }
    if (fluid_synth_program_select(synth_, chan, id, layer.bank, layer.program) != FLUID_OK) {
      warnings += "layer '" + layer.name + "': no preset bank " + std::to_string(layer.bank) +
                  " program " + std::to_string(layer.program) + " in " +
                  font_paths_[static_cast<size_t>(layer.font_slot)] + "; ";
    }
    const double cc7 = 127.0 * std::pow(10.0, layer.gain_db / 40.0);
    fluid_synth_cc(synth_, chan, 7, static_cast<int>(std::lround(std::clamp(cc7, 0.0, 127.0))));
    fluid_synth_cc(synth_, chan, 10,
                   static_cast<int>(std::lround(std::clamp(64.0 + layer.pan * 63.0, 0.0, 127.0))));
  }
  return warnings;
}

int FluidInstance::voices_playing() const {
  return synth_ != nullptr ? fluid_synth_get_active_voice_count(synth_) : 0;
}

}  // namespace chronus::firmware
