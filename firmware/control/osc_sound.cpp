#include "firmware/control/osc_sound.h"

#include <memory>
#include <string>

#include "firmware/control/osc_translate.h"
#include "firmware/control/sound_osc_translate.h"
#include "firmware/engine/timetag_frame.h"
#include "firmware/log/log.h"

namespace chronus::firmware {

namespace {

// Where to send the results of a request: the sender's host and port, copied (the request
// outlives the message).
struct ReplyTarget {
  std::string host;
  std::string port;
  void Send(const char* address, lo_message message) const {
    if (host.empty()) return;
    lo_address target = lo_address_new(host.c_str(), port.c_str());
    if (target == nullptr) return;
    SendFromOwnSocketNonRt(target, address, message);  // the SoundFont loader's thread
    lo_address_free(target);
  }
  void Result(bool ok, const std::string& text) const {
    lo_message m = lo_message_new();
    lo_message_add_string(m, "/sf/load");
    lo_message_add_string(m, text.c_str());
    Send(ok ? "/done" : "/fail", m);
    lo_message_free(m);
  }
};

ReplyTarget SourceOf(lo_message message) {
  ReplyTarget target;
  lo_address source = message != nullptr ? lo_message_get_source(message) : nullptr;
  if (source == nullptr) return target;
  const char* host = lo_address_get_hostname(source);
  const char* port = lo_address_get_port(source);
  if (host != nullptr && port != nullptr) {
    target.host = host;
    target.port = port;
  }
  return target;
}

OscExtraResult Refused(std::string reason) { return {true, std::move(reason)}; }
OscExtraResult Done() { return {true, {}}; }

}  // namespace

OscExtraResult OscSoundHandler::LoadSoundFont(const SoundOscRequest& request, lo_message message) {
  const ReplyTarget reply = SourceOf(message);
  auto refuse = [&](const std::string& reason) {
    reply.Result(false, reason);
    OscExtraResult result = Refused(reason);
    result.answered = true;  // /fail sent here (from the loader's socket, like /done)
    return result;
  };
  if (request.kind == SoundOscRequest::Kind::kRefuse) return refuse(request.refusal);
  if (loader_ == nullptr) return refuse("FluidSynth is not available in this patch");
  SoundFontRequest load;
  load.name = std::string(request.soundfont);
  load.slot = request.slot;
  load.progress = [reply](const std::string& path, double fraction) {
    lo_message m = lo_message_new();
    lo_message_add_string(m, path.c_str());
    lo_message_add_float(m, static_cast<float>(fraction));
    reply.Send("/sf/progress", m);
    lo_message_free(m);
  };
  load.done = [reply](bool ok, const std::string& text) { reply.Result(ok, text); };
  const std::string error = loader_->RequestNonRt(std::move(load));
  if (!error.empty()) return refuse(error);
  return Done();
}

OscExtraResult OscSoundHandler::Handle(std::string_view path, const char* types, lo_arg** argv,
                                       int argc, lo_message message, ControlQueue::Producer& lane) {
  using Kind = SoundOscRequest::Kind;
  // Validation and translation: sound_osc_translate.h (pure, fuzzed).
  if (path.starts_with("/gen/") && gen_ == nullptr) {
    return Refused("the generative mode is not available");
  }
  const SoundOscRequest request = TranslateSoundOsc(path, types, argv, argc, kSoundFontSlots);
  if (path == "/sf/load") return LoadSoundFont(request, message);
  switch (request.kind) {
    case Kind::kNotMine:
      return {};
    case Kind::kRefuse:
      return Refused(request.refusal);
    case Kind::kMidiNote: {
      // A bundle's timetag: the note takes effect at the engine frame heard then (as /note/*).
      Command command = request.command;
      const lo_timetag tag =
          message != nullptr ? lo_message_get_timestamp(message) : lo_timetag{0, 1};
      command.frame = FrameOfTimetag(clock_, tag.sec, tag.frac);
      if (!lane.pushNonRt(command)) return Refused("control queue full");
      OscExtraResult done = Done();
      done.timed = command.frame != 0;  // counted by the server in timed_commands
      return done;
    }
    case Kind::kSoundFontLoad:  // handled above
      break;
    case Kind::kGenStart:
      gen_->StartMusicNonRt();
      break;
    case Kind::kGenStop:
      gen_->StopMusicNonRt();
      break;
    case Kind::kGenMode:
      gen_->SetModeNonRt(request.mode);
      break;
    case Kind::kGenRoot:
      gen_->SetRootNonRt(static_cast<int>(request.integer));
      break;
    case Kind::kGenSeed:
      gen_->SetSeedNonRt(static_cast<uint32_t>(request.integer));
      break;
    case Kind::kGenBpm:
      gen_->SetBpmNonRt(request.number);
      break;
    case Kind::kGenIntensity:
      gen_->SetIntensityNonRt(request.number);
      break;
  }
  return Done();
}

}  // namespace chronus::firmware
