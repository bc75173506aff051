// Pooling on the GPU: a thread per element running csrc/pool_math.h, as the CPU does.
#include "cuda/launch.cuh"
#include "kernels.h"
#include "pool_math.h"

namespace fg::cuda {

// x (planes, h.in, w.in) -> y, indices (planes, h.out, w.out)
template <typename T>
void max_pool2d_forward(T* y, int64_t* indices, const T* x, const PoolPlanes& pool) {
  PoolPlanes p = pool;  // by value into the kernel
  launch_for_each("max_pool2d_forward", p.planes * p.h.out * p.w.out,
                  [=] __device__(int64_t i) { pool::max_output(y, indices, x, p, i); });
}

// x (planes, h.in, w.in) -> y (planes, h.out, w.out)
template <typename T>
void avg_pool2d_forward(T* y, const T* x, const PoolPlanes& pool) {
  PoolPlanes p = pool;
  launch_for_each("avg_pool2d_forward", p.planes * p.h.out * p.w.out,
                  [=] __device__(int64_t i) { pool::avg_output(y, x, p, i); });
}

// dy (planes, h.out, w.out) -> dx (planes, h.in, w.in)
template <typename T>
void avg_pool2d_backward(T* dx, const T* dy, const PoolPlanes& pool) {
  PoolPlanes p = pool;
  launch_for_each("avg_pool2d_backward", p.planes * p.h.in * p.w.in,
                  [=] __device__(int64_t j) { pool::avg_input_gradient(dx, dy, p, j); });
}

FG_INSTANTIATE_POOL()

}  // namespace fg::cuda
