// The fused optimizer updates' math, shared by the CPU loops (csrc/cpu/optim.cpp) and the
// CUDA multi-tensor kernels (csrc/cuda/optim.cu): the options and a step's bias corrections
// folded into plain numbers once per tensor, then one element's update with selects, not
// branches, on the options, in PyTorch's order of operations (so results agree to float32
// rounding).
#pragma once
#include <algorithm>
#include <cmath>

#include "core/host_device.h"
#include "kernels.h"

namespace fg {

// g = sign * grad + weight_decay * p;  b = carry * b + gain * g;
// p -= lr * (keep_grad * g + take_buffer * b)
// In the parameters' type T (float or double).
template <typename T>
struct SgdScalars {
  T sign, weight_decay, lr;
  T carry, gain;             // momentum and 1 - dampening; 0 and 1 for a fresh buffer
  T keep_grad, take_buffer;  // nesterov: 1 and momentum; otherwise 0 and 1
};

template <typename T>
inline SgdScalars<T> sgd_scalars(const SgdOptions& options, bool fresh) {
  return {options.maximize ? T(-1) : T(1),
          T(options.weight_decay),
          T(options.lr),
          fresh ? T(0) : T(options.momentum),
          fresh ? T(1) : T(1.0 - options.dampening),
          options.nesterov ? T(1) : T(0),
          options.nesterov ? T(options.momentum) : T(1)};
}

// The weight-decay term wd * p, 0 without weight decay even where p is inf or NaN (PyTorch
// adds no term then; 0 * inf would make a NaN). A select, which vectorizes.
template <typename T>
FG_HOST_DEVICE inline T weight_decay_term(T weight_decay, T p) {
  return weight_decay != T(0) ? weight_decay * p : T(0);
}
// One element without momentum, and with its momentum buffer b.
template <typename T>
FG_HOST_DEVICE inline void sgd_update(T& p, T grad, const SgdScalars<T>& s) {
  p -= s.lr * (s.sign * grad + weight_decay_term(s.weight_decay, p));
}
template <typename T>
FG_HOST_DEVICE inline void sgd_update(T& p, T& b, T grad, const SgdScalars<T>& s) {
  T g = s.sign * grad + weight_decay_term(s.weight_decay, p);
  b = s.carry * b + s.gain * g;
  // A select rather than keep_grad * g: 0 * an infinite g would make a NaN without nesterov.
  p -= s.lr * (s.keep_grad != T(0) ? g + s.take_buffer * b : b);
}

template <typename T>
struct AdamScalars {
  T sign;   // -1 to maximize
  T l2;     // Adam's weight decay, added to the gradient (0 for AdamW)
  T decay;  // AdamW's decoupled decay factor 1 - lr * weight_decay (1 for Adam)
  T beta1_complement, beta2, beta2_complement, eps;
  T step_size;                  // lr / (1 - beta1^t)
  T inv_bias_correction2_sqrt;  // 1 / sqrt(1 - beta2^t): a multiply, not a divide
};

// step: the tensor's step count including this one
template <typename T>
inline AdamScalars<T> adam_scalars(const AdamOptions& options, int64_t step) {
  double t = double(step);
  bool decoupled = options.decoupled_weight_decay;
  return {options.maximize ? T(-1) : T(1),
          decoupled ? T(0) : T(options.weight_decay),
          decoupled ? T(1.0 - options.lr * options.weight_decay) : T(1),
          T(1.0 - options.beta1),
          T(options.beta2),
          T(1.0 - options.beta2),
          T(options.eps),
          T(options.lr / (1.0 - std::pow(options.beta1, t))),
          T(1.0 / std::sqrt(1.0 - std::pow(options.beta2, t)))};
}

// sqrtf for float, so that float math never goes through the C library's double sqrt.
template <typename T>
FG_HOST_DEVICE inline T square_root(T x) {
  if constexpr (sizeof(T) == sizeof(float))
    return sqrtf(x);
  else
    return sqrt(x);
}

// PyTorch's lerp: from start for weights below 0.5, from end above (exact at weight 1, where
// start + 1 * (end - start) would cancel), so that m agrees with PyTorch's to the bit.
template <typename T>
FG_HOST_DEVICE inline T lerp(T start, T end, T weight) {
  return weight < T(0.5) ? start + weight * (end - start) : end - (end - start) * (T(1) - weight);
}

// One element: m, v (and v_max, with amsgrad) move toward the gradient, p takes the step.
template <bool kAmsgrad, typename T>
FG_HOST_DEVICE inline void adam_update(T& p, T& m, T& v, T* v_max, T grad,
                                       const AdamScalars<T>& s) {
  T g = s.sign * grad + weight_decay_term(s.l2, p);
  T mi = lerp(m, g, s.beta1_complement);
  T vi = s.beta2 * v + s.beta2_complement * g * g;
  m = mi;
  v = vi;
  if constexpr (kAmsgrad) {
    vi = vi > *v_max || vi != vi ? vi : *v_max;  // a NaN propagates, as torch.maximum
    *v_max = vi;
  }
  T denom = square_root(vi) * s.inv_bias_correction2_sqrt + s.eps;
  p = p * s.decay - s.step_size * (mi / denom);
}

// ---- RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam ----------------------------------------
// Each is an update: the scalars of one tensor (its options and step folded in once) and
// operator()(i, p, grad, a, b, c), which updates element i of the parameter p and of up to
// three state buffers a, b, c (null where unused), so that one multi-tensor loop per device
// (for_each_element, csrc/cpu/optim.cpp and csrc/cuda/optim.cu) runs them all. Each follows
// its torch.optim single-tensor code (its lerp, its order of the bias corrections).

// The gradient each update starts from, sign * grad + wd * p (maximize negates the gradient
// before weight decay is added, as torch's code does, so that the weights still decay).
template <typename T>
struct Gradient {
  T sign, weight_decay;
  FG_HOST_DEVICE T operator()(T grad, T p) const {
    return sign * grad + weight_decay_term(weight_decay, p);
  }
};
template <typename T>
inline Gradient<T> gradient_of(bool maximize, double weight_decay) {
  return {maximize ? T(-1) : T(1), T(weight_decay)};
}

// x < 0 ? -x : x, a NaN kept; a select, which vectorizes.
template <typename T>
FG_HOST_DEVICE inline T magnitude(T x) {
  return x < T(0) ? -x : x;
}

// g = sign * grad + wd * p;  v = alpha v + (1 - alpha) g^2;
// centered: mean = lerp(mean, g, 1 - alpha), v -= mean^2;  avg = sqrt(v) + eps;
// momentum > 0: b = momentum b + g / avg, p -= lr b;  otherwise p -= lr g / avg.
// The options are template arguments: a loop that branched on them would not vectorize.
template <typename T, bool kCentered, bool kMomentum>
struct RmspropUpdate {
  Gradient<T> gradient;
  T alpha, alpha_complement, eps, lr, momentum;
  // a: square_avg; b: momentum_buffer (kMomentum); c: grad_avg (kCentered)
  FG_HOST_DEVICE void operator()(int64_t i, T* p, const T* grad, T* square_avg, T* momentum_buffer,
                                 T* grad_avg) const {
    T g = gradient(grad[i], p[i]);
    T v = alpha * square_avg[i] + alpha_complement * g * g;
    square_avg[i] = v;
    if constexpr (kCentered) {
      T mean = lerp(grad_avg[i], g, alpha_complement);
      grad_avg[i] = mean;
      v = v - mean * mean;
    }
    T avg = square_root(v) + eps;
    if constexpr (kMomentum) {
      T b = momentum * momentum_buffer[i] + g / avg;
      momentum_buffer[i] = b;
      p[i] -= lr * b;
    } else {
      p[i] -= lr * (g / avg);
    }
  }
};
template <typename T, bool kCentered, bool kMomentum>
inline RmspropUpdate<T, kCentered, kMomentum> rmsprop_update(const RmspropOptions& o) {
  return {gradient_of<T>(o.maximize, o.weight_decay),
          T(o.alpha),
          T(1.0 - o.alpha),
          T(o.eps),
          T(o.lr),
          T(o.momentum)};
}

// g = sign * grad + wd * p;  sum += g^2;  p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps)
template <typename T>
struct AdagradUpdate {
  Gradient<T> gradient;
  T eps, step_size;
  // a: sum
  FG_HOST_DEVICE void operator()(int64_t i, T* p, const T* grad, T* sum, T*, T*) const {
    T g = gradient(grad[i], p[i]);
    T s = sum[i] + g * g;
    sum[i] = s;
    p[i] -= step_size * (g / (square_root(s) + eps));
  }
};
template <typename T>
inline AdagradUpdate<T> adagrad_update(const AdagradOptions& o, int64_t step) {
  return {gradient_of<T>(o.maximize, o.weight_decay), T(o.eps),
          T(o.lr / (1.0 + double(step - 1) * o.lr_decay))};
}

// g = sign * grad + wd * p;  v = rho v + (1 - rho) g^2;
// delta = sqrt(u + eps) / sqrt(v + eps) * g;  u = rho u + (1 - rho) delta^2;  p -= lr delta
template <typename T>
struct AdadeltaUpdate {
  Gradient<T> gradient;
  T rho, rho_complement, eps, lr;
  // a: square_avg (v); b: acc_delta (u)
  FG_HOST_DEVICE void operator()(int64_t i, T* p, const T* grad, T* square_avg, T* acc_delta,
                                 T*) const {
    T g = gradient(grad[i], p[i]);
    T v = rho * square_avg[i] + rho_complement * g * g;
    square_avg[i] = v;
    T delta = square_root(acc_delta[i] + eps) / square_root(v + eps) * g;
    acc_delta[i] = rho * acc_delta[i] + rho_complement * delta * delta;
    p[i] -= lr * delta;
  }
};
template <typename T>
inline AdadeltaUpdate<T> adadelta_update(const AdadeltaOptions& o) {
  return {gradient_of<T>(o.maximize, o.weight_decay), T(o.rho), T(1.0 - o.rho), T(o.eps), T(o.lr)};
}

// g = sign * grad + wd * p;  m = lerp(m, g, 1 - beta1);  u = max(beta2 u, |g| + eps);
// p -= lr / (1 - beta1^t) * m / u
template <typename T>
struct AdamaxUpdate {
  Gradient<T> gradient;
  T beta1_complement, beta2, eps, step_size;
  // a: exp_avg (m); b: exp_inf (u)
  FG_HOST_DEVICE void operator()(int64_t i, T* p, const T* grad, T* exp_avg, T* exp_inf, T*) const {
    T g = gradient(grad[i], p[i]);
    T m = lerp(exp_avg[i], g, beta1_complement);
    exp_avg[i] = m;
    T decayed = beta2 * exp_inf[i], bound = magnitude(g) + eps;
    T u = decayed > bound || decayed != decayed ? decayed : bound;  // NaN kept, as torch.amax
    exp_inf[i] = u;
    p[i] -= step_size * (m / u);
  }
};
template <typename T>
inline AdamaxUpdate<T> adamax_update(const AdamaxOptions& o, int64_t step) {
  return {gradient_of<T>(o.maximize, o.weight_decay), T(1.0 - o.beta1), T(o.beta2), T(o.eps),
          T(o.lr / (1.0 - std::pow(o.beta1, double(step))))};
}

// NAdam's and RAdam's first steps: p *= 1 - lr wd (decoupled) or g = sign * grad + wd * p;
// m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2.
template <typename T>
struct AdamMoments {
  Gradient<T> gradient;  // without weight decay when decoupled
  T decay, beta1_complement, beta2, beta2_complement;
  // g, m, v: element i's gradient term and new moments (stored too); p[i] is left to the
  // caller, which multiplies it by decay.
  FG_HOST_DEVICE void advance(T& g, T& m, T& v, int64_t i, const T* p, const T* grad, T* exp_avg,
                              T* exp_avg_sq) const {
    g = gradient(grad[i], p[i]);
    m = lerp(exp_avg[i], g, beta1_complement);
    v = beta2 * exp_avg_sq[i] + beta2_complement * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
  }
};
template <typename T, typename Options>
inline AdamMoments<T> adam_moments(const Options& o) {
  bool decoupled = o.decoupled_weight_decay;
  return {gradient_of<T>(o.maximize, decoupled ? 0.0 : o.weight_decay),
          decoupled ? T(1.0 - o.lr * o.weight_decay) : T(1), T(1.0 - o.beta1), T(o.beta2),
          T(1.0 - o.beta2)};
}

// NAdam's momentum coefficient of step t: beta1 (1 - 0.96^(t momentum_decay) / 2).
inline double nadam_mu(const NadamOptions& o, int64_t step) {
  return o.beta1 * (1.0 - 0.5 * std::pow(0.96, double(step) * o.momentum_decay));
}

// p *= 1 - lr wd (decoupled) or g = sign * grad + wd * p;  m = lerp(m, g, 1 - beta1);
// v = beta2 v + (1 - beta2) g^2;  denom = sqrt(v / (1 - beta2^t)) + eps;
// p -= lr (1 - mu_t) / (1 - mu_1...mu_t) g / denom
//      + lr mu_{t+1} / (1 - mu_1...mu_{t+1}) m / denom
template <typename T>
struct NadamUpdate {
  AdamMoments<T> moments;
  T bias_correction2, eps;
  T grad_step, avg_step;  // the two step sizes above
  // a: exp_avg (m); b: exp_avg_sq (v)
  FG_HOST_DEVICE void operator()(int64_t i, T* p, const T* grad, T* exp_avg, T* exp_avg_sq,
                                 T*) const {
    T g, m, v;
    moments.advance(g, m, v, i, p, grad, exp_avg, exp_avg_sq);
    T denom = square_root(v / bias_correction2) + eps;
    T q = p[i] * moments.decay - grad_step * (g / denom);
    p[i] = q - avg_step * (m / denom);
  }
};
// mu_product: mu_1 ... mu_t, this step's included
template <typename T>
inline NadamUpdate<T> nadam_update(const NadamOptions& o, int64_t step, double mu_product) {
  double mu = nadam_mu(o, step), mu_next = nadam_mu(o, step + 1);
  return {adam_moments<T>(o), T(1.0 - std::pow(o.beta2, double(step))), T(o.eps),
          T(o.lr * (1.0 - mu) / (1.0 - mu_product)),
          T(o.lr * mu_next / (1.0 - mu_product * mu_next))};
}

// p *= 1 - lr wd (decoupled) or g = sign * grad + wd * p;  m = lerp(m, g, 1 - beta1);
// v = beta2 v + (1 - beta2) g^2;  with rho_t > 5 (the variance is tractable):
// p -= m / (1 - beta1^t) lr sqrt(1 - beta2^t) / (sqrt(v) + eps) r_t, else p -= m / (1 - beta1^t) lr
template <typename T>
struct RadamUpdate {
  AdamMoments<T> moments;
  T eps, bias_correction1, lr, bias_correction2_sqrt, rectification;  // r_t
  bool rectified;                                                     // rho_t > 5
  // a: exp_avg (m); b: exp_avg_sq (v)
  FG_HOST_DEVICE void operator()(int64_t i, T* p, const T* grad, T* exp_avg, T* exp_avg_sq,
                                 T*) const {
    T g, m, v;
    moments.advance(g, m, v, i, p, grad, exp_avg, exp_avg_sq);
    T step = m / bias_correction1 * lr;
    if (rectified) step = step * (bias_correction2_sqrt / (square_root(v) + eps)) * rectification;
    p[i] = p[i] * moments.decay - step;
  }
};
// rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t);
// r_t = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
template <typename T>
inline RadamUpdate<T> radam_update(const RadamOptions& o, int64_t step) {
  double t = double(step), beta2_t = std::pow(o.beta2, t);
  double bias_correction2 = 1.0 - beta2_t;
  double rho_inf = 2.0 / (1.0 - o.beta2) - 1.0;
  double rho_t = rho_inf - 2.0 * t * beta2_t / bias_correction2;
  bool rectified = rho_t > 5.0;
  double rectification = rectified ? std::sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                                               ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                                   : 1.0;
  return {adam_moments<T>(o),
          T(o.eps),
          T(1.0 - std::pow(o.beta1, t)),
          T(o.lr),
          T(std::sqrt(bias_correction2)),
          T(rectification),
          rectified};
}

}  // namespace fg
