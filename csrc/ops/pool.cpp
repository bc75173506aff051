// Pooling over the last two dimensions of (N, C, H, W): max and average windows and their
// adaptive forms, run by the window kernels of csrc/pool_math.h. Sizes come as (h, w) pairs
// from the Python layer (python/forgegrad/nn/_pooling.py), which also lowers 1-d pooling and
// unbatched input onto these; `op` names the public op in errors. A maximum's gradient goes
// back to its index (record_taken: a scatter_add per plane), an average's through
// avg_pool2d_backward.
#include <optional>
#include <string>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"
#include "pool_math.h"

namespace fg::ops {

static void check_input(const Tensor& x, const std::string& op) {
  FG_CHECK(x.dim() == 4 && x.shape()[1] > 0 && x.shape()[2] > 0 && x.shape()[3] > 0, ValueError,
           "[" << op << "] expected input of shape (N, C, H, W) with non-zero C, H and W, got "
               << x.shape());
}

static void check_pair(const Shape& sizes, const char* what, const std::string& op) {
  FG_CHECK(sizes.size() == 2, ValueError,
           "[" << op << "] expected " << what << " as 2 sizes (h, w), got " << sizes);
}

// PyTorch's pooling_output_shape: the windows that fit; with ceil_mode a last, partial one
// too, unless it would start in the right padding.
static int64_t fixed_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                                 int64_t dilation, bool ceil_mode) {
  int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + padding) --out;
  return out;
}

static PoolAxis fixed_axis(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                           int64_t dilation, bool ceil_mode, const char* axis,
                           const std::string& op) {
  FG_CHECK(kernel > 0 && stride > 0 && dilation > 0, ValueError,
           "[" << op << "] expected a positive kernel_size, stride and dilation, got " << kernel
               << ", " << stride << " and " << dilation << " along the " << axis);
  FG_CHECK(padding >= 0 && padding <= kernel / 2, ValueError,
           "[" << op << "] expected padding in [0, kernel_size / 2] = [0, " << kernel / 2
               << "], got " << padding << " along the " << axis);
  int64_t out = fixed_output_size(in, kernel, stride, padding, dilation, ceil_mode);
  FG_CHECK(out > 0, ValueError,
           "[" << op << "] expected an output size of at least 1, got " << out << " along the "
               << axis << " (input size " << in << ", kernel_size " << kernel << ", padding "
               << padding << ", dilation " << dilation << ")");
  return {in, out, kernel, stride, padding, dilation, false};
}

// A dilated window can skip every input position; PyTorch would read past the plane there.
static void check_windows_overlap(const PoolAxis& a, const char* axis, const std::string& op) {
  for (int64_t o = 0; o < a.out; ++o) {
    pool::Window w = pool::window(a, o);
    FG_CHECK(w.begin < w.end, ValueError,
             "[" << op << "] expected every window to hold an input element, got window " << o
                 << " of the " << axis << " in the padding only (input size " << a.in
                 << ", kernel_size " << a.kernel << ", padding " << a.padding << ", dilation "
                 << a.dilation << ")");
  }
}

static PoolAxis adaptive_axis(int64_t in, int64_t out, const char* axis, const std::string& op) {
  FG_CHECK(out >= 0, ValueError,
           "[" << op << "] expected output_size >= 0, got " << out << " along the " << axis);
  return {in, out, 1, 1, 0, 1, true};
}

static PoolPlanes planes_of(const Tensor& x, const PoolAxis& h, const PoolAxis& w) {
  return {x.shape()[0] * x.shape()[1], h, w, true, 0};
}

// values (N, C, h.out, w.out) and their flat positions in x's (H, W) planes
static std::pair<Tensor, Tensor> max_pool(const Tensor& x_any, const PoolPlanes& p,
                                          const char* node, const std::string& op) {
  Tensor x = contiguous(x_any.detach());
  int64_t N = x.shape()[0], C = x.shape()[1];
  Shape out_shape{N, C, p.h.out, p.w.out};
  Tensor values = empty(out_shape, x.dtype(), x.device());
  Tensor indices = empty(out_shape, DType::Int64, x.device());
  dispatch_floating(x.dtype(), op.c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (values.numel() > 0)
      FG_LAUNCH(max_pool2d_forward, x.device(), values.data<T>(), indices.data<int64_t>(),
                x.data<T>(), p);
  });
  Tensor flat_values = reshape(values, {N, C, p.h.out * p.w.out});
  record_taken(flat_values, node, reshape(x_any, {N, C, p.h.in * p.w.in}),
               reshape(indices, {N, C, p.h.out * p.w.out}), 2);
  return {reshape(flat_values, out_shape), indices};
}

