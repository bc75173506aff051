// Philox 4x32-10 draws on the GPU from the same (seed, counter) as the CPU
// (csrc/cpu/random.cpp): element i takes lane i % 4 of block offset + i / 4, so uniform
// draws and dropout masks are bit for bit the CPU's; normal draws agree to float rounding
// (the device's log, sin and cos).
#include <cmath>

#include "core/philox.h"
#include "cuda/launch.cuh"
#include "kernels.h"

namespace fg::cuda {
namespace {

// body(i, r, lane) for each element i, a thread per Philox block of four elements.
template <typename Body>
void for_each_block(const char* name, uint64_t seed, uint64_t offset, int64_t n, Body body) {
  launch_for_each(name, (n + 3) / 4, [=] __device__(int64_t b) {
    Philox4 r = philox4x32_10(offset + static_cast<uint64_t>(b), seed);
    for (int lane = 0; lane < 4 && b * 4 + lane < n; ++lane) body(b * 4 + lane, r, lane);
  });
}

}  // namespace

// -> y (n) uniform in [0, 1)
void uniform(float* y, uint64_t seed, uint64_t offset, int64_t n) {
  for_each_block("uniform", seed, offset, n, [=] __device__(int64_t i, const Philox4& r, int lane) {
    y[i] = uint_to_unit_float(r.v[lane]);
  });
}

// -> y (n) standard normal: Box-Muller on lanes (0, 1) and (2, 3) of each block
void normal(float* y, uint64_t seed, uint64_t offset, int64_t n) {
  for_each_block("normal", seed, offset, n, [=] __device__(int64_t i, const Philox4& r, int lane) {
    int pair = lane & 2;
    float u1 = 1.0f - uint_to_unit_float(r.v[pair]);  // in (0, 1]: a finite log
    float u2 = uint_to_unit_float(r.v[pair + 1]);
    float radius = sqrtf(-2.0f * logf(u1));
    float angle = 6.283185307179586f * u2;
    y[i] = radius * ((lane & 1) ? sinf(angle) : cosf(angle));
  });
}

// x (n) -> y (n), dropping element i when its uniform draw is < p
template <typename T>
void dropout_forward(T* y, const T* x, double p, uint64_t seed, uint64_t offset, int64_t n) {
  float p32 = static_cast<float>(p);  // a float32 draw against a float32 p, as on the CPU
  T scale = p32 < 1.0f ? T(1) / (T(1) - T(p32)) : T(0);
  for_each_block("dropout_forward", seed, offset, n,
                 [=] __device__(int64_t i, const Philox4& r, int lane) {
                   y[i] = uint_to_unit_float(r.v[lane]) < p32 ? T(0) : x[i] * scale;
                 });
}

// dy (n) -> dx (n), the same mask regenerated from (seed, offset)
template <typename T>
void dropout_backward(T* dx, const T* dy, double p, uint64_t seed, uint64_t offset, int64_t n) {
  dropout_forward(dx, dy, p, seed, offset, n);
}

FG_INSTANTIATE_DROPOUT()

}  // namespace fg::cuda
