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
#include "rnn_math.h"

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
                              const Tensor& b_hh, const Tensor& w_hr, const std::string& mode_name,
                              bool reverse, const Tensor& lengths) {
  const RnnMode mode = parse_mode(mode_name);
  FG_CHECK(input.dtype() == DType::Float32 || input.dtype() == DType::Float64, TypeError,
           "[rnn] expected a float32 or float64 input, got " << dtype_name(input.dtype()));
  FG_CHECK(input.dim() == 3 && input.size(0) > 0, ValueError,
           "[rnn] expected input of shape (T, B, input_size) with T > 0, got " << input.shape());
  const int64_t T = input.size(0), B = input.size(1), I = input.size(2);
  const int64_t G = gate_count(mode);
  FG_CHECK(w_hh.defined() && w_hh.dim() == 2, ValueError,
           "[rnn] expected weight_hh of shape (gates * hidden, state)");
  const int64_t H = w_hh.size(0) / G, GH = G * H, S = rnn::saved_gates(mode);
  const bool lstm = mode == RnnMode::Lstm, projected = w_hr.defined();
  FG_CHECK(lstm || !projected, ValueError,
           "[rnn] expected weight_hr (proj_size) for mode lstm only, got mode " << mode_name);
  // R: the width of the state h, the projection's (proj_size) or H
  const int64_t R = projected && w_hr.dim() == 2 ? w_hr.size(0) : H;
  check_operand(w_ih, input, {GH, I}, "weight_ih", true);
  check_operand(w_hh, input, {GH, R}, "weight_hh", true);
  check_operand(b_ih, input, {GH}, "bias_ih", false);
  check_operand(b_hh, input, {GH}, "bias_hh", false);
  check_operand(w_hr, input, {R, H}, "weight_hr", false);
  check_operand(hx, input, {B, R}, "hx", true);
  check_operand(cx, input, {B, H}, lstm ? "cx" : "no cx (LSTM only)", lstm);
  FG_CHECK(lstm || !cx.defined(), ValueError, "[rnn] expected no cx for mode " << mode_name);
  if (lengths.defined()) {
    check_same_device(input, lengths, "rnn");
    FG_CHECK(lengths.dtype() == DType::Int64 && lengths.shape() == Shape{B}, ValueError,
             "[rnn] expected lengths of dtype int64 and shape ("
                 << B << "), got " << dtype_name(lengths.dtype()) << " " << lengths.shape());
  }
  const Device device = input.device();
  const DType dtype = input.dtype();
  Tensor x = detached(input), wih = detached(w_ih), whh = detached(w_hh);
  Tensor bih = detached(b_ih), bhh = detached(b_hh), whr = detached(w_hr);
  Tensor lens = detached(lengths);
  // states[k]: the state before step k reads it, by time: time t reads index t (forward) or
  // t + 1 (reverse) and writes the other; hidden (T + 1, B, R), cells (T + 1, B, H) (LSTM)
  Tensor hidden = empty({T + 1, B, R}, dtype, device);
  Tensor cells = lstm ? empty({T + 1, B, H}, dtype, device) : Tensor();
  Tensor saved = empty({T, B, S * H}, dtype, device);
  // the node's one output: output (T, B, R), h_n (B, R) and c_n (B, H), one after another
  const int64_t h_n_at = T * B * R, c_n_at = h_n_at + B * R;
  Tensor result = empty({c_n_at + (lstm ? B * H : 0)}, dtype, device);
  // With a projection the gates make each step's units u (B, H), kept for weight_hr's
  // gradient, and the Projection step h = u W_hr^T; the gate step's own h and h_prev
  // (unit_state) are then scratch: LSTM's math reads no h_prev.
  Tensor units = projected ? empty({T, B, H}, dtype, device) : Tensor();
  Tensor unit_state = projected ? zeros({2, B, H}, dtype, device) : Tensor();
  Tensor projection = projected ? empty({B, R}, dtype, device) : Tensor();
  const int64_t first = reverse ? T : 0, last = reverse ? 0 : T;
  {
    NoGradGuard no_grad;
    Tensor h0 = narrow(hidden, 0, first, 1);
    copy_(h0, reshape(hx.detach(), {1, B, R}));
    if (lstm) {
      Tensor c0 = narrow(cells, 0, first, 1);
      copy_(c0, reshape(cx.detach(), {1, B, H}));
    }
  }
  Tensor projected_input = empty({T, B, GH}, dtype, device);  // x W_ih^T + b_ih, every step
  Tensor hidden_projected = empty({B, GH}, dtype, device);
  dispatch_floating(dtype, "rnn", [&](auto tag) {
    using Scalar = typename decltype(tag)::type;
    const int64_t* len = data_or_null<int64_t>(lens);
    FG_LAUNCH(gemm, device, projected_input.data<Scalar>(), x.data<Scalar>(), wih.data<Scalar>(),
              data_or_null<Scalar>(bih), false, false, true, false, T * B, GH, I);
    Scalar *h = hidden.data<Scalar>(), *c = lstm ? cells.data<Scalar>() : nullptr;
    Scalar* p = projected ? projection.data<Scalar>() : nullptr;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? T - 1 - k : k, prev = reverse ? t + 1 : t;
      const int64_t next = reverse ? t : t + 1;
      Scalar* out = result.data<Scalar>() + t * B * R;
      FG_LAUNCH(gemm, device, hidden_projected.data<Scalar>(), h + prev * B * R, whh.data<Scalar>(),
                data_or_null<Scalar>(bhh), false, false, true, false, B, GH, R);
      Scalar* u = projected ? units.data<Scalar>() + t * B * H : out;
      Scalar* unit_h = projected ? unit_state.data<Scalar>() : h + next * B * H;
      const Scalar* unit_h_prev = projected ? unit_h + B * H : h + prev * B * H;
      FG_LAUNCH(rnn_gates_forward, device, unit_h, lstm ? c + next * B * H : nullptr, u,
                saved.data<Scalar>() + t * B * S * H, projected_input.data<Scalar>() + t * B * GH,
                hidden_projected.data<Scalar>(), unit_h_prev, lstm ? c + prev * B * H : nullptr,
                RnnStep{mode, B, H, t, len});
      if (!projected) continue;
      // h (B, R) = u (B, H) @ W_hr^T (H, R), then kept only where the row is active
      FG_LAUNCH(gemm, device, p, u, whr.data<Scalar>(), static_cast<const Scalar*>(nullptr), false,
                false, true, false, B, R, H);
      FG_LAUNCH(rnn_gates_forward, device, h + next * B * R, static_cast<Scalar*>(nullptr), out, p,
                p, p, h + prev * B * R, static_cast<const Scalar*>(nullptr),
                RnnStep{RnnMode::Projection, B, R, t, len});
    }
  });
  {
    NoGradGuard no_grad;
    Tensor h_n = narrow(result, 0, h_n_at, B * R);
    copy_(h_n, reshape(narrow(hidden, 0, last, 1), {B * R}));
    if (lstm) {
      Tensor c_n = narrow(result, 0, c_n_at, B * H);
      copy_(c_n, reshape(narrow(cells, 0, last, 1), {B * H}));
    }
  }
  const bool need_dx = input.requires_grad();
  record(result, "rnn", {input, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr}, [=](const Tensor& dresult) {
    Tensor dy = contiguous(dresult);
    Tensor dh = empty({B, R}, dtype, device), dh_prev = empty({B, R}, dtype, device);
    Tensor dc = lstm ? empty({B, H}, dtype, device) : Tensor();
    Tensor dc_prev = lstm ? empty({B, H}, dtype, device) : Tensor();
    {
      NoGradGuard no_grad;
      copy_(dh, reshape(narrow(dy, 0, h_n_at, B * R), {B, R}));
      if (lstm) copy_(dc, reshape(narrow(dy, 0, c_n_at, B * H), {B, H}));
    }
    Tensor dprojected = empty({T, B, GH}, dtype, device);
    Tensor dhidden_projected = mode == RnnMode::Gru ? empty({T, B, GH}, dtype, device) : dprojected;
    Tensor dx = need_dx ? empty({T, B, I}, dtype, device) : Tensor();
    Tensor dwih = empty({GH, I}, dtype, device), dwhh = empty({GH, R}, dtype, device);
    // with a projection: each step's dh (B, R) before it, kept for weight_hr's
    // gradient; the units' gradient (B, H); the gate step's dout (none: its out is u)
    // and its dh_prev (scratch: the state's gradient comes from the Projection step)
    Tensor dprojection = projected ? empty({T, B, R}, dtype, device) : Tensor();
    Tensor dunits = projected ? empty({B, H}, dtype, device) : Tensor();
    Tensor no_grad_units = projected ? zeros({B, H}, dtype, device) : Tensor();
    Tensor unit_dh_prev = projected ? empty({B, H}, dtype, device) : Tensor();
    Tensor dwhr = projected ? empty({R, H}, dtype, device) : Tensor();
    dispatch_floating(dtype, "rnn", [&](auto tag) {
      using Scalar = typename decltype(tag)::type;
      const int64_t* len = data_or_null<int64_t>(lens);
      const Scalar *h = hidden.data<Scalar>(), *c = lstm ? cells.data<Scalar>() : nullptr;
      const Scalar* none = nullptr;
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = reverse ? T - 1 - k : k, prev = reverse ? t + 1 : t;
        const Scalar* dout = dy.data<Scalar>() + t * B * R;
        Scalar* dhp = dhidden_projected.data<Scalar>() + t * B * GH;
        if (projected) {
          Scalar* dp = dprojection.data<Scalar>() + t * B * R;
          FG_LAUNCH(rnn_gates_backward, device, dp, dp, dh_prev.data<Scalar>(),
                    static_cast<Scalar*>(nullptr), dh.data<Scalar>(), dout, none, dp,
                    h + prev * B * R, none, RnnStep{RnnMode::Projection, B, R, t, len});
          // du (B, H) = dh (B, R) @ W_hr (R, H)
          FG_LAUNCH(gemm, device, dunits.data<Scalar>(), dp, whr.data<Scalar>(), none, false, false,
                    false, false, B, H, R);
        }
        const Scalar* unit_dh = projected ? dunits.data<Scalar>() : dh.data<Scalar>();
        const Scalar* unit_dout = projected ? no_grad_units.data<Scalar>() : dout;
        const Scalar* unit_h_prev = projected ? no_grad_units.data<Scalar>() : h + prev * B * H;
        FG_LAUNCH(rnn_gates_backward, device, dprojected.data<Scalar>() + t * B * GH, dhp,
                  projected ? unit_dh_prev.data<Scalar>() : dh_prev.data<Scalar>(),
                  lstm ? dc_prev.data<Scalar>() : nullptr, unit_dh, unit_dout,
                  lstm ? dc.data<Scalar>() : nullptr, saved.data<Scalar>() + t * B * S * H,
                  unit_h_prev, lstm ? c + prev * B * H : nullptr, RnnStep{mode, B, H, t, len});
        // dh_prev += dhg (B, G H) @ W_hh (G H, R)
        FG_LAUNCH(gemm, device, dh_prev.data<Scalar>(), dhp, whh.data<Scalar>(), none, false, false,
                  false, true, B, R, GH);
        std::swap(dh, dh_prev);
        if (lstm) std::swap(dc, dc_prev);
      }
      if (need_dx)
        FG_LAUNCH(gemm, device, dx.data<Scalar>(), dprojected.data<Scalar>(), wih.data<Scalar>(),
                  none, false, false, false, false, T * B, I, GH);
      FG_LAUNCH(gemm, device, dwih.data<Scalar>(), dprojected.data<Scalar>(), x.data<Scalar>(),
                none, false, true, false, false, GH, I, T * B);
      // the states each step read: rows 0..T-1 (forward) or 1..T (reverse) of hidden
      FG_LAUNCH(gemm, device, dwhh.data<Scalar>(), dhidden_projected.data<Scalar>(),
                h + (reverse ? B * R : 0), none, false, true, false, false, GH, R, T * B);
      if (projected)  // dW_hr (R, H) = dh^T (R, T B) @ u (T B, H)
        FG_LAUNCH(gemm, device, dwhr.data<Scalar>(), dprojection.data<Scalar>(),
                  units.data<Scalar>(), none, false, true, false, false, R, H, T * B);
    });
    NoGradGuard no_grad;
    Tensor dbih = bih.defined() ? sum(reshape(dprojected, {T * B, GH}), {0}, false) : Tensor();
    Tensor dbhh =
        bhh.defined() ? sum(reshape(dhidden_projected, {T * B, GH}), {0}, false) : Tensor();
    return std::vector<Tensor>{dx, dh, dc, dwih, dwhh, dbih, dbhh, dwhr};
  });
  std::vector<Tensor> outputs{reshape(narrow(result, 0, 0, h_n_at), {T, B, R}),
                              reshape(narrow(result, 0, h_n_at, B * R), {B, R})};
  outputs.push_back(lstm ? reshape(narrow(result, 0, c_n_at, B * H), {B, H}) : Tensor());
  return outputs;
}

}  // namespace fg::ops
