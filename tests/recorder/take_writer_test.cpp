// The take file format and writer: header layout (RIFF and RF64) as read by libsndfile and sox,
// gap markers, what a power cut or a kill at every I/O step leaves, and the start-up recovery.
#include "firmware/recorder/take_writer.h"
#include "firmware/recorder/take_files.h"
#include "firmware/recorder/wav_layout.h"

#include "recorder_test_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace chronus::firmware {
namespace {

using chronus::test::Enc24;
using chronus::test::MakeBlock;
using chronus::test::ParseRawWavBytes;
using chronus::test::ReadBytes;
using chronus::test::ReadWav;
using chronus::test::SoxFrames;
using chronus::test::TempDir;
using Clock = TakeWriter::Clock;
using namespace std::chrono_literals;

constexpr uint64_t kPage = 4096;
const std::string kBoot = "11111111-2222-3333-4444-555555555555";
const std::string kOtherBoot = "99999999-2222-3333-4444-555555555555";

std::vector<uint8_t> Pack24(const std::vector<int32_t>& samples) {
  std::vector<uint8_t> out;
  out.reserve(samples.size() * 3);
  for (const int32_t s : samples) {
    const auto u = static_cast<uint32_t>(s);
    out.push_back(static_cast<uint8_t>(u >> 8));
    out.push_back(static_cast<uint8_t>(u >> 16));
    out.push_back(static_cast<uint8_t>(u >> 24));
  }
  return out;
}

void WriteFile(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

wav::TakeHeader Header(uint32_t channels, uint64_t frames, bool rf64) {
  wav::TakeHeader h;
  h.sample_rate = 48000;
  h.channels = channels;
  h.data_bytes = frames * 3 * channels;
  h.rf64 = rf64;
  h.state = wav::TakeState::kDone;
  h.boot_id = kBoot;
  h.created_unix_s = 1700000000;
  return h;
}

// ---------------- layout ----------------

TEST(RecorderWavLayoutTest, HeaderIsOneBlockReadByLibsndfileAndSox) {
  TempDir dir;
  for (const uint32_t channels : {1U, 2U, 3U}) {
    for (const bool rf64 : {false, true}) {
      SCOPED_TRACE("channels " + std::to_string(channels) + (rf64 ? " RF64" : " RIFF"));
      constexpr uint64_t kFrames = 1001;  // odd byte count for mono: exercises the pad byte
      const auto h = Header(channels, kFrames, rf64);
      std::vector<uint8_t> file(wav::kHeaderBytes);
      wav::BuildHeader(h, file);
      std::vector<int32_t> samples(kFrames * channels);
      for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = Enc24(static_cast<uint32_t>(i));
      const auto audio = Pack24(samples);
      file.insert(file.end(), audio.begin(), audio.end());
      if ((audio.size() & 1U) != 0) file.push_back(0);
      ASSERT_EQ(file.size(), h.file_bytes());
      const auto path = dir.path() / "h.wav";
      WriteFile(path, file);

      const auto parsed = wav::ParseHeader(file);
      ASSERT_TRUE(parsed.has_value());
      EXPECT_EQ(parsed->channels, channels);
      EXPECT_EQ(parsed->sample_rate, 48000U);
      EXPECT_EQ(parsed->data_bytes, h.data_bytes);
      EXPECT_EQ(parsed->trailer_bytes, 0U);
      EXPECT_EQ(parsed->rf64, rf64);
      EXPECT_EQ(parsed->state, wav::TakeState::kDone);
      EXPECT_EQ(parsed->boot_id, kBoot);
      EXPECT_EQ(parsed->created_unix_s, 1700000000);

      const auto raw = ParseRawWavBytes(std::vector<unsigned char>(file.begin(), file.end()));
      ASSERT_TRUE(raw.ok) << raw.error;
      EXPECT_EQ(raw.data_offset, wav::kDataOffset);
      EXPECT_EQ(raw.data_size64, h.data_bytes);
      EXPECT_EQ(raw.riff_size64 + 8, file.size());
      EXPECT_EQ(raw.chunks_end, file.size());

      const auto wav = ReadWav(path);
      ASSERT_TRUE(wav.ok) << wav.error;
      // More than 2 channels use WAVE_FORMAT_EXTENSIBLE, which libsndfile calls WAVEX.
      EXPECT_EQ((wav.info.format & SF_FORMAT_TYPEMASK),
                rf64 ? SF_FORMAT_RF64 : (channels > 2 ? SF_FORMAT_WAVEX : SF_FORMAT_WAV));
      EXPECT_EQ((wav.info.format & SF_FORMAT_SUBMASK), SF_FORMAT_PCM_24);
      EXPECT_EQ(wav.info.channels, static_cast<int>(channels));
      EXPECT_EQ(wav.samples, samples);
      std::string sox_error;
      EXPECT_EQ(SoxFrames(path, &sox_error), static_cast<int64_t>(kFrames)) << sox_error;
    }
  }
  std::vector<uint8_t> junk(wav::kHeaderBytes, 0);
  EXPECT_FALSE(wav::ParseHeader(junk).has_value());
}

TEST(RecorderWavLayoutTest, GapTrailerIsReadAsCuePoints) {
  TempDir dir;
  constexpr uint64_t kFrames = 48000;
  auto h = Header(2, kFrames, false);
  const std::vector<wav::GapMark> gaps = {{1000, 2, 512}, {30000, 1, 256}};
  const auto trailer = wav::BuildGapTrailer(gaps, 48000);
  h.trailer_bytes = trailer.size();
  std::vector<uint8_t> file(wav::kHeaderBytes);
  wav::BuildHeader(h, file);
  file.resize(wav::kDataOffset + h.data_bytes, 0);
  file.insert(file.end(), trailer.begin(), trailer.end());
  const auto path = dir.path() / "gaps.wav";
  WriteFile(path, file);

  SF_INFO info{};
  SNDFILE* sf = sf_open(path.c_str(), SFM_READ, &info);
  ASSERT_NE(sf, nullptr) << sf_strerror(nullptr);
  EXPECT_EQ(info.frames, static_cast<sf_count_t>(kFrames));
  uint32_t count = 0;
  ASSERT_EQ(sf_command(sf, SFC_GET_CUE_COUNT, &count, sizeof(count)), SF_TRUE);
  ASSERT_EQ(count, 2U);
  SF_CUES cues{};
  ASSERT_EQ(sf_command(sf, SFC_GET_CUE, &cues, sizeof(cues)), SF_TRUE);
  EXPECT_EQ(cues.cue_points[0].sample_offset, 1000U);
  EXPECT_EQ(cues.cue_points[1].sample_offset, 30000U);
  sf_close(sf);
  EXPECT_EQ(SoxFrames(path), static_cast<int64_t>(kFrames));
  const auto raw = ParseRawWavBytes(std::vector<unsigned char>(file.begin(), file.end()));
  ASSERT_TRUE(raw.ok);
  EXPECT_EQ(raw.after_data, (std::vector<std::string>{"cue ", "LIST"}));
  EXPECT_EQ(raw.chunks_end, file.size());
  EXPECT_EQ(wav::ParseHeader(file)->trailer_bytes, trailer.size());
}

TEST(RecorderWavLayoutTest, GapLogRoundTripsAndSkipsCutLines) {
  const wav::GapMark a{12345, 3, 768};
  const wav::GapMark b{99999999999ULL, 1, 4096};
  std::string text = "# comment\n" + wav::FormatGapLine(a, 48000) + wav::FormatGapLine(b, 48000);
  auto gaps = wav::ParseGapLog(text + "gap frame=5 time_s=0.1 dropp");  // cut by a crash
  ASSERT_EQ(gaps.size(), 2U);
  EXPECT_EQ(gaps[0].frame, a.frame);
  EXPECT_EQ(gaps[0].dropped_blocks, a.dropped_blocks);
  EXPECT_EQ(gaps[0].dropped_frames, a.dropped_frames);
  EXPECT_EQ(gaps[1].frame, b.frame);
  EXPECT_TRUE(wav::ParseGapLog("gap frame=x dropped_blocks=1 dropped_frames=2\n").empty());
}

// ---------------- power cut model ----------------

// Models what is on the card after a power cut: writes and truncations reach the card only when
// an fdatasync completes; before that, any subset of them (and any subset of the 4 KiB pages of
// a write) may have reached it. At every I/O call it checks the worst cases of that moment.
class PowerCutIo final : public TakeIo {
 public:
  struct Op {
    bool truncate = false;
    uint64_t offset = 0;  // write offset, or new size
    std::vector<uint8_t> data;
  };
  using Check = std::function<void(const std::vector<uint8_t>& image, const char* when)>;

  PowerCutIo(std::vector<uint8_t> initial, Check check)
      : durable_(std::move(initial)), check_(std::move(check)) {}

  ssize_t Pwrite(int, const void* data, std::size_t bytes, uint64_t offset) override {
    CheckNow("before pwrite");
    const auto* p = static_cast<const uint8_t*>(data);
    pending_.push_back(Op{false, offset, std::vector<uint8_t>(p, p + bytes)});
    ++ops_;
    return static_cast<ssize_t>(bytes);
  }
  int Fdatasync(int) override {
    CheckNow("before fdatasync");
    for (const auto& op : pending_) Apply(durable_, op, 0, UINT64_MAX);
    pending_.clear();
    ++ops_;
    ++syncs_;
    return 0;
  }
  int Ftruncate(int, uint64_t size) override {
    CheckNow("before ftruncate");
    pending_.push_back(Op{true, size, {}});
    ++ops_;
    return 0;
  }
  int Preallocate(int, uint64_t, uint64_t) override { return 0; }
  void DropCache(int, uint64_t, uint64_t) override {}

  // The file as a process reading it (or a kill -9) sees it.
  std::vector<uint8_t> Current() const {
    std::vector<uint8_t> image = durable_;
    for (const auto& op : pending_) Apply(image, op, 0, UINT64_MAX);
    return image;
  }
  uint64_t states_checked() const { return states_; }
  uint64_t syncs() const { return syncs_; }

  void CheckNow(const char* when) {
    const std::size_t n = pending_.size();
    // Every subset of the pending operations (there are at most a few between two syncs) ...
    for (uint32_t mask = 0; mask < (1U << n); ++mask) {
      // ... and for writes of several pages: all pages, the first half, or only the last page.
      for (int partial = 0; partial < 3; ++partial) {
        std::vector<uint8_t> image = durable_;
        bool multi_page = false;
        for (std::size_t i = 0; i < n; ++i) {
          if ((mask & (1U << i)) == 0) continue;
          const Op& op = pending_[i];
          const uint64_t pages = (op.data.size() + kPage - 1) / kPage;
          if (!op.truncate && pages > 1) multi_page = true;
          uint64_t first = 0;
          uint64_t last = UINT64_MAX;
          if (!op.truncate && pages > 1 && partial == 1) last = pages / 2;
          if (!op.truncate && pages > 1 && partial == 2) first = pages - 1;
          Apply(image, op, first, last);
        }
        if (partial > 0 && !multi_page) continue;
        ++states_;
        check_(image, when);
      }
    }
  }

 private:
  // Applies pages [first_page, last_page) of a write (or a truncation) to `image`.
  static void Apply(std::vector<uint8_t>& image, const Op& op, uint64_t first_page,
                    uint64_t last_page) {
    if (op.truncate) {
      image.resize(op.offset, 0);
      return;
    }
    const uint64_t from = std::min<uint64_t>(first_page * kPage, op.data.size());
    const uint64_t to = std::min<uint64_t>(
        last_page == UINT64_MAX ? op.data.size() : last_page * kPage, op.data.size());
    if (from >= to) return;
    if (image.size() < op.offset + to) image.resize(op.offset + to, 0);
    std::copy(op.data.begin() + static_cast<std::ptrdiff_t>(from),
              op.data.begin() + static_cast<std::ptrdiff_t>(to),
              image.begin() + static_cast<std::ptrdiff_t>(op.offset + from));
  }

  std::vector<uint8_t> durable_;
  std::vector<Op> pending_;
  Check check_;
  uint64_t ops_ = 0;
  uint64_t syncs_ = 0;
  uint64_t states_ = 0;
};

// Drives a take through a TakeWriter on PowerCutIo: blocks of varying size, flushes, drops
// (gaps), the RF64 switch, and the final trailer. At every I/O step, every state a power cut
// could leave must be a valid WAV whose audio is a bit-exact prefix of what was appended and
// covers at least everything up to the last completed flush.
void RunPowerCutScenario(bool with_gaps, uint64_t riff_limit, uint64_t* states, uint64_t* syncs) {
  TempDir dir;
  const std::string path = (dir.path() / "cut.wav").string();
  wav::TakeHeader h = Header(2, 0, false);
  h.state = wav::TakeState::kOpen;
  std::vector<uint8_t> initial(wav::kHeaderBytes);
  wav::BuildHeader(h, initial);

  std::vector<int32_t> appended;
  uint64_t guaranteed_bytes = 0;  // audio bytes of the last completed flush
  uint64_t failures = 0;
  auto check = [&](const std::vector<uint8_t>& image, const char* when) {
    if (failures > 5) return;
    const auto fail = [&](const std::string& what) {
      ++failures;
      ADD_FAILURE() << when << ": " << what << " (image " << image.size() << " bytes)";
    };
    const auto parsed = wav::ParseHeader(image);
    if (!parsed) return fail("header not valid");
    const uint64_t audio_in_image =
        image.size() > wav::kDataOffset ? image.size() - wav::kDataOffset : 0;
    if (parsed->data_bytes > audio_in_image) return fail("header claims audio not on the card");
    if (parsed->data_bytes < guaranteed_bytes) return fail("audio of a completed flush lost");
    const auto expected = Pack24(appended);
    if (parsed->data_bytes > expected.size() ||
        !std::equal(
            image.begin() + wav::kDataOffset,
            image.begin() + static_cast<std::ptrdiff_t>(wav::kDataOffset + parsed->data_bytes),
            expected.begin())) {
      return fail("audio is not a bit-exact prefix of what was recorded");
    }
    if (parsed->state == wav::TakeState::kDone && parsed->trailer_bytes > 0 &&
        parsed->file_bytes() > image.size()) {
      return fail("header claims a trailer not on the card");
    }
    // And a real reader agrees.
    WriteFile(dir.path() / "image.wav", image);
    SF_INFO info{};
    SNDFILE* sf = sf_open((dir.path() / "image.wav").c_str(), SFM_READ, &info);
    if (sf == nullptr) return fail(std::string("libsndfile: ") + sf_strerror(nullptr));
    sf_close(sf);
    if (static_cast<uint64_t>(info.frames) != parsed->frames()) fail("libsndfile frame count");
  };
  PowerCutIo io(initial, check);

  TakeWriterConfig config;
  config.max_block_frames = 1024;
  config.flush_interval = 10ms;  // 480 frames: a flush every block or two
  config.riff_limit = riff_limit;
  TakeWriter writer(config, io);
  const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const auto t0 = Clock::now();
  writer.Begin(fd, path, h, t0);
  std::mt19937 rng(7);
  for (uint32_t seq = 0; seq < 40; ++seq) {
    const uint32_t frames = 1 + rng() % 1024;
    const auto block = MakeBlock(seq, frames);
    const uint32_t gap = with_gaps && seq % 9 == 4 ? 2 : 0;
    ASSERT_TRUE(writer.Append(block.data(), frames, gap, gap * 256U, t0));
    appended.insert(appended.end(), block.begin(), block.end());
    if (writer.FlushDue(t0)) {
      ASSERT_TRUE(writer.Flush());
      guaranteed_bytes = writer.flushed_frames() * 6;
      ASSERT_EQ(guaranteed_bytes, appended.size() * 3);
      ASSERT_EQ(io.Current().size(), wav::kDataOffset + guaranteed_bytes + (guaranteed_bytes & 1))
          << "between flushes the file length is what the header says";
    }
  }
  ASSERT_TRUE(writer.Finish());
  guaranteed_bytes = appended.size() * 3;
  io.CheckNow("after finish");
  const auto final_image = io.Current();
  const auto parsed = wav::ParseHeader(final_image);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->state, wav::TakeState::kDone);
  EXPECT_EQ(parsed->file_bytes(), final_image.size());
  EXPECT_EQ(parsed->trailer_bytes > 0, with_gaps);
  EXPECT_EQ(parsed->rf64, riff_limit < wav::kRiffLimit);
  EXPECT_EQ(failures, 0U);
  *states += io.states_checked();
  *syncs += io.syncs();
}

TEST(RecorderTakeWriterTest, PowerCutAtAnyIoStepLeavesAValidPrefix) {
  uint64_t states = 0;
  uint64_t syncs = 0;
  RunPowerCutScenario(false, wav::kRiffLimit, &states, &syncs);
  RunPowerCutScenario(true, wav::kRiffLimit, &states, &syncs);
  RunPowerCutScenario(true, 64 * 1024, &states, &syncs);  // switches to RF64 half-way
  std::printf("[ measure  ] power-cut model: %llu card states checked at %llu fdatasyncs\n",
              static_cast<unsigned long long>(states), static_cast<unsigned long long>(syncs));
  EXPECT_GT(states, 300U);
}

TEST(RecorderTakeWriterTest, FlushWritesAudioThenHeaderInAlignedBlocks) {
  struct Call {
    char kind;
    uint64_t offset;
    uint64_t bytes;
  };
  struct TraceIo final : TakeIo {
    std::vector<Call> calls;
    ssize_t Pwrite(int, const void*, std::size_t bytes, uint64_t offset) override {
      calls.push_back({'w', offset, bytes});
      return static_cast<ssize_t>(bytes);
    }
    int Fdatasync(int) override {
      calls.push_back({'s', 0, 0});
      return 0;
    }
    int Ftruncate(int, uint64_t size) override {
      calls.push_back({'t', size, 0});
      return 0;
    }
    int Preallocate(int, uint64_t offset, uint64_t bytes) override {
      calls.push_back({'p', offset, bytes});
      return 0;
    }
    void DropCache(int, uint64_t, uint64_t) override {}
  } io;
  TempDir dir;
  TakeWriterConfig config;
  config.max_block_frames = 256;
  TakeWriter writer(config, io);
  const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  auto h = Header(2, 0, false);
  h.state = wav::TakeState::kOpen;
  const auto t0 = Clock::now();
  writer.Begin(fd, (dir.path() / "t.wav").string(), h, t0);
  ASSERT_EQ(io.calls.size(), 1U);
  EXPECT_EQ(io.calls[0].kind, 'p');  // the first 4 MiB reserved at once
  EXPECT_EQ(io.calls[0].offset, wav::kDataOffset);
  EXPECT_EQ(io.calls[0].offset + io.calls[0].bytes, uint64_t{4} << 20);
  io.calls.clear();
  // 20 s of audio in 256-frame blocks, one second of wall time per 187.5 blocks.
  uint64_t flushes = 0;
  for (uint32_t seq = 0; seq < 3750; ++seq) {
    const auto block = MakeBlock(seq, 256);
    const auto now = t0 + std::chrono::microseconds(uint64_t{seq} * 256 * 1000000 / 48000);
    ASSERT_TRUE(writer.Append(block.data(), 256, 0, 0, now));
    if (writer.FlushDue(now)) {
      ASSERT_TRUE(writer.Flush());
      ++flushes;
    }
  }
  ASSERT_TRUE(writer.Finish());
  EXPECT_GE(flushes, 19U);
  EXPECT_LE(flushes, 21U);
  // Every flush: [preallocate] audio write at a 4 KiB boundary, fdatasync, header block at 0,
  // fdatasync.
  uint64_t audio_writes = 0;
  uint64_t audio_bytes = 0;
  uint64_t end = wav::kDataOffset;
  for (std::size_t i = 0; i < io.calls.size(); ++i) {
    const Call& c = io.calls[i];
    if (c.kind == 'p') {
      EXPECT_EQ(c.offset % (uint64_t{4} << 20), 0U) << "preallocation in whole 4 MiB chunks";
      continue;
    }
    if (c.kind != 'w' || c.offset == 0) continue;
    ++audio_writes;
    audio_bytes += c.bytes;
    EXPECT_EQ(c.offset % kPage, 0U) << "audio write " << audio_writes << " not block-aligned";
    EXPECT_LE(c.offset, end);
    EXPECT_GT(c.offset + c.bytes, end);
    end = c.offset + c.bytes;
    ASSERT_LT(i + 3, io.calls.size());
    EXPECT_EQ(io.calls[i + 1].kind, 's');
    const std::size_t h_at = io.calls[i + 2].kind == 't' ? i + 3 : i + 2;  // final: truncate
    EXPECT_EQ(io.calls[h_at].kind, 'w');
    EXPECT_EQ(io.calls[h_at].offset, 0U);
    EXPECT_EQ(io.calls[h_at].bytes, wav::kHeaderBytes);
    EXPECT_EQ(io.calls[h_at + 1].kind, 's');
  }
  const uint64_t audio = 3750ULL * 256 * 6;
  EXPECT_EQ(end, wav::kDataOffset + audio);
  EXPECT_EQ(audio_writes, flushes + 1);  // + the last one, by Finish()
  const auto& counters = writer.counters();
  std::printf(
      "[ measure  ] 20 s of audio: %llu flushes, %llu audio writes of %.0f KiB on average "
      "(largest %.0f KiB), %llu bytes rewritten (partial pages), %llu header bytes: %.2f%% "
      "overhead\n",
      static_cast<unsigned long long>(flushes), static_cast<unsigned long long>(audio_writes),
      static_cast<double>(audio_bytes) / static_cast<double>(audio_writes) / 1024.0,
      static_cast<double>(counters.largest_write.load()) / 1024.0,
      static_cast<unsigned long long>(audio_bytes - audio),
      static_cast<unsigned long long>(counters.header_bytes_written.load()),
      100.0 * static_cast<double>(counters.bytes_written.load() - audio) /
          static_cast<double>(audio));
  EXPECT_LT(audio_bytes - audio, flushes * kPage);
}

// ---------------- kill at every step + recovery (real files) ----------------

// Passes calls through to the system until call number `kill_at`; that call (a write) lands
// only partly, and from then on nothing reaches the file, as if the process had been killed.
class KillIo final : public TakeIo {
 public:
  explicit KillIo(uint64_t kill_at) : kill_at_(kill_at) {}
  ssize_t Pwrite(int fd, const void* data, std::size_t bytes, uint64_t offset) override {
    if (Dead()) return -1;
    if (calls_ == kill_at_ + 1 && bytes > kPage) bytes = bytes / 2 / kPage * kPage;  // torn
    return PosixTakeIo().Pwrite(fd, data, bytes, offset);
  }
  int Fdatasync(int fd) override { return Dead() ? -1 : PosixTakeIo().Fdatasync(fd); }
  int Ftruncate(int fd, uint64_t size) override {
    return Dead() ? -1 : PosixTakeIo().Ftruncate(fd, size);
  }
  int Preallocate(int fd, uint64_t offset, uint64_t bytes) override {
    return Dead() ? -1 : PosixTakeIo().Preallocate(fd, offset, bytes);
  }
  void DropCache(int, uint64_t, uint64_t) override {}
  bool killed() const { return calls_ > kill_at_ + 1; }

