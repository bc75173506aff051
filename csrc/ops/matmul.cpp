// matmul (2-D and batched 3-D) and the raw GEMM entry used by tests and benchmarks.
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// C[i] (M, N) = op(A[i]) @ op(B[i]) for i < batch, strides in elements. A stride of 0 reuses
// one matrix for every i; an output stride of 0 sums the products into one matrix (one GEMM
// after another, each adding to C).
static void batched_gemm(Tensor C, const Tensor& A, const Tensor& B, bool trans_a,
                         bool trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                         int64_t stride_c, int64_t stride_a, int64_t stride_b) {
  if (stride_c > 0) {
    FG_LAUNCH(gemm_batched, C.device(), C.data<float>(), A.data<float>(), B.data<float>(), trans_a,
              trans_b, batch, stride_c, stride_a, stride_b, M, N, K);
    return;
  }
  for (int64_t i = 0; i < batch; ++i)
    FG_LAUNCH(gemm, C.device(), C.data<float>(), A.data<float>() + i * stride_a,
              B.data<float>() + i * stride_b, nullptr, false, trans_a, trans_b, i > 0, M, N, K);
  if (batch == 0) fill_(C, 0.0);
}

Tensor matmul(const Tensor& a_any, const Tensor& b_any) {
  Tensor a = contiguous(a_any), b = contiguous(b_any);
  check_float32(a, "matmul", "the first operand");
  check_float32(b, "matmul", "the second operand");
  check_same_device(a, b, "matmul");
  FG_CHECK(a.dim() >= 1 && a.dim() <= 3 && b.dim() >= 1 && b.dim() <= 3, ValueError,
           "[matmul] expected 1-D, 2-D or 3-D operands, got shapes " << a.shape() << " and "
                                                                     << b.shape());
  if (a.dim() == 1 || b.dim() == 1) {  // vectors: as a row / a column, then dropped again
    FG_CHECK(a.shape().back() == b.size(b.dim() == 1 ? 0 : -2), ValueError,
             "[matmul] inner dimensions differ: shapes " << a.shape() << " and " << b.shape());
    Tensor product = matmul(a.dim() == 1 ? reshape(a, {1, a.shape()[0]}) : a,
                            b.dim() == 1 ? reshape(b, {b.shape()[0], 1}) : b);
    Shape shape = product.shape();
    if (b.dim() == 1) shape.pop_back();
    if (a.dim() == 1) shape.erase(shape.end() - (b.dim() == 1 ? 1 : 2));
    return reshape(product, shape);
  }
  int64_t K = a.shape().back();
  FG_CHECK(b.size(-2) == K, ValueError,
           "[matmul] inner dimensions differ: shapes " << a.shape() << " and " << b.shape());
  if (a.dim() == 3 && b.dim() == 2) {  // one GEMM over all rows of the batch
    Tensor rows = matmul(reshape(a, {a.shape()[0] * a.shape()[1], K}), b);
    return reshape(rows, {a.shape()[0], a.shape()[1], b.shape()[1]});
  }
  FG_CHECK(a.dim() < 3 || b.dim() < 3 || a.shape()[0] == b.shape()[0], ValueError,
           "[matmul] batch sizes differ: shapes " << a.shape() << " and " << b.shape());
  int64_t batch = a.dim() == 3 ? a.shape()[0] : b.dim() == 3 ? b.shape()[0] : 1;
  int64_t M = a.size(-2), N = b.size(-1);
  bool batched = a.dim() == 3 || b.dim() == 3;
  Tensor out = empty(batched ? Shape{batch, M, N} : Shape{M, N}, DType::Float32, a.device());
  int64_t sa = a.dim() == 3 ? M * K : 0, sb = b.dim() == 3 ? K * N : 0;
  batched_gemm(out, a, b, false, false, batch, M, N, K, M * N, sa, sb);
  bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
  record(out, "matmul", {a, b},
         [a = a.detach(), b = b.detach(), grad_a, grad_b, batch, M, N, K, sa, sb](
             const Tensor& dout) {
           Tensor da, db;
           if (grad_a) {  // da = dout @ b^T
             da = empty(a.shape(), DType::Float32, a.device());
             batched_gemm(da, dout, b, false, true, batch, M, K, N, sa, M * N, sb);
           }
           if (grad_b) {  // db = a^T @ dout
             db = empty(b.shape(), DType::Float32, b.device());
             batched_gemm(db, a, dout, true, false, batch, K, N, M, sb, sa, M * N);
           }
           return std::vector<Tensor>{da, db};
         });
  return out;
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
    FG_CHECK(out.is_contiguous(), ValueError,
             "[gemm] expected a contiguous out (the GEMM adds into it), got strides "
                 << out.strides());
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
            bias.defined() ? bias.data<T>() : nullptr, relu, trans_a, trans_b, accumulate, M, N,
            K);
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
