// The CTC loss of one sequence, written once for both devices: csrc/cpu/loss.cpp runs it for
// the sequences of a batch in parallel, csrc/cuda/loss.cu a thread per sequence. The
// alpha-beta recursion of Graves et al. (2006) over the extended target l' (a blank before,
// between and after the labels: 2 S + 1 entries), in log space so that long sequences do
// not underflow. Included after elementwise_math.h.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::ctc {

// log(exp(a) + exp(b)), exact when either is -inf
template <typename T>
FG_HOST_DEVICE T log_add(T a, T b) {
  if (a == T(-INFINITY)) return b;
  if (b == T(-INFINITY)) return a;
  T larger = a > b ? a : b, smaller = a > b ? b : a;
  return larger + log1p_of(exp_of(smaller - larger));
}

// One sequence's view of the batch.
template <typename T>
struct Sequence {
  const CtcBatch& b;
  const T* log_probs;
  int64_t n, length, extended;  // frames, and entries of l'
  const int64_t* target;

  FG_HOST_DEVICE Sequence(const CtcBatch& batch, const T* lp, int64_t index)
      : b(batch), log_probs(lp), n(index), length(batch.input_lengths[index]),
        extended(2 * batch.target_lengths[index] + 1),
        target(batch.targets + batch.target_offsets[index]) {}
  FG_HOST_DEVICE int64_t label(int64_t s) const { return s % 2 == 0 ? b.blank : target[s / 2]; }
  FG_HOST_DEVICE T lp(int64_t t, int64_t c) const {
    return log_probs[(t * b.batch + n) * b.classes + c];
  }
  // l'_s may follow l'_{s-2} directly: a label that differs from the one two back
  FG_HOST_DEVICE bool skips_from(int64_t s) const {
    return s >= 2 && label(s) != b.blank && label(s) != label(s - 2);
  }
  // Frame t's entries of a table (alphas or betas) of the batch
  template <typename Entry>
  FG_HOST_DEVICE Entry* row(Entry* table, int64_t t) const {
    return table + (n * b.max_time + t) * b.extended_max();
  }
};

// log alpha_t(s): the log-probability of emitting l'_0..l'_s in frames 0..t, ending on l'_s.
// Writes the sequence's alphas (its rows t < length) and returns its loss, -log p(target).
template <typename T>
FG_HOST_DEVICE T forward_sequence(T* log_alpha, const T* log_probs, const CtcBatch& b, int64_t n) {
  Sequence<T> q(b, log_probs, n);
  if (q.length == 0) return q.extended == 1 ? T(0) : T(INFINITY);  // no frames: only "" fits
  T* first = q.row(log_alpha, 0);
  for (int64_t s = 0; s < q.extended; ++s) first[s] = T(-INFINITY);
  first[0] = q.lp(0, b.blank);
  if (q.extended > 1) first[1] = q.lp(0, q.label(1));
  for (int64_t t = 1; t < q.length; ++t) {
    const T* previous = q.row(log_alpha, t - 1);
    T* alpha = q.row(log_alpha, t);
    for (int64_t s = 0; s < q.extended; ++s) {
      T reach = previous[s];
      if (s >= 1) reach = log_add(reach, previous[s - 1]);
      if (q.skips_from(s)) reach = log_add(reach, previous[s - 2]);
      alpha[s] = reach == T(-INFINITY) ? reach : reach + q.lp(t, q.label(s));
    }
  }
  const T* last = q.row(log_alpha, q.length - 1);
  T end = last[q.extended - 1];
  if (q.extended > 1) end = log_add(end, last[q.extended - 2]);
  return -end;
}

// d loss / d log_probs[t, n, c] = -dloss gamma_t(c), gamma_t(c) = sum over s with l'_s = c of
// alpha_t(s) beta_t(s) / (p y_t(c)): the exact derivative with respect to the log-probabilities
// (PyTorch returns exp(log_probs) - gamma, which is the same once log_softmax's backward
// has run). beta_t(s): emitting l'_s..l'_end in frames t..length-1, starting on l'_s. Frames
// past the sequence's length get 0; so does a sequence of infinite loss when zero_infinity.
template <typename T>
FG_HOST_DEVICE void backward_sequence(T* dlog_probs, T* log_beta, T dloss, T loss,
                                      const T* log_probs, const T* log_alpha, const CtcBatch& b,
                                      int64_t n, bool zero_infinity) {
  Sequence<T> q(b, log_probs, n);
  for (int64_t t = 0; t < b.max_time; ++t)
    for (int64_t c = 0; c < b.classes; ++c) dlog_probs[(t * b.batch + n) * b.classes + c] = 0;
  if (q.length == 0 || (zero_infinity && loss == T(INFINITY))) return;
  T* last = q.row(log_beta, q.length - 1);
  for (int64_t s = 0; s < q.extended; ++s) last[s] = T(-INFINITY);
  last[q.extended - 1] = q.lp(q.length - 1, b.blank);
  if (q.extended > 1) last[q.extended - 2] = q.lp(q.length - 1, q.label(q.extended - 2));
  for (int64_t t = q.length - 2; t >= 0; --t) {
    const T* next = q.row(log_beta, t + 1);
    T* beta = q.row(log_beta, t);
    for (int64_t s = 0; s < q.extended; ++s) {
      T reach = next[s];
      if (s + 1 < q.extended) reach = log_add(reach, next[s + 1]);
      if (s + 2 < q.extended && q.skips_from(s + 2)) reach = log_add(reach, next[s + 2]);
      beta[s] = reach == T(-INFINITY) ? reach : reach + q.lp(t, q.label(s));
    }
  }
  for (int64_t t = 0; t < q.length; ++t) {
    T* d = dlog_probs + (t * b.batch + n) * b.classes;
    for (int64_t c = 0; c < b.classes; ++c) d[c] = T(-INFINITY);  // log sum of alpha beta
    const T *alpha = q.row(log_alpha, t), *beta = q.row(log_beta, t);
    for (int64_t s = 0; s < q.extended; ++s) {
      int64_t c = q.label(s);
      d[c] = log_add(d[c], alpha[s] + beta[s]);
    }
    for (int64_t c = 0; c < b.classes; ++c) d[c] = -dloss * exp_of(d[c] + loss - q.lp(t, c));
  }
}

}  // namespace fg::ctc
