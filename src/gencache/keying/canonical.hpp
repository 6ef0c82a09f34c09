#pragma once

#include <boost/json/fwd.hpp>
#include <string>
#include <string_view>

#include "gencache/keying/cache_key.hpp"

namespace gencache::keying {

// Canonical JSON text of `value`: no whitespace; object members sorted by
// key (bytewise UTF-8); strings re-escaped the one way Boost.JSON writes
// them; numbers normalised so that 1, 1.0, 1e0 and 10e-1 are all "1" (any
// number with an exact integer value in the int64/uint64 range prints as that
// integer; other numbers print in the shortest form that round-trips).
// Idempotent: canonicalising the result again (parsed with keying::ParseJson)
// gives the same text.
// docs/canonical-form.md is the full specification.
std::string CanonicalJson(const boost::json::value& value);

// What identifies one generation. `params` holds every output-affecting
// field the adapter kept (see the adapters for what they drop).
struct KeyMaterial {
  std::string_view provider_kind;  // "skytells", "replicate", "openai"
  std::string_view route;          // the route class, e.g. "predictions"
  std::string_view model;          // model name or version id
  std::string_view cache_namespace;
  // The params as a JSON value, canonicalised here. When null,
  // `canonical_params` is used verbatim instead.
  const boost::json::value* params = nullptr;
  // REQUIRES (when `params` is null): text produced by CanonicalJson, such as
  // providers::GenerationRequest::canonical_params.
  std::string_view canonical_params;
};

// The versioned canonical form hashed into the key:
//   gencache-key-v1 LF kind LF route LF namespace LF model LF CanonicalJson(params)
// REQUIRES: kind, route, namespace and model contain no LF.
std::string CanonicalForm(const KeyMaterial& material);

CacheKey ComputeCacheKey(const KeyMaterial& material);

}  // namespace gencache::keying
