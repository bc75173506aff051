// Losses. Each computes per-element (or per-row) losses, then applies the reduction with
// the public sum/mean ops, so the reduction's backward comes for free.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

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

// The reduction of losses whose rows weigh row_weights: a mean divides by the sum of the
// weights (of the rows not ignored), as PyTorch's weighted and ignore_index losses do. Rows
// all of weight 1 (unweighted, none ignored) take the plain mean: one op, not three.
static Tensor reduce_weighted(const Tensor& losses, const Tensor& row_weights, bool rows_weigh_one,
                              Reduction reduction) {
  if (reduction != Reduction::Mean || rows_weigh_one) return reduce(losses, reduction);
  return div(sum(losses, {}, false), sum(row_weights, {}, false));
}

// Class scores of shape (C), (N, C) or (N, C, d1, ...) and class indices of the shape without
// the class dim, as rows: scores (M, C) with the classes last, targets (M), and the shape of
// the unreduced loss.
struct ClassRows {
  Tensor scores, targets;
  Shape loss_shape;
};

static ClassRows as_class_rows(const Tensor& scores, const Tensor& target, const char* op) {
  FG_CHECK(scores.dim() >= 1, ValueError,
           "[" << op << "] expected input of shape (C), (N, C) or (N, C, d1, ...), got "
               << scores.shape());
  const int64_t class_dim = scores.dim() == 1 ? 0 : 1;
  Shape loss_shape = scores.shape();
  loss_shape.erase(loss_shape.begin() + class_dim);
  FG_CHECK(target.shape() == loss_shape, ValueError,
           "[" << op << "] expected target of shape " << loss_shape << " for input "
               << scores.shape() << ", got " << target.shape());
  int64_t rows = 1;
  for (int64_t size : loss_shape) rows *= size;
  const int64_t C = scores.shape()[class_dim];
  Tensor classes_last = scores.dim() > 2 ? movedim(scores, {1}, {-1}) : scores;
  return {contiguous(reshape(classes_last, {rows, C})), reshape(target, {rows}), loss_shape};
}

// Checks rows (M, C) of float32 or float64 scores against (M) int64 class indices in [0, C)
// or equal to ignore_index. Returns whether a target may be ignore_index.
static bool check_class_targets(const Tensor& scores, const Tensor& target, int64_t ignore_index,
                                const char* op) {
  dispatch_floating(scores.dtype(), op, [](auto) {});
  check_same_device(scores, target, op);
  FG_CHECK(
      target.dtype() == DType::Int64, TypeError,
      "[" << op << "] expected int64 class indices as target, got " << dtype_name(target.dtype()));
  int64_t C = scores.shape()[1];
  if (target.device().is_cuda() && known_within(target, 0, C - 1))
    return is_class(ignore_index, C);  // unread: an ignore_index among the classes may occur
  // Checked on the CPU: GPU targets are looked at through a host copy.
  Tensor host = to_device(contiguous(target), Device{});
  const int64_t* t = host.data<int64_t>();
  bool ignored = false;
  for (int64_t i = 0; i < target.numel(); ++i) {
    FG_CHECK((t[i] >= 0 && t[i] < C) || t[i] == ignore_index, ValueError,
             "[" << op << "] target " << t[i] << " at position " << i << " is not a class in [0, "
                 << C << ") nor ignore_index (" << ignore_index << ")");
    ignored = ignored || t[i] == ignore_index;
  }
  return ignored;
}

// The class weights, (C) of a floating dtype on the scores' device, in the scores' dtype;
// undefined when not given (weight undefined). A copy when backward will run, for the reason
// classes_for_backward gives.
static Tensor class_weights_for(const Tensor& weight, const Tensor& scores, int64_t C,
                                const char* op) {
  if (!weight.defined()) return Tensor();
  FG_CHECK(
      is_floating(weight.dtype()), TypeError,
      "[" << op << "] expected floating-point class weights, got " << dtype_name(weight.dtype()));
  check_same_device(scores, weight, op);
  FG_CHECK(weight.shape() == Shape{C}, ValueError,
           "[" << op << "] expected weight of shape (" << C << ",), one per class, got "
               << weight.shape());
  Tensor weights = weight.detach();
  if (weights.dtype() != scores.dtype()) return to_dtype(weights, scores.dtype());
  return needs_grad({scores}) ? clone(weights) : contiguous(weights);
}

