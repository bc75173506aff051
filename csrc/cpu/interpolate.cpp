// Interpolation on the CPU: the element functions of csrc/interpolate_math.h over threads'
// ranges.
#include "cpu/parallel.h"
#include "interpolate_math.h"
#include "kernels.h"

namespace fg::cpu {

// Elements per thread: each reads a few taps (or, backward, searches for its outputs).
static constexpr int64_t kInterpolateGrain = 1 << 12;

// x (planes, h.in, w.in) -> y (planes, h.out, w.out)
template <typename T>
void interpolate_forward(T* y, const T* x, const InterpolatePlanes& planes) {
  parallel_for(planes.planes * planes.h.out * planes.w.out, kInterpolateGrain,
               [&](int64_t begin, int64_t end) {
                 for (int64_t i = begin; i < end; ++i) interpolate::output_element(y, x, planes, i);
               });
}

// dy (planes, h.out, w.out) -> dx (planes, h.in, w.in)
template <typename T>
void interpolate_backward(T* dx, const T* dy, const InterpolatePlanes& planes) {
  parallel_for(planes.planes * planes.h.in * planes.w.in, kInterpolateGrain,
               [&](int64_t begin, int64_t end) {
                 for (int64_t j = begin; j < end; ++j)
                   interpolate::input_gradient(dx, dy, planes, j);
               });
}

FG_INSTANTIATE_INTERPOLATE()

}  // namespace fg::cpu
