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
struct SgdScalars {
  float sign, weight_decay, lr;
  float carry, gain;             // momentum and 1 - dampening; 0 and 1 for a fresh buffer
  float keep_grad, take_buffer;  // nesterov: 1 and momentum; otherwise 0 and 1
};

inline SgdScalars sgd_scalars(const SgdOptions& options, bool fresh) {
  return {options.maximize ? -1.0f : 1.0f,
          float(options.weight_decay),
          float(options.lr),
          fresh ? 0.0f : float(options.momentum),
          fresh ? 1.0f : float(1.0 - options.dampening),
          options.nesterov ? 1.0f : 0.0f,
          options.nesterov ? float(options.momentum) : 1.0f};
}

// The weight-decay term wd * p, 0 without weight decay even where p is inf or NaN (PyTorch
// adds no term then; 0 * inf would make a NaN). A select, which vectorizes.
FG_HOST_DEVICE inline float weight_decay_term(float weight_decay, float p) {
  return weight_decay != 0.0f ? weight_decay * p : 0.0f;
}
// One element without momentum, and with its momentum buffer b.
FG_HOST_DEVICE inline void sgd_update(float& p, float grad, const SgdScalars& s) {
  p -= s.lr * (s.sign * grad + weight_decay_term(s.weight_decay, p));
}
FG_HOST_DEVICE inline void sgd_update(float& p, float& b, float grad, const SgdScalars& s) {
  float g = s.sign * grad + weight_decay_term(s.weight_decay, p);
  b = s.carry * b + s.gain * g;
  // A select rather than keep_grad * g: 0 * an infinite g would make a NaN without nesterov.
  p -= s.lr * (s.keep_grad != 0.0f ? g + s.take_buffer * b : b);
}

struct AdamScalars {
  float sign;   // -1 to maximize
  float l2;     // Adam's weight decay, added to the gradient (0 for AdamW)
  float decay;  // AdamW's decoupled decay factor 1 - lr * weight_decay (1 for Adam)
  float beta1_complement, beta2, beta2_complement, eps;
  float step_size;                  // lr / (1 - beta1^t)
  float inv_bias_correction2_sqrt;  // 1 / sqrt(1 - beta2^t): a multiply, not a divide
};

// step: the tensor's step count including this one
inline AdamScalars adam_scalars(const AdamOptions& options, int64_t step) {
  double t = double(step);
  bool decoupled = options.decoupled_weight_decay;
  return {options.maximize ? -1.0f : 1.0f,
          decoupled ? 0.0f : float(options.weight_decay),
          decoupled ? float(1.0 - options.lr * options.weight_decay) : 1.0f,
          float(1.0 - options.beta1),
          float(options.beta2),
          float(1.0 - options.beta2),
          float(options.eps),
          float(options.lr / (1.0 - std::pow(options.beta1, t))),
          float(1.0 / std::sqrt(1.0 - std::pow(options.beta2, t)))};
}

// PyTorch's lerp: from start for weights below 0.5, from end above (exact at weight 1, where
// start + 1 * (end - start) would cancel), so that m agrees with PyTorch's to the bit.
FG_HOST_DEVICE inline float lerp(float start, float end, float weight) {
  return weight < 0.5f ? start + weight * (end - start) : end - (end - start) * (1.0f - weight);
}

// One element: m, v (and v_max, with amsgrad) move toward the gradient, p takes the step.
template <bool kAmsgrad>
FG_HOST_DEVICE inline void adam_update(float& p, float& m, float& v, float* v_max, float grad,
                                       const AdamScalars& s) {
  float g = s.sign * grad + weight_decay_term(s.l2, p);
  float mi = lerp(m, g, s.beta1_complement);
  float vi = s.beta2 * v + s.beta2_complement * g * g;
  m = mi;
  v = vi;
  if constexpr (kAmsgrad) {
    vi = vi > *v_max || vi != vi ? vi : *v_max;  // a NaN propagates, as torch.maximum
    *v_max = vi;
  }
  float denom = sqrtf(vi) * s.inv_bias_correction2_sqrt + s.eps;
  p = p * s.decay - s.step_size * (mi / denom);
}

}  // namespace fg
