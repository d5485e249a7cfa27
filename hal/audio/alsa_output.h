// ALSA mmap playback device: opening, format negotiation, prefill/start, period writes and xrun
// recovery. The loop that drives it lives in firmware/engine/audio_thread.
#pragma once

#include <alsa/asoundlib.h>

#include <cstdint>
#include <string>

namespace chronus::hal {

/// Sample formats the output can negotiate, in device byte order (little endian).
enum class SampleFormat { kS16, kS24In32, kS32, kFloat };

/// ALSA name of a format ("S16_LE", "S24_LE", "S32_LE", "FLOAT_LE").
const char* SampleFormatName(SampleFormat format);
/// Parses an ALSA format name; returns false when it is not one of the four above.
bool ParseSampleFormat(const std::string& name, SampleFormat* format);

/// What to open. Period and buffer sizes are in frames.
struct AlsaOutputConfig {
  std::string device = "default";  ///< ALSA PCM name, e.g. "hw:CARD=sndrpihifiberry,DEV=0".
  bool virtual_card = false;       ///< Open the project's paced virtual card instead of `device`.
  std::string capture_path;        ///< Virtual card only: WAV file of what was played.
  /// Virtual card only: a file that, while it says "unplugged", makes the card vanish (-ENODEV),
  /// for tests of device loss.
  std::string vcard_control_path;
  SampleFormat format = SampleFormat::kS32;  ///< Preferred; others are tried if refused.
  uint32_t sample_rate = 48000;              ///< Hz; must be accepted exactly.
  uint32_t channels = 2;
  uint32_t period_frames = 128;
  uint32_t periods = 3;
};

/// One playback PCM in MMAP_INTERLEAVED access. Open/Close from a non-RT thread; the *Rt methods
/// from the audio thread only (they make no allocation and take no lock of ours; they block only
/// in poll() waiting for the device).
class AlsaOutput {
 public:
  AlsaOutput() = default;
  ~AlsaOutput();
  AlsaOutput(const AlsaOutput&) = delete;
  AlsaOutput& operator=(const AlsaOutput&) = delete;

  /// Opens and configures the PCM: MMAP_INTERLEAVED, the preferred format or the first of
  /// S32/S24/S16/FLOAT the device takes, the exact sample rate, the nearest period size and count.
  /// The stream is not started (start threshold = boundary). Returns "" or an error message.
  std::string Open(const AlsaOutputConfig& config);
  /// Closes the PCM (drops what is queued). Non-RT.
  void Close();
  bool is_open() const { return pcm_ != nullptr; }

  SampleFormat format() const { return format_; }
  uint32_t sample_rate() const { return sample_rate_; }
  uint32_t channels() const { return channels_; }
  uint32_t period_frames() const { return period_frames_; }  ///< As negotiated.
  uint32_t periods() const { return periods_; }              ///< As negotiated.
  uint32_t buffer_frames() const { return buffer_frames_; }

  /// Fills the whole buffer with silence and starts the stream. Returns 0 or a negative errno.
  int PrefillAndStartRt();
  /// Waits until at least one period can be written. Returns the writable frames (>= one period)
  /// or a negative errno: -EPIPE (xrun), -ESTRPIPE (suspended), -ENODEV/-EIO (device gone),
  /// -ETIMEDOUT when the device did not answer within `timeout_ms`.
  long WaitRt(int timeout_ms);
  /// Writes one period of interleaved full-scale int32 samples (`channels()` per frame) into the
  /// mmap area, converting to the device format. Returns 0 or a negative errno.
  int WritePeriodRt(const int32_t* interleaved);
  /// Recovers from `err` (snd_pcm_recover), refills the buffer with silence and restarts.
  /// Returns 0 or a negative errno when the device cannot be recovered.
  int RecoverRt(int err);

 private:
  int WriteFramesRt(const int32_t* interleaved, uint32_t frames);

  snd_pcm_t* pcm_ = nullptr;
  SampleFormat format_ = SampleFormat::kS32;
  uint32_t sample_rate_ = 0;
  uint32_t channels_ = 0;
  uint32_t period_frames_ = 0;
  uint32_t periods_ = 0;
  uint32_t buffer_frames_ = 0;
};

}  // namespace chronus::hal
