// The kernel catalogue: every cpu:: (and later cuda::) kernel, with its shapes.
// Kernels take raw, contiguous, row-major buffers: outputs first, const inputs, sizes last.
// Gradients are named d<name>. The same name and argument order is used on every device.
#pragma once
#include <cstdint>

namespace fg {

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

}  // namespace fg

namespace fg::cpu {

// The FG_SIMD clone that elementwise, activation and optimizer loops run on this CPU:
// "x86-64-v4" (AVX-512), "x86-64-v3" (AVX2 + FMA) or "default" (csrc/cpu/simd_clone.cpp).
const char* simd_clone();

// ---- GEMM (csrc/cpu/gemm*.cpp) --------------------------------------------------------
// C (M, N) = op(A) (M, K) @ op(B) (K, N)  [+ C if accumulate]  [+ bias (N) on every row]
// A is stored (M, K), or (K, M) when trans_a; B is stored (K, N), or (N, K) when trans_b.
// K == 0 gives C = bias (or 0, or C unchanged when accumulating). Multi-threaded (OpenMP);
// the micro-kernel is chosen from fg::active_isa().
void gemm(float* C, const float* A, const float* B, const float* bias, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K);

// ---- elementwise (csrc/cpu/elementwise.cpp) -------------------------------------------
enum class BinaryOp { Add, Sub, Mul, Div };
enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };
// a, b broadcast to out (shape[ndim]); strides in elements, 0 along broadcast dimensions.
void binary(BinaryOp op, float* out, const float* a, const float* b, const int64_t* shape,
            const int64_t* a_strides, const int64_t* b_strides, int ndim);
void compare(CompareOp op, bool* out, const float* a, const float* b, const int64_t* shape,
             const int64_t* a_strides, const int64_t* b_strides, int ndim);
void compare(CompareOp op, bool* out, const int64_t* a, const int64_t* b, const int64_t* shape,
             const int64_t* a_strides, const int64_t* b_strides, int ndim);
// x (n) -> y (n), and dy (n) -> dx (n)
void neg_forward(float* y, const float* x, int64_t n);
void exp_forward(float* y, const float* x, int64_t n);
void log_forward(float* y, const float* x, int64_t n);
void sqrt_forward(float* y, const float* x, int64_t n);
void abs_forward(float* y, const float* x, int64_t n);
void abs_backward(float* dx, const float* dy, const float* x, int64_t n);
void pow_forward(float* y, const float* x, float exponent, int64_t n);
void pow_backward(float* dx, const float* dy, const float* x, float exponent, int64_t n);
void clamp_forward(float* y, const float* x, float lo, float hi, int64_t n);
void clamp_backward(float* dx, const float* dy, const float* x, float lo, float hi, int64_t n);
void add_inplace(float* y, const float* x, int64_t n);  // y += x
// x (n) of any dtype -> y (n) of another; bool/uint8 outputs are x != 0.
template <typename Dst, typename Src>
void cast(Dst* y, const Src* x, int64_t n);
template <typename T>
void fill(T* y, T value, int64_t n);

// ---- activations (csrc/cpu/activation.cpp) ----------------------------------------------
void relu_forward(float* y, const float* x, int64_t n);
void relu_backward(float* dx, const float* dy, const float* x, int64_t n);
void leaky_relu_forward(float* y, const float* x, float slope, int64_t n);
void leaky_relu_backward(float* dx, const float* dy, const float* x, float slope, int64_t n);
void gelu_forward(float* y, const float* x, bool tanh_approximation, int64_t n);
void gelu_backward(float* dx, const float* dy, const float* x, bool tanh_approximation,
                   int64_t n);
void tanh_forward(float* y, const float* x, int64_t n);
void tanh_backward(float* dx, const float* dy, const float* y, int64_t n);  // from the output
void sigmoid_forward(float* y, const float* x, int64_t n);
void sigmoid_backward(float* dx, const float* dy, const float* y, int64_t n);
void silu_forward(float* y, const float* x, int64_t n);
void silu_backward(float* dx, const float* dy, const float* x, int64_t n);

// ---- softmax along the middle axis of (outer, n, inner) (csrc/cpu/softmax.cpp) ---------
void softmax_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner);
void softmax_backward(float* dx, const float* dy, const float* y, int64_t outer, int64_t n,
                      int64_t inner);
void log_softmax_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner);
void log_softmax_backward(float* dx, const float* dy, const float* y, int64_t outer, int64_t n,
                          int64_t inner);

