// The CPU GEMM in double (cpu::gemm's double overload), as a shared library that
// bench/gemm.py builds and loads with ctypes to time it against numpy's float64 BLAS: forgegrad
// has no float64 tensors yet to reach it through _C.gemm. The kernels are compiled from the
// same sources with the same flags as the extension's, and pick their micro-kernel and thread
// count the same way (the detected ISA, or FORGEGRAD_ISA; OpenMP's default threads).
#include <cstdint>

#include "kernels.h"

extern "C" {

// A (M, K) or (K, M), B (K, N) or (N, K) -> C (M, N), host pointers
void fg_gemm_double(double* C, const double* A, const double* B, int trans_a, int trans_b,
                    int64_t M, int64_t N, int64_t K) {
  fg::cpu::gemm(C, A, B, nullptr, false, trans_a != 0, trans_b != 0, false, M, N, K);
}

}  // extern "C"
