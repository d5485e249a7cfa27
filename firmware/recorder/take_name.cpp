#include "firmware/recorder/take_name.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

namespace chronus::firmware {
namespace {

bool IsAllowed(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EndsWithWavIgnoringCase(std::string_view s) {
  constexpr std::string_view kExt = ".wav";
  if (s.size() < kExt.size()) return false;
  const std::string_view tail = s.substr(s.size() - kExt.size());
  for (std::size_t i = 0; i < kExt.size(); ++i) {
    if (ToLower(tail[i]) != kExt[i]) return false;
  }
  return true;
}

}  // namespace

std::string SanitizeTakeStem(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    if (IsAllowed(c)) {
      out.push_back(c);
    } else if (out.empty() || out.back() != '_') {
      out.push_back('_');
    }
  }
  // Leading '.', '-', '_' go (hidden files, option-like names, leftovers of "../").
  const std::size_t first = out.find_first_not_of("._-");
  out.erase(0, first == std::string::npos ? out.size() : first);
  while (EndsWithWavIgnoringCase(out)) out.resize(out.size() - 4);
  if (out.size() > kMaxTakeStemLength) out.resize(kMaxTakeStemLength);
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string DefaultTakeStem(std::time_t when) {
  std::tm local{};
  if (localtime_r(&when, &local) == nullptr) return "take";
  std::array<char, 32> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "take-%Y%m%d-%H%M%S", &local);
  if (n == 0) return "take";
  return std::string(buf.data(), n);
}

std::string DefaultTakeStem(uint64_t sequence, std::time_t when) {
  char seq[24];
  std::snprintf(seq, sizeof(seq), "%04llu", static_cast<unsigned long long>(sequence));
  const std::string stamp = DefaultTakeStem(when);  // "take-YYYYmmdd-HHMMSS" or "take"
  return "take-" + std::string(seq) + (stamp.size() > 4 ? stamp.substr(4) : std::string());
}

uint64_t NextTakeSequence(const std::filesystem::path& dir) {
  uint64_t largest = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with("take-")) continue;
    uint64_t n = 0;
    const char* first = name.data() + 5;
    const char* last = name.data() + name.size();
    const auto r = std::from_chars(first, last, n);
    if (r.ec != std::errc() || r.ptr == first || r.ptr == last || (*r.ptr != '-' && *r.ptr != '.'))
      continue;
    // A date-only name ("take-20240917-...") is not a sequence number.
    if (r.ptr - first >= 8) continue;
    largest = std::max(largest, n);
  }
  return largest + 1;
}

std::string TakeFileName(std::string_view stem, uint32_t attempt) {
  std::string out(stem);
  if (attempt > 0) {
    out += '-';
    out += std::to_string(attempt);
  }
  out += ".wav";
  return out;
}

}  // namespace chronus::firmware
