// The public ops. Each validates its inputs ("[op] expected ..., got ..."), runs the
// kernel for the inputs' device and records its backward rule, written right below it.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autograd/node.h"
#include "core/generator.h"
#include "core/tensor.h"
#include "kernels.h"
#include "ops/device_scope.h"

namespace fg::ops {

// ---- creation (ops/creation.cpp) ----
Tensor empty(const Shape& shape, DType dtype, Device device);
Tensor full(const Shape& shape, double value, DType dtype, Device device);
Tensor full_int64(const Shape& shape, int64_t value, Device device);  // exact past 2^53
Tensor zeros(const Shape& shape, DType dtype, Device device);
Tensor scalar_tensor(double value, DType dtype, Device device);  // 0-d
Tensor arange(double start, double end, double step, DType dtype, Device device);
Tensor arange(int64_t start, int64_t end, int64_t step, Device device);  // int64, exact
// Random draws take a Generator (core/generator.h); null means the global stream.
Tensor rand(const Shape& shape, DType dtype, Device device,
            Generator* generator = nullptr);  // uniform [0, 1), Philox
Tensor randn(const Shape& shape, DType dtype, Device device,
             Generator* generator = nullptr);  // standard normal, Philox
void manual_seed(uint64_t seed);               // restarts the global stream
// (seed, first counter) for a draw of n numbers (four per Philox block) from generator
std::pair<uint64_t, uint64_t> reserve_random_blocks(int64_t n, Generator* generator = nullptr);
Tensor clone(const Tensor& x);                  // recorded: gradient passes through
Tensor to_dtype(const Tensor& x, DType dtype);  // a copy; float32 -> float32 is a clone
Tensor to_device(const Tensor& x, Device device);
void add_(Tensor& dst, const Tensor& src);   // in place, same shape; not recorded
void fill_(Tensor& dst, double value);       // in place; not recorded
void copy_(Tensor& dst, const Tensor& src);  // in place, same shape, any dtypes

// ---- elementwise (ops/elementwise.cpp) ----
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
bool broadcastable_to(const Shape& from, const Shape& to);  // expand(from -> to) would work
Tensor sum_to(const Tensor& x, const Shape& shape);         // undoes broadcasting (for backward)
// PyTorch's result type of a binary op on a and b (a wrapped number only lifts the category)
DType result_type(const Tensor& a, const Tensor& b);
DType result_type(const std::vector<Tensor>& operands);  // undefined ones skipped
// The arithmetic promotes (int + float -> float32, int8 + int16 -> int16, ...); float16 and
// bfloat16 compute in float32. Integer + - * wrap around; div is true division (float32 for
// integers); sub refuses bool.
// The dtype a result of dtype `result` is computed in: float16 and bfloat16 in float32 (rounded
// back once, as PyTorch's CPU ops), bool in uint8 (cast back: nonzero is true), others as is.
DType compute_dtype(DType result);
// compute(a, b) on both operands converted to compute_dtype(result), cast back to `result`. The
// conversions are recorded, so gradients reach each operand in its own dtype.
Tensor in_result_type(const Tensor& a, const Tensor& b, DType result, const char* op,
                      const std::function<Tensor(const Tensor&, const Tensor&)>& compute);
// a op b broadcast, both of one dtype op's kernel takes (binary_op_list.h); not recorded
Tensor binary_kernel(BinaryOp op, const char* name, const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);  // integers: whole exponents >= 0 stay integer
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);  // log(1 + x), exact for small x
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
// The unary math of csrc/unary_math_list.h (ops/unary_math.cpp): real-valued ones give
// float32 for integers; floor, ceil, round (half to even), trunc and sign keep integers.
#define FG_DECLARE_UNARY_MATH(Name, name) Tensor name(const Tensor& x);
FG_FOR_EACH_UNARY_MATH(FG_DECLARE_UNARY_MATH)
#undef FG_DECLARE_UNARY_MATH
Tensor round(const Tensor& x, int64_t decimals);  // at 10^-decimals, half to even
Tensor polygamma(int64_t n, const Tensor& x);     // digamma's n-th derivative
// NaN, +inf, -inf replaced; the infinities by default by the dtype's largest finite values
Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf,
                  std::optional<double> neginf);
