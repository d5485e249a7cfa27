// Helpers for the recorder tests: temporary directories, reading WAV files back, raw RIFF
// parsing and self-describing block patterns.
#pragma once

#include <gtest/gtest.h>
#include <sndfile.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
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

// What the raw bytes of a RIFF/WAVE (or RF64) file say.
struct RawWav {
  bool ok = false;
  std::string error;
  uint64_t file_size = 0;
  uint32_t riff_size = 0;  // the 32-bit field (0xFFFFFFFF in RF64)
  bool rf64 = false;
  uint64_t riff_size64 = 0;  // effective RIFF size (ds64 in RF64)
  uint16_t format_tag = 0;
  uint16_t channels = 0;
  uint32_t sample_rate = 0;
  uint32_t byte_rate = 0;
  uint16_t block_align = 0;
  uint16_t bits = 0;
  uint64_t data_offset = 0;
  uint32_t data_size = 0;               // the 32-bit field (0xFFFFFFFF in RF64)
  uint64_t data_size64 = 0;             // effective data size (ds64 in RF64)
  std::vector<std::string> chunks;      // every chunk id, in file order
  std::vector<std::string> after_data;  // chunk ids after the data chunk
  uint64_t chunks_end = 0;              // where the last chunk (with pad) ends
};

inline RawWav ParseRawWavBytes(const std::vector<unsigned char>& b) {
  RawWav r;
  r.file_size = b.size();
  auto u32 = [&](std::size_t at) {
    return static_cast<uint32_t>(b[at]) | (static_cast<uint32_t>(b[at + 1]) << 8) |
           (static_cast<uint32_t>(b[at + 2]) << 16) | (static_cast<uint32_t>(b[at + 3]) << 24);
  };
  auto u64 = [&](std::size_t at) { return u32(at) | (static_cast<uint64_t>(u32(at + 4)) << 32); };
  auto u16 = [&](std::size_t at) { return static_cast<uint16_t>(b[at] | (b[at + 1] << 8)); };
  if (b.size() < 12 ||
      (std::memcmp(b.data(), "RIFF", 4) != 0 && std::memcmp(b.data(), "RF64", 4) != 0) ||
      std::memcmp(b.data() + 8, "WAVE", 4) != 0) {
    r.error = "not RIFF/WAVE";
    return r;
  }
  r.rf64 = std::memcmp(b.data(), "RF64", 4) == 0;
  r.riff_size = u32(4);
  r.riff_size64 = r.riff_size;
  bool have_fmt = false;
  bool have_data = false;
  std::size_t at = 12;
  while (at + 8 <= b.size()) {
    const std::string id(reinterpret_cast<const char*>(b.data() + at), 4);
    const uint32_t size = u32(at + 4);
    uint64_t body = size;
    r.chunks.push_back(id);
    if (have_data) r.after_data.push_back(id);
    if (id == "ds64" && size >= 28 && at + 8 + 28 <= b.size()) {
      r.riff_size64 = u64(at + 8);
      r.data_size64 = u64(at + 16);
    } else if (id == "fmt " && size >= 16 && at + 8 + 16 <= b.size()) {
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
      if (!(r.rf64 && size == 0xFFFFFFFFU)) r.data_size64 = size;
      body = r.data_size64;
      have_data = true;
    }
    at += 8 + static_cast<std::size_t>(body) + (body & 1U);
    r.chunks_end = at;
  }
  if (!have_fmt || !have_data) {
    r.error = "missing fmt or data chunk";
    return r;
  }
  r.ok = true;
  return r;
}

inline std::vector<unsigned char> ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
}

// Reads only the chunk headers (and the small chunks before the audio), so that multi-GiB
// takes parse quickly: the audio itself is replaced by zeros of the same length.
inline RawWav ParseRawWav(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec || size < (uint64_t{64} << 20)) return ParseRawWavBytes(ReadBytes(path));
  // Big file: the header block holds every chunk before the audio; read it, then walk the
  // chunks after the audio with seeks.
  std::vector<unsigned char> head(4096);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  RawWav r = ParseRawWavBytes(head);  // stops at the data chunk: the audio is not there
  r.file_size = size;
  if (r.data_offset == 0) return r;
  r.ok = true;
  r.error.clear();
  uint64_t at = r.data_offset + r.data_size64 + (r.data_size64 & 1U);
  r.chunks_end = at;
  while (at + 8 <= size) {
    unsigned char h[8];
    in.seekg(static_cast<std::streamoff>(at));
    in.read(reinterpret_cast<char*>(h), 8);
    const uint32_t body = static_cast<uint32_t>(h[4]) | (static_cast<uint32_t>(h[5]) << 8) |
                          (static_cast<uint32_t>(h[6]) << 16) | (static_cast<uint32_t>(h[7]) << 24);
    const std::string id(reinterpret_cast<const char*>(h), 4);
    r.chunks.push_back(id);
    r.after_data.push_back(id);
    at += 8 + body + (body & 1U);
    r.chunks_end = at;
  }
  return r;
}

// Runs a shell command; returns its exit status and stdout.
inline int RunCommand(const std::string& command, std::string* out = nullptr) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
  const int status = ::pclose(p);
  if (out != nullptr) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// sox's view of a WAV: decodes it completely; returns the sample count per channel or -1 (and
// the error text) if sox cannot read it.
inline int64_t SoxFrames(const std::filesystem::path& path, std::string* error = nullptr) {
  std::string out;
  // "stat" decodes every sample; its "Samples read" counts samples of all channels.
  const int rc = RunCommand("sox -V1 '" + path.string() + "' -n stat 2>&1", &out);
  if (rc != 0) {
    if (error != nullptr) *error = out;
    return -1;
  }
  const std::size_t at = out.find("Samples read:");
  if (at == std::string::npos) {
    if (error != nullptr) *error = out;
    return -1;
  }
  std::string info;
  if (RunCommand("soxi -c '" + path.string() + "' 2>&1", &info) != 0) return -1;
  const int64_t channels = std::stoll(info);
  return channels > 0 ? std::stoll(out.substr(at + 13)) / channels : -1;
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

// Checks the raw RIFF header of a finished 24-bit stereo 48 kHz take holding `frames` frames:
// sizes agree with the file length; only gap markers ("cue ", "LIST") may follow the audio.
inline void ExpectValidHeader(const std::filesystem::path& path, uint64_t frames) {
  const auto raw = ParseRawWav(path);
  ASSERT_TRUE(raw.ok) << raw.error;
  EXPECT_EQ(raw.riff_size64, raw.file_size - 8);
  EXPECT_TRUE(raw.format_tag == 1 || raw.format_tag == 0xFFFE) << raw.format_tag;
  EXPECT_EQ(raw.channels, 2);
  EXPECT_EQ(raw.sample_rate, 48000U);
  EXPECT_EQ(raw.bits, 24);
  EXPECT_EQ(raw.block_align, 6);
  EXPECT_EQ(raw.byte_rate, 48000U * 6);
  EXPECT_EQ(raw.data_size64, frames * 6);
  EXPECT_EQ(raw.data_offset % 4096, 0U) << "audio is block-aligned";
  EXPECT_LE(raw.data_offset + raw.data_size64 + (raw.data_size64 & 1U), raw.file_size);
  EXPECT_EQ(raw.chunks_end, raw.file_size) << "chunks do not add up to the file length";
  for (const auto& id : raw.after_data) EXPECT_TRUE(id == "cue " || id == "LIST") << id;
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
