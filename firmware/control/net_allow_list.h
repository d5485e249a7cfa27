// An allow-list of sender networks for the OSC server (board file [osc] allow = ["127.0.0.0/8",
// "192.168.1.0/24", "fd00::/8"]): IPv4 and IPv6 networks in CIDR notation. IPv4 addresses are
// held as IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), so that an IPv4 sender is matched whether
// it reaches a dual-stack (IPv6) socket or an IPv4 one. Pure; no allocation after Add.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chronus::firmware {

/// Add: at start-up (non-RT). Allows: any thread, once the list is built (read-only).
class NetAllowList {
 public:
  /// Adds a network: "a.b.c.d/n" (n 0..32), "a.b.c.d" (= /32), "x:y::/n" (n 0..128), "::1".
  /// Returns "" or why it is not a network.
  std::string Add(std::string_view cidr);
  /// True when no network was added (then every sender is allowed).
  bool empty() const { return networks_.empty(); }
  size_t size() const { return networks_.size(); }
  /// Whether `host`, a numeric address as liblo reports a sender ("127.0.0.1", "::1",
  /// "::ffff:10.0.0.2"), lies in one of the networks. An empty list allows everyone; an address
  /// that does not parse is refused.
  bool Allows(std::string_view host) const;

  /// Parses a numeric IPv4 or IPv6 address into IPv6 form (IPv4 as ::ffff:a.b.c.d); `out` may be
  /// null (only checks).
  static bool ParseAddress(std::string_view text, std::array<uint8_t, 16>* out);

 private:
  struct Network {
    std::array<uint8_t, 16> address;
    int prefix_bits;  // of the 128
  };
  std::vector<Network> networks_;
};

}  // namespace chronus::firmware
