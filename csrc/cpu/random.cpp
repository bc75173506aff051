#include <cmath>

#include "core/philox.h"
#include "cpu/parallel.h"
#include "kernels.h"

namespace fg::cpu {

// Element i takes lane i % 4 of block (offset + i / 4); threads take whole blocks.
template <typename Body>
static void for_each_block(uint64_t seed, uint64_t offset, int64_t n, const Body& body) {
  int64_t blocks = (n + 3) / 4;
  parallel_for(blocks, kElementwiseGrain / 4, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      Philox4 r = philox4x32_10(offset + static_cast<uint64_t>(b), seed);
      for (int lane = 0; lane < 4 && b * 4 + lane < n; ++lane) body(b * 4 + lane, r, lane);
    }
  });
}

// -> y (n) uniform in [0, 1)
void uniform(float* y, uint64_t seed, uint64_t offset, int64_t n) {
  for_each_block(seed, offset, n, [&](int64_t i, const Philox4& r, int lane) {
    y[i] = uint_to_unit_float(r.v[lane]);
  });
}

// -> y (n) standard normal: Box-Muller on lanes (0, 1) and (2, 3) of each block
void normal(float* y, uint64_t seed, uint64_t offset, int64_t n) {
  for_each_block(seed, offset, n, [&](int64_t i, const Philox4& r, int lane) {
    int pair = lane & 2;
    // 1 - u lies in (0, 1], so the log is finite.
    float u1 = 1.0f - uint_to_unit_float(r.v[pair]);
    float u2 = uint_to_unit_float(r.v[pair + 1]);
    float radius = std::sqrt(-2.0f * std::log(u1));
    float angle = 6.283185307179586f * u2;
    y[i] = radius * ((lane & 1) ? std::sin(angle) : std::cos(angle));
  });
}

// x (n) -> y (n), dropping element i when its uniform draw is < p
template <typename T>
void dropout_forward(T* y, const T* x, double p, uint64_t seed, uint64_t offset, int64_t n) {
  // The draw is a float32 whatever T, compared with p as a float32: one mask for every dtype.
  float p32 = static_cast<float>(p);
  T scale = p32 < 1.0f ? T(1) / (T(1) - T(p32)) : T(0);
  for_each_block(seed, offset, n, [&](int64_t i, const Philox4& r, int lane) {
    y[i] = uint_to_unit_float(r.v[lane]) < p32 ? T(0) : x[i] * scale;
  });
}

// dy (n) -> dx (n), the same mask regenerated from (seed, offset)
template <typename T>
void dropout_backward(T* dx, const T* dy, double p, uint64_t seed, uint64_t offset, int64_t n) {
  dropout_forward(dx, dy, p, seed, offset, n);
}

FG_INSTANTIATE_DROPOUT()

}  // namespace fg::cpu
