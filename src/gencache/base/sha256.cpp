#include "gencache/base/sha256.hpp"

#include <openssl/evp.h>

#include "gencache/base/check.hpp"

namespace gencache::base {

std::string Sha256Hex(std::string_view data) {
  // Fetched once: OpenSSL 3 otherwise looks the algorithm up on every call,
  // which costs more than hashing a request's canonical form.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  GENCACHE_CHECK(kSha256 != nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  GENCACHE_CHECK(EVP_Digest(data.data(), data.size(), digest, &len, kSha256, nullptr) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '\0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace gencache::base
