# Re-hosting: output URL policy and expiry, output URL extraction and
# rewriting of provider responses.
gencache_fuzzer(rehost
  SOURCE rehost_fuzzer.cpp
  DEPS gencache_rehost
  INSTRUMENT gencache_rehost)
