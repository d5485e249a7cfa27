// Recording survival, end to end on the virtual card (issue #8):
//  - power-cut torture: the firmware is killed with SIGKILL at random moments of takes; each
//    time the take must open with libsndfile and sox, its sizes must match its length, and its
//    audio up to the last flush must be bit-exact against what the virtual card played; the
//    start-up recovery then finishes it, and the next take never reuses its name;
//  - disk full: the recordings directory (a small tmpfs) fills during a take: the take stops
//    cleanly with a valid file, the audio keeps playing, and a take can start when space returns.
//
// CHRONUS_POWER_CUT_KILLS (default 30), CHRONUS_POWER_CUT_SEED, CHRONUS_POWER_CUT_DIR (where the
// recordings go, e.g. a loop-mounted ext4 "card") and CHRONUS_POWER_CUT_MAX_TAKE_S (default 2.0)
// let tools/soak/recording-power-cut run longer versions.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sndfile.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "firmware/recorder/take_files.h"
#include "firmware/recorder/wav_layout.h"
#include "tests/support/audio_analysis.h"
#include "tests/support/firmware_process.h"

namespace chronus::test {
namespace {

namespace fs = std::filesystem;

constexpr int kPeriod = 256;
constexpr int kPeriods = 3;
constexpr double kRate = 48000.0;
constexpr double kFlushIntervalS = 1.0;  // the recorder's default ([recorder] flush_interval_s)
// The capture lags the recorder by the device buffer plus the capture writer's poll: blocks
// flushed just before the kill may not have reached the capture file yet.
constexpr int64_t kMaxUnverifiableTailFrames = 4800;

void SleepSeconds(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

double EnvDouble(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atof(v) : fallback;
}

std::vector<unsigned char> ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
}

uint32_t U32(const std::vector<unsigned char>& b, std::size_t at) {
  return static_cast<uint32_t>(b[at]) | (static_cast<uint32_t>(b[at + 1]) << 8) |
         (static_cast<uint32_t>(b[at + 2]) << 16) | (static_cast<uint32_t>(b[at + 3]) << 24);
}

// The capture as the killed process left it: its own header may be up to ~100 ms stale, so the
// data chunk is read to the end of the file (whole frames). 32-bit PCM (S32_LE board), stereo.
std::vector<int32_t> ReadCaptureRaw(const fs::path& path, std::string* error) {
  const auto b = ReadAll(path);
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0) {
    *error = "capture is not RIFF";
    return {};
  }
  std::size_t at = 12;
  uint16_t bits = 0;
  uint16_t channels = 0;
  while (at + 8 <= b.size()) {
    const uint32_t size = U32(b, at + 4);
    if (std::memcmp(b.data() + at, "fmt ", 4) == 0 && at + 24 <= b.size()) {
      channels = static_cast<uint16_t>(b[at + 10] | (b[at + 11] << 8));
      bits = static_cast<uint16_t>(b[at + 22] | (b[at + 23] << 8));
    } else if (std::memcmp(b.data() + at, "data", 4) == 0) {
      if (bits != 32 || channels != 2) {
        *error = "capture is not 32-bit stereo";
        return {};
      }
      const std::size_t bytes = (b.size() - at - 8) / 8 * 8;
      std::vector<int32_t> out(bytes / 4);
      std::memcpy(out.data(), b.data() + at + 8, bytes);
      return out;
    }
    at += 8 + size + (size & 1U);
  }
  *error = "capture has no data chunk";
  return {};
}

// What the take's header says, checked against the file length.
struct TakeSizes {
  bool parsed = false;
  uint64_t file_size = 0;
  uint64_t riff_size = 0;
  uint64_t data_size = 0;
  bool exact = false;   // RIFF size = length - 8 and the chunks end exactly at the end of the file
  bool within = false;  // the header describes no more than the file holds
};

TakeSizes CheckSizes(const fs::path& path) {
  TakeSizes s;
  const auto b = ReadAll(path);
  s.file_size = b.size();
  const auto h = chronus::firmware::wav::ParseHeader(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.data()), b.size()));
  if (!h) return s;
  s.parsed = true;
  s.riff_size = h->file_bytes() - 8;
  s.data_size = h->data_bytes;
  s.exact = s.riff_size + 8 == s.file_size;
  s.within = h->audio_end() <= s.file_size;
  return s;
}