Tensor frac(const Tensor& x);    // x - trunc(x)
Tensor square(const Tensor& x);  // x * x, integers too
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);
using CompareOp = ::fg::CompareOp;
Tensor compare(CompareOp op, const Tensor& a, const Tensor& b);  // -> bool

// ---- the binary math beyond + - * / (ops/binary_math.cpp) ----
// Operands promote as add's; an integer division by zero is a RuntimeError (PyTorch's
// ZeroDivisionError), bool refused where PyTorch refuses it. Rounded divisions have zero
// gradients, as PyTorch's.
Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode);  // trunc, floor
Tensor floor_divide(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, const Tensor& b);  // Python's %: the sign of b
Tensor fmod(const Tensor& a, const Tensor& b);       // C's fmod: the sign of a
Tensor maximum(const Tensor& a, const Tensor& b);    // NaN propagates
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor fmax(const Tensor& a, const Tensor& b);  // NaN ignored where the other is a number
Tensor fmin(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);    // elementwise exponents
Tensor atan2(const Tensor& a, const Tensor& b);  // floating results
Tensor hypot(const Tensor& a, const Tensor& b);
// integers and bool (shifts: integers)
Tensor bitwise_and(const Tensor& a, const Tensor& b);
Tensor bitwise_or(const Tensor& a, const Tensor& b);
Tensor bitwise_xor(const Tensor& a, const Tensor& b);
Tensor bitwise_left_shift(const Tensor& a, const Tensor& b);
Tensor bitwise_right_shift(const Tensor& a, const Tensor& b);
Tensor bitwise_not(const Tensor& x);
// -> bool: x != 0 combined
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& x);
// clamp with tensor bounds (either may be undefined): min(max(x, lo), hi), NaN bounds propagate;
// the gradient goes to x where lo <= x <= hi, else to the bound that won
Tensor clamp(const Tensor& x, const Tensor& lo, const Tensor& hi);
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight);
// |a - b| <= atol + rtol |b| (and a == b, which covers infinities); -> bool
Tensor isclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan);
Tensor isnan(const Tensor& x);
Tensor isinf(const Tensor& x);
Tensor isfinite(const Tensor& x);

// ---- reductions (ops/reduce.cpp) ----
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);  // {} = all
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
// the shape of a reduction over dims ({} = all), checked ("[op] ...")
Shape reduction_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim,
                      const char* op);
// max and min of all (0-d), amax and amin over dims ({} = all): the gradient shared by ties
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
// along dim: values, indices (NaN wins, first index on ties); the gradient to that index
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim);
Tensor prod(const Tensor& x, std::optional<int64_t> dim, bool keepdim);  // int64 for integers

// A tensor seen as (outer, n, inner) around dimensions [first, last], the layout of the
// reduction and line kernels; a 0-d tensor is (1, 1, 1)
struct Lines {
  int64_t outer = 1, n = 1, inner = 1;
};
Lines lines_around(const Shape& shape, int64_t first, int64_t last, const char* op);

// ---- sorting along a dimension (ops/sort.cpp): stable, NaN the largest value ----
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending);  // values, indices
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest);
std::pair<Tensor, Tensor> kthvalue(const Tensor& x, int64_t k, int64_t dim, bool keepdim);
// the lower median, or the first NaN where there is one (nanmedian: of the non-NaN values)
std::pair<Tensor, Tensor> median(const Tensor& x, int64_t dim, bool keepdim, bool ignore_nan);
Tensor median(const Tensor& x, bool ignore_nan);  // over all elements
std::pair<Tensor, Tensor> mode(const Tensor& x, int64_t dim, bool keepdim);

