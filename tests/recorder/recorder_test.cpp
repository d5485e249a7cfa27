#include "firmware/recorder/recorder.h"

#include "firmware/recorder/block_ring.h"

#include "recorder_test_util.h"
#include "tests/support/alloc_counter.h"

#include <gtest/gtest.h>
#include <sndfile.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <numbers>
#include <set>
#include <thread>
#include <vector>

namespace chronus::firmware {
namespace {

using chronus::test::AllocCountScope;
using chronus::test::Enc24;
using chronus::test::ExpectValidHeader;
using chronus::test::MakeBlock;
using chronus::test::ParseBlocks;
using chronus::test::ParseRawWav;
using chronus::test::ReadWav;
using chronus::test::TempDir;
using chronus::test::WaitFor;
using namespace std::chrono_literals;

RecorderConfig Config(const std::filesystem::path& dir, uint32_t max_block_frames = 256,
                      uint32_t ring_blocks = 64) {
  RecorderConfig c;
  c.directory = dir;
  c.sample_rate = 48000;
  c.channels = 2;
  c.max_block_frames = max_block_frames;
  c.ring_blocks = ring_blocks;
  return c;
}

TEST(RecorderBlockRingTest, EveryBlockFitsInBothQueues) {
  BlockRing ring(8, 16, 2);
  EXPECT_EQ(ring.block_samples(), 32U);
  std::vector<uint32_t> taken;
  uint32_t index = 0;
  while (ring.AcquireFree(index)) taken.push_back(index);
  ASSERT_EQ(taken.size(), 8U);
  std::set<uint32_t> unique(taken.begin(), taken.end());
  EXPECT_EQ(unique.size(), 8U);
  for (uint32_t i : taken) EXPECT_TRUE(ring.Submit(i));
  for (uint32_t i : taken) {
    ASSERT_TRUE(ring.PopFilled(index));
    EXPECT_EQ(index, i);  // FIFO
    EXPECT_TRUE(ring.Release(index));
  }
  EXPECT_FALSE(ring.PopFilled(index));
  EXPECT_THROW(BlockRing(0, 16, 2), std::invalid_argument);
}

TEST(RecorderTest, RejectsInvalidConfig) {
  TempDir dir;
  auto c = Config(dir.path());
  c.channels = 0;
  EXPECT_THROW(Recorder{c}, std::invalid_argument);
  c = Config(dir.path());
  c.ring_blocks = 0;
  EXPECT_THROW(Recorder{c}, std::invalid_argument);
}

TEST(RecorderTest, WritesCounterPatternBitExact) {
  TempDir dir;
  Recorder rec(Config(dir.path(), 256, 128));
  EXPECT_FALSE(rec.recording());
  const auto start = rec.StartNonRt("counter");
  ASSERT_TRUE(start.ok) << start.path_or_error;
  EXPECT_EQ(std::filesystem::path(start.path_or_error), dir.path() / "counter.wav");
  EXPECT_TRUE(rec.recording());

  // 100 blocks of varying size (1..256 frames), a running sample counter in the top 24 bits.
  std::vector<int32_t> expected;
  uint32_t counter = 0;
  for (uint32_t b = 0; b < 100; ++b) {
    const uint32_t frames = 1 + (b * 37) % 256;
    std::vector<int32_t> block(frames * 2);
    for (auto& s : block) s = Enc24(counter++);
    rec.PushRt(block.data(), frames);
    expected.insert(expected.end(), block.begin(), block.end());
  }
  const auto stop = rec.StopNonRt();
  ASSERT_TRUE(stop.ok) << stop.path_or_error;
  EXPECT_EQ(stop.path_or_error, start.path_or_error);
  EXPECT_FALSE(rec.recording());
  EXPECT_EQ(rec.dropped_blocks(), 0U);
  EXPECT_EQ(rec.write_errors(), 0U);
  const uint64_t frames = expected.size() / 2;
  EXPECT_EQ(rec.recorded_frames(), frames);

  const auto wav = ReadWav(start.path_or_error);
  ASSERT_TRUE(wav.ok) << wav.error;
  EXPECT_EQ(wav.info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_24);
  EXPECT_EQ(wav.info.channels, 2);
  EXPECT_EQ(wav.info.samplerate, 48000);
  ASSERT_EQ(static_cast<uint64_t>(wav.info.frames), frames);
  EXPECT_EQ(wav.samples, expected);
  ExpectValidHeader(start.path_or_error, frames);

  // Stop when idle is harmless; pushing when idle records nothing.
  const auto again = rec.StopNonRt();
  EXPECT_TRUE(again.ok);
  EXPECT_TRUE(again.path_or_error.empty());
  rec.PushRt(expected.data(), 16);
  EXPECT_EQ(rec.dropped_blocks(), 0U);
  EXPECT_EQ(ReadWav(start.path_or_error).info.frames, static_cast<sf_count_t>(frames));
}

TEST(RecorderTest, StoresTop24BitsOfFullScaleSine) {
  TempDir dir;
  Recorder rec(Config(dir.path(), 480, 64));
  const auto start = rec.StartNonRt("sine");
  ASSERT_TRUE(start.ok) << start.path_or_error;
  std::vector<int32_t> pushed;
  constexpr uint32_t kFrames = 480;
  uint64_t n = 0;
  for (int b = 0; b < 20; ++b) {
    std::vector<int32_t> block(kFrames * 2);
    for (uint32_t f = 0; f < kFrames; ++f, ++n) {
      const double x = std::sin(2.0 * std::numbers::pi * 997.0 * static_cast<double>(n) / 48000.0);
      block[2 * f] = static_cast<int32_t>(std::lround(x * 2147483647.0));  // full scale
      block[2 * f + 1] = -block[2 * f] / 3;
    }
    rec.PushRt(block.data(), kFrames);
    pushed.insert(pushed.end(), block.begin(), block.end());
  }
  ASSERT_TRUE(rec.StopNonRt().ok);
  const auto wav = ReadWav(start.path_or_error);
  ASSERT_TRUE(wav.ok) << wav.error;
  ASSERT_EQ(wav.samples.size(), pushed.size());
  bool any_low_bits = false;
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    any_low_bits |= (pushed[i] & 0xFF) != 0;
    ASSERT_EQ(wav.samples[i], static_cast<int32_t>(static_cast<uint32_t>(pushed[i]) & ~0xFFU))
        << "sample " << i;
  }
  EXPECT_TRUE(any_low_bits);  // the test really exercised truncation
  EXPECT_EQ(*std::max_element(wav.samples.begin(), wav.samples.end()), 0x7FFFFF00);
  ExpectValidHeader(start.path_or_error, pushed.size() / 2);
}

uint32_t DropTestLen(uint32_t seq) { return 16 + (seq % 7) * 16; }

TEST(RecorderTest, DropsWholeBlocksWhenRingIsFull) {
  TempDir dir;
  Recorder rec(Config(dir.path(), 128, 16));
  const auto start = rec.StartNonRt("drops");
  ASSERT_TRUE(start.ok) << start.path_or_error;
  rec.SetWriterPausedForTest(true);
  uint64_t frames_kept = 0;
  for (uint32_t seq = 0; seq < 40; ++seq) {
    const auto block = MakeBlock(seq, DropTestLen(seq));
    rec.PushRt(block.data(), DropTestLen(seq));
    if (seq < 16) frames_kept += DropTestLen(seq);
  }
  EXPECT_EQ(rec.dropped_blocks(), 24U);
  // An oversized block is dropped whole as well.
  const auto big = MakeBlock(99, 129);
  rec.PushRt(big.data(), 129);
  EXPECT_EQ(rec.dropped_blocks(), 25U);
  EXPECT_EQ(rec.recorded_frames(), 0U);  // paused: nothing written yet

  const auto stop = rec.StopNonRt();  // drains even while paused
  ASSERT_TRUE(stop.ok) << stop.path_or_error;
  EXPECT_EQ(rec.recorded_frames(), frames_kept);
  const auto wav = ReadWav(start.path_or_error);
  ASSERT_TRUE(wav.ok) << wav.error;
  const auto parsed = ParseBlocks(wav.samples, DropTestLen);
  ASSERT_TRUE(parsed.ok) << parsed.error;
  std::vector<uint32_t> want(16);
  for (uint32_t i = 0; i < 16; ++i) want[i] = i;
  EXPECT_EQ(parsed.seqs, want);
  ExpectValidHeader(start.path_or_error, frames_kept);

  // After un-pausing, the freed blocks are reusable: a new take records without drops.
  rec.SetWriterPausedForTest(false);
  ASSERT_TRUE(rec.StartNonRt("drops").ok);
  for (uint32_t seq = 0; seq < 16; ++seq) {
    const auto block = MakeBlock(seq, DropTestLen(seq));
    rec.PushRt(block.data(), DropTestLen(seq));
  }
  const auto stop2 = rec.StopNonRt();
  ASSERT_TRUE(stop2.ok);
  EXPECT_EQ(std::filesystem::path(stop2.path_or_error).filename(), "drops-1.wav");
  EXPECT_EQ(rec.dropped_blocks(), 25U);
  EXPECT_EQ(rec.recorded_frames(), frames_kept);
}

TEST(RecorderTest, BurstLargerThanRingKeepsWholeOrderedBlocksAndCountsDrops) {
  TempDir dir;
  Recorder rec(Config(dir.path(), 64, 8));
  const auto start = rec.StartNonRt("burst");
  ASSERT_TRUE(start.ok);
  auto len = [](uint32_t seq) { return 1 + (seq * 13) % 64; };
  constexpr uint32_t kBlocks = 3000;
  for (uint32_t seq = 0; seq < kBlocks; ++seq) {
    const auto block = MakeBlock(seq, len(seq));
    rec.PushRt(block.data(), len(seq));
  }
  ASSERT_TRUE(rec.StopNonRt().ok);
  const auto wav = ReadWav(start.path_or_error);
  ASSERT_TRUE(wav.ok) << wav.error;
  const auto parsed = ParseBlocks(wav.samples, len);
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_TRUE(std::is_sorted(parsed.seqs.begin(), parsed.seqs.end()));
  EXPECT_EQ(std::adjacent_find(parsed.seqs.begin(), parsed.seqs.end()), parsed.seqs.end());
  // Every block is either in the file or counted as dropped.
  EXPECT_EQ(parsed.seqs.size() + rec.dropped_blocks(), kBlocks);
  EXPECT_EQ(rec.recorded_frames(), static_cast<uint64_t>(wav.info.frames));
  ExpectValidHeader(start.path_or_error, static_cast<uint64_t>(wav.info.frames));
}

TEST(RecorderTest, FileIsValidWhileRecording) {
  TempDir dir;
  // A ring that absorbs fdatasync stalls of this VM's disk at the test's pace, and flushes often
  // enough to see many header updates.
  auto config = Config(dir.path(), 64, 2048);
  config.flush_interval = 50ms;
  Recorder rec(config);
  const auto start = rec.StartNonRt("live");
  ASSERT_TRUE(start.ok);
  std::vector<int32_t> pushed;
  uint32_t counter = 0;
  bool saw_data = false;
  int opens = 0;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < deadline && (!saw_data || opens < 20)) {
    std::vector<int32_t> block(64 * 2);
    for (auto& s : block) s = Enc24(counter++);
    rec.PushRt(block.data(), 64);
    pushed.insert(pushed.end(), block.begin(), block.end());
    std::this_thread::sleep_for(1ms);

    const auto wav = ReadWav(start.path_or_error);
    ASSERT_TRUE(wav.ok) << "mid-take open failed: " << wav.error;
    ++opens;
    EXPECT_EQ(wav.info.channels, 2);
    EXPECT_EQ(wav.info.samplerate, 48000);
    ASSERT_LE(wav.samples.size(), pushed.size());
    ASSERT_TRUE(std::equal(wav.samples.begin(), wav.samples.end(), pushed.begin()));
    const auto raw = ParseRawWav(start.path_or_error);
    ASSERT_TRUE(raw.ok) << raw.error;
    EXPECT_LE(raw.data_offset + raw.data_size, raw.file_size);
    EXPECT_EQ(raw.data_size % 6, 0U);
    saw_data = saw_data || wav.info.frames > 0;
  }
  EXPECT_TRUE(saw_data) << "header never updated during the take";
  ASSERT_TRUE(rec.StopNonRt().ok);
  EXPECT_EQ(rec.dropped_blocks(), 0U);
  const auto wav = ReadWav(start.path_or_error);
  ASSERT_TRUE(wav.ok);
  EXPECT_EQ(wav.samples, pushed);
}

