// Depthwise conv2d (groups == in_channels, out_channels = multiplier x in_channels) on the
// direct kernels of csrc/cpu/depthwise.cpp and csrc/cuda/depthwise.cu, which F.conv2d and
// F.conv1d (python/forgegrad/nn/_conv.py) take for depthwise cases instead of im2col and a
// matmul: a depthwise conv does a few multiply-adds per pixel, too few for a GEMM to pay.
// The Python layer parses PyTorch's arguments; `op` names the public op in errors.
#include <string>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

Tensor depthwise_conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const Shape& stride, const Shape& padding, const Shape& dilation,
                        const std::string& op) {
  const char* name = op.c_str();
  FG_CHECK(input.dim() == 4 && input.shape()[1] > 0, ValueError,
           "[" << op << "] expected input of shape (N, C, H, W) with C > 0, got " << input.shape());
  const int64_t N = input.shape()[0], C = input.shape()[1];
  FG_CHECK(weight.dim() == 4 && weight.shape()[1] == 1 && weight.shape()[0] > 0 &&
               weight.shape()[0] % C == 0,
           ValueError,
           "[" << op << "] expected a depthwise weight of shape (multiplier x " << C
               << ", 1, kh, kw), got " << weight.shape());
  check_same_device(input, weight, name);
  FG_CHECK(input.dtype() == weight.dtype(), TypeError,
           "[" << op << "] expected input and weight of one dtype, got "
               << dtype_name(input.dtype()) << " and " << dtype_name(weight.dtype()));
  const int64_t out_channels = weight.shape()[0], multiplier = out_channels / C;
  check_bias(bias, input, out_channels, name);
  Im2colGeometry g =
      sliding_geometry(name, C, input.shape()[2], input.shape()[3],
                       {weight.shape()[2], weight.shape()[3]}, dilation, padding, stride);
  Tensor x = contiguous(input.detach()), w = contiguous(weight.detach());
  Tensor b = bias.defined() ? contiguous(bias.detach()) : bias;
  Tensor out = empty({N, out_channels, g.out_h, g.out_w}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(depthwise_conv2d_forward, x.device(), out.data<T>(), x.data<T>(), w.data<T>(),
              b.defined() ? b.data<T>() : nullptr, g, multiplier, N);
  });
  record(out, "depthwise_conv2d", {input, weight, bias},
         [x, w, g, multiplier, N, name = op, input_grad = input.requires_grad(),
          weight_grad = weight.requires_grad(),
          bias_grad = bias.defined() && bias.requires_grad()](const Tensor& dout) {
           Tensor dy = contiguous(dout);
           Tensor dx, dw, db;
           dispatch_floating(dy.dtype(), name.c_str(), [&](auto tag) {
             using T = typename decltype(tag)::type;
             if (input_grad) {
               dx = empty(x.shape(), x.dtype(), x.device());
               FG_LAUNCH(depthwise_conv2d_backward_input, x.device(), dx.data<T>(), dy.data<T>(),
                         w.data<T>(), g, multiplier, N);
             }
             if (weight_grad) {
               dw = empty(w.shape(), w.dtype(), w.device());
               FG_LAUNCH(depthwise_conv2d_backward_weight, x.device(), dw.data<T>(), dy.data<T>(),
                         x.data<T>(), g, multiplier, N);
             }
           });
           if (bias_grad) db = sum(dy, {0, 2, 3}, false);
           return std::vector<Tensor>{dx, dw, db};
         });
  return out;
}

}  // namespace fg::ops
