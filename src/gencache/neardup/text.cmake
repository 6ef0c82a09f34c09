# Stages 1 and 3 of near-duplicate matching: prompt normalisation (utf8proc,
# Debian libutf8proc-dev) and the meaning verifier. The verifier tells typos
# from different words with an English word list, Debian's wamerican
# (/usr/share/dict/american-english, SCOWL), embedded at build time so that
# nothing has to be installed beside the binary.
if(NOT TARGET PkgConfig::UTF8PROC)
  pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
endif()
find_file(GENCACHE_WORD_LIST american-english PATHS /usr/share/dict NO_DEFAULT_PATH)
if(NOT GENCACHE_WORD_LIST)
  message(FATAL_ERROR
    "/usr/share/dict/american-english is missing: the near-duplicate verifier embeds it. "
    "Install the Debian package wamerican (scripts/install-deps.sh).")
endif()

set(word_list_cpp ${CMAKE_CURRENT_BINARY_DIR}/word_list_data.cpp)
add_custom_command(
  OUTPUT ${word_list_cpp}
  COMMAND ${CMAKE_COMMAND} -DINPUT=${GENCACHE_WORD_LIST} -DOUTPUT=${word_list_cpp}
          -P ${CMAKE_CURRENT_LIST_DIR}/embed_word_list.cmake
  DEPENDS ${GENCACHE_WORD_LIST} ${CMAKE_CURRENT_LIST_DIR}/embed_word_list.cmake
  COMMENT "Embedding the word list ${GENCACHE_WORD_LIST}"
  VERBATIM)

gencache_library(gencache_neardup_text
  SOURCES normalize.cpp verifier.cpp tokens.cpp lexicon.cpp ${word_list_cpp}
  DEPS PkgConfig::UTF8PROC absl::flat_hash_map absl::flat_hash_set)

gencache_test(neardup_text_test
  SOURCES normalize_test.cpp verifier_test.cpp
  DEPS gencache_neardup_text
  LABELS unit)

# The acceptance rates of stages 1 and 3 alone on the labelled pairs and on
# PAWS (the embedder's evaluation is neardup_test); prints the table.
gencache_test(neardup_text_eval_test
  SOURCES text_eval_test.cpp
  DEPS gencache_neardup_text
  LABELS unit
  TIMEOUT 300)
if(TARGET neardup_text_eval_test)
  target_compile_definitions(neardup_text_eval_test PRIVATE
    GENCACHE_NEARDUP_EVAL_PAIRS="${PROJECT_SOURCE_DIR}/data/neardup/eval-pairs.tsv"
    GENCACHE_NEARDUP_PAWS="${PROJECT_SOURCE_DIR}/data/neardup/paws-wiki-dev.tsv")
endif()

# The fuzzer's entry point (fuzz/neardup.cmake), replayed over its seed corpus.
gencache_test(neardup_corpus_replay_test
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/neardup_fuzzer.cpp
          ${PROJECT_SOURCE_DIR}/fuzz/corpus_replay_test.cpp
  DEPS gencache_neardup_text
  LABELS unit)
if(TARGET neardup_corpus_replay_test)
  target_compile_definitions(neardup_corpus_replay_test PRIVATE
    GENCACHE_FUZZ_CORPUS_DIR="${PROJECT_SOURCE_DIR}/fuzz/corpus/neardup")
endif()
