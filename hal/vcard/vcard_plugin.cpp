// ALSA external I/O plugin (ioplug) "chronus_vcard": the paced virtual sound card.
//
// Playback only. Frames are consumed at the rate of CLOCK_MONOTONIC (PacedDevice); the poll fd is
// a timerfd armed one-shot at the absolute time the device next becomes ready. What is played is
// captured to a WAV file by a plugin-owned thread (CaptureWriter). Configuration:
//
//   pcm.chronus_vcard {
//     type chronus_vcard
//     capture "/path/out.wav"   # optional: WAV of what was played, plus out.wav.t0
//     control "/path/state"     # optional: fault injection, "unplugged" pulls the card out
//   }
//
// Unplugging (the `control` file says "unplugged", seen by a ControlWatcher thread within ~10 ms)
// is modelled on a USB card's removal: the "DMA" stops, the PCM goes to SND_PCM_STATE_DISCONNECTED
// and stays there, the poll fd becomes readable with POLLERR (snd_pcm_wait: -ENODEV), every
// operation that checks the state or reaches the plugin fails with -ENODEV (snd_pcm_recover,
// prepare, start, mmap_begin/commit, writei, hw/sw params), the position stops moving, and
// snd_pcm_open fails with -ENODEV while the file says so. Closing the dead PCM remembers its
// capture timeline; the next open of the same capture path continues it (see
// hal/vcard/vcard_config.h, Options::control_path).
//
// Threading: alsa-lib calls start/stop/pointer/transfer under the PCM's mutex and
// hw_params/sw_params/prepare/poll_revents without it; the plugin's own mutex serialises all of
// them (it is uncontended unless the client uses the PCM from several threads at once).
#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>
#include <poll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>

#include "hal/vcard/capture_ring.h"
#include "hal/vcard/capture_writer.h"
#include "hal/vcard/control_file.h"
#include "hal/vcard/frame_clock.h"
#include "hal/vcard/paced_device.h"

