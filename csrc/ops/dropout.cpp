// dropout: the mask comes from the Philox stream and is regenerated in backward from
// (seed, offset) rather than stored.
#include <cmath>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

Tensor dropout(const Tensor& x_any, double p, bool training) {
  FG_CHECK(p >= 0.0 && p <= 1.0, ValueError,
           "[dropout] expected a probability p in [0, 1], got " << p);
  FG_CHECK(is_floating(x_any.dtype()), TypeError,
           "[dropout] expected a floating-point input, got " << dtype_name(x_any.dtype()));
  if (!training || p == 0.0) return x_any;
  return with_float32_compute(x_any, [p](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    int64_t n = x.numel();
    auto [seed, offset] = reserve_random_blocks(n);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(dropout_forward, out.device(), out.data<T>(), x.data<T>(), p, seed, offset, n);
    });
    record(out, "dropout", {x}, [p, seed = seed, offset = offset, n](const Tensor& dout) {
      Tensor dx = empty(dout.shape(), dout.dtype(), dout.device());
      dispatch_floating(dout.dtype(), "dropout", [&](auto tag) {
        using T = typename decltype(tag)::type;
        FG_LAUNCH(dropout_backward, dx.device(), dx.data<T>(), dout.data<T>(), p, seed, offset, n);
      });
      return std::vector<Tensor>{dx};
    });
    return out;
  });
}

}  // namespace fg::ops
