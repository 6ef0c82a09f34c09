#include "gencache/base/sha256.hpp"

#include <openssl/evp.h>

#include "gencache/base/check.hpp"

namespace gencache::base {
namespace {

// Fetched once: OpenSSL 3 otherwise looks the algorithm up on every call,
// which costs more than hashing a request's canonical form.
const EVP_MD* Sha256() {
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  GENCACHE_CHECK(kSha256 != nullptr);
  return kSha256;
}

std::string ToHex(const unsigned char* digest, unsigned int len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '\0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  GENCACHE_CHECK(EVP_Digest(data.data(), data.size(), digest, &len, Sha256(), nullptr) == 1);
  return ToHex(digest, len);
}

struct Sha256Hasher::Context {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Context() { EVP_MD_CTX_free(ctx); }
};

Sha256Hasher::Sha256Hasher() : context_(std::make_unique<Context>()) {
  GENCACHE_CHECK(context_->ctx != nullptr);
  GENCACHE_CHECK(EVP_DigestInit_ex(context_->ctx, Sha256(), nullptr) == 1);
}

Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::Update(std::string_view bytes) {
  GENCACHE_CHECK(EVP_DigestUpdate(context_->ctx, bytes.data(), bytes.size()) == 1);
}

std::string Sha256Hasher::FinishHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  GENCACHE_CHECK(EVP_DigestFinal_ex(context_->ctx, digest, &len) == 1);
  return ToHex(digest, len);
}

}  // namespace gencache::base
