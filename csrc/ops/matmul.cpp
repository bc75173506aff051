// Matrix products: matmul of any rank (batch dimensions broadcast; transposed views reach the
// GEMM as its trans flags), the named forms (mm, bmm, mv, dot, outer, inner, addmm, ...) and
// the raw GEMM entry used by tests and benchmarks.
#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// How the last two dimensions of an operand reach the GEMM: as stored (row-major), or as the
// transpose of a row-major matrix (a .mT view: the GEMM's trans flag); anything else is copied.
enum class MatrixLayout { RowMajor, Transposed, Other };

static MatrixLayout matrix_layout(const Tensor& x) {
  int64_t rows = x.size(-2), cols = x.size(-1);
  int64_t row_stride = x.strides()[x.dim() - 2], col_stride = x.strides()[x.dim() - 1];
  if ((cols == 1 || col_stride == 1) && (rows == 1 || row_stride == cols))
    return MatrixLayout::RowMajor;
  if ((rows == 1 || row_stride == 1) && (cols == 1 || col_stride == rows))
    return MatrixLayout::Transposed;
  return MatrixLayout::Other;
}

// x's strides over the batch dimensions `batch` (right-aligned; 0 where x is broadcast).
static Shape batch_strides(const Tensor& x, const Shape& batch) {
  Shape strides(batch.size(), 0);
  int64_t x_batch = x.dim() - 2;
  for (int64_t k = 0; k < x_batch; ++k) {
    size_t o = batch.size() - 1 - k, i = x_batch - 1 - k;
    strides[o] = x.shape()[i] == 1 ? 0 : x.strides()[i];
  }
  return strides;
}

// C[i] = op(A[i]) @ op(B[i]) for every index i of `batch`, each operand at its own batch
// strides (0: one matrix for all). Dimensions that all three step through alike are merged, so
// the usual cases are one batched GEMM; the rest loop over the outer dimensions.
template <class T>
static void gemm_over_batch(Device device, T* C, const T* A, const T* B, bool trans_a, bool trans_b,
                            Shape batch, Shape stride_c, Shape stride_a, Shape stride_b, int64_t M,
                            int64_t N, int64_t K) {
  Shape shape = merge_dims(batch, {&stride_c, &stride_a, &stride_b});
  if (shape.empty()) {
    FG_LAUNCH(gemm, device, C, A, B, nullptr, false, trans_a, trans_b, false, M, N, K);
    return;
  }
  int64_t outer = shape_numel(Shape(shape.begin(), shape.end() - 1), "matmul");
  for (int64_t o = 0; o < outer; ++o) {
    int64_t offset_c = 0, offset_a = 0, offset_b = 0;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 2, rest = o; d >= 0; --d) {
      int64_t i = rest % shape[d];
      rest /= shape[d];
      offset_c += i * stride_c[d];
      offset_a += i * stride_a[d];
      offset_b += i * stride_b[d];
    }
    FG_LAUNCH(gemm_batched, device, C + offset_c, A + offset_a, B + offset_b, trans_a, trans_b,
              shape.back(), stride_c.back(), stride_a.back(), stride_b.back(), M, N, K);
  }
}

// The rows of x's leading dimensions (all but the last) as one (rows, cols) row-major matrix,
// when its strides allow: a (B, T, K) contiguous tensor against a 2-D b is one GEMM.
static bool rows_merge(const Tensor& x) {
  Shape lead(x.shape().begin(), x.shape().end() - 1);
  Shape strides(x.strides().begin(), x.strides().end() - 1);
  Shape merged = merge_dims(lead, {&strides});
  return (x.size(-1) == 1 || x.strides().back() == 1) &&
         (merged.empty() || (merged.size() == 1 && strides[0] == x.size(-1)));
}

