# Garbage collection of blobs no live cache entry references.
gencache_library(gencache_blob_gc
  SOURCES blob_gc.cpp
  DEPS gencache_blob absl::status absl::statusor spdlog::spdlog)

gencache_test(blob_gc_test
  SOURCES blob_gc_test.cpp
  DEPS gencache_blob_gc
  LABELS unit)
