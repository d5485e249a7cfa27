// Loading the paced virtual sound card ("chronus_vcard", hal/vcard) without touching /etc: the
// ALSA configuration that declares it, in-process opening, and a config file for external tools.
#pragma once

#include <alsa/asoundlib.h>

#include <string>

namespace chronus::hal::vcard {

/// ALSA PCM name of the virtual card.
inline constexpr const char* kDeviceName = "chronus_vcard";

/// How to load the card.
struct Options {
  /// WAV file of what was played, in the device format (S16_LE -> 16-bit PCM, S32_LE -> 32-bit
  /// PCM, FLOAT_LE -> float), silence included, so that captured frame f played at
  /// t0 + f / rate. t0 (CLOCK_MONOTONIC ns of the first snd_pcm_start) is written to
  /// `capture_path + ".t0"`. Empty: no capture.
  ///
  /// A capture whose PCM was closed after its card was unplugged (see control_path) is not
  /// restarted by the next open of the same path in the same process: that open continues it,
  /// with silence for the outage, so frame f still played at t0 + f / rate (t0 of the first
  /// open, kept in the .t0 sidecar). Close the dead PCM before opening the new one. Any other
  /// open creates the capture afresh. The outage costs its length in silence (frame size x rate
  /// bytes per second).
  std::string capture_path;
  /// Fault injection: a text file read by a plugin thread every ~10 ms (only when it changed;
  /// never by the client's threads). While it contains the word "unplugged" (any letter case;
  /// a missing file means plugged in), the card behaves like a USB card pulled out:
  ///   - OpenPcm / snd_pcm_open fail with -ENODEV (and leave the capture alone);
  ///   - an open PCM, within ~10 ms plus the client's next call, goes to
  ///     SND_PCM_STATE_DISCONNECTED for good: its poll fd reports POLLERR, snd_pcm_wait,
  ///     snd_pcm_recover, snd_pcm_prepare, snd_pcm_start, snd_pcm_mmap_begin/commit,
  ///     snd_pcm_writei, hw/sw params return -ENODEV; the hardware position freezes, so
  ///     snd_pcm_avail_update returns a frozen, non-negative count (as for a real card: ALSA's
  ///     ioplug, like the hw plugin, has no error path there), and nothing more is played;
  ///   - only a new open, once the file no longer says "unplugged", plays again.
  /// Empty: the card is never unplugged.
  std::string control_path;
  /// The plugin .so; empty: DefaultPluginPath().
  std::string plugin_path;
};

/// ALSA configuration text declaring `pcm_type.chronus_vcard { lib "<plugin>" }` and
/// `pcm.chronus_vcard { type chronus_vcard capture "<path>" control "<path>" }` (each only when
/// set). Strings are quoted and escaped. Pure; any thread.
std::string AlsaConfigText(const Options& options);

/// Opens the virtual card for playback in this process, from AlsaConfigText(options) (the
/// global ALSA configuration is neither read nor changed). `mode` as for snd_pcm_open
/// (e.g. SND_PCM_NONBLOCK). Returns 0, or a negative errno as snd_pcm_open does (e.g. -ENOENT
/// when the plugin .so is missing, -ENODEV while the control file says "unplugged", or the errno
/// of creating the capture file). Non-RT.
int OpenPcm(snd_pcm_t** pcm, const Options& options, int mode = 0);

/// Writes AlsaConfigText(options) to `path` and returns `path`, or an empty string if the file
/// cannot be written. For external tools:
///   ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:<path> aplay -D chronus_vcard file.wav
std::string WriteAlsaConfigFile(const Options& options, const std::string& path);

/// The plugin .so to load: $CHRONUS_VCARD_PLUGIN if set and non-empty, else where the package
/// installs it relative to the running executable (<exe>/../lib/<multiarch>/alsa-lib/) if it is
/// there, else the path the build tree puts it at (libasound_module_pcm_chronus_vcard.so).
std::string DefaultPluginPath();

}  // namespace chronus::hal::vcard
