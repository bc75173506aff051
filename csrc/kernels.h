// The kernel catalogue: every cpu:: and cuda:: kernel, with its shapes (kernel_list.h, one
// list declared in both namespaces). Kernels take raw, contiguous, row-major buffers of their
// device: outputs first, const inputs, sizes last. Gradients are named d<name>. CUDA kernels
// launch on the current device's default stream and check every launch.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"
#include "activation_list.h"
#include "binary_op_list.h"
#include "unary_math_list.h"

namespace fg {

#define FG_BINARY_OP_ENUM(Name, types) Name,
enum class BinaryOp { FG_FOR_EACH_BINARY_OP(FG_BINARY_OP_ENUM) };
#undef FG_BINARY_OP_ENUM
enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };
// The real-valued unary math (csrc/unary_math_list.h), one kernel for all.
#define FG_UNARY_MATH_ENUM(Name, name) Name,
enum class UnaryMath { FG_FOR_EACH_UNARY_MATH(FG_UNARY_MATH_ENUM) };
#undef FG_UNARY_MATH_ENUM

// The parametrized activations (csrc/activation_list.h) and their parameters, whose meaning
// each functor gives (math::Softplus: a = beta, b = threshold; ...).
#define FG_ACTIVATION_ENUM(Name) Name,
enum class Activation { FG_FOR_EACH_ACTIVATION(FG_ACTIVATION_ENUM) };
#undef FG_ACTIVATION_ENUM
struct ActivationParams {
  double a = 0, b = 0, c = 0;
};

// The running reductions of cumulative_forward (cumsum, cumprod, cummax, cummin).
enum class Scan { Sum, Prod, Max, Min };
// How scatter_along combines a value with the target's (scatter, scatter_add, scatter_reduce)
enum class ScatterReduce { Assign, Add, Multiply, Amax, Amin };

// Hyperparameters of the fused optimizer updates (the formulas of PyTorch's documentation).
struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
};
struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize;
  bool decoupled_weight_decay;  // AdamW: p *= 1 - lr * weight_decay, instead of g += wd * p
};
struct RmspropOptions {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
};
struct AdagradOptions {
  double lr, lr_decay, weight_decay, eps;
  bool maximize;
};
struct AdadeltaOptions {
  double lr, rho, eps, weight_decay;
  bool maximize;
};
struct AdamaxOptions {
  double lr, beta1, beta2, eps, weight_decay;
  bool maximize;
};
struct NadamOptions {
  double lr, beta1, beta2, eps, weight_decay, momentum_decay;
  bool maximize, decoupled_weight_decay;
};
struct RadamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  bool maximize, decoupled_weight_decay;
};

// A batch of CTC sequences: log_probs (max_time, batch, classes); sequence n's labels at
// targets[target_offsets[n]], target_lengths[n] of them; input_lengths[n] frames. The
// recursion's tables (alphas, betas) are (batch, max_time, 2 max_target_length + 1).
struct CtcBatch {
  int64_t max_time, batch, classes, max_target_length, blank;
  const int64_t *targets, *target_offsets, *input_lengths, *target_lengths;
  FG_HOST_DEVICE int64_t extended_max() const { return 2 * max_target_length + 1; }
};

// Whether a loss kernel's target is one of C classes. The ops check targets before each
// kernel, so one outside [0, C) comes from a write they could not see (numpy's into a
// from_numpy target, another thread's): its row's losses and gradients become NaN, and
// nothing outside the row is read or written.
FG_HOST_DEVICE inline bool is_class(int64_t target, int64_t C) { return target >= 0 && target < C; }

// The weight of class c in the class-index losses: w[c], or 1 without class weights.
template <typename T>
FG_HOST_DEVICE inline T class_weight(const T* class_weights, int64_t c) {
  return class_weights ? class_weights[c] : T(1);
}

