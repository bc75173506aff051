// The kernel catalogue's body, included by kernels.h once inside namespace fg::cpu and once
// inside namespace fg::cuda, so that both devices declare the same names with the same
// arguments. Declarations only: no includes, no include guard.

// ---- GEMM (csrc/cpu/gemm.cpp, csrc/cuda/gemm.cu) -------------------------------------------
// C (M, N) = op(A) (M, K) @ op(B) (K, N)  [+ C if accumulate]  [+ bias (N) on every row],
// then relu(C) if relu (the epilogue of linear(activation='relu'); NaN kept, as relu_forward).
// A is stored (M, K), or (K, M) when trans_a; B is stored (K, N), or (N, K) when trans_b.
// K == 0 gives C = bias (or 0, or C unchanged when accumulating). On the CPU multi-threaded
// (OpenMP) with the micro-kernel chosen from fg::active_isa(). In float and in double (one
// implementation, templated; the double one accumulates in double).
void gemm(float* C, const float* A, const float* B, const float* bias, bool relu, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K);
void gemm(double* C, const double* A, const double* B, const double* bias, bool relu, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K);
// C[i] (M, N) = op(A[i]) @ op(B[i]) for i < batch; matrix i of an operand starts i * stride
// elements in. A stride of 0 reuses one A or B for every i; stride_c > 0 (distinct outputs).
// On the GPU one launch covers the batch.
void gemm_batched(float* C, const float* A, const float* B, bool trans_a, bool trans_b,
                  int64_t batch, int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M,
                  int64_t N, int64_t K);
void gemm_batched(double* C, const double* A, const double* B, bool trans_a, bool trans_b,
                  int64_t batch, int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M,
                  int64_t N, int64_t K);

// ---- elementwise (csrc/cpu/elementwise.cpp, csrc/cuda/elementwise.cu) ----------------------
// Element math is one functor per op (csrc/elementwise_math.h) that both devices apply; the
// templates below are instantiated for the types named at each group (kernels.h).
// a, b broadcast to out (shape[ndim]); strides in elements, 0 along broadcast dimensions.
// shape and strides are host arrays on every device. binary: every arithmetic type, each op
// on the types binary_op_list.h names (another is a TypeError); integer + - * wrap around, an
// integer division by zero gives 0 (the ops refuse it before); compare: those and bool.
template <typename T>
void binary(BinaryOp op, T* out, const T* a, const T* b, const int64_t* shape,
            const int64_t* a_strides, const int64_t* b_strides, int ndim);
template <typename T>
void compare(CompareOp op, bool* out, const T* a, const T* b, const int64_t* shape,
             const int64_t* a_strides, const int64_t* b_strides, int ndim);
// x (n) -> y (n), and dy (n) -> dx (n): float and double; neg, abs, pow_forward (a whole
// exponent >= 0 on integers, wrapping) and clamp_forward (bounds within T) every arithmetic type.
template <typename T>
void neg_forward(T* y, const T* x, int64_t n);
template <typename T>
void exp_forward(T* y, const T* x, int64_t n);
template <typename T>
void log_forward(T* y, const T* x, int64_t n);
template <typename T>
void log1p_forward(T* y, const T* x, int64_t n);  // log(1 + x), exact near 0
// y = op(x) for the unary math of FG_FOR_EACH_UNARY_MATH (sin, erf, floor, ...); backward
// rules are compositions (ops/unary_math.cpp)
template <typename T>
void unary_math(UnaryMath op, T* y, const T* x, int64_t n);
template <typename T>
void sqrt_forward(T* y, const T* x, int64_t n);
template <typename T>
void abs_forward(T* y, const T* x, int64_t n);
template <typename T>
void abs_backward(T* dx, const T* dy, const T* x, int64_t n);
template <typename T>
void pow_forward(T* y, const T* x, double exponent, int64_t n);
template <typename T>
void pow_backward(T* dx, const T* dy, const T* x, double exponent, int64_t n);
template <typename T>
void clamp_forward(T* y, const T* x, double lo, double hi, int64_t n);  // bounds as T
template <typename T>
void clamp_backward(T* dx, const T* dy, const T* x, double lo, double hi, int64_t n);
template <typename T>
void add_inplace(T* y, const T* x, int64_t n);  // y += x
// the order-th derivative of digamma (order 0: digamma itself); float and double
template <typename T>
void polygamma_forward(T* y, const T* x, int64_t order, int64_t n);
// NaN, +inf, -inf -> nan, posinf, neginf (as T); float and double
template <typename T>
void nan_to_num_forward(T* y, const T* x, double nan, double posinf, double neginf, int64_t n);

