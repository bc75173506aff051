// linear: y = x @ weight^T + bias, one GEMM with the bias, and optionally ReLU, applied in its
// epilogue.
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// x (..., IN), weight (OUT, IN), bias (OUT) -> y (..., OUT); y = relu(...) if activation is
// "relu", which saves the forward a second pass over y (and a kernel launch on the GPU).
Tensor linear(const Tensor& x_any, const Tensor& weight_any, const Tensor& bias_any,
              const std::string& activation) {
  Tensor x = contiguous(x_any), weight = contiguous(weight_any);
  Tensor bias = bias_any.defined() ? contiguous(bias_any) : bias_any;
  check_float32(x, "linear", "the input");
  check_float32(weight, "linear", "weight");
  check_same_device(x, weight, "linear");
  FG_CHECK(weight.dim() == 2, ValueError,
           "[linear] expected a 2-D weight (out_features, in_features), got " << weight.shape());
  FG_CHECK(x.dim() >= 1 && x.shape().back() == weight.shape()[1], ValueError,
           "[linear] expected input with last dimension " << weight.shape()[1]
                                                           << " (weight " << weight.shape()
                                                           << "), got " << x.shape());
  FG_CHECK(activation.empty() || activation == "relu", ValueError,
           "[linear] expected activation None or 'relu', got '" << activation << "'");
  bool relu = activation == "relu";
  int64_t OUT = weight.shape()[0], IN = weight.shape()[1];
  int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  check_bias(bias, x, OUT, "linear");
  Shape out_shape = x.shape();
  out_shape.back() = OUT;
  Tensor out = empty(out_shape, DType::Float32, x.device());
  FG_LAUNCH(gemm, out.device(), out.data<float>(), x.data<float>(), weight.data<float>(),
            bias.defined() ? bias.data<float>() : nullptr, relu, false, true, false, rows, OUT, IN);
  bool grad_x = x.requires_grad(), grad_w = weight.requires_grad();
  bool grad_b = bias.defined() && bias.requires_grad();
  Tensor saved_out = relu ? out.detach() : Tensor();  // ReLU's gradient mask: out > 0
  record(out, "linear", {x, weight, bias},
         [x = x.detach(), weight = weight.detach(), saved_out, grad_x, grad_w, grad_b, rows, OUT,
          IN](const Tensor& dout_given) {
           Tensor dout = dout_given;
           if (saved_out.defined()) {  // dout (rows, OUT) through the ReLU
             dout = empty(saved_out.shape(), DType::Float32, saved_out.device());
             FG_LAUNCH(relu_backward, dout.device(), dout.data<float>(), dout_given.data<float>(),
                       saved_out.data<float>(), dout.numel());
           }
           Tensor dx, dweight, dbias;
           if (grad_x) {  // dx (rows, IN) = dout (rows, OUT) @ weight (OUT, IN)
             dx = empty(x.shape(), DType::Float32, x.device());
             FG_LAUNCH(gemm, dx.device(), dx.data<float>(), dout.data<float>(),
                       weight.data<float>(), nullptr, false, false, false, false, rows, IN, OUT);
           }
           if (grad_w) {  // dweight (OUT, IN) = dout^T (OUT, rows) @ x (rows, IN)
             dweight = empty(weight.shape(), DType::Float32, x.device());
             FG_LAUNCH(gemm, dweight.device(), dweight.data<float>(), dout.data<float>(),
                       x.data<float>(), nullptr, false, true, false, false, OUT, IN, rows);
           }
           if (grad_b) dbias = sum(reshape(dout, {rows, OUT}), {0}, false);
           return std::vector<Tensor>{dx, dweight, dbias};
         });
  return out;
}

}  // namespace fg::ops
