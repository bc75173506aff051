// The per-score math of the fused attention kernels (csrc/cpu/attention.cpp,
// csrc/cuda/attention.cu): both devices tile differently (a thread's rows of a tile on the
// CPU, a CUDA thread per row) but mask, drop, and normalize each score with these functions,
// so their results cannot drift. The online softmax (FlashAttention-2): a row keeps its
// running maximum m and sum l of exp(score - m); a new tile with a larger maximum rescales
// both by exp(m_old - m_new). Backward recomputes each weight as exp(score - lse).
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "core/philox.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::attention {

template <typename T>
FG_HOST_DEVICE T minus_infinity() {
  return -static_cast<T>(INFINITY);
}

// What the mask adds to the scaled score of key j in row i: 0, the additive mask's value, or
// -inf where the key takes no part (above the causal diagonal, or false in the bool mask)
template <typename T>
FG_HOST_DEVICE T score_bias(const AttentionGeometry& g, const bool* keep, const T* bias,
                            int64_t mask_start, int64_t i, int64_t j) {
  if (g.causal && j > i) return minus_infinity<T>();
  const int64_t at = mask_start + i * g.mask_row_stride + j * g.mask_key_stride;
  if (keep) return keep[at] ? T(0) : minus_infinity<T>();
  return bias ? bias[at] : T(0);
}

// The dropout factor of weight (bh, i, j): 0 dropped, 1 / (1 - p) kept (1 without dropout).
// Element (bh L + i) S + j of the Philox stream, drawn and compared as dropout_forward does.
template <typename T>
FG_HOST_DEVICE T dropout_factor(const AttentionGeometry& g, int64_t bh, int64_t i, int64_t j) {
  if (g.dropout_p <= 0) return T(1);
  const uint64_t element = static_cast<uint64_t>((bh * g.L + i) * g.S + j);
  const Philox4 r = philox4x32_10(g.offset + element / 4, g.seed);
  const float p = static_cast<float>(g.dropout_p);
  return uint_to_unit_float(r.v[element % 4]) < p ? T(0) : T(1) / (T(1) - T(p));
}

// The factor exp(old_max - new_max) that rescales a row's sums when its maximum grows; 1
// while every score so far is -inf (the sums are 0, and -inf - -inf would be NaN)
template <typename T>
FG_HOST_DEVICE T rescale_factor(T old_max, T new_max) {
  return new_max == minus_infinity<T>() ? T(1) : exp_of(old_max - new_max);
}

// exp(score - row_max), 0 for a row whose scores so far are all -inf
template <typename T>
FG_HOST_DEVICE T running_weight(T score, T row_max) {
  return row_max == minus_infinity<T>() ? T(0) : exp_of(score - row_max);
}

// A row's log-sum-exp from its maximum and sum; +inf when no key takes part, so that the
// recomputed weights exp(score - lse) are 0 there, as the forward's output row
template <typename T>
FG_HOST_DEVICE T log_sum_exp(T row_max, T row_sum) {
  return row_sum > T(0) ? row_max + log_of(row_sum) : static_cast<T>(INFINITY);
}

// 1 / row_sum, 0 for a row no key takes part in (PyTorch gives 0 there, not NaN)
template <typename T>
FG_HOST_DEVICE T inverse_sum(T row_sum) {
  return row_sum > T(0) ? T(1) / row_sum : T(0);
}

// d score of weight w = softmax(score) whose dropped-and-scaled gradient is dweight, in a row
// whose delta = rowsum(dout out) = sum_j w_j dweight_j: w (dweight - delta), times the scale
// the score was multiplied by
template <typename T>
FG_HOST_DEVICE T score_gradient(T weight, T dweight, T delta, T scale) {
  return weight * (dweight - delta) * scale;
}

}  // namespace fg::attention
