#include "gencache/rehost/url_policy.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cstdint>
#include <cstring>
#include <optional>

namespace gencache::rehost {
namespace {

constexpr std::size_t kMaxUrlBytes = 8 * 1024;

using Address = std::array<unsigned char, 16>;

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// An IP literal as 16 bytes, IPv4 in its ::ffff: mapped form; brackets
// around an IPv6 literal are accepted.
std::optional<Address> ParseIpLiteral(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string z(text);
  Address out{};
  in_addr v4{};
  if (inet_pton(AF_INET, z.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, z.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

bool IsMappedV4(const Address& a) {
  static constexpr unsigned char kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.data(), kPrefix, 12) == 0;
}

// Canonical text of an address: dotted quad for IPv4 (mapped or not), RFC
// 5952 form for IPv6.
std::string AddressText(const Address& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (IsMappedV4(a)) {
    inet_ntop(AF_INET, a.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  }
  return buf;
}

// A host name as written in config or a URL: lower case, no trailing dot,
// letters, digits, '-', '_' and '.' only.
std::optional<std::string> NormalizeHostName(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 253) return std::nullopt;
  std::string out = AsciiLower(host);
  for (char c : out) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return std::nullopt;
  }
  if (out.front() == '.' || out.find("..") != std::string::npos) return std::nullopt;
  return out;
}

bool InternalV4(std::uint32_t a) {
  auto in = [a](std::uint32_t net, int bits) {
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return (a & mask) == net;
  };
  return in(0x00000000, 8)      // "this network"
         || in(0x0a000000, 8)   // 10/8 private
         || in(0x64400000, 10)  // 100.64/10 CGNAT
         || in(0x7f000000, 8)   // loopback
         || in(0xa9fe0000, 16)  // link-local, cloud metadata 169.254.169.254
         || in(0xac100000, 12)  // 172.16/12 private
         || in(0xc0000000, 24)  // 192.0.0/24 IETF protocol assignments
         || in(0xc0a80000, 16)  // 192.168/16 private
         || in(0xc6120000, 15)  // 198.18/15 benchmarking
         || in(0xe0000000, 4)   // multicast
         || in(0xf0000000, 4);  // reserved, incl. 255.255.255.255 broadcast
}

std::uint32_t V4At(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

bool InternalV6(const Address& b) {
  const bool first12_zero =
      std::all_of(b.begin(), b.begin() + 12, [](unsigned char c) { return c == 0; });
  // ::, ::1 and IPv4-compatible ::a.b.c.d all fall in 0.0.0.0/8 or are
  // judged as the IPv4 address they embed.
  if (first12_zero) return InternalV4(V4At(b.data() + 12));
  if (IsMappedV4(b)) return InternalV4(V4At(b.data() + 12));
  // NAT64 64:ff9b::/96 embeds an IPv4 address; 64:ff9b:1::/48 is local use.
  static constexpr unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b.data(), kNat64, 12) == 0) return InternalV4(V4At(b.data() + 12));
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 &&
      b[5] == 0x01) {
    return true;
  }
  // 6to4 2002::/16 embeds an IPv4 address in bits 16-47.
  if (b[0] == 0x20 && b[1] == 0x02) return InternalV4(V4At(b.data() + 2));
  if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10 link-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return true;  // fec0::/10 site-local
  if (b[0] == 0xff) return true;                           // multicast
  return false;
}

// The address of a socket address, IPv4 as mapped; nullopt for other
// families or a short length.
std::optional<Address> AddressOf(const sockaddr* address, socklen_t length) {
  if (address == nullptr) return std::nullopt;
  Address out{};
  if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &in.sin_addr, 4);
    return out;
  }
  if (address->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof in6);
    std::memcpy(out.data(), &in6.sin6_addr, 16);
    return out;
  }
  return std::nullopt;
}

}  // namespace

bool IsInternalAddress(const sockaddr* address, socklen_t length) {
  const std::optional<Address> a = AddressOf(address, length);
  return !a || InternalV6(*a);
}

