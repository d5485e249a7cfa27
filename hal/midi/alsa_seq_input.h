// MIDI input through the ALSA sequencer: a client named "Chronus" with one writable port that
// other clients (keyboards, sequencers, aconnect) connect to. It subscribes to the system announce
// port, so that MIDI hardware that appears later (a USB keyboard plugged in) is connected
// automatically, as are the hardware ports present at Open.
//
// Sources: ALSA library reference, "Sequencer interface" (seq.h, seq_event.h); the announce
// mechanism: SND_SEQ_CLIENT_SYSTEM:SND_SEQ_PORT_SYSTEM_ANNOUNCE sends SND_SEQ_EVENT_PORT_START
// when a port is created.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hal/midi/midi_source.h"

typedef struct _snd_seq snd_seq_t;
typedef struct snd_seq_event snd_seq_event_t;

namespace chronus::hal::midi {

struct AlsaSeqConfig {
  std::string client_name = "Chronus";
  std::string port_name = "Chronus In";
  /// Connect hardware MIDI ports (kernel clients: USB, serial, ...) at Open and when they appear.
  bool auto_connect = true;
};

/// Whether a port is one to connect automatically: a kernel client's (hardware driver's) port
/// that can be read and subscribed to, is not the system client's and is not "Midi Through".
/// Pure; any thread.
bool IsHardwareMidiSource(bool kernel_client, int client, const std::string& client_name,
                          unsigned capability, unsigned type);

/// Decodes one sequencer event; false for event types that are not MIDI channel or clock
/// messages (they are ignored). Pure; any thread.
bool DecodeSeqEvent(const snd_seq_event_t& event, int64_t time_ns, MidiEvent* out);

class AlsaSeqInput final : public MidiSource {
 public:
  AlsaSeqInput();
  ~AlsaSeqInput() override;
  AlsaSeqInput(const AlsaSeqInput&) = delete;
  AlsaSeqInput& operator=(const AlsaSeqInput&) = delete;

  /// Opens the sequencer, creates the client and port, subscribes to announcements and connects
  /// the hardware ports present. Returns "" or an error (no /dev/snd/seq: the snd-seq kernel
  /// module is not loaded; permission denied: not in group audio). Main thread.
  std::string Open(const AlsaSeqConfig& config);

  std::string Wait(int timeout_ms, std::vector<MidiEvent>* events) override;
  void Wake() override;
  std::vector<std::string> TakeConnections() override {
    std::vector<std::string> fresh(connected_.begin() + static_cast<std::ptrdiff_t>(reported_),
                                   connected_.end());
    reported_ = connected_.size();
    return fresh;
  }

  int client() const { return client_; }
  int port() const { return port_; }
  /// Ports connected automatically so far ("client:port name"); the MIDI thread.
  const std::vector<std::string>& connected() const { return connected_; }
  /// Times the sequencer's input FIFO overflowed (events lost). The MIDI thread.
  uint64_t overruns() const { return overruns_; }
  /// Events read per Wait at most (the rest are read by the next Wait).
  static constexpr int kMaxEventsPerWait = 1024;

 private:
  void ConnectIfHardware(int client, int port);

  AlsaSeqConfig config_;
  snd_seq_t* seq_ = nullptr;
  int client_ = -1;
  int port_ = -1;
  int wake_fd_ = -1;
  std::vector<std::string> connected_;
  uint64_t overruns_ = 0;
  size_t reported_ = 0;
};

}  // namespace chronus::hal::midi
