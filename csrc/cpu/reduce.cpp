#include <limits>
#include <vector>

#include "cpu/parallel.h"
#include "cpu/vec_math.h"
#include "kernels.h"

namespace fg::cpu {

// The loops of the sums, as FG_SIMD functions so that each runs its widest clone.
FG_SIMD static double sum_line(const float* x, int64_t n) { return sum_float64(x, n); }

// rows [begin, end) of x (rows, n) -> y[row]
FG_SIMD static void sum_rows(float* y, const float* x, int64_t n, int64_t begin, int64_t end) {
  for (int64_t o = begin; o < end; ++o) y[o] = static_cast<float>(sum_float64(x + o * n, n));
}

// acc (count) += row (count), in float64
FG_SIMD static void add_row_float64(double* acc, const float* row, int64_t count) {
  for (int64_t i = 0; i < count; ++i) acc[i] += row[i];
}

// x (outer, n, inner) -> y (outer, inner). Float64 accumulators keep long float32 sums
// accurate (a float accumulator loses digits once the sum dwarfs each term).
void sum_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1) {
    if (outer == 1) {  // one long line: threads take slices and combine
      int64_t threads = std::max<int64_t>(1, std::min<int64_t>(64, n / kElementwiseGrain));
      std::vector<double> partial(threads, 0.0);
      int64_t chunk = (n + threads - 1) / threads;
      parallel_for(threads, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          int64_t first = std::min(n, t * chunk), last = std::min(n, (t + 1) * chunk);
          partial[t] = sum_line(x + first, last - first);
        }
      });
      double total = 0;
      for (double p : partial) total += p;
      y[0] = static_cast<float>(total);
      return;
    }
    parallel_for(outer, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n, 1)),
                 [&](int64_t begin, int64_t end) { sum_rows(y, x, n, begin, end); });
    return;
  }
  // Reducing a leading axis: add whole rows of `inner` elements into a float64 row.
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n, 1));
  parallel_for(outer * inner, grain, [&](int64_t begin, int64_t end) {
    // This thread owns outputs [begin, end), walked one output row segment at a time.
    std::vector<double> acc;
    for (int64_t l = begin; l < end;) {
      int64_t o = l / inner, i0 = l % inner, i1 = std::min(inner, i0 + (end - l));
      acc.assign(i1 - i0, 0.0);
      for (int64_t k = 0; k < n; ++k)
        add_row_float64(acc.data(), x + (o * n + k) * inner + i0, i1 - i0);
      for (int64_t i = i0; i < i1; ++i) y[o * inner + i] = static_cast<float>(acc[i - i0]);
      l += i1 - i0;
    }
  });
}

// x (outer, n, inner) -> values, indices (outer, inner); n >= 1
void max_forward(float* values, int64_t* indices, const float* x, int64_t outer, int64_t n,
                 int64_t inner) {
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n, 1));
  parallel_for(outer * inner, grain, [&](int64_t begin, int64_t end) {
    for (int64_t l = begin; l < end; ++l) {
      const float* line = x + (l / inner) * n * inner + l % inner;
      float best = line[0];
      int64_t best_k = 0;
      for (int64_t k = 1; k < n && best == best; ++k) {
        float v = line[k * inner];
        if (v > best || v != v) best = v, best_k = k;
      }
      values[l] = best;
      indices[l] = best_k;
    }
  });
}

// dvalues, indices (outer, inner) -> dx (outer, n, inner)
void max_backward(float* dx, const float* dvalues, const int64_t* indices, int64_t outer,
                  int64_t n, int64_t inner) {
  fill(dx, 0.0f, outer * n * inner);
  for (int64_t l = 0; l < outer * inner; ++l)
    dx[((l / inner) * n + indices[l]) * inner + l % inner] = dvalues[l];
}

}  // namespace fg::cpu
