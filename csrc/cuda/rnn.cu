// Recurrent layers' fused gate kernels; the CPU versions (csrc/cpu/rnn.cpp) are the reference
// and both run csrc/rnn_math.h for each unit. A thread a unit (b, j) of one time step, one
// kernel per mode (the mode a compile-time constant in it).
#include "cuda/launch.cuh"
#include "kernels.h"
#include "rnn_math.h"

namespace fg::cuda {
namespace {

// (A device lambda may not sit in a generic lambda: with_mode calls these.)
template <RnnMode M, typename T>
void launch_forward(T* h, T* c, T* out, T* saved, const T* xg, const T* hg, const T* h_prev,
                    const T* c_prev, const RnnStep s) {
  launch_for_each("rnn_gates_forward", s.batch * s.hidden, [=] __device__(int64_t i) {
    rnn::forward_unit_of<M>(s, i / s.hidden, i % s.hidden, h, c, out, saved, xg, hg, h_prev,
                            c_prev);
  });
}

template <RnnMode M, typename T>
void launch_backward(T* dxg, T* dhg, T* dh_prev, T* dc_prev, const T* dh, const T* dout,
                     const T* dc, const T* saved, const T* h_prev, const T* c_prev,
                     const RnnStep s) {
  launch_for_each("rnn_gates_backward", s.batch * s.hidden, [=] __device__(int64_t i) {
    rnn::backward_unit_of<M>(s, i / s.hidden, i % s.hidden, dxg, dhg, dh_prev, dc_prev, dh, dout,
                             dc, saved, h_prev, c_prev);
  });
}

}  // namespace

template <typename T>
void rnn_gates_forward(T* h, T* c, T* out, T* saved, const T* xg, const T* hg, const T* h_prev,
                       const T* c_prev, const RnnStep& step) {
  // xg, hg (B, G H), h_prev, c_prev (B, H) -> h, c, out (B, H), saved (B, S H)
  rnn::with_mode(step.mode, [&](auto mode) {
    launch_forward<decltype(mode)::value>(h, c, out, saved, xg, hg, h_prev, c_prev, step);
  });
}

template <typename T>
void rnn_gates_backward(T* dxg, T* dhg, T* dh_prev, T* dc_prev, const T* dh, const T* dout,
                        const T* dc, const T* saved, const T* h_prev, const T* c_prev,
                        const RnnStep& step) {
  // dh, dout, dc (B, H), saved (B, S H) -> dxg, dhg (B, G H), dh_prev, dc_prev (B, H)
  rnn::with_mode(step.mode, [&](auto mode) {
    launch_backward<decltype(mode)::value>(dxg, dhg, dh_prev, dc_prev, dh, dout, dc, saved, h_prev,
                                           c_prev, step);
  });
}

FG_INSTANTIATE_RNN()

}  // namespace fg::cuda