// ---- casts and fills (csrc/cpu/cast.cpp, csrc/cuda/cast.cu) ---------------------------------
// x (n) of any of the 10 dtypes -> y (n) of any; value rules in cast_math.h (NaN -> 0 and
// saturation into integers, x != 0 into bool, round to nearest even into float16/bfloat16).
template <typename Dst, typename Src>
void cast(Dst* y, const Src* x, int64_t n);
template <typename T>
void fill(T* y, T value, int64_t n);

// ---- activations (csrc/cpu/activation.cpp, csrc/cuda/activation.cu) ------------------------
// float and double; x (n) -> y (n), dy (n) -> dx (n). Scalars are converted to T.
template <typename T>
void relu_forward(T* y, const T* x, int64_t n);
// the parametrized activations of activation_list.h: y = op(x; params), dx = dy op'(x; params)
template <typename T>
void activation_forward(T* y, const T* x, Activation op, const ActivationParams& params, int64_t n);
template <typename T>
void activation_backward(T* dx, const T* dy, const T* x, Activation op,
                         const ActivationParams& params, int64_t n);
template <typename T>
void relu_backward(T* dx, const T* dy, const T* x, int64_t n);
template <typename T>
void leaky_relu_forward(T* y, const T* x, double slope, int64_t n);
template <typename T>
void leaky_relu_backward(T* dx, const T* dy, const T* x, double slope, int64_t n);
template <typename T>
void gelu_forward(T* y, const T* x, bool tanh_approximation, int64_t n);
template <typename T>
void gelu_backward(T* dx, const T* dy, const T* x, bool tanh_approximation, int64_t n);
template <typename T>
void tanh_forward(T* y, const T* x, int64_t n);
template <typename T>
void tanh_backward(T* dx, const T* dy, const T* y, int64_t n);  // from the output
template <typename T>
void sigmoid_forward(T* y, const T* x, int64_t n);
template <typename T>
void sigmoid_backward(T* dx, const T* dy, const T* y, int64_t n);  // from the output
template <typename T>
void silu_forward(T* y, const T* x, int64_t n);
template <typename T>
void silu_backward(T* dx, const T* dy, const T* x, int64_t n);

// ---- running reductions and products along the middle axis of (outer, n, inner) ------------
// (csrc/line_kernels.h, one sequential pass a line on both devices: csrc/line_math.h)
// x -> y (outer, n, inner): the running sum, product, max or min; indices (outer, n, inner):
// where each running max or min was found (latest among equals; NaN wins), for Max and Min
// only (may be null otherwise). Every arithmetic type (integers wrap).
template <typename T>
void cumulative_forward(T* y, int64_t* indices, const T* x, Scan op, int64_t outer, int64_t n,
                        int64_t inner);
// dy, x, y (outer, n, inner) -> dx: the gradient of cumprod, exact with zeros; float, double
template <typename T>
void cumprod_backward(T* dx, const T* dy, const T* x, const T* y, int64_t outer, int64_t n,
                      int64_t inner);
// x (outer, n, inner) -> y (outer, inner), the products (every arithmetic type, Out = T)
template <typename Out, typename T>
void prod_forward(Out* y, const T* x, int64_t outer, int64_t n, int64_t inner);
// dy (outer, inner), x (outer, n, inner) -> dx: dy times the product of the others; float,
// double
template <typename T>
void prod_backward(T* dx, const T* dy, const T* x, int64_t outer, int64_t n, int64_t inner);