// ---- statistics composed of reductions (ops/statistics.cpp) ----
// var and std over dims ({} = all) divide by N - correction (N - 1 by default, as PyTorch)
Tensor var(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim);
Tensor standard_deviation(const Tensor& x, const std::vector<int64_t>& dims, double correction,
                          bool keepdim);
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
// (sum |x|^ord)^(1/ord); ord inf/-inf: max/min |x|, 0: the count of nonzeros
Tensor vector_norm(const Tensor& x, double ord, const std::vector<int64_t>& dims, bool keepdim);
Tensor all(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);  // -> bool
Tensor any(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
Tensor count_nonzero(const Tensor& x, const std::vector<int64_t>& dims);  // -> int64

// ---- gather and scatter along a dimension (ops/gather.cpp) ----
// index: int64, as many dims as x, in range; scatter's src: a tensor (0-d: a value for all)
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_reduce(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                      const std::string& reduce, bool include_self);
Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim);
// ---- counting (ops/histogram.cpp); no gradient ----
// 1-d non-negative integers -> counts (int64) or sums of weights, max(max(x) + 1, minlength)
Tensor bincount(const Tensor& x, const Tensor& weights, int64_t minlength);
// bins equal-width bins over [min, max] (min == max: the data's range), the last one closed
Tensor histc(const Tensor& x, int64_t bins, double min, double max);

// ---- running reductions (ops/scan.cpp) ----
Tensor cumsum(const Tensor& x, int64_t dim);  // integers and bool give int64
Tensor cumprod(const Tensor& x, int64_t dim);
std::pair<Tensor, Tensor> cummax(const Tensor& x, int64_t dim);  // values, indices
std::pair<Tensor, Tensor> cummin(const Tensor& x, int64_t dim);

// ---- shape and views (ops/shape.cpp) ----
// Views share x's storage (and its version counter): a write through one reaches x.
// x itself when it is contiguous, else a row-major copy; recorded (the gradient passes).
Tensor contiguous(const Tensor& x);
// Drops size-1 dimensions and merges neighbours that every operand steps through as one
// (strides[k][d] == strides[k][d + 1] * shape[d + 1]), so a kernel's inner loop runs long.
// Returns the merged shape; strides are merged in place.
Shape merge_dims(const Shape& shape, std::vector<Shape*> strides);
// dst's elements = src's (same shape and dtype, any strides; not recorded, no checks): the
// strided copy kernel. dst must not overlap src.
void strided_copy(const Tensor& dst, const Tensor& src);
// A view when x's strides allow it (PyTorch's computeStride rule), else a copy; one -1
// allowed. `op` names the caller in errors.
Tensor reshape(const Tensor& x, const Shape& shape, const char* op = "reshape");
Tensor view(const Tensor& x, const Shape& shape);  // a view, or RuntimeError as PyTorch
Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim);
Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor movedim(const Tensor& x, const std::vector<int64_t>& source,
               const std::vector<int64_t>& destination);
Tensor matrix_transpose(const Tensor& x);            // mT: the last two dims swapped
Tensor reverse_dims(const Tensor& x);                // T: every dim reversed
Tensor expand(const Tensor& x, const Shape& shape);  // -1 keeps a size; stride 0 broadcasts
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t dim, int64_t index);  // x[..., i, ...], dim removed
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t stop, int64_t step);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x, std::optional<std::vector<int64_t>> dims);  // none: all 1s
Tensor diagonal(const Tensor& x, int64_t offset, int64_t dim1, int64_t dim2);
Tensor unfold(const Tensor& x, int64_t dim, int64_t size, int64_t step);  // sliding windows
Tensor index_select(const Tensor& x, const Tensor& indices);              // x[idx], int64 indices

// ---- joining and splitting (ops/join.cpp) ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);    // dtypes promoted
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);  // along a new dimension
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);  // views
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim);
std::vector<Tensor> unbind(const Tensor& x, int64_t dim);  // selects

