// The gate math of the recurrent layers (csrc/cpu/rnn.cpp, csrc/cuda/rnn.cu): both devices
// compute each hidden unit of a time step with these functions, so they cannot drift. Gate
// order as PyTorch's: LSTM i, f, g, o; GRU r, z, n. xg and hg hold a row's two projections,
// x W_ih^T + b_ih and h W_hh^T + b_hh, gates side by side (gate k of unit j at k * hidden + j).
// The mode is a template argument, so the CPU's loop over a row's units is branch-free and
// vectorizes; forward_unit and backward_unit pick it at run time for the GPU's threads.
#pragma once
#include <cstdint>
#include <type_traits>

#include "core/host_device.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::rnn {

// What a unit saves for backward (gate k at k * hidden): tanh / relu: h; LSTM: i, f, g, o,
// tanh(c); GRU: r, z, n, and hn = (h W_hn^T + b_hn); Projection: nothing.
FG_HOST_DEVICE inline int64_t saved_gates(RnnMode mode) {
  if (mode == RnnMode::Projection) return 0;
  return mode == RnnMode::Lstm ? 5 : mode == RnnMode::Gru ? 4 : 1;
}

// One active unit forward: x, r its gates in xg and hg, s its saved gates, H the stride
// between gates; returns h and sets c_new (LSTM).
template <RnnMode M, typename T>
FG_HOST_DEVICE T forward_gates(T* s, T& c_new, const T* x, const T* r, T h_prev, T c_prev,
                               int64_t H) {
  if constexpr (M == RnnMode::Tanh) {
    return s[0] = tanh_of(x[0] + r[0]);
  } else if constexpr (M == RnnMode::Relu) {
    const T a = x[0] + r[0];
    return s[0] = a > T(0) ? a : T(0);
  } else if constexpr (M == RnnMode::Lstm) {
    const T in = sigmoid_of(x[0] + r[0]), forget = sigmoid_of(x[H] + r[H]);
    const T cell = tanh_of(x[2 * H] + r[2 * H]), output = sigmoid_of(x[3 * H] + r[3 * H]);
    c_new = forget * c_prev + in * cell;
    const T tanh_c = tanh_of(c_new);
    s[0] = in, s[H] = forget, s[2 * H] = cell, s[3 * H] = output, s[4 * H] = tanh_c;
    return output * tanh_c;
  } else if constexpr (M == RnnMode::Projection) {
    return x[0];
  } else {  // Gru
    const T reset = sigmoid_of(x[0] + r[0]), update = sigmoid_of(x[H] + r[H]);
    const T hn = r[2 * H], n = tanh_of(x[2 * H] + reset * hn);
    s[0] = reset, s[H] = update, s[2 * H] = n, s[3 * H] = hn;
    return (T(1) - update) * n + update * h_prev;
  }
}

// One active unit backward from g (the gradient of its h: from later steps and its output)
// and dc (of its c, LSTM): writes dx (its gates' gradients in dxg), dr (in dhg, GRU only: the
// others' dhg is dxg), dc_prev (LSTM); returns dh_prev's part not through hg (GRU's z g).
template <RnnMode M, typename T>
FG_HOST_DEVICE T backward_gates(T* dx, T* dr, T& dc_prev, T g, T dc, const T* s, T h_prev, T c_prev,
                                int64_t H) {
  if constexpr (M == RnnMode::Tanh) {
    dx[0] = g * (T(1) - s[0] * s[0]);
    return T(0);
  } else if constexpr (M == RnnMode::Relu) {
    dx[0] = s[0] > T(0) ? g : T(0);
    return T(0);
  } else if constexpr (M == RnnMode::Lstm) {
    const T in = s[0], forget = s[H], cell = s[2 * H], output = s[3 * H], tanh_c = s[4 * H];
    const T dcell = dc + g * output * (T(1) - tanh_c * tanh_c);
    dx[0] = dcell * cell * in * (T(1) - in);
    dx[H] = dcell * c_prev * forget * (T(1) - forget);
    dx[2 * H] = dcell * in * (T(1) - cell * cell);
    dx[3 * H] = g * tanh_c * output * (T(1) - output);
    dc_prev = dcell * forget;
    return T(0);
  } else if constexpr (M == RnnMode::Projection) {
    dx[0] = g;
    return T(0);
  } else {  // Gru
    const T reset = s[0], update = s[H], n = s[2 * H], hn = s[3 * H];
    const T dn = g * (T(1) - update) * (T(1) - n * n);
    const T dreset = dn * hn * reset * (T(1) - reset);
    const T dupdate = g * (h_prev - n) * update * (T(1) - update);
    dx[0] = dreset, dx[H] = dupdate, dx[2 * H] = dn;
    dr[0] = dreset, dr[H] = dupdate, dr[2 * H] = dn * reset;
    return g * update;
  }
}

