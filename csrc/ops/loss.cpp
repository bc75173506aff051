// Losses. Each computes per-element (or per-row) losses, then applies the reduction with
// the public sum/mean ops, so the reduction's backward comes for free.
#include <cmath>

#include "core/dispatch.h"
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

// Checks (N, C) float32 or float64 scores against (N) int64 class indices in [0, C).
static void check_class_targets(const Tensor& scores, const Tensor& target, const char* op) {
  dispatch_floating(scores.dtype(), op, [](auto) {});
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
  FG_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ValueError,
           "[cross_entropy] expected label_smoothing in [0, 1], got " << label_smoothing);
  return with_float32_compute(logits_any, [&](const Tensor& logits_in) {
    Tensor logits = contiguous(logits_in);
    check_class_targets(logits, target, "cross_entropy");
    int64_t N = logits.shape()[0], C = logits.shape()[1];
    Tensor classes = classes_for_backward(logits, target);
    Tensor losses = empty({N}, logits.dtype(), logits.device());
    dispatch_floating(logits.dtype(), "cross_entropy", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(cross_entropy_forward, losses.device(), losses.data<T>(), logits.data<T>(),
                classes.data<int64_t>(), label_smoothing, N, C);
    });
    record(losses, "cross_entropy", {logits, target},
           [logits = logits.detach(), classes, label_smoothing, N, C](const Tensor& dlosses) {
             Tensor dlogits = empty({N, C}, logits.dtype(), logits.device());
             dispatch_floating(logits.dtype(), "cross_entropy", [&](auto tag) {
               using T = typename decltype(tag)::type;
               FG_LAUNCH(cross_entropy_backward, dlogits.device(), dlogits.data<T>(),
                         dlosses.data<T>(), logits.data<T>(), classes.data<int64_t>(),
                         label_smoothing, N, C);
             });
             return std::vector<Tensor>{dlogits, Tensor()};
           });
    return reduce(losses, reduction);
  });
}

Tensor nll_loss(const Tensor& log_probs_any, const Tensor& target, Reduction reduction) {
  return with_float32_compute(log_probs_any, [&](const Tensor& log_probs_in) {
    Tensor log_probs = contiguous(log_probs_in);
    check_class_targets(log_probs, target, "nll_loss");
    int64_t N = log_probs.shape()[0], C = log_probs.shape()[1];
    Tensor classes = classes_for_backward(log_probs, target);
    Tensor losses = empty({N}, log_probs.dtype(), log_probs.device());
    dispatch_floating(log_probs.dtype(), "nll_loss", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(nll_loss_forward, losses.device(), losses.data<T>(), log_probs.data<T>(),
                classes.data<int64_t>(), N, C);
    });
    record(losses, "nll_loss", {log_probs, target}, [classes, N, C](const Tensor& dlosses) {
      Tensor dlog_probs = empty({N, C}, dlosses.dtype(), dlosses.device());
      dispatch_floating(dlosses.dtype(), "nll_loss", [&](auto tag) {
        using T = typename decltype(tag)::type;
        FG_LAUNCH(nll_loss_backward, dlog_probs.device(), dlog_probs.data<T>(),
                  dlosses.data<T>(), classes.data<int64_t>(), N, C);
      });
      return std::vector<Tensor>{dlog_probs, Tensor()};
    });
    return reduce(losses, reduction);
  });
}

// Same-shape floating input and target of one dtype, as the pointwise losses need (PyTorch
// promotes them; a float64 target for a float32 input is mostly a mistake: it says so).
static void check_pointwise(const Tensor& input, const Tensor& target, const char* op) {
  FG_CHECK(is_floating(input.dtype()), TypeError,
           "[" << op << "] expected a floating-point input, got " << dtype_name(input.dtype()));
  FG_CHECK(input.dtype() == target.dtype(), TypeError,
           "[" << op << "] expected input and target of one dtype, got "
               << dtype_name(input.dtype()) << " and " << dtype_name(target.dtype())
               << " (convert the target with .to(input.dtype))");
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
  check_pointwise(input_any, target_any, "binary_cross_entropy_with_logits");
  if (input_any.dtype() == DType::Float16 || input_any.dtype() == DType::BFloat16)
    return to_dtype(binary_cross_entropy_with_logits(to_dtype(input_any, DType::Float32),
                                                     to_dtype(target_any, DType::Float32),
                                                     reduction),
                    input_any.dtype());
  Tensor input = contiguous(input_any), target = contiguous(target_any);
  int64_t n = input.numel();
  Tensor losses = empty(input.shape(), input.dtype(), input.device());
  dispatch_floating(input.dtype(), "binary_cross_entropy_with_logits", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(bce_with_logits_forward, losses.device(), losses.data<T>(), input.data<T>(),
              target.data<T>(), n);
  });
  bool grad_target = target.requires_grad();
  record(losses, "binary_cross_entropy_with_logits", {input, target},
         [x = input.detach(), t = target.detach(), grad_target, n](const Tensor& dlosses) {
           Tensor dx = empty(x.shape(), x.dtype(), x.device());
           Tensor dt = grad_target ? empty(t.shape(), t.dtype(), t.device()) : Tensor();
           dispatch_floating(x.dtype(), "binary_cross_entropy_with_logits", [&](auto tag) {
             using T = typename decltype(tag)::type;
             FG_LAUNCH(bce_with_logits_backward, dx.device(), dx.data<T>(),
                       grad_target ? dt.data<T>() : nullptr, dlosses.data<T>(), x.data<T>(),
                       t.data<T>(), n);
           });
           return std::vector<Tensor>{dx, dt};
         });
  return reduce(losses, reduction);
}

}  // namespace fg::ops
