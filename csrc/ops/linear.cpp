// linear: y = x @ weight^T + bias, one GEMM with the bias, and optionally ReLU, applied in its
// epilogue.
#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// x (..., IN), weight (OUT, IN), bias (OUT) -> y (..., OUT); y = relu(...) if activation is
// "relu", which saves the forward a second pass over y (and a kernel launch on the GPU).
// weight (OUT, IN) as the GEMM's B: row-major, so transposed in y = x @ weight^T; or a .T view
// of a row-major (IN, OUT) matrix (tied weights), which the GEMM takes as stored.
static bool weight_is_transposed_view(const Tensor& weight) {
  return !weight.is_contiguous() && weight.strides()[0] == 1 &&
         weight.strides()[1] == weight.shape()[0];
}

Tensor linear(const Tensor& x_any, const Tensor& weight_any, const Tensor& bias_any,
              const std::string& activation) {
  check_same_device(x_any, weight_any, "linear");
  FG_CHECK(x_any.dtype() == weight_any.dtype(), TypeError,
           "[linear] expected input and weight of the same dtype, got "
               << dtype_name(x_any.dtype()) << " and " << dtype_name(weight_any.dtype()));
  FG_CHECK(
      weight_any.dim() == 2, ValueError,
      "[linear] expected a 2-D weight (out_features, in_features), got " << weight_any.shape());
  FG_CHECK(x_any.dim() >= 1 && x_any.shape().back() == weight_any.shape()[1], ValueError,
           "[linear] expected input with last dimension " << weight_any.shape()[1] << " (weight "
                                                          << weight_any.shape() << "), got "
                                                          << x_any.shape());
  FG_CHECK(activation.empty() || activation == "relu", ValueError,
           "[linear] expected activation None or 'relu', got '" << activation << "'");
  if (x_any.dtype() == DType::Float16 || x_any.dtype() == DType::BFloat16) {
    auto wide = [](const Tensor& t) { return t.defined() ? to_dtype(t, DType::Float32) : t; };
    return to_dtype(linear(wide(x_any), wide(weight_any), wide(bias_any), activation),
                    x_any.dtype());
  }
  Tensor x = contiguous(x_any);
  bool weight_transposed = weight_is_transposed_view(weight_any);
  Tensor weight = weight_transposed ? weight_any : contiguous(weight_any);
  Tensor bias = bias_any.defined() ? contiguous(bias_any) : bias_any;
  bool relu = activation == "relu";
  int64_t OUT = weight.shape()[0], IN = weight.shape()[1];
  int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  check_bias(bias, x, OUT, "linear");
  Shape out_shape = x.shape();
  out_shape.back() = OUT;
  Tensor out = empty(out_shape, x.dtype(), x.device());
  dispatch_floating(x.dtype(), "linear", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(gemm, out.device(), out.data<T>(), x.data<T>(),
              static_cast<const T*>(weight.strided_data()),
              bias.defined() ? bias.data<T>() : nullptr, relu, false, !weight_transposed, false,
              rows, OUT, IN);
  });
  bool grad_x = x.requires_grad(), grad_w = weight.requires_grad();
  bool grad_b = bias.defined() && bias.requires_grad();
  Tensor saved_out = relu ? out.detach() : Tensor();  // ReLU's gradient mask: out > 0
  record(out, "linear", {x, weight, bias},
         [x = x.detach(), weight = weight.detach(), saved_out, weight_transposed, grad_x, grad_w,
          grad_b, rows, OUT, IN](const Tensor& dout_given) {
           Tensor dout = contiguous(dout_given), dx, dweight, dbias;
           dispatch_floating(dout.dtype(), "linear", [&](auto tag) {
             using T = typename decltype(tag)::type;
             if (saved_out.defined()) {  // dout (rows, OUT) through the ReLU
               Tensor through = empty(saved_out.shape(), dout.dtype(), dout.device());
               FG_LAUNCH(relu_backward, dout.device(), through.data<T>(), dout.data<T>(),
                         saved_out.data<T>(), dout.numel());
               dout = through;
             }
             if (grad_x) {  // dx (rows, IN) = dout (rows, OUT) @ weight (OUT, IN)
               dx = empty(x.shape(), x.dtype(), x.device());
               FG_LAUNCH(gemm, dx.device(), dx.data<T>(), dout.data<T>(),
                         static_cast<const T*>(weight.strided_data()), nullptr, false, false,
                         weight_transposed, false, rows, IN, OUT);
             }
             if (grad_w) {  // dweight (OUT, IN) = dout^T (OUT, rows) @ x (rows, IN)
               dweight = empty(weight.shape(), x.dtype(), x.device());
               FG_LAUNCH(gemm, dweight.device(), dweight.data<T>(), dout.data<T>(), x.data<T>(),
                         nullptr, false, true, false, false, OUT, IN, rows);
             }
           });
           if (grad_b) dbias = sum(reshape(dout, {rows, OUT}), {0}, false);
           return std::vector<Tensor>{dx, dweight, dbias};
         });
  return out;
}

}  // namespace fg::ops