TEST(RecorderTest, AllocCounterDetectsAllocations) {
  static std::atomic<int*> sink{nullptr};  // keeps the compiler from eliding new/delete
  uint64_t allocs = 0;
  uint64_t frees = 0;
  {
    AllocCountScope scope;
    sink.store(new int(3));
    delete sink.exchange(nullptr);
    std::vector<int> v(10);
    sink.store(v.data());
    allocs = scope.allocations();
    frees = scope.deallocations();
  }
  EXPECT_EQ(allocs, 2U);
  EXPECT_EQ(frees, 1U);
}

TEST(RecorderTest, PushRtNeverAllocates) {
  TempDir dir;
  Recorder rec(Config(dir.path(), 128, 32));
  const auto block = MakeBlock(1, 128);
  uint64_t allocs = 0;
  uint64_t frees = 0;
  auto push_counted = [&](int n) {
    AllocCountScope scope;
    for (int i = 0; i < n; ++i) rec.PushRt(block.data(), 128);
    allocs += scope.allocations();
    frees += scope.deallocations();
  };
  push_counted(100);  // not recording
  ASSERT_TRUE(rec.StartNonRt("alloc").ok);
  for (int i = 0; i < 500; ++i) {  // steady state, writer draining
    push_counted(1);
    if (i % 16 == 0) std::this_thread::sleep_for(1ms);
  }
  rec.SetWriterPausedForTest(true);
  push_counted(100);  // ring full: drop path
  EXPECT_GT(rec.dropped_blocks(), 0U);
  rec.SetWriterPausedForTest(false);
  ASSERT_TRUE(rec.StopNonRt().ok);
  EXPECT_GT(rec.recorded_frames(), 0U);
  push_counted(100);  // stopped again
  EXPECT_EQ(allocs, 0U);
  EXPECT_EQ(frees, 0U);
}

