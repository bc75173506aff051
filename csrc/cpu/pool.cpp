// Pooling on the CPU: the element functions of csrc/pool_math.h over threads' ranges.
#include <algorithm>

#include "cpu/parallel.h"
#include "kernels.h"
#include "pool_math.h"

namespace fg::cpu {

// Elements per thread: each reads a window, so fewer than an elementwise kernel's.
static constexpr int64_t kPoolGrain = 1 << 12;

// x (planes, h.in, w.in) -> y, indices (planes, h.out, w.out)
template <typename T>
void max_pool2d_forward(T* y, int64_t* indices, const T* x, const PoolPlanes& pool) {
  parallel_for(pool.planes * pool.h.out * pool.w.out, kPoolGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) pool::max_output(y, indices, x, pool, i);
  });
}

// x (planes, h.in, w.in) -> y (planes, h.out, w.out)
template <typename T>
void avg_pool2d_forward(T* y, const T* x, const PoolPlanes& pool) {
  parallel_for(pool.planes * pool.h.out * pool.w.out, kPoolGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) pool::avg_output(y, x, pool, i);
  });
}

// dy (planes, h.out, w.out) -> dx (planes, h.in, w.in)
template <typename T>
void avg_pool2d_backward(T* dx, const T* dy, const PoolPlanes& pool) {
  parallel_for(pool.planes * pool.h.in * pool.w.in, kPoolGrain, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) pool::avg_input_gradient(dx, dy, pool, j);
  });
}

FG_INSTANTIATE_POOL()

}  // namespace fg::cpu