// Row r of nll_loss_forward (kernel_list.h), the same on both devices.
template <typename T>
FG_HOST_DEVICE inline void nll_loss_row(T* losses, T* row_weights, const T* log_probs,
                                        const int64_t* targets, const T* class_weights,
                                        int64_t ignore_index, int64_t r, int64_t C) {
  int64_t t = targets[r];  // read once: it may be changing
  if (t == ignore_index) {
    losses[r] = row_weights[r] = T(0);
  } else if (is_class(t, C)) {
    row_weights[r] = class_weight(class_weights, t);
    losses[r] = -row_weights[r] * log_probs[r * C + t];
  } else {
    losses[r] = row_weights[r] = NAN;
  }
}

// The geometry of im2col / col2im (F.unfold / F.fold) on one image (channels, height, width):
// a kernel of kernel_h x kernel_w taps, spaced by dilation, slides by stride over the image
// zero-padded by pad on each side and stops at out_h x out_w positions.
struct Im2colGeometry {
  int64_t channels, height, width, kernel_h, kernel_w, dilation_h, dilation_w, pad_h, pad_w,
      stride_h, stride_w, out_h, out_w;
  FG_HOST_DEVICE int64_t rows() const { return channels * kernel_h * kernel_w; }
  FG_HOST_DEVICE int64_t positions() const { return out_h * out_w; }
  FG_HOST_DEVICE int64_t image_size() const { return channels * height * width; }
};

// ---- pooling (csrc/pool_math.h) ----
// One spatial axis of a pooling: output o reads input positions o * stride - padding + k *
// dilation for k < kernel (those inside [0, in)), or, when adaptive, [floor(o in / out),
// ceil((o + 1) in / out)) (kernel, stride, padding and dilation unused).
struct PoolAxis {
  int64_t in, out, kernel, stride, padding, dilation;
  bool adaptive;
};
// planes (N * C) of (h.in, w.in) pooled to (h.out, w.out). Averages divide by
// divisor_override when it is not 0, else by the window's size, padding counted when
// count_include_pad (PyTorch's avg_pool2d).
struct PoolPlanes {
  int64_t planes;
  PoolAxis h, w;
  bool count_include_pad;
  int64_t divisor_override;
};

// The normalization kernels' view of x: (outer, channels, inner), contiguous. With group
// statistics (layer_norm, group_norm) each (o, g) of `groups` has its mean and rstd, over the
// channels / groups * inner contiguous elements of its channels; with channel statistics
// (batch_norm) each channel has them, over outer and inner. Affine weights are per channel.
struct NormLayout {
  int64_t outer, channels, inner, groups;
  bool per_channel;  // batch_norm's statistics; groups is then ignored
  bool rms = false;  // rms_norm: groups scaled by their root mean square, no mean subtracted
  FG_HOST_DEVICE int64_t numel() const { return outer * channels * inner; }
  FG_HOST_DEVICE int64_t group_size() const { return channels / groups * inner; }
  FG_HOST_DEVICE int64_t statistics() const { return per_channel ? channels : outer * groups; }
  FG_HOST_DEVICE int64_t channel_of(int64_t i) const { return i / inner % channels; }
  // the statistics of element i
  FG_HOST_DEVICE int64_t statistic_of(int64_t i) const {
    int64_t c = channel_of(i);
    return per_channel ? c : i / (channels * inner) * groups + c / (channels / groups);
  }
};