// ---- advanced indexing (ops/index.cpp) ----
// indices: one per leading dimension of x, undefined for a full slice; integer tensors,
// broadcast together (numpy's rule places their dimensions where the indexed ones were when
// those are adjacent, else in front). Out of range -> IndexError, negatives wrap.
Tensor index(const Tensor& x, const std::vector<Tensor>& indices);
// Runs write(target) to change x in place, without recording. When the change must be
// recorded (grad mode is on and an input requires grad), the write goes to a copy of x and
// the handle x is rebound to it, so what x's history saved stays unchanged; the old tensor is
// returned, for the recording op's input (x becomes the op's result). Views of x taken before
// then no longer see x. A leaf that requires grad is refused (RuntimeError, as in PyTorch).
// Undefined when nothing is to be recorded.
Tensor write_in_place(Tensor& x, const std::vector<Tensor>& inputs, const char* op,
                      const std::function<void(Tensor&)>& write);
// x[indices] = values (values broadcast, converted to x's dtype), or += with accumulate;
// recorded: x becomes the op's result, its history kept by the op's input
void index_put_(Tensor& x, const std::vector<Tensor>& indices, const Tensor& values,
                bool accumulate);
Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values,
                 bool accumulate);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // 0-d or 1-d index
Tensor nonzero(const Tensor& x);  // (count, x.dim()) int64 positions of the nonzero elements
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);  // broadcast, promoted
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);  // value 0-d
Tensor masked_select(const Tensor& x, const Tensor& mask);  // 1-d, in row-major order

// ---- matmul and linear (ops/matmul.cpp, ops/linear.cpp) ----
Tensor matmul(const Tensor& a, const Tensor& b);  // any rank, batch dimensions broadcast
Tensor mm(const Tensor& a, const Tensor& b);      // 2-D @ 2-D
Tensor bmm(const Tensor& a, const Tensor& b);     // (B, M, K) @ (B, K, N)
Tensor mv(const Tensor& a, const Tensor& v);      // 2-D @ 1-D
Tensor dot(const Tensor& a, const Tensor& b);     // 1-D . 1-D -> 0-d
Tensor outer(const Tensor& a, const Tensor& b);   // (M) x (N) -> (M, N)
Tensor inner(const Tensor& a, const Tensor& b);   // sums over both last dimensions
// beta * input + alpha * (a @ b), input broadcast to the product's shape
Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha);
Tensor baddbmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha);
Tensor addmv(const Tensor& input, const Tensor& a, const Tensor& v, double beta, double alpha);
// bias may be undefined; activation is "" (none) or "relu" (fused into the GEMM's epilogue)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const std::string& activation = "");
// out = op(a) @ op(b) (+ bias), or out += ... when `out` is given, then relu(out) if relu
// (the raw GEMM, for tests)
Tensor gemm(const Tensor& a, const Tensor& b, const Tensor& bias, bool trans_a, bool trans_b,
            Tensor out, bool relu = false);

// ---- activations (ops/activation.cpp) ----
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope);
Tensor gelu(const Tensor& x, const std::string& approximate);  // "none" | "tanh"
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);
// the parametrized activations of csrc/activation_list.h, params as each functor reads them
Tensor apply_activation(Activation op, const Tensor& x, const ActivationParams& params);
Tensor prelu(const Tensor& x, const Tensor& weight);  // weight: 1 value or 1 per channel
Tensor glu(const Tensor& x, int64_t dim);             // first half * sigmoid(second half)
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// ---- losses (ops/loss.cpp) ----
enum class Reduction { None, Mean, Sum };
Reduction parse_reduction(const std::string& reduction, const char* op);
// weight: (C) class weights, or undefined. Integer targets are class indices (ignore_index:
// a target that adds nothing), floating ones probabilities of the input's shape.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight,
                     int64_t ignore_index, Reduction reduction, double label_smoothing);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const Tensor& weight,
                int64_t ignore_index, Reduction reduction);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction);
// log_probs (T, N, C) or (T, C); targets padded (N, S) or concatenated; a length per sequence
Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets,
                const std::vector<int64_t>& input_lengths,
                const std::vector<int64_t>& target_lengths, int64_t blank, Reduction reduction,
                bool zero_infinity);
// weight, pos_weight: undefined, or broadcastable to the input's shape
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            Reduction reduction);
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const Tensor& weight, const Tensor& pos_weight,
                                        Reduction reduction);

