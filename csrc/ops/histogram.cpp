// bincount and histc: counts of values, scattered with scatter_add (its kernel on each
// device). Neither has a gradient, as in PyTorch: their results never require grad.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ops/ops.h"

namespace fg::ops {

// A 0-d tensor's value, on the host
template <typename T>
static T host_value(const Tensor& scalar, DType as) {
  return *to_device(to_dtype(scalar, as), Device{}).data<T>();
}

Tensor bincount(const Tensor& x, const Tensor& weights, int64_t minlength) {
  FG_CHECK(is_integral(x.dtype(), false), TypeError,
           "[bincount] expected an integer tensor, got " << dtype_name(x.dtype()));
  FG_CHECK(x.dim() == 1, ValueError, "[bincount] expected a 1-d tensor, got shape " << x.shape());
  FG_CHECK(minlength >= 0, ValueError, "[bincount] expected minlength >= 0, got " << minlength);
  if (weights.defined()) {
    FG_CHECK(weights.dim() == 1 && weights.numel() == x.numel(), ValueError,
             "[bincount] expected weights of the input's shape " << x.shape() << ", got shape "
                                                                 << weights.shape());
    check_same_device(x, weights, "bincount");
  }
  NoGradGuard no_grad;
  // PyTorch's result types: int64 counts, float32 sums of float32 weights, else float64
  DType dtype = !weights.defined()                  ? DType::Int64
                : weights.dtype() == DType::Float32 ? DType::Float32
                                                    : DType::Float64;
  Tensor index = to_dtype(x.detach(), DType::Int64);
  int64_t bins = minlength;
  if (x.numel() > 0) {
    int64_t lowest = host_value<int64_t>(amin(index, {}, false), DType::Int64);
    FG_CHECK(lowest >= 0, ValueError, "[bincount] expected non-negative values, got " << lowest);
    bins = std::max(bins, host_value<int64_t>(amax(index, {}, false), DType::Int64) + 1);
  }
  Tensor counts = zeros({bins}, dtype, x.device());
  if (x.numel() == 0) return counts;
  Tensor added = weights.defined() ? to_dtype(weights.detach(), dtype)
                                   : full({x.numel()}, 1.0, DType::Int64, x.device());
  return scatter_add(counts, 0, index, added);
}

Tensor histc(const Tensor& x, int64_t bins, double min, double max) {
  FG_CHECK(is_floating(x.dtype()), TypeError,
           "[histc] expected a floating-point tensor, got " << dtype_name(x.dtype()));
  FG_CHECK(bins > 0, ValueError, "[histc] expected bins > 0, got " << bins);
  NoGradGuard no_grad;
  Tensor values = x.detach();
  double low = min, high = max;
  if (low == high && values.numel() > 0) {  // the data's range
    low = host_value<double>(amin(values, {}, false), DType::Float64);
    high = host_value<double>(amax(values, {}, false), DType::Float64);
  }
  if (low == high) low -= 1, high += 1;
  FG_CHECK(std::isfinite(low) && std::isfinite(high), ValueError,
           "[histc] expected a finite range, got [" << low << ", " << high << "]");
  FG_CHECK(low < high, ValueError,
           "[histc] expected max larger than min, got min " << min << " and max " << max);
  return with_float32_compute(values, [&](const Tensor& v) {
    auto number = [&](double value) { return scalar_tensor(value, v.dtype(), v.device()); };
    // each value's bin as PyTorch computes it, in the values' precision; max falls in the
    // last bin, values outside [min, max] (and NaN) in an extra one that is dropped
    Tensor position = div(mul(sub(v, number(low)), number(static_cast<double>(bins))),
                          sub(number(high), number(low)));
    Tensor inside = logical_and(compare(CompareOp::Ge, v, number(low)),
                                compare(CompareOp::Le, v, number(high)));
    Tensor bin = to_dtype(
        where(inside, clamp(position, std::nullopt, bins - 1), number(static_cast<double>(bins))),
        DType::Int64);
    Tensor counts = bincount(reshape(bin, {bin.numel()}), Tensor(), bins + 1);
    return to_dtype(narrow(counts, 0, 0, bins), v.dtype());
  });
}

}  // namespace fg::ops
