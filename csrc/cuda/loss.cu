// Losses; the CPU versions (csrc/cpu/loss.cpp) are the reference. A row of C class scores is
// a contiguous line, so each row gets a warp (csrc/cuda/lines.cuh).
#include <cmath>

#include "ctc_math.h"
#include "cuda/lines.cuh"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cuda {

// logits (N, C), targets (N), class_weights (C) or null -> losses (N), row_weights (N); with
// smoothing e the target distribution is (1 - e) onehot + e / C:
// loss = (1 - e) w[t] (lse - x[t]) + (e / C) (sum_c w[c] lse - sum_c w[c] x[c]).
template <typename T>
void cross_entropy_forward(T* losses, T* row_weights, const T* logits, const int64_t* targets,
                           const T* class_weights, int64_t ignore_index, double label_smoothing,
                           int64_t N, int64_t C) {
  const T smoothing = static_cast<T>(label_smoothing);  // the CPU's arithmetic
  launch_lines("cross_entropy_forward", N, C, 1,
               [=] __device__(auto g, int64_t row, int64_t start, int64_t) {
                 constexpr int G = decltype(g)::kSize;
                 const T* x = logits + start;
                 T m = -INFINITY;
                 double weighted_sum = 0, weight_total = 0;
                 for (int64_t c = g.lane; c < C; c += G) {
                   m = (x[c] != x[c] || x[c] > m) ? x[c] : m;
                   weighted_sum += class_weight(class_weights, c) * x[c];
                   weight_total += class_weight(class_weights, c);
                 }
                 m = g.max(m);
                 weighted_sum = g.sum(weighted_sum);
                 weight_total = g.sum(weight_total);
                 double exp_sum = 0;
                 for (int64_t c = g.lane; c < C; c += G) exp_sum += exp_of(x[c] - m);
                 exp_sum = g.sum(exp_sum);
                 if (g.lane != 0) return;
                 int64_t t = targets[row];  // read once: it may be changing
                 if (t == ignore_index) {
                   losses[row] = row_weights[row] = T(0);
                   return;
                 }
                 if (!is_class(t, C)) {
                   losses[row] = row_weights[row] = NAN;
                   return;
                 }
                 double lse = m + log(exp_sum);
                 const T target_weight = class_weight(class_weights, t);
                 double loss = (1.0 - smoothing) * target_weight * (lse - x[t]);
                 // Only with smoothing: 0 * sum would make a masked (-inf) logit's row NaN.
                 if (smoothing != T(0))
                   loss += (smoothing / C) * (weight_total * lse - weighted_sum);
                 losses[row] = static_cast<T>(loss);
                 row_weights[row] = target_weight;
               });
}

// dlosses (N) -> dlogits (N, C) = dloss (p ((1 - e) w[t] + e sum(w) / C) - (1 - e) w[t] onehot
// - e w / C), p = softmax(x); zero on ignored rows.
template <typename T>
void cross_entropy_backward(T* dlogits, const T* dlosses, const T* logits, const int64_t* targets,
                            const T* class_weights, int64_t ignore_index, double label_smoothing,
                            int64_t N, int64_t C) {
  const T smoothing = static_cast<T>(label_smoothing), off_target = smoothing / C;
  launch_lines(
      "cross_entropy_backward", N, C, 1,
      [=] __device__(auto g, int64_t row, int64_t start, int64_t) {
        constexpr int G = decltype(g)::kSize;
        const T* x = logits + start;
        T* dx = dlogits + start;
        T m = -INFINITY;
        double weight_total = 0;
        for (int64_t c = g.lane; c < C; c += G) {
          m = (x[c] != x[c] || x[c] > m) ? x[c] : m;
          weight_total += class_weight(class_weights, c);
        }
        m = g.max(m);
        weight_total = class_weights ? g.sum(weight_total) : double(C);
        double exp_sum = 0;
        for (int64_t c = g.lane; c < C; c += G) exp_sum += exp_of(x[c] - m);
        exp_sum = g.sum(exp_sum);
        int64_t t = targets[row];
        if (t == ignore_index) {
          for (int64_t c = g.lane; c < C; c += G) dx[c] = T(0);
          return;
        }
        bool valid = is_class(t, C);
        const T target_part = (T(1) - smoothing) * (valid ? class_weight(class_weights, t) : T(0));
        const T probability_weight = static_cast<T>(target_part + smoothing * weight_total / C);
        T scale = static_cast<T>(dlosses[row] * probability_weight / exp_sum);
        T invalid = valid ? T(0) : T(NAN);
        for (int64_t c = g.lane; c < C; c += G)
          dx[c] = exp_of(x[c] - m) * scale -
                  dlosses[row] * off_target * class_weight(class_weights, c) -
                  (c == t ? dlosses[row] * target_part : T(0)) + invalid;
      });
}

// log_probs (N, C), targets (N), class_weights (C) or null -> losses (N), row_weights (N)
template <typename T>
void nll_loss_forward(T* losses, T* row_weights, const T* log_probs, const int64_t* targets,
                      const T* class_weights, int64_t ignore_index, int64_t N, int64_t C) {
  launch_for_each("nll_loss_forward", N, [=] __device__(int64_t r) {
    nll_loss_row(losses, row_weights, log_probs, targets, class_weights, ignore_index, r, C);
  });
}

// dlosses (N) -> dlog_probs (N, C), -dloss w[t] at the targets, zero elsewhere
template <typename T>
void nll_loss_backward(T* dlog_probs, const T* dlosses, const int64_t* targets,
                       const T* class_weights, int64_t ignore_index, int64_t N, int64_t C) {
  map_elements("nll_loss_backward", math::Zero<T>{}, dlog_probs, N * C);
  launch_for_each("nll_loss_backward", N, [=] __device__(int64_t r) {
    int64_t t = targets[r];
    if (t == ignore_index) return;
    if (is_class(t, C))
      dlog_probs[r * C + t] = -dlosses[r] * class_weight(class_weights, t);
    else
      for (int64_t c = 0; c < C; ++c) dlog_probs[r * C + c] = NAN;
  });
}

#include "pointwise_loss_kernels.h"

// log_probs (T, N, C) -> losses (N), log_alpha (N, T, 2 S_max + 1). A thread per sequence
// runs the recursion serially: simple and exact, fast enough for batches of sequences; long
// targets would gain from a block per sequence, its threads over the extended target.
template <typename T>
void ctc_loss_forward(T* losses, T* log_alpha, const T* log_probs, const CtcBatch& batch) {
  launch_for_each("ctc_loss_forward", batch.batch, [=] __device__(int64_t n) {
    losses[n] = ctc::forward_sequence(log_alpha, log_probs, batch, n);
  });
}

// dlosses (N) -> dlog_probs (T, N, C), a thread per sequence
template <typename T>
void ctc_loss_backward(T* dlog_probs, T* log_beta, const T* dlosses, const T* losses,
                       const T* log_probs, const T* log_alpha, const CtcBatch& batch,
                       bool zero_infinity) {
  launch_for_each("ctc_loss_backward", batch.batch, [=] __device__(int64_t n) {
    ctc::backward_sequence(dlog_probs, log_beta, dlosses[n], losses[n], log_probs, log_alpha, batch,
                           n, zero_infinity);
  });
}

FG_INSTANTIATE_LOSSES()

}  // namespace fg::cuda