template <typename T>
static const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The classes the loss and its backward read: a copy of the target when backward will run,
// so that writes nothing can see (numpy's into a from_numpy target) cannot give backward
// other classes than the forward's. The target itself stays version-checked, as in PyTorch.
static Tensor classes_for_backward(const Tensor& scores, const Tensor& target) {
  return needs_grad({scores}) ? clone(target) : contiguous(target);
}

// Probability targets (the shape of the input): -sum_c w[c] q[c] log_softmax(x)[c] with
// q = (1 - e) target + e / C; a mean divides by the number of rows, as PyTorch's.
static Tensor cross_entropy_soft(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                 int64_t ignore_index, Reduction reduction,
                                 double label_smoothing) {
  FG_CHECK(is_floating(logits.dtype()), TypeError,
           "[cross_entropy] expected floating-point logits, got " << dtype_name(logits.dtype()));
  FG_CHECK(logits.dim() >= 1, ValueError,
           "[cross_entropy] expected input of shape (C), (N, C) or (N, C, d1, ...), got "
               << logits.shape());
  FG_CHECK(target.shape() == logits.shape(), ValueError,
           "[cross_entropy] expected probability targets of the input's shape "
               << logits.shape() << ", got " << target.shape());
  FG_CHECK(ignore_index < 0, ValueError,
           "[cross_entropy] ignore_index is for class-index targets, got "
               << ignore_index << " with probability targets");
  check_same_device(logits, target, "cross_entropy");
  const int64_t class_dim = logits.dim() == 1 ? 0 : 1, C = logits.shape()[class_dim];
  Tensor probabilities = target;
  if (label_smoothing != 0.0)
    probabilities =
        add(mul(target, scalar_tensor(1.0 - label_smoothing, target.dtype(), target.device())),
            scalar_tensor(label_smoothing / C, target.dtype(), target.device()));
  Tensor terms = mul(log_softmax(logits, class_dim), probabilities);
  if (weight.defined()) {
    Tensor weights = class_weights_for(weight, logits, C, "cross_entropy");
    Shape along_classes(logits.dim() - class_dim, 1);
    along_classes[0] = C;  // (C, 1, ..., 1): broadcast over the dims after the classes
    terms = mul(terms, reshape(weights, along_classes));
  }
  return reduce(neg(sum(terms, {class_dim}, false)), reduction);
}

Tensor cross_entropy(const Tensor& logits_any, const Tensor& target, const Tensor& weight,
                     int64_t ignore_index, Reduction reduction, double label_smoothing) {
  FG_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ValueError,
           "[cross_entropy] expected label_smoothing in [0, 1], got " << label_smoothing);
  if (is_floating(target.dtype()))
    return cross_entropy_soft(logits_any, target, weight, ignore_index, reduction, label_smoothing);
  return with_float32_compute(logits_any, [&](const Tensor& logits_in) {
    ClassRows rows = as_class_rows(logits_in, target, "cross_entropy");
    const Tensor& logits = rows.scores;
    bool ignored = check_class_targets(logits, rows.targets, ignore_index, "cross_entropy");
    int64_t N = logits.shape()[0], C = logits.shape()[1];
    Tensor classes = classes_for_backward(logits, rows.targets);
    Tensor weights = class_weights_for(weight, logits, C, "cross_entropy");
    Tensor losses = empty({N}, logits.dtype(), logits.device());
    Tensor row_weights = empty({N}, logits.dtype(), logits.device());
    dispatch_floating(logits.dtype(), "cross_entropy", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(cross_entropy_forward, losses.device(), losses.data<T>(), row_weights.data<T>(),
                logits.data<T>(), classes.data<int64_t>(), data_or_null<T>(weights), ignore_index,
                label_smoothing, N, C);
    });
    record(losses, "cross_entropy", {logits, rows.targets},
           [logits = logits.detach(), classes, weights, ignore_index, label_smoothing, N,
            C](const Tensor& dlosses) {
             Tensor dlogits = empty({N, C}, logits.dtype(), logits.device());
             dispatch_floating(logits.dtype(), "cross_entropy", [&](auto tag) {
               using T = typename decltype(tag)::type;
               FG_LAUNCH(cross_entropy_backward, dlogits.device(), dlogits.data<T>(),
                         dlosses.data<T>(), logits.data<T>(), classes.data<int64_t>(),
                         data_or_null<T>(weights), ignore_index, label_smoothing, N, C);
             });
             return std::vector<Tensor>{dlogits, Tensor()};
           });
    return reduce_weighted(reshape(losses, rows.loss_shape), row_weights,
                           !ignored && !weights.defined(), reduction);
  });
}

