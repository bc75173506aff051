// Normalization: layer_norm and group_norm normalize groups of contiguous elements by their
// own statistics (group_norm_forward), batch_norm each channel by the batch's or the running
// statistics (channel_moments, then channel_affine). Backward: the fused kernels of
// csrc/cpu/norm.cpp and csrc/cuda/norm.cu; weight and bias get norm_channel_sums.
#include <algorithm>

#include "core/dispatch.h"
#include "core/error.h"
#include "ops/ops.h"

namespace fg::ops {
namespace {

template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// weight, bias or a running statistic: undefined, or `shape` on x's device, floating (and of
// x's dtype unless `any_floating`)
void check_per_channel(const Tensor& t, const Tensor& x, const Shape& shape, const char* op,
                       const char* what, bool any_floating = false) {
  if (!t.defined()) return;
  check_same_device(x, t, op);
  FG_CHECK(any_floating ? is_floating(t.dtype()) : t.dtype() == x.dtype(), TypeError,
           "[" << op << "] expected " << what << " of dtype " << dtype_name(x.dtype()) << ", got "
               << dtype_name(t.dtype()));
  FG_CHECK(t.shape() == shape, ValueError,
           "[" << op << "] expected " << what << " of shape " << shape << ", got " << t.shape());
}

void check_input(const Tensor& x, const char* op) {
  FG_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64, TypeError,
           "[" << op << "] expected a float32 or float64 input, got " << dtype_name(x.dtype()));
}

// t's values as a contiguous (n) tensor outside the graph, or undefined
Tensor flat_detached(const Tensor& t, int64_t n) {
  return t.defined() ? reshape(contiguous(t.detach()), {n}) : t;
}

// dy, x -> (sum_dy, sum_dy_xhat) per channel: the gradients of bias and weight
std::pair<Tensor, Tensor> channel_sums(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                       const Tensor& rstd, const NormLayout& layout) {
  Tensor sum_dy = zeros({layout.channels}, x.dtype(), x.device());
  Tensor sum_dy_xhat = zeros({layout.channels}, x.dtype(), x.device());
  if (x.numel() > 0)
    dispatch_floating(x.dtype(), "norm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(norm_channel_sums, x.device(), sum_dy.data<T>(), sum_dy_xhat.data<T>(),
                dy.data<T>(), x.data<T>(), mean.data<T>(), rstd.data<T>(), layout);
    });
  return {sum_dy, sum_dy_xhat};
}

// The gradients of weight and bias where they are defined, in their shapes
std::vector<Tensor> affine_gradients(const std::pair<Tensor, Tensor>& sums, const Tensor& weight,
                                     const Tensor& bias) {
  return {weight.defined() ? reshape(sums.second, weight.shape()) : Tensor(),
          bias.defined() ? reshape(sums.first, bias.shape()) : Tensor()};
}

// x normalized by the statistics of each group of layout, then weight and bias per channel
Tensor normalize_groups(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const NormLayout& layout, double eps, const char* op) {
  Tensor x = contiguous(input.detach());
  Tensor w = flat_detached(weight, layout.channels), b = flat_detached(bias, layout.channels);
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  Tensor mean = empty({layout.statistics()}, x.dtype(), x.device());
  Tensor rstd = empty({layout.statistics()}, x.dtype(), x.device());
  if (x.numel() > 0)
    dispatch_floating(x.dtype(), op, [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(group_norm_forward, x.device(), out.data<T>(), mean.data<T>(), rstd.data<T>(),
                x.data<T>(), data_or_null<T>(w), data_or_null<T>(b), layout, eps);
    });
  record(out, op, {input, weight, bias},
         [x, w, mean, rstd, layout, weight, bias](const Tensor& dout) {
           Tensor dy = contiguous(dout);
           Tensor dx = empty(x.shape(), x.dtype(), x.device());
           if (x.numel() > 0)
             dispatch_floating(x.dtype(), "norm", [&](auto tag) {
               using T = typename decltype(tag)::type;
               FG_LAUNCH(group_norm_backward, x.device(), dx.data<T>(), dy.data<T>(), x.data<T>(),
                         mean.data<T>(), rstd.data<T>(), data_or_null<T>(w), layout);
             });
           if (!weight.defined() && !bias.defined()) return std::vector<Tensor>{dx, {}, {}};
           std::vector<Tensor> affine =
               affine_gradients(channel_sums(dy, x, mean, rstd, layout), weight, bias);
           return std::vector<Tensor>{dx, affine[0], affine[1]};
         });
  return out;
}

}  // namespace