// ---- dropout (ops/dropout.cpp) ----
Tensor dropout(const Tensor& x, double p, bool training);

// ---- sampling on the host from a Philox stream (ops/sampling.cpp): the values are the CPU's
// on every device ----
// int64 uniform on [low, low + span): span up to 2^64 - 1, so any int64 range fits
Tensor randint(int64_t low, uint64_t span, const Shape& shape, Device device, Generator* generator);
Tensor randperm(int64_t n, Device device, Generator* generator);  // int64
// probs (C) or (R, C), nonnegative weights per row -> (num_samples) or (R, num_samples) int64
Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement,
                   Generator* generator);
Tensor poisson(const Tensor& rates, Generator* generator);  // rates' dtype and device

// ---- optimizer steps (ops/optim.cpp): one fused, in-place update of a parameter group ----
// Undefined momentum buffers are created (starting as the gradient); returns the buffers.
std::vector<Tensor> sgd_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                             std::vector<Tensor> momentum_buffers, const SgdOptions& options);
// steps[i]: parameter i's step count including this step; max_exp_avg_sqs only for amsgrad.
void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
               const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<int64_t>& steps,
               const AdamOptions& options);
// The state buffers are updated in place; steps[i] as adam_step's. RMSprop reads
// momentum_buffers only with momentum > 0 and grad_avgs only when centered.
void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& square_avgs,
                  const std::vector<Tensor>& momentum_buffers, const std::vector<Tensor>& grad_avgs,
                  const RmspropOptions& options);
void adagrad_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& sums, const std::vector<int64_t>& steps,
                  const AdagradOptions& options);
void adadelta_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                   const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& acc_deltas,
                   const AdadeltaOptions& options);
void adamax_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                 const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_infs,
                 const std::vector<int64_t>& steps, const AdamaxOptions& options);
// mu_products: each parameter's product of momentum coefficients before this step; returns
// them with this step's included.
std::vector<double> nadam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                               const std::vector<Tensor>& exp_avgs,
                               const std::vector<Tensor>& exp_avg_sqs,
                               const std::vector<int64_t>& steps, std::vector<double> mu_products,
                               const NadamOptions& options);
void radam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                const std::vector<int64_t>& steps, const RadamOptions& options);

// ---- normalization (ops/norm.cpp); float32 and float64; weight, bias may be undefined ----
// over the trailing dims normalized_shape; weight and bias of that shape
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps);
// layer_norm without the mean: x / sqrt(mean(x^2) + eps) weight, the same kernels
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, double eps);
// x (N, C, *) over num_groups groups of C / num_groups channels; weight, bias (C)
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias,
                  double eps);
// x (N, C, *) per channel: by the batch's statistics when training (then running_mean and
// running_var, if defined, move by momentum towards its mean and unbiased variance, in place),
// else by the running ones
// relu: max(y, 0) fused into the normalization's map (conv-BN-ReLU blocks)
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps, bool relu = false);

// ---- autograd entry ----
// gradients: one per root, undefined for ones (a one-element root only)
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients,
              bool retain_graph);
// The gradients of the roots with respect to `inputs`, no .grad changed; undefined for an
// input the roots do not depend on (autograd.grad, and backward's inputs=, named by `op`)
std::vector<Tensor> grad(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients,
                         const std::vector<Tensor>& inputs, bool retain_graph,
                         const char* op = "grad");

// ---- kernels by device ----
// FG_LAUNCH(relu_forward, x.device(), y, x, n) runs cpu::relu_forward, or on a CUDA device
// cuda::relu_forward with that device current; a call, so overloads and templates resolve
// as in any call. FG_KERNELS(relu_forward) is the pair as a value, for ops that take kernels
// as arguments.
template <typename Fn>
struct DeviceKernel {
  Fn* cpu_kernel;
  Fn* cuda_kernel;  // null in a build without CUDA, where no tensor is on a GPU
  template <typename... Args>
  void operator()(Device device, Args&&... args) const {
    if (device.is_cuda()) {
      DeviceScope scope(device);
      return cuda_kernel(std::forward<Args>(args)...);
    }
    cpu_kernel(std::forward<Args>(args)...);
  }
};
#ifdef FORGEGRAD_WITH_CUDA
#define FG_ON_CUDA(call) call
#define FG_KERNELS(name) \
  ::fg::ops::DeviceKernel<decltype(::fg::cpu::name)> { ::fg::cpu::name, ::fg::cuda::name }
