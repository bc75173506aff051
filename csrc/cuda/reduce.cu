// Reductions along the middle axis of (outer, n, inner); the CPU versions
// (csrc/cpu/reduce.cpp) are the reference: float64 sums, NaN wins the max, first index on ties.
#include "cuda/lines.cuh"
#include "kernels.h"

namespace fg::cuda {

// x (outer, n, inner) -> y (outer, inner)
void sum_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner) {
  launch_lines("sum_forward", outer, n, inner,
               [=] __device__(auto g, int64_t line, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 double acc = 0;
                 for (int64_t k = g.lane; k < n; k += G) acc += x[start + k * stride];
                 acc = g.sum(acc);
                 if (g.lane == 0) y[line] = static_cast<float>(acc);
               });
}

namespace {

// The better of two (value, index) candidates: a NaN (the first), else the larger value,
// else the smaller index.
__device__ void keep_better(float& value, int64_t& index, float other, int64_t other_index) {
  bool nan = value != value, other_nan = other != other;
  bool take = other_nan ? (!nan || other_index < index)
                        : (!nan && (other > value || (other == value && other_index < index)));
  if (take) value = other, index = other_index;
}

}  // namespace

// x (outer, n, inner) -> values, indices (outer, inner); n >= 1
void max_forward(float* values, int64_t* indices, const float* x, int64_t outer, int64_t n,
                 int64_t inner) {
  launch_lines("max_forward", outer, n, inner,
               [=] __device__(auto g, int64_t line, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 float best = NAN;
                 int64_t best_k = -1;  // no candidate yet
                 for (int64_t k = g.lane; k < n; k += G) {
                   float v = x[start + k * stride];
                   if (best_k < 0)
                     best = v, best_k = k;
                   else
                     keep_better(best, best_k, v, k);
                 }
                 if constexpr (G > 1) {
                   for (int offset = G / 2; offset > 0; offset >>= 1) {
                     float other = __shfl_xor_sync(0xffffffffu, best, offset);
                     int64_t other_k = __shfl_xor_sync(0xffffffffu, best_k, offset);
                     if (other_k < 0) continue;
                     if (best_k < 0)
                       best = other, best_k = other_k;
                     else
                       keep_better(best, best_k, other, other_k);
                   }
                 }
                 if (g.lane == 0) values[line] = best, indices[line] = best_k;
               });
}

// dvalues, indices (outer, inner) -> dx (outer, n, inner), zero off the maxima
void max_backward(float* dx, const float* dvalues, const int64_t* indices, int64_t outer, int64_t n,
                  int64_t inner) {
  fill(dx, 0.0f, outer * n * inner);
  launch_for_each("max_backward", outer * inner, [=] __device__(int64_t l) {
    dx[((l / inner) * n + indices[l]) * inner + l % inner] = dvalues[l];
  });
}

}  // namespace fg::cuda
