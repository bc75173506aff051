// conv2d as one op with its own backward: the kernels of csrc/cpu/conv.cpp (the packed GEMM
// on cache-sized im2col tiles) and csrc/cuda/conv.cu (implicit GEMM). The Python layer
// (python/forgegrad/nn/_conv.py) parses PyTorch's arguments, pads 'same' with an odd total
// and the padding modes, and runs conv1d as conv2d of height 1.
#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {
namespace {

template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The geometry of weight (O, C / groups, kh, kw) over input (N, C, H, W), checked.
ConvGeometry conv_geometry(const Tensor& input, const Tensor& weight, const Shape& stride,
                           const Shape& padding, const Shape& dilation, int64_t groups) {
  FG_CHECK(input.dim() == 4 && weight.dim() == 4, ValueError,
           "[conv2d] expected input (N, C, H, W) and weight (O, C / groups, kh, kw), got shapes "
               << input.shape() << " and " << weight.shape());
  FG_CHECK(stride.size() == 2 && padding.size() == 2 && dilation.size() == 2, ValueError,
           "[conv2d] expected stride, padding and dilation of 2 values each, got "
               << stride.size() << ", " << padding.size() << " and " << dilation.size());
  FG_CHECK(stride[0] > 0 && stride[1] > 0 && dilation[0] > 0 && dilation[1] > 0 &&
               padding[0] >= 0 && padding[1] >= 0,
           ValueError,
           "[conv2d] expected stride and dilation > 0 and padding >= 0, got stride "
               << stride << ", dilation " << dilation << ", padding " << padding);
  int64_t out_channels = weight.size(0), channels = input.size(1);
  FG_CHECK(groups > 0 && out_channels % groups == 0 && channels == weight.size(1) * groups,
           ValueError,
           "[conv2d] expected groups > 0 dividing out_channels "
               << out_channels << " and input channels = weight.shape[1] x groups, got groups "
               << groups << " with input " << input.shape() << " and weight " << weight.shape());
  Im2colGeometry im{channels,
                    input.size(2),
                    input.size(3),
                    weight.size(2),
                    weight.size(3),
                    dilation[0],
                    dilation[1],
                    padding[0],
                    padding[1],
                    stride[0],
                    stride[1],
                    0,
                    0};
  int64_t span_h = dilation[0] * (im.kernel_h - 1) + 1;
  int64_t span_w = dilation[1] * (im.kernel_w - 1) + 1;
  int64_t padded_h = im.height + 2 * padding[0], padded_w = im.width + 2 * padding[1];
  FG_CHECK(span_h <= padded_h && span_w <= padded_w, ValueError,
           "[conv2d] expected a dilated kernel of at most the padded input's size ("
               << padded_h << ", " << padded_w << "), got (" << span_h << ", " << span_w << ")");
  im.out_h = (padded_h - span_h) / stride[0] + 1;
  im.out_w = (padded_w - span_w) / stride[1] + 1;
  return {im, out_channels, groups};
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Shape& stride,
              const Shape& padding, const Shape& dilation, int64_t groups) {
  const char* op = "conv2d";
  check_same_device(input, weight, op);
  FG_CHECK(input.dtype() == weight.dtype(), TypeError,
           "[conv2d] expected input and weight of one dtype, got "
               << dtype_name(input.dtype()) << " and " << dtype_name(weight.dtype()));
  ConvGeometry g = conv_geometry(input, weight, stride, padding, dilation, groups);
  check_bias(bias, weight, g.out_channels, op);
  if (input.dtype() == DType::Float16 || input.dtype() == DType::BFloat16) {
    auto wide = [](const Tensor& t) { return t.defined() ? to_dtype(t, DType::Float32) : t; };
    Tensor out = conv2d(wide(input), wide(weight), wide(bias), stride, padding, dilation, groups);
    return to_dtype(out, input.dtype());
  }
  dispatch_floating(input.dtype(), op, [](auto) {});
  Tensor x = contiguous(input.detach()), w = contiguous(weight.detach());
  Tensor b = bias.defined() ? contiguous(bias.detach()) : bias;
  int64_t batch = x.size(0);
  Tensor out = empty({batch, g.out_channels, g.image.out_h, g.image.out_w}, x.dtype(), x.device());
  if (out.numel() > 0)
    dispatch_floating(x.dtype(), op, [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(conv2d_forward, x.device(), out.data<T>(), x.data<T>(), w.data<T>(),
                data_or_null<T>(b), g, batch);
    });
  bool want_dx = input.requires_grad(), want_dw = weight.requires_grad();
  bool want_db = bias.defined() && bias.requires_grad();
  record(out, op, {input, weight, bias},
         [x, w, g, batch, want_dx, want_dw, want_db](const Tensor& dout) {
           Tensor dy = contiguous(dout);
           // With an empty batch the weight's and bias's sums are zeros.
           auto gradient_like = [&](bool wanted, const Shape& shape) {
             if (!wanted) return Tensor();
             return batch == 0 ? zeros(shape, x.dtype(), x.device())
                               : empty(shape, x.dtype(), x.device());
           };
           Tensor dx = gradient_like(want_dx, x.shape());
           Tensor dw = gradient_like(want_dw, w.shape());
           Tensor db = gradient_like(want_db, {g.out_channels});
           if (batch > 0)
             dispatch_floating(x.dtype(), "conv2d", [&](auto tag) {
               using T = typename decltype(tag)::type;
               FG_LAUNCH(conv2d_backward, x.device(), data_or_null<T>(dx), data_or_null<T>(dw),
                         data_or_null<T>(db), dy.data<T>(), x.data<T>(), w.data<T>(), g, batch);
             });
           return std::vector<Tensor>{dx, dw, db};
         });
  return out;
}

}  // namespace fg::ops