namespace {

// layer_norm and rms_norm: each row of the last dimensions normalized_shape by its own
// statistics (rms: its root mean square only)
Tensor normalize_last_dims(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                           const Tensor& bias, double eps, bool rms, const char* op) {
  check_input(x, op);
  const int64_t rank = static_cast<int64_t>(normalized_shape.size());
  FG_CHECK(rank >= 1, ValueError,
           "[" << op << "] expected normalized_shape of at least one dimension, got ()");
  FG_CHECK(x.dim() >= rank && Shape(x.shape().end() - rank, x.shape().end()) == normalized_shape,
           ValueError,
           "[" << op << "] expected input whose last dimensions are normalized_shape "
               << normalized_shape << ", got input of shape " << x.shape());
  FG_CHECK(eps >= 0, ValueError, "[" << op << "] expected eps >= 0, got " << eps);
  check_per_channel(weight, x, normalized_shape, op, "weight");
  check_per_channel(bias, x, normalized_shape, op, "bias");
  const int64_t D = shape_numel(normalized_shape, op);
  const int64_t M = shape_numel(Shape(x.shape().begin(), x.shape().end() - rank), op);
  return normalize_groups(x, weight, bias, NormLayout{M, D, 1, 1, false, rms}, eps, op);
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  return normalize_last_dims(x, normalized_shape, weight, bias, eps, false, "layer_norm");
}

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, double eps) {
  return normalize_last_dims(x, normalized_shape, weight, Tensor(), eps, true, "rms_norm");
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias,
                  double eps) {
  check_input(x, "group_norm");
  FG_CHECK(x.dim() >= 2, ValueError,
           "[group_norm] expected input of shape (N, C, *), got " << x.shape());
  const int64_t N = x.shape()[0], C = x.shape()[1];
  FG_CHECK(
      num_groups > 0 && C % num_groups == 0, ValueError,
      "[group_norm] expected num_groups > 0 dividing the " << C << " channels, got " << num_groups);
  check_per_channel(weight, x, {C}, "group_norm", "weight");
  check_per_channel(bias, x, {C}, "group_norm", "bias");
  int64_t inner = shape_numel(x.shape(), "group_norm", 2);
  return normalize_groups(x, weight, bias, NormLayout{N, C, inner, num_groups, false}, eps,
                          "group_norm");
}

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps, bool relu) {
  const char* op = "batch_norm";
  check_input(input, op);
  FG_CHECK(input.dim() >= 2, ValueError,
           "[batch_norm] expected input of shape (N, C, *), got " << input.shape());
  const int64_t C = input.shape()[1];
  const NormLayout layout{input.shape()[0], C, shape_numel(input.shape(), op, 2), 1, true};
  const int64_t count = layout.outer * layout.inner;
  FG_CHECK(running_mean.defined() == running_var.defined(), ValueError,
           "[batch_norm] expected running_mean and running_var both given or both None");
  FG_CHECK(training || running_mean.defined(), ValueError,
           "[batch_norm] expected running_mean and running_var when training=False, got None");
  FG_CHECK(!training || count > 1, ValueError,
           "[batch_norm] expected more than 1 value per channel when training, got input of "
           "shape "
               << input.shape());
  check_per_channel(running_mean, input, {C}, op, "running_mean", true);
  check_per_channel(running_var, input, {C}, op, "running_var", true);
  check_per_channel(weight, input, {C}, op, "weight");
  check_per_channel(bias, input, {C}, op, "bias");
  Tensor x = contiguous(input.detach());
  Tensor w = flat_detached(weight, C), b = flat_detached(bias, C);
  Tensor mean, var;
  {
    NoGradGuard no_grad;
    if (training) {
      mean = empty({C}, x.dtype(), x.device());
      var = empty({C}, x.dtype(), x.device());
      dispatch_floating(x.dtype(), op, [&](auto tag) {
        using T = typename decltype(tag)::type;
        FG_LAUNCH(channel_moments, x.device(), mean.data<T>(), var.data<T>(), x.data<T>(), layout);
      });
      if (running_mean.defined()) {
        check_writable(running_mean, op);
        check_writable(running_var, op);
        auto blend = [&](const Tensor& running, const Tensor& batch) {
          return add(
              mul(to_dtype(running, x.dtype()), scalar_tensor(1 - momentum, x.dtype(), x.device())),
              mul(batch, scalar_tensor(momentum, x.dtype(), x.device())));
        };
        Tensor unbiased =
            mul(var, scalar_tensor(double(count) / double(count - 1), x.dtype(), x.device()));
        Tensor new_mean = blend(running_mean, mean), new_var = blend(running_var, unbiased);
        Tensor rm = running_mean, rv = running_var;
        copy_(rm, new_mean);
        copy_(rv, new_var);
      }
    } else {
      mean = contiguous(to_dtype(running_mean.detach(), x.dtype()));
      var = contiguous(to_dtype(running_var.detach(), x.dtype()));
    }
  }
  Tensor rstd, scale, shift;
  {
    NoGradGuard no_grad;
    rstd = div(scalar_tensor(1.0, x.dtype(), x.device()),
               sqrt(add(var, scalar_tensor(eps, x.dtype(), x.device()))));
    scale = w.defined() ? mul(w, rstd) : rstd;
    shift = neg(mul(mean, scale));
    if (b.defined()) shift = add(shift, b);
  }
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(channel_affine, x.device(), out.data<T>(), x.data<T>(), scale.data<T>(),
              shift.data<T>(), layout, relu);
  });
  Tensor saved_out = relu ? out.detach() : Tensor();  // ReLU's gradient mask: out > 0
  record(out, op, {input, weight, bias},
         [x, w, mean, rstd, scale, layout, training, weight, bias, saved_out](const Tensor& dout) {
           Tensor dy = contiguous(dout);
           if (saved_out.defined()) {
             Tensor through = empty(dy.shape(), dy.dtype(), dy.device());
             dispatch_floating(dy.dtype(), "batch_norm", [&](auto tag) {
               using T = typename decltype(tag)::type;
               FG_LAUNCH(relu_backward, dy.device(), through.data<T>(), dy.data<T>(),
                         saved_out.data<T>(), dy.numel());
             });
             dy = through;
           }
           auto sums = channel_sums(dy, x, mean, rstd, layout);
           Tensor dx = empty(x.shape(), x.dtype(), x.device());
           dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
             using T = typename decltype(tag)::type;
             if (training)
               FG_LAUNCH(batch_norm_backward, x.device(), dx.data<T>(), dy.data<T>(), x.data<T>(),
                         mean.data<T>(), rstd.data<T>(), data_or_null<T>(w), sums.first.data<T>(),
                         sums.second.data<T>(), layout);
             else  // running statistics are constants: dx = dy rstd weight
               FG_LAUNCH(channel_affine, x.device(), dx.data<T>(), dy.data<T>(), scale.data<T>(),
                         static_cast<const T*>(nullptr), layout, false);
           });
           std::vector<Tensor> affine = affine_gradients(sums, weight, bias);
           return std::vector<Tensor>{dx, affine[0], affine[1]};
         });
  return out;
}

}  // namespace fg::ops
