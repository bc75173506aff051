// The kernel catalogue's body, included by kernels.h once inside namespace fg::cpu and once
// inside namespace fg::cuda, so that both devices declare the same names with the same
// arguments. Declarations only: no includes, no include guard.

// ---- GEMM (csrc/cpu/gemm.cpp, csrc/cuda/gemm.cu) -------------------------------------------
// C (M, N) = op(A) (M, K) @ op(B) (K, N)  [+ C if accumulate]  [+ bias (N) on every row],
// then relu(C) if relu (the epilogue of linear(activation='relu'); NaN kept, as relu_forward).
// A is stored (M, K), or (K, M) when trans_a; B is stored (K, N), or (N, K) when trans_b.
// K == 0 gives C = bias (or 0, or C unchanged when accumulating). On the CPU multi-threaded
// (OpenMP) with the micro-kernel chosen from fg::active_isa().
void gemm(float* C, const float* A, const float* B, const float* bias, bool relu, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K);
// C[i] (M, N) = op(A[i]) @ op(B[i]) for i < batch; matrix i of an operand starts i * stride
// elements in. A stride of 0 reuses one A or B for every i; stride_c > 0 (distinct outputs).
// On the GPU one launch covers the batch.
void gemm_batched(float* C, const float* A, const float* B, bool trans_a, bool trans_b,
                  int64_t batch, int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M,
                  int64_t N, int64_t K);

// ---- elementwise (csrc/cpu/elementwise.cpp, csrc/cuda/elementwise.cu) ----------------------
// a, b broadcast to out (shape[ndim]); strides in elements, 0 along broadcast dimensions.
// shape and strides are host arrays on every device.
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
void pow_forward(float* y, const float* x, double exponent, int64_t n);
void pow_backward(float* dx, const float* dy, const float* x, double exponent, int64_t n);
void clamp_forward(float* y, const float* x, float lo, float hi, int64_t n);
void clamp_backward(float* dx, const float* dy, const float* x, float lo, float hi, int64_t n);
void add_inplace(float* y, const float* x, int64_t n);  // y += x
// x (n) of any dtype -> y (n) of another; bool/uint8 outputs are x != 0.
template <typename Dst, typename Src>
void cast(Dst* y, const Src* x, int64_t n);
template <typename T>
void fill(T* y, T value, int64_t n);

// ---- activations (csrc/cpu/activation.cpp, csrc/cuda/activation.cu) ------------------------
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

// ---- softmax along the middle axis of (outer, n, inner) ------------------------------------
// (csrc/cpu/softmax.cpp, csrc/cuda/softmax.cu)
void softmax_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner);
void softmax_backward(float* dx, const float* dy, const float* y, int64_t outer, int64_t n,
                      int64_t inner);
void log_softmax_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner);
void log_softmax_backward(float* dx, const float* dy, const float* y, int64_t outer, int64_t n,
                          int64_t inner);

// ---- reductions along the middle axis of (outer, n, inner) ---------------------------------
// (csrc/cpu/reduce.cpp, csrc/cuda/reduce.cu)
// x (outer, n, inner) -> y (outer, inner); sums accumulate in float64.
void sum_forward(float* y, const float* x, int64_t outer, int64_t n, int64_t inner);
// x (outer, n, inner) -> values, indices (outer, inner); NaN wins, first index on ties.
void max_forward(float* values, int64_t* indices, const float* x, int64_t outer, int64_t n,
                 int64_t inner);
// dvalues, indices (outer, inner) -> dx (outer, n, inner), zero off the maxima
void max_backward(float* dx, const float* dvalues, const int64_t* indices, int64_t outer,
                  int64_t n, int64_t inner);

// ---- losses (csrc/cpu/loss.cpp, csrc/cuda/loss.cu) -----------------------------------------
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

// ---- random numbers: Philox 4x32-10 (csrc/cpu/random.cpp, csrc/cuda/random.cu) -------------
// Element i draws from counter (offset + i / 4), lane i % 4, key `seed`.
void uniform(float* y, uint64_t seed, uint64_t offset, int64_t n);
void normal(float* y, uint64_t seed, uint64_t offset, int64_t n);
// x (n) -> y (n): zero where the element's uniform draw is < p, else x / (1 - p)
void dropout_forward(float* y, const float* x, float p, uint64_t seed, uint64_t offset,
                     int64_t n);
void dropout_backward(float* dx, const float* dy, float p, uint64_t seed, uint64_t offset,
                      int64_t n);

// ---- layout (csrc/cpu/layout.cpp, csrc/cuda/layout.cu) -------------------------------------
// x (shape[ndim]) read at src_strides -> y (shape[ndim]) written at dst_strides: strides in
// elements (0 repeats an element), elements of element_size 1, 2, 4 or 8 bytes; y must not
// overlap x. shape and strides are host arrays on every device; the caller merges dimensions
// first (ops::strided_copy), so the last one is the longest run.
void strided_copy(void* y, const void* x, int64_t element_size, const int64_t* shape,
                  const int64_t* dst_strides, const int64_t* src_strides, int ndim);
// x (rows, row_size), indices (n_indices) -> y (n_indices, row_size); any element type
void gather_rows(void* y, const void* x, const int64_t* indices, int64_t n_indices,
                 int64_t row_bytes);
// dy (n_indices, row_size) -> dx (rows, row_size) += at indices (repeats accumulate)
void scatter_add_rows(float* dx, const float* dy, const int64_t* indices, int64_t n_indices,
                      int64_t row_size);


// ---- optimizer updates (csrc/cpu/optim.cpp, csrc/cuda/optim.cu) ----------------------------
// One call updates a whole parameter group in place: tensor i of `count` has sizes[i]
// elements in params[i], grads[i] and each state buffer (device pointers on a GPU, in host
// arrays). The group's elements are split evenly across threads (on the CPU) or blocks
// (one multi-tensor launch per chunk of tensors on a GPU) as if they were one array.
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
