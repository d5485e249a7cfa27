// OSC addresses of the sound layers and the generative mode (an extra handler of OscServer):
//   /midi/note/on i ch f|i ...   i channel 1..16, i note 0..127, f velocity 0..1 (0 = off):
//                                a note on a MIDI channel, routed by the patch's layers
//   /midi/note/off i ch i note
//                                in a bundle with a future timetag, both take effect at the engine
//                                frame heard at that time (SetClock), like /note/*
//   /sf/load s [i slot]   loads a SoundFont (file name in a SoundFont directory, or a path inside
//                         one) into slot 0..3 (default 0) in the background; sends
//                         /sf/progress s path f fraction while reading, then /done /sf/load path
//                         or /fail /sf/load reason; the current sound keeps playing meanwhile
//   /gen/start, /gen/stop
//   /gen/mode s           ionian dorian phrygian lydian mixolydian aeolian locrian
//   /gen/root i           MIDI note of the tonic, 24..96
//   /gen/bpm f            20..300
//   /gen/intensity f      0..1
//   /gen/seed i           0..2^31-1, used from the next /gen/start
// Replies go to the sender's address. Refusals are answered /fail <address> <reason>: by the
// OSC server, or for /sf/load by this handler. Runs on the OSC thread (non-RT).
#pragma once

#include <lo/lo.h>

#include <string_view>

#include "firmware/control/osc_server.h"
#include "firmware/control/sound_osc_translate.h"
#include "firmware/engine/engine_clock.h"
#include "firmware/generative/gen_player.h"
#include "firmware/sound/soundfont_loader.h"

namespace chronus::firmware {

/// `loader` or `gen` may be null (those addresses then answer /fail or are refused).
class OscSoundHandler {
 public:
  OscSoundHandler(SoundFontLoader* loader, GenPlayer* gen) : loader_(loader), gen_(gen) {}

  /// The engine's clock: /midi/note/* in a bundle with a future timetag are scheduled at the
  /// engine frame of that time. Without it, they apply at once. Main thread, before the OSC
  /// server starts.
  void SetClock(const EngineClock* clock) { clock_ = clock; }

  OscExtraResult Handle(std::string_view path, const char* types, lo_arg** argv, int argc,
                        lo_message message, ControlQueue::Producer& lane);

 private:
  OscExtraResult LoadSoundFont(const SoundOscRequest& request, lo_message message);

  SoundFontLoader* loader_;
  GenPlayer* gen_;
  const EngineClock* clock_ = nullptr;
};

}  // namespace chronus::firmware