// ---- attention (csrc/attention_math.h; csrc/cpu/attention.cpp, csrc/cuda/attention.cu) ----
// batch_heads query heads of L rows (E wide) against S keys (E) and values (Ev); query head bh
// reads key and value head bh / kv_group (grouped-query heads; 1 otherwise). The mask (bool or
// additive, or none) of query head bh starts at mask_start(bh) and steps mask_row_stride per
// row, mask_key_stride per key (0 where it broadcasts); the batch dimensions of the heads are
// batch_sizes (their product batch_heads), the mask's strides along them mask_batch_strides.
// causal: key j takes no part in row i when j > i (PyTorch's top-left aligned triangle).
// dropout_p > 0: weight (bh, i, j) is dropped when the float32 uniform draw of element
// (bh L + i) S + j of the Philox stream (seed, offset) is < dropout_p, as dropout_forward draws.
// q, k, v and o (the output forward, its gradient backward) are read and written through
// their strides (AttentionLayout), so that heads viewed out of a projection are not copied.
constexpr int kAttentionMaxBatchDims = 8;
// One operand's strides: along the heads' batch dimensions (0 where it broadcasts) and
// between its rows; the elements of a row are contiguous
struct AttentionLayout {
  int64_t batch_strides[kAttentionMaxBatchDims], row_stride;
};
struct AttentionGeometry {
  int64_t batch_heads, L, S, E, Ev, kv_group;
  double scale;
  bool causal;
  int batch_dims;
  int64_t batch_sizes[kAttentionMaxBatchDims], mask_batch_strides[kAttentionMaxBatchDims];
  int64_t mask_row_stride, mask_key_stride;
  AttentionLayout q, k, v, o;
  double dropout_p;
  uint64_t seed, offset;
  // The offset of query head bh in an operand of these batch strides; `group` query heads
  // share each index of its last batch dimension (key and value: kv_group)
  FG_HOST_DEVICE int64_t start(const int64_t* batch_strides, int64_t bh, int64_t group = 1) const {
    int64_t at = 0;
    for (int d = batch_dims - 1; d >= 0; --d, group = 1) {
      at += bh % batch_sizes[d] / group * batch_strides[d];
      bh /= batch_sizes[d];
    }
    return at;
  }
  FG_HOST_DEVICE int64_t mask_start(int64_t bh) const { return start(mask_batch_strides, bh); }
  // Row `row` of query head bh in `data` laid out as `layout` (of key/value head bh / group)
  template <typename T>
  FG_HOST_DEVICE T* row_of(T* data, const AttentionLayout& layout, int64_t bh, int64_t row,
                           int64_t group = 1) const {
    return data + start(layout.batch_strides, bh, group) + row * layout.row_stride;
  }
};

// ---- recurrent layers (csrc/rnn_math.h) ----
// tanh / relu RNN, LSTM, GRU: their gate count G (each projection is G * hidden wide).
// Projection: the LSTM's projected state (proj_size), h = u W_hr^T made by a GEMM and passed
// in as xg; no gate math, but a mode so that rows past their length keep their state as in
// the others.
enum class RnnMode { Tanh, Relu, Lstm, Gru, Projection };
FG_HOST_DEVICE inline int64_t gate_count(RnnMode mode) {
  return mode == RnnMode::Lstm ? 4 : mode == RnnMode::Gru ? 3 : 1;
}
// One time step of a recurrent layer over `batch` rows of `hidden` units. A row is active at
// `time` when lengths is null or time < lengths[row] (lengths on the kernel's device): the
// padding past a packed sequence's end keeps its state and outputs 0.
struct RnnStep {
  RnnMode mode;
  int64_t batch, hidden, time;
  const int64_t* lengths;
  FG_HOST_DEVICE bool active(int64_t row) const { return !lengths || time < lengths[row]; }
};

// ---- interpolation (csrc/interpolate_math.h): F.interpolate's modes on (planes, H, W) ----
enum class InterpolateMode : int32_t { Nearest, NearestExact, Linear, Cubic };
// One spatial axis resized from `in` to `out` positions; scale_factor: the factor the user
// gave (PyTorch then maps coordinates by 1 / scale_factor), or 0 to map by in / out.
struct InterpolateAxis {
  int64_t in, out;
  double scale_factor;
};
struct InterpolatePlanes {
  int64_t planes;
  InterpolateAxis h, w;
  InterpolateMode mode;
  bool align_corners;
};

