# Stage 2 of near-duplicate matching (embedders, the vector index) and the
# finder and evaluation that compose stages 1-3. hnswlib is header-only
# (Debian libhnswlib-dev, /usr/include/hnswlib) and included by
# vector_index.cpp alone.
gencache_library(gencache_neardup_vectors
  SOURCES embedder.cpp lexical_embedder.cpp remote_embedder.cpp vector_index.cpp
  DEPS gencache_base gencache_upstream gencache_keying Boost::json absl::status absl::statusor
       absl::synchronization absl::flat_hash_map absl::node_hash_map fmt::fmt spdlog::spdlog)

# Two harmless slips of hnswlib 0.6.2 that the sanitizers stop on: it
# prefetches one neighbour past the end of a link list (a 4-byte read after a
# malloc block; nmslib/hnswlib#107, #578), and updatePoint memcpy()s zero
# bytes to the null data() of an empty vector. Sanitizer builds compile
# hnswlib without its manual SIMD and prefetches (as hnswlib's own sanitizer
# CI does) and without UBSan's nonnull-attribute check, in vector_index.cpp only.
if(GENCACHE_SANITIZE)
  target_compile_definitions(gencache_neardup_vectors PRIVATE NO_MANUAL_VECTORIZATION)
  # A source property, so it comes after the sanitizer flags it narrows.
  set_source_files_properties(vector_index.cpp TARGET_DIRECTORY gencache_neardup_vectors
    PROPERTIES COMPILE_OPTIONS -fno-sanitize=nonnull-attribute)
endif()

gencache_library(gencache_neardup
  SOURCES near_duplicate_finder.cpp evaluation.cpp
  DEPS gencache_neardup_vectors gencache_neardup_text absl::status absl::statusor
       absl::flat_hash_map fmt::fmt)

gencache_test(neardup_vectors_test
  SOURCES lexical_embedder_test.cpp vector_index_test.cpp
  DEPS gencache_neardup_vectors
  LABELS unit)

# Starts an OpenAI-compatible /embeddings server on 127.0.0.1 (http::Server).
gencache_test(neardup_remote_embedder_test
  SOURCES remote_embedder_test.cpp
  DEPS gencache_neardup_vectors gencache_http_server
  LABELS integration)

gencache_test(neardup_test
  SOURCES near_duplicate_finder_test.cpp evaluation_test.cpp
  DEPS gencache_neardup
  LABELS unit)
if(TARGET neardup_test)
  target_compile_definitions(neardup_test PRIVATE
    GENCACHE_NEARDUP_EVAL_PAIRS="${PROJECT_SOURCE_DIR}/data/neardup/eval-pairs.tsv"
    GENCACHE_NEARDUP_PAWS="${PROJECT_SOURCE_DIR}/data/neardup/paws-wiki-dev.tsv")
endif()

# The embeddings-response parser's fuzzer (fuzz/neardup_embeddings.cmake),
# replayed over its committed seed corpus.
gencache_test(neardup_embeddings_corpus_replay_test
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/neardup_embeddings_fuzzer.cpp
          ${PROJECT_SOURCE_DIR}/fuzz/corpus_replay_test.cpp
  DEPS gencache_neardup_vectors
  LABELS unit)
if(TARGET neardup_embeddings_corpus_replay_test)
  target_compile_definitions(neardup_embeddings_corpus_replay_test PRIVATE
    GENCACHE_FUZZ_CORPUS_DIR="${PROJECT_SOURCE_DIR}/fuzz/corpus/neardup_embeddings")
endif()
