// Casts and fills: every pair of the 10 dtypes; the value rules are in cast_math.h.
#include <algorithm>

#include "cast_math.h"
#include "cpu/parallel.h"
#include "kernels.h"

namespace fg::cpu {

// x (n) -> y (n)
template <typename Dst, typename Src>
void cast(Dst* y, const Src* x, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = cast_value<Dst>(x[i]);
  });
}

// value -> y (n)
template <typename T>
void fill(T* y, T value, int64_t n) {
  parallel_for(n, kElementwiseGrain,
               [&](int64_t begin, int64_t end) { std::fill(y + begin, y + end, value); });
}

FG_INSTANTIATE_CASTS()

}  // namespace fg::cpu
