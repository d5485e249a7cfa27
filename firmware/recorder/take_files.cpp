#include "firmware/recorder/take_files.h"

#include "firmware/recorder/take_name.h"

#include <fcntl.h>
#include <sndfile.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <system_error>

namespace chronus::firmware {
namespace {

constexpr uint32_t kMaxNameAttempts = 10000;

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 || errno != ENOENT;
}

bool PwriteAll(int fd, const uint8_t* data, std::size_t bytes, uint64_t offset) {
  std::size_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::pwrite(fd, data + done, bytes - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool Datasync(int fd) {
  for (;;) {
    if (::fdatasync(fd) == 0) return true;
    if (errno != EINTR) return false;
  }
}

std::string Seconds(uint64_t frames, uint32_t rate) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(frames) / rate);
  return buf;
}

CreatedTakeFile Failure(const std::string& what, int err) {
  CreatedTakeFile r;
  r.err = err;
  r.error = what + ": " + ErrnoText(err);
  return r;
}

// Links the unnamed file `fd` at `path`; false with errno (EEXIST if the name is taken).
bool LinkTmpfile(int fd, const std::string& path) {
  if (::linkat(fd, "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH) == 0) return true;
  if (errno != ENOENT && errno != EPERM && errno != EINVAL) return false;
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH (before Linux 6.10); /proc works without it.
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  return ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0;
}

}  // namespace

void SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

std::string ReadBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id.size() == wav::kBootIdLength ? id : std::string();
}

CreatedTakeFile CreateTakeFile(const std::filesystem::path& dir, const std::string& stem,
                               const wav::TakeHeader& header) {
  std::vector<uint8_t> block(wav::kHeaderBytes);
  wav::BuildHeader(header, block);

  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  const bool unnamed = fd >= 0;
  if (!unnamed && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return Failure("cannot create a take in " + dir.string(), errno);
  }
  // Locked before it has a name: a recovery pass never mistakes it for a crashed take.
  if (unnamed) (void)::flock(fd, LOCK_EX | LOCK_NB);
  if (unnamed && (!PwriteAll(fd, block.data(), block.size(), 0) || !Datasync(fd))) {
    const int err = errno;
    ::close(fd);
    return Failure("cannot write a take in " + dir.string(), err);
  }

  std::string path;
  bool named = false;
  for (uint32_t attempt = 0; attempt < kMaxNameAttempts && !named; ++attempt) {
    path = (dir / TakeFileName(stem, attempt)).string();
    if (Exists(path) || Exists(path + ".gaps")) continue;
    if (unnamed) {
      if (LinkTmpfile(fd, path)) {
        named = true;
      } else if (errno != EEXIST) {
        const int err = errno;
        ::close(fd);
        return Failure("cannot create " + path, err);
      }
      continue;
    }
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return Failure("cannot create " + path, errno);
    }
    named = true;
    (void)::flock(fd, LOCK_EX | LOCK_NB);
    if (!PwriteAll(fd, block.data(), block.size(), 0) || !Datasync(fd)) {
      const int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return Failure("cannot write " + path, err);
    }
  }
  if (!named) {
    if (fd >= 0) ::close(fd);
    CreatedTakeFile r;
    r.err = EEXIST;
    r.error = "no free file name for take \"" + stem + "\"";
    return r;
  }
  SyncDirectory(dir);
  CreatedTakeFile r;
  r.fd = fd;
  r.path = path;
  return r;
}