// x -> values, indices (outer, n, inner): each line sorted, stable, NaN the largest value (so
// first when descending); spare_values, spare_indices: scratch of the same size. Every
// arithmetic type.
template <typename T>
void sort_forward(T* values, int64_t* indices, T* spare_values, int64_t* spare_indices, const T* x,
                  bool descending, int64_t outer, int64_t n, int64_t inner);
// x (outer, n, inner) -> values, indices (outer, k, inner): the first k of each line as
// sort_forward orders it (descending when largest), 1 <= k <= n, in n log k. Every arithmetic
// type.
template <typename T>
void topk_forward(T* values, int64_t* indices, const T* x, bool largest, int64_t outer, int64_t n,
                  int64_t inner, int64_t k);
// sorted, sorted_indices (outer, n, inner), ascending lines from sort_forward -> mode,
// mode_indices (outer, inner): the most frequent value (the smallest of a tie; NaNs count
// once each) and its last index in the input. Every arithmetic type.
template <typename T>
void mode_forward(T* mode, int64_t* mode_indices, const T* sorted, const int64_t* sorted_indices,
                  int64_t outer, int64_t n, int64_t inner);

// index (index_shape[ndim], int64, contiguous) with x or y read or written at their strides,
// along dim: gather_along: y (index_shape) = x[..., index, ...]; scatter_along: y[..., index,
// ...] = or op= src (index_shape). Indices out of [0, size) read 0 and write nothing (the ops
// refuse them first). One pass a line along dim, so equal indices meet in order (the last
// assignment wins): deterministic on both devices. Every arithmetic type (bool goes as uint8).
template <typename T>
void gather_along(T* y, const T* x, const int64_t* index, const int64_t* index_shape,
                  const int64_t* x_strides, int64_t size, int ndim, int dim);
template <typename T>
void scatter_along(T* y, const T* src, const int64_t* index, const int64_t* index_shape,
                   const int64_t* y_strides, int64_t size, int ndim, int dim, ScatterReduce op);

// ---- softmax along the middle axis of (outer, n, inner) ------------------------------------
// (csrc/cpu/softmax.cpp, csrc/cuda/softmax.cu); float and double, sums in float64.
template <typename T>
void softmax_forward(T* y, const T* x, int64_t outer, int64_t n, int64_t inner);
template <typename T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t n, int64_t inner);
template <typename T>
void log_softmax_forward(T* y, const T* x, int64_t outer, int64_t n, int64_t inner);
template <typename T>
void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t n, int64_t inner);

// ---- reductions along the middle axis of (outer, n, inner) ---------------------------------
// (csrc/cpu/reduce.cpp, csrc/cuda/reduce.cu)
// x (outer, n, inner) -> y (outer, inner). Out = T = float or double, accumulated in float64;
// or Out = int64_t for T = bool and every integer type (PyTorch's int64 sums), wrapping.
template <typename Out, typename T>
void sum_forward(Out* y, const T* x, int64_t outer, int64_t n, int64_t inner);
// x (outer, n, inner) -> values, indices (outer, inner): the largest, or the smallest when
// `smallest`; NaN wins either way, first index on ties. Every arithmetic type.
template <typename T>
void extreme_forward(T* values, int64_t* indices, const T* x, bool smallest, int64_t outer,
                     int64_t n, int64_t inner);
// dvalues, indices (outer, inner) -> dx (outer, n, inner), zero off the extremes; float, double
template <typename T>
void extreme_backward(T* dx, const T* dvalues, const int64_t* indices, int64_t outer, int64_t n,
                      int64_t inner);

// ---- losses (csrc/cpu/loss.cpp, csrc/cuda/loss.cu); float and double -----------------------
// logits (N, C), targets (N), class_weights (C) or null -> losses (N), row_weights (N); fused
// log-softmax. A target equal to ignore_index gives loss 0 and row weight 0; otherwise, with
// smoothing e and weights w (all 1 when null), loss = (1 - e) w[t] (lse - x[t])
// + (e / C) sum_c w[c] (lse - x[c]) and row weight w[t], so a mean is sum(losses) /
// sum(row_weights), as PyTorch's.
template <typename T>
void cross_entropy_forward(T* losses, T* row_weights, const T* logits, const int64_t* targets,
                           const T* class_weights, int64_t ignore_index, double label_smoothing,
                           int64_t N, int64_t C);