Tensor nll_loss(const Tensor& log_probs_any, const Tensor& target, const Tensor& weight,
                int64_t ignore_index, Reduction reduction) {
  return with_float32_compute(log_probs_any, [&](const Tensor& log_probs_in) {
    ClassRows rows = as_class_rows(log_probs_in, target, "nll_loss");
    const Tensor& log_probs = rows.scores;
    bool ignored = check_class_targets(log_probs, rows.targets, ignore_index, "nll_loss");
    int64_t N = log_probs.shape()[0], C = log_probs.shape()[1];
    Tensor classes = classes_for_backward(log_probs, rows.targets);
    Tensor weights = class_weights_for(weight, log_probs, C, "nll_loss");
    Tensor losses = empty({N}, log_probs.dtype(), log_probs.device());
    Tensor row_weights = empty({N}, log_probs.dtype(), log_probs.device());
    dispatch_floating(log_probs.dtype(), "nll_loss", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(nll_loss_forward, losses.device(), losses.data<T>(), row_weights.data<T>(),
                log_probs.data<T>(), classes.data<int64_t>(), data_or_null<T>(weights),
                ignore_index, N, C);
    });
    record(losses, "nll_loss", {log_probs, rows.targets},
           [classes, weights, ignore_index, N, C](const Tensor& dlosses) {
             Tensor dlog_probs = empty({N, C}, dlosses.dtype(), dlosses.device());
             dispatch_floating(dlosses.dtype(), "nll_loss", [&](auto tag) {
               using T = typename decltype(tag)::type;
               FG_LAUNCH(nll_loss_backward, dlog_probs.device(), dlog_probs.data<T>(),
                         dlosses.data<T>(), classes.data<int64_t>(), data_or_null<T>(weights),
                         ignore_index, N, C);
             });
             return std::vector<Tensor>{dlog_probs, Tensor()};
           });
    return reduce_weighted(reshape(losses, rows.loss_shape), row_weights,
                           !ignored && !weights.defined(), reduction);
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
           "[" << op << "] expected input and target of one shape, got " << input.shape() << " and "
               << target.shape());
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

// The unreduced losses of a pointwise loss of same-shape input and target, run by its kernels:
// kernels_for(tag) gives the (forward, backward) FG_KERNELS pair of the tag's element type.
template <typename KernelsFor>
static Tensor pointwise_kernel_loss(const Tensor& input_any, const Tensor& target_any,
                                    const char* op, KernelsFor kernels_for) {
  check_pointwise(input_any, target_any, op);
  if (input_any.dtype() == DType::Float16 || input_any.dtype() == DType::BFloat16)
    return to_dtype(pointwise_kernel_loss(to_dtype(input_any, DType::Float32),
                                          to_dtype(target_any, DType::Float32), op, kernels_for),
                    input_any.dtype());
  Tensor input = contiguous(input_any), target = contiguous(target_any);
  int64_t n = input.numel();
  Tensor losses = empty(input.shape(), input.dtype(), input.device());
  dispatch_floating(input.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels_for(tag).first(losses.device(), losses.data<T>(), input.data<T>(), target.data<T>(), n);
  });
  bool grad_target = target.requires_grad();
  record(losses, op, {input, target},
         [x = input.detach(), t = target.detach(), grad_target, n, op,
          kernels_for](const Tensor& dlosses) {
           Tensor dx = empty(x.shape(), x.dtype(), x.device());
           Tensor dt = grad_target ? empty(t.shape(), t.dtype(), t.device()) : Tensor();
           dispatch_floating(x.dtype(), op, [&](auto tag) {
             using T = typename decltype(tag)::type;
             kernels_for(tag).second(x.device(), dx.data<T>(), grad_target ? dt.data<T>() : nullptr,
                                     dlosses.data<T>(), x.data<T>(), t.data<T>(), n);
           });
           return std::vector<Tensor>{dx, dt};
         });
  return losses;
}

