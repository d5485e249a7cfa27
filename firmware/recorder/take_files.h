// Take files in the recordings directory: creating a take without ever replacing a file, and the
// start-up recovery of takes left unfinished by a crash or a power cut. Non-RT, may block.
#pragma once

#include "firmware/recorder/recorder_types.h"
#include "firmware/recorder/wav_layout.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace chronus::firmware {

struct CreatedTakeFile {
  int fd = -1;  // open read/write, flock'ed (LOCK_EX) so the recovery leaves it alone
  std::string path;
  int err = 0;  // errno of the failure (0 on success)
  std::string error;
};

// Creates "<dir>/<stem>.wav" (or "<stem>-1.wav", "-2" ... up to "-9999": the first name for
// which neither the take nor its "<name>.wav.gaps" sidecar exists). The file is built unnamed
// (O_TMPFILE) with `header` written and fdatasync'ed, then linked in (linkat never replaces an
// existing name), and the directory is fsync'ed: the name never appears without a valid header,
// and survives a power cut. Falls back to O_CREAT|O_EXCL where O_TMPFILE is not supported.
CreatedTakeFile CreateTakeFile(const std::filesystem::path& dir, const std::string& stem,
                               const wav::TakeHeader& header);

// fsync of a directory (makes created/renamed entries durable). Errors are ignored.
void SyncDirectory(const std::filesystem::path& dir);

// This boot's /proc/sys/kernel/random/boot_id ("" if unavailable).
std::string ReadBootId();

// Finds Chronus takes in `dir` (not recursive) whose header says they were never finished (a
// crash or power cut during the take) and repairs each in place; the audio is never rewritten:
//  - same boot (the process died, the page cache survived): every whole frame in the file is
//    kept, including audio written after the last header update;
//  - another boot (power cut, kernel crash): only the audio the header covers is kept, since
//    audio past it was never confirmed by fdatasync; the unconfirmed tail is cut off.
// Blocks preallocated past the end are released, the gap markers are rebuilt from the sidecar,
// and the header is rewritten (marked recovered) after the audio is durable, so a crash during
// the recovery leaves a valid file that the next recovery finishes. Files locked by a running
// take, other WAV files and finished takes are left alone. Each result is checked by opening
// it with libsndfile. Returns one entry per unfinished take found, in path order.
std::vector<RecoveredTake> RecoverTakes(const std::filesystem::path& dir,
                                        const std::string& boot_id,
                                        uint64_t riff_limit = wav::kRiffLimit);

}  // namespace chronus::firmware
