# The remote embedder's response parser (src/gencache/neardup/remote_embedder.cpp).
gencache_fuzzer(neardup_embeddings
  SOURCE neardup_embeddings_fuzzer.cpp
  DEPS gencache_neardup_vectors
  INSTRUMENT gencache_neardup_vectors gencache_keying)
