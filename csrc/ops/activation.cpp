// Activations and softmax. Each backward rule reads the saved input or, where cheaper, the
// saved output.
#include <cmath>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// forward(device, y, x, n); backward(device, dx, dy, saved, n) where saved is x, or y if
// save_output: generic lambdas, called with T* for the input's dtype (float or double; float16
// and bfloat16 compute in float32).
template <typename Forward, typename Backward>
static Tensor activation(const char* name, const Tensor& input, bool save_output,
                         const Forward& forward, const Backward& backward) {
  return with_float32_compute(input, [&](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), name, [&](auto tag) {
      using T = typename decltype(tag)::type;
      forward(x.device(), out.data<T>(), x.data<T>(), x.numel());
    });
    Tensor saved = save_output ? out.detach() : x.detach();
    record(out, name, {x}, [saved, backward, name](const Tensor& dout) {
      Tensor dx = empty(saved.shape(), saved.dtype(), saved.device());
      dispatch_floating(saved.dtype(), name, [&](auto tag) {
        using T = typename decltype(tag)::type;
        backward(saved.device(), dx.data<T>(), dout.data<T>(), saved.data<T>(), saved.numel());
      });
      return std::vector<Tensor>{dx};
    });
    return out;
  });
}

// A kernel as the generic lambda activation() calls: FG_FORWARD(gelu_forward, use_tanh) runs
// gelu_forward(y, x, use_tanh, n) on the device; the extra arguments are captured.
#define FG_FORWARD(kernel, ...)                                            \
  [=](Device device, auto* y, const auto* x, int64_t n) {                  \
    FG_LAUNCH(kernel, device, y, x, ##__VA_ARGS__, n);                     \
  }
#define FG_BACKWARD(kernel, ...)                                                       \
  [=](Device device, auto* dx, const auto* dy, const auto* saved, int64_t n) {         \
    FG_LAUNCH(kernel, device, dx, dy, saved, ##__VA_ARGS__, n);                        \
  }

// relu on integers is max(x, 0), as in PyTorch
Tensor relu(const Tensor& x) {
  if (!is_floating(x.dtype()) && x.dtype() != DType::Bool) return clamp(x, 0.0, std::nullopt);
  return activation("relu", x, false, FG_FORWARD(relu_forward), FG_BACKWARD(relu_backward));
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  FG_CHECK(std::isfinite(negative_slope), ValueError,
           "[leaky_relu] expected a finite negative_slope, got " << negative_slope);
  return activation("leaky_relu", x, false, FG_FORWARD(leaky_relu_forward, negative_slope),
                    FG_BACKWARD(leaky_relu_backward, negative_slope));
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  FG_CHECK(approximate == "none" || approximate == "tanh", ValueError,
           "[gelu] expected approximate='none' or 'tanh', got '" << approximate << "'");
  bool use_tanh = approximate == "tanh";
  return activation("gelu", x, false, FG_FORWARD(gelu_forward, use_tanh),
                    FG_BACKWARD(gelu_backward, use_tanh));
}

// tanh and sigmoid of integers are float32, as other real-valued math (floating_math)
Tensor tanh(const Tensor& x_any) {
  return floating_math(x_any, [](const Tensor& x) {
    return activation("tanh", x, true, FG_FORWARD(tanh_forward), FG_BACKWARD(tanh_backward));
  });
}

Tensor sigmoid(const Tensor& x_any) {
  return floating_math(x_any, [](const Tensor& x) {
    return activation("sigmoid", x, true, FG_FORWARD(sigmoid_forward),
                      FG_BACKWARD(sigmoid_backward));
  });
}

Tensor silu(const Tensor& x) {
  return activation("silu", x, false, FG_FORWARD(silu_forward), FG_BACKWARD(silu_backward));
}

static const char* activation_name(Activation op) {
  switch (op) {
#define FG_ACTIVATION_NAME(Name) \
  case Activation::Name:         \
    return #Name;
    FG_FOR_EACH_ACTIVATION(FG_ACTIVATION_NAME)
#undef FG_ACTIVATION_NAME
  }
  return "activation";
}

Tensor apply_activation(Activation op, const Tensor& x, const ActivationParams& params) {
  return activation(activation_name(op), x, false, FG_FORWARD(activation_forward, op, params),
                    FG_BACKWARD(activation_backward, op, params));
}

#undef FG_FORWARD
#undef FG_BACKWARD

// where(x > 0, x, weight x), weight one value or one per channel (dim 1)
Tensor prelu(const Tensor& x, const Tensor& weight) {
  FG_CHECK(weight.dim() <= 1, ValueError,
           "[prelu] expected a 0-d or 1-d weight, got shape " << weight.shape());
  int64_t channels = x.dim() >= 2 ? x.shape()[1] : 1;
  FG_CHECK(weight.numel() == 1 || weight.numel() == channels, ValueError,
           "[prelu] expected 1 weight or one per channel ("
               << channels << ", dim 1 of input " << x.shape() << "), got " << weight.numel());
  Shape per_channel(std::max<int64_t>(x.dim() - 1, 1), 1);
  per_channel[0] = weight.numel();
  Tensor w = weight.numel() == 1 ? reshape(weight, {}) : reshape(weight, per_channel);
  return where(compare(CompareOp::Gt, x, scalar_tensor(0, x.dtype(), x.device())), x, mul(w, x));
}

// a * sigmoid(b), a and b the two halves of x along dim
Tensor glu(const Tensor& x, int64_t dim) {
  FG_CHECK(x.dim() > 0, ValueError, "[glu] expected a tensor of at least one dimension");
  int64_t d = wrap_dim(dim, x.dim(), "glu"), size = x.shape()[d];
  FG_CHECK(size % 2 == 0, ValueError,
           "[glu] expected an even size along dim " << dim << ", got " << size);
  return mul(narrow(x, d, 0, size / 2), sigmoid(narrow(x, d, size / 2, size / 2)));
}

// forward(device, y, x, outer, n, inner); backward(device, dx, dy, y, outer, n, inner) along
// `dim`, generic over T* as activation's.
template <typename Forward, typename Backward>
static Tensor softmax_like(const char* name, const Tensor& input, int64_t dim,
                           const Forward& forward, const Backward& backward) {
  return with_float32_compute(input, [&](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    int64_t d = wrap_dim(dim, x.dim(), name);
    int64_t outer = 1, n = x.dim() ? x.shape()[d] : 1, inner = 1;
    for (int64_t i = 0; i < d; ++i) outer *= x.shape()[i];
    for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), name, [&](auto tag) {
      using T = typename decltype(tag)::type;
      forward(x.device(), out.data<T>(), x.data<T>(), outer, n, inner);
    });
    record(out, name, {x}, [y = out.detach(), outer, n, inner, backward, name](const Tensor& dout) {
      Tensor dx = empty(y.shape(), y.dtype(), y.device());
      dispatch_floating(y.dtype(), name, [&](auto tag) {
        using T = typename decltype(tag)::type;
        backward(y.device(), dx.data<T>(), dout.data<T>(), y.data<T>(), outer, n, inner);
      });
      return std::vector<Tensor>{dx};
    });
    return out;
  });
}

Tensor softmax(const Tensor& x, int64_t dim) {
  return softmax_like(
      "softmax", x, dim,
      [](Device device, auto* y, const auto* in, int64_t outer, int64_t n, int64_t inner) {
        FG_LAUNCH(softmax_forward, device, y, in, outer, n, inner);
      },
      [](Device device, auto* dx, const auto* dy, const auto* y, int64_t outer, int64_t n,
         int64_t inner) { FG_LAUNCH(softmax_backward, device, dx, dy, y, outer, n, inner); });
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_like(
      "log_softmax", x, dim,
      [](Device device, auto* y, const auto* in, int64_t outer, int64_t n, int64_t inner) {
        FG_LAUNCH(log_softmax_forward, device, y, in, outer, n, inner);
      },
      [](Device device, auto* dx, const auto* dy, const auto* y, int64_t outer, int64_t n,
         int64_t inner) { FG_LAUNCH(log_softmax_backward, device, dx, dy, y, outer, n, inner); });
}

}  // namespace fg::ops