// ---- conv2d (csrc/cpu/conv.cpp, csrc/cuda/conv.cu) ----
// input (N, C, H, W) as `image` says (its channels all C), weight (O, C / groups, kh, kw),
// output (N, O, out_h, out_w); group g maps input channels [g C / groups, (g + 1) C / groups)
// to outputs [g O / groups, (g + 1) O / groups). Per group the product is a GEMM:
// (O / groups, group_rows) weights @ (group_rows, positions) im2col columns.
struct ConvGeometry {
  Im2colGeometry image;
  int64_t out_channels, groups;
  FG_HOST_DEVICE int64_t group_outputs() const { return out_channels / groups; }
  FG_HOST_DEVICE int64_t group_channels() const { return image.channels / groups; }
  FG_HOST_DEVICE int64_t group_rows() const {
    return group_channels() * image.kernel_h * image.kernel_w;
  }
  FG_HOST_DEVICE int64_t output_size() const { return out_channels * image.positions(); }
  // 1x1, stride 1, no padding: the image itself is the columns matrix
  FG_HOST_DEVICE bool pointwise() const {
    return image.kernel_h == 1 && image.kernel_w == 1 && image.stride_h == 1 &&
           image.stride_w == 1 && image.pad_h == 0 && image.pad_w == 0;
  }
};

}  // namespace fg

// The instantiations of the templated kernels, which each device's file that defines them
// writes inside its namespace: cast (csrc/cpu/cast.cpp, csrc/cuda/cast.cu) for every pair of
// the 10 dtypes and fill for each.
#define FG_INSTANTIATE_CAST(Dst, Src) template void cast<Dst, Src>(Dst*, const Src*, int64_t);
#define FG_INSTANTIATE_CASTS_TO(Dst)                                                       \
  FG_INSTANTIATE_CAST(Dst, float) FG_INSTANTIATE_CAST(Dst, double)                         \
  FG_INSTANTIATE_CAST(Dst, Half) FG_INSTANTIATE_CAST(Dst, BFloat16)                        \
  FG_INSTANTIATE_CAST(Dst, int64_t) FG_INSTANTIATE_CAST(Dst, int32_t)                      \
  FG_INSTANTIATE_CAST(Dst, int16_t) FG_INSTANTIATE_CAST(Dst, int8_t)                       \
  FG_INSTANTIATE_CAST(Dst, uint8_t) FG_INSTANTIATE_CAST(Dst, bool)                         \
  template void fill<Dst>(Dst*, Dst, int64_t);
#define FG_INSTANTIATE_CASTS()                                                             \
  FG_INSTANTIATE_CASTS_TO(float) FG_INSTANTIATE_CASTS_TO(double)                           \
  FG_INSTANTIATE_CASTS_TO(Half) FG_INSTANTIATE_CASTS_TO(BFloat16)                          \
  FG_INSTANTIATE_CASTS_TO(int64_t) FG_INSTANTIATE_CASTS_TO(int32_t)                        \
  FG_INSTANTIATE_CASTS_TO(int16_t) FG_INSTANTIATE_CASTS_TO(int8_t)                         \
  FG_INSTANTIATE_CASTS_TO(uint8_t) FG_INSTANTIATE_CASTS_TO(bool)

// The element types of the math kernels (kernel_list.h), as X-macro lists: X(T) per type.
#define FG_FLOATING_TYPES(X) X(float) X(double)
#define FG_INTEGER_TYPES(X) X(int64_t) X(int32_t) X(int16_t) X(int8_t) X(uint8_t)
#define FG_ARITHMETIC_TYPES(X) FG_FLOATING_TYPES(X) FG_INTEGER_TYPES(X)

// Instantiations of the math kernels, written by each device's file that defines them.
#define FG_INSTANTIATE_BROADCAST_FOR(T)                                                   \
  template void binary<T>(BinaryOp, T*, const T*, const T*, const int64_t*, const int64_t*, \
                          const int64_t*, int);                                           \
  template void compare<T>(CompareOp, bool*, const T*, const T*, const int64_t*,           \
                           const int64_t*, const int64_t*, int);
