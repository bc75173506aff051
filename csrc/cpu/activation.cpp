#include <cmath>

#include "cpu/parallel.h"
#include "cpu/vec_math.h"
#include "kernels.h"

namespace fg::cpu {

// Forward sits above its backward.

// x (n) -> y (n). NaN passes through (NaN < 0 is false, so it keeps x).
FG_ELEMENTWISE_KERNEL(relu_forward, (float* y, const float* x, int64_t n), (y, x, n),
                     y[i] = x[i] < 0.0f ? 0.0f : x[i])
// Zero where x <= 0, so a NaN input passes its gradient on, as in PyTorch.
FG_ELEMENTWISE_KERNEL(relu_backward, (float* dx, const float* dy, const float* x, int64_t n),
                     (dx, dy, x, n), {
                       float g = dy[i];  // read either way: a conditional load would branch
                       dx[i] = x[i] <= 0.0f ? 0.0f : g;
                     })

FG_ELEMENTWISE_KERNEL(leaky_relu_forward, (float* y, const float* x, float slope, int64_t n),
                     (y, x, slope, n), y[i] = x[i] < 0.0f ? x[i] * slope : x[i])
FG_ELEMENTWISE_KERNEL(leaky_relu_backward,
                     (float* dx, const float* dy, const float* x, float slope, int64_t n),
                     (dx, dy, x, slope, n), dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * slope)

FG_ELEMENTWISE_KERNEL(tanh_forward, (float* y, const float* x, int64_t n), (y, x, n),
                     y[i] = vtanh(x[i]))
// from the output: dtanh = 1 - y^2
FG_ELEMENTWISE_KERNEL(tanh_backward, (float* dx, const float* dy, const float* y, int64_t n),
                     (dx, dy, y, n), dx[i] = dy[i] * (1.0f - y[i] * y[i]))

FG_ELEMENTWISE_KERNEL(sigmoid_forward, (float* y, const float* x, int64_t n), (y, x, n),
                     y[i] = vsigmoid(x[i]))
// from the output: dsigmoid = y (1 - y)
FG_ELEMENTWISE_KERNEL(sigmoid_backward, (float* dx, const float* dy, const float* y, int64_t n),
                     (dx, dy, y, n), dx[i] = dy[i] * y[i] * (1.0f - y[i]))

FG_ELEMENTWISE_KERNEL(silu_forward, (float* y, const float* x, int64_t n), (y, x, n),
                     y[i] = x[i] * vsigmoid(x[i]))
// dsilu = s (1 + x (1 - s)), s = sigmoid(x)
FG_ELEMENTWISE_KERNEL(silu_backward, (float* dx, const float* dy, const float* x, int64_t n),
                     (dx, dy, x, n), {
                       float s = vsigmoid(x[i]);
                       dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
                     })

// GELU. Exact: x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 (erfc keeps precision for x << 0).
// Tanh form: x (1 + tanh u) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3), computed as
// x sigmoid(2u), the same value without the cancellation of 1 + tanh u for x << 0.
constexpr float kSqrt2OverPi = 0.7978845608028654f, kGeluCubic = 0.044715f;
constexpr float kInvSqrt2 = 0.7071067811865476f, kInvSqrt2Pi = 0.3989422804014327f;

static void gelu_exact_forward(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * std::erfc(-x[i] * kInvSqrt2);
}
static void gelu_exact_backward(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float cdf = 0.5f * std::erfc(-x[i] * kInvSqrt2);
    float pdf = kInvSqrt2Pi * std::exp(-0.5f * x[i] * x[i]);
    dx[i] = dy[i] * (cdf + x[i] * pdf);
  }
}
FG_SIMD static void gelu_tanh_forward(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float u = kSqrt2OverPi * (x[i] + kGeluCubic * x[i] * x[i] * x[i]);
    y[i] = x[i] * vsigmoid(2.0f * u);
  }
}
// d/dx [x s] = s + x * 2 s (1 - s) * du/dx, s = sigmoid(2u). Where s saturates, s (1 - s) is
// 0 and x du/dx may be inf (|x| > 6e12 overflows x^3): the term is 0 there, not 0 * inf = NaN.
FG_SIMD static void gelu_tanh_backward(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float u = kSqrt2OverPi * (x[i] + kGeluCubic * x[i] * x[i] * x[i]);
    float s = vsigmoid(2.0f * u);
    float ds = 2.0f * s * (1.0f - s);
    float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x[i] * x[i]);
    dx[i] = dy[i] * (s + (ds == 0.0f ? 0.0f : x[i] * ds * du));
  }
}

void gelu_forward(float* y, const float* x, bool tanh_approximation, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    (tanh_approximation ? gelu_tanh_forward : gelu_exact_forward)(y + begin, x + begin,
                                                                   end - begin);
  });
}

void gelu_backward(float* dx, const float* dy, const float* x, bool tanh_approximation,
                   int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    (tanh_approximation ? gelu_tanh_backward : gelu_exact_backward)(dx + begin, dy + begin,
                                                                     x + begin, end - begin);
  });
}


}  // namespace fg::cpu
