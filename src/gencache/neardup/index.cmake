# Stage 2 of near-duplicate matching (embedders, the vector index) and the
# finder and evaluation that compose stages 1-3. hnswlib is header-only
# (Debian libhnswlib-dev, /usr/include/hnswlib) and included by
# vector_index.cpp alone.
gencache_library(gencache_neardup_vectors
  SOURCES embedder.cpp lexical_embedder.cpp remote_embedder.cpp vector_index.cpp
  DEPS gencache_base gencache_upstream gencache_keying Boost::json absl::status absl::statusor
       absl::synchronization absl::flat_hash_map absl::node_hash_map fmt::fmt spdlog::spdlog)

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
