// Casts and fills: every pair of the 10 dtypes; the value rules are in cast_math.h, shared
// with the CPU versions (csrc/cpu/cast.cpp).
#include "cast_math.h"
#include "cuda/launch.cuh"
#include "kernels.h"

namespace fg::cuda {

// x (n) -> y (n)
template <typename Dst, typename Src>
void cast(Dst* y, const Src* x, int64_t n) {
  launch_for_each("cast", n, [=] __device__(int64_t i) { y[i] = cast_value<Dst>(x[i]); });
}

// value -> y (n)
template <typename T>
void fill(T* y, T value, int64_t n) {
  launch_for_each("fill", n, [=] __device__(int64_t i) { y[i] = value; });
}

FG_INSTANTIATE_CASTS()

}  // namespace fg::cuda