#define FG_INSTANTIATE_BROADCAST()                \
  FG_ARITHMETIC_TYPES(FG_INSTANTIATE_BROADCAST_FOR) \
  template void compare<bool>(CompareOp, bool*, const bool*, const bool*, const int64_t*, \
                              const int64_t*, const int64_t*, int);

#define FG_INSTANTIATE_ARITHMETIC_UNARY_FOR(T)                             \
  template void neg_forward<T>(T*, const T*, int64_t);                      \
  template void abs_forward<T>(T*, const T*, int64_t);                      \
  template void pow_forward<T>(T*, const T*, double, int64_t);              \
  template void clamp_forward<T>(T*, const T*, double, double, int64_t);
#define FG_INSTANTIATE_UNARY_FOR(T)                                                         \
  template void exp_forward<T>(T*, const T*, int64_t);                                     \
  template void log_forward<T>(T*, const T*, int64_t);                                     \
  template void log1p_forward<T>(T*, const T*, int64_t);                                   \
  template void unary_math<T>(UnaryMath, T*, const T*, int64_t);                           \
  template void sqrt_forward<T>(T*, const T*, int64_t);                                    \
  template void abs_backward<T>(T*, const T*, const T*, int64_t);                          \
  template void pow_backward<T>(T*, const T*, const T*, double, int64_t);                  \
  template void clamp_backward<T>(T*, const T*, const T*, double, double, int64_t);        \
  template void add_inplace<T>(T*, const T*, int64_t);                                     \
  template void polygamma_forward<T>(T*, const T*, int64_t, int64_t);                      \
  template void nan_to_num_forward<T>(T*, const T*, double, double, double, int64_t);
#define FG_INSTANTIATE_UNARY()                               \
  FG_ARITHMETIC_TYPES(FG_INSTANTIATE_ARITHMETIC_UNARY_FOR)       \
  FG_FLOATING_TYPES(FG_INSTANTIATE_UNARY_FOR)

#define FG_INSTANTIATE_ACTIVATIONS_FOR(T)                                       \
  template void relu_forward<T>(T*, const T*, int64_t);                        \
  template void relu_backward<T>(T*, const T*, const T*, int64_t);             \
  template void leaky_relu_forward<T>(T*, const T*, double, int64_t);          \
  template void leaky_relu_backward<T>(T*, const T*, const T*, double, int64_t); \
  template void gelu_forward<T>(T*, const T*, bool, int64_t);                  \
  template void gelu_backward<T>(T*, const T*, const T*, bool, int64_t);       \
  template void tanh_forward<T>(T*, const T*, int64_t);                        \
  template void tanh_backward<T>(T*, const T*, const T*, int64_t);             \
  template void sigmoid_forward<T>(T*, const T*, int64_t);                     \
  template void sigmoid_backward<T>(T*, const T*, const T*, int64_t);          \
  template void silu_forward<T>(T*, const T*, int64_t);                        \
  template void silu_backward<T>(T*, const T*, const T*, int64_t);                \
  template void activation_forward<T>(T*, const T*, Activation, const ActivationParams&, \
                                      int64_t);                                         \
  template void activation_backward<T>(T*, const T*, const T*, Activation,              \
                                       const ActivationParams&, int64_t);
#define FG_INSTANTIATE_ACTIVATIONS() FG_FLOATING_TYPES(FG_INSTANTIATE_ACTIVATIONS_FOR)

#define FG_INSTANTIATE_SOFTMAX_FOR(T)                                                      \
  template void softmax_forward<T>(T*, const T*, int64_t, int64_t, int64_t);              \
  template void softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);   \
  template void log_softmax_forward<T>(T*, const T*, int64_t, int64_t, int64_t);          \
  template void log_softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);
