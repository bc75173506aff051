// Reductions along the middle axis of (outer, n, inner); the CPU versions
// (csrc/cpu/reduce.cpp) are the reference: float64 sums, NaN wins the max, first index on ties.
#include "cuda/lines.cuh"
#include "kernels.h"

namespace fg::cuda {

namespace {

constexpr int kSumWarps = 8;

// x (outer, n, inner) -> y (outer, inner) for strided lines (inner >= 32), such as a bias
// gradient's sum over the rows of a batch. A block takes 32 neighbouring lines (one o,
// 32 consecutive i), a lane each, and its 8 warps split the n elements between them (warp
// w adds k = w, w + 8, ...), so that every load of a warp reads 32 neighbouring floats and
// 8 times as many threads work as with a thread a line; the partial sums meet in shared
// memory.
__global__ void sum_strided_kernel(float* y, const float* x, int64_t n, int64_t inner) {
  __shared__ double partial[kSumWarps][32];
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  int64_t tiles = (inner + 31) / 32;  // blocks per o
  int64_t o = blockIdx.x / tiles, i = (blockIdx.x % tiles) * 32 + lane;
  double acc = 0;
  if (i < inner) {
    const float* line = x + o * n * inner + i;
    for (int64_t k = warp; k < n; k += kSumWarps) acc += line[k * inner];
  }
  partial[warp][lane] = acc;
  __syncthreads();  // every thread gets here: none returned early
  if (warp == 0 && i < inner) {
    double total = 0;
    for (int w = 0; w < kSumWarps; ++w) total += partial[w][lane];
    y[o * inner + i] = static_cast<float>(total);
  }
}

}  // namespace

// x (outer, n, inner) -> y (outer, inner)
void sum_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner) {
  if (inner >= 32) {  // narrower lines leave most of a block idle: a thread a line below
    int64_t blocks = outer * ((inner + 31) / 32);
    if (blocks == 0) return;
    FG_CHECK(blocks <= 0x7FFFFFFF, ValueError,
             "[sum] the CUDA kernel takes at most 2^31 - 1 blocks of 32 lines, got " << blocks);
    sum_strided_kernel<<<static_cast<unsigned>(blocks), kSumWarps * 32>>>(y, x, n, inner);
    FG_CUDA_CHECK_LAUNCH("sum_forward");
    return;
  }
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
