// Losses; the CPU versions (csrc/cpu/loss.cpp) are the reference. A row of C class scores is
// a contiguous line, so each row gets a warp (csrc/cuda/lines.cuh).
#include <cmath>

#include "cuda/lines.cuh"
#include "kernels.h"

namespace fg::cuda {

// logits (N, C), targets (N) -> losses (N); with smoothing e the target distribution is
// (1 - e) onehot + e / C: loss = lse - (1 - e) x[t] - (e / C) sum(x).
void cross_entropy_forward(float* losses, const float* logits, const int64_t* targets,
                           float label_smoothing, int64_t N, int64_t C) {
  launch_lines("cross_entropy_forward", N, C, 1,
               [=] __device__(auto g, int64_t row, int64_t start, int64_t) {
                 constexpr int G = decltype(g)::kSize;
                 const float* x = logits + start;
                 float m = -INFINITY;
                 double row_sum = 0;
                 for (int64_t c = g.lane; c < C; c += G) {
                   m = (x[c] != x[c] || x[c] > m) ? x[c] : m;
                   row_sum += x[c];
                 }
                 m = g.max(m);
                 row_sum = g.sum(row_sum);
                 double exp_sum = 0;
                 for (int64_t c = g.lane; c < C; c += G) exp_sum += expf(x[c] - m);
                 exp_sum = g.sum(exp_sum);
                 if (g.lane != 0) return;
                 int64_t t = targets[row];  // read once: it may be changing
                 if (!is_class(t, C)) {
                   losses[row] = NAN;
                   return;
                 }
                 double loss = m + log(exp_sum) - (1.0 - label_smoothing) * x[t];
                 // Only with smoothing: 0 * sum would make a masked (-inf) logit's row NaN.
                 if (label_smoothing != 0.0f) loss -= (label_smoothing / C) * row_sum;
                 losses[row] = static_cast<float>(loss);
               });
}

// dlosses (N) -> dlogits (N, C) = dloss (softmax(x) - target distribution)
void cross_entropy_backward(float* dlogits, const float* dlosses, const float* logits,
                            const int64_t* targets, float label_smoothing, int64_t N, int64_t C) {
  float off_target = label_smoothing / C;
  launch_lines("cross_entropy_backward", N, C, 1,
               [=] __device__(auto g, int64_t row, int64_t start, int64_t) {
                 constexpr int G = decltype(g)::kSize;
                 const float* x = logits + start;
                 float* dx = dlogits + start;
                 float m = -INFINITY;
                 for (int64_t c = g.lane; c < C; c += G) m = (x[c] != x[c] || x[c] > m) ? x[c] : m;
                 m = g.max(m);
                 double exp_sum = 0;
                 for (int64_t c = g.lane; c < C; c += G) exp_sum += expf(x[c] - m);
                 float scale = static_cast<float>(dlosses[row] / g.sum(exp_sum));
                 int64_t t = targets[row];
                 float invalid = is_class(t, C) ? 0.0f : NAN;
                 for (int64_t c = g.lane; c < C; c += G)
                   dx[c] = expf(x[c] - m) * scale - dlosses[row] * off_target -
                           (c == t ? dlosses[row] * (1.0f - label_smoothing) : 0.0f) + invalid;
               });
}

// log_probs (N, C), targets (N) -> losses (N) = -log_probs[i, targets[i]]
void nll_loss_forward(float* losses, const float* log_probs, const int64_t* targets, int64_t N,
                      int64_t C) {
  launch_for_each("nll_loss_forward", N,
                  [=] __device__(int64_t r) {
                    int64_t t = targets[r];
                    losses[r] = is_class(t, C) ? -log_probs[r * C + t] : NAN;
                  });
}

// dlosses (N) -> dlog_probs (N, C), zero off the targets
void nll_loss_backward(float* dlog_probs, const float* dlosses, const int64_t* targets, int64_t N,
                       int64_t C) {
  fill(dlog_probs, 0.0f, N * C);
  launch_for_each("nll_loss_backward", N, [=] __device__(int64_t r) {
    int64_t t = targets[r];
    if (is_class(t, C))
      dlog_probs[r * C + t] = -dlosses[r];
    else
      for (int64_t c = 0; c < C; ++c) dlog_probs[r * C + c] = NAN;
  });
}

// x, t (n) -> losses (n) = max(x, 0) - x t + log(1 + exp(-|x|))
FG_CUDA_ELEMENTWISE(bce_with_logits_forward,
                    (float* losses, const float* x, const float* t, int64_t n),
                    losses[i] = fmaxf(x[i], 0.0f) - x[i] * t[i] + log1pf(expf(-fabsf(x[i]))))

// dlosses (n) -> dx = dloss (sigmoid(x) - t), dt = -dloss x (dt may be null)
FG_CUDA_ELEMENTWISE(bce_with_logits_backward,
                    (float* dx, float* dt, const float* dlosses, const float* x, const float* t,
                     int64_t n),
                    {
                      dx[i] = dlosses[i] * (1.0f / (1.0f + expf(-x[i])) - t[i]);
                      if (dt) dt[i] = -dlosses[i] * x[i];
                    })

}  // namespace fg::cuda