// dlosses (N) -> dlogits (N, C)
template <typename T>
void cross_entropy_backward(T* dlogits, const T* dlosses, const T* logits, const int64_t* targets,
                            const T* class_weights, int64_t ignore_index, double label_smoothing,
                            int64_t N, int64_t C);
// log_probs (N, C), targets (N), class_weights (C) or null -> losses (N) = -w[t] log_probs[i, t],
// row_weights (N) = w[t]; both 0 where the target is ignore_index.
template <typename T>
void nll_loss_forward(T* losses, T* row_weights, const T* log_probs, const int64_t* targets,
                      const T* class_weights, int64_t ignore_index, int64_t N, int64_t C);
template <typename T>
void nll_loss_backward(T* dlog_probs, const T* dlosses, const int64_t* targets,
                       const T* class_weights, int64_t ignore_index, int64_t N, int64_t C);
// probabilities x, t (n) -> losses (n) = -(t log x + (1 - t) log(1 - x)), logs clamped at -100
template <typename T>
void binary_cross_entropy_forward(T* losses, const T* x, const T* t, int64_t n);
template <typename T>
void binary_cross_entropy_backward(T* dx, T* dt, const T* dlosses, const T* x, const T* t,
                                   int64_t n);  // dt may be null
// x, t (n) -> losses (n) = max(x, 0) - x t + log(1 + exp(-|x|))
template <typename T>
void bce_with_logits_forward(T* losses, const T* x, const T* t, int64_t n);
template <typename T>
void bce_with_logits_backward(T* dx, T* dt, const T* dlosses, const T* x, const T* t,
                              int64_t n);  // dt may be null

// ---- CTC loss (the recursion: csrc/ctc_math.h); float and double ---------------------------
// log_probs (T, N, C) -> losses (N) = -log p(target | sequence), log_alpha (N, T, 2 S_max + 1)
template <typename T>
void ctc_loss_forward(T* losses, T* log_alpha, const T* log_probs, const CtcBatch& batch);
// dlosses (N) -> dlog_probs (T, N, C); log_beta: scratch of log_alpha's shape. zero_infinity:
// a sequence of infinite loss gets a zero gradient.
template <typename T>
void ctc_loss_backward(T* dlog_probs, T* log_beta, const T* dlosses, const T* losses,
                       const T* log_probs, const T* log_alpha, const CtcBatch& batch,
                       bool zero_infinity);

// ---- random numbers: Philox 4x32-10 (csrc/cpu/random.cpp, csrc/cuda/random.cu) -------------
// Element i draws from counter (offset + i / 4), lane i % 4, key `seed`.
void uniform(float* y, uint64_t seed, uint64_t offset, int64_t n);
void normal(float* y, uint64_t seed, uint64_t offset, int64_t n);
// x (n) -> y (n): zero where the element's float32 uniform draw is < p (as a float32), else
// x / (1 - p); float and double (the same mask for both).
template <typename T>
void dropout_forward(T* y, const T* x, double p, uint64_t seed, uint64_t offset, int64_t n);
template <typename T>
void dropout_backward(T* dx, const T* dy, double p, uint64_t seed, uint64_t offset, int64_t n);

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
// x (n_indices, row_bytes) -> y (rows, row_bytes) at indices; any element type; where an index
// repeats, one of its rows lands (the last on the CPU)
void scatter_rows(void* y, const void* x, const int64_t* indices, int64_t n_indices,
                  int64_t row_bytes);
// dy (n_indices, row_size) -> dx (rows, row_size) += at indices (repeats accumulate); float,
// double
template <typename T>
void scatter_add_rows(T* dx, const T* dy, const int64_t* indices, int64_t n_indices,
                      int64_t row_size);

