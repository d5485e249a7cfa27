// Validation and translation of one OSC message (as liblo hands it over: address, type tags,
// arguments) into what the firmware does with it: a typed command for the audio thread, a /status
// reply, a recording request, or a refusal with its reason. Pure: no sockets, no liblo state, no
// global state, so the whole network-to-command path can be fuzzed and unit-tested without a
// server (tests/fuzz). Non-RT (a refusal allocates its reason); any thread.
//
// Also the reusable argument validators for anything that arrives over the network: numbers,
// bounded integers and indices (presets, samples, ...) and take names.
#pragma once

#include <lo/lo.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "firmware/engine/command.h"

namespace chronus::firmware {

/// Longest take name accepted over OSC, in bytes (the recorder's stem limit: nothing is cut).
inline constexpr size_t kMaxOscTakeNameBytes = 64;
/// Preset slots addressable over OSC: /preset/save i and /preset/load i take 0..kPresetSlots-1.
inline constexpr int kPresetSlots = 128;

/// What one OSC message asks for.
struct OscRequest {
  enum class Kind : uint8_t {
    kRefuse,       ///< malformed, unknown or out of range: `refusal` says why
    kCommand,      ///< `command` for the audio thread (validated, in range)
    kStatus,       ///< reply /status.reply to the sender, or to its host at `reply_port`
    kRecordStart,  ///< start a take named `take_name` ("" = default name)
    kRecordStop,   ///< stop the take
    kPresetSave,   ///< save the current patch into preset slot `preset`
    kPresetLoad,   ///< load preset slot `preset`
    kHealth,       ///< reply /health.reply (per-thread health), like kStatus
    kPing,         ///< liveness probe of the control thread (the watchdog sends it)
    kNotify,       ///< /notify: subscribe (`notify_on`) or unsubscribe the sender
  };
  Kind kind = Kind::kRefuse;
  Command command{CommandType::kNoteOn};
  int reply_port = 0;             ///< kStatus: 1..65535, or 0 = to the sender's own port.
  int preset = 0;                 ///< kPresetSave / kPresetLoad: 0..kPresetSlots-1.
  std::string_view take_name;     ///< kRecordStart: points into the message's arguments.
  std::string refusal;            ///< kRefuse: the reason (for the log and for /fail replies).
  bool reply_on_refusal = false;  ///< kRefuse of a request that expects /done or /fail.
  bool notify_on = false;         ///< kNotify: 1 = subscribe, 0 = unsubscribe.
};

/// Translates one message. `types` holds the `argc` type tags (liblo's, without the comma) and
/// `argv` the matching arguments; a `types` shorter than `argc`, a null argument or a negative
/// `argc` is refused, never read past. Address space: see OscServer.
OscRequest TranslateOsc(std::string_view path, const char* types, lo_arg* const* argv, int argc);

/// True when liblo error `number` (lo_errors.h), as passed to a server's error handler, is about a
/// received packet (malformed, wrong size, bad bundle); false for a server's own trouble (no port:
/// LO_NOPORT, unknown protocol, out of memory, internal error), which is not bad input.
bool IsLibloPacketError(int number);

/// True for the numeric OSC types accepted wherever a number is expected: i, h, f, d.
bool IsOscNumber(char type);

/// The value of a numeric argument (i, h, f, d) as a double; nullopt for other types, a null
/// argument, NaN or infinity.
std::optional<double> OscNumber(char type, const lo_arg* arg);

/// An integer argument within [min, max]: i or h, or f or d holding an integral value.
/// nullopt when the type is not numeric, the value is not integral, or it is out of range.
std::optional<int64_t> OscInteger(char type, const lo_arg* arg, int64_t min, int64_t max);

/// A 0-based index below `count` (preset slots, sample slots, ...): OscInteger in [0, count-1].
/// nullopt when `count` <= 0. Use it for every index that comes from the network.
std::optional<int> OscIndex(char type, const lo_arg* arg, int count);

/// Why `name` cannot be a take name from the network, or "" when it can: at most
/// kMaxOscTakeNameBytes bytes, no '/', '\\' or control characters (0x00-0x1f, 0x7f), not "." or
/// "..". Other bytes (spaces, UTF-8) are accepted; the recorder turns them into '_'.
std::string_view CheckTakeName(std::string_view name);

/// Configures a liblo server the way Chronus needs it for hostile input: bundles are dispatched
/// at once whatever their time tag (liblo would otherwise keep every future-dated message in an
/// unbounded queue: memory and CPU for anyone who sends them), and datagrams are bounded to
/// kMaxOscPacketBytes. Used by the OSC server and by the fuzz target alike.
void ConfigureOscLoServer(lo_server server);

/// Sends `message` to `target` from a socket of this call's own (an ephemeral UDP port), for
/// threads other than a liblo server's: liblo's sends without a server share one socket among all
/// threads, which is not thread-safe (ThreadSanitizer). Non-RT; any thread. False when it failed.
bool SendFromOwnSocketNonRt(lo_address target, const char* address, lo_message message);

/// Largest OSC datagram read, in bytes (ours are < 200 bytes; a bundle of a hundred notes is
/// < 3 KiB). liblo reads at most this much of a datagram: a longer one is cut there, which makes it
/// malformed (refused and counted), unless a bundle happens to be cut exactly between two elements
/// (then its remaining elements are lost). At 4096 liblo receives into a stack buffer: no
/// allocation per datagram.
inline constexpr int kMaxOscPacketBytes = 4096;

}  // namespace chronus::firmware
