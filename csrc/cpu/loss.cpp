#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/parallel.h"
#include "ctc_math.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cpu {

// Rows of C classes are independent; threads split rows.
static int64_t row_grain(int64_t C) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(C, 1));
}

// sum_c w[c]: what the smoothing term's lse is weighted by (C without weights).
template <typename T>
static double total_class_weight(const T* class_weights, int64_t C) {
  if (!class_weights) return static_cast<double>(C);
  double total = 0;
  for (int64_t c = 0; c < C; ++c) total += class_weights[c];
  return total;
}

// x (C) -> e (C) = exp(x - m); returns sum(e) in float64 (eight partial sums, so that the
// FG_SIMD clones vectorize it)
template <typename T>
FG_SIMD double exp_about(T* e, const T* x, T m, int64_t C) {
  double partial[8] = {};
  int64_t c = 0;
  for (; c + 8 <= C; c += 8)
    for (int j = 0; j < 8; ++j) partial[j] += (e[c + j] = exp_of(x[c + j] - m));
  double total = 0;
  for (; c < C; ++c) total += (e[c] = exp_of(x[c] - m));
  for (double p : partial) total += p;
  return total;
}

// dx (C) = dx scale - shift w[c] (w[c] = 1 without class weights)
template <typename T>
FG_SIMD void scale_and_shift_row(T* dx, T scale, T shift, const T* class_weights, int64_t C) {
  if (!class_weights)
    for (int64_t c = 0; c < C; ++c) dx[c] = dx[c] * scale - shift;
  else
    for (int64_t c = 0; c < C; ++c) dx[c] = dx[c] * scale - shift * class_weights[c];
}

// logits (N, C), targets (N), class_weights (C) or null -> losses (N), row_weights (N).
// With smoothing e, the target distribution is (1 - e) onehot + e / C, so
// loss = (1 - e) w[t] (lse - x[t]) + (e / C) (sum_c w[c] lse - sum_c w[c] x[c]).
template <typename T>
void cross_entropy_forward(T* losses, T* row_weights, const T* logits, const int64_t* targets,
                           const T* class_weights, int64_t ignore_index, double label_smoothing,
                           int64_t N, int64_t C) {
  // The smoothing as T: the float32 kernel's arithmetic is as before the double parameter.
  const T smoothing = static_cast<T>(label_smoothing);
  const double weight_total = total_class_weight(class_weights, C);
  parallel_for(N, row_grain(C), [&](int64_t begin, int64_t end) {
    std::vector<T> exps(C);  // exp_about's scratch
    for (int64_t r = begin; r < end; ++r) {
      const T* x = logits + r * C;
      int64_t t = targets[r];  // read once: it may be changing
      if (t == ignore_index) {
        losses[r] = row_weights[r] = T(0);
        continue;
      }
      if (!is_class(t, C)) {
        losses[r] = row_weights[r] = NAN;
        continue;
      }
      const T m = row_max(x, C);
      double lse = m + std::log(exp_about(exps.data(), x, m, C));
      const T target_weight = class_weight(class_weights, t);
      double loss = (1.0 - smoothing) * target_weight * (lse - x[t]);
      // Only with smoothing: 0 * sum would make a masked (-inf) logit's row NaN.
      if (smoothing != T(0)) {
        double weighted_sum = 0;
        for (int64_t c = 0; c < C; ++c) weighted_sum += class_weight(class_weights, c) * x[c];
        loss += (smoothing / C) * (weight_total * lse - weighted_sum);
      }
      losses[r] = static_cast<T>(loss);
      row_weights[r] = target_weight;
    }
  });
}

// dlosses (N) -> dlogits (N, C) = dloss (p ((1 - e) w[t] + e sum(w) / C) - (1 - e) w[t] onehot
// - e w / C), p = softmax(x); zero on ignored rows.
template <typename T>
void cross_entropy_backward(T* dlogits, const T* dlosses, const T* logits, const int64_t* targets,
                            const T* class_weights, int64_t ignore_index, double label_smoothing,
                            int64_t N, int64_t C) {
  const T smoothing = static_cast<T>(label_smoothing), off_target = smoothing / C;
  const double weight_total = total_class_weight(class_weights, C);
  parallel_for(N, row_grain(C), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* x = logits + r * C;
      T* dx = dlogits + r * C;
      int64_t t = targets[r];
      if (t == ignore_index) {
        std::fill(dx, dx + C, T(0));
        continue;
      }
      if (!is_class(t, C)) {
        std::fill(dx, dx + C, NAN);
        continue;
      }
      const T m = row_max(x, C);
      double exp_sum = exp_about(dx, x, m, C);
      const T target_part = (T(1) - smoothing) * class_weight(class_weights, t);
      const T probability_weight = static_cast<T>(target_part + smoothing * weight_total / C);
      T scale = static_cast<T>(dlosses[r] * probability_weight / exp_sum);
      scale_and_shift_row(dx, scale, static_cast<T>(dlosses[r] * off_target), class_weights, C);
      dx[t] -= dlosses[r] * target_part;
    }
  });
}

// log_probs (N, C), targets (N), class_weights (C) or null -> losses (N), row_weights (N)
template <typename T>
void nll_loss_forward(T* losses, T* row_weights, const T* log_probs, const int64_t* targets,
                      const T* class_weights, int64_t ignore_index, int64_t N, int64_t C) {
  for (int64_t r = 0; r < N; ++r)
    nll_loss_row(losses, row_weights, log_probs, targets, class_weights, ignore_index, r, C);
}

// dlosses (N) -> dlog_probs (N, C), -dloss w[t] at the targets, zero elsewhere
template <typename T>
void nll_loss_backward(T* dlog_probs, const T* dlosses, const int64_t* targets,
                       const T* class_weights, int64_t ignore_index, int64_t N, int64_t C) {
  map_elements("nll_loss_backward", math::Zero<T>{}, dlog_probs, N * C);
  for (int64_t r = 0; r < N; ++r) {
    int64_t t = targets[r];
    if (t == ignore_index) continue;
    if (is_class(t, C))
      dlog_probs[r * C + t] = -dlosses[r] * class_weight(class_weights, t);
    else
      std::fill(dlog_probs + r * C, dlog_probs + (r + 1) * C, NAN);
  }
}

#include "pointwise_loss_kernels.h"

// log_probs (T, N, C) -> losses (N), log_alpha (N, T, 2 S_max + 1): sequences in parallel
template <typename T>
void ctc_loss_forward(T* losses, T* log_alpha, const T* log_probs, const CtcBatch& batch) {
  parallel_for(batch.batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n)
      losses[n] = ctc::forward_sequence(log_alpha, log_probs, batch, n);
  });
}

// dlosses (N) -> dlog_probs (T, N, C)
template <typename T>
void ctc_loss_backward(T* dlog_probs, T* log_beta, const T* dlosses, const T* losses,
                       const T* log_probs, const T* log_alpha, const CtcBatch& batch,
                       bool zero_infinity) {
  parallel_for(batch.batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n)
      ctc::backward_sequence(dlog_probs, log_beta, dlosses[n], losses[n], log_probs, log_alpha,
                             batch, n, zero_infinity);
  });
}

FG_INSTANTIATE_LOSSES()

}  // namespace fg::cpu
