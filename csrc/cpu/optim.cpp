// Fused optimizer updates: every parameter of a group in one pass over its elements, in
// place, in PyTorch's order of operations (so results agree to float32 rounding).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/parallel.h"
#include "kernels.h"

namespace fg::cpu {

// Calls body(i, begin, end) over the elements of tensors 0..count-1 as if they were one
// array split evenly across threads, so a group of many small tensors still uses every core.
template <typename Body>
static void for_each_tensor_range(const int64_t* sizes, int64_t count, const Body& body) {
  std::vector<int64_t> starts(count + 1, 0);
  for (int64_t i = 0; i < count; ++i) starts[i + 1] = starts[i] + sizes[i];
  parallel_for(starts[count], kElementwiseGrain, [&](int64_t begin, int64_t end) {
    int64_t i = std::upper_bound(starts.begin(), starts.end(), begin) - starts.begin() - 1;
    for (; i < count && starts[i] < end; ++i) {
      int64_t first = std::max(begin, starts[i]), last = std::min(end, starts[i + 1]);
      if (first < last) body(i, first - starts[i], last - starts[i]);
    }
  });
}

// ---- SGD ---------------------------------------------------------------------------------

// One tensor's SGD step with the options folded into plain numbers, so the loop has no
// branches and vectorizes:  g = sign * grad + weight_decay * p;
// b = carry * b + gain * g;  p -= lr * (keep_grad * g + take_buffer * b).
struct SgdScalars {
  float sign, weight_decay, lr;
  float carry, gain;              // momentum and 1 - dampening; 0 and 1 for a fresh buffer
  float keep_grad, take_buffer;   // nesterov: 1 and momentum; otherwise 0 and 1
};

// p, buffer, grad (n): elements [begin, end) of one tensor; buffer null without momentum
FG_SIMD static void sgd_range(float* p, float* buffer, const float* grad,
                              const SgdScalars scalars, int64_t begin, int64_t end) {
  const SgdScalars s = scalars;  // a local copy: stores to the buffers cannot change it
  if (!buffer) {
    for (int64_t i = begin; i < end; ++i) p[i] -= s.lr * (s.sign * grad[i] + s.weight_decay * p[i]);
    return;
  }
  for (int64_t i = begin; i < end; ++i) {
    float g = s.sign * grad[i] + s.weight_decay * p[i];
    float b = s.carry * buffer[i] + s.gain * g;
    buffer[i] = b;
    p[i] -= s.lr * (s.keep_grad * g + s.take_buffer * b);
  }
}

void sgd_step(float* const* params, float* const* momentum_buffers, const float* const* grads,
              const bool* fresh, const SgdOptions& options, const int64_t* sizes,
              int64_t count) {
  const bool momentum = options.momentum != 0.0;
  std::vector<SgdScalars> scalars(count);
  for (int64_t i = 0; i < count; ++i) {
    scalars[i] = {options.maximize ? -1.0f : 1.0f, float(options.weight_decay),
                  float(options.lr),
                  fresh[i] ? 0.0f : float(options.momentum),
                  fresh[i] ? 1.0f : float(1.0 - options.dampening),
                  options.nesterov ? 1.0f : 0.0f,
                  options.nesterov ? float(options.momentum) : 1.0f};
  }
  for_each_tensor_range(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    sgd_range(params[i], momentum ? momentum_buffers[i] : nullptr, grads[i], scalars[i], begin,
              end);
  });
}

// ---- Adam and AdamW ----------------------------------------------------------------------

// What one tensor's update needs besides its buffers, with the options and the step's bias
// corrections folded into plain numbers, so the loop has no branches and vectorizes.
struct AdamScalars {
  float sign;           // -1 to maximize
  float l2;             // Adam's weight decay, added to the gradient (0 for AdamW)
  float decay;          // AdamW's decoupled decay factor 1 - lr * weight_decay (1 for Adam)
  float beta1_complement, beta2, beta2_complement, eps;
  float step_size;                  // lr / (1 - beta1^t)
  float inv_bias_correction2_sqrt;  // 1 / sqrt(1 - beta2^t): a multiply in the loop, not a divide
};

// p, m, v, v_max, grad (n): elements [begin, end) of one tensor; v_max only with amsgrad
FG_SIMD static void adam_range(float* p, float* m, float* v, float* v_max, const float* grad,
                               const AdamScalars scalars, int64_t begin, int64_t end) {
  const AdamScalars s = scalars;  // a local copy: stores to the buffers cannot change it
  for (int64_t i = begin; i < end; ++i) {  // the v_max test is loop-invariant: hoisted
    float g = s.sign * grad[i] + s.l2 * p[i];
    float mi = m[i] + s.beta1_complement * (g - m[i]);  // PyTorch's lerp toward g
    float vi = s.beta2 * v[i] + s.beta2_complement * g * g;
    m[i] = mi;
    v[i] = vi;
    if (v_max) {
      vi = std::max(v_max[i], vi);
      v_max[i] = vi;
    }
    float denom = std::sqrt(vi) * s.inv_bias_correction2_sqrt + s.eps;
    p[i] = p[i] * s.decay - s.step_size * (mi / denom);
  }
}

void adam_step(float* const* params, float* const* exp_avgs, float* const* exp_avg_sqs,
               float* const* max_exp_avg_sqs, const float* const* grads, const int64_t* steps,
               const AdamOptions& options, const int64_t* sizes, int64_t count) {
  std::vector<AdamScalars> scalars(count);
  const bool decoupled = options.decoupled_weight_decay;
  for (int64_t i = 0; i < count; ++i) {
    double t = double(steps[i]);
    scalars[i] = {options.maximize ? -1.0f : 1.0f,
                  decoupled ? 0.0f : float(options.weight_decay),
                  decoupled ? float(1.0 - options.lr * options.weight_decay) : 1.0f,
                  float(1.0 - options.beta1), float(options.beta2), float(1.0 - options.beta2),
                  float(options.eps), float(options.lr / (1.0 - std::pow(options.beta1, t))),
                  float(1.0 / std::sqrt(1.0 - std::pow(options.beta2, t)))};
  }
  for_each_tensor_range(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    adam_range(params[i], exp_avgs[i], exp_avg_sqs[i],
               options.amsgrad ? max_exp_avg_sqs[i] : nullptr, grads[i], scalars[i], begin, end);
  });
}

}  // namespace fg::cpu