#define FG_INSTANTIATE_SOFTMAX() FG_FLOATING_TYPES(FG_INSTANTIATE_SOFTMAX_FOR)

#define FG_INSTANTIATE_FLOATING_SUM_FOR(T)                                             \
  template void sum_forward<T, T>(T*, const T*, int64_t, int64_t, int64_t);           \
  template void extreme_backward<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t);
#define FG_INSTANTIATE_INTEGER_SUM_FOR(T) \
  template void sum_forward<int64_t, T>(int64_t*, const T*, int64_t, int64_t, int64_t);
#define FG_INSTANTIATE_MAX_FOR(T) \
  template void extreme_forward<T>(T*, int64_t*, const T*, bool, int64_t, int64_t, int64_t);
#define FG_INSTANTIATE_REDUCTIONS()                    \
  FG_FLOATING_TYPES(FG_INSTANTIATE_FLOATING_SUM_FOR)   \
  FG_INTEGER_TYPES(FG_INSTANTIATE_INTEGER_SUM_FOR)     \
  FG_INSTANTIATE_INTEGER_SUM_FOR(bool)                 \
  FG_ARITHMETIC_TYPES(FG_INSTANTIATE_MAX_FOR)

#define FG_INSTANTIATE_LINE_KERNELS_FOR(T)                                                  \
  template void cumulative_forward<T>(T*, int64_t*, const T*, Scan, int64_t, int64_t, int64_t); \
  template void prod_forward<T, T>(T*, const T*, int64_t, int64_t, int64_t);                 \
  template void gather_along<T>(T*, const T*, const int64_t*, const int64_t*, const int64_t*,   \
                                int64_t, int, int);                                           \
  template void scatter_along<T>(T*, const T*, const int64_t*, const int64_t*, const int64_t*, \
                                 int64_t, int, int, ScatterReduce);                           \
  template void sort_forward<T>(T*, int64_t*, T*, int64_t*, const T*, bool, int64_t, int64_t,  \
                                int64_t);                                                     \
  template void mode_forward<T>(T*, int64_t*, const T*, const int64_t*, int64_t, int64_t,      \
                                int64_t);                                                     \
  template void topk_forward<T>(T*, int64_t*, const T*, bool, int64_t, int64_t, int64_t, int64_t);
#define FG_INSTANTIATE_FLOATING_LINE_KERNELS_FOR(T)                                          \
  template void cumprod_backward<T>(T*, const T*, const T*, const T*, int64_t, int64_t,      \
                                    int64_t);                                                \
  template void prod_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);
#define FG_INSTANTIATE_LINE_KERNELS()                       \
  FG_ARITHMETIC_TYPES(FG_INSTANTIATE_LINE_KERNELS_FOR)      \
  FG_FLOATING_TYPES(FG_INSTANTIATE_FLOATING_LINE_KERNELS_FOR)

#define FG_INSTANTIATE_LOSSES_FOR(T)                                                           \
  template void cross_entropy_forward<T>(T*, T*, const T*, const int64_t*, const T*, int64_t, \
                                         double, int64_t, int64_t);                           \
  template void cross_entropy_backward<T>(T*, const T*, const T*, const int64_t*, const T*,   \
                                          int64_t, double, int64_t, int64_t);                 \
  template void nll_loss_forward<T>(T*, T*, const T*, const int64_t*, const T*, int64_t,      \
                                    int64_t, int64_t);                                        \
  template void nll_loss_backward<T>(T*, const T*, const int64_t*, const T*, int64_t,         \
                                     int64_t, int64_t);                                       \
  template void binary_cross_entropy_forward<T>(T*, const T*, const T*, int64_t);             \
  template void binary_cross_entropy_backward<T>(T*, T*, const T*, const T*, const T*,        \
                                                 int64_t);                                    \
  template void bce_with_logits_forward<T>(T*, const T*, const T*, int64_t);                  \
  template void ctc_loss_forward<T>(T*, T*, const T*, const CtcBatch&);                       \
  template void ctc_loss_backward<T>(T*, T*, const T*, const T*, const T*, const T*,          \
                                     const CtcBatch&, bool);                                  \
  template void bce_with_logits_backward<T>(T*, T*, const T*, const T*, const T*, int64_t);
