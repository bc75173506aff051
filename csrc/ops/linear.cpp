// linear: y = x @ weight^T + bias, one GEMM with the bias added in its epilogue.
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// x (..., IN), weight (OUT, IN), bias (OUT) -> y (..., OUT)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_float32(x, "linear", "the input");
  check_float32(weight, "linear", "weight");
  check_same_device(x, weight, "linear");
  FG_CHECK(weight.dim() == 2, ValueError,
           "[linear] expected a 2-D weight (out_features, in_features), got " << weight.shape());
  FG_CHECK(x.dim() >= 1 && x.shape().back() == weight.shape()[1], ValueError,
           "[linear] expected input with last dimension " << weight.shape()[1]
                                                           << " (weight " << weight.shape()
                                                           << "), got " << x.shape());
  int64_t OUT = weight.shape()[0], IN = weight.shape()[1];
  int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  check_bias(bias, x, OUT, "linear");
  Shape out_shape = x.shape();
  out_shape.back() = OUT;
  Tensor out = empty(out_shape, DType::Float32, x.device());
  FG_LAUNCH(gemm, out.device(), out.data<float>(), x.data<float>(), weight.data<float>(),
            bias.defined() ? bias.data<float>() : nullptr, false, true, false, rows, OUT, IN);
  bool grad_x = x.requires_grad(), grad_w = weight.requires_grad();
  bool grad_b = bias.defined() && bias.requires_grad();
  record(out, "linear", {x, weight, bias},
         [x = x.detach(), weight = weight.detach(), grad_x, grad_w, grad_b, rows, OUT, IN](
             const Tensor& dout) {
           Tensor dx, dweight, dbias;
           if (grad_x) {  // dx (rows, IN) = dout (rows, OUT) @ weight (OUT, IN)
             dx = empty(x.shape(), DType::Float32, x.device());
             FG_LAUNCH(gemm, dx.device(), dx.data<float>(), dout.data<float>(),
                       weight.data<float>(), nullptr, false, false, false, rows, IN, OUT);
           }
           if (grad_w) {  // dweight (OUT, IN) = dout^T (OUT, rows) @ x (rows, IN)
             dweight = empty(weight.shape(), DType::Float32, x.device());
             FG_LAUNCH(gemm, dweight.device(), dweight.data<float>(), dout.data<float>(),
                       x.data<float>(), nullptr, true, false, false, OUT, IN, rows);
           }
           if (grad_b) dbias = sum(reshape(dout, {rows, OUT}), {0}, false);
           return std::vector<Tensor>{dx, dweight, dbias};
         });
  return out;
}

}  // namespace fg::ops
