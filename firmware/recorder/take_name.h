// File names for recorder takes: sanitizing user-given names and building the default name.
//
// All functions are pure, non-RT (they allocate) and may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>

namespace chronus::firmware {

// Longest stem (name without "-N" suffix and ".wav"), in bytes. Keeps every generated file name
// far below NAME_MAX (255) on ext4 and vfat.
inline constexpr std::size_t kMaxTakeStemLength = 64;

// Turns a user-given take name into a safe file-name stem (no extension, no suffix).
//  - Every byte outside [A-Za-z0-9._-] (including '/', '\\', spaces, control characters and each
//    byte of a UTF-8 sequence) becomes '_'; runs of such replacements collapse to one '_'.
//  - Leading '.', '-' and '_' are removed (no hidden files, nothing that looks like an option).
//  - A trailing ".wav" (any case) is removed; it is appended again by TakeFileName.
//  - Trailing '.' are removed; the result is cut to kMaxTakeStemLength bytes.
// Because '/' can never survive, the stem always names an entry directly inside the recordings
// directory; "." and ".." are impossible (leading dots are stripped). Returns an empty string
// if nothing usable is left (the caller then uses DefaultTakeStem). Never fails.
std::string SanitizeTakeStem(std::string_view name);

// "take-YYYYmmdd-HHMMSS" for `when` (seconds since the epoch) in local time. Never fails (falls
// back to "take" if the time cannot be converted).
std::string DefaultTakeStem(std::time_t when);

// "take-NNNN-YYYYmmdd-HHMMSS": the name of takes started without a name. The sequence number
// (at least 4 digits) comes first because a Pi has no real-time clock: after a reboot without
// network time the clock may be behind, but the numbers still increase (norns #1197 / #1026).
std::string DefaultTakeStem(uint64_t sequence, std::time_t when);

// The sequence number for the next unnamed take in `dir`: 1 + the largest N of the files named
// "take-N-..." or "take-N.wav" in it (1 if none). Scanning the directory (not a counter kept
// elsewhere) keeps it right after a crash, a reset of saved state, or a card moved between boxes.
uint64_t NextTakeSequence(const std::filesystem::path& dir);

// File name for attempt `attempt` (0, 1, 2 ...): "<stem>.wav", "<stem>-1.wav", "<stem>-2.wav" ...
// `stem` must come from SanitizeTakeStem or DefaultTakeStem.
std::string TakeFileName(std::string_view stem, uint32_t attempt);

}  // namespace chronus::firmware
