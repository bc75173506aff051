// Pooling on the CPU: the element functions of csrc/pool_math.h over threads' ranges.
#include <algorithm>

#include "cpu/parallel.h"
#include "kernels.h"
#include "pool_math.h"

namespace fg::cpu {

// Outputs per thread: about as many reads as an elementwise kernel's grain, each output
// reading a window (an adaptive one about in / out + 1 wide). A finer grain split small
// pooling layers over threads for a fraction of a millisecond, and on a loaded machine the
// parallel region cost several times the work.
static int64_t pool_grain(const PoolPlanes& pool) {
  auto taps = [](const PoolAxis& axis) {
    return axis.adaptive ? axis.in / std::max<int64_t>(axis.out, 1) + 1 : axis.kernel;
  };
  const int64_t window = std::max<int64_t>(1, taps(pool.h) * taps(pool.w));
  return std::max<int64_t>(1, kElementwiseGrain / window);
}

// x (planes, h.in, w.in) -> y, indices (planes, h.out, w.out)
template <typename T>
void max_pool2d_forward(T* y, int64_t* indices, const T* x, const PoolPlanes& pool) {
  const int64_t outputs = pool.planes * pool.h.out * pool.w.out;
  parallel_for(outputs, pool_grain(pool), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) pool::max_output(y, indices, x, pool, i);
  });
}

// x (planes, h.in, w.in) -> y (planes, h.out, w.out)
template <typename T>
void avg_pool2d_forward(T* y, const T* x, const PoolPlanes& pool) {
  const int64_t outputs = pool.planes * pool.h.out * pool.w.out;
  parallel_for(outputs, pool_grain(pool), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) pool::avg_output(y, x, pool, i);
  });
}

// dy (planes, h.out, w.out) -> dx (planes, h.in, w.in)
template <typename T>
void avg_pool2d_backward(T* dx, const T* dy, const PoolPlanes& pool) {
  const int64_t inputs = pool.planes * pool.h.in * pool.w.in;
  parallel_for(inputs, pool_grain(pool), [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) pool::avg_input_gradient(dx, dy, pool, j);
  });
}

FG_INSTANTIATE_POOL()

}  // namespace fg::cpu