absl::StatusOr<UrlPolicy> UrlPolicy::Create(const UrlPolicyOptions& options) {
  UrlPolicy policy;
  for (const std::string& base : options.provider_base_urls) {
    auto parsed = boost::urls::parse_uri(base);
    if (!parsed || (parsed->scheme_id() != boost::urls::scheme::http &&
                    parsed->scheme_id() != boost::urls::scheme::https)) {
      return absl::InvalidArgumentError(
          fmt::format("provider base URL '{}' is not an http(s) URL", base));
    }
    const boost::urls::url_view& u = *parsed;
    std::string host;
    if (u.host_type() == boost::urls::host_type::name) {
      auto name = NormalizeHostName(u.host());
      if (!name) {
        return absl::InvalidArgumentError(
            fmt::format("provider base URL '{}' has an unusable host", base));
      }
      host = *name;
    } else if (u.host_type() == boost::urls::host_type::ipv4 ||
               u.host_type() == boost::urls::host_type::ipv6) {
      auto ip = ParseIpLiteral(std::string(u.encoded_host()));
      if (!ip) {
        return absl::InvalidArgumentError(
            fmt::format("provider base URL '{}' has an unusable host", base));
      }
      host = AddressText(*ip);
    } else {
      return absl::InvalidArgumentError(fmt::format("provider base URL '{}' has no host", base));
    }
    policy.provider_hosts_.insert(std::move(host));
  }
  for (const std::string& entry : options.provider_output_hosts) {
    std::string_view name = entry;
    const bool wildcard = name.substr(0, 2) == "*.";
    if (wildcard) name.remove_prefix(2);
    auto normalized = NormalizeHostName(name);
    if (!normalized || (wildcard && normalized->find('.') == std::string::npos)) {
      return absl::InvalidArgumentError(fmt::format(
          "provider output host '{}' is neither a host name nor a '*.domain' wildcard", entry));
    }
    if (wildcard) {
      policy.provider_suffixes_.push_back("." + *normalized);
    } else {
      policy.provider_hosts_.insert(*normalized);
    }
  }
  for (const std::string& entry : options.allowed_hosts) {
    if (auto ip = ParseIpLiteral(entry)) {
      policy.allowed_addresses_.insert(*ip);
      continue;
    }
    std::string_view name = entry;
    const bool wildcard = name.substr(0, 2) == "*.";
    if (wildcard) name.remove_prefix(2);
    auto normalized = NormalizeHostName(name);
    if (!normalized || (wildcard && normalized->find('.') == std::string::npos)) {
      return absl::InvalidArgumentError(fmt::format(
          "rehost.allowed_hosts entry '{}' is neither a host name, a '*.domain' wildcard nor an "
          "IP literal",
          entry));
    }
    if (wildcard) {
      policy.allowed_suffixes_.push_back("." + *normalized);
    } else {
      policy.allowed_names_.insert(*normalized);
    }
  }
  return policy;
}

bool UrlPolicy::IsProviderHost(std::string_view host) const {
  if (provider_hosts_.count(host) != 0) return true;
  for (const std::string& suffix : provider_suffixes_) {
    if (host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix) {
      return true;
    }
  }
  return false;
}

bool UrlPolicy::HostAllowedExplicitly(std::string_view host) const {
  if (allowed_names_.count(host) != 0) return true;
  for (const std::string& suffix : allowed_suffixes_) {
    if (host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix) {
      return true;
    }
  }
  if (auto ip = ParseIpLiteral(host)) return allowed_addresses_.count(*ip) != 0;
  return false;
}

absl::StatusOr<CheckedUrl> UrlPolicy::CheckUrl(std::string_view url) const {
  if (url.size() > kMaxUrlBytes) {
    return absl::InvalidArgumentError(
        fmt::format("output URL is longer than {} bytes", kMaxUrlBytes));
  }
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return absl::InvalidArgumentError("output URL is not a valid absolute URL");
  const boost::urls::url_view& u = *parsed;
  CheckedUrl checked;
  checked.scheme = AsciiLower(std::string(u.scheme()));
  if (checked.scheme != "http" && checked.scheme != "https") {
    return absl::PermissionDeniedError(fmt::format(
        "output URL scheme '{}' is refused: only http and https are fetched", checked.scheme));
  }
  if (u.has_userinfo()) {
    return absl::PermissionDeniedError("output URL with userinfo (user@host) is refused");
  }
  switch (u.host_type()) {
    case boost::urls::host_type::name: {
      const std::string encoded(u.encoded_host());
      auto name =
          encoded.find('%') == std::string::npos ? NormalizeHostName(encoded) : std::nullopt;
      if (!name) return absl::PermissionDeniedError("output URL host is not a plain host name");
      checked.host = std::move(*name);
      break;
    }
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6: {
      auto ip = ParseIpLiteral(std::string(u.encoded_host()));
      if (!ip) return absl::PermissionDeniedError("output URL host is not a usable IP literal");
      checked.host = AddressText(*ip);
      break;
    }
    default:
      return absl::PermissionDeniedError("output URL has no usable host");
  }
  if (!IsProviderHost(checked.host) && !HostAllowedExplicitly(checked.host)) {
    return absl::PermissionDeniedError(
        fmt::format("output host '{}' is neither a configured provider host nor in "
                    "rehost.allowed_hosts",
                    checked.host));
  }
  checked.path = u.path();
  return checked;
}

bool UrlPolicy::AddressAllowed(std::string_view host, const sockaddr* address,
                               socklen_t length) const {
  const std::optional<Address> a = AddressOf(address, length);
  if (!a) return false;
  if (!InternalV6(*a)) return true;
  return HostAllowedExplicitly(host) || allowed_addresses_.count(*a) != 0;
}

}  // namespace gencache::rehost
