#include "gencache/rehost/url_policy.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

namespace gencache::rehost {
namespace {

// A socket address for an IP literal (v4 or v6).
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

SockAddr Addr(const std::string& ip) {
  SockAddr a;
  sockaddr_in in{};
  if (inet_pton(AF_INET, ip.c_str(), &in.sin_addr) == 1) {
    in.sin_family = AF_INET;
    std::memcpy(&a.storage, &in, sizeof in);
    a.length = sizeof in;
    return a;
  }
  sockaddr_in6 in6{};
  EXPECT_EQ(inet_pton(AF_INET6, ip.c_str(), &in6.sin6_addr), 1) << ip;
  in6.sin6_family = AF_INET6;
  std::memcpy(&a.storage, &in6, sizeof in6);
  a.length = sizeof in6;
  return a;
}

bool Internal(const std::string& ip) {
  SockAddr a = Addr(ip);
  return IsInternalAddress(a.get(), a.length);
}

UrlPolicy Make(std::vector<std::string> allowed = {}) {
  auto policy = UrlPolicy::Create(UrlPolicyOptions{
      .provider_base_urls = {"https://api.skytells.ai/v1", "https://api.replicate.com/v1",
                             "http://127.0.0.1:8080/openai/v1"},
      .allowed_hosts = std::move(allowed)});
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

TEST(UrlPolicyTest, AcceptsProviderHostsAndAllowedHosts) {
  UrlPolicy policy = Make({"replicate.delivery", "*.cdn.example.com", "10.1.2.3", "[::1]"});
  auto ok = policy.CheckUrl("https://API.Skytells.AI./outputs/a%20b.png?expires=1");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->scheme, "https");
  EXPECT_EQ(ok->host, "api.skytells.ai");
  EXPECT_EQ(ok->path, "/outputs/a b.png");
  EXPECT_TRUE(policy.CheckUrl("HTTP://api.replicate.com:8443/x").ok());
  EXPECT_TRUE(policy.CheckUrl("https://replicate.delivery/pbxt/out-0.webp").ok());
  EXPECT_TRUE(policy.CheckUrl("https://a.cdn.example.com/x.png").ok());
  EXPECT_TRUE(policy.CheckUrl("https://b.a.cdn.example.com/x.png").ok());
  EXPECT_TRUE(policy.CheckUrl("http://10.1.2.3/x").ok());
  EXPECT_TRUE(policy.CheckUrl("http://[::1]:9000/x").ok());
  EXPECT_TRUE(policy.CheckUrl("http://[0:0::1]/x").ok()) << "IPv6 literals compare canonically";
  EXPECT_TRUE(policy.CheckUrl("http://127.0.0.1:1/files/x.png").ok());
}

TEST(UrlPolicyTest, RefusesOtherHosts) {
  UrlPolicy policy = Make({"*.cdn.example.com"});
  for (const char* url : {
           "https://evil.example.net/x.png",
           "https://cdn.example.com/x.png",  // the wildcard covers subdomains only
           "https://api.skytells.ai.evil.net/x.png",
           "https://xapi.skytells.ai/x.png",
           "http://127.0.0.2/x",
           "http://2130706433/x",  // 127.0.0.1 in another spelling
           "http://[::2]/x",
           "http://169.254.169.254/latest/meta-data/",
       }) {
    auto checked = policy.CheckUrl(url);
    EXPECT_TRUE(absl::IsPermissionDenied(checked.status())) << url << ": " << checked.status();
  }
}

TEST(UrlPolicyTest, RefusesSchemesUserinfoAndGarbage) {
  UrlPolicy policy = Make();
  for (const char* url : {"file:///etc/passwd", "gopher://api.skytells.ai:70/_x",
                          "ftp://api.skytells.ai/x", "dict://api.skytells.ai:11211/",
                          "https://user:pass@api.skytells.ai/x", "https://user@api.skytells.ai/x",
                          "http://api.skytells.ai%2e/x", "https://[v1.fe80::a]/x"}) {
    auto checked = policy.CheckUrl(url);
    EXPECT_TRUE(absl::IsPermissionDenied(checked.status())) << url << ": " << checked.status();
  }
  for (const char* url : {"", "not a url", "/relative/path.png", "https://api.skytells.ai/a b",
                          "https://api.skytells.ai\\@evil.net/", "http://[::1/x"}) {
    auto checked = policy.CheckUrl(url);
    EXPECT_TRUE(absl::IsInvalidArgument(checked.status())) << url << ": " << checked.status();
  }
  EXPECT_TRUE(absl::IsInvalidArgument(
      policy.CheckUrl("https://api.skytells.ai/" + std::string(9000, 'a')).status()));
}

TEST(UrlPolicyTest, ErrorsNameTheHostNotTheSignedUrl) {
  UrlPolicy policy = Make();
  auto checked = policy.CheckUrl("https://evil.example.net/x.png?X-Amz-Signature=secret");
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.status().message().find("evil.example.net"), absl::string_view::npos);
  EXPECT_EQ(checked.status().message().find("secret"), absl::string_view::npos);
}

TEST(UrlPolicyTest, CreateRejectsBadConfig) {
  EXPECT_FALSE(UrlPolicy::Create({.provider_base_urls = {"api.skytells.ai/v1"}}).ok());
  EXPECT_FALSE(UrlPolicy::Create({.provider_base_urls = {"file:///tmp"}}).ok());
  EXPECT_FALSE(UrlPolicy::Create({.allowed_hosts = {"exa mple.com"}}).ok());
  EXPECT_FALSE(UrlPolicy::Create({.allowed_hosts = {"*.com"}}).ok()) << "a whole TLD";
  EXPECT_FALSE(UrlPolicy::Create({.allowed_hosts = {"*"}}).ok());
  EXPECT_FALSE(UrlPolicy::Create({.allowed_hosts = {""}}).ok());
  EXPECT_FALSE(UrlPolicy::Create({.allowed_hosts = {"http://cdn.example.com"}}).ok());
  EXPECT_TRUE(UrlPolicy::Create({.allowed_hosts = {"cdn.example.com", "*.example.org", "::1",
                                                   "192.168.1.1", "[fe80::1]"}})
                  .ok());
}

TEST(UrlPolicyTest, InternalAddresses) {
  for (const char* ip : {"0.0.0.0",
                         "0.1.2.3",
                         "10.0.0.1",
                         "10.255.255.255",
                         "100.64.0.1",
                         "100.127.255.255",
                         "127.0.0.1",
                         "127.0.0.2",
                         "127.255.255.255",
                         "169.254.169.254",
                         "169.254.0.1",
                         "172.16.0.1",
                         "172.31.255.255",
                         "192.0.0.1",
                         "192.168.0.1",
                         "192.168.255.255",
                         "198.18.0.1",
                         "198.19.255.255",
                         "224.0.0.1",
                         "239.255.255.250",
                         "240.0.0.1",
                         "255.255.255.255",
                         "::",
                         "::1",
                         "::ffff:127.0.0.1",
                         "::ffff:10.0.0.1",
                         "::ffff:169.254.169.254",
                         "::127.0.0.1",
                         "64:ff9b::a00:1",
                         "64:ff9b:1::1",
                         "2002:7f00:1::1",
                         "2002:a9fe:a9fe::1",
                         "fc00::1",
                         "fd00:ec2::254",
                         "fe80::1",
                         "febf::1",
                         "fec0::1",
                         "ff02::1"}) {
    EXPECT_TRUE(Internal(ip)) << ip;
  }
  for (const char* ip : {"1.1.1.1",         "8.8.8.8",          "9.255.255.255",
                         "11.0.0.0",        "100.63.255.255",   "100.128.0.0",
                         "126.255.255.255", "128.0.0.1",        "169.253.255.255",
                         "172.15.255.255",  "172.32.0.0",       "192.167.255.255",
                         "192.169.0.0",     "198.17.255.255",   "198.20.0.0",
                         "223.255.255.255", "2606:4700::1111",  "2001:4860:4860::8888",
                         "::ffff:8.8.8.8",  "64:ff9b::808:808", "2002:808:808::1",
                         "fbff::1",         "fe7f::1"}) {
    EXPECT_FALSE(Internal(ip)) << ip;
  }
  sockaddr unix_family{};
  unix_family.sa_family = AF_UNIX;
  EXPECT_TRUE(IsInternalAddress(&unix_family, sizeof unix_family));
  SockAddr short_v6 = Addr("2606:4700::1111");
  EXPECT_TRUE(IsInternalAddress(short_v6.get(), sizeof(sockaddr_in)));
  EXPECT_TRUE(IsInternalAddress(nullptr, 0));
}

TEST(UrlPolicyTest, AddressAllowedOnlyWithExplicitConsent) {
  UrlPolicy strict = Make();
  SockAddr loopback = Addr("127.0.0.1");
  SockAddr metadata = Addr("169.254.169.254");
  SockAddr mapped = Addr("::ffff:127.0.0.1");
  SockAddr pub = Addr("93.184.216.34");
  // A provider host is fetched, but not from an internal address: a name that
  // (re)resolves to loopback is refused at connect time.
  EXPECT_FALSE(strict.AddressAllowed("api.skytells.ai", loopback.get(), loopback.length));
  EXPECT_FALSE(strict.AddressAllowed("api.skytells.ai", metadata.get(), metadata.length));
  EXPECT_FALSE(strict.AddressAllowed("api.skytells.ai", mapped.get(), mapped.length));
  EXPECT_TRUE(strict.AddressAllowed("api.skytells.ai", pub.get(), pub.length));
  // The provider base URL 127.0.0.1 alone is not consent to fetch loopback.
  EXPECT_FALSE(strict.AddressAllowed("127.0.0.1", loopback.get(), loopback.length));

  UrlPolicy by_address = Make({"127.0.0.1"});
  EXPECT_TRUE(by_address.AddressAllowed("127.0.0.1", loopback.get(), loopback.length));
  EXPECT_TRUE(by_address.AddressAllowed("127.0.0.1", mapped.get(), mapped.length));
  EXPECT_TRUE(by_address.AddressAllowed("localhost", loopback.get(), loopback.length));
  SockAddr other_loopback = Addr("127.0.0.2");
  EXPECT_FALSE(by_address.AddressAllowed("127.0.0.2", other_loopback.get(), other_loopback.length));
  EXPECT_FALSE(by_address.AddressAllowed("localhost", metadata.get(), metadata.length));

  UrlPolicy by_name = Make({"minio.internal", "*.svc.cluster.local"});
  SockAddr private_ip = Addr("10.0.0.7");
  EXPECT_TRUE(by_name.AddressAllowed("minio.internal", private_ip.get(), private_ip.length));
  EXPECT_TRUE(by_name.AddressAllowed("s3.svc.cluster.local", private_ip.get(), private_ip.length));
  EXPECT_FALSE(by_name.AddressAllowed("api.skytells.ai", private_ip.get(), private_ip.length));
}

TEST(UrlPolicyTest, ProviderOutputHostsAreFetchedFromPublicAddressesOnly) {
  auto policy = UrlPolicy::Create(
      UrlPolicyOptions{.provider_base_urls = {"https://api.replicate.com/v1"},
                       .provider_output_hosts = {"replicate.delivery", "*.replicate.delivery"}});
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->CheckUrl("https://replicate.delivery/pbxt/out.png").ok());
  EXPECT_TRUE(policy->CheckUrl("https://pbxt.replicate.delivery/out.png").ok());
  EXPECT_FALSE(policy->CheckUrl("https://replicate.delivery.evil.com/out.png").ok());
  EXPECT_FALSE(policy->CheckUrl("https://evilreplicate.delivery/out.png").ok());
  SockAddr private_ip = Addr("10.0.0.7");
  SockAddr pub = Addr("93.184.216.34");
  EXPECT_FALSE(
      policy->AddressAllowed("pbxt.replicate.delivery", private_ip.get(), private_ip.length));
  EXPECT_TRUE(policy->AddressAllowed("pbxt.replicate.delivery", pub.get(), pub.length));

  EXPECT_FALSE(UrlPolicy::Create(UrlPolicyOptions{.provider_output_hosts = {"*.com"}}).ok());
  EXPECT_FALSE(UrlPolicy::Create(UrlPolicyOptions{.provider_output_hosts = {"a b"}}).ok());
}

}  // namespace
}  // namespace gencache::rehost
