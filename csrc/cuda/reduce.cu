// Reductions along the middle axis of (outer, n, inner); the CPU versions
// (csrc/cpu/reduce.cpp) are the reference: float64 sums (int64 ones for integers), NaN wins
// the max, first index on ties.
#include "cuda/lines.cuh"
#include "elementwise_math.h"
#include "kernels.h"
#include "line_math.h"

namespace fg::cuda {

namespace {

constexpr int kSumWarps = 8;

// x (outer, n, inner) -> y (outer, inner) for strided lines (inner >= 32), such as a bias
// gradient's sum over the rows of a batch. A block takes 32 neighbouring lines (one o,
// 32 consecutive i), a lane each, and its 8 warps split the n elements between them (warp
// w adds k = w, w + 8, ...), so that every load of a warp reads 32 neighbouring floats and
// 8 times as many threads work as with a thread a line; the partial sums meet in shared
// memory.
template <typename Out, typename T>
__global__ void sum_strided_kernel(Out* y, const T* x, int64_t n, int64_t inner) {
  using Acc = SumAccumulator<T>;
  __shared__ Acc partial[kSumWarps][32];
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  int64_t tiles = ceil_div(inner, 32);  // blocks per o
  int64_t o = blockIdx.x / tiles, i = (blockIdx.x % tiles) * 32 + lane;
  Acc acc = 0;
  if (i < inner) {
    const T* line = x + o * n * inner + i;
    for (int64_t k = warp; k < n; k += kSumWarps) acc += static_cast<Acc>(line[k * inner]);
  }
  partial[warp][lane] = acc;
  __syncthreads();  // every thread gets here: none returned early
  if (warp == 0 && i < inner) {
    Acc total = 0;
    for (int w = 0; w < kSumWarps; ++w) total += partial[w][lane];
    y[o * inner + i] = static_cast<Out>(total);
  }
}

// x (outer, n, inner) -> y (outer, inner): each line a thread, a warp or a block
// (launch_lines), summed in SumAccumulator<T>: x holds the inputs, or their partial sums.
template <typename Out, typename T>
void sum_lines(Out* y, const T* x, int64_t outer, int64_t n, int64_t inner) {
  launch_lines("sum_forward", outer, n, inner,
               [=] __device__(auto g, int64_t line, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 SumAccumulator<T> acc = 0;
                 for (int64_t k = g.lane; k < n; k += G)
                   acc += static_cast<SumAccumulator<T>>(x[start + k * stride]);
                 acc = g.sum(acc);
                 if (g.lane == 0) y[line] = static_cast<Out>(acc);
               });
}

// Contiguous lines longer than this are summed by several blocks, a chunk each, and the
// chunks' sums then added per line: a block a line would leave most of the GPU idle when
// the lines are few (a whole tensor's sum is one line).
constexpr int64_t kSumChunk = 16 * 1024;

// x (lines, n) -> partials (lines, chunks), the sum of each chunk of kSumChunk
template <typename T>
__global__ void sum_chunks_kernel(SumAccumulator<T>* partials, const T* x, int64_t n,
                                  int64_t chunks) {
  int64_t line = blockIdx.x / chunks, begin = (blockIdx.x % chunks) * kSumChunk;
  int64_t end = begin + kSumChunk < n ? begin + kSumChunk : n;
  const T* row = x + line * n;
  SumAccumulator<T> acc = 0;
  for (int64_t k = begin + threadIdx.x; k < end; k += kLineBlock)
    acc += static_cast<SumAccumulator<T>>(row[k]);
  acc = LineGroup<kLineBlock>{static_cast<int>(threadIdx.x)}.sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// x (lines, n) -> y (lines), n > kSumChunk: chunks in parallel, then their sums per line
template <typename Out, typename T>
void sum_long_lines(Out* y, const T* x, int64_t lines, int64_t n) {
  using Acc = SumAccumulator<T>;
  int64_t chunks = ceil_div(n, kSumChunk);
  FG_CHECK(lines * chunks <= 0x7FFFFFFF, ValueError,
           "[sum] the CUDA kernel takes at most 2^31 - 1 chunks of "
               << kSumChunk << " elements, got " << lines * chunks);
  DeviceScratch scratch(lines * chunks * sizeof(Acc));
  Acc* partials = static_cast<Acc*>(scratch.data());
  auto kernel = sum_chunks_kernel<T>;
  FG_LAUNCH_KERNEL(kernel, static_cast<unsigned>(lines * chunks), kLineBlock, partials, x, n,
                   chunks);
  FG_CUDA_CHECK_LAUNCH("sum_forward");
  sum_lines(y, static_cast<const Acc*>(partials), lines, chunks, 1);
}

}  // namespace

// x (outer, n, inner) -> y (outer, inner)
template <typename Out, typename T>
void sum_forward(Out* y, const T* x, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1 && n > kSumChunk && outer > 0) return sum_long_lines(y, x, outer, n);
  if (inner >= 32) {  // narrower lines leave most of a block idle: a thread a line below
    int64_t blocks = outer * ceil_div(inner, 32);
    if (blocks == 0) return;
    FG_CHECK(blocks <= 0x7FFFFFFF, ValueError,
             "[sum] the CUDA kernel takes at most 2^31 - 1 blocks of 32 lines, got " << blocks);
    auto kernel = sum_strided_kernel<Out, T>;
    FG_LAUNCH_KERNEL(kernel, static_cast<unsigned>(blocks), kSumWarps * 32, y, x, n, inner);
    FG_CUDA_CHECK_LAUNCH("sum_forward");
    return;
  }
  sum_lines(y, x, outer, n, inner);
}

namespace {

// The better of two candidates: none loses, then a NaN (the first), else the larger value
// (the smaller when `smallest`), else the smaller index. Commutative, as LineGroup::reduce
// needs.
template <typename T>
__device__ Candidate<T> better(Candidate<T> a, Candidate<T> b, bool smallest) {
  if (a.index < 0 || b.index < 0) return a.index < 0 ? b : a;
  bool a_nan = a.value != a.value, b_nan = b.value != b.value;
  if (a_nan != b_nan) return a_nan ? a : b;
  if (!a_nan && a.value != b.value) return (a.value > b.value) != smallest ? a : b;
  return a.index < b.index ? a : b;
}

}  // namespace

// x (outer, n, inner) -> values, indices (outer, inner): largest or smallest; n >= 1
template <typename T>
void extreme_forward(T* values, int64_t* indices, const T* x, bool smallest, int64_t outer,
                     int64_t n, int64_t inner) {
  launch_lines("extreme_forward", outer, n, inner,
               [=] __device__(auto g, int64_t line, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 auto pick = [smallest](Candidate<T> a, Candidate<T> b) {
                   return better(a, b, smallest);
                 };
                 Candidate<T> best{T(0), -1};
                 for (int64_t k = g.lane; k < n; k += G)
                   best = pick(best, Candidate<T>{x[start + k * stride], k});
                 best = g.reduce(best, pick);
                 if (g.lane == 0) values[line] = best.value, indices[line] = best.index;
               });
}

// dvalues, indices (outer, inner) -> dx (outer, n, inner), zero off the maxima
template <typename T>
void extreme_backward(T* dx, const T* dvalues, const int64_t* indices, int64_t outer, int64_t n,
                      int64_t inner) {
  map_elements("extreme_backward", math::Zero<T>{}, dx, outer * n * inner);
  launch_for_each("extreme_backward", outer * inner, [=] __device__(int64_t l) {
    dx[((l / inner) * n + indices[l]) * inner + l % inner] = dvalues[l];
  });
}

FG_INSTANTIATE_REDUCTIONS()

// functor(line) for each of `lines`, a thread a line
template <typename Functor>
static void for_each_line(const char* name, int64_t lines, const Functor& functor) {
  launch_for_each(name, lines, [=] __device__(int64_t l) { functor(l); });
}

#include "line_kernels.h"

}  // namespace fg::cuda