#else
// A CUDA-only statement: unreachable without CUDA, where no tensor is on a GPU.
#define FG_ON_CUDA(call) throw ::fg::RuntimeError("[cuda] this build has no CUDA kernels")
#define FG_KERNELS(name) \
  ::fg::ops::DeviceKernel<decltype(::fg::cpu::name)> { ::fg::cpu::name, nullptr }
#endif

#define FG_LAUNCH(name, device, ...)                                \
  do {                                                              \
    ::fg::Device fg_launch_device_ = (device);                      \
    if (fg_launch_device_.is_cuda()) {                              \
      ::fg::ops::DeviceScope fg_launch_scope_(fg_launch_device_);   \
      FG_ON_CUDA(::fg::cuda::name(__VA_ARGS__));                    \
    } else {                                                        \
      ::fg::cpu::name(__VA_ARGS__);                                 \
    }                                                               \
  } while (0)

// ---- float16 and bfloat16: storage types ----
// An op on them computes in float32 and rounds its result back once (as PyTorch's CPU ops
// do); other dtypes reach op unchanged. to_dtype is recorded, so gradients flow through.
template <typename Op>
Tensor with_float32_compute(const Tensor& x, Op&& op) {
  if (x.dtype() != DType::Float16 && x.dtype() != DType::BFloat16) return op(x);
  return to_dtype(op(to_dtype(x, DType::Float32)), x.dtype());
}
// An op whose values are real numbers (exp, log, sqrt, tanh, ...): integer and bool x become
// float32 first (PyTorch's result type), float16 and bfloat16 compute in float32.
template <typename Op>
Tensor floating_math(const Tensor& x, Op&& op) {
  if (!is_floating(x.dtype())) return op(to_dtype(x, DType::Float32));
  return with_float32_compute(x, op);
}

// An op returning (values, indices) picked from x, whose kernels take neither float16,
// bfloat16 nor bool: it runs on x as float32 (bool: uint8), exact for picking, and its values
// come back in x's dtype.
template <typename Op>
std::pair<Tensor, Tensor> selecting_in_wider_type(const Tensor& x, Op&& op) {
  DType t = x.dtype();
  if (t != DType::Float16 && t != DType::BFloat16 && t != DType::Bool) return op(x);
  auto [values, indices] = op(to_dtype(x, t == DType::Bool ? DType::UInt8 : DType::Float32));
  return {to_dtype(values, t), indices};
}
// values and indices (shaped alike, d kept) taken from x along d: records that each value's
// gradient goes back to x at its index (ops/sort.cpp)
void record_taken(Tensor& values, const char* op, const Tensor& x, const Tensor& indices,
                  int64_t d);

// ---- checks shared by the ops ----
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
// bias: undefined, or (n) of like's dtype and device
void check_bias(const Tensor& bias, const Tensor& like, int64_t n, const char* op);
// dst can be written: no two of its elements share memory (an expanded tensor's do)
void check_writable(const Tensor& dst, const char* op);
// True when the int64 values of `indices` are known to lie in [low, high] without reading them
// (a GPU tensor that to_device filled from the host, unchanged since): see Storage.
bool known_within(const Tensor& indices, int64_t low, int64_t high);

// ---- im2col / col2im (ops/im2col.cpp): F.unfold and F.fold on batched images ----
// input (N, C, H, W) -> (N, C kh kw, L); each size argument two values (h, w)
Tensor im2col(const Tensor& input, const Shape& kernel_size, const Shape& dilation,
              const Shape& padding, const Shape& stride);