// ---- optimizer updates (csrc/cpu/optim.cpp, csrc/cuda/optim.cu) ----------------------------
// One call updates a whole parameter group in place: tensor i of `count` has sizes[i]
// elements in params[i], grads[i] and each state buffer (device pointers on a GPU, in host
// arrays). The group's elements are split evenly across threads (on the CPU) or blocks
// (one multi-tensor launch per chunk of tensors on a GPU) as if they were one array.
// momentum_buffers[i] is used only when momentum != 0; fresh[i]: that buffer is new (zeroed)
// and starts as the gradient (PyTorch's first step).
// In float and double (T: the parameters', buffers' and gradients' type).
template <typename T>
void sgd_step(T* const* params, T* const* momentum_buffers, const T* const* grads,
              const bool* fresh, const SgdOptions& options, const int64_t* sizes, int64_t count);
// steps[i]: tensor i's step count including this step (for the bias corrections);
// max_exp_avg_sqs is read only when options.amsgrad.
template <typename T>
void adam_step(T* const* params, T* const* exp_avgs, T* const* exp_avg_sqs,
               T* const* max_exp_avg_sqs, const T* const* grads, const int64_t* steps,
               const AdamOptions& options, const int64_t* sizes, int64_t count);
// momentum_buffers are used only when options.momentum > 0, grad_avgs only when centered.
template <typename T>
void rmsprop_step(T* const* params, T* const* square_avgs, T* const* momentum_buffers,
                  T* const* grad_avgs, const T* const* grads, const RmspropOptions& options,
                  const int64_t* sizes, int64_t count);
// steps[i] (here and below): tensor i's step count including this step.
template <typename T>
void adagrad_step(T* const* params, T* const* sums, const T* const* grads, const int64_t* steps,
                  const AdagradOptions& options, const int64_t* sizes, int64_t count);
template <typename T>
void adadelta_step(T* const* params, T* const* square_avgs, T* const* acc_deltas,
                   const T* const* grads, const AdadeltaOptions& options, const int64_t* sizes,
                   int64_t count);
template <typename T>
void adamax_step(T* const* params, T* const* exp_avgs, T* const* exp_infs, const T* const* grads,
                 const int64_t* steps, const AdamaxOptions& options, const int64_t* sizes,
                 int64_t count);
// mu_products[i]: the product of tensor i's momentum coefficients mu_1 ... mu_t, this step's
// included (nadam_mu, csrc/optim_math.h).
template <typename T>
void nadam_step(T* const* params, T* const* exp_avgs, T* const* exp_avg_sqs, const T* const* grads,
                const int64_t* steps, const double* mu_products, const NadamOptions& options,
                const int64_t* sizes, int64_t count);
template <typename T>
void radam_step(T* const* params, T* const* exp_avgs, T* const* exp_avg_sqs, const T* const* grads,
                const int64_t* steps, const RadamOptions& options, const int64_t* sizes,
                int64_t count);

// ---- im2col / col2im (csrc/cpu/im2col.cpp, csrc/cuda/im2col.cu with csrc/im2col_math.h) ----
// images (N, C, H, W) -> columns (N, C kh kw, out_h out_w): row (c, i, j) holds tap (i, j) of
// channel c at every kernel position, 0 where the tap falls on padding. float and double.
template <typename T>
void im2col(T* columns, const T* images, const Im2colGeometry& geometry, int64_t batch);
// columns (N, C kh kw, out_h out_w) -> images (N, C, H, W), im2col's adjoint: each pixel the
// sum of the entries im2col copies it to (a gather per pixel, so no atomics on the GPU).
template <typename T>
void col2im(T* images, const T* columns, const Im2colGeometry& geometry, int64_t batch);
// ---- pooling (csrc/cpu/pool.cpp, csrc/cuda/pool.cu), windows as PoolPlanes says ------------
// x (planes, h.in, w.in) -> y (planes, h.out, w.out), indices: each maximum's flat position
// in its plane (h * w.in + w; NaN wins, the last of several; ties: the first).
template <typename T>
void max_pool2d_forward(T* y, int64_t* indices, const T* x, const PoolPlanes& pool);
// x (planes, h.in, w.in) -> y (planes, h.out, w.out): window means (dilation 1)
template <typename T>
void avg_pool2d_forward(T* y, const T* x, const PoolPlanes& pool);
// dy (planes, h.out, w.out) -> dx (planes, h.in, w.in): each input gathers dy / divisor from
// the windows holding it
template <typename T>
void avg_pool2d_backward(T* dx, const T* dy, const PoolPlanes& pool);

