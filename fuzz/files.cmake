# /files/ request parsing: the blob name, Range and If-None-Match.
gencache_fuzzer(files
  SOURCE files_fuzzer.cpp
  DEPS gencache_files
  INSTRUMENT gencache_files)
