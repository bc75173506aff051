// Recurrent layers' fused gate kernels (csrc/kernel_list.h): threads split the batch's rows;
// a row's units run in one FG_SIMD loop of the shared math (csrc/rnn_math.h), the mode fixed
// at compile time so that the loop vectorizes.
#include "cpu/parallel.h"
#include "kernels.h"
#include "rnn_math.h"

namespace fg::cpu {
namespace {

// A unit reads and writes a handful of gates and computes a few exp / tanh
constexpr int64_t kUnitCost = 32;

// Rows [begin, end) of the batch, each by its active units' loop or its inactive units
template <typename RowFn, typename InactiveFn>
void for_each_row(const RnnStep& step, const RowFn& row, const InactiveFn& inactive) {
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / kUnitCost / step.hidden);
  parallel_for(step.batch, grain, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      if (step.active(b)) {
        row(b);
      } else {
        for (int64_t j = 0; j < step.hidden; ++j) inactive(b, j);
      }
    }
  });
}

// One active row forward: s, x, r at the row's gate 0 in saved, xg, hg
template <RnnMode M, typename T>
FG_SIMD void forward_row(T* __restrict h, T* __restrict c, T* __restrict out, T* __restrict s,
                         const T* __restrict x, const T* __restrict r, const T* __restrict h_prev,
                         const T* __restrict c_prev, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    T c_new = T(0);
    const T h_new = rnn::forward_gates<M>(s + j, c_new, x + j, r + j, h_prev[j],
                                          M == RnnMode::Lstm ? c_prev[j] : T(0), H);
    h[j] = h_new;
    out[j] = h_new;
    if constexpr (M == RnnMode::Lstm) c[j] = c_new;
  }
}

// One active row backward: dx, dr, s at the row's gate 0 in dxg, dhg, saved
template <RnnMode M, typename T>
FG_SIMD void backward_row(T* __restrict dx, T* dr, T* __restrict dh_prev, T* __restrict dc_prev,
                          const T* __restrict dh, const T* __restrict dout, const T* __restrict dc,
                          const T* __restrict s, const T* __restrict h_prev,
                          const T* __restrict c_prev, int64_t H) {
  constexpr bool lstm = M == RnnMode::Lstm;
  for (int64_t j = 0; j < H; ++j) {
    T dc_new = T(0);
    dh_prev[j] =
        rnn::backward_gates<M>(dx + j, dr + j, dc_new, dh[j] + dout[j], lstm ? dc[j] : T(0), s + j,
                               h_prev[j], lstm ? c_prev[j] : T(0), H);
    if constexpr (lstm) dc_prev[j] = dc_new;
  }
}

}  // namespace

template <typename T>
void rnn_gates_forward(T* h, T* c, T* out, T* saved, const T* xg, const T* hg, const T* h_prev,
                       const T* c_prev, const RnnStep& step) {
  // xg, hg (B, G H), h_prev, c_prev (B, H) -> h, c, out (B, H), saved (B, S H)
  rnn::with_mode(step.mode, [&](auto mode) {
    constexpr RnnMode M = decltype(mode)::value;
    const int64_t H = step.hidden, G = gate_count(M), S = rnn::saved_gates(M);
    for_each_row(
        step,
        [&](int64_t b) {
          const bool lstm = M == RnnMode::Lstm;
          forward_row<M>(h + b * H, lstm ? c + b * H : nullptr, out + b * H, saved + b * S * H,
                         xg + b * G * H, hg + b * G * H, h_prev + b * H,
                         lstm ? c_prev + b * H : nullptr, H);
        },
        [&](int64_t b, int64_t j) {
          rnn::forward_inactive(step, b, j, h, c, out, saved, h_prev, c_prev);
        });
  });
}

template <typename T>
void rnn_gates_backward(T* dxg, T* dhg, T* dh_prev, T* dc_prev, const T* dh, const T* dout,
                        const T* dc, const T* saved, const T* h_prev, const T* c_prev,
                        const RnnStep& step) {
  // dh, dout, dc (B, H), saved (B, S H) -> dxg, dhg (B, G H), dh_prev, dc_prev (B, H)
  rnn::with_mode(step.mode, [&](auto mode) {
    constexpr RnnMode M = decltype(mode)::value;
    const int64_t H = step.hidden, G = gate_count(M), S = rnn::saved_gates(M);
    for_each_row(
        step,
        [&](int64_t b) {
          const bool lstm = M == RnnMode::Lstm;
          backward_row<M>(dxg + b * G * H, dhg + b * G * H, dh_prev + b * H,
                          lstm ? dc_prev + b * H : nullptr, dh + b * H, dout + b * H,
                          lstm ? dc + b * H : nullptr, saved + b * S * H, h_prev + b * H,
                          lstm ? c_prev + b * H : nullptr, H);
        },
        [&](int64_t b, int64_t j) {
          rnn::backward_inactive(step, b, j, dxg, dhg, dh_prev, dc_prev, dh, dc);
        });
  });
}

FG_INSTANTIATE_RNN()

}  // namespace fg::cpu