// matmul of operands with at least two dimensions each, the batch dimensions broadcast.
static Tensor matmul_matrices(const Tensor& a_any, const Tensor& b_any) {
  int64_t M = a_any.size(-2), K = a_any.size(-1), N = b_any.size(-1);
  FG_CHECK(b_any.size(-2) == K, ValueError,
           "[matmul] inner dimensions differ: shapes " << a_any.shape() << " and " << b_any.shape()
                                                       << " (" << K << " != " << b_any.size(-2)
                                                       << ")");
  Shape batch;
  try {
    batch = broadcast_shapes(Shape(a_any.shape().begin(), a_any.shape().end() - 2),
                             Shape(b_any.shape().begin(), b_any.shape().end() - 2), "matmul");
  } catch (const ValueError&) {  // the message names the whole shapes, not just their batches
    FG_CHECK(false, ValueError,
             "[matmul] the batch dimensions of shapes " << a_any.shape() << " and " << b_any.shape()
                                                        << " cannot be broadcast together");
  }
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = empty(out_shape, a_any.dtype(), a_any.device());
  if (out.numel() > 0) {
    Tensor a = matrix_layout(a_any) == MatrixLayout::Other ? contiguous(a_any.detach()) : a_any;
    Tensor b = matrix_layout(b_any) == MatrixLayout::Other ? contiguous(b_any.detach()) : b_any;
    bool trans_a = matrix_layout(a) == MatrixLayout::Transposed;
    bool trans_b = matrix_layout(b) == MatrixLayout::Transposed;
    dispatch_floating(a.dtype(), "matmul", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* C = out.data<T>();
      const T* A = static_cast<const T*>(a.strided_data());
      const T* B = static_cast<const T*>(b.strided_data());
      if (b.dim() == 2 && !trans_a && rows_merge(a)) {  // every row of a against one b
        FG_LAUNCH(gemm, out.device(), C, A, B, nullptr, false, false, trans_b, false,
                  out.numel() / N, N, K);
        return;
      }
      Shape stride_c(batch.size());
      for (int64_t d = static_cast<int64_t>(batch.size()) - 1, step = M * N; d >= 0; --d) {
        stride_c[d] = step;
        step *= batch[d];
      }
      gemm_over_batch(out.device(), C, A, B, trans_a, trans_b, batch, stride_c,
                      batch_strides(a, batch), batch_strides(b, batch), M, N, K);
    });
  }
  bool grad_a = a_any.requires_grad(), grad_b = b_any.requires_grad();
  record(out, "matmul", {a_any, b_any},
         [a = a_any.detach(), b = b_any.detach(), grad_a, grad_b](const Tensor& dout) {
           Tensor da, db;
           // Transposes are views the GEMM takes as flags; broadcast batches are summed back.
           if (grad_a) da = sum_to(matmul(dout, matrix_transpose(b)), a.shape());
           if (grad_b && b.dim() == 2 && a.dim() > 2) {  // one GEMM over all rows of the batch
             int64_t rows = shape_numel(Shape(a.shape().begin(), a.shape().end() - 1));
             db = matmul(matrix_transpose(reshape(a, {rows, a.size(-1)})),
                         reshape(dout, {rows, dout.size(-1)}));
           } else if (grad_b) {
             db = sum_to(matmul(matrix_transpose(a), dout), b.shape());
           }
           return std::vector<Tensor>{da, db};
         });
  return out;
}

static void check_matmul_operands(const Tensor& a, const Tensor& b, const char* op) {
  check_same_device(a, b, op);
  FG_CHECK(a.dtype() == b.dtype(), TypeError,
           "[" << op << "] expected both operands to have the same dtype, got "
               << dtype_name(a.dtype()) << " and " << dtype_name(b.dtype()));
  FG_CHECK(a.dim() >= 1 && b.dim() >= 1, ValueError,
           "[" << op << "] expected operands of at least one dimension, got shapes " << a.shape()
               << " and " << b.shape());
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_matmul_operands(a, b, "matmul");
  if (a.dtype() == DType::Float16 || a.dtype() == DType::BFloat16)
    return to_dtype(matmul(to_dtype(a, DType::Float32), to_dtype(b, DType::Float32)), a.dtype());
  dispatch_floating(a.dtype(), "matmul", [](auto) {});
  // A vector is a row (on the left) or a column (on the right), dropped from the result.
  Tensor product =
      matmul_matrices(a.dim() == 1 ? unsqueeze(a, 0) : a, b.dim() == 1 ? unsqueeze(b, -1) : b);
  if (b.dim() == 1) product = squeeze(product, std::vector<int64_t>{-1});
  if (a.dim() == 1) product = squeeze(product, std::vector<int64_t>{b.dim() == 1 ? -1 : -2});
  return product;
}

