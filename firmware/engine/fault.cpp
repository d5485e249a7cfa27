#include "firmware/engine/fault.h"

#include <cstdlib>

namespace chronus::firmware {

namespace {

bool ParseNumber(const std::string& text, double* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && *value >= 0;
}

}  // namespace

std::string ParseFault(const std::string& text, FaultSpec* spec) {
  const std::string usage = "--fault " + text +
                            ": expected stall:<worker>:<ms>@<seconds>, spin:<worker>@<seconds>, "
                            "throw:<worker>@<seconds> or stall-audio:<ms>@<seconds>";
  const size_t at = text.rfind('@');
  if (at == std::string::npos) return usage;
  FaultSpec out;
  if (!ParseNumber(text.substr(at + 1), &out.at_s)) return usage;
  const std::string head = text.substr(0, at);
  const size_t colon = head.find(':');
  if (colon == std::string::npos) return usage;
  const std::string kind = head.substr(0, colon);
  std::string rest = head.substr(colon + 1);
  if (kind == "stall-audio") {
    if (!ParseNumber(rest, &out.stall_ms)) return usage;
    out.type = FaultType::kStallAudio;
    *spec = out;
    return {};
  }
  if (kind == "stall") {
    const size_t second = rest.find(':');
    if (second == std::string::npos || !ParseNumber(rest.substr(second + 1), &out.stall_ms)) {
      return usage;
    }
    rest = rest.substr(0, second);
    out.type = FaultType::kStall;
  } else if (kind == "spin") {
    out.type = FaultType::kSpin;
  } else if (kind == "throw") {
    out.type = FaultType::kThrow;
  } else {
    return usage;
  }
  double worker = 0;
  if (!ParseNumber(rest, &worker) || worker != static_cast<int>(worker) || worker > 255) {
    return usage;
  }
  out.worker = static_cast<int>(worker);
  *spec = out;
  return {};
}

}  // namespace chronus::firmware