// input (N, C kh kw, L) -> (N, C, output_size), overlapping entries summed
Tensor col2im(const Tensor& input, const Shape& output_size, const Shape& kernel_size,
              const Shape& dilation, const Shape& padding, const Shape& stride);
// ---- pooling over the last two dimensions of (N, C, H, W) (ops/pool.cpp) ----
// Sizes are (h, w) pairs, as the Python layer (nn/_pooling.py) gives them; op: the public
// op's name, for errors. The max ops return (values, indices: flat positions in each (H, W)).
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Shape& kernel_size, const Shape& stride,
                                     const Shape& padding, const Shape& dilation, bool ceil_mode,
                                     const std::string& op);
Tensor avg_pool2d(const Tensor& x, const Shape& kernel_size, const Shape& stride,
                  const Shape& padding, bool ceil_mode, bool count_include_pad,
                  std::optional<int64_t> divisor_override, const std::string& op);
Tensor adaptive_avg_pool2d(const Tensor& x, const Shape& output_size, const std::string& op);
std::pair<Tensor, Tensor> adaptive_max_pool2d(const Tensor& x, const Shape& output_size,
                                              const std::string& op);
// ---- depthwise conv2d (ops/depthwise.cpp) ----
// The sliding window of kernel (kh, kw) over (channels, height, width), checked as op's
// arguments (ops/im2col.cpp): positive kernel, dilation and stride, padding >= 0, at least
// one kernel position along each axis
Im2colGeometry sliding_geometry(const char* op, int64_t channels, int64_t height, int64_t width,
                                const Shape& kernel, const Shape& dilation, const Shape& padding,
                                const Shape& stride);
// input (N, C, H, W), weight (C m, 1, kh, kw), bias (C m) or undefined -> (N, C m, out_h,
// out_w); stride, padding (each side), dilation as (h, w); op: the public op's name, for errors
Tensor depthwise_conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const Shape& stride, const Shape& padding, const Shape& dilation,
                        const std::string& op);

// ---- interpolation of (N, C, H, W) to size (h, w) (ops/interpolate.cpp) ----
// scale_factor: the (h, w) factors the user gave, 0 where none (PyTorch maps coordinates by
// their inverse); mode: nearest, nearest-exact, bilinear or bicubic; op: the public op.
Tensor interpolate(const Tensor& x, const Shape& size, const std::vector<double>& scale_factor,
                   const std::string& mode, bool align_corners, const std::string& op);

// ---- conv2d (ops/conv.cpp): input (N, C, H, W), weight (O, C / groups, kh, kw), bias (O) or
// undefined; stride, padding (both sides), dilation as (h, w) ----
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Shape& stride,
              const Shape& padding, const Shape& dilation, int64_t groups);

// ---- attention (ops/attention.cpp) ----
// softmax(query key^T scale + attn_mask) value, PyTorch's F.scaled_dot_product_attention:
// query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); batch dimensions
// broadcast (with enable_gqa, key/value heads at dim -3 divide the query heads); attn_mask
// bool (true takes part) or additive, broadcastable to (..., L, S), gets no gradient; a row
// no key takes part in gives 0; scale undefined: 1 / sqrt(E)
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale, bool enable_gqa);
// ---- one recurrent layer in one direction (ops/rnn.cpp) ----
// input (T, B, I), hx (B, R), cx (B, H; LSTM only, else undefined), w_ih (G H, I),
// w_hh (G H, R), b_ih, b_hh (G H) or undefined, w_hr (R, H; LSTM's proj_size R) or undefined
// (R = H); mode: rnn_tanh, rnn_relu, lstm or gru; reverse: run from time T - 1 down to 0;
// lengths: int64 (B) on input's device or undefined, rows past their length keep their state
// and output 0 -> output (T, B, R), h_n (B, R), c_n (B, H; LSTM only, else undefined)
std::vector<Tensor> rnn_layer(const Tensor& input, const Tensor& hx, const Tensor& cx,
                              const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                              const Tensor& b_hh, const Tensor& w_hr, const std::string& mode,
                              bool reverse, const Tensor& lengths);

}  // namespace fg::ops