// Unit (b, j) of a row past its sequence's length: the state passes through, output 0 and
// nothing saved; backward passes dh and dc through with no gate gradients.
template <typename T>
FG_HOST_DEVICE void forward_inactive(const RnnStep& step, int64_t b, int64_t j, T* h, T* c, T* out,
                                     T* saved, const T* h_prev, const T* c_prev) {
  const int64_t H = step.hidden, i = b * H + j, S = saved_gates(step.mode);
  h[i] = h_prev[i];
  if (c) c[i] = c_prev[i];
  out[i] = T(0);
  for (int64_t k = 0; k < S; ++k) saved[(b * S + k) * H + j] = T(0);
}
template <typename T>
FG_HOST_DEVICE void backward_inactive(const RnnStep& step, int64_t b, int64_t j, T* dxg, T* dhg,
                                      T* dh_prev, T* dc_prev, const T* dh, const T* dc) {
  const int64_t H = step.hidden, i = b * H + j, G = gate_count(step.mode);
  for (int64_t k = 0; k < G; ++k) dxg[(b * G + k) * H + j] = dhg[(b * G + k) * H + j] = T(0);
  dh_prev[i] = dh[i];
  if (dc_prev) dc_prev[i] = dc[i];
}

// Unit (b, j) forward: h, c (LSTM), out (h, or 0 past the row's length) and saved
template <RnnMode M, typename T>
FG_HOST_DEVICE void forward_unit_of(const RnnStep& step, int64_t b, int64_t j, T* h, T* c, T* out,
                                    T* saved, const T* xg, const T* hg, const T* h_prev,
                                    const T* c_prev) {
  if (!step.active(b)) return forward_inactive(step, b, j, h, c, out, saved, h_prev, c_prev);
  const int64_t H = step.hidden, i = b * H + j, G = gate_count(M), S = saved_gates(M);
  T c_new = T(0);
  const T h_new = forward_gates<M>(saved + b * S * H + j, c_new, xg + b * G * H + j,
                                   hg + b * G * H + j, h_prev[i], c ? c_prev[i] : T(0), H);
  h[i] = out[i] = h_new;
  if (c) c[i] = c_new;
}

// Unit (b, j) backward: dxg, dhg (GRU), dh_prev's part not through hg, dc_prev (LSTM)
template <RnnMode M, typename T>
FG_HOST_DEVICE void backward_unit_of(const RnnStep& step, int64_t b, int64_t j, T* dxg, T* dhg,
                                     T* dh_prev, T* dc_prev, const T* dh, const T* dout,
                                     const T* dc, const T* saved, const T* h_prev,
                                     const T* c_prev) {
  if (!step.active(b)) return backward_inactive(step, b, j, dxg, dhg, dh_prev, dc_prev, dh, dc);
  const int64_t H = step.hidden, i = b * H + j, G = gate_count(M), S = saved_gates(M);
  T dc_new = T(0);
  dh_prev[i] = backward_gates<M>(dxg + b * G * H + j, dhg + b * G * H + j, dc_new, dh[i] + dout[i],
                                 dc_prev ? dc[i] : T(0), saved + b * S * H + j, h_prev[i],
                                 dc_prev ? c_prev[i] : T(0), H);
  if (dc_prev) dc_prev[i] = dc_new;
}

// fn(mode) with the step's mode as a std::integral_constant, so that fn can use it as a
// compile-time constant: decltype(mode)::value (host code: a kernel launch picks its mode)
template <typename Fn>
void with_mode(RnnMode mode, const Fn& fn) {
  switch (mode) {
    case RnnMode::Tanh: return fn(std::integral_constant<RnnMode, RnnMode::Tanh>{});
    case RnnMode::Relu: return fn(std::integral_constant<RnnMode, RnnMode::Relu>{});
    case RnnMode::Lstm: return fn(std::integral_constant<RnnMode, RnnMode::Lstm>{});
    case RnnMode::Projection: return fn(std::integral_constant<RnnMode, RnnMode::Projection>{});
    default: return fn(std::integral_constant<RnnMode, RnnMode::Gru>{});
  }
}

}  // namespace fg::rnn
