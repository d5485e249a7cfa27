// Helpers for the recorder tests: temporary directories, reading WAV files back, raw RIFF
// parsing and self-describing block patterns.
#pragma once

#include <sndfile.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace chronus::test {

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ =
        std::filesystem::temp_directory_path() / ("chronus-rec-test-" + std::to_string(::getpid()) +
                                                  "-" + std::to_string(counter.fetch_add(1)));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct WavData {
  bool ok = false;
  std::string error;
  SF_INFO info{};
  std::vector<int32_t> samples;  // interleaved, as read by sf_readf_int
};

inline WavData ReadWav(const std::filesystem::path& path) {
  WavData out;
  SNDFILE* sf = sf_open(path.c_str(), SFM_READ, &out.info);
  if (sf == nullptr) {
    out.error = sf_strerror(nullptr);
    return out;
  }
  out.samples.resize(static_cast<std::size_t>(out.info.frames) *
                     static_cast<std::size_t>(out.info.channels));
  const sf_count_t got = sf_readf_int(sf, out.samples.data(), out.info.frames);
  sf_close(sf);
  if (got != out.info.frames) {
    out.error = "short read";
    return out;
  }
  out.ok = true;
  return out;
}

// What the raw bytes of a RIFF/WAVE file say.
struct RawWav {
  bool ok = false;
  std::string error;
  uint64_t file_size = 0;
  uint32_t riff_size = 0;
  uint16_t format_tag = 0;
  uint16_t channels = 0;
  uint32_t sample_rate = 0;
  uint32_t byte_rate = 0;
  uint16_t block_align = 0;
  uint16_t bits = 0;
  uint64_t data_offset = 0;
  uint32_t data_size = 0;
};

inline RawWav ParseRawWav(const std::filesystem::path& path) {
  RawWav r;
  std::ifstream in(path, std::ios::binary);
  const std::vector<unsigned char> b((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
  r.file_size = b.size();
  auto u32 = [&](std::size_t at) {
    return static_cast<uint32_t>(b[at]) | (static_cast<uint32_t>(b[at + 1]) << 8) |
           (static_cast<uint32_t>(b[at + 2]) << 16) | (static_cast<uint32_t>(b[at + 3]) << 24);
  };
  auto u16 = [&](std::size_t at) { return static_cast<uint16_t>(b[at] | (b[at + 1] << 8)); };
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 ||
      std::memcmp(b.data() + 8, "WAVE", 4) != 0) {
    r.error = "not RIFF/WAVE";
    return r;
  }
  r.riff_size = u32(4);
  bool have_fmt = false;
  bool have_data = false;
  std::size_t at = 12;
  while (at + 8 <= b.size()) {
    const std::string id(reinterpret_cast<const char*>(b.data() + at), 4);
    const uint32_t size = u32(at + 4);
    if (id == "fmt " && size >= 16 && at + 8 + 16 <= b.size()) {
      r.format_tag = u16(at + 8);
      r.channels = u16(at + 10);
      r.sample_rate = u32(at + 12);
      r.byte_rate = u32(at + 16);
      r.block_align = u16(at + 20);
      r.bits = u16(at + 22);
      have_fmt = true;
    } else if (id == "data") {
      r.data_offset = at + 8;
      r.data_size = size;
      have_data = true;
      break;
    }
    at += 8 + static_cast<std::size_t>(size) + (size & 1U);
  }
  if (!have_fmt || !have_data) {
    r.error = "missing fmt or data chunk";
    return r;
  }
  r.ok = true;
  return r;
}

// ---- Self-describing blocks: every frame says which block it belongs to and where. ----
// Channel 0 holds the block sequence number, channel 1 a per-frame check value; both are
// 24-bit values in the top bits of the int32 (low 8 bits zero), so they survive PCM_24.

inline int32_t Enc24(uint32_t v) { return static_cast<int32_t>((v & 0xFFFFFFU) << 8); }
inline uint32_t Dec24(int32_t s) { return static_cast<uint32_t>(s) >> 8; }
inline uint32_t CheckValue(uint32_t seq, uint32_t frame) { return seq * 131U + frame * 7U + 1U; }

inline std::vector<int32_t> MakeBlock(uint32_t seq, uint32_t frames) {
  std::vector<int32_t> v(static_cast<std::size_t>(frames) * 2);
  for (uint32_t f = 0; f < frames; ++f) {
    v[2 * f] = Enc24(seq);
    v[2 * f + 1] = Enc24(CheckValue(seq, f));
  }
  return v;
}

struct ParsedBlocks {
  bool ok = false;
  std::string error;
  std::vector<uint32_t> seqs;
};

// Splits stereo samples into blocks; block `seq` must have exactly block_len(seq) frames.
inline ParsedBlocks ParseBlocks(const std::vector<int32_t>& samples,
                                const std::function<uint32_t(uint32_t)>& block_len) {
  ParsedBlocks p;
  const std::size_t frames = samples.size() / 2;
  std::size_t pos = 0;
  while (pos < frames) {
    const uint32_t seq = Dec24(samples[2 * pos]);
    const uint32_t len = block_len(seq);
    if (pos + len > frames) {
      p.error =
          "block " + std::to_string(seq) + " at frame " + std::to_string(pos) + " is cut short";
      return p;
    }
    for (uint32_t f = 0; f < len; ++f) {
      if (samples[2 * (pos + f)] != Enc24(seq) ||
          samples[2 * (pos + f) + 1] != Enc24(CheckValue(seq, f))) {
        p.error = "block " + std::to_string(seq) + " corrupt at frame " + std::to_string(f);
        return p;
      }
    }
    p.seqs.push_back(seq);
    pos += len;
  }
  p.ok = true;
  return p;
}

// Polls `pred` every millisecond until it is true or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace chronus::test