// A floating tensor on like's device that broadcasts to like's shape (weight, pos_weight).
static void check_broadcast_weight(const Tensor& weight, const Tensor& like, const char* what,
                                   const char* op) {
  FG_CHECK(is_floating(weight.dtype()), TypeError,
           "[" << op << "] expected a floating-point " << what << ", got "
               << dtype_name(weight.dtype()));
  check_same_device(like, weight, op);
  FG_CHECK(broadcastable_to(weight.shape(), like.shape()), ValueError,
           "[" << op << "] expected " << what << " broadcastable to the input's shape "
               << like.shape() << ", got " << weight.shape());
}

// losses scaled elementwise by weight (broadcast), when weight is given
static Tensor weighted(const Tensor& losses, const Tensor& weight, const char* op) {
  if (!weight.defined()) return losses;
  check_broadcast_weight(weight, losses, "weight", op);
  return mul(losses, weight);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            Reduction reduction) {
  Tensor losses = pointwise_kernel_loss(input, target, "binary_cross_entropy", [](auto tag) {
    using T = typename decltype(tag)::type;
    return std::pair{FG_KERNELS(binary_cross_entropy_forward<T>),
                     FG_KERNELS(binary_cross_entropy_backward<T>)};
  });
  return reduce(weighted(losses, weight, "binary_cross_entropy"), reduction);
}

// With pos_weight p, PyTorch's loss is -(p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))):
// the plain loss plus (p - 1) t softplus(-x), and softplus(-x) is the plain loss at t = 1.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const Tensor& weight, const Tensor& pos_weight,
                                        Reduction reduction) {
  const char* op = "binary_cross_entropy_with_logits";
  auto kernels_for = [](auto tag) {
    using T = typename decltype(tag)::type;
    return std::pair{FG_KERNELS(bce_with_logits_forward<T>),
                     FG_KERNELS(bce_with_logits_backward<T>)};
  };
  Tensor losses = pointwise_kernel_loss(input, target, op, kernels_for);
  if (pos_weight.defined()) {
    check_broadcast_weight(pos_weight, input, "pos_weight", op);
    Tensor one = scalar_tensor(1.0, input.dtype(), input.device());
    Tensor softplus_of_minus_x = pointwise_kernel_loss(
        input, full(input.shape(), 1.0, input.dtype(), input.device()), op, kernels_for);
    losses = add(losses, mul(mul(sub(pos_weight, one), target), softplus_of_minus_x));
  }
  return reduce(weighted(losses, weight, op), reduction);
}

// The int64 values of a CPU copy of t.
static std::vector<int64_t> host_int64(const Tensor& t) {
  Tensor host = to_device(contiguous(to_dtype(t, DType::Int64)), Device{});
  return std::vector<int64_t>(host.data<int64_t>(), host.data<int64_t>() + host.numel());
}

