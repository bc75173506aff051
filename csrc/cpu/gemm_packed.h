// The CPU GEMM on operands its caller packs, for callers that pack them better than the
// GEMM could: conv2d packs its weights once a call, and copies each B panel of its im2col
// straight from a zero-padded image right before the micro-kernels read it, with no columns
// matrix in between. Single-threaded: the caller splits the work.
//
// Layout, for the active micro-kernel (csrc/cpu/gemm.cpp): op(A) (M, K) is cut along K into
// depth blocks of `kc` (the last shorter), each stored as ceil(M / mr) panels (depth, mr),
// k-major, zero past M, one block after another. A depth block of op(B) (depth, N) is
// stored likewise as ceil(N / nr) panels (depth, nr): its row k, column n at
// n / nr * depth * nr + k * nr + n % nr, 64-byte aligned (the kernels' aligned loads).
#pragma once
#include <cstdint>

namespace fg::cpu {

struct GemmPanels {
  int64_t mr, nr, kc, K;
  int64_t depth(int64_t block_start) const { return block_start + kc <= K ? kc : K - block_start; }
  // elements of a packed A of M rows
  int64_t a_size(int64_t M) const { return (M + mr - 1) / mr * mr * K; }
};

// The panels of the active instruction set for a depth of K.
template <class T>
GemmPanels gemm_panels(int64_t K);

// A (M, K), row stride lda -> packed (a_size(M))
template <class T>
void gemm_pack_a(T* packed, const T* A, int64_t lda, const GemmPanels& panels, int64_t M);

// packed A (M, K), the packed depth block [start, start + depth(start)) of B (K, N) ->
// C (M, N), row stride ldc: C = A's columns of the block @ B's block, or C += it when
// accumulate or start > 0 (so that the blocks in turn, from 0, give the whole product)
template <class T>
void gemm_packed_block(T* C, const T* packed_a, const T* packed_b_block, bool accumulate,
                       const GemmPanels& panels, int64_t start, int64_t ldc, int64_t M, int64_t N);

}  // namespace fg::cpu
