#include "gencache/pipeline/identity.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <cstdlib>

#include "gencache/base/strings.hpp"

namespace gencache::pipeline {
namespace {

// Constant-time comparison, so a key cannot be guessed byte by byte.
bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Every credential the request presents, in the places SDKs put them.
std::vector<std::string_view> PresentedSecrets(const http::HeaderList& headers) {
  std::vector<std::string_view> out;
  for (const auto& [name, value] : headers) {
    std::string_view v = base::TrimWhitespace(value);
    if (base::EqualsIgnoreCase(name, "authorization")) {
      if (v.size() > 7 && base::EqualsIgnoreCase(v.substr(0, 7), "bearer ")) {
        out.push_back(base::TrimWhitespace(v.substr(7)));
      }
    } else if (base::EqualsIgnoreCase(name, "x-api-key") ||
               base::EqualsIgnoreCase(name, "x-gencache-api-key")) {
      out.push_back(v);
    }
  }
  return out;
}

bool ValidUser(std::string_view user) {
  if (user.empty() || user.size() > 128) return false;
  for (char c : user) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Authenticator> Authenticator::Create(const config::AuthSection& auth) {
  Authenticator a;
  a.trust_user_header_ = auth.trust_user_header;
  std::vector<std::string> missing;
  auto secret_of = [&](const std::string& env) -> std::string {
    const char* value = std::getenv(env.c_str());
    if (value == nullptr || *value == '\0') {
      missing.push_back(env);
      return "";
    }
    return value;
  };
  for (const config::AuthKey& key : auth.keys) {
    a.keys_.push_back(
        {.secret = secret_of(key.key_env), .identity = {.user = key.user, .team = key.team}});
  }
  if (!auth.admin_key_env.empty()) a.admin_secret_ = secret_of(auth.admin_key_env);
  if (!missing.empty()) {
    std::string names;
    for (const auto& m : missing) names += (names.empty() ? "$" : ", $") + m;
    return absl::InvalidArgumentError(fmt::format(
        "auth: these environment variables hold gateway keys but are unset: {}", names));
  }
  return a;
}

absl::StatusOr<Identity> Authenticator::Identify(const http::HeaderList& headers) const {
  std::optional<std::string_view> user_header;
  if (trust_user_header_) {
    user_header = http::FindHeader(headers, "x-gencache-user");
    if (user_header && !ValidUser(*user_header)) {
      return absl::InvalidArgumentError("X-Gencache-User must be 1-128 visible characters");
    }
  }
  if (keys_.empty()) {
    return Identity{.user = user_header ? std::string(*user_header) : "anonymous", .team = ""};
  }
  for (std::string_view presented : PresentedSecrets(headers)) {
    for (const Key& key : keys_) {
      if (SameSecret(presented, key.secret)) {
        Identity identity = key.identity;
        if (user_header) identity.user = std::string(*user_header);
        return identity;
      }
    }
  }
  return absl::UnauthenticatedError(
      "missing or unknown gateway key: send it as your SDK's API key (x-api-key or "
      "Authorization: Bearer)");
}

bool Authenticator::IsAdmin(const http::HeaderList& headers) const {
  if (admin_secret_.empty()) return keys_.empty();
  for (std::string_view presented : PresentedSecrets(headers)) {
    if (SameSecret(presented, admin_secret_)) return true;
  }
  return false;
}

}  // namespace gencache::pipeline