int RunCommand(const std::string& command, std::string* out) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  std::size_t n = 0;
  out->clear();
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// sox decodes the whole file; returns frames (per channel) or -1 with the error text.
int64_t SoxFrames(const fs::path& path, std::string* error) {
  std::string out;
  if (RunCommand("sox -V1 '" + path.string() + "' -n stat 2>&1", &out) != 0) {
    *error = out;
    return -1;
  }
  const std::size_t at = out.find("Samples read:");
  if (at == std::string::npos) {
    *error = out;
    return -1;
  }
  return std::stoll(out.substr(at + 13)) / 2;
}

// The capture's time origin (CLOCK_MONOTONIC seconds of its frame 0), from the ".t0" sidecar.
double CaptureT0Seconds(const fs::path& capture) {
  std::ifstream in(capture.string() + ".t0");
  long long ns = 0;
  in >> ns;
  return static_cast<double>(ns) * 1e-9;
}

// Periods spent in device standby according to a firmware log (each "audio device lost" until the
// next "audio device is back", timestamps in seconds at the line starts), rounded up, plus a
// buffer for each outage.
int64_t StandbyBlocks(const std::string& log) {
  auto time_of_line_at = [&](size_t at) {
    const size_t start = log.rfind('\n', at);
    const size_t open = log.find('[', start == std::string::npos ? 0 : start);
    return std::stod(log.substr(open + 1));
  };
  int64_t blocks = 0;
  for (size_t lost = log.find("audio device lost"); lost != std::string::npos;
       lost = log.find("audio device lost", lost + 1)) {
    const size_t back = log.find("audio device is back", lost);
    if (back == std::string::npos) return std::numeric_limits<int64_t>::max() / 4;  // not back
    const double seconds = time_of_line_at(back) - time_of_line_at(lost);
    blocks += static_cast<int64_t>(std::ceil(seconds * kRate / kPeriod)) + kPeriods;
  }
  return blocks;
}

// Matches the take's blocks (one period each) against the capture: each must appear bit for bit,
// in order, contiguous except for a forward jump per xrun. Blocks past the end of the capture
// (it lags the recorder: the card's capture writer lives in the killed process) are counted as
// unverifiable; they must all be at the end. `verifiable_frames`: the take frames the capture
// surely covers (from the capture's time origin and the take's start time), -1 when unknown.
// `head_frames`: take frames rendered before the capture began (a reopened card starts a new
// capture: see VcardUnplugTest.WithoutAnUnplugAReopenStartsAFreshCapture); those that are not
// found are unverifiable too.
struct Match {
  int64_t blocks = 0;
  int64_t matched = 0;
  int64_t unmatched = 0;
  int64_t jumps = 0;
  int64_t tail_unverifiable_frames = 0;
  int64_t head_unverifiable_frames = 0;
};

Match MatchAgainstCapture(const std::vector<int32_t>& take, const std::vector<int32_t>& cap,
                          int64_t verifiable_frames = -1, int64_t head_frames = 0) {
  Match m;
  const int64_t take_frames = static_cast<int64_t>(take.size() / 2);
  const int64_t cap_frames = static_cast<int64_t>(cap.size() / 2);
  auto block_at = [&](int64_t cap_frame, int64_t take_frame, int64_t len) {
    if (cap_frame + len > cap_frames) return false;
    return std::equal(take.begin() + take_frame * 2, take.begin() + (take_frame + len) * 2,
                      cap.begin() + cap_frame * 2);
  };
  int64_t pos = -1;
  for (int64_t t = 0; t < take_frames; t += kPeriod) {
    const int64_t len = std::min<int64_t>(kPeriod, take_frames - t);
    ++m.blocks;
    if (pos >= 0 && block_at(pos, t, len)) {
      pos += len;
      ++m.matched;
      continue;
    }
    const int64_t from = pos < 0 ? 0 : pos + 1;
    const int64_t to = pos < 0 ? cap_frames : std::min(cap_frames, pos + 48000);
    int64_t found = -1;
    for (int64_t k = from; k < to && found < 0; ++k) {
      if (cap[k * 2] == take[t * 2] && block_at(k, t, len)) found = k;
    }
    if (found >= 0) {
      if (pos >= 0) ++m.jumps;
      pos = found + len;
      ++m.matched;
      continue;
    }
    if ((pos >= 0 && cap_frames - pos < len) ||                // the capture ends here
        (verifiable_frames >= 0 && t >= verifiable_frames)) {  // ... or ended before this block
      m.tail_unverifiable_frames = take_frames - t;
      break;
    }
    if (t < head_frames) {
      m.head_unverifiable_frames += len;
      continue;
    }
    ++m.unmatched;
  }
  return m;
}

