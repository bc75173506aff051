// Losses; the CPU versions (csrc/cpu/loss.cpp) are the reference. A row of C class scores is
// a contiguous line, so each row gets a warp (csrc/cuda/lines.cuh).
#include <cmath>

#include "cuda/lines.cuh"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cuda {

// logits (N, C), targets (N) -> losses (N); with smoothing e the target distribution is
// (1 - e) onehot + e / C: loss = lse - (1 - e) x[t] - (e / C) sum(x).
template <typename T>
void cross_entropy_forward(T* losses, const T* logits, const int64_t* targets,
                           double label_smoothing, int64_t N, int64_t C) {
  const T smoothing = static_cast<T>(label_smoothing);  // the CPU's arithmetic
  launch_lines("cross_entropy_forward", N, C, 1,
               [=] __device__(auto g, int64_t row, int64_t start, int64_t) {
                 constexpr int G = decltype(g)::kSize;
                 const T* x = logits + start;
                 T m = -INFINITY;
                 double row_sum = 0;
                 for (int64_t c = g.lane; c < C; c += G) {
                   m = (x[c] != x[c] || x[c] > m) ? x[c] : m;
                   row_sum += x[c];
                 }
                 m = g.max(m);
                 row_sum = g.sum(row_sum);
                 double exp_sum = 0;
                 for (int64_t c = g.lane; c < C; c += G) exp_sum += exp_of(x[c] - m);
                 exp_sum = g.sum(exp_sum);
                 if (g.lane != 0) return;
                 int64_t t = targets[row];  // read once: it may be changing
                 if (!is_class(t, C)) {
                   losses[row] = NAN;
                   return;
                 }
                 double loss = m + log(exp_sum) - (1.0 - smoothing) * x[t];
                 // Only with smoothing: 0 * sum would make a masked (-inf) logit's row NaN.
                 if (smoothing != T(0)) loss -= (smoothing / C) * row_sum;
                 losses[row] = static_cast<T>(loss);
               });
}

// dlosses (N) -> dlogits (N, C) = dloss (softmax(x) - target distribution)
template <typename T>
void cross_entropy_backward(T* dlogits, const T* dlosses, const T* logits,
                            const int64_t* targets, double label_smoothing, int64_t N,
                            int64_t C) {
  const T smoothing = static_cast<T>(label_smoothing), off_target = smoothing / C;
  launch_lines("cross_entropy_backward", N, C, 1,
               [=] __device__(auto g, int64_t row, int64_t start, int64_t) {
                 constexpr int G = decltype(g)::kSize;
                 const T* x = logits + start;
                 T* dx = dlogits + start;
                 T m = -INFINITY;
                 for (int64_t c = g.lane; c < C; c += G) m = (x[c] != x[c] || x[c] > m) ? x[c] : m;
                 m = g.max(m);
                 double exp_sum = 0;
                 for (int64_t c = g.lane; c < C; c += G) exp_sum += exp_of(x[c] - m);
                 T scale = static_cast<T>(dlosses[row] / g.sum(exp_sum));
                 int64_t t = targets[row];
                 T invalid = is_class(t, C) ? T(0) : T(NAN);
                 for (int64_t c = g.lane; c < C; c += G)
                   dx[c] = exp_of(x[c] - m) * scale - dlosses[row] * off_target -
                           (c == t ? dlosses[row] * (T(1) - smoothing) : T(0)) + invalid;
               });
}

// log_probs (N, C), targets (N) -> losses (N) = -log_probs[i, targets[i]]
template <typename T>
void nll_loss_forward(T* losses, const T* log_probs, const int64_t* targets, int64_t N,
                      int64_t C) {
  launch_for_each("nll_loss_forward", N,
                  [=] __device__(int64_t r) {
                    int64_t t = targets[r];
                    losses[r] = is_class(t, C) ? -log_probs[r * C + t] : NAN;
                  });
}

// dlosses (N) -> dlog_probs (N, C), zero off the targets
template <typename T>
void nll_loss_backward(T* dlog_probs, const T* dlosses, const int64_t* targets, int64_t N,
                       int64_t C) {
  map_elements("nll_loss_backward", math::Zero<T>{}, dlog_probs, N * C);
  launch_for_each("nll_loss_backward", N, [=] __device__(int64_t r) {
    int64_t t = targets[r];
    if (is_class(t, C))
      dlog_probs[r * C + t] = -dlosses[r];
    else
      for (int64_t c = 0; c < C; ++c) dlog_probs[r * C + c] = NAN;
  });
}

// x, t (n) -> losses (n)
template <typename T>
void bce_with_logits_forward(T* losses, const T* x, const T* t, int64_t n) {
  map_elements("bce_with_logits_forward", math::BceWithLogits<T>{}, losses, n, x, t);
}

// dlosses (n) -> dx = dloss (sigmoid(x) - t), dt = -dloss x (dt may be null)
template <typename T>
void bce_with_logits_backward(T* dx, T* dt, const T* dlosses, const T* x, const T* t,
                              int64_t n) {
  map_elements("bce_with_logits_backward", math::BceWithLogitsBackwardX<T>{}, dx, n, dlosses, x,
               t);
  if (dt) map_elements("bce_with_logits_backward", math::BceWithLogitsBackwardT<T>{}, dt, n,
                       dlosses, x);
}

FG_INSTANTIATE_LOSSES()

}  // namespace fg::cuda
