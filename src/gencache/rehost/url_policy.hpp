#pragma once

#include <sys/socket.h>

#include <array>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gencache::rehost {

// A URL that UrlPolicy::CheckUrl accepted.
struct CheckedUrl {
  std::string scheme;  // "http" or "https"
  // Lower case without a trailing dot; IP literals in canonical text form
  // (IPv6 without brackets).
  std::string host;
  std::string path;  // percent-decoded
};

struct UrlPolicyOptions {
  // Base URLs of the configured providers (`providers.NAME.base_url`). Their
  // hosts may be fetched, but a provider host that resolves to a private or
  // loopback address is still refused unless it is also in allowed_hosts.
  std::vector<std::string> provider_base_urls;
  // `providers.NAME.output_hosts`: where the providers serve their outputs
  // ("replicate.delivery", "*.replicate.delivery"). Like provider hosts, they
  // may be fetched from public addresses only.
  std::vector<std::string> provider_output_hosts;
  // `rehost.allowed_hosts`: more hosts outputs may come from. Each entry is a
  // host name ("cdn.example.com"), a wildcard for its subdomains
  // ("*.replicate.delivery", which does not match the bare domain) or an IP
  // literal ("127.0.0.1", "::1", "[::1]"). Listing a host or an address is
  // also the operator's explicit consent to fetch it from a private or
  // loopback address.
  std::vector<std::string> allowed_hosts;
};

// Decides which output URLs the gateway may download, so that a provider
// response (or whoever controls its content) cannot make the gateway fetch
// internal services (SSRF). Two checks, both required:
//  - CheckUrl, before any request and again for every redirect target:
//    http or https, no userinfo, and the host is a provider host or allowed;
//  - AddressAllowed, for every address the host resolves to, at connect time
//    (after DNS, which defeats DNS rebinding): loopback, private, link-local
//    (incl. cloud metadata), CGNAT, multicast, reserved and the IPv6
//    equivalents are refused unless the host or the address is explicitly in
//    allowed_hosts.
// Immutable after Create; thread-safe.
class UrlPolicy {
 public:
  // InvalidArgument when a base URL is not an http(s) URL with a host, or an
  // allowed_hosts entry is neither a host name nor an IP literal.
  static absl::StatusOr<UrlPolicy> Create(const UrlPolicyOptions& options);

  // InvalidArgument when `url` is not an absolute URL (or is over 8 KiB);
  // PermissionDenied when it is one the policy refuses (scheme, userinfo,
  // host). Messages name the host, never the whole URL (signed URLs carry
  // credentials in their query).
  absl::StatusOr<CheckedUrl> CheckUrl(std::string_view url) const;

  // Whether a connection to `address` (of `length` bytes) may be opened for
  // `host` (as in CheckedUrl::host).
  bool AddressAllowed(std::string_view host, const sockaddr* address, socklen_t length) const;

 private:
  UrlPolicy() = default;
  bool HostAllowedExplicitly(std::string_view host) const;

  bool IsProviderHost(std::string_view host) const;

  std::set<std::string, std::less<>> provider_hosts_;
  std::vector<std::string> provider_suffixes_;  // ".replicate.delivery" for "*.replicate.delivery"

  std::set<std::string, std::less<>> allowed_names_;
  std::vector<std::string> allowed_suffixes_;                  // ".example.com" for "*.example.com"
  std::set<std::array<unsigned char, 16>> allowed_addresses_;  // IPv4 as ::ffff:a.b.c.d
};

// True for an address outputs are never fetched from by default: loopback,
// private (10/8, 172.16/12, 192.168/16), link-local (169.254/16), CGNAT
// (100.64/10), 0/8, 192.0.0/24, benchmarking (198.18/15), multicast,
// reserved and broadcast (240/4); IPv6 ::, ::1, fc00::/7, fe80::/10,
// fec0::/10, ff00::/8, and IPv4-mapped, IPv4-compatible, NAT64 and 6to4
// forms of internal IPv4 addresses. Any family other than IPv4 and IPv6 is
// internal too.
bool IsInternalAddress(const sockaddr* address, socklen_t length);

}  // namespace gencache::rehost
