// Softmax and log-softmax along the middle axis of (outer, n, inner); the CPU versions
// (csrc/cpu/softmax.cpp) are the reference. Sums accumulate in float64, as there.
#include <cmath>

#include "cuda/lines.cuh"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cuda {
namespace {

// The line's maximum, 0 for an all -inf line (which then gives NaN, as PyTorch does).
template <typename Group, typename T>
__device__ T line_max(const Group& g, const T* x, int64_t start, int64_t stride, int64_t n) {
  T m = -INFINITY;
  for (int64_t k = g.lane; k < n; k += Group::kSize) {
    T v = x[start + k * stride];
    m = (v != v || v > m) ? v : m;
  }
  m = g.max(m);
  return m == -INFINITY ? T(0) : m;
}

}  // namespace

// x (outer, n, inner) -> y (outer, n, inner)
template <typename T>
void softmax_forward(T* y, const T* x, int64_t outer, int64_t n, int64_t inner) {
  launch_lines("softmax_forward", outer, n, inner,
               [=] __device__(auto g, int64_t, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 T m = line_max(g, x, start, stride, n);
                 double total = 0;
                 for (int64_t k = g.lane; k < n; k += G) {
                   T e = exp_of(x[start + k * stride] - m);
                   y[start + k * stride] = e;
                   total += e;
                 }
                 T scale = static_cast<T>(1.0 / g.sum(total));
                 for (int64_t k = g.lane; k < n; k += G) y[start + k * stride] *= scale;
               });
}

// dy, y (outer, n, inner) -> dx = y (dy - sum(dy y))
template <typename T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t n, int64_t inner) {
  launch_lines("softmax_backward", outer, n, inner,
               [=] __device__(auto g, int64_t, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 double dot = 0;
                 for (int64_t k = g.lane; k < n; k += G)
                   dot += dy[start + k * stride] * y[start + k * stride];
                 T d = static_cast<T>(g.sum(dot));
                 for (int64_t k = g.lane; k < n; k += G) {
                   int64_t i = start + k * stride;
                   dx[i] = y[i] * (dy[i] - d);
                 }
               });
}

// x (outer, n, inner) -> y = x - max - log(sum(exp(x - max)))
template <typename T>
void log_softmax_forward(T* y, const T* x, int64_t outer, int64_t n, int64_t inner) {
  launch_lines("log_softmax_forward", outer, n, inner,
               [=] __device__(auto g, int64_t, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 T m = line_max(g, x, start, stride, n);
                 double total = 0;
                 for (int64_t k = g.lane; k < n; k += G) total += exp_of(x[start + k * stride] - m);
                 T log_total = static_cast<T>(log(g.sum(total)));
                 for (int64_t k = g.lane; k < n; k += G)
                   y[start + k * stride] = (x[start + k * stride] - m) - log_total;
               });
}

// dy, y (outer, n, inner) -> dx = dy - exp(y) sum(dy)
template <typename T>
void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t n, int64_t inner) {
  launch_lines("log_softmax_backward", outer, n, inner,
               [=] __device__(auto g, int64_t, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 double total = 0;
                 for (int64_t k = g.lane; k < n; k += G) total += dy[start + k * stride];
                 T t = static_cast<T>(g.sum(total));
                 for (int64_t k = g.lane; k < n; k += G) {
                   int64_t i = start + k * stride;
                   dx[i] = dy[i] - exp_of(y[i]) * t;
                 }
               });
}

FG_INSTANTIATE_SOFTMAX()

}  // namespace fg::cuda