namespace chronus::hal::vcard {
namespace {

// Capture ring: about 10.9 s of 48 kHz stereo 32-bit audio.
constexpr size_t kCaptureRingBytes = size_t{4} << 20;

// hw_params limits. Period and buffer limits are in bytes (ioplug's unit): 128 B is 16 frames of
// stereo S32, 128 KiB is 16384 of them.
constexpr unsigned kMinPeriodBytes = 128;
constexpr unsigned kMaxPeriodBytes = 128 * 1024;
constexpr unsigned kMinPeriods = 2;
constexpr unsigned kMaxPeriods = 64;

// Options parsed from the PCM definition.
struct PluginOptions {
  std::string capture_path;  // empty: no capture
  std::string control_path;  // empty: never unplugged
};

struct Vcard {
  snd_pcm_ioplug_t io{};
  int timer_fd = -1;
  int64_t armed_ns = -1;  // current timer setting (PacedDevice time), -1 = unknown
  std::mutex mutex;
  std::string capture_path;
  std::unique_ptr<CaptureRing> ring;
  std::unique_ptr<CaptureWriter> writer;
  std::unique_ptr<PacedDevice> device;
  std::unique_ptr<ControlWatcher> watcher;  // null without a control file
  bool gone_handled = false;                // under mutex: MarkGone stopped the device
};

Vcard* Get(snd_pcm_ioplug_t* io) { return static_cast<Vcard*>(io->private_data); }

bool Draining(const snd_pcm_ioplug_t* io) { return io->state == SND_PCM_STATE_DRAINING; }

// The card was unplugged (RT-safe: one atomic load).
bool Gone(const Vcard* v) { return v->watcher != nullptr && v->watcher->unplugged(); }

// Makes the timerfd readable until it is set again (1 ns after the epoch has passed; 0 would
// disarm it). Thread-safe: also called by the watcher thread.
void FireNow(int timer_fd) {
  itimerspec spec{};
  spec.it_value.tv_nsec = 1;
  timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr);
}

// Arms the timerfd at the device's next wake time (one-shot, absolute). Setting the timer also
// clears a pending expiry, so the fd is readable exactly while the device is ready. `force`
// re-arms even when the time did not change (to clear readability after a spurious wake-up).
// Once the card is gone the fd stays readable (poll reports POLLERR).
void Rearm(Vcard* v, bool force) {
  if (Gone(v)) {
    FireNow(v->timer_fd);
    v->armed_ns = 0;
    return;
  }
  const int64_t wake = v->device->WakeTimeNs(Draining(&v->io));
  if (wake == v->armed_ns && !force) return;
  itimerspec spec{};
  if (wake != PacedDevice::kNever) {
    const int64_t at = wake > 0 ? wake : 1;  // 0 would disarm; 1 ns is "already expired"
    spec.it_value.tv_sec = at / kNsPerSecond;
    spec.it_value.tv_nsec = at % kNsPerSecond;
  }
  timerfd_settime(v->timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr);
  v->armed_ns = wake;
  // The watcher may have fired the timer between the Gone() check and our settime: fire again.
  if (Gone(v)) {
    FireNow(v->timer_fd);
    v->armed_ns = 0;
  }
}

// Under v->mutex, once Gone(v): the first call stops the "DMA" at the time the unplug was seen
// (what played until then is captured; then nothing); every call (re)marks the PCM
// disconnected, as the kernel does for a removed card, and keeps the poll fd readable.
void MarkGone(Vcard* v) {
  if (!v->gone_handled) {
    v->gone_handled = true;
    const int64_t at = std::min(MonotonicNowNs(), v->watcher->unplugged_at_ns());
    v->device->Stop(at, v->io.appl_ptr, false);
  }
  snd_pcm_ioplug_set_state(&v->io, SND_PCM_STATE_DISCONNECTED);
  Rearm(v, true);
}

// Capture timelines of PCMs closed after their card was unplugged, by capture path: the next
// open of the same capture continues its timeline. Process-wide; the plugin is linked with
// -z nodelete so that it survives alsa-lib unloading the module between opens. Leaked on
// purpose (no destruction-order issues at exit).
std::mutex& OutagesMutex() {
  static std::mutex mutex;
  return mutex;
}

std::map<std::string, Timeline>& Outages() {
  static auto* outages = new std::map<std::string, Timeline>;
  return *outages;
}

std::optional<Timeline> TakeOutage(const std::string& capture_path) {
  std::lock_guard lock(OutagesMutex());
  auto it = Outages().find(capture_path);
  if (it == Outages().end()) return std::nullopt;
  Timeline timeline = it->second;
  Outages().erase(it);
  return timeline;
}

void PutOutage(const std::string& capture_path, const Timeline& timeline) {
  std::lock_guard lock(OutagesMutex());
  Outages()[capture_path] = timeline;
}

int CbStart(snd_pcm_ioplug_t* io) {
  Vcard* v = Get(io);
  std::lock_guard lock(v->mutex);
  if (Gone(v)) {
    MarkGone(v);
    return -ENODEV;
  }
  v->device->Start(MonotonicNowNs(), io->appl_ptr);
  Rearm(v, false);
  return 0;
}

int CbStop(snd_pcm_ioplug_t* io) {
  Vcard* v = Get(io);
  std::lock_guard lock(v->mutex);
  if (Gone(v)) {
    MarkGone(v);  // alsa-lib sets SETUP after this; the next call marks it disconnected again
    return 0;
  }
  v->device->Stop(MonotonicNowNs(), io->appl_ptr, Draining(io));
  Rearm(v, false);
  return 0;
}

snd_pcm_sframes_t CbPointer(snd_pcm_ioplug_t* io) {
  Vcard* v = Get(io);
  std::lock_guard lock(v->mutex);
  if (Gone(v)) {
    // A negative position would make ioplug report an xrun (-EPIPE): freeze the position and
    // let the DISCONNECTED state speak (snd_pcm_wait, recover, mmap_commit: -ENODEV).
    MarkGone(v);
    return static_cast<snd_pcm_sframes_t>(
        v->device->Pointer(MonotonicNowNs(), io->appl_ptr, false));
  }
  const int64_t pos = v->device->Pointer(MonotonicNowNs(), io->appl_ptr, Draining(io));
  if (pos < 0) Rearm(v, false);  // keep the fd readable during the xrun
  return static_cast<snd_pcm_sframes_t>(pos);
}

snd_pcm_sframes_t CbTransfer(snd_pcm_ioplug_t* io, const snd_pcm_channel_area_t* areas,
                             snd_pcm_uframes_t offset, snd_pcm_uframes_t size) {
  Vcard* v = Get(io);
  // Only interleaved access is offered: every channel shares one contiguous frame array.
  const unsigned bits = static_cast<unsigned>(snd_pcm_format_physical_width(io->format));
  for (unsigned c = 0; c < io->channels; ++c) {
    if (areas[c].addr != areas[0].addr || areas[c].first != areas[0].first + c * bits ||
        areas[c].step != io->channels * bits) {
      return -EINVAL;
    }
  }
  const auto* frames = static_cast<const uint8_t*>(areas[0].addr) + areas[0].first / 8 +
                       offset * (areas[0].step / 8);
  std::lock_guard lock(v->mutex);
  if (Gone(v)) {
    MarkGone(v);
    return -ENODEV;
  }
  v->device->Write(MonotonicNowNs(), io->appl_ptr, frames, size);
  Rearm(v, false);
  return static_cast<snd_pcm_sframes_t>(size);
}

int CbHwParams(snd_pcm_ioplug_t* io, snd_pcm_hw_params_t* /*params*/) {
  Vcard* v = Get(io);
  HwConfig config;
  config.format.rate_hz = io->rate;
  config.format.channels = io->channels;
  switch (io->format) {
    case SND_PCM_FORMAT_S16_LE:
      config.format.format = PcmFormat::kS16;
      break;
    case SND_PCM_FORMAT_S32_LE:
      config.format.format = PcmFormat::kS32;
      break;
    case SND_PCM_FORMAT_FLOAT_LE:
      config.format.format = PcmFormat::kFloat;
      break;
    default:
      return -EINVAL;
  }
  config.period_frames = io->period_size;
  config.buffer_frames = io->buffer_size;
  std::lock_guard lock(v->mutex);
  if (Gone(v)) {
    MarkGone(v);
    return -ENODEV;
  }
  try {
    v->device->SetHwParams(config, MonotonicNowNs());
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  Rearm(v, false);
  return 0;
}

int CbSwParams(snd_pcm_ioplug_t* io, snd_pcm_sw_params_t* params) {
  Vcard* v = Get(io);
  SwConfig config;
  snd_pcm_uframes_t value = 0;
  snd_pcm_sw_params_get_avail_min(params, &value);
  config.avail_min = value > 0 ? value : 1;
  snd_pcm_sw_params_get_stop_threshold(params, &value);
  config.stop_threshold = value;
  snd_pcm_sw_params_get_boundary(params, &value);
  config.boundary = value;
  std::lock_guard lock(v->mutex);
  if (Gone(v)) {
    MarkGone(v);
    return -ENODEV;
  }
  v->device->SetSwParams(config);
  Rearm(v, false);
  return 0;
}

int CbPrepare(snd_pcm_ioplug_t* io) {
  Vcard* v = Get(io);
  std::lock_guard lock(v->mutex);
  if (Gone(v)) {
    MarkGone(v);
    return -ENODEV;
  }
  v->device->Prepare(MonotonicNowNs());
  Rearm(v, false);
  return 0;
}

int CbPollRevents(snd_pcm_ioplug_t* io, struct pollfd* /*pfd*/, unsigned int /*nfds*/,
                  unsigned short* revents) {
  Vcard* v = Get(io);
  std::lock_guard lock(v->mutex);
  if (Gone(v)) {
    // As the kernel polls a disconnected PCM; snd_pcm_wait turns POLLERR into -ENODEV.
    MarkGone(v);
    *revents = POLLOUT | POLLERR;
    return 0;
  }
  switch (v->device->Poll(MonotonicNowNs(), io->appl_ptr, Draining(io))) {
    case Readiness::kXrun:
      // snd_pcm_wait maps POLLERR to an error from the PCM state: make it XRUN (-EPIPE).
      if (io->state == SND_PCM_STATE_RUNNING) snd_pcm_ioplug_set_state(io, SND_PCM_STATE_XRUN);
      *revents = POLLOUT | POLLERR;
      Rearm(v, false);
      break;
    case Readiness::kReady:
      *revents = POLLOUT;
      break;
    case Readiness::kNotReady:
      *revents = 0;
      Rearm(v, true);
      break;
  }
  return 0;
}

void Destroy(Vcard* v) {
  if (v->watcher) v->watcher->Stop();  // before the timer fd it fires is closed
  if (v->writer) v->writer->Stop();
  if (v->timer_fd >= 0) close(v->timer_fd);
  delete v;
}

int CbClose(snd_pcm_ioplug_t* io) {
  Vcard* v = Get(io);
  std::optional<Timeline> outage;
  {
    std::lock_guard lock(v->mutex);
    if (Gone(v)) {
      MarkGone(v);
    } else {
      v->device->Stop(MonotonicNowNs(), io->appl_ptr, false);
    }
    // After an unplug, or when a continued timeline was never configured: the next open of this
    // capture continues the timeline.
    if (!v->capture_path.empty() && (Gone(v) || v->device->continuation_pending())) {
      outage = v->device->timeline();
    }
  }
  const std::string capture_path = v->capture_path;
  Destroy(v);  // the capture file is complete once the writer has stopped
  if (outage) PutOutage(capture_path, *outage);
  return 0;
}

const snd_pcm_ioplug_callback_t kCallbacks = [] {
  snd_pcm_ioplug_callback_t cb{};
  cb.start = CbStart;
  cb.stop = CbStop;
  cb.pointer = CbPointer;
  cb.transfer = CbTransfer;
  cb.close = CbClose;
  cb.hw_params = CbHwParams;
  cb.sw_params = CbSwParams;
  cb.prepare = CbPrepare;
  cb.poll_revents = CbPollRevents;
  return cb;
}();

int ParseOptions(snd_config_t* conf, PluginOptions* options) {
  snd_config_iterator_t it;
  snd_config_iterator_t next;
  snd_config_for_each(it, next, conf) {
    snd_config_t* node = snd_config_iterator_entry(it);
    const char* id = nullptr;
    if (snd_config_get_id(node, &id) < 0) continue;
    const std::string key = id;
    if (key == "comment" || key == "type" || key == "hint") continue;
    if (key == "capture" || key == "control") {
      const char* value = nullptr;
      if (snd_config_get_string(node, &value) < 0) {
        SNDERR("chronus_vcard: '%s' must be a string (a file path)", id);
        return -EINVAL;
      }
      (key == "capture" ? options->capture_path : options->control_path) = value;
      continue;
    }
    SNDERR("chronus_vcard: unknown field '%s'", id);
    return -EINVAL;
  }
  return 0;
}

int SetConstraints(snd_pcm_ioplug_t* io) {
  static const unsigned kAccess[] = {SND_PCM_ACCESS_MMAP_INTERLEAVED,
                                     SND_PCM_ACCESS_RW_INTERLEAVED};
  static const unsigned kFormats[] = {SND_PCM_FORMAT_S16_LE, SND_PCM_FORMAT_S32_LE,
                                      SND_PCM_FORMAT_FLOAT_LE};
  static const unsigned kRates[] = {44100, 48000};
  int err;
  if ((err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_ACCESS, 2, kAccess)) < 0 ||
      (err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_FORMAT, 3, kFormats)) < 0 ||
      (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_CHANNELS, 1, 2)) < 0 ||
      (err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_RATE, 2, kRates)) < 0 ||
      (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIOD_BYTES, kMinPeriodBytes,
                                             kMaxPeriodBytes)) < 0 ||
      (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_BUFFER_BYTES,
                                             kMinPeriodBytes * kMinPeriods,
                                             kMaxPeriodBytes * kMaxPeriods)) < 0 ||
      (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIODS, kMinPeriods,
                                             kMaxPeriods)) < 0) {
    return err;
  }
  return 0;
}

