// Crash-safe file replacement and whole-file reads for the state directory.
//
// All functions are non-RT: they allocate and block on the disk (fsync may take tens of ms on
// an SD card). Call them from control or start-up threads only, never from the audio thread or
// a DSP worker. They never throw; errors are returned as human-readable text.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace chronus::firmware {

/// Replaces the content of `path` with `bytes` so that a kill -9 or a power cut at any moment
/// never leaves a half-written `path`:
///  1. writes `<path>.tmp` (O_CREAT|O_TRUNC|O_CLOEXEC, mode 0644), all bytes, then fsync;
///  2. if `keep_previous` and `path` exists, renames `path` to `<path>.prev` (the previous
///     generation, kept as a fallback for readers);
///  3. renames `<path>.tmp` to `path`, then fsyncs the directory so the renames are durable.
/// Between steps 2 and 3 `path` does not exist and `<path>.prev` holds the last complete
/// content; readers must then use `<path>.prev` (LoadPatch does). Without `keep_previous`, step 3
/// replaces `path` atomically (it is never missing).
/// The parent directory must exist. Calls for the same `path` must not run concurrently (they
/// share `<path>.tmp`); callers serialise them. Returns "" on success, else an error naming the
/// file and the failing step (e.g. "cannot write /s/patch.toml.tmp: No space left on device");
/// on failure `<path>.tmp` is removed and `path` keeps its old content.
std::string WriteFileAtomically(const std::filesystem::path& path, std::string_view bytes,
                                bool keep_previous = true);

/// fsyncs directory `dir` (makes renames, creations and removals in it durable). Returns "" or
/// an error message.
std::string FsyncDirectory(const std::filesystem::path& dir);

/// Result of ReadWholeFile: `exists` is false when the file is absent (ENOENT); `error` is set
/// for any other failure (permissions, I/O error, a directory in the way).
struct FileRead {
  bool exists = false;
  std::string bytes;
  std::string error;
};

/// Reads a whole file (up to 1 MiB; larger files are an error: state files are small).
FileRead ReadWholeFile(const std::filesystem::path& path);

}  // namespace chronus::firmware
