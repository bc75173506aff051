// Recurrent layers' fused gate kernels (csrc/kernel_list.h): one time step's units, each by
// the shared math of csrc/rnn_math.h; threads split the rows and units of the batch.
#include "cpu/parallel.h"
#include "kernels.h"
#include "rnn_math.h"

namespace fg::cpu {

// Each unit reads and writes a handful of gates: a few dozen elements of work
constexpr int64_t kUnitCost = 32;

template <typename T>
void rnn_gates_forward(T* h, T* c, T* out, T* saved, const T* xg, const T* hg, const T* h_prev,
                       const T* c_prev, const RnnStep& step) {
  // xg, hg (B, G H), h_prev, c_prev (B, H) -> h, c, out (B, H), saved (B, S H)
  const int64_t H = step.hidden;
  parallel_for(step.batch * H, kElementwiseGrain / kUnitCost, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      rnn::forward_unit(step, i / H, i % H, h, c, out, saved, xg, hg, h_prev, c_prev);
  });
}

template <typename T>
void rnn_gates_backward(T* dxg, T* dhg, T* dh_prev, T* dc_prev, const T* dh, const T* dout,
                        const T* dc, const T* saved, const T* h_prev, const T* c_prev,
                        const RnnStep& step) {
  // dh, dout, dc (B, H), saved (B, S H) -> dxg, dhg (B, G H), dh_prev, dc_prev (B, H)
  const int64_t H = step.hidden;
  parallel_for(step.batch * H, kElementwiseGrain / kUnitCost, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      rnn::backward_unit(step, i / H, i % H, dxg, dhg, dh_prev, dc_prev, dh, dout, dc, saved,
                         h_prev, c_prev);
  });
}

FG_INSTANTIATE_RNN()

}  // namespace fg::cpu
