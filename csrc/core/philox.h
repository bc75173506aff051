// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
// a counter-based generator, so element i of any draw is a pure function of (seed, counter),
// the same on every device and thread split. Host and device code.
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace fg {

struct Philox4 {
  uint32_t v[4];
};

// counter_high: the counter's upper 64 bits, 0 for the streams' regular blocks; a draw that
// needs an unknown count of numbers per element (rejection sampling) gives element i the
// blocks (its own counter, 1), (its own counter, 2), ...
FG_HOST_DEVICE inline Philox4 philox4x32_10(uint64_t counter, uint64_t seed,
                                            uint64_t counter_high = 0) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_high), c3 = static_cast<uint32_t>(counter_high >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// 24 random bits -> a float in [0, 1), exactly representable.
FG_HOST_DEVICE inline float uint_to_unit_float(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

}  // namespace fg
