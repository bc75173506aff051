// The kernel catalogue: every cpu:: (and later cuda::) kernel, with its shapes.
// Kernels take raw, contiguous, row-major buffers: outputs first, const inputs, sizes last.
// Gradients are named d<name>. The same name and argument order is used on every device.
#pragma once
#include <cstdint>

namespace fg::cpu {

// ---- GEMM (csrc/cpu/gemm*.cpp) --------------------------------------------------------
// C (M, N) = op(A) (M, K) @ op(B) (K, N)  [+ C if accumulate]  [+ bias (N) on every row]
// A is stored (M, K), or (K, M) when trans_a; B is stored (K, N), or (N, K) when trans_b.
// K == 0 gives C = bias (or 0, or C unchanged when accumulating). Multi-threaded (OpenMP);
// the micro-kernel is chosen from fg::active_isa().
void gemm(float* C, const float* A, const float* B, const float* bias, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K);

}  // namespace fg::cpu