// One thread pushes self-describing blocks while another starts, restarts and stops takes.
// For each take started by call S and ended by call E (StopNonRt or a restarting StartNonRt):
//  - the file holds whole blocks in increasing order, and no block is in two files;
//  - it holds no block that began before S was called or after E returned;
//  - it holds every non-dropped block that began after S returned and completed before E was
//    called.
TEST(RecorderTest, ConcurrentStartStopWhilePushing) {
  TempDir dir;
  Recorder rec(Config(dir.path(), 64, 128));
  auto len = [](uint32_t seq) { return 8 + (seq * 5) % 57; };
  constexpr uint32_t kMaxBlocks = 2'000'000;
  std::vector<uint8_t> dropped(kMaxBlocks, 0);
  std::atomic<int64_t> begun{-1};
  std::atomic<int64_t> completed{-1};
  std::atomic<bool> stop_pushing{false};

  std::thread pusher([&] {
    for (uint32_t seq = 0; seq < kMaxBlocks && !stop_pushing.load(); ++seq) {
      const auto data = MakeBlock(seq, len(seq));
      const uint64_t before = rec.dropped_blocks();
      begun.store(seq);
      rec.PushRt(data.data(), len(seq));
      completed.store(seq);
      dropped[seq] = rec.dropped_blocks() != before ? 1 : 0;
      if (seq % 4 == 0) std::this_thread::sleep_for(50us);
    }
  });
  struct JoinGuard {
    std::atomic<bool>& stop;
    std::thread& t;
    ~JoinGuard() {
      stop.store(true);
      if (t.joinable()) t.join();
    }
  } join_guard{stop_pushing, pusher};

  struct Take {
    std::string path;
    int64_t begun_before_start = 0;
    int64_t begun_after_start = 0;
    int64_t completed_before_end = 0;
    int64_t begun_after_end = 0;
    uint64_t recorded_frames = 0;
  };
  std::vector<Take> takes;
  bool open = false;
  for (int i = 0; i < 24; ++i) {
    // Mostly start/stop pairs; every third take is ended by a restart instead of a stop.
    const bool restart = open && i % 3 == 0;
    if (open && !restart) {
      takes.back().completed_before_end = completed.load();
      const auto r = rec.StopNonRt();
      takes.back().begun_after_end = begun.load();
      ASSERT_TRUE(r.ok) << r.path_or_error;
      ASSERT_EQ(r.path_or_error, takes.back().path);
      takes.back().recorded_frames = rec.recorded_frames();
      open = false;
    } else {
      Take t;
      t.begun_before_start = begun.load();
      const int64_t completed_before = completed.load();
      const auto r = rec.StartNonRt("cc");
      const int64_t begun_after = begun.load();
      ASSERT_TRUE(r.ok) << r.path_or_error;
      if (open) {
        takes.back().completed_before_end = completed_before;
        takes.back().begun_after_end = begun_after;
        takes.back().recorded_frames = UINT64_MAX;  // unknown: overwritten by the new take
      }
      t.path = r.path_or_error;
      t.begun_after_start = begun_after;
      takes.push_back(t);
      open = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + (i * 7) % 11));
  }
  if (open) {
    takes.back().completed_before_end = completed.load();
    ASSERT_TRUE(rec.StopNonRt().ok);
    takes.back().begun_after_end = begun.load();
    takes.back().recorded_frames = rec.recorded_frames();
  }
  stop_pushing.store(true);
  pusher.join();
  ASSERT_GT(completed.load(), 200) << "pusher made too little progress to test anything";

  std::set<uint32_t> seen;
  uint64_t total_blocks = 0;
  for (const auto& t : takes) {
    SCOPED_TRACE(t.path);
    const auto wav = ReadWav(t.path);
    ASSERT_TRUE(wav.ok) << wav.error;
    if (t.recorded_frames != UINT64_MAX) {
      EXPECT_EQ(static_cast<uint64_t>(wav.info.frames), t.recorded_frames);
    }
    ExpectValidHeader(t.path, static_cast<uint64_t>(wav.info.frames));
    const auto parsed = ParseBlocks(wav.samples, len);
    ASSERT_TRUE(parsed.ok) << parsed.error;
    EXPECT_TRUE(std::is_sorted(parsed.seqs.begin(), parsed.seqs.end()));
    for (uint32_t seq : parsed.seqs) {
      EXPECT_TRUE(seen.insert(seq).second) << "block " << seq << " written twice";
      EXPECT_GE(static_cast<int64_t>(seq), t.begun_before_start) << "block from before start";
      EXPECT_LE(static_cast<int64_t>(seq), t.begun_after_end) << "block from after stop";
    }
    const std::set<uint32_t> in_file(parsed.seqs.begin(), parsed.seqs.end());
    for (int64_t s = t.begun_after_start + 1; s <= t.completed_before_end; ++s) {
      if (dropped[static_cast<std::size_t>(s)] == 0) {
        EXPECT_EQ(in_file.count(static_cast<uint32_t>(s)), 1U) << "block " << s << " missing";
      }
    }
    total_blocks += parsed.seqs.size();
  }
  EXPECT_GT(total_blocks, 100U);
  EXPECT_EQ(rec.write_errors(), 0U);
}

