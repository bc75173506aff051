// The gate math of the recurrent layers (csrc/cpu/rnn.cpp, csrc/cuda/rnn.cu): both devices
// run one hidden unit (b, j) of one time step with these functions, so they cannot drift.
// Gate order as PyTorch's: LSTM i, f, g, o; GRU r, z, n. xg and hg hold the two projections
// of a row, x W_ih^T + b_ih and h W_hh^T + b_hh, gates side by side (gate k at k * hidden).
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::rnn {

// What a unit saves for backward, at saved[(b * saved_gates + k) * hidden + j]:
// tanh / relu: h; LSTM: i, f, g, o, tanh(c); GRU: r, z, n, and hn = (h W_hn^T + b_hn).
FG_HOST_DEVICE inline int64_t saved_gates(RnnMode mode) {
  return mode == RnnMode::Lstm ? 5 : mode == RnnMode::Gru ? 4 : 1;
}

// One unit forward: h, c (LSTM), out (h, or 0 on an inactive row) and saved from xg, hg and
// the previous state. An inactive row (past its sequence's length) keeps its state.
template <typename T>
FG_HOST_DEVICE void forward_unit(const RnnStep& step, int64_t b, int64_t j, T* h, T* c, T* out,
                                 T* saved, const T* xg, const T* hg, const T* h_prev,
                                 const T* c_prev) {
  const int64_t H = step.hidden, i = b * H + j, G = gate_count(step.mode);
  const int64_t S = saved_gates(step.mode);
  if (!step.active(b)) {
    h[i] = h_prev[i];
    if (step.mode == RnnMode::Lstm) c[i] = c_prev[i];
    out[i] = T(0);
    for (int64_t k = 0; k < S; ++k) saved[(b * S + k) * H + j] = T(0);
    return;
  }
  const T* x = xg + b * G * H + j;
  const T* r = hg + b * G * H + j;
  T* s = saved + b * S * H + j;
  T h_new;
  switch (step.mode) {
    case RnnMode::Tanh:
      h_new = tanh_of(x[0] + r[0]);
      s[0] = h_new;
      break;
    case RnnMode::Relu: {
      const T a = x[0] + r[0];
      h_new = a > T(0) ? a : T(0);
      s[0] = h_new;
      break;
    }
    case RnnMode::Lstm: {
      const T in = sigmoid_of(x[0] + r[0]), forget = sigmoid_of(x[H] + r[H]);
      const T cell = tanh_of(x[2 * H] + r[2 * H]), output = sigmoid_of(x[3 * H] + r[3 * H]);
      const T c_new = forget * c_prev[i] + in * cell, tanh_c = tanh_of(c_new);
      c[i] = c_new;
      h_new = output * tanh_c;
      s[0] = in, s[H] = forget, s[2 * H] = cell, s[3 * H] = output, s[4 * H] = tanh_c;
      break;
    }
    default: {  // Gru
      const T reset = sigmoid_of(x[0] + r[0]), update = sigmoid_of(x[H] + r[H]);
      const T hn = r[2 * H], n = tanh_of(x[2 * H] + reset * hn);
      h_new = (T(1) - update) * n + update * h_prev[i];
      s[0] = reset, s[H] = update, s[2 * H] = n, s[3 * H] = hn;
    }
  }
  h[i] = h_new;
  out[i] = h_new;
}

// One unit backward. dh: the gradient of h from later steps (and h_n), dout: of out, dc: of c
// (LSTM). Writes dxg (of x W_ih^T + b_ih), dhg (of h W_hh^T + b_hh; GRU only, the others
// have dhg == dxg), dh_prev's part that does not pass through hg (GRU's z h, an inactive
// row's dh) and dc_prev.
template <typename T>
FG_HOST_DEVICE void backward_unit(const RnnStep& step, int64_t b, int64_t j, T* dxg, T* dhg,
                                  T* dh_prev, T* dc_prev, const T* dh, const T* dout,
                                  const T* dc, const T* saved, const T* h_prev,
                                  const T* c_prev) {
  const int64_t H = step.hidden, i = b * H + j, G = gate_count(step.mode);
  const int64_t S = saved_gates(step.mode);
  T* dx = dxg + b * G * H + j;
  if (!step.active(b)) {
    for (int64_t k = 0; k < G; ++k) dx[k * H] = T(0);
    if (step.mode == RnnMode::Gru)
      for (int64_t k = 0; k < G; ++k) dhg[b * G * H + j + k * H] = T(0);
    dh_prev[i] = dh[i];
    if (step.mode == RnnMode::Lstm) dc_prev[i] = dc[i];
    return;
  }
  const T* s = saved + b * S * H + j;
  const T g = dh[i] + dout[i];
  switch (step.mode) {
    case RnnMode::Tanh:
      dx[0] = g * (T(1) - s[0] * s[0]);
      dh_prev[i] = T(0);
      break;
    case RnnMode::Relu:
      dx[0] = s[0] > T(0) ? g : T(0);
      dh_prev[i] = T(0);
      break;
    case RnnMode::Lstm: {
      const T in = s[0], forget = s[H], cell = s[2 * H], output = s[3 * H], tanh_c = s[4 * H];
      const T dcell_total = dc[i] + g * output * (T(1) - tanh_c * tanh_c);
      dx[0] = dcell_total * cell * in * (T(1) - in);
      dx[H] = dcell_total * c_prev[i] * forget * (T(1) - forget);
      dx[2 * H] = dcell_total * in * (T(1) - cell * cell);
      dx[3 * H] = g * tanh_c * output * (T(1) - output);
      dc_prev[i] = dcell_total * forget;
      dh_prev[i] = T(0);
      break;
    }
    default: {  // Gru
      const T reset = s[0], update = s[H], n = s[2 * H], hn = s[3 * H];
      const T dn = g * (T(1) - update) * (T(1) - n * n);
      const T dreset = dn * hn * reset * (T(1) - reset);
      const T dupdate = g * (h_prev[i] - n) * update * (T(1) - update);
      T* dr = dhg + b * G * H + j;
      dx[0] = dreset, dx[H] = dupdate, dx[2 * H] = dn;
      dr[0] = dreset, dr[H] = dupdate, dr[2 * H] = dn * reset;
      dh_prev[i] = g * update;
    }
  }
}

}  // namespace fg::rnn