// ---- normalization (csrc/norm_math.h; csrc/cpu/norm.cpp, csrc/cuda/norm.cu) ---------------
// x (outer, channels, inner) as NormLayout says; float and double, sums in float64. weight,
// bias (channels) may be null (no affine). xhat = (x - mean[s]) rstd[s], s the element's
// statistics (NormLayout::statistic_of).
// Group statistics: x -> y = xhat weight[c] + bias[c], mean and rstd (outer * groups),
// rstd = 1 / sqrt(biased variance + eps).
template <typename T>
void group_norm_forward(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias,
                        const NormLayout& layout, double eps);
// dy -> dx of group_norm_forward: g = dy weight[c], dx = rstd (g - mean(g) - xhat mean(g xhat))
// over each group
template <typename T>
void group_norm_backward(T* dx, const T* dy, const T* x, const T* mean, const T* rstd,
                         const T* weight, const NormLayout& layout);
// x -> mean, var (channels): the biased variance over outer and inner
template <typename T>
void channel_moments(T* mean, T* var, const T* x, const NormLayout& layout);
// x -> y = x scale[c] + shift[c], then max(y, 0) when relu; shift may be null
template <typename T>
void channel_affine(T* y, const T* x, const T* scale, const T* shift, const NormLayout& layout,
                    bool relu);
// dy, x -> sum_dy, sum_dy_xhat (channels): sums of dy and dy xhat over outer and inner (the
// gradients of bias and weight)
template <typename T>
void norm_channel_sums(T* sum_dy, T* sum_dy_xhat, const T* dy, const T* x, const T* mean,
                       const T* rstd, const NormLayout& layout);
// dy -> dx of batch statistics (per_channel layout), M = outer * inner:
// dx = rstd weight[c] (dy - sum_dy[c] / M - xhat sum_dy_xhat[c] / M)
template <typename T>
void batch_norm_backward(T* dx, const T* dy, const T* x, const T* mean, const T* rstd,
                         const T* weight, const T* sum_dy, const T* sum_dy_xhat,
                         const NormLayout& layout);

// ---- depthwise conv2d (csrc/depthwise_math.h; csrc/cpu/depthwise.cpp, csrc/cuda/depthwise.cu)
// groups == channels: output channel o = c multiplier + k reads input channel c only, through
// its own kernel weight[o] (kh, kw). Sizes as Im2colGeometry says (channels: the input's C),
// batch N images; float and double.
// x (N, C, H, W), weight (C m, kh, kw), bias (C m) or null -> y (N, C m, out_h, out_w)
template <typename T>
void depthwise_conv2d_forward(T* y, const T* x, const T* weight, const T* bias,
                              const Im2colGeometry& geometry, int64_t multiplier, int64_t batch);
// dy (N, C m, out_h, out_w), weight (C m, kh, kw) -> dx (N, C, H, W)
template <typename T>
void depthwise_conv2d_backward_input(T* dx, const T* dy, const T* weight,
                                     const Im2colGeometry& geometry, int64_t multiplier,
                                     int64_t batch);
// dy (N, C m, out_h, out_w), x (N, C, H, W) -> dweight (C m, kh, kw): each tap's sum over the
// batch and the output positions, in an order fixed for each device (no atomics)
template <typename T>
void depthwise_conv2d_backward_weight(T* dweight, const T* dy, const T* x,
                                      const Im2colGeometry& geometry, int64_t multiplier,
                                      int64_t batch);

