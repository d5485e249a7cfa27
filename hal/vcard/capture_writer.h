// The virtual card's capture writer: a plugin-owned thread that drains the CaptureRing into a
// WAV file with libsndfile, so that the client's audio thread never does file I/O.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include <sndfile.h>

#include "hal/vcard/capture_ring.h"

namespace chronus::hal::vcard {

/// Writes the records of a CaptureRing to `path` (WAV: S16 -> 16-bit PCM, S32 -> 32-bit PCM,
/// FLOAT -> 32-bit float) and the timeline origin t0 to `path + ".t0"` (one line: integer
/// CLOCK_MONOTONIC ns). Each kFormat record (re)creates the file. A kContinue record reopens the
/// existing file and appends to it, first padding it with silence (or truncating it) to the
/// record's frame count; if the file is missing or in another format, it is recreated with that
/// many frames of silence, so that frame f keeps its time t0 + f / rate either way. The header is
/// updated about every 100 ms while frames arrive, so readers see a valid file during a run; it
/// is finalised by Stop(). Errors are printed to stderr once and further audio is discarded.
class CaptureWriter {
 public:
  /// Non-RT. Starts the writer thread. Throws std::system_error if it cannot start.
  CaptureWriter(std::string path, CaptureRing* ring);
  ~CaptureWriter();
  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  /// Non-RT, owner thread. Writes everything pushed so far, closes the file and joins the
  /// thread. Idempotent.
  void Stop();

  /// Returns 0 if a capture file can be written at `path`, else -errno. With `truncate` the file
  /// is created empty; without, an existing file is left as it is (a capture to continue).
  /// Non-RT; used to fail snd_pcm_open early instead of failing silently later.
  static int CheckWritable(const std::string& path, bool truncate = true);

 private:
  void Run();
  void Drain();
  void Handle(const RecordHeader& header);
  void OpenFile(const CaptureFormat& format);
  void ContinueFile(const Continuation& continuation);
  void CloseFile();
  void WriteBytes(const uint8_t* bytes, size_t count);
  void WriteSilence(uint64_t frames);
  void WriteT0(int64_t t0_ns);

  const std::string path_;
  CaptureRing* const ring_;
  std::atomic<bool> stop_{false};
  // Writer thread only.
  SNDFILE* file_ = nullptr;
  CaptureFormat format_;
  bool failed_ = false;
  uint64_t frames_since_header_ = 0;
  std::thread thread_;  // started last, once every member above is initialised
};

}  // namespace chronus::hal::vcard