 private:
  bool Dead() {
    ++calls_;
    if (calls_ > kill_at_ + 1) {
      errno = EIO;
      return true;
    }
    return false;
  }
  uint64_t kill_at_;
  uint64_t calls_ = 0;
};

TEST(RecorderTakeWriterTest, KillAtAnyIoStepIsRecoveredBitExact) {
  TempDir dir;
  uint64_t kills = 0;
  uint64_t beyond_header_frames = 0;  // kept by same-boot recoveries past the stale header
  for (uint64_t kill_at = 0;; ++kill_at) {
    SCOPED_TRACE("killed at I/O call " + std::to_string(kill_at));
    const auto sub = dir.path() / ("k" + std::to_string(kill_at));
    std::filesystem::create_directories(sub);
    wav::TakeHeader h = Header(2, 0, false);
    h.state = wav::TakeState::kOpen;
    auto created = CreateTakeFile(sub, "take", h);
    ASSERT_GE(created.fd, 0) << created.error;
    KillIo io(kill_at);
    TakeWriterConfig config;
    config.max_block_frames = 2048;
    config.flush_interval = 20ms;  // 960 frames
    config.preallocate_bytes = 64 * 1024;
    TakeWriter writer(config, io);
    const auto t0 = Clock::now();
    writer.Begin(created.fd, created.path, h, t0);
    std::vector<int32_t> appended;
    uint64_t flushed = 0;
    bool alive = true;
    for (uint32_t seq = 0; seq < 24 && alive; ++seq) {
      const uint32_t frames = 300 + (seq * 611) % 1700;
      const auto block = MakeBlock(seq, frames);
      alive = writer.Append(block.data(), frames, seq == 7 ? 1 : 0, seq == 7 ? 100 : 0, t0);
      if (alive) appended.insert(appended.end(), block.begin(), block.end());
      if (alive && writer.FlushDue(t0)) {
        alive = writer.Flush();
        if (alive) flushed = writer.flushed_frames();
      }
    }
    if (alive) alive = writer.Finish();
    if (!io.killed()) {
      ASSERT_TRUE(alive) << writer.error();
      break;  // the take finished before call kill_at: every step has been covered
    }
    writer.AbandonForTest();
    ++kills;
    const auto path = std::filesystem::path(created.path);

    // As the kill left it: valid, and holds at least everything up to the last flush.
    const auto left = ReadWav(path);
    ASSERT_TRUE(left.ok) << left.error;
    ASSERT_GE(static_cast<uint64_t>(left.info.frames), flushed);
    const auto raw = chronus::test::ParseRawWav(path);
    ASSERT_TRUE(raw.ok) << raw.error;
    ASSERT_LE(raw.data_offset + raw.data_size64, raw.file_size);
    if (wav::ParseHeader(ReadBytes(path))->state == wav::TakeState::kDone) {
      // Killed after the final header reached the file: a finished take, nothing to recover.
      EXPECT_EQ(static_cast<std::size_t>(left.info.frames) * 2, appended.size());
      EXPECT_EQ(left.samples, appended);
      EXPECT_TRUE(RecoverTakes(sub, kBoot).empty());
      continue;
    }

    // Recovery after a power cut (another boot): exactly what the header covered.
    const auto rebooted = sub / "rebooted";
    std::filesystem::create_directories(rebooted);
    std::filesystem::copy_file(path, rebooted / path.filename());
    const auto after_reboot = RecoverTakes(rebooted, kOtherBoot);
    ASSERT_EQ(after_reboot.size(), 1U);
    EXPECT_TRUE(after_reboot[0].ok) << after_reboot[0].message;
    EXPECT_FALSE(after_reboot[0].same_boot);
    const auto cut = ReadWav(rebooted / path.filename());
    ASSERT_TRUE(cut.ok) << cut.error;
    EXPECT_EQ(cut.info.frames, left.info.frames);
    EXPECT_TRUE(std::equal(cut.samples.begin(), cut.samples.end(), appended.begin()));

    // Recovery after a crash in this boot: every whole frame the process wrote.
    const auto recovered = RecoverTakes(sub, kBoot);
    ASSERT_EQ(recovered.size(), 1U);
    EXPECT_TRUE(recovered[0].ok) << recovered[0].message;
    EXPECT_TRUE(recovered[0].same_boot);
    EXPECT_TRUE(RecoverTakes(sub, kBoot).empty()) << "recovery is done once";
    const auto fixed = ReadWav(path);
    ASSERT_TRUE(fixed.ok) << fixed.error;
    const uint64_t frames = static_cast<uint64_t>(fixed.info.frames);
    EXPECT_GE(frames, static_cast<uint64_t>(left.info.frames));
    ASSERT_LE(frames * 2, appended.size());
    EXPECT_TRUE(std::equal(fixed.samples.begin(), fixed.samples.end(), appended.begin()))
        << "recovered audio is not a bit-exact prefix";
    beyond_header_frames += frames - static_cast<uint64_t>(left.info.frames);
    const auto fixed_raw = chronus::test::ParseRawWav(path);
    EXPECT_EQ(fixed_raw.riff_size64 + 8, fixed_raw.file_size);
    EXPECT_EQ(fixed_raw.chunks_end, fixed_raw.file_size);
    EXPECT_EQ(wav::ParseHeader(ReadBytes(path))->state, wav::TakeState::kRecovered);
  }
  std::printf(
      "[ measure  ] killed a take at each of %llu I/O calls: all valid and recovered bit-exact "
      "(%llu frames past a stale header kept by same-boot recovery)\n",
      static_cast<unsigned long long>(kills),
      static_cast<unsigned long long>(beyond_header_frames));
  EXPECT_GT(kills, 20U);
}

TEST(RecorderTakeWriterTest, RecoveryAfterPowerCutKeepsOnlyConfirmedAudio) {
  TempDir dir;
  wav::TakeHeader h = Header(2, 0, false);
  h.state = wav::TakeState::kOpen;
  h.boot_id = kOtherBoot;  // written in an earlier boot
  auto created = CreateTakeFile(dir.path(), "cut", h);
  ASSERT_GE(created.fd, 0) << created.error;
  TakeWriterConfig config;
  config.max_block_frames = 512;
  TakeWriter writer(config, PosixTakeIo());
  const auto t0 = Clock::now();
  writer.Begin(created.fd, created.path, h, t0);
  std::vector<int32_t> appended;
  for (uint32_t seq = 0; seq < 20; ++seq) {
    const auto block = MakeBlock(seq, 512);
    ASSERT_TRUE(writer.Append(block.data(), 512, 0, 0, t0));
    appended.insert(appended.end(), block.begin(), block.end());
  }
  ASSERT_TRUE(writer.Flush());
  const uint64_t flushed = writer.flushed_frames();
  // Audio that reached the file but never got its header update (the power went in between).
  const auto extra = Pack24(MakeBlock(20, 512));
  const int fd = ::open(created.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_EQ(::write(fd, extra.data(), extra.size()), static_cast<ssize_t>(extra.size()));
  ::close(fd);
  writer.AbandonForTest();

  const auto results = RecoverTakes(dir.path(), kBoot);
  ASSERT_EQ(results.size(), 1U);
  EXPECT_TRUE(results[0].ok) << results[0].message;
  EXPECT_FALSE(results[0].same_boot);
  EXPECT_EQ(results[0].frames, flushed);
  EXPECT_EQ(results[0].discarded_bytes, extra.size());
  std::printf("[ measure  ] %s\n", results[0].message.c_str());
  const auto wav = ReadWav(created.path);
  ASSERT_TRUE(wav.ok);
  EXPECT_EQ(static_cast<uint64_t>(wav.info.frames), flushed);
  EXPECT_EQ(wav.samples, appended);
  EXPECT_TRUE(RecoverTakes(dir.path(), kBoot).empty()) << "recovery is done once";
}

TEST(RecorderTakeWriterTest, RecoveryRestoresGapMarkersAndLeavesOtherFilesAlone) {
  TempDir dir;
  wav::TakeHeader h = Header(2, 0, false);
  h.state = wav::TakeState::kOpen;
  auto created = CreateTakeFile(dir.path(), "gappy", h);
  ASSERT_GE(created.fd, 0) << created.error;
  TakeWriterConfig config;
  config.max_block_frames = 512;
  TakeWriter writer(config, PosixTakeIo());
  const auto t0 = Clock::now();
  writer.Begin(created.fd, created.path, h, t0);
  for (uint32_t seq = 0; seq < 10; ++seq) {
    const auto block = MakeBlock(seq, 512);
    ASSERT_TRUE(writer.Append(block.data(), 512, seq == 3 ? 2 : 0, seq == 3 ? 1024 : 0, t0));
  }
  ASSERT_TRUE(writer.Flush());
  writer.AbandonForTest();
  EXPECT_TRUE(std::filesystem::exists(created.path + ".gaps"));
  // Not ours, or finished: left alone, byte for byte.
  { std::ofstream(dir.path() / "other.wav") << "RIFF....WAVEjunk"; }
  const std::vector<uint8_t> before = ReadBytes(dir.path() / "other.wav");
  // A take being recorded (locked) is left alone too.
  auto busy = CreateTakeFile(dir.path(), "busy", h);
  ASSERT_GE(busy.fd, 0);

  const auto results = RecoverTakes(dir.path(), kBoot);
  ASSERT_EQ(results.size(), 1U);
  EXPECT_EQ(results[0].path, created.path);
  EXPECT_TRUE(results[0].ok) << results[0].message;
  EXPECT_EQ(results[0].gaps, 1U);
  EXPECT_EQ(ReadBytes(dir.path() / "other.wav"), before);
  EXPECT_EQ(wav::ParseHeader(ReadBytes(busy.path))->state, wav::TakeState::kOpen);
  ::close(busy.fd);

  SF_INFO info{};
  SNDFILE* sf = sf_open(created.path.c_str(), SFM_READ, &info);
  ASSERT_NE(sf, nullptr);
  EXPECT_EQ(info.frames, 10 * 512);
  uint32_t count = 0;
  sf_command(sf, SFC_GET_CUE_COUNT, &count, sizeof(count));
  EXPECT_EQ(count, 1U);
  SF_CUES cues{};
  ASSERT_EQ(sf_command(sf, SFC_GET_CUE, &cues, sizeof(cues)), SF_TRUE);
  EXPECT_EQ(cues.cue_points[0].sample_offset, 3U * 512);
  sf_close(sf);
}

}  // namespace
}  // namespace chronus::firmware
