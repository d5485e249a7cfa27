// Byte layout of a Chronus take: a 24-bit PCM WAV (RIFF, or RF64 past 4 GiB) whose header is
// one 4096-byte block, so that every size update is a single aligned block write and the audio
// starts on a block boundary.
//
//   0     "RIFF" <file size - 8>  "WAVE"         | "RF64" 0xFFFFFFFF "WAVE"
//   12    "JUNK" 28 <zeros>                      | "ds64" 28 <riff size, data size, frames, 0>
//   48    "fmt " 16 (PCM) or 40 (EXTENSIBLE, more than 2 channels)
//   72/96 "JUNK" <pad up to 4088>: "CHRONUS-TAKE" marker, state, boot id, creation time
//   4088  "data" <audio bytes>                   | "data" 0xFFFFFFFF
//   4096  audio (3 bytes per sample, little-endian, interleaved)
//   ...   pad byte if the audio size is odd, then optional "cue " + "LIST"/"adtl" gap markers
//
// The first JUNK chunk is the ds64 placeholder of EBU Tech 3306, so a take becomes RF64 by
// rewriting the header block alone. The marker's state says whether the take was finished
// ('D'), recovered after a crash ('R'), is being written ('O') or has final audio and is getting
// its trailer ('F'); the start-up recovery repairs takes left in 'O' or 'F'.
//
// Pure functions, non-RT, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chronus::firmware::wav {

inline constexpr uint64_t kHeaderBytes = 4096;  // the header block
inline constexpr uint64_t kDataOffset = kHeaderBytes;
inline constexpr uint64_t kBytesPerSample = 3;  // PCM_24
inline constexpr uint64_t kRiffLimit = 0xFFFFFFFFULL;
inline constexpr std::size_t kBootIdLength = 36;

enum class TakeState : char { kOpen = 'O', kFinishing = 'F', kDone = 'D', kRecovered = 'R' };

struct TakeHeader {
  uint32_t sample_rate = 48000;
  uint32_t channels = 2;
  uint64_t data_bytes = 0;     // audio bytes in the data chunk (whole frames)
  uint64_t trailer_bytes = 0;  // bytes of the chunks after the data chunk and its pad byte
  bool rf64 = false;
  TakeState state = TakeState::kOpen;
  std::string boot_id;  // /proc/sys/kernel/random/boot_id of the boot that wrote the take
  int64_t created_unix_s = 0;

  uint64_t bytes_per_frame() const { return kBytesPerSample * channels; }
  uint64_t pad_bytes() const { return data_bytes & 1U; }
  uint64_t audio_end() const { return kDataOffset + data_bytes + pad_bytes(); }
  uint64_t file_bytes() const { return audio_end() + trailer_bytes; }
  uint64_t frames() const { return data_bytes / bytes_per_frame(); }
};

// True when the RIFF size of a take of `file_bytes` bytes exceeds `riff_limit` (kRiffLimit in
// use; tests lower it), i.e. the take must be written as RF64.
bool NeedsRf64(uint64_t file_bytes, uint64_t riff_limit);

// Writes the header block of `h` into `out` (kHeaderBytes bytes). `h.channels` must be 1..256.
void BuildHeader(const TakeHeader& h, std::span<uint8_t> out);

// Reads a header block written by BuildHeader. nullopt if `block` (at least kHeaderBytes bytes)
// is not a Chronus take header: other WAV files are never touched by the recovery.
std::optional<TakeHeader> ParseHeader(std::span<const uint8_t> block);

// A run of whole blocks dropped because the writer fell behind, marked where audio resumes.
struct GapMark {
  uint64_t frame = 0;           // position in the take (frames) where the missing audio belongs
  uint64_t dropped_blocks = 0;  // blocks dropped there
  uint64_t dropped_frames = 0;  // frames they held
};

// "cue " chunk (one cue point per gap, at its frame) followed by a "LIST"/"adtl" chunk with one
// "labl" per cue point describing the gap. Empty if there are no gaps.
std::vector<uint8_t> BuildGapTrailer(const std::vector<GapMark>& gaps, uint32_t sample_rate);

// One line of the gap sidecar ("<take>.wav.gaps"), newline-terminated.
std::string FormatGapLine(const GapMark& gap, uint32_t sample_rate);
// Parses a gap sidecar; lines that do not parse (comments, a line cut short by a crash) are
// skipped.
std::vector<GapMark> ParseGapLog(std::string_view text);

}  // namespace chronus::firmware::wav
