#include <algorithm>
#include <cmath>

#include "cpu/parallel.h"
#include "cpu/vec_math.h"
#include "kernels.h"

namespace fg::cpu {

// Rows of C classes are independent; threads split rows.
static int64_t row_grain(int64_t C) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(C, 1));
}

// logits (N, C), targets (N) -> losses (N). With smoothing e, the target distribution is
// (1 - e) onehot + e / C, so loss = lse - (1 - e) x[t] - (e / C) sum(x), lse = log sum exp x.
void cross_entropy_forward(float* losses, const float* logits, const int64_t* targets,
                           float label_smoothing, int64_t N, int64_t C) {
  parallel_for(N, row_grain(C), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* x = logits + r * C;
      int64_t t = targets[r];  // read once: it may be changing
      if (!is_class(t, C)) {
        losses[r] = NAN;
        continue;
      }
      float m = x[0];
      double row_sum = 0;
      for (int64_t c = 0; c < C; ++c) {
        if (x[c] > m || x[c] != x[c]) m = x[c];
        row_sum += x[c];
      }
      double exp_sum = 0;
      for (int64_t c = 0; c < C; ++c) exp_sum += vexp(x[c] - m);
      double lse = m + std::log(exp_sum);
      double loss = lse - (1.0 - label_smoothing) * x[t];
      // Only with smoothing: 0 * sum would make a masked (-inf) logit's row NaN.
      if (label_smoothing != 0.0f) loss -= (label_smoothing / C) * row_sum;
      losses[r] = static_cast<float>(loss);
    }
  });
}

// dlosses (N) -> dlogits (N, C) = dloss (softmax(x) - target distribution)
void cross_entropy_backward(float* dlogits, const float* dlosses, const float* logits,
                            const int64_t* targets, float label_smoothing, int64_t N,
                            int64_t C) {
  float off_target = label_smoothing / C;
  parallel_for(N, row_grain(C), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* x = logits + r * C;
      float* dx = dlogits + r * C;
      int64_t t = targets[r];
      if (!is_class(t, C)) {
        std::fill(dx, dx + C, NAN);
        continue;
      }
      float m = x[0];
      for (int64_t c = 0; c < C; ++c)
        if (x[c] > m || x[c] != x[c]) m = x[c];
      double exp_sum = 0;
      for (int64_t c = 0; c < C; ++c) exp_sum += (dx[c] = vexp(x[c] - m));
      float scale = static_cast<float>(dlosses[r] / exp_sum);
      for (int64_t c = 0; c < C; ++c) dx[c] = dx[c] * scale - dlosses[r] * off_target;
      dx[t] -= dlosses[r] * (1.0f - label_smoothing);
    }
  });
}

// log_probs (N, C), targets (N) -> losses (N)
void nll_loss_forward(float* losses, const float* log_probs, const int64_t* targets, int64_t N,
                      int64_t C) {
  for (int64_t r = 0; r < N; ++r) {
    int64_t t = targets[r];
    losses[r] = is_class(t, C) ? -log_probs[r * C + t] : NAN;
  }
}

// dlosses (N) -> dlog_probs (N, C), zero off the targets
void nll_loss_backward(float* dlog_probs, const float* dlosses, const int64_t* targets,
                       int64_t N, int64_t C) {
  fill(dlog_probs, 0.0f, N * C);
  for (int64_t r = 0; r < N; ++r) {
    int64_t t = targets[r];
    if (is_class(t, C))
      dlog_probs[r * C + t] = -dlosses[r];
    else
      std::fill(dlog_probs + r * C, dlog_probs + (r + 1) * C, NAN);
  }
}

// x, t (n) -> losses (n); the log1p(exp(-|x|)) form never overflows.
FG_ELEMENTWISE_KERNEL(bce_with_logits_forward,
                      (float* losses, const float* x, const float* t, int64_t n),
                      (losses, x, t, n),
                      losses[i] = (x[i] > 0 ? x[i] : 0.0f) - x[i] * t[i] +
                                  std::log1p(vexp(-std::fabs(x[i]))))

// dlosses (n) -> dx = dloss (sigmoid(x) - t), dt = -dloss x
void bce_with_logits_backward(float* dx, float* dt, const float* dlosses, const float* x,
                              const float* t, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      dx[i] = dlosses[i] * (vsigmoid(x[i]) - t[i]);
      if (dt) dt[i] = -dlosses[i] * x[i];
    }
  });
}

}  // namespace fg::cpu
