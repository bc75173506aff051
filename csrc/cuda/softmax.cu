// Softmax and log-softmax along the middle axis of (outer, n, inner); the CPU versions
// (csrc/cpu/softmax.cpp) are the reference. Sums accumulate in float64, as there.
#include <cmath>

#include "cuda/lines.cuh"
#include "kernels.h"

namespace fg::cuda {
namespace {

// The line's maximum, 0 for an all -inf line (which then gives NaN, as PyTorch does).
template <typename Group>
__device__ float line_max(const Group& g, const float* x, int64_t start, int64_t stride,
                          int64_t n) {
  float m = -INFINITY;
  for (int64_t k = g.lane; k < n; k += Group::kSize) {
    float v = x[start + k * stride];
    m = (v != v || v > m) ? v : m;
  }
  m = g.max(m);
  return m == -INFINITY ? 0.0f : m;
}

}  // namespace

// x (outer, n, inner) -> y (outer, n, inner)
void softmax_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner) {
  launch_lines("softmax_forward", outer, n, inner,
               [=] __device__(auto g, int64_t, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 float m = line_max(g, x, start, stride, n);
                 double total = 0;
                 for (int64_t k = g.lane; k < n; k += G) {
                   float e = expf(x[start + k * stride] - m);
                   y[start + k * stride] = e;
                   total += e;
                 }
                 float scale = static_cast<float>(1.0 / g.sum(total));
                 for (int64_t k = g.lane; k < n; k += G) y[start + k * stride] *= scale;
               });
}

// dy, y (outer, n, inner) -> dx = y (dy - sum(dy y))
void softmax_backward(float* dx, const float* dy, const float* y, int64_t outer, int64_t n,
                      int64_t inner) {
  launch_lines("softmax_backward", outer, n, inner,
               [=] __device__(auto g, int64_t, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 double dot = 0;
                 for (int64_t k = g.lane; k < n; k += G)
                   dot += dy[start + k * stride] * y[start + k * stride];
                 float d = static_cast<float>(g.sum(dot));
                 for (int64_t k = g.lane; k < n; k += G) {
                   int64_t i = start + k * stride;
                   dx[i] = y[i] * (dy[i] - d);
                 }
               });
}

// x (outer, n, inner) -> y = x - max - log(sum(exp(x - max)))
void log_softmax_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner) {
  launch_lines("log_softmax_forward", outer, n, inner,
               [=] __device__(auto g, int64_t, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 float m = line_max(g, x, start, stride, n);
                 double total = 0;
                 for (int64_t k = g.lane; k < n; k += G) total += expf(x[start + k * stride] - m);
                 float log_total = static_cast<float>(log(g.sum(total)));
                 for (int64_t k = g.lane; k < n; k += G)
                   y[start + k * stride] = (x[start + k * stride] - m) - log_total;
               });
}

// dy, y (outer, n, inner) -> dx = dy - exp(y) sum(dy)
void log_softmax_backward(float* dx, const float* dy, const float* y, int64_t outer, int64_t n,
                          int64_t inner) {
  launch_lines("log_softmax_backward", outer, n, inner,
               [=] __device__(auto g, int64_t, int64_t start, int64_t stride) {
                 constexpr int G = decltype(g)::kSize;
                 double total = 0;
                 for (int64_t k = g.lane; k < n; k += G) total += dy[start + k * stride];
                 float t = static_cast<float>(g.sum(total));
                 for (int64_t k = g.lane; k < n; k += G) {
                   int64_t i = start + k * stride;
                   dx[i] = dy[i] - expf(y[i]) * t;
                 }
               });
}

}  // namespace fg::cuda