int Open(snd_pcm_t** pcmp, const char* name, snd_config_t* conf, snd_pcm_stream_t stream,
         int mode) {
  PluginOptions options;
  int err = ParseOptions(conf, &options);
  if (err < 0) return err;
  if (stream != SND_PCM_STREAM_PLAYBACK) {
    SNDERR("chronus_vcard: playback only");
    return -EINVAL;
  }
  // An unplugged card cannot be opened (and its capture is left alone).
  if (!options.control_path.empty() && ReadUnplugged(options.control_path)) return -ENODEV;
  std::optional<Timeline> outage;
  if (!options.capture_path.empty()) outage = TakeOutage(options.capture_path);
  if (!options.capture_path.empty() &&
      (err = CaptureWriter::CheckWritable(options.capture_path, !outage)) < 0) {
    SNDERR("chronus_vcard: cannot create capture '%s': %s", options.capture_path.c_str(),
           std::strerror(-err));
    if (outage) PutOutage(options.capture_path, *outage);
    return err;
  }

  auto* v = new Vcard;
  v->capture_path = options.capture_path;
  try {
    if (!options.capture_path.empty()) {
      v->ring = std::make_unique<CaptureRing>(kCaptureRingBytes);
      v->writer = std::make_unique<CaptureWriter>(options.capture_path, v->ring.get());
    }
    v->device = std::make_unique<PacedDevice>(v->ring.get());
    if (outage) v->device->ContinueTimeline(*outage);
  } catch (const std::exception& e) {
    SNDERR("chronus_vcard: %s", e.what());
    Destroy(v);
    if (outage) PutOutage(options.capture_path, *outage);
    return -ENOMEM;
  }
  v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (v->timer_fd < 0) {
    err = -errno;
    Destroy(v);
    if (outage) PutOutage(options.capture_path, *outage);
    return err;
  }
  if (!options.control_path.empty()) {
    try {
      const int timer_fd = v->timer_fd;
      v->watcher =
          std::make_unique<ControlWatcher>(options.control_path, [timer_fd] { FireNow(timer_fd); });
    } catch (const std::exception& e) {
      SNDERR("chronus_vcard: %s", e.what());
      Destroy(v);
      if (outage) PutOutage(options.capture_path, *outage);
      return -ENOMEM;
    }
  }

  snd_pcm_ioplug_t* io = &v->io;
  io->version = SND_PCM_IOPLUG_VERSION;
  io->name = "Chronus paced virtual card";
  io->callback = &kCallbacks;
  io->private_data = v;
  io->poll_fd = v->timer_fd;
  io->poll_events = POLLIN;  // a timerfd signals POLLIN; poll_revents turns it into POLLOUT
  io->mmap_rw = 0;
  io->flags = SND_PCM_IOPLUG_FLAG_MONOTONIC | SND_PCM_IOPLUG_FLAG_BOUNDARY_WA;
  if ((err = snd_pcm_ioplug_create(io, name, stream, mode)) < 0) {
    Destroy(v);
    if (outage) PutOutage(options.capture_path, *outage);
    return err;
  }
  if ((err = SetConstraints(io)) < 0) {
    snd_pcm_ioplug_delete(io);  // calls CbClose, which destroys v (and keeps the outage)
    return err;
  }
  *pcmp = io->pcm;
  return 0;
}

}  // namespace
}  // namespace chronus::hal::vcard

extern "C" {
#pragma GCC visibility push(default)

SND_PCM_PLUGIN_DEFINE_FUNC(chronus_vcard) {
  (void)root;
  return chronus::hal::vcard::Open(pcmp, name, conf, stream, mode);
}

SND_PCM_PLUGIN_SYMBOL(chronus_vcard)

#pragma GCC visibility pop
}