// Host values on device, as a 1-d tensor of dtype, the dtype of Value.
template <typename Value>
static Tensor from_host(const std::vector<Value>& values, DType dtype, Device device) {
  Tensor host = empty({static_cast<int64_t>(values.size())}, dtype, Device{});
  std::copy(values.begin(), values.end(), host.data<Value>());
  return to_device(host, device);
}

// Checks the CTC targets, padded (N, S_max) or concatenated (sum of target_lengths), against
// the lengths, and gives where each sequence's labels start and S_max.
static std::pair<std::vector<int64_t>, int64_t> ctc_target_offsets(
    const std::vector<int64_t>& labels, const Shape& targets_shape,
    const std::vector<int64_t>& input_lengths, const std::vector<int64_t>& target_lengths,
    int64_t max_time, int64_t classes, int64_t blank) {
  const int64_t N = static_cast<int64_t>(input_lengths.size());
  FG_CHECK(static_cast<int64_t>(target_lengths.size()) == N, ValueError,
           "[ctc_loss] expected " << N << " target_lengths, one per sequence, got "
                                  << target_lengths.size());
  const bool padded = targets_shape.size() == 2;
  FG_CHECK(padded ? targets_shape[0] == N : targets_shape.size() == 1, ValueError,
           "[ctc_loss] expected targets of shape (" << N << ", S) or the labels concatenated "
                                                    << "(1-D), got " << targets_shape);
  std::vector<int64_t> offsets(N);
  int64_t next = 0, max_target_length = padded ? targets_shape[1] : 0;
  for (int64_t n = 0; n < N; ++n) {
    FG_CHECK(input_lengths[n] >= 0 && input_lengths[n] <= max_time, ValueError,
             "[ctc_loss] expected input_lengths in [0, " << max_time << "], got "
                                                         << input_lengths[n] << " at " << n);
    FG_CHECK(target_lengths[n] >= 0 && (!padded || target_lengths[n] <= targets_shape[1]),
             ValueError,
             "[ctc_loss] expected target_lengths in [0, " << (padded ? targets_shape[1] : 0)
                                                          << "] for padded targets, got "
                                                          << target_lengths[n] << " at " << n);
    offsets[n] = padded ? n * targets_shape[1] : next;
    next += target_lengths[n];
    max_target_length = std::max(max_target_length, target_lengths[n]);
  }
  FG_CHECK(padded || next == static_cast<int64_t>(labels.size()), ValueError,
           "[ctc_loss] expected " << next << " concatenated labels (the sum of target_lengths), "
                                  << "got " << labels.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = offsets[n]; i < offsets[n] + target_lengths[n]; ++i)
      FG_CHECK(labels[i] >= 0 && labels[i] < classes && labels[i] != blank, ValueError,
               "[ctc_loss] expected labels in [0, " << classes << ") other than blank (" << blank
                                                    << "), got " << labels[i] << " in target "
                                                    << n);
  return {offsets, max_target_length};
}

