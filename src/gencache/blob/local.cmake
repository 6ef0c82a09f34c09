# The BlobStore interface (IsBlobName) and the local-directory store.
gencache_library(gencache_blob
  SOURCES blob_store.cpp local_blob_store.cpp
  DEPS gencache_base absl::status absl::statusor fmt::fmt spdlog::spdlog)

if(GENCACHE_TESTS)
  # The conformance suite every BlobStore backend instantiates with its own
  # factory (see blob_store_conformance.hpp). An object library, so its tests
  # are linked in although nothing calls them by name.
  add_library(gencache_blob_conformance OBJECT blob_store_conformance.cpp)
  target_link_libraries(gencache_blob_conformance
    PUBLIC gencache_blob GTest::gtest Threads::Threads
    PRIVATE gencache_warnings gencache_sanitizers)
endif()

gencache_test(local_blob_store_test
  SOURCES local_blob_store_test.cpp
  DEPS gencache_blob gencache_blob_conformance
  LABELS unit)
