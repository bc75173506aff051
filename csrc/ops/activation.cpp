// Activations and softmax. Each backward rule reads the saved input or, where cheaper, the
// saved output.
#include <cmath>

#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// forward(device, y, x, n); backward(device, dx, dy, saved, n) where saved is x, or y if
// save_output (FG_KERNELS pairs, or lambdas that bind extra arguments).
template <typename Forward, typename Backward>
static Tensor activation(const char* name, const Tensor& input, bool save_output,
                         const Forward& forward, const Backward& backward) {
  Tensor x = contiguous(input);
  check_float32(x, name, "the input");
  Tensor out = empty(x.shape(), DType::Float32, x.device());
  forward(x.device(), out.data<float>(), x.data<float>(), x.numel());
  Tensor saved = save_output ? out.detach() : x.detach();
  record(out, name, {x}, [saved, backward](const Tensor& dout) {
    Tensor dx = empty(saved.shape(), DType::Float32, saved.device());
    backward(saved.device(), dx.data<float>(), dout.data<float>(), saved.data<float>(),
             saved.numel());
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor relu(const Tensor& x) {
  return activation("relu", x, false, FG_KERNELS(relu_forward<float>), FG_KERNELS(relu_backward<float>));
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  FG_CHECK(std::isfinite(negative_slope), ValueError,
           "[leaky_relu] expected a finite negative_slope, got " << negative_slope);
  float slope = static_cast<float>(negative_slope);
  return activation(
      "leaky_relu", x, false,
      [slope](Device device, float* y, const float* in, int64_t n) {
        FG_LAUNCH(leaky_relu_forward, device, y, in, slope, n);
      },
      [slope](Device device, float* dx, const float* dy, const float* in, int64_t n) {
        FG_LAUNCH(leaky_relu_backward, device, dx, dy, in, slope, n);
      });
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  FG_CHECK(approximate == "none" || approximate == "tanh", ValueError,
           "[gelu] expected approximate='none' or 'tanh', got '" << approximate << "'");
  bool use_tanh = approximate == "tanh";
  return activation(
      "gelu", x, false,
      [use_tanh](Device device, float* y, const float* in, int64_t n) {
        FG_LAUNCH(gelu_forward, device, y, in, use_tanh, n);
      },
      [use_tanh](Device device, float* dx, const float* dy, const float* in, int64_t n) {
        FG_LAUNCH(gelu_backward, device, dx, dy, in, use_tanh, n);
      });
}

Tensor tanh(const Tensor& x) {
  return activation("tanh", x, true, FG_KERNELS(tanh_forward<float>), FG_KERNELS(tanh_backward<float>));
}

Tensor sigmoid(const Tensor& x) {
  return activation("sigmoid", x, true, FG_KERNELS(sigmoid_forward<float>), FG_KERNELS(sigmoid_backward<float>));
}

Tensor silu(const Tensor& x) {
  return activation("silu", x, false, FG_KERNELS(silu_forward<float>), FG_KERNELS(silu_backward<float>));
}

// forward(device, y, x, outer, n, inner); backward(device, dx, dy, y, outer, n, inner) along
// `dim`
template <typename Forward, typename Backward>
static Tensor softmax_like(const char* name, const Tensor& input, int64_t dim,
                           const Forward& forward, const Backward& backward) {
  Tensor x = contiguous(input);
  check_float32(x, name, "the input");
  int64_t d = wrap_dim(dim, x.dim(), name);
  int64_t outer = 1, n = x.dim() ? x.shape()[d] : 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= x.shape()[i];
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
  Tensor out = empty(x.shape(), DType::Float32, x.device());
  forward(x.device(), out.data<float>(), x.data<float>(), outer, n, inner);
  record(out, name, {x}, [y = out.detach(), outer, n, inner, backward](const Tensor& dout) {
    Tensor dx = empty(y.shape(), DType::Float32, y.device());
    backward(y.device(), dx.data<float>(), dout.data<float>(), y.data<float>(), outer, n, inner);
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor softmax(const Tensor& x, int64_t dim) {
  return softmax_like("softmax", x, dim, FG_KERNELS(softmax_forward<float>), FG_KERNELS(softmax_backward<float>));
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_like("log_softmax", x, dim, FG_KERNELS(log_softmax_forward<float>),
                      FG_KERNELS(log_softmax_backward<float>));
}

}  // namespace fg::ops