#define FG_INSTANTIATE_LOSSES() FG_FLOATING_TYPES(FG_INSTANTIATE_LOSSES_FOR)

#define FG_INSTANTIATE_OPTIM_FOR(T)                                                         \
  template void sgd_step<T>(T* const*, T* const*, const T* const*, const bool*,             \
                            const SgdOptions&, const int64_t*, int64_t);                    \
  template void adam_step<T>(T* const*, T* const*, T* const*, T* const*, const T* const*,   \
                             const int64_t*, const AdamOptions&, const int64_t*, int64_t);  \
  template void rmsprop_step<T>(T* const*, T* const*, T* const*, T* const*, const T* const*, \
                                const RmspropOptions&, const int64_t*, int64_t);             \
  template void adagrad_step<T>(T* const*, T* const*, const T* const*, const int64_t*,      \
                                const AdagradOptions&, const int64_t*, int64_t);             \
  template void adadelta_step<T>(T* const*, T* const*, T* const*, const T* const*,          \
                                 const AdadeltaOptions&, const int64_t*, int64_t);           \
  template void adamax_step<T>(T* const*, T* const*, T* const*, const T* const*,            \
                               const int64_t*, const AdamaxOptions&, const int64_t*, int64_t); \
  template void nadam_step<T>(T* const*, T* const*, T* const*, const T* const*,             \
                              const int64_t*, const double*, const NadamOptions&,           \
                              const int64_t*, int64_t);                                     \
  template void radam_step<T>(T* const*, T* const*, T* const*, const T* const*,             \
                              const int64_t*, const RadamOptions&, const int64_t*, int64_t);
#define FG_INSTANTIATE_OPTIM() FG_FLOATING_TYPES(FG_INSTANTIATE_OPTIM_FOR)

#define FG_INSTANTIATE_SCATTER_ADD_FOR(T) \
  template void scatter_add_rows<T>(T*, const T*, const int64_t*, int64_t, int64_t);
#define FG_INSTANTIATE_SCATTER_ADD() FG_FLOATING_TYPES(FG_INSTANTIATE_SCATTER_ADD_FOR)

#define FG_INSTANTIATE_DROPOUT_FOR(T)                                                   \
  template void dropout_forward<T>(T*, const T*, double, uint64_t, uint64_t, int64_t);  \
  template void dropout_backward<T>(T*, const T*, double, uint64_t, uint64_t, int64_t);
#define FG_INSTANTIATE_DROPOUT() FG_FLOATING_TYPES(FG_INSTANTIATE_DROPOUT_FOR)

#define FG_INSTANTIATE_IM2COL_FOR(T)                                               \
  template void im2col<T>(T*, const T*, const Im2colGeometry&, int64_t);           \
  template void col2im<T>(T*, const T*, const Im2colGeometry&, int64_t);
#define FG_INSTANTIATE_IM2COL() FG_FLOATING_TYPES(FG_INSTANTIATE_IM2COL_FOR)
#define FG_INSTANTIATE_POOL_FOR(T)                                                      \
  template void max_pool2d_forward<T>(T*, int64_t*, const T*, const PoolPlanes&);         \
  template void avg_pool2d_forward<T>(T*, const T*, const PoolPlanes&);                   \
  template void avg_pool2d_backward<T>(T*, const T*, const PoolPlanes&);