// ---- Write errors ----

uint32_t FullTestLen(uint32_t) { return 512; }

// Pushes 512-frame blocks at a pace the writer keeps up with until a write error stops the
// take, then checks that the take ended cleanly and the file is valid and whole.
void ExerciseWriteError(Recorder& rec, const std::filesystem::path& dir,
                        const std::string& expected_error_fragment,
                        RecorderStopReason expected_reason) {
  const auto start = rec.StartNonRt("full");
  ASSERT_TRUE(start.ok) << start.path_or_error;
  uint32_t seq = 0;
  for (; seq < 2000 && rec.recording(); ++seq) {
    const auto block = MakeBlock(seq, 512);
    rec.PushRt(block.data(), 512);
    const uint64_t want = uint64_t{seq + 1} * 512;
    ASSERT_TRUE(WaitFor([&] { return rec.recorded_frames() >= want || !rec.recording(); }))
        << "writer stalled at block " << seq;
  }
  ASSERT_FALSE(rec.recording()) << "no write error after " << seq << " blocks";
  EXPECT_EQ(rec.write_errors(), 1U);
  EXPECT_EQ(rec.dropped_blocks(), 0U);
  EXPECT_EQ(rec.stop_reason(), expected_reason);
  const std::string error = rec.last_error();
  EXPECT_NE(error.find(expected_error_fragment), std::string::npos) << error;
  EXPECT_NE(error.find(start.path_or_error), std::string::npos) << error;

  // PushRt after the error is a no-op for the audio thread.
  const auto block = MakeBlock(seq, 512);
  rec.PushRt(block.data(), 512);

  const auto stop = rec.StopNonRt();  // reports the error once
  EXPECT_FALSE(stop.ok);
  EXPECT_EQ(stop.path_or_error, error);
  const auto stop2 = rec.StopNonRt();
  EXPECT_TRUE(stop2.ok);

  const auto wav = ReadWav(start.path_or_error);
  ASSERT_TRUE(wav.ok) << wav.error;
  EXPECT_GT(wav.info.frames, 0);
  EXPECT_EQ(static_cast<uint64_t>(wav.info.frames), rec.recorded_frames());
  const auto parsed = ParseBlocks(wav.samples, FullTestLen);
  ASSERT_TRUE(parsed.ok) << parsed.error;
  for (uint32_t i = 0; i < parsed.seqs.size(); ++i) ASSERT_EQ(parsed.seqs[i], i);
  ExpectValidHeader(start.path_or_error, static_cast<uint64_t>(wav.info.frames));

  // The recorder recovers once there is room again.
  std::filesystem::remove(start.path_or_error);
  const auto again = rec.StartNonRt("again");
  ASSERT_TRUE(again.ok) << again.path_or_error;
  EXPECT_EQ(rec.stop_reason(), RecorderStopReason::kNone);
  for (uint32_t s = 0; s < 4; ++s) {
    const auto b = MakeBlock(s, 512);
    rec.PushRt(b.data(), 512);
  }
  const auto stop3 = rec.StopNonRt();
  ASSERT_TRUE(stop3.ok) << stop3.path_or_error;
  EXPECT_EQ(ReadWav(again.path_or_error).info.frames, 4 * 512);
  EXPECT_EQ(std::filesystem::path(again.path_or_error).parent_path(), dir);
}

