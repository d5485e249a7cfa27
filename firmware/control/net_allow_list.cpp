#include "firmware/control/net_allow_list.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace chronus::firmware {

bool NetAllowList::ParseAddress(std::string_view text, std::array<uint8_t, 16>* out) {
  if (text.empty() || text.size() > 63) return false;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<uint8_t, 16> bytes{};
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    std::memcpy(bytes.data() + 12, &v4, 4);
  } else if (inet_pton(AF_INET6, buf, &v6) == 1) {
    std::memcpy(bytes.data(), &v6, 16);
  } else {
    return false;
  }
  if (out != nullptr) *out = bytes;
  return true;
}

std::string NetAllowList::Add(std::string_view cidr) {
  const size_t slash = cidr.find('/');
  const std::string_view address = cidr.substr(0, slash);
  Network network{};
  if (!ParseAddress(address, &network.address)) {
    return "'" + std::string(cidr.substr(0, 64)) + "' is not an IPv4 or IPv6 address/prefix";
  }
  const bool v4 = address.find(':') == std::string_view::npos;
  const int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = cidr.substr(slash + 1);
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (error != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
        bits < 0 || bits > max_bits) {
      return "'" + std::string(cidr.substr(0, 64)) + "': prefix length must be 0.." +
             std::to_string(max_bits);
    }
  }
  network.prefix_bits = v4 ? bits + 96 : bits;
  networks_.push_back(network);
  return {};
}

bool NetAllowList::Allows(std::string_view host) const {
  if (networks_.empty()) return true;
  std::array<uint8_t, 16> address{};
  if (!ParseAddress(host, &address)) return false;
  for (const Network& network : networks_) {
    int bits = network.prefix_bits;
    size_t i = 0;
    for (; bits >= 8; bits -= 8, ++i) {
      if (address[i] != network.address[i]) break;
    }
    if (bits >= 8) continue;  // a whole byte differed
    if (bits == 0) return true;
    const auto mask = static_cast<uint8_t>(0xff << (8 - bits));
    if ((address[i] & mask) == (network.address[i] & mask)) return true;
  }
  return false;
}

}  // namespace chronus::firmware
