// One recurrent layer in one direction (RNN tanh / relu, LSTM, GRU) as one op with its own
// backward: the input projection of every time step is one GEMM before the loop; each step
// is one GEMM for the hidden projection and one fused gate kernel (csrc/rnn_math.h). Its
// backward runs the whole sequence back in one node: a fused gate-gradient kernel and one
// GEMM per step, then the weight and input gradients of all steps as three GEMMs. The Python
// layer (python/forgegrad/nn/rnn.py) stacks layers and directions and packs sequences.
#include <string>
#include <utility>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {
namespace {

template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

RnnMode parse_mode(const std::string& mode) {
  if (mode == "rnn_tanh") return RnnMode::Tanh;
  if (mode == "rnn_relu") return RnnMode::Relu;
  if (mode == "lstm") return RnnMode::Lstm;
  FG_CHECK(mode == "gru", ValueError,
           "[rnn] expected mode 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru', got '" << mode << "'");
  return RnnMode::Gru;
}

// t undefined (when allowed), or of `shape`, x's dtype and device
void check_operand(const Tensor& t, const Tensor& x, const Shape& shape, const char* what,
                   bool required) {
  FG_CHECK(t.defined() || !required, ValueError, "[rnn] expected " << what << ", got None");
  if (!t.defined()) return;
  check_same_device(x, t, "rnn");
  FG_CHECK(t.dtype() == x.dtype(), TypeError,
           "[rnn] expected " << what << " of dtype " << dtype_name(x.dtype()) << ", got "
                             << dtype_name(t.dtype()));
  FG_CHECK(t.shape() == shape, ValueError,
           "[rnn] expected " << what << " of shape " << shape << ", got " << t.shape());
}

Tensor detached(const Tensor& t) { return t.defined() ? contiguous(t.detach()) : t; }

}  // namespace

