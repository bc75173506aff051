#include <algorithm>
#include <cmath>

#include "cpu/parallel.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cpu {

// Rows of C classes are independent; threads split rows.
static int64_t row_grain(int64_t C) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(C, 1));
}

// logits (N, C), targets (N) -> losses (N). With smoothing e, the target distribution is
// (1 - e) onehot + e / C, so loss = lse - (1 - e) x[t] - (e / C) sum(x), lse = log sum exp x.
template <typename T>
void cross_entropy_forward(T* losses, const T* logits, const int64_t* targets,
                           double label_smoothing, int64_t N, int64_t C) {
  // The smoothing as T: the float32 kernel's arithmetic is as before the double parameter.
  const T smoothing = static_cast<T>(label_smoothing);
  parallel_for(N, row_grain(C), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* x = logits + r * C;
      int64_t t = targets[r];  // read once: it may be changing
      if (!is_class(t, C)) {
        losses[r] = NAN;
        continue;
      }
      T m = x[0];
      double row_sum = 0;
      for (int64_t c = 0; c < C; ++c) {
        if (x[c] > m || x[c] != x[c]) m = x[c];
        row_sum += x[c];
      }
      double exp_sum = 0;
      for (int64_t c = 0; c < C; ++c) exp_sum += exp_of(x[c] - m);
      double lse = m + std::log(exp_sum);
      double loss = lse - (1.0 - smoothing) * x[t];
      // Only with smoothing: 0 * sum would make a masked (-inf) logit's row NaN.
      if (smoothing != T(0)) loss -= (smoothing / C) * row_sum;
      losses[r] = static_cast<T>(loss);
    }
  });
}

// dlosses (N) -> dlogits (N, C) = dloss (softmax(x) - target distribution)
template <typename T>
void cross_entropy_backward(T* dlogits, const T* dlosses, const T* logits,
                            const int64_t* targets, double label_smoothing, int64_t N,
                            int64_t C) {
  const T smoothing = static_cast<T>(label_smoothing), off_target = smoothing / C;
  parallel_for(N, row_grain(C), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* x = logits + r * C;
      T* dx = dlogits + r * C;
      int64_t t = targets[r];
      if (!is_class(t, C)) {
        std::fill(dx, dx + C, NAN);
        continue;
      }
      T m = x[0];
      for (int64_t c = 0; c < C; ++c)
        if (x[c] > m || x[c] != x[c]) m = x[c];
      double exp_sum = 0;
      for (int64_t c = 0; c < C; ++c) exp_sum += (dx[c] = exp_of(x[c] - m));
      T scale = static_cast<T>(dlosses[r] / exp_sum);
      for (int64_t c = 0; c < C; ++c) dx[c] = dx[c] * scale - dlosses[r] * off_target;
      dx[t] -= dlosses[r] * (T(1) - smoothing);
    }
  });
}

// log_probs (N, C), targets (N) -> losses (N)
template <typename T>
void nll_loss_forward(T* losses, const T* log_probs, const int64_t* targets, int64_t N,
                      int64_t C) {
  for (int64_t r = 0; r < N; ++r) {
    int64_t t = targets[r];
    losses[r] = is_class(t, C) ? -log_probs[r * C + t] : NAN;
  }
}

// dlosses (N) -> dlog_probs (N, C), zero off the targets
template <typename T>
void nll_loss_backward(T* dlog_probs, const T* dlosses, const int64_t* targets, int64_t N,
                       int64_t C) {
  map_elements("nll_loss_backward", math::Zero<T>{}, dlog_probs, N * C);
  for (int64_t r = 0; r < N; ++r) {
    int64_t t = targets[r];
    if (is_class(t, C))
      dlog_probs[r * C + t] = -dlosses[r];
    else
      std::fill(dlog_probs + r * C, dlog_probs + (r + 1) * C, NAN);
  }
}

// x, t (n) -> losses (n)
template <typename T>
void bce_with_logits_forward(T* losses, const T* x, const T* t, int64_t n) {
  map_elements("bce_with_logits_forward", math::BceWithLogits<T>{}, losses, n, x, t);
}

// dlosses (n) -> dx = dloss (sigmoid(x) - t), dt = -dloss x
template <typename T>
void bce_with_logits_backward(T* dx, T* dt, const T* dlosses, const T* x, const T* t,
                              int64_t n) {
  map_elements("bce_with_logits_backward", math::BceWithLogitsBackwardX<T>{}, dx, n, dlosses, x,
               t);
  if (dt) map_elements("bce_with_logits_backward", math::BceWithLogitsBackwardT<T>{}, dt, n,
                       dlosses, x);
}

FG_INSTANTIATE_LOSSES()

}  // namespace fg::cpu
