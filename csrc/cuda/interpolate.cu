// Interpolation on the GPU: a thread per element running csrc/interpolate_math.h, as the CPU
// does.
#include "cuda/launch.cuh"
#include "interpolate_math.h"
#include "kernels.h"

namespace fg::cuda {

// x (planes, h.in, w.in) -> y (planes, h.out, w.out)
template <typename T>
void interpolate_forward(T* y, const T* x, const InterpolatePlanes& planes) {
  InterpolatePlanes p = planes;  // by value into the kernel
  launch_for_each("interpolate_forward", p.planes * p.h.out * p.w.out,
                  [=] __device__(int64_t i) { interpolate::output_element(y, x, p, i); });
}

// dy (planes, h.out, w.out) -> dx (planes, h.in, w.in)
template <typename T>
void interpolate_backward(T* dx, const T* dy, const InterpolatePlanes& planes) {
  InterpolatePlanes p = planes;
  launch_for_each("interpolate_backward", p.planes * p.h.in * p.w.in,
                  [=] __device__(int64_t j) { interpolate::input_gradient(dx, dy, p, j); });
}

FG_INSTANTIATE_INTERPOLATE()

}  // namespace fg::cuda
