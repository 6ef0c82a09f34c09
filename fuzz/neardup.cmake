# NormalizePrompt and VerifySameMeaning on arbitrary prompt pairs
# (fuzz/neardup_fuzzer.cpp; seed corpus fuzz/corpus/neardup).
gencache_fuzzer(neardup
  SOURCE neardup_fuzzer.cpp
  DEPS gencache_neardup_text
  INSTRUMENT gencache_neardup_text)