TEST(RecorderTest, DiskFullStopsTakeCleanly) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tiny tmpfs needs root";
  TempDir dir;
  const auto mnt = dir.path() / "mnt";
  std::filesystem::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k") != 0) {
    GTEST_SKIP() << "cannot mount tmpfs: " << std::strerror(errno);
  }
  struct Unmount {
    std::filesystem::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const auto recs = mnt / "recs";  // created by StartNonRt
  Recorder rec(Config(recs, 512, 16));
  ExerciseWriteError(rec, recs, "No space left on device", RecorderStopReason::kDiskFull);
}

TEST(RecorderTest, FileSizeLimitStopsTakeCleanly) {
  // RLIMIT_FSIZE makes writes past the limit fail (EFBIG); works without privileges.
  TempDir dir;
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit lim = old;
  lim.rlim_cur = 200 * 1024 + 1234;  // not a multiple of the frame size: forces a short write
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  struct Restore {
    rlimit r;
    void (*handler)(int);
    ~Restore() {
      ::setrlimit(RLIMIT_FSIZE, &r);
      std::signal(SIGXFSZ, handler);
    }
  } restore{old, old_handler};
  Recorder rec(Config(dir.path(), 512, 16));
  ExerciseWriteError(rec, dir.path(), "File too large", RecorderStopReason::kFileTooLarge);
}

}  // namespace
}  // namespace chronus::firmware
