#include "hal/vcard/vcard_config.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace chronus::hal::vcard {

namespace {

// An ALSA config string literal: double quotes, with '"' and '\' escaped.
std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string DefaultPluginPath() {
  const char* env = std::getenv("CHRONUS_VCARD_PLUGIN");
  if (env != nullptr && env[0] != '\0') return env;
#ifdef CHRONUS_VCARD_PLUGIN_INSTALLED
  // Installed (the .deb): /usr/bin/chronus loads /usr/lib/<multiarch>/alsa-lib/<plugin>.
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path installed =
        exe.parent_path().parent_path() / CHRONUS_VCARD_PLUGIN_INSTALLED;
    if (std::filesystem::is_regular_file(installed, ec)) return installed.string();
  }
#endif
  return CHRONUS_VCARD_PLUGIN_PATH;
}

std::string AlsaConfigText(const Options& options) {
  const std::string plugin =
      options.plugin_path.empty() ? DefaultPluginPath() : options.plugin_path;
  std::string text;
  text += "pcm_type." + std::string(kDeviceName) + " {\n";
  text += "  lib " + Quoted(plugin) + "\n";
  text += "}\n";
  text += "pcm." + std::string(kDeviceName) + " {\n";
  text += "  type " + std::string(kDeviceName) + "\n";
  if (!options.capture_path.empty()) text += "  capture " + Quoted(options.capture_path) + "\n";
  if (!options.control_path.empty()) text += "  control " + Quoted(options.control_path) + "\n";
  text += "  hint {\n    show on\n    description \"Chronus paced virtual card\"\n  }\n";
  text += "}\n";
  return text;
}

int OpenPcm(snd_pcm_t** pcm, const Options& options, int mode) {
  const std::string text = AlsaConfigText(options);
  snd_config_t* config = nullptr;
  int err = snd_config_load_string(&config, text.data(), text.size());
  if (err < 0) return err;
  err = snd_pcm_open_lconf(pcm, kDeviceName, SND_PCM_STREAM_PLAYBACK, mode, config);
  snd_config_delete(config);
  return err;
}

std::string WriteAlsaConfigFile(const Options& options, const std::string& path) {
  const std::string text = AlsaConfigText(options);
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return {};
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !written) return {};
  return path;
}

}  // namespace chronus::hal::vcard