#define FG_INSTANTIATE_POOL() FG_FLOATING_TYPES(FG_INSTANTIATE_POOL_FOR)
#define FG_INSTANTIATE_NORM_FOR(T)                                                          \
  template void group_norm_forward<T>(T*, T*, T*, const T*, const T*, const T*,             \
                                      const NormLayout&, double);                            \
  template void group_norm_backward<T>(T*, const T*, const T*, const T*, const T*, const T*, \
                                       const NormLayout&);                                   \
  template void channel_moments<T>(T*, T*, const T*, const NormLayout&);                     \
  template void channel_affine<T>(T*, const T*, const T*, const T*, const NormLayout&, bool); \
  template void norm_channel_sums<T>(T*, T*, const T*, const T*, const T*, const T*,         \
                                     const NormLayout&);                                     \
  template void batch_norm_backward<T>(T*, const T*, const T*, const T*, const T*, const T*, \
                                       const T*, const T*, const NormLayout&);
#define FG_INSTANTIATE_NORM() FG_FLOATING_TYPES(FG_INSTANTIATE_NORM_FOR)
#define FG_INSTANTIATE_DEPTHWISE_FOR(T)                                                       \
  template void depthwise_conv2d_forward<T>(T*, const T*, const T*, const T*,                 \
                                            const Im2colGeometry&, int64_t, int64_t);         \
  template void depthwise_conv2d_backward_input<T>(T*, const T*, const T*,                    \
                                                   const Im2colGeometry&, int64_t, int64_t);  \
  template void depthwise_conv2d_backward_weight<T>(T*, const T*, const T*,                   \
                                                    const Im2colGeometry&, int64_t, int64_t);
#define FG_INSTANTIATE_DEPTHWISE() FG_FLOATING_TYPES(FG_INSTANTIATE_DEPTHWISE_FOR)
#define FG_INSTANTIATE_INTERPOLATE_FOR(T)                                          \
  template void interpolate_forward<T>(T*, const T*, const InterpolatePlanes&);     \
  template void interpolate_backward<T>(T*, const T*, const InterpolatePlanes&);
#define FG_INSTANTIATE_INTERPOLATE() FG_FLOATING_TYPES(FG_INSTANTIATE_INTERPOLATE_FOR)
#define FG_INSTANTIATE_CONV_FOR(T)                                                        \
  template void conv2d_forward<T>(T*, const T*, const T*, const T*, const ConvGeometry&,     \
                                  int64_t);                                                  \
  template void conv2d_backward<T>(T*, T*, T*, const T*, const T*, const T*,                 \
                                   const ConvGeometry&, int64_t);
#define FG_INSTANTIATE_CONV() FG_FLOATING_TYPES(FG_INSTANTIATE_CONV_FOR)

#define FG_INSTANTIATE_ATTENTION_FOR(T)                                                        \
  template void attention_forward<T>(T*, T*, const T*, const T*, const T*, const bool*, const T*, \
                                     const AttentionGeometry&);                                   \
  template void attention_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,        \
                                      const T*, const T*, const bool*, const T*,                  \
                                      const AttentionGeometry&);
#define FG_INSTANTIATE_ATTENTION() FG_FLOATING_TYPES(FG_INSTANTIATE_ATTENTION_FOR)
#define FG_INSTANTIATE_RNN_FOR(T)                                                           \
  template void rnn_gates_forward<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*, \
                                     const RnnStep&);                                        \
  template void rnn_gates_backward<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*, \
                                      const T*, const T*, const RnnStep&);
#define FG_INSTANTIATE_RNN() FG_FLOATING_TYPES(FG_INSTANTIATE_RNN_FOR)

namespace fg::cpu {

// The FG_SIMD clone that elementwise, activation and optimizer loops run on this CPU:
// "x86-64-v4" (AVX-512), "x86-64-v3" (AVX2 + FMA) or "default" (csrc/cpu/simd_clone.cpp).
const char* simd_clone();

#include "kernel_list.h"

}  // namespace fg::cpu

// Defined only in a build with CUDA (csrc/cuda/*.cu); ops reach them through FG_KERNEL.
namespace fg::cuda {

#include "kernel_list.h"

}  // namespace fg::cuda
