// F.interpolate on (N, C, H, W): nearest, nearest-exact, bilinear and bicubic resizing by the
// kernels of csrc/interpolate_math.h. The Python layer (python/forgegrad/nn/_interpolate.py)
// works out the output size, lowers 1-d input onto a height of one and names the public op
// in errors (`op`); the gradient is interpolate_backward, the forward's adjoint.
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

static InterpolateMode interpolate_mode(const std::string& mode, const std::string& op) {
  if (mode == "nearest") return InterpolateMode::Nearest;
  if (mode == "nearest-exact") return InterpolateMode::NearestExact;
  if (mode == "bilinear") return InterpolateMode::Linear;
  if (mode == "bicubic") return InterpolateMode::Cubic;
  throw ValueError("[" + op + "] expected mode 'nearest', 'nearest-exact', 'bilinear' or " +
                   "'bicubic' on (N, C, H, W) planes, got '" + mode + "'");
}

Tensor interpolate(const Tensor& x_any, const Shape& size, const std::vector<double>& scale_factor,
                   const std::string& mode, bool align_corners, const std::string& op) {
  FG_CHECK(x_any.dim() == 4, ValueError,
           "[" << op << "] expected input of shape (N, C, H, W), got " << x_any.shape());
  FG_CHECK(size.size() == 2 && scale_factor.size() == 2, ValueError,
           "[" << op << "] expected an (h, w) size and scale_factor, got " << size.size() << " and "
               << scale_factor.size() << " values");
  const int64_t in_h = x_any.shape()[2], in_w = x_any.shape()[3];
  FG_CHECK(in_h > 0 && in_w > 0 && size[0] > 0 && size[1] > 0, ValueError,
           "[" << op << "] expected input and output sizes greater than 0, got input (" << in_h
               << ", " << in_w << ") and output (" << size[0] << ", " << size[1] << ")");
  InterpolatePlanes p{x_any.shape()[0] * x_any.shape()[1],
                      {in_h, size[0], scale_factor[0]},
                      {in_w, size[1], scale_factor[1]},
                      interpolate_mode(mode, op),
                      align_corners};
  Tensor x = contiguous(x_any.detach());
  Tensor y = empty({x.shape()[0], x.shape()[1], size[0], size[1]}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), op.c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (y.numel() > 0) FG_LAUNCH(interpolate_forward, x.device(), y.data<T>(), x.data<T>(), p);
  });
  record(y, "interpolate", {x_any}, [p, shape = x.shape()](const Tensor& dy_any) {
    Tensor dy = contiguous(dy_any);
    Tensor dx = empty(shape, dy.dtype(), dy.device());
    dispatch_floating(dy.dtype(), "interpolate", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (dx.numel() > 0)
        FG_LAUNCH(interpolate_backward, dy.device(), dx.data<T>(), dy.data<T>(), p);
    });
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace fg::ops
