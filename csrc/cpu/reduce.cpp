#include <limits>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "cpu/parallel.h"
#include "cpu/vec_math.h"
#include "elementwise_math.h"
#include "kernels.h"
#include "line_math.h"

namespace fg::cpu {

// The loops of the sums, as FG_SIMD functions so that each runs its widest clone.
template <typename T>
FG_SIMD static SumAccumulator<T> sum_line(const T* x, int64_t n) {
  return sum_in<SumAccumulator<T>>(x, n);
}

// rows [begin, end) of x (rows, n) -> y[row]
template <typename Out, typename T>
FG_SIMD static void sum_rows(Out* y, const T* x, int64_t n, int64_t begin, int64_t end) {
  for (int64_t o = begin; o < end; ++o)
    y[o] = static_cast<Out>(sum_in<SumAccumulator<T>>(x + o * n, n));
}

// acc (count) += row (count)
template <typename Acc, typename T>
FG_SIMD static void add_row(Acc* acc, const T* row, int64_t count) {
  for (int64_t i = 0; i < count; ++i) acc[i] += static_cast<Acc>(row[i]);
}

// x (outer, n, inner) -> y (outer, inner)
template <typename Out, typename T>
void sum_forward(Out* y, const T* x, int64_t outer, int64_t n, int64_t inner) {
  using Acc = SumAccumulator<T>;
  if (inner == 1) {
    if (outer == 1) {  // one long line: threads take slices and combine
      int64_t threads = std::max<int64_t>(1, std::min<int64_t>(64, n / kElementwiseGrain));
      std::vector<Acc> partial(threads, Acc(0));
      int64_t chunk = (n + threads - 1) / threads;
      parallel_for(threads, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          int64_t first = std::min(n, t * chunk), last = std::min(n, (t + 1) * chunk);
          partial[t] = sum_line(x + first, last - first);
        }
      });
      Acc total = 0;
      for (Acc p : partial) total += p;
      y[0] = static_cast<Out>(total);
      return;
    }
    parallel_for(outer, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n, 1)),
                 [&](int64_t begin, int64_t end) { sum_rows(y, x, n, begin, end); });
    return;
  }
  // Reducing a leading axis: add whole rows of `inner` elements into an accumulator row.
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n, 1));
  parallel_for(outer * inner, grain, [&](int64_t begin, int64_t end) {
    // This thread owns outputs [begin, end), walked one output row segment at a time.
    std::vector<Acc> acc;
    for (int64_t l = begin; l < end;) {
      int64_t o = l / inner, i0 = l % inner, i1 = std::min(inner, i0 + (end - l));
      acc.assign(i1 - i0, Acc(0));
      for (int64_t k = 0; k < n; ++k) add_row(acc.data(), x + (o * n + k) * inner + i0, i1 - i0);
      for (int64_t i = i0; i < i1; ++i) y[o * inner + i] = static_cast<Out>(acc[i - i0]);
      l += i1 - i0;
    }
  });
}

// x (outer, n, inner) -> values, indices (outer, inner): largest or smallest; n >= 1
template <typename T>
void extreme_forward(T* values, int64_t* indices, const T* x, bool smallest, int64_t outer,
                     int64_t n, int64_t inner) {
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n, 1));
  parallel_for(outer * inner, grain, [&](int64_t begin, int64_t end) {
    for (int64_t l = begin; l < end; ++l) {
      const T* line = x + (l / inner) * n * inner + l % inner;
      T best = line[0];
      int64_t best_k = 0;
      for (int64_t k = 1; k < n && best == best; ++k) {
        T v = line[k * inner];
        if ((smallest ? v < best : v > best) || v != v) best = v, best_k = k;
      }
      values[l] = best;
      indices[l] = best_k;
    }
  });
}

// dvalues, indices (outer, inner) -> dx (outer, n, inner)
template <typename T>
void extreme_backward(T* dx, const T* dvalues, const int64_t* indices, int64_t outer, int64_t n,
                      int64_t inner) {
  map_elements("extreme_backward", math::Zero<T>{}, dx, outer * n * inner);
  for (int64_t l = 0; l < outer * inner; ++l)
    dx[((l / inner) * n + indices[l]) * inner + l % inner] = dvalues[l];
}

FG_INSTANTIATE_REDUCTIONS()

// functor(line) for each of `lines`, across threads
template <typename Functor>
static void for_each_line(const char*, int64_t lines, const Functor& functor) {
  parallel_for(lines, 1, [&](int64_t begin, int64_t end) {
    for (int64_t l = begin; l < end; ++l) functor(l);
  });
}

#include "line_kernels.h"

}  // namespace fg::cpu
