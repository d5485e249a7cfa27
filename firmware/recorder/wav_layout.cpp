#include "firmware/recorder/wav_layout.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace chronus::firmware::wav {
namespace {

constexpr std::size_t kDs64At = 12;
constexpr std::size_t kFmtAt = 48;
constexpr std::size_t kDataChunkAt = kDataOffset - 8;
constexpr std::string_view kMagic = "CHRONUS-TAKE";
constexpr char kVersion = '1';
// Offsets inside the marker chunk's body.
constexpr std::size_t kMarkStateAt = 13;
constexpr std::size_t kMarkBootAt = 16;
constexpr std::size_t kMarkCreatedAt = 56;
constexpr std::size_t kMarkTextAt = 64;
constexpr std::string_view kMarkText =
    "Chronus take. Audio is valid up to the data chunk size, which is rewritten after each flush.";
constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;
// KSDATAFORMAT_SUBTYPE_PCM {00000001-0000-0010-8000-00aa00389b71}, as stored in the file.
constexpr uint8_t kPcmGuid[16] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
                                  0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

void Put(std::span<uint8_t> out, std::size_t at, std::string_view bytes) {
  std::memcpy(out.data() + at, bytes.data(), bytes.size());
}
void Put16(std::span<uint8_t> out, std::size_t at, uint64_t v) {
  for (std::size_t i = 0; i < 2; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void Put32(std::span<uint8_t> out, std::size_t at, uint64_t v) {
  for (std::size_t i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void Put64(std::span<uint8_t> out, std::size_t at, uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t Get(std::span<const uint8_t> in, std::size_t at, std::size_t n) {
  uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(in[at + i]) << (8 * i);
  return v;
}
bool Is(std::span<const uint8_t> in, std::size_t at, std::string_view id) {
  return std::memcmp(in.data() + at, id.data(), id.size()) == 0;
}
void PutChunk(std::vector<uint8_t>& out, std::string_view id, uint32_t size) {
  out.insert(out.end(), id.begin(), id.end());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(size >> (8 * i)));
}
void Append32(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
std::size_t FmtBodyBytes(uint32_t channels) { return channels > 2 ? 40 : 16; }

}  // namespace

bool NeedsRf64(uint64_t file_bytes, uint64_t riff_limit) { return file_bytes - 8 > riff_limit; }

void BuildHeader(const TakeHeader& h, std::span<uint8_t> out) {
  std::fill(out.begin(), out.begin() + kHeaderBytes, uint8_t{0});
  const uint64_t riff_size = h.file_bytes() - 8;
  if (h.rf64) {
    Put(out, 0, "RF64");
    Put32(out, 4, 0xFFFFFFFFU);
    Put(out, kDs64At, "ds64");
    Put32(out, kDs64At + 4, 28);
    Put64(out, kDs64At + 8, riff_size);
    Put64(out, kDs64At + 16, h.data_bytes);
    Put64(out, kDs64At + 24, h.frames());
    Put32(out, kDs64At + 32, 0);  // no table entries
  } else {
    Put(out, 0, "RIFF");
    Put32(out, 4, riff_size);
    Put(out, kDs64At, "JUNK");  // ds64 placeholder (EBU Tech 3306)
    Put32(out, kDs64At + 4, 28);
  }
  Put(out, 8, "WAVE");

  const std::size_t fmt_body = FmtBodyBytes(h.channels);
  const uint64_t block_align = h.bytes_per_frame();
  Put(out, kFmtAt, "fmt ");
  Put32(out, kFmtAt + 4, fmt_body);
  Put16(out, kFmtAt + 8, h.channels > 2 ? kFormatExtensible : kFormatPcm);
  Put16(out, kFmtAt + 10, h.channels);
  Put32(out, kFmtAt + 12, h.sample_rate);
  Put32(out, kFmtAt + 16, uint64_t{h.sample_rate} * block_align);
  Put16(out, kFmtAt + 20, block_align);
  Put16(out, kFmtAt + 22, 24);
  if (fmt_body == 40) {
    Put16(out, kFmtAt + 24, 22);  // cbSize
    Put16(out, kFmtAt + 26, 24);  // valid bits
    Put32(out, kFmtAt + 28, 0);   // channel mask: no speaker assignment
    std::memcpy(out.data() + kFmtAt + 32, kPcmGuid, sizeof(kPcmGuid));
  }

  const std::size_t mark_at = kFmtAt + 8 + fmt_body;
  const std::size_t body = mark_at + 8;
  Put(out, mark_at, "JUNK");
  Put32(out, mark_at + 4, kDataChunkAt - body);
  Put(out, body, kMagic);
  out[body + kMagic.size()] = static_cast<uint8_t>(kVersion);
  out[body + kMarkStateAt] = static_cast<uint8_t>(h.state);
  Put(out, body + kMarkBootAt, std::string_view(h.boot_id).substr(0, kBootIdLength));
  Put64(out, body + kMarkCreatedAt, static_cast<uint64_t>(h.created_unix_s));
  Put(out, body + kMarkTextAt, kMarkText);

  Put(out, kDataChunkAt, "data");
  Put32(out, kDataChunkAt + 4, h.rf64 ? 0xFFFFFFFFU : h.data_bytes);
}

std::optional<TakeHeader> ParseHeader(std::span<const uint8_t> in) {
  if (in.size() < kHeaderBytes) return std::nullopt;
  TakeHeader h;
  if (Is(in, 0, "RF64") && Is(in, kDs64At, "ds64")) {
    h.rf64 = true;
  } else if (!Is(in, 0, "RIFF") || !Is(in, kDs64At, "JUNK")) {
    return std::nullopt;
  }
  if (!Is(in, 8, "WAVE") || Get(in, kDs64At + 4, 4) != 28 || !Is(in, kFmtAt, "fmt ")) {
    return std::nullopt;
  }
  const uint64_t fmt_body = Get(in, kFmtAt + 4, 4);
  const uint64_t tag = Get(in, kFmtAt + 8, 2);
  h.channels = static_cast<uint32_t>(Get(in, kFmtAt + 10, 2));
  h.sample_rate = static_cast<uint32_t>(Get(in, kFmtAt + 12, 4));
  if ((fmt_body != 16 && fmt_body != 40) || (tag != kFormatPcm && tag != kFormatExtensible) ||
      h.channels == 0 || h.sample_rate == 0 || Get(in, kFmtAt + 22, 2) != 24 ||
      Get(in, kFmtAt + 20, 2) != h.bytes_per_frame()) {
    return std::nullopt;
  }
  const std::size_t mark_at = kFmtAt + 8 + fmt_body;
  const std::size_t body = mark_at + 8;
  if (!Is(in, mark_at, "JUNK") || !Is(in, body, kMagic) || !Is(in, kDataChunkAt, "data")) {
    return std::nullopt;
  }
  const char state = static_cast<char>(in[body + kMarkStateAt]);
  if (state != 'O' && state != 'F' && state != 'D' && state != 'R') return std::nullopt;
  h.state = static_cast<TakeState>(state);
  const char* boot = reinterpret_cast<const char*>(in.data() + body + kMarkBootAt);
  h.boot_id.assign(boot, strnlen(boot, kBootIdLength));
  h.created_unix_s = static_cast<int64_t>(Get(in, body + kMarkCreatedAt, 8));

  uint64_t riff_size = 0;
  if (h.rf64) {
    riff_size = Get(in, kDs64At + 8, 8);
    h.data_bytes = Get(in, kDs64At + 16, 8);
  } else {
    riff_size = Get(in, 4, 4);
    h.data_bytes = Get(in, kDataChunkAt + 4, 4);
  }
  const uint64_t end = h.audio_end();
  h.trailer_bytes = riff_size + 8 > end ? riff_size + 8 - end : 0;
  return h;
}

std::vector<uint8_t> BuildGapTrailer(const std::vector<GapMark>& gaps, uint32_t sample_rate) {
  std::vector<uint8_t> out;
  if (gaps.empty()) return out;
  const auto n = static_cast<uint32_t>(gaps.size());
  PutChunk(out, "cue ", 4 + 24 * n);
  Append32(out, n);
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t pos = std::min<uint64_t>(gaps[i].frame, 0xFFFFFFFFU);
    Append32(out, i + 1);  // cue point id
    Append32(out, pos);    // play-order position
    out.insert(out.end(), {'d', 'a', 't', 'a'});
    Append32(out, 0);  // chunk start
    Append32(out, 0);  // block start
    Append32(out, pos);
  }
  std::vector<uint8_t> labels;
  for (uint32_t i = 0; i < n; ++i) {
    char text[160];
    const double ms = 1000.0 * static_cast<double>(gaps[i].dropped_frames) / sample_rate;
    const int len = std::snprintf(text, sizeof(text), "gap: %llu blocks (%.1f ms) dropped",
                                  static_cast<unsigned long long>(gaps[i].dropped_blocks), ms);
    const auto text_bytes = static_cast<uint32_t>(len) + 1;  // with the terminating zero
    PutChunk(labels, "labl", 4 + text_bytes);
    Append32(labels, i + 1);
    labels.insert(labels.end(), text, text + text_bytes);
    if (((4 + text_bytes) & 1U) != 0) labels.push_back(0);
  }
  PutChunk(out, "LIST", static_cast<uint32_t>(4 + labels.size()));
  out.insert(out.end(), {'a', 'd', 't', 'l'});
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

std::string FormatGapLine(const GapMark& gap, uint32_t sample_rate) {
  char line[160];
  const int len = std::snprintf(
      line, sizeof(line), "gap frame=%llu time_s=%.6f dropped_blocks=%llu dropped_frames=%llu\n",
      static_cast<unsigned long long>(gap.frame),
      static_cast<double>(gap.frame) / static_cast<double>(sample_rate),
      static_cast<unsigned long long>(gap.dropped_blocks),
      static_cast<unsigned long long>(gap.dropped_frames));
  return std::string(line, static_cast<std::size_t>(len));
}

std::vector<GapMark> ParseGapLog(std::string_view text) {
  std::vector<GapMark> gaps;
  auto field = [](std::string_view line, std::string_view key, uint64_t* value) {
    const std::size_t at = line.find(key);
    if (at == std::string_view::npos) return false;
    const char* first = line.data() + at + key.size();
    const char* last = line.data() + line.size();
    const auto r = std::from_chars(first, last, *value);
    return r.ec == std::errc() && (r.ptr == last || *r.ptr == ' ');
  };
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) break;  // a line without its newline was cut short
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    GapMark g;
    if (line.starts_with("gap ") && field(line, " frame=", &g.frame) &&
        field(line, " dropped_blocks=", &g.dropped_blocks) &&
        field(line, " dropped_frames=", &g.dropped_frames)) {
      gaps.push_back(g);
    }
  }
  return gaps;
}

}  // namespace chronus::firmware::wav
