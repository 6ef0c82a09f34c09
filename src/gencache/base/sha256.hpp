#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace gencache::base {

// Lower-case hex SHA-256 of `data` (OpenSSL's implementation).
std::string Sha256Hex(std::string_view data);

// SHA-256 over bytes that arrive in pieces (downloads, blob writes), so a
// large body is hashed without being held in memory. Not thread-safe.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::string_view bytes);
  // Lower-case hex digest of everything passed to Update. The hasher is
  // spent afterwards.
  std::string FinishHex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace gencache::base
