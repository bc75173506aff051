// The fused optimizer updates' math, shared by the CPU loops (csrc/cpu/optim.cpp) and the
// CUDA multi-tensor kernels (csrc/cuda/optim.cu): the options and a step's bias corrections
// folded into plain numbers once per tensor, then one element's update with selects, not
// branches, on the options, in PyTorch's order of operations (so results agree to float32 rounding).
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
  T root;
  if constexpr (sizeof(T) == sizeof(float)) root = sqrtf(vi);
  else root = sqrt(vi);
  T denom = root * s.inv_bias_correction2_sqrt + s.eps;
  p = p * s.decay - s.step_size * (mi / denom);
}

}  // namespace fg
