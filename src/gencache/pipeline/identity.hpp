#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gencache/config/options.hpp"
#include "gencache/http/message.hpp"

namespace gencache::pipeline {

// Who a request is for: the user its spend and per-user budget belong to,
// and the team whose cache namespace it uses.
struct Identity {
  std::string user;
  std::string team;  // empty: no keys configured, no team
};

// Resolves gateway keys (auth.keys) to identities. Clients present a gateway
// key the way their SDK presents the provider's key (`x-api-key`, or
// `Authorization: Bearer`), or as `X-Gencache-Api-Key`. Secrets are read
// from the environment once, at construction. Immutable and thread-safe.
class Authenticator {
 public:
  // InvalidArgument when a configured key's environment variable is unset
  // or empty (a key nobody can present is a configuration error).
  static absl::StatusOr<Authenticator> Create(const config::AuthSection& auth);

  // True when requests must carry a gateway key.
  bool keys_required() const { return !keys_.empty(); }

  // Unauthenticated when keys are configured and the request carries none
  // of them. Without keys the user is X-Gencache-User when trusted, else
  // "anonymous".
  absl::StatusOr<Identity> Identify(const http::HeaderList& headers) const;

  // True when no admin key is configured (and no gateway keys: an open
  // gateway), or the request carries the admin key.
  bool IsAdmin(const http::HeaderList& headers) const;

 private:
  struct Key {
    std::string secret;
    Identity identity;
  };
  Authenticator() = default;

  std::vector<Key> keys_;
  std::string admin_secret_;
  bool trust_user_header_ = false;
};

}  // namespace gencache::pipeline