static void check_dims(const Tensor& x, int64_t dims, const char* op, const char* name) {
  FG_CHECK(
      x.dim() == dims, ValueError,
      "[" << op << "] expected " << name << " to be " << dims << "-D, got shape " << x.shape());
}

Tensor mm(const Tensor& a, const Tensor& b) {
  check_dims(a, 2, "mm", "the first operand");
  check_dims(b, 2, "mm", "the second operand");
  FG_CHECK(a.size(1) == b.size(0), ValueError,
           "[mm] shapes " << a.shape() << " and " << b.shape() << " cannot be multiplied");
  return matmul(a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_dims(a, 3, "bmm", "the first operand");
  check_dims(b, 3, "bmm", "the second operand");
  FG_CHECK(a.size(0) == b.size(0), ValueError,
           "[bmm] expected equal batch sizes, got shapes " << a.shape() << " and " << b.shape());
  FG_CHECK(a.size(2) == b.size(1), ValueError,
           "[bmm] shapes " << a.shape() << " and " << b.shape() << " cannot be multiplied");
  return matmul(a, b);
}

Tensor mv(const Tensor& a, const Tensor& v) {
  check_dims(a, 2, "mv", "the matrix");
  check_dims(v, 1, "mv", "the vector");
  FG_CHECK(a.size(1) == v.size(0), ValueError,
           "[mv] shapes " << a.shape() << " and " << v.shape() << " cannot be multiplied");
  return matmul(a, v);
}

Tensor dot(const Tensor& a, const Tensor& b) {
  check_dims(a, 1, "dot", "the first operand");
  check_dims(b, 1, "dot", "the second operand");
  FG_CHECK(a.size(0) == b.size(0), ValueError,
           "[dot] expected vectors of the same length, got shapes " << a.shape() << " and "
                                                                    << b.shape());
  return matmul(a, b);
}

Tensor outer(const Tensor& a, const Tensor& b) {
  check_dims(a, 1, "outer", "the first operand");
  check_dims(b, 1, "outer", "the second operand");
  return matmul(unsqueeze(a, 1), unsqueeze(b, 0));  // a GEMM with K = 1
}

// Sums over the last dimension of both: a (..., K), b (..., K) -> a's leading + b's leading.
Tensor inner(const Tensor& a, const Tensor& b) {
  if (a.dim() == 0 || b.dim() == 0) return mul(a, b);
  FG_CHECK(
      a.size(-1) == b.size(-1), ValueError,
      "[inner] expected equal last dimensions, got shapes " << a.shape() << " and " << b.shape());
  Shape out_shape(a.shape().begin(), a.shape().end() - 1);
  out_shape.insert(out_shape.end(), b.shape().begin(), b.shape().end() - 1);
  int64_t K = a.size(-1);
  auto rows = [K](const Tensor& x) {  // (..., K) as (rows, K), also when K is 0
    return reshape(x, {shape_numel(Shape(x.shape().begin(), x.shape().end() - 1)), K});
  };
  return reshape(matmul(rows(a), matrix_transpose(rows(b))), out_shape);
}

// beta * input + alpha * product, PyTorch's rule for the add*-products: beta = 0 ignores input
// (its NaNs too), and factors of 1 cost nothing.
static Tensor scaled_sum(const Tensor& input, const Tensor& product, double beta, double alpha,
                         const char* op) {
  check_same_device(input, product, op);
  FG_CHECK(input.dtype() == product.dtype(), TypeError,
           "[" << op << "] expected input of the operands' dtype " << dtype_name(product.dtype())
               << ", got " << dtype_name(input.dtype()));
  FG_CHECK(broadcastable_to(input.shape(), product.shape()), ValueError,
           "[" << op << "] expected input broadcastable to " << product.shape() << ", got "
               << input.shape());
  auto scaled = [](const Tensor& x, double factor) {
    return factor == 1 ? x : mul(x, scalar_tensor(factor, x.dtype(), x.device()));
  };
  if (beta == 0) return scaled(product, alpha);
  return add(scaled(input, beta), scaled(product, alpha));
}

Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
  return scaled_sum(input, mm(a, b), beta, alpha, "addmm");
}