class RecordingSurvival : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("CHRONUS_POWER_CUT_DIR");
    dir_ = fs::path(base != nullptr && *base != '\0' ? base : fs::temp_directory_path().string()) /
           ("chronus-rec-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (process_.pid() > 0) process_.Stop(SIGKILL, 5.0);
    client_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Starts the firmware playing into `capture`, recording into `recordings`.
  bool StartFirmware(const fs::path& capture, const fs::path& recordings) {
    port_ = FreeUdpPort();
    client_.reset();
    if (!process_.Start(CHRONUS_BIN,
                        {"--board", "dev-virtual", "--period", std::to_string(kPeriod), "--periods",
                         std::to_string(kPeriods), "--capture", capture.string(), "--recordings",
                         recordings.string(), "--osc-port", std::to_string(port_)},
                        (dir_ / "firmware.log").string())) {
      return false;
    }
    client_ = std::make_unique<OscClient>(port_);
    for (int i = 0; i < 100; ++i) {
      if (client_->Status(100).has_value()) return true;
    }
    return false;
  }

  std::string Log() {
    std::ifstream in(dir_ / "firmware.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  void NoteOn(int note, float velocity) {
    lo_message m = lo_message_new();
    lo_message_add_int32(m, note);
    lo_message_add_float(m, velocity);
    client_->Send("/note/on", m);
    lo_message_free(m);
  }
  void SetParam(const std::string& name, float value) {
    lo_message m = lo_message_new();
    lo_message_add_float(m, value);
    client_->Send(("/param/" + name).c_str(), m);
    lo_message_free(m);
  }
  std::optional<std::pair<bool, std::string>> Record(const char* address, const char* name) {
    lo_message m = lo_message_new();
    if (name != nullptr) lo_message_add_string(m, name);
    client_->Send(address, m);
    lo_message_free(m);
    return client_->WaitResult(address, 5000);
  }
  // A chord of incommensurate pitches through a moving filter: no block repeats, so every
  // block of the take can be found in the capture at exactly one place.
  void PlayChord(int seed) {
    SetParam("waveform", 1.0f);
    SetParam("attack", 0.002f);
    SetParam("sustain", 0.8f);
    SetParam("cutoff", 1500.0f + static_cast<float>(seed % 7) * 300.0f);
    NoteOn(45 + seed % 12, 0.6f);
    NoteOn(52 + seed % 5, 0.5f);
    NoteOn(61 + seed % 3, 0.4f);
  }

  fs::path dir_;
  int port_ = 0;
  FirmwareProcess process_;
  std::unique_ptr<OscClient> client_;
};

TEST_F(RecordingSurvival, PowerCutTortureKillsDuringTakes) {
  const int kills = static_cast<int>(EnvDouble("CHRONUS_POWER_CUT_KILLS", 30));
  const double max_take_s = EnvDouble("CHRONUS_POWER_CUT_MAX_TAKE_S", 2.0);
  const auto seed = static_cast<uint32_t>(
      EnvDouble("CHRONUS_POWER_CUT_SEED", static_cast<double>(::time(nullptr) % 100000)));
  std::printf("[ measure  ] %d kills, takes of 0.3..%.1f s, seed %u, recordings in %s\n", kills,
              max_take_s, seed, dir_.c_str());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> take_length(0.3, max_take_s);
  const fs::path recordings = dir_ / "rec";
  const std::string boot_id = chronus::firmware::ReadBootId();

  int valid_as_left = 0, exact_as_left = 0, in_flush_window = 0, bit_exact = 0;
  int recovered_ok = 0, with_audio = 0;
  double lost_max = 0, lost_sum = 0, covered_sum = 0;
  int64_t tail_max = 0;
  int64_t head_max = 0;  // unverifiable head frames (a capture restarted by a device reopen)
  std::set<std::string> paths;
  std::map<std::string, std::vector<unsigned char>> finished;  // recovered takes, byte for byte

  for (int i = 0; i < kills; ++i) {
    SCOPED_TRACE("kill " + std::to_string(i));
    const fs::path capture = dir_ / ("capture-" + std::to_string(i) + ".wav");
    const size_t log_before = Log().size();
    ASSERT_TRUE(StartFirmware(capture, recordings)) << "firmware did not start; log: " << Log();
    PlayChord(static_cast<int>(rng() % 1000));
    SleepSeconds(0.15);
    const double t_requested = MonotonicSeconds();
    const auto started = Record("/record/start", "take");
    ASSERT_TRUE(started && started->first) << (started ? started->second : "no reply");
    const double t_started = MonotonicSeconds();
    const std::string take = started->second;
    EXPECT_TRUE(paths.insert(take).second) << "take name reused: " << take;
    SleepSeconds(take_length(rng));
    const double t_kill = MonotonicSeconds();
    ASSERT_EQ(process_.Stop(SIGKILL, 5.0), 128 + SIGKILL);
    const double elapsed = t_kill - t_started;

    // 1. As the kill left it: libsndfile and sox open it, its sizes match its length.
    const TakeSizes sizes = CheckSizes(take);
    ASSERT_TRUE(sizes.parsed) << take << ": not a valid take header";
    ASSERT_TRUE(sizes.within) << take << ": header claims more than the file holds";
    WavData left = ReadWav(take);
    ASSERT_TRUE(left.ok) << take << ": libsndfile: " << left.error;
    ASSERT_EQ(left.channels, 2);
    std::string sox_error;
    const int64_t sox_frames = SoxFrames(take, &sox_error);
    ASSERT_EQ(sox_frames, left.frames) << take << ": sox: " << sox_error;
    ++valid_as_left;
    if (sizes.exact) {
      ++exact_as_left;
    } else {
      ++in_flush_window;  // killed between an audio write and its header update
    }

    // 2. The audio up to the last flush is bit-exact against what the card played.
    std::string cap_error;
    const std::vector<int32_t> cap = ReadCaptureRaw(capture, &cap_error);
    ASSERT_TRUE(cap_error.empty()) << cap_error;
    // The take's frame f was rendered no later than t_started + f / rate (the reply comes after
    // the start) and played at most a buffer later: frames played before the capture's end are
    // surely in it, if the card played them.
    // Frames rendered before the capture's origin (the card was reopened during the take) were
    // rendered no earlier than t_requested + f / rate.
    const double buffer_s = kPeriods * kPeriod / kRate;
    const double cap_t0 = CaptureT0Seconds(capture);
    const double cap_end = cap_t0 + static_cast<double>(cap.size() / 2) / kRate;
    const int64_t verifiable =
        std::max<int64_t>(0, static_cast<int64_t>((cap_end - t_started - buffer_s) * kRate));
    const int64_t head = std::max<int64_t>(
        0, static_cast<int64_t>(std::ceil((cap_t0 + buffer_s - t_requested) * kRate)));
    const Match m = MatchAgainstCapture(left.interleaved, cap, verifiable, head);
    // An xrun of this VM drops what was written to the card but not yet played (up to a buffer,
    // 3 blocks), which the recorder did get: only those blocks may be missing from the capture.
    const std::string run_log = Log().substr(log_before);
    int64_t xruns = 0;
    for (size_t at = run_log.find("xrun #"); at != std::string::npos;
         at = run_log.find("xrun #", at + 1)) {
      ++xruns;
    }
    // While the device is lost (device standby), the engine and the recorder carry on and the card
    // plays nothing: those blocks are in the take only.
    const int64_t standby_blocks = StandbyBlocks(run_log);
    const int64_t explained = 3 * xruns + standby_blocks;
    EXPECT_LE(m.unmatched, explained) << take << ": blocks not found in the capture";
    EXPECT_LE(m.tail_unverifiable_frames, kMaxUnverifiableTailFrames);
    tail_max = std::max(tail_max, m.tail_unverifiable_frames);
    if (m.unmatched <= explained) ++bit_exact;
    const double covered = static_cast<double>(left.frames) / kRate;
    const double lost = elapsed - covered;
    // At most one flush interval, plus the time a flush takes and scheduling slack.
    EXPECT_LE(lost, kFlushIntervalS + 0.5) << take << ": " << covered << " s of " << elapsed;
    lost_max = std::max(lost_max, lost);
    lost_sum += lost;
    covered_sum += covered;
    if (left.frames > 0) ++with_audio;

    // 3. The start-up recovery finishes it: exact sizes, still bit-exact, never worse.
    const auto results = chronus::firmware::RecoverTakes(recordings, boot_id);
    ASSERT_EQ(results.size(), 1U) << "exactly the killed take is unfinished";
    EXPECT_EQ(results[0].path, fs::path(take));
    EXPECT_TRUE(results[0].ok) << results[0].message;
    const TakeSizes fixed_sizes = CheckSizes(take);
    EXPECT_TRUE(fixed_sizes.exact) << take << " after recovery";
    WavData fixed = ReadWav(take);
    ASSERT_TRUE(fixed.ok) << fixed.error;
    EXPECT_GE(fixed.frames, left.frames);
    EXPECT_EQ(SoxFrames(take, &sox_error), fixed.frames) << sox_error;
    const Match mf = MatchAgainstCapture(fixed.interleaved, cap, verifiable, head);
    head_max = std::max(head_max, m.head_unverifiable_frames);
    EXPECT_LE(mf.unmatched, explained);
    if (results[0].ok && fixed_sizes.exact && mf.unmatched <= explained) ++recovered_ok;
    finished[take] = ReadAll(take);
    if (HasFailure()) break;
  }

  // Earlier takes were never touched by later runs.
  for (const auto& [path, bytes] : finished) EXPECT_EQ(ReadAll(path), bytes) << path;
  const int n = static_cast<int>(finished.size());
  std::printf(
      "[ measure  ] power-cut torture: %d/%d takes valid as the kill left them (libsndfile + "
      "sox), %d with sizes exactly matching the length, %d killed inside a flush (header one "
      "flush behind, still valid); %d/%d bit-exact against the capture (%d with audio); "
      "%d/%d recovered exact; seconds lost: max %.3f, mean %.3f (flush interval %.1f s); mean "
      "take kept %.3f s; max unverifiable tail %lld frames, head %lld frames (device reopened)\n",
      valid_as_left, n, exact_as_left, in_flush_window, bit_exact, n, with_audio, recovered_ok, n,
      lost_max, n > 0 ? lost_sum / n : 0.0, kFlushIntervalS, n > 0 ? covered_sum / n : 0.0,
      static_cast<long long>(tail_max), static_cast<long long>(head_max));
  EXPECT_EQ(valid_as_left, kills);
  EXPECT_EQ(recovered_ok, kills);
  EXPECT_GT(with_audio, 0);
}

TEST_F(RecordingSurvival, DiskFullStopsTakeCleanlyAudioContinuesAndRecordingResumes) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  const fs::path card = dir_ / "card";
  fs::create_directories(card);
  if (::mount("tmpfs", card.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount tmpfs: " << std::strerror(errno);
  }
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{card};
  const fs::path capture = dir_ / "capture.wav";
  ASSERT_TRUE(StartFirmware(capture, card / "rec")) << Log();
  PlayChord(3);
  SleepSeconds(0.15);
  const auto started = Record("/record/start", "full");
  ASSERT_TRUE(started && started->first) << (started ? started->second : "no reply");
  const std::string take = started->second;

  // 1 MiB holds about 3.6 s of audio: the take must stop by itself.
  std::optional<std::map<std::string, double>> status;
  bool stopped = false;
  for (int i = 0; i < 100 && !stopped; ++i) {
    SleepSeconds(0.1);
    status = client_->Status(1000);
    ASSERT_TRUE(status);
    stopped = (*status)["recording"] == 0;
  }
  ASSERT_TRUE(stopped) << "the take did not stop when the card was full";
  // The audio keeps playing.
  const double periods_before = (*status)["periods_played"];
  SleepSeconds(0.5);
  status = client_->Status(1000);
  ASSERT_TRUE(status);
  const double played = (*status)["periods_played"] - periods_before;
  EXPECT_GT(played, 0.5 * kRate / kPeriod * 0.8) << "audio stalled after the card filled up";
  if (status->count("record_error") != 0) {  // once the lead has wired the recorder's status
    EXPECT_EQ((*status)["record_error"], 1.0) << "record_error should say: disk full";
  } else {
    std::printf("[ note     ] /status has no record_error yet (app.cpp wiring pending)\n");
  }
  // /status said it stopped; /record/stop says why (once).
  const auto stop = Record("/record/stop", nullptr);
  ASSERT_TRUE(stop);
  EXPECT_FALSE(stop->first);
  EXPECT_NE(stop->second.find("No space left on device"), std::string::npos) << stop->second;
  EXPECT_NE(stop->second.find(take), std::string::npos) << stop->second;

  // The file is valid, its sizes match its length, and it is bit-exact against the capture.
  const TakeSizes sizes = CheckSizes(take);
  EXPECT_TRUE(sizes.exact);
  WavData wav = ReadWav(take);
  ASSERT_TRUE(wav.ok) << wav.error;
  std::string sox_error;
  EXPECT_EQ(SoxFrames(take, &sox_error), wav.frames) << sox_error;
  EXPECT_GT(wav.frames, static_cast<int64_t>(2.0 * kRate));

  // Space returns: a new take starts and finishes.
  ASSERT_EQ(::mount("tmpfs", card.c_str(), "tmpfs", MS_REMOUNT, "size=8m"), 0)
      << std::strerror(errno);
  const auto again = Record("/record/start", "again");
  ASSERT_TRUE(again && again->first) << (again ? again->second : "no reply");
  SleepSeconds(1.3);
  const auto stop2 = Record("/record/stop", nullptr);
  ASSERT_TRUE(stop2 && stop2->first) << (stop2 ? stop2->second : "no reply");
  WavData second = ReadWav(again->second);
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_GT(second.frames, static_cast<int64_t>(1.0 * kRate));
  status = client_->Status(1000);
  ASSERT_TRUE(status);
  const double xruns = (*status)["xruns"];
  // The log says why (non-RT lines are written at once: no need to stop the firmware first).
  EXPECT_NE(Log().find("No space left on device"), std::string::npos) << "the log says why";
  process_.Stop(SIGTERM, 10.0);
  // Compared once the firmware closed the card: the capture's writer (a normal-priority thread
  // of the virtual card) may lag behind under load while it runs.
  std::string cap_error;
  const auto cap = ReadCaptureRaw(capture, &cap_error);
  ASSERT_TRUE(cap_error.empty()) << cap_error;
  const Match m = MatchAgainstCapture(wav.interleaved, cap);
  EXPECT_LE(m.unmatched, 3 * static_cast<int64_t>(xruns));  // an xrun drops unplayed blocks
  std::printf(
      "[ measure  ] disk full: take stopped cleanly at %.3f s (%llu bytes, sizes exact: %s), "
      "%lld/%lld blocks bit-exact, audio went on (%.0f periods in 0.5 s, %.0f xruns), new take "
      "of %.3f s after space returned\n",
      static_cast<double>(wav.frames) / kRate, static_cast<unsigned long long>(sizes.file_size),
      sizes.exact ? "yes" : "no", static_cast<long long>(m.matched),
      static_cast<long long>(m.blocks), played, xruns, static_cast<double>(second.frames) / kRate);
}

}  // namespace
}  // namespace chronus::test
