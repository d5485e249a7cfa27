#include "hal/audio/alsa_output.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "hal/audio/sample_convert.h"
#include "hal/vcard/vcard_config.h"

namespace chronus::hal {

namespace {

snd_pcm_format_t ToAlsa(SampleFormat format) {
  switch (format) {
    case SampleFormat::kS16:
      return SND_PCM_FORMAT_S16_LE;
    case SampleFormat::kS24In32:
      return SND_PCM_FORMAT_S24_LE;
    case SampleFormat::kS32:
      return SND_PCM_FORMAT_S32_LE;
    case SampleFormat::kFloat:
      return SND_PCM_FORMAT_FLOAT_LE;
  }
  return SND_PCM_FORMAT_UNKNOWN;
}

std::string AlsaError(const char* what, int err) {
  return std::string(what) + ": " + snd_strerror(err);
}

}  // namespace

const char* SampleFormatName(SampleFormat format) { return snd_pcm_format_name(ToAlsa(format)); }

bool ParseSampleFormat(const std::string& name, SampleFormat* format) {
  for (SampleFormat f :
       {SampleFormat::kS16, SampleFormat::kS24In32, SampleFormat::kS32, SampleFormat::kFloat}) {
    if (name == SampleFormatName(f)) {
      *format = f;
      return true;
    }
  }
  return false;
}

AlsaOutput::~AlsaOutput() { Close(); }

void AlsaOutput::Close() {
  if (pcm_ != nullptr) {
    snd_pcm_drop(pcm_);
    snd_pcm_close(pcm_);
    pcm_ = nullptr;
  }
}

std::string AlsaOutput::Open(const AlsaOutputConfig& config) {
  Close();
  int err;
  std::string name = config.device;
  if (config.virtual_card) {
    vcard::Options options;
    options.capture_path = config.capture_path;
    options.control_path = config.vcard_control_path;
    err = vcard::OpenPcm(&pcm_, options);
    name = "chronus_vcard";
  } else {
    err = snd_pcm_open(&pcm_, config.device.c_str(), SND_PCM_STREAM_PLAYBACK, 0);
  }
  if (err < 0) {
    pcm_ = nullptr;
    return "cannot open PCM '" + name + "': " + snd_strerror(err);
  }

  snd_pcm_hw_params_t* hw;
  snd_pcm_hw_params_alloca(&hw);
  snd_pcm_hw_params_any(pcm_, hw);
  std::string error;
  auto fail = [&](const std::string& message) {
    Close();
    return "PCM '" + name + "': " + message;
  };
  if ((err = snd_pcm_hw_params_set_access(pcm_, hw, SND_PCM_ACCESS_MMAP_INTERLEAVED)) < 0) {
    return fail(AlsaError("MMAP_INTERLEAVED access refused", err));
  }
  bool format_set = false;
  for (SampleFormat candidate : {config.format, SampleFormat::kS32, SampleFormat::kS24In32,
                                 SampleFormat::kS16, SampleFormat::kFloat}) {
    if (snd_pcm_hw_params_set_format(pcm_, hw, ToAlsa(candidate)) == 0) {
      format_ = candidate;
      format_set = true;
      break;
    }
  }
  if (!format_set) return fail("none of S32_LE, S24_LE, S16_LE, FLOAT_LE is accepted");
  if ((err = snd_pcm_hw_params_set_channels(pcm_, hw, config.channels)) < 0) {
    return fail(AlsaError(("channels " + std::to_string(config.channels)).c_str(), err));
  }
  unsigned rate = config.sample_rate;
  if ((err = snd_pcm_hw_params_set_rate(pcm_, hw, rate, 0)) < 0) {
    return fail(AlsaError(("sample rate " + std::to_string(rate) + " Hz").c_str(), err));
  }
  snd_pcm_uframes_t period = config.period_frames;
  int dir = 0;
  if ((err = snd_pcm_hw_params_set_period_size_near(pcm_, hw, &period, &dir)) < 0) {
    return fail(AlsaError("period size", err));
  }
  unsigned periods = config.periods;
  dir = 0;
  if ((err = snd_pcm_hw_params_set_periods_near(pcm_, hw, &periods, &dir)) < 0) {
    return fail(AlsaError("period count", err));
  }
  if ((err = snd_pcm_hw_params(pcm_, hw)) < 0) return fail(AlsaError("hw_params", err));
  snd_pcm_uframes_t buffer = 0;
  snd_pcm_hw_params_get_buffer_size(hw, &buffer);
  snd_pcm_hw_params_get_period_size(hw, &period, &dir);

  snd_pcm_sw_params_t* sw;
  snd_pcm_sw_params_alloca(&sw);
  snd_pcm_sw_params_current(pcm_, sw);
  snd_pcm_uframes_t boundary = 0;
  snd_pcm_sw_params_get_boundary(sw, &boundary);
  snd_pcm_sw_params_set_start_threshold(pcm_, sw, boundary);  // explicit start after prefill
  snd_pcm_sw_params_set_stop_threshold(pcm_, sw, buffer);     // an underrun is an xrun
  snd_pcm_sw_params_set_avail_min(pcm_, sw, period);
  if ((err = snd_pcm_sw_params(pcm_, sw)) < 0) return fail(AlsaError("sw_params", err));

  sample_rate_ = rate;
  channels_ = config.channels;
  period_frames_ = static_cast<uint32_t>(period);
  buffer_frames_ = static_cast<uint32_t>(buffer);
  periods_ = buffer_frames_ / period_frames_;
  return {};
}

int AlsaOutput::WriteFramesRt(const int32_t* interleaved, uint32_t frames) {
  uint32_t written = 0;
  while (written < frames) {
    const snd_pcm_channel_area_t* areas;
    snd_pcm_uframes_t offset;
    snd_pcm_uframes_t count = frames - written;
    int err = snd_pcm_mmap_begin(pcm_, &areas, &offset, &count);
    if (err < 0) return err;
    if (count == 0) return -EAGAIN;
    char* base =
        static_cast<char*>(areas[0].addr) + areas[0].first / 8 + offset * areas[0].step / 8;
    const size_t samples = count * channels_;
    if (interleaved == nullptr) {
      std::memset(base, 0, samples * (areas[0].step / 8 / channels_));
    } else {
      ConvertFromS32(interleaved + written * channels_, base, samples, format_);
    }
    snd_pcm_sframes_t committed = snd_pcm_mmap_commit(pcm_, offset, count);
    if (committed < 0) return static_cast<int>(committed);
    written += static_cast<uint32_t>(committed);
  }
  return 0;
}

int AlsaOutput::PrefillAndStartRt() {
  snd_pcm_sframes_t avail = snd_pcm_avail_update(pcm_);
  if (avail < 0) return static_cast<int>(avail);
  int err = WriteFramesRt(nullptr, static_cast<uint32_t>(avail));
  if (err < 0) return err;
  return snd_pcm_start(pcm_);
}

long AlsaOutput::WaitRt(int timeout_ms) {
  for (;;) {
    snd_pcm_sframes_t avail = snd_pcm_avail_update(pcm_);
    if (avail < 0) return avail;
    if (avail >= static_cast<snd_pcm_sframes_t>(period_frames_)) return avail;
    int ready = snd_pcm_wait(pcm_, timeout_ms);
    if (ready < 0) return ready;
    if (ready == 0) return -ETIMEDOUT;
  }
}

int AlsaOutput::WritePeriodRt(const int32_t* interleaved) {
  return WriteFramesRt(interleaved, period_frames_);
}

int AlsaOutput::RecoverRt(int err) {
  int result = snd_pcm_recover(pcm_, err, 1);
  if (result < 0) return result;
  return PrefillAndStartRt();
}

}  // namespace chronus::hal
