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
  int64_t C = scores.shape()[1];
  if (target.device().is_cuda() && known_within(target, 0, C - 1)) return;
  // Checked on the CPU: GPU targets are looked at through a host copy.
  Tensor host = to_device(contiguous(target), Device{});
  const int64_t* t = host.data<int64_t>();
  for (int64_t i = 0; i < target.numel(); ++i)
    FG_CHECK(t[i] >= 0 && t[i] < C, ValueError,
             "[" << op << "] target " << t[i] << " at position " << i << " is not a class in [0, "
                 << C << ")");
}

// The classes the loss and its backward read: a copy of the target when backward will run,
// so that writes nothing can see (numpy's into a from_numpy target) cannot give backward
// other classes than the forward's. The target itself stays version-checked, as in PyTorch.
static Tensor classes_for_backward(const Tensor& scores, const Tensor& target) {
  return needs_grad({scores}) ? clone(target) : contiguous(target);
}

Tensor cross_entropy(const Tensor& logits_any, const Tensor& target, Reduction reduction,
                     double label_smoothing) {
  Tensor logits = contiguous(logits_any);
  check_class_targets(logits, target, "cross_entropy");
  FG_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ValueError,
           "[cross_entropy] expected label_smoothing in [0, 1], got " << label_smoothing);
  int64_t N = logits.shape()[0], C = logits.shape()[1];
  float smoothing = static_cast<float>(label_smoothing);
  Tensor classes = classes_for_backward(logits, target);
  Tensor losses = empty({N}, DType::Float32, logits.device());
  FG_LAUNCH(cross_entropy_forward, losses.device(), losses.data<float>(), logits.data<float>(),
            classes.data<int64_t>(), smoothing, N, C);
  record(losses, "cross_entropy", {logits, target},
         [logits = logits.detach(), classes, smoothing, N, C](const Tensor& dlosses) {
           Tensor dlogits = empty({N, C}, DType::Float32, logits.device());
           FG_LAUNCH(cross_entropy_backward, dlogits.device(), dlogits.data<float>(),
                     dlosses.data<float>(), logits.data<float>(), classes.data<int64_t>(), smoothing,
                     N, C);
           return std::vector<Tensor>{dlogits, Tensor()};
         });
  return reduce(losses, reduction);
}

Tensor nll_loss(const Tensor& log_probs_any, const Tensor& target, Reduction reduction) {
  Tensor log_probs = contiguous(log_probs_any);
  check_class_targets(log_probs, target, "nll_loss");
  int64_t N = log_probs.shape()[0], C = log_probs.shape()[1];
  Tensor classes = classes_for_backward(log_probs, target);
  Tensor losses = empty({N}, DType::Float32, log_probs.device());
  FG_LAUNCH(nll_loss_forward, losses.device(), losses.data<float>(), log_probs.data<float>(),
            classes.data<int64_t>(), N, C);
  record(losses, "nll_loss", {log_probs, target}, [classes, N, C](const Tensor& dlosses) {
    Tensor dlog_probs = empty({N, C}, DType::Float32, dlosses.device());
    FG_LAUNCH(nll_loss_backward, dlog_probs.device(), dlog_probs.data<float>(),
              dlosses.data<float>(), classes.data<int64_t>(), N, C);
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

Tensor binary_cross_entropy_with_logits(const Tensor& input_any, const Tensor& target_any,
                                        Reduction reduction) {
  Tensor input = contiguous(input_any), target = contiguous(target_any);
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