Tensor ctc_loss(const Tensor& log_probs_any, const Tensor& targets,
                const std::vector<int64_t>& input_lengths,
                const std::vector<int64_t>& target_lengths, int64_t blank, Reduction reduction,
                bool zero_infinity) {
  FG_CHECK(
      log_probs_any.dim() == 3 || log_probs_any.dim() == 2, ValueError,
      "[ctc_loss] expected log_probs of shape (T, N, C) or (T, C), got " << log_probs_any.shape());
  if (log_probs_any.dim() == 2) {  // one sequence: a batch of one, and a 0-d loss
    Tensor loss = ctc_loss(unsqueeze(log_probs_any, 1), reshape(targets, {1, -1}), input_lengths,
                           target_lengths, blank, reduction, zero_infinity);
    return reduction == Reduction::None ? reshape(loss, {}) : loss;
  }
  FG_CHECK(targets.dtype() == DType::Int64 || targets.dtype() == DType::Int32, TypeError,
           "[ctc_loss] expected int64 or int32 targets, got " << dtype_name(targets.dtype()));
  return with_float32_compute(log_probs_any, [&](const Tensor& log_probs_in) {
    dispatch_floating(log_probs_in.dtype(), "ctc_loss", [](auto) {});
    Tensor log_probs = contiguous(log_probs_in);
    const Device device = log_probs.device();
    const int64_t T = log_probs.shape()[0], N = log_probs.shape()[1], C = log_probs.shape()[2];
    FG_CHECK(blank >= 0 && blank < C, ValueError,
             "[ctc_loss] expected blank in [0, " << C << "), got " << blank);
    FG_CHECK(static_cast<int64_t>(input_lengths.size()) == N, ValueError,
             "[ctc_loss] expected " << N << " input_lengths, one per sequence, got "
                                    << input_lengths.size());
    std::vector<int64_t> labels = host_int64(targets);
    auto [offsets, max_target_length] =
        ctc_target_offsets(labels, targets.shape(), input_lengths, target_lengths, T, C, blank);
    // The batch's integers on the device: offsets, input lengths, target lengths.
    std::vector<int64_t> sizes = offsets;
    sizes.insert(sizes.end(), input_lengths.begin(), input_lengths.end());
    sizes.insert(sizes.end(), target_lengths.begin(), target_lengths.end());
    Tensor sizes_on_device = from_host(sizes, DType::Int64, device);
    Tensor labels_on_device = from_host(labels, DType::Int64, device);
    const int64_t* size_data = sizes_on_device.data<int64_t>();
    CtcBatch batch{T,
                   N,
                   C,
                   max_target_length,
                   blank,
                   labels_on_device.data<int64_t>(),
                   size_data,
                   size_data + N,
                   size_data + 2 * N};
    Tensor losses = empty({N}, log_probs.dtype(), device);
    Tensor log_alpha = empty({N, T, 2 * max_target_length + 1}, log_probs.dtype(), device);
    dispatch_floating(log_probs.dtype(), "ctc_loss", [&](auto tag) {
      using E = typename decltype(tag)::type;
      FG_LAUNCH(ctc_loss_forward, device, losses.data<E>(), log_alpha.data<E>(),
                log_probs.data<E>(), batch);
    });
    record(losses, "ctc_loss", {log_probs},
           [log_probs = log_probs.detach(), log_alpha, nll = losses.detach(), sizes_on_device,
            labels_on_device, batch, zero_infinity](const Tensor& dlosses_any) {
             Tensor dlosses = contiguous(dlosses_any);
             Tensor dlog_probs = empty(log_probs.shape(), log_probs.dtype(), log_probs.device());
             Tensor log_beta = empty(log_alpha.shape(), log_alpha.dtype(), log_alpha.device());
             dispatch_floating(log_probs.dtype(), "ctc_loss", [&](auto tag) {
               using E = typename decltype(tag)::type;
               FG_LAUNCH(ctc_loss_backward, log_probs.device(), dlog_probs.data<E>(),
                         log_beta.data<E>(), dlosses.data<E>(), nll.data<E>(), log_probs.data<E>(),
                         log_alpha.data<E>(), batch, zero_infinity);
             });
             return std::vector<Tensor>{dlog_probs};
           });
    if (zero_infinity)  // an impossible alignment (target longer than the input) counts 0
      losses =
          where(compare(CompareOp::Eq, losses, scalar_tensor(INFINITY, losses.dtype(), device)),
                scalar_tensor(0.0, losses.dtype(), device), losses);
    if (reduction != Reduction::Mean) return reduce(losses, reduction);
    // PyTorch's mean: each loss divided by its target's length (at least 1), then averaged.
    std::vector<double> divisors(target_lengths.begin(), target_lengths.end());
    for (double& d : divisors) d = std::max(d, 1.0);
    Tensor target_sizes = to_dtype(from_host(divisors, DType::Float64, device), losses.dtype());
    return mean(div(losses, target_sizes), {}, false);
  });
}

}  // namespace fg::ops