// ---- reductions along the middle axis of (outer, n, inner) (csrc/cpu/reduce.cpp) -------
// x (outer, n, inner) -> y (outer, inner); sums accumulate in float64.
void sum_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner);
// x (outer, n, inner) -> values, indices (outer, inner); NaN wins, first index on ties.
void max_forward(float* values, int64_t* indices, const float* x, int64_t outer, int64_t n,
                 int64_t inner);
// dvalues, indices (outer, inner) -> dx (outer, n, inner), zero off the maxima
void max_backward(float* dx, const float* dvalues, const int64_t* indices, int64_t outer,
                  int64_t n, int64_t inner);

// ---- losses (csrc/cpu/loss.cpp) ---------------------------------------------------------
// logits (N, C), targets (N) in [0, C) -> losses (N); fused log-softmax, label smoothing.
void cross_entropy_forward(float* losses, const float* logits, const int64_t* targets,
                           float label_smoothing, int64_t N, int64_t C);
// dlosses (N) -> dlogits (N, C)
void cross_entropy_backward(float* dlogits, const float* dlosses, const float* logits,
                            const int64_t* targets, float label_smoothing, int64_t N, int64_t C);
// log_probs (N, C), targets (N) -> losses (N) = -log_probs[i, targets[i]]
void nll_loss_forward(float* losses, const float* log_probs, const int64_t* targets, int64_t N,
                      int64_t C);
void nll_loss_backward(float* dlog_probs, const float* dlosses, const int64_t* targets,
                       int64_t N, int64_t C);
// x, t (n) -> losses (n) = max(x, 0) - x t + log(1 + exp(-|x|))
void bce_with_logits_forward(float* losses, const float* x, const float* t, int64_t n);
void bce_with_logits_backward(float* dx, float* dt, const float* dlosses, const float* x,
                              const float* t, int64_t n);  // dt may be null

// ---- random numbers: Philox 4x32-10 (csrc/cpu/random.cpp) -------------------------------
// Element i draws from counter (offset + i / 4), lane i % 4, key `seed`.
void uniform(float* y, uint64_t seed, uint64_t offset, int64_t n);
void normal(float* y, uint64_t seed, uint64_t offset, int64_t n);
// x (n) -> y (n): zero where the element's uniform draw is < p, else x / (1 - p)
void dropout_forward(float* y, const float* x, float p, uint64_t seed, uint64_t offset,
                     int64_t n);
void dropout_backward(float* dx, const float* dy, float p, uint64_t seed, uint64_t offset,
                      int64_t n);

// ---- layout (csrc/cpu/layout.cpp) -------------------------------------------------------
// x (outer, A, middle, B, inner) -> y (outer, B, middle, A, inner); T is any element type
template <typename T>
void swap_axes(T* y, const T* x, int64_t outer, int64_t A, int64_t middle, int64_t B,
               int64_t inner);
// x (rows, row_size), indices (n_indices) -> y (n_indices, row_size); any element type
void gather_rows(void* y, const void* x, const int64_t* indices, int64_t n_indices,
                 int64_t row_bytes);
// dy (n_indices, row_size) -> dx (rows, row_size) += at indices (repeats accumulate)
void scatter_add_rows(float* dx, const float* dy, const int64_t* indices, int64_t n_indices,
                      int64_t row_size);


// ---- optimizer updates (csrc/cpu/optim.cpp) ---------------------------------------------
// One call updates a whole parameter group in place: tensor i of `count` has sizes[i]
// elements in params[i], grads[i] and each state buffer. The group's elements are split
// evenly across threads as if they were one array.
// momentum_buffers[i] is used only when momentum != 0; fresh[i]: that buffer is new (zeroed)
// and starts as the gradient (PyTorch's first step).
void sgd_step(float* const* params, float* const* momentum_buffers, const float* const* grads,
              const bool* fresh, const SgdOptions& options, const int64_t* sizes,
              int64_t count);
// steps[i]: tensor i's step count including this step (for the bias corrections);
// max_exp_avg_sqs is read only when options.amsgrad.
void adam_step(float* const* params, float* const* exp_avgs, float* const* exp_avg_sqs,
               float* const* max_exp_avg_sqs, const float* const* grads, const int64_t* steps,
               const AdamOptions& options, const int64_t* sizes, int64_t count);

}  // namespace fg::cpu
