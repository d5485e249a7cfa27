#include "hal/midi/alsa_seq_input.h"

#include <alsa/asoundlib.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hal/rt/clock.h"

namespace chronus::hal::midi {

bool IsHardwareMidiSource(bool kernel_client, int client, const std::string& client_name,
                          unsigned capability, unsigned type) {
  constexpr unsigned kReadable = SND_SEQ_PORT_CAP_READ | SND_SEQ_PORT_CAP_SUBS_READ;
  if (!kernel_client || client == SND_SEQ_CLIENT_SYSTEM) return false;
  if ((capability & kReadable) != kReadable || (capability & SND_SEQ_PORT_CAP_NO_EXPORT)) {
    return false;
  }
  if (client_name == "Midi Through") return false;
  return (type & (SND_SEQ_PORT_TYPE_MIDI_GENERIC | SND_SEQ_PORT_TYPE_HARDWARE)) != 0;
}

bool DecodeSeqEvent(const snd_seq_event_t& e, int64_t time_ns, MidiEvent* out) {
  using Type = MidiEvent::Type;
  MidiEvent m;
  m.time_ns = time_ns;
  switch (e.type) {
    case SND_SEQ_EVENT_NOTEON:
    case SND_SEQ_EVENT_NOTEOFF:
      m.type = e.type == SND_SEQ_EVENT_NOTEON ? Type::kNoteOn : Type::kNoteOff;
      m.channel = e.data.note.channel & 0x0f;
      m.data1 = e.data.note.note & 0x7f;
      m.data2 = e.data.note.velocity & 0x7f;
      break;
    case SND_SEQ_EVENT_CONTROLLER:
      m.type = Type::kControlChange;
      m.channel = e.data.control.channel & 0x0f;
      if (e.data.control.param > 127) return false;
      m.data1 = static_cast<uint8_t>(e.data.control.param);
      m.data2 = static_cast<uint8_t>(e.data.control.value & 0x7f);
      break;
    case SND_SEQ_EVENT_PGMCHANGE:
      m.type = Type::kProgramChange;
      m.channel = e.data.control.channel & 0x0f;
      m.data1 = static_cast<uint8_t>(e.data.control.value & 0x7f);
      break;
    case SND_SEQ_EVENT_PITCHBEND:
      m.type = Type::kPitchBend;
      m.channel = e.data.control.channel & 0x0f;
      if (e.data.control.value < -8192 || e.data.control.value > 8191) return false;
      m.bend = static_cast<int16_t>(e.data.control.value);
      break;
    case SND_SEQ_EVENT_CLOCK:
      m.type = Type::kClock;
      break;
    case SND_SEQ_EVENT_START:
      m.type = Type::kStart;
      break;
    case SND_SEQ_EVENT_CONTINUE:
      m.type = Type::kContinue;
      break;
    case SND_SEQ_EVENT_STOP:
      m.type = Type::kStop;
      break;
    default:
      return false;
  }
  *out = m;
  return true;
}

AlsaSeqInput::AlsaSeqInput() : wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

AlsaSeqInput::~AlsaSeqInput() {
  if (seq_ != nullptr) snd_seq_close(seq_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

std::string AlsaSeqInput::Open(const AlsaSeqConfig& config) {
  config_ = config;
  if (wake_fd_ < 0) return "eventfd: " + std::string(std::strerror(errno));
  int rc = snd_seq_open(&seq_, "default", SND_SEQ_OPEN_DUPLEX, SND_SEQ_NONBLOCK);
  if (rc < 0) {
    seq_ = nullptr;
    const std::string why = rc == -ENOENT ? "/dev/snd/seq missing: the snd-seq kernel module is "
                                            "not loaded"
                            : (rc == -EACCES || rc == -EPERM)
                                ? "permission denied (add the user to group audio)"
                                : snd_strerror(rc);
    return "ALSA sequencer: cannot open (" + why + ")";
  }
  snd_seq_set_client_name(seq_, config.client_name.c_str());
  client_ = snd_seq_client_id(seq_);
  port_ = snd_seq_create_simple_port(
      seq_, config.port_name.c_str(), SND_SEQ_PORT_CAP_WRITE | SND_SEQ_PORT_CAP_SUBS_WRITE,
      SND_SEQ_PORT_TYPE_MIDI_GENERIC | SND_SEQ_PORT_TYPE_APPLICATION);
  if (port_ < 0) return "ALSA sequencer: cannot create a port: " + std::string(snd_strerror(port_));
  if (!config.auto_connect) return {};
  rc = snd_seq_connect_from(seq_, port_, SND_SEQ_CLIENT_SYSTEM, SND_SEQ_PORT_SYSTEM_ANNOUNCE);
  if (rc < 0) {
    return "ALSA sequencer: cannot subscribe to port announcements: " +
           std::string(snd_strerror(rc));
  }
  snd_seq_client_info_t* client_info = nullptr;
  snd_seq_port_info_t* port_info = nullptr;
  snd_seq_client_info_alloca(&client_info);
  snd_seq_port_info_alloca(&port_info);
  snd_seq_client_info_set_client(client_info, -1);
  while (snd_seq_query_next_client(seq_, client_info) >= 0) {
    const int client = snd_seq_client_info_get_client(client_info);
    snd_seq_port_info_set_client(port_info, client);
    snd_seq_port_info_set_port(port_info, -1);
    while (snd_seq_query_next_port(seq_, port_info) >= 0) {
      ConnectIfHardware(client, snd_seq_port_info_get_port(port_info));
    }
  }
  return {};
}

void AlsaSeqInput::ConnectIfHardware(int client, int port) {
  if (client == client_) return;
  snd_seq_client_info_t* client_info = nullptr;
  snd_seq_port_info_t* port_info = nullptr;
  snd_seq_client_info_alloca(&client_info);
  snd_seq_port_info_alloca(&port_info);
  if (snd_seq_get_any_client_info(seq_, client, client_info) < 0) return;
  if (snd_seq_get_any_port_info(seq_, client, port, port_info) < 0) return;
  const std::string client_name = snd_seq_client_info_get_name(client_info);
  if (!IsHardwareMidiSource(snd_seq_client_info_get_type(client_info) == SND_SEQ_KERNEL_CLIENT,
                            client, client_name, snd_seq_port_info_get_capability(port_info),
                            snd_seq_port_info_get_type(port_info))) {
    return;
  }
  if (snd_seq_connect_from(seq_, port_, client, port) >= 0) {
    connected_.push_back(std::to_string(client) + ":" + std::to_string(port) + " " + client_name +
                         " / " + snd_seq_port_info_get_name(port_info));
  }
}

std::string AlsaSeqInput::Wait(int timeout_ms, std::vector<MidiEvent>* events) {
  if (seq_ == nullptr) return "ALSA sequencer not open";
  const int count = snd_seq_poll_descriptors_count(seq_, POLLIN);
  std::vector<pollfd> fds(static_cast<size_t>(count) + 1);
  fds[0] = {wake_fd_, POLLIN, 0};
  snd_seq_poll_descriptors(seq_, fds.data() + 1, static_cast<unsigned>(count), POLLIN);
  const int n = poll(fds.data(), fds.size(), timeout_ms);
  if (n < 0) return errno == EINTR ? std::string() : "poll: " + std::string(std::strerror(errno));
  if (fds[0].revents & POLLIN) {
    uint64_t value = 0;
    [[maybe_unused]] const ssize_t r = read(wake_fd_, &value, sizeof(value));
  }
  for (int i = 0; i < kMaxEventsPerWait; ++i) {
    snd_seq_event_t* event = nullptr;
    const int rc = snd_seq_event_input(seq_, &event);
    if (rc == -ENOSPC) {
      ++overruns_;  // the input FIFO overflowed: events were lost; carry on with what follows
      continue;
    }
    if (rc < 0 || event == nullptr) break;  // -EAGAIN: nothing more
    if (event->type == SND_SEQ_EVENT_PORT_START && config_.auto_connect) {
      ConnectIfHardware(event->data.addr.client, event->data.addr.port);
      continue;
    }
    MidiEvent decoded;
    if (DecodeSeqEvent(*event, hal::MonotonicNs(), &decoded)) events->push_back(decoded);
  }
  return {};
}

void AlsaSeqInput::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t r = write(wake_fd_, &one, sizeof(one));
}

}  // namespace chronus::hal::midi
