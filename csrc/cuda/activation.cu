// Activations; the CPU versions (csrc/cpu/activation.cpp) are the reference.
#include <cmath>

#include "cuda/launch.cuh"
#include "kernels.h"

namespace fg::cuda {
namespace {

__device__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

constexpr float kSqrt2OverPi = 0.7978845608028654f, kGeluCubic = 0.044715f;
constexpr float kInvSqrt2 = 0.7071067811865476f, kInvSqrt2Pi = 0.3989422804014327f;

}  // namespace

// x (n) -> y (n). NaN passes through (NaN < 0 is false, so it keeps x).
FG_CUDA_ELEMENTWISE(relu_forward, (float* y, const float* x, int64_t n),
                    y[i] = x[i] < 0.0f ? 0.0f : x[i])
// Zero where x <= 0, so a NaN input passes its gradient on, as in PyTorch.
FG_CUDA_ELEMENTWISE(relu_backward, (float* dx, const float* dy, const float* x, int64_t n),
                    dx[i] = x[i] <= 0.0f ? 0.0f : dy[i])

FG_CUDA_ELEMENTWISE(leaky_relu_forward, (float* y, const float* x, float slope, int64_t n),
                    y[i] = x[i] < 0.0f ? x[i] * slope : x[i])
FG_CUDA_ELEMENTWISE(leaky_relu_backward,
                    (float* dx, const float* dy, const float* x, float slope, int64_t n),
                    dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * slope)

FG_CUDA_ELEMENTWISE(tanh_forward, (float* y, const float* x, int64_t n), y[i] = tanhf(x[i]))
// from the output: dtanh = 1 - y^2
FG_CUDA_ELEMENTWISE(tanh_backward, (float* dx, const float* dy, const float* y, int64_t n),
                    dx[i] = dy[i] * (1.0f - y[i] * y[i]))

FG_CUDA_ELEMENTWISE(sigmoid_forward, (float* y, const float* x, int64_t n), y[i] = sigmoid(x[i]))
// from the output: dsigmoid = y (1 - y)
FG_CUDA_ELEMENTWISE(sigmoid_backward, (float* dx, const float* dy, const float* y, int64_t n),
                    dx[i] = dy[i] * y[i] * (1.0f - y[i]))

FG_CUDA_ELEMENTWISE(silu_forward, (float* y, const float* x, int64_t n),
                    y[i] = x[i] * sigmoid(x[i]))
// dsilu = s (1 + x (1 - s)), s = sigmoid(x)
FG_CUDA_ELEMENTWISE(silu_backward, (float* dx, const float* dy, const float* x, int64_t n), {
  float s = sigmoid(x[i]);
  dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
})

// GELU, exact (x Phi(x) through erfc) or the tanh form computed as x sigmoid(2u).
void gelu_forward(float* y, const float* x, bool tanh_approximation, int64_t n) {
  launch_for_each("gelu_forward", n, [=] __device__(int64_t i) {
    float v = x[i];
    if (tanh_approximation) {
      float u = kSqrt2OverPi * (v + kGeluCubic * v * v * v);
      y[i] = v * sigmoid(2.0f * u);
    } else {
      y[i] = 0.5f * v * erfcf(-v * kInvSqrt2);
    }
  });
}

void gelu_backward(float* dx, const float* dy, const float* x, bool tanh_approximation, int64_t n) {
  launch_for_each("gelu_backward", n, [=] __device__(int64_t i) {
    float v = x[i];
    if (tanh_approximation) {
      float u = kSqrt2OverPi * (v + kGeluCubic * v * v * v);
      float s = sigmoid(2.0f * u);
      float ds = 2.0f * s * (1.0f - s);  // 0 where s saturates, and x du/dx may be inf there
      float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * v * v);
      dx[i] = dy[i] * (s + (ds == 0.0f ? 0.0f : v * ds * du));
    } else {
      float cdf = 0.5f * erfcf(-v * kInvSqrt2);
      float pdf = kInvSqrt2Pi * expf(-0.5f * v * v);
      dx[i] = dy[i] * (cdf + v * pdf);
    }
  });
}

}  // namespace fg::cuda