static Tensor avg_pool(const Tensor& x_any, const PoolPlanes& p, const char* node,
                       const std::string& op) {
  Tensor x = contiguous(x_any.detach());
  Tensor y = empty({x.shape()[0], x.shape()[1], p.h.out, p.w.out}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), op.c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (y.numel() > 0) FG_LAUNCH(avg_pool2d_forward, x.device(), y.data<T>(), x.data<T>(), p);
  });
  record(y, node, {x_any}, [p, shape = x.shape(), node](const Tensor& dy_any) {
    Tensor dy = contiguous(dy_any);
    Tensor dx = empty(shape, dy.dtype(), dy.device());
    dispatch_floating(dy.dtype(), node, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (dx.numel() > 0)
        FG_LAUNCH(avg_pool2d_backward, dy.device(), dx.data<T>(), dy.data<T>(), p);
    });
    return std::vector<Tensor>{dx};
  });
  return y;
}

std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Shape& kernel_size, const Shape& stride,
                                     const Shape& padding, const Shape& dilation, bool ceil_mode,
                                     const std::string& op) {
  check_input(x, op);
  check_pair(kernel_size, "kernel_size", op);
  check_pair(stride, "stride", op);
  check_pair(padding, "padding", op);
  check_pair(dilation, "dilation", op);
  PoolAxis h = fixed_axis(x.shape()[2], kernel_size[0], stride[0], padding[0], dilation[0],
                          ceil_mode, "height", op);
  PoolAxis w = fixed_axis(x.shape()[3], kernel_size[1], stride[1], padding[1], dilation[1],
                          ceil_mode, "width", op);
  check_windows_overlap(h, "height", op);
  check_windows_overlap(w, "width", op);
  return max_pool(x, planes_of(x, h, w), "max_pool2d", op);
}

Tensor avg_pool2d(const Tensor& x, const Shape& kernel_size, const Shape& stride,
                  const Shape& padding, bool ceil_mode, bool count_include_pad,
                  std::optional<int64_t> divisor_override, const std::string& op) {
  check_input(x, op);
  check_pair(kernel_size, "kernel_size", op);
  check_pair(stride, "stride", op);
  check_pair(padding, "padding", op);
  FG_CHECK(divisor_override.value_or(1) != 0, ValueError,
           "[" << op << "] expected a divisor_override other than 0, got 0");
  PoolAxis h =
      fixed_axis(x.shape()[2], kernel_size[0], stride[0], padding[0], 1, ceil_mode, "height", op);
  PoolAxis w =
      fixed_axis(x.shape()[3], kernel_size[1], stride[1], padding[1], 1, ceil_mode, "width", op);
  PoolPlanes p = planes_of(x, h, w);
  p.count_include_pad = count_include_pad;
  p.divisor_override = divisor_override.value_or(0);
  return avg_pool(x, p, "avg_pool2d", op);
}

Tensor adaptive_avg_pool2d(const Tensor& x, const Shape& output_size, const std::string& op) {
  check_input(x, op);
  check_pair(output_size, "output_size", op);
  PoolAxis h = adaptive_axis(x.shape()[2], output_size[0], "height", op);
  PoolAxis w = adaptive_axis(x.shape()[3], output_size[1], "width", op);
  return avg_pool(x, planes_of(x, h, w), "adaptive_avg_pool2d", op);
}

std::pair<Tensor, Tensor> adaptive_max_pool2d(const Tensor& x, const Shape& output_size,
                                              const std::string& op) {
  check_input(x, op);
  check_pair(output_size, "output_size", op);
  PoolAxis h = adaptive_axis(x.shape()[2], output_size[0], "height", op);
  PoolAxis w = adaptive_axis(x.shape()[3], output_size[1], "width", op);
  return max_pool(x, planes_of(x, h, w), "adaptive_max_pool2d", op);
}

}  // namespace fg::ops