std::vector<Tensor> rnn_layer(const Tensor& input, const Tensor& hx, const Tensor& cx,
                              const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                              const Tensor& b_hh, const std::string& mode_name, bool reverse,
                              const Tensor& lengths) {
  const RnnMode mode = parse_mode(mode_name);
  FG_CHECK(input.dtype() == DType::Float32 || input.dtype() == DType::Float64, TypeError,
           "[rnn] expected a float32 or float64 input, got " << dtype_name(input.dtype()));
  FG_CHECK(input.dim() == 3 && input.size(0) > 0, ValueError,
           "[rnn] expected input of shape (T, B, input_size) with T > 0, got " << input.shape());
  const int64_t T = input.size(0), B = input.size(1), I = input.size(2);
  FG_CHECK(w_hh.defined() && w_hh.dim() == 2, ValueError,
           "[rnn] expected weight_hh of shape (gates * hidden, hidden)");
  const int64_t H = w_hh.size(1), G = gate_count(mode), GH = G * H;
  const int64_t S = mode == RnnMode::Lstm ? 5 : mode == RnnMode::Gru ? 4 : 1;
  const bool lstm = mode == RnnMode::Lstm;
  check_operand(w_ih, input, {GH, I}, "weight_ih", true);
  check_operand(w_hh, input, {GH, H}, "weight_hh", true);
  check_operand(b_ih, input, {GH}, "bias_ih", false);
  check_operand(b_hh, input, {GH}, "bias_hh", false);
  check_operand(hx, input, {B, H}, "hx", true);
  check_operand(cx, input, {B, H}, lstm ? "cx" : "no cx (LSTM only)", lstm);
  FG_CHECK(lstm || !cx.defined(), ValueError, "[rnn] expected no cx for mode " << mode_name);
  if (lengths.defined()) {
    check_same_device(input, lengths, "rnn");
    FG_CHECK(lengths.dtype() == DType::Int64 && lengths.shape() == Shape{B}, ValueError,
             "[rnn] expected lengths of dtype int64 and shape (" << B << "), got "
                 << dtype_name(lengths.dtype()) << " " << lengths.shape());
  }
  const Device device = input.device();
  const DType dtype = input.dtype();
  Tensor x = detached(input), wih = detached(w_ih), whh = detached(w_hh);
  Tensor bih = detached(b_ih), bhh = detached(b_hh), lens = detached(lengths);
  // states[k]: the state before step k reads it, by time: time t reads index t (forward) or
  // t + 1 (reverse) and writes the other; hidden (T + 1, B, H), cells likewise (LSTM)
  Tensor hidden = empty({T + 1, B, H}, dtype, device);
  Tensor cells = lstm ? empty({T + 1, B, H}, dtype, device) : Tensor();
  Tensor saved = empty({T, B, S * H}, dtype, device);
  Tensor result = empty({(T + 1 + (lstm ? 1 : 0)) * B * H}, dtype, device);
  const int64_t first = reverse ? T : 0, last = reverse ? 0 : T;
  {
    NoGradGuard no_grad;
    Tensor h0 = narrow(hidden, 0, first, 1);
    copy_(h0, reshape(hx.detach(), {1, B, H}));
    if (lstm) {
      Tensor c0 = narrow(cells, 0, first, 1);
      copy_(c0, reshape(cx.detach(), {1, B, H}));
    }
  }
  Tensor projected = empty({T, B, GH}, dtype, device);  // x W_ih^T + b_ih, every step
  Tensor hidden_projected = empty({B, GH}, dtype, device);
  dispatch_floating(dtype, "rnn", [&](auto tag) {
    using Scalar = typename decltype(tag)::type;
    const int64_t* len = data_or_null<int64_t>(lens);
    FG_LAUNCH(gemm, device, projected.data<Scalar>(), x.data<Scalar>(), wih.data<Scalar>(),
              data_or_null<Scalar>(bih), false, false, true, false, T * B, GH, I);
    Scalar *h = hidden.data<Scalar>(), *c = lstm ? cells.data<Scalar>() : nullptr;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? T - 1 - k : k, prev = reverse ? t + 1 : t;
      const int64_t next = reverse ? t : t + 1;
      FG_LAUNCH(gemm, device, hidden_projected.data<Scalar>(), h + prev * B * H,
                whh.data<Scalar>(), data_or_null<Scalar>(bhh), false, false, true, false, B, GH,
                H);
      FG_LAUNCH(rnn_gates_forward, device, h + next * B * H, lstm ? c + next * B * H : nullptr,
                result.data<Scalar>() + t * B * H, saved.data<Scalar>() + t * B * S * H,
                projected.data<Scalar>() + t * B * GH, hidden_projected.data<Scalar>(),
                h + prev * B * H, lstm ? c + prev * B * H : nullptr,
                RnnStep{mode, B, H, t, len});
    }
  });
  {
    NoGradGuard no_grad;
    Tensor h_n = narrow(result, 0, T * B * H, B * H);
    copy_(h_n, reshape(narrow(hidden, 0, last, 1), {B * H}));
    if (lstm) {
      Tensor c_n = narrow(result, 0, (T + 1) * B * H, B * H);
      copy_(c_n, reshape(narrow(cells, 0, last, 1), {B * H}));
    }
  }
  const bool need_dx = input.requires_grad();
  record(result, "rnn", {input, hx, cx, w_ih, w_hh, b_ih, b_hh},
         [=](const Tensor& dresult) {
           Tensor dy = contiguous(dresult);
           Tensor dh = empty({B, H}, dtype, device), dh_prev = empty({B, H}, dtype, device);
           Tensor dc = lstm ? empty({B, H}, dtype, device) : Tensor();
           Tensor dc_prev = lstm ? empty({B, H}, dtype, device) : Tensor();
           {
             NoGradGuard no_grad;
             copy_(dh, reshape(narrow(dy, 0, T * B * H, B * H), {B, H}));
             if (lstm) copy_(dc, reshape(narrow(dy, 0, (T + 1) * B * H, B * H), {B, H}));
           }
           Tensor dprojected = empty({T, B, GH}, dtype, device);
           Tensor dhidden_projected =
               mode == RnnMode::Gru ? empty({T, B, GH}, dtype, device) : dprojected;
           Tensor dx = need_dx ? empty({T, B, I}, dtype, device) : Tensor();
           Tensor dwih = empty({GH, I}, dtype, device), dwhh = empty({GH, H}, dtype, device);
           dispatch_floating(dtype, "rnn", [&](auto tag) {
             using Scalar = typename decltype(tag)::type;
             const int64_t* len = data_or_null<int64_t>(lens);
             const Scalar *h = hidden.data<Scalar>(), *c = lstm ? cells.data<Scalar>() : nullptr;
             for (int64_t k = T - 1; k >= 0; --k) {
               const int64_t t = reverse ? T - 1 - k : k, prev = reverse ? t + 1 : t;
               Scalar* dhp = dhidden_projected.data<Scalar>() + t * B * GH;
               FG_LAUNCH(rnn_gates_backward, device, dprojected.data<Scalar>() + t * B * GH, dhp,
                         dh_prev.data<Scalar>(), lstm ? dc_prev.data<Scalar>() : nullptr,
                         dh.data<Scalar>(), dy.data<Scalar>() + t * B * H,
                         lstm ? dc.data<Scalar>() : nullptr,
                         saved.data<Scalar>() + t * B * S * H, h + prev * B * H,
                         lstm ? c + prev * B * H : nullptr, RnnStep{mode, B, H, t, len});
               // dh_prev += dhg (B, G H) @ W_hh (G H, H)
               FG_LAUNCH(gemm, device, dh_prev.data<Scalar>(), dhp, whh.data<Scalar>(),
                         static_cast<const Scalar*>(nullptr), false, false, false, true, B, H,
                         GH);
               std::swap(dh, dh_prev);
               if (lstm) std::swap(dc, dc_prev);
             }
             const Scalar* none = nullptr;
             if (need_dx)
               FG_LAUNCH(gemm, device, dx.data<Scalar>(), dprojected.data<Scalar>(),
                         wih.data<Scalar>(), none, false, false, false, false, T * B, I, GH);
             FG_LAUNCH(gemm, device, dwih.data<Scalar>(), dprojected.data<Scalar>(),
                       x.data<Scalar>(), none, false, true, false, false, GH, I, T * B);
             // the states each step read: rows 0..T-1 (forward) or 1..T (reverse) of hidden
             FG_LAUNCH(gemm, device, dwhh.data<Scalar>(), dhidden_projected.data<Scalar>(),
                       h + (reverse ? B * H : 0), none, false, true, false, false, GH, H, T * B);
           });
           NoGradGuard no_grad;
           Tensor dbih = bih.defined() ? sum(reshape(dprojected, {T * B, GH}), {0}, false) : Tensor();
           Tensor dbhh =
               bhh.defined() ? sum(reshape(dhidden_projected, {T * B, GH}), {0}, false) : Tensor();
           return std::vector<Tensor>{dx, dh, dc, dwih, dwhh, dbih, dbhh};
         });
  // the node's one output holds output (T, B, H), h_n (B, H) and c_n (B, H), one after another
  std::vector<Tensor> outputs{reshape(narrow(result, 0, 0, T * B * H), {T, B, H}),
                              reshape(narrow(result, 0, T * B * H, B * H), {B, H})};
  outputs.push_back(lstm ? reshape(narrow(result, 0, (T + 1) * B * H, B * H), {B, H}) : Tensor());
  return outputs;
}

}  // namespace fg::ops