// ---- interpolation (csrc/cpu/interpolate.cpp, csrc/cuda/interpolate.cu with
// csrc/interpolate_math.h): each output a weighted sum of input taps along H and W ----
// x (planes, h.in, w.in) -> y (planes, h.out, w.out)
template <typename T>
void interpolate_forward(T* y, const T* x, const InterpolatePlanes& planes);
// dy (planes, h.out, w.out) -> dx (planes, h.in, w.in), the forward's adjoint: a gather per
// input element over the outputs whose taps hold it (no atomics on the GPU)
template <typename T>
void interpolate_backward(T* dx, const T* dy, const InterpolatePlanes& planes);

// ---- conv2d (csrc/cpu/conv.cpp on the GEMM, csrc/cuda/conv.cu implicit GEMM) -------------
// x (N, C, H, W), weight (O, C / groups, kh, kw), bias (O) or null -> y (N, O, out_h, out_w),
// as ConvGeometry says. float and double.
template <typename T>
void conv2d_forward(T* y, const T* x, const T* weight, const T* bias, const ConvGeometry& geometry,
                    int64_t batch);
// dy (N, O, out_h, out_w) -> dx (N, C, H, W), dweight (O, C / groups, kh, kw), dbias (O) of
// conv2d_forward; each output may be null (not wanted). x is read only for dweight.
template <typename T>
void conv2d_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* weight,
                     const ConvGeometry& geometry, int64_t batch);

// ---- fused attention (csrc/attention_math.h; csrc/cpu/attention.cpp, csrc/cuda/attention.cu)
// Tiled online softmax (FlashAttention-2): the (L, S) weights of a head are never stored.
// Sizes as AttentionGeometry says; keep (bool, true takes part) or bias (added to the scaled
// scores) is the mask, either null. float and double.
// q (BH, L, E), k (BH / kv_group, S, E), v (BH / kv_group, S, Ev) -> out (BH, L, Ev) =
// softmax(q k^T scale + mask) v (with dropout), lse (BH, L): each row's log-sum-exp of its
// scores, +inf for a row no key takes part in (its out row is 0). q, k, v and out laid out as
// geometry.q, .k, .v, .o say; lse contiguous.
template <typename T>
void attention_forward(T* out, T* lse, const T* q, const T* k, const T* v, const bool* keep,
                       const T* bias, const AttentionGeometry& geometry);
// dout (BH, L, Ev; laid out as geometry.o), delta (BH, L) = rowsum(dout out), lse -> dq, dk,
// dv (the inputs' shapes, contiguous; q, k, v as the geometry says):
// the weights recomputed tile by tile; each gradient element has one writer and a fixed order
// of terms (no atomics), so no sum depends on the thread split
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* delta, const T* q, const T* k,
                        const T* v, const T* lse, const bool* keep, const T* bias,
                        const AttentionGeometry& geometry);
// ---- recurrent layers (csrc/rnn_math.h; csrc/cpu/rnn.cpp, csrc/cuda/rnn.cu) --------------
// One time step's fused gate math (G = gate_count, S = rnn::saved_gates): xg, hg (B, G H),
// h_prev, c_prev (B, H) -> h, c (B, H; c for LSTM only), out (B, H), saved (B, S H).
// Projection reads only xg and saves nothing: hg and saved may be any buffer of B H.
template <typename T>
void rnn_gates_forward(T* h, T* c, T* out, T* saved, const T* xg, const T* hg, const T* h_prev,
                       const T* c_prev, const RnnStep& step);
// dh (of h), dout (of out), dc (of c) (B, H), saved -> dxg (B, G H), dhg (B, G H; GRU only,
// the others pass dxg), dh_prev (its part not through hg), dc_prev (B, H)
template <typename T>
void rnn_gates_backward(T* dxg, T* dhg, T* dh_prev, T* dc_prev, const T* dh, const T* dout,
                        const T* dc, const T* saved, const T* h_prev, const T* c_prev,
                        const RnnStep& step);