namespace {

// Repairs one unfinished take (fd open, locked); fills `r`. False (errno) if a write failed.
bool Repair(int fd, const wav::TakeHeader& found, uint64_t file_size, const std::string& boot_id,
            uint64_t riff_limit, RecoveredTake& r) {
  const uint64_t bpf = found.bytes_per_frame();
  const uint64_t in_file = file_size > wav::kDataOffset ? file_size - wav::kDataOffset : 0;
  const uint64_t whole = in_file / bpf * bpf;
  r.same_boot = !boot_id.empty() && found.boot_id == boot_id;
  r.header_frames = found.frames();
  uint64_t keep = found.data_bytes;
  if (found.state == wav::TakeState::kOpen) {
    // Same boot: the file holds exactly what the process wrote (page cache). Otherwise only
    // what the header covers was confirmed by fdatasync before the header was written.
    if (r.same_boot) keep = whole;
    keep = std::min(keep, whole);
    r.discarded_bytes = in_file > keep ? in_file - keep : 0;
  } else {  // kFinishing: the audio is final; what follows it is a partial gap trailer
    keep = std::min(keep, whole);
  }
  r.frames = keep / bpf;

  std::vector<wav::GapMark> gaps;
  {
    std::ifstream in(r.path.string() + ".gaps", std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& g : wav::ParseGapLog(text)) {
      if (g.frame <= r.frames) gaps.push_back(g);
    }
  }
  r.gaps = gaps.size();

  wav::TakeHeader h = found;
  h.data_bytes = keep;
  h.trailer_bytes = 0;
  std::vector<uint8_t> block(wav::kHeaderBytes);
  auto write_header = [&](wav::TakeState state) {
    h.state = state;
    h.rf64 = h.rf64 || wav::NeedsRf64(h.file_bytes(), riff_limit);
    wav::BuildHeader(h, block);
    return PwriteAll(fd, block.data(), block.size(), 0) && Datasync(fd);
  };
  // 1. Cut to the kept audio (also releases preallocated blocks) and make it durable.
  if (::ftruncate(fd, static_cast<off_t>(h.audio_end())) != 0 || !Datasync(fd)) return false;
  // 2. Gap trailer, announced first by the 'F' state so that a crash cannot mistake it for audio.
  if (!gaps.empty()) {
    const std::vector<uint8_t> trailer = wav::BuildGapTrailer(gaps, h.sample_rate);
    if (!write_header(wav::TakeState::kFinishing)) return false;
    if (!PwriteAll(fd, trailer.data(), trailer.size(), h.audio_end()) || !Datasync(fd)) {
      return false;
    }
    h.trailer_bytes = trailer.size();
  }
  // 3. The header covering it all, marked recovered.
  return write_header(wav::TakeState::kRecovered);
}

}  // namespace

std::vector<RecoveredTake> RecoverTakes(const std::filesystem::path& dir,
                                        const std::string& boot_id, uint64_t riff_limit) {
  std::vector<RecoveredTake> out;
  std::error_code ec;
  std::vector<std::filesystem::path> candidates;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code sec;
    if (it->symlink_status(sec).type() == std::filesystem::file_type::regular &&
        it->path().extension() == ".wav") {
      candidates.push_back(it->path());
    }
  }
  std::sort(candidates.begin(), candidates.end());
  for (const auto& path : candidates) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // a take being recorded right now
      ::close(fd);
      continue;
    }
    std::vector<uint8_t> block(wav::kHeaderBytes);
    struct stat st {};
    const bool read_ok =
        ::pread(fd, block.data(), block.size(), 0) == static_cast<ssize_t>(block.size()) &&
        ::fstat(fd, &st) == 0;
    const auto found = read_ok ? wav::ParseHeader(block) : std::nullopt;
    if (!found || found->state == wav::TakeState::kDone ||
        found->state == wav::TakeState::kRecovered) {
      ::close(fd);
      continue;
    }
    RecoveredTake r;
    r.path = path;
    const bool repaired =
        Repair(fd, *found, static_cast<uint64_t>(st.st_size), boot_id, riff_limit, r);
    const int err = errno;
    ::close(fd);

    std::string check;
    if (repaired) {
      SF_INFO info{};
      SNDFILE* sf = sf_open(path.c_str(), SFM_READ, &info);
      if (sf == nullptr) {
        check = std::string("libsndfile cannot open it: ") + sf_strerror(nullptr);
      } else {
        if (static_cast<uint64_t>(info.frames) != r.frames) {
          check = "libsndfile reads " + std::to_string(info.frames) + " frames, expected " +
                  std::to_string(r.frames);
        }
        sf_close(sf);
      }
    }
    r.ok = repaired && check.empty();
    const uint32_t rate = found->sample_rate;
    r.message = "unfinished take " + path.string() + " (left by a " +
                (r.same_boot ? "crash of the firmware" : "power cut or reboot") + "): ";
    if (!repaired) {
      r.message += "repair failed: " + ErrnoText(err);
    } else if (!check.empty()) {
      r.message += "repaired, but " + check;
    } else {
      r.message += "repaired, keeps " + Seconds(r.frames, rate) + " s (its header covered " +
                   Seconds(r.header_frames, rate) + " s)";
      if (r.discarded_bytes > 0) {
        r.message += ", " + std::to_string(r.discarded_bytes) +
                     (r.same_boot ? " bytes of a partial frame cut"
                                  : " bytes written after the last confirmed flush cut");
      }
      if (r.gaps > 0) r.message += ", " + std::to_string(r.gaps) + " gap marker(s) restored";
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace chronus::firmware
