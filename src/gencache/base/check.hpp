#pragma once

#include <cstdio>
#include <cstdlib>

// GENCACHE_CHECK stays on in every build: use it where going on would corrupt
// money or stored data. GENCACHE_DCHECK is for debug-only invariants. Neither
// is ever used on external input.
#define GENCACHE_CHECK(cond)                                                                   \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "GENCACHE_CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

#ifdef NDEBUG
#define GENCACHE_DCHECK(cond) \
  do {                        \
  } while (0)
#else
#define GENCACHE_DCHECK(cond) GENCACHE_CHECK(cond)
#endif
