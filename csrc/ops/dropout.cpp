// dropout: the mask comes from the Philox stream and is regenerated in backward from
// (seed, offset) rather than stored.
#include <cmath>

#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

Tensor dropout(const Tensor& x_any, double p, bool training) {
  Tensor x = contiguous(x_any);
  FG_CHECK(p >= 0.0 && p <= 1.0, ValueError,
           "[dropout] expected a probability p in [0, 1], got " << p);
  check_float32(x, "dropout", "the input");
  if (!training || p == 0.0) return x_any;
  int64_t n = x.numel();
  float prob = static_cast<float>(p);
  auto [seed, offset] = reserve_random_blocks(n);
  Tensor out = empty(x.shape(), DType::Float32, x.device());
  FG_LAUNCH(dropout_forward, out.device(), out.data<float>(), x.data<float>(), prob, seed, offset,
            n);
  record(out, "dropout", {x}, [prob, seed = seed, offset = offset, n](const Tensor& dout) {
    Tensor dx = empty(dout.shape(), DType::Float32, dout.device());
    FG_LAUNCH(dropout_backward, dx.device(), dx.data<float>(), dout.data<float>(), prob, seed,
              offset, n);
    return std::vector<Tensor>{dx};
  });
  return out;
}

}  // namespace fg::ops