Tensor baddbmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
  return scaled_sum(input, bmm(a, b), beta, alpha, "baddbmm");
}

Tensor addmv(const Tensor& input, const Tensor& a, const Tensor& v, double beta, double alpha) {
  return scaled_sum(input, mv(a, v), beta, alpha, "addmv");
}

// x must have a's dtype: the GEMM does not promote.
static void check_dtype_like_a(const Tensor& x, const Tensor& a, const char* name) {
  FG_CHECK(x.dtype() == a.dtype(), TypeError,
           "[gemm] expected " << name << " of a's dtype " << dtype_name(a.dtype()) << ", got "
                              << dtype_name(x.dtype()));
}

// gemm in the element type T of a, b, bias and out.
template <class T>
static Tensor gemm_in(const Tensor& a_any, const Tensor& b_any, const Tensor& bias_any,
                      bool trans_a, bool trans_b, Tensor out, bool relu) {
  Tensor a = contiguous(a_any), b = contiguous(b_any);
  Tensor bias = bias_any.defined() ? contiguous(bias_any) : bias_any;
  check_dtype_like_a(b, a, "b");
  check_same_device(a, b, "gemm");
  FG_CHECK(a.dim() == 2 && b.dim() == 2, ValueError,
           "[gemm] expected 2-D operands, got shapes " << a.shape() << " and " << b.shape());
  int64_t M = a.shape()[trans_a], K = a.shape()[!trans_a];
  int64_t N = b.shape()[!trans_b];
  FG_CHECK(b.shape()[trans_b] == K, ValueError,
           "[gemm] inner dimensions differ: op(a) is (" << M << ", " << K << "), op(b) is ("
                                                        << b.shape()[trans_b] << ", " << N << ")");
  if (bias.defined()) {
    check_dtype_like_a(bias, a, "bias");
    check_same_device(a, bias, "gemm");
    FG_CHECK(bias.shape() == Shape{N}, ValueError,
             "[gemm] expected bias of shape (" << N << ",), got " << bias.shape());
  }
  bool accumulate = out.defined();
  if (accumulate) {
    check_dtype_like_a(out, a, "out");
    check_same_device(a, out, "gemm");
    FG_CHECK(out.shape() == (Shape{M, N}), ValueError,
             "[gemm] expected out of shape (" << M << ", " << N << "), got " << out.shape());
    FG_CHECK(
        out.is_contiguous(), ValueError,
        "[gemm] expected a contiguous out (the GEMM adds into it), got strides " << out.strides());
    // The kernel reads a and b while it writes out: they must not share memory.
    FG_CHECK(out.storage() != a.storage() && out.storage() != b.storage() &&
                 (!bias.defined() || out.storage() != bias.storage()),
             ValueError, "[gemm] out must not share memory with a, b or bias");
    FG_CHECK(!(grad_enabled() && out.requires_grad()), RuntimeError,
             "[gemm] out requires grad and would be written in place while gradients are "
             "recorded; wrap the call in forgegrad.no_grad()");
    out.storage()->bump_version();
  } else {
    out = empty({M, N}, a.dtype(), a.device());
  }
  FG_LAUNCH(gemm, out.device(), out.data<T>(), a.data<T>(), b.data<T>(),
            bias.defined() ? bias.data<T>() : nullptr, relu, trans_a, trans_b, accumulate, M, N, K);
  return out;
}

// The kernel is chosen by a's dtype; b, bias and out must share it.
Tensor gemm(const Tensor& a, const Tensor& b, const Tensor& bias, bool trans_a, bool trans_b,
            Tensor out, bool relu) {
  switch (a.dtype()) {
    case DType::Float32: return gemm_in<float>(a, b, bias, trans_a, trans_b, out, relu);
    case DType::Float64: return gemm_in<double>(a, b, bias, trans_a, trans_b, out, relu);
    default:
      throw TypeError(std::string("[gemm] expected a to be float32 or float64, got ") +
                      dtype_name(a.dtype()));
  }
}

}  // namespace fg::ops
