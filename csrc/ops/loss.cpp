// Losses. Each computes per-element (or per-row) losses, then applies the reduction with
// the public sum/mean ops, so the reduction's backward comes for free.
#include <cmath>

#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

Reduction parse_reduction(const std::string& reduction, const char* op) {
  if (reduction == "mean") return Reduction::Mean;
  if (reduction == "sum") return Reduction::Sum;
  if (reduction == "none") return Reduction::None;
  throw ValueError(std::string("[") + op + "] expected reduction 'mean', 'sum' or 'none', got '" +
                   reduction + "'");
}

static Tensor reduce(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return mean(losses, {}, false);
    case Reduction::Sum: return sum(losses, {}, false);
    default: return losses;
  }
}

// Checks that every class index of `target` is in [0, C). Forward and backward both call it:
// numpy writes into a from_numpy target between the two are not seen by the version check.
static void check_class_indices(const Tensor& target, int64_t C, const char* op) {
  if (target.device().is_cuda() && known_within(target, 0, C - 1)) return;
  // Checked on the CPU: GPU targets are looked at through a host copy.
  Tensor host = target.device().is_cpu() ? target : to_device(target, Device{});
  const int64_t* t = host.data<int64_t>();
  for (int64_t i = 0; i < target.numel(); ++i)
    FG_CHECK(t[i] >= 0 && t[i] < C, ValueError,
             "[" << op << "] target " << t[i] << " at position " << i << " is not a class in [0, "
                 << C << ")");
}

// Checks (N, C) float32 scores against (N) int64 class indices in [0, C).
static void check_class_targets(const Tensor& scores, const Tensor& target, const char* op) {
  check_float32(scores, op, "the input");
  check_same_device(scores, target, op);
  FG_CHECK(scores.dim() == 2, ValueError,
           "[" << op << "] expected input of shape (N, C), got " << scores.shape());
  FG_CHECK(target.dtype() == DType::Int64, TypeError,
           "[" << op << "] expected int64 class indices as target, got "
               << dtype_name(target.dtype()));
  FG_CHECK(target.shape() == Shape{scores.shape()[0]}, ValueError,
           "[" << op << "] expected target of shape (" << scores.shape()[0] << ",) for input "
               << scores.shape() << ", got " << target.shape());
  check_class_indices(target, scores.shape()[1], op);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction,
                     double label_smoothing) {
  check_class_targets(logits, target, "cross_entropy");
  FG_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ValueError,
           "[cross_entropy] expected label_smoothing in [0, 1], got " << label_smoothing);
  int64_t N = logits.shape()[0], C = logits.shape()[1];
  float smoothing = static_cast<float>(label_smoothing);
  Tensor losses = empty({N}, DType::Float32, logits.device());
  FG_LAUNCH(cross_entropy_forward, losses.device(), losses.data<float>(), logits.data<float>(),
            target.data<int64_t>(), smoothing, N, C);
  // target among the inputs: backward reads it, so a change to it in place must fail backward.
  record(losses, "cross_entropy", {logits, target},
         [logits = logits.detach(), target, smoothing, N, C](const Tensor& dlosses) {
           check_class_indices(target, C, "cross_entropy");
           Tensor dlogits = empty({N, C}, DType::Float32, logits.device());
           FG_LAUNCH(cross_entropy_backward, dlogits.device(), dlogits.data<float>(),
                     dlosses.data<float>(), logits.data<float>(), target.data<int64_t>(), smoothing,
                     N, C);
           return std::vector<Tensor>{dlogits, Tensor()};
         });
  return reduce(losses, reduction);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  check_class_targets(log_probs, target, "nll_loss");
  int64_t N = log_probs.shape()[0], C = log_probs.shape()[1];
  Tensor losses = empty({N}, DType::Float32, log_probs.device());
  FG_LAUNCH(nll_loss_forward, losses.device(), losses.data<float>(), log_probs.data<float>(),
            target.data<int64_t>(), N, C);
  // target among the inputs: backward writes where it points, so a change to it in place
  // must fail backward, not write out of bounds.
  record(losses, "nll_loss", {log_probs, target}, [target, N, C](const Tensor& dlosses) {
    check_class_indices(target, C, "nll_loss");
    Tensor dlog_probs = empty({N, C}, DType::Float32, dlosses.device());
    FG_LAUNCH(nll_loss_backward, dlog_probs.device(), dlog_probs.data<float>(),
              dlosses.data<float>(), target.data<int64_t>(), N, C);
    return std::vector<Tensor>{dlog_probs, Tensor()};
  });
  return reduce(losses, reduction);
}

// Same-shape float32 input and target, as the pointwise losses need.
static void check_pointwise(const Tensor& input, const Tensor& target, const char* op) {
  check_float32(input, op, "the input");
  check_float32(target, op, "the target");
  check_same_device(input, target, op);
  FG_CHECK(input.shape() == target.shape(), ValueError,
           "[" << op << "] expected input and target of one shape, got " << input.shape()
               << " and " << target.shape());
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_pointwise(input, target, "mse_loss");
  Tensor diff = sub(input, target);
  return reduce(mul(diff, diff), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_pointwise(input, target, "l1_loss");
  return reduce(abs(sub(input, target)), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        Reduction reduction) {
  check_pointwise(input, target, "binary_cross_entropy_with_logits");
  int64_t n = input.numel();
  Tensor losses = empty(input.shape(), DType::Float32, input.device());
  FG_LAUNCH(bce_with_logits_forward, losses.device(), losses.data<float>(), input.data<float>(),
            target.data<float>(), n);
  bool grad_target = target.requires_grad();
  record(losses, "binary_cross_entropy_with_logits", {input, target},
         [x = input.detach(), t = target.detach(), grad_target, n](const Tensor& dlosses) {
           Tensor dx = empty(x.shape(), DType::Float32, x.device());
           Tensor dt = grad_target ? empty(t.shape(), DType::Float32, t.device()) : Tensor();
           FG_LAUNCH(bce_with_logits_backward, dx.device(), dx.data<float>(),
                     grad_target ? dt.data<float>() : nullptr, dlosses.data<float>(),
                     x.data<float>(), t.data<float>(), n);
           return std::vector<Tensor>{dx, dt};
         });
  return reduce(losses, reduction);
}

}  // namespace fg::ops
