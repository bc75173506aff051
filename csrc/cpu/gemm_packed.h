// The CPU GEMM's packed operands, for callers that build them once and reuse them (conv2d
// packs its weights once a call, and writes its im2col tiles straight into the B layout
// instead of a columns matrix that the GEMM would copy again). Single-threaded: the caller
// splits the work.
//
// Layout, for the active micro-kernel (csrc/cpu/gemm.cpp): op(A) (M, K) is cut along K into
// depth blocks of `kc` (the last shorter), each stored as ceil(M / mr) panels (depth, mr),
// k-major, zero past M, one block after another. A depth block of op(B) (depth, N) is
// stored likewise as ceil(N / nr) panels (depth, nr): its row k, column n at
// n / nr * depth * nr + k * nr + n % nr. The caller packs B one depth block at a time, so
// that the block is still in cache when the GEMM reads it.
#pragma once
#include <cstdint>

namespace fg::cpu {

struct GemmPanels {
  int64_t mr, nr, kc, K;
  int64_t depth(int64_t block_start) const {
    return block_start + kc <= K ? kc : K - block_start;
  }
  // Elements of a packed operand of `lanes` rows of A (lane = mr) or columns of B (nr).
  static int64_t padded(int64_t lanes, int64_t width) { return (lanes + width - 1) / width * width; }
  int64_t a_size(int64_t M) const { return padded(M, mr) * K; }
};

// The panels of the active instruction set for a depth of K.
template <class T>
GemmPanels gemm_panels(int64_t K);

// A (M, K) with row stride lda, or (K, M) with row stride lda if trans_a -> packed (a_size(M))
template <class T>
void gemm_pack_a(T* packed, const T* A, bool trans_a, int64_t lda, const GemmPanels& panels,
                 int64_t M);

// packed A (M, K), the packed depth block [start, start + depth(start)) of B (K, N) ->
// C (M, N), row stride ldc: C = A's columns of the block @ B's block, or C += it when
// accumulate or start > 0 (so that the blocks in turn, from 0, give the whole product)
template <class T>
void gemm_packed_block(T* C, const T* packed_a, const T* packed_b_block, bool accumulate,
                       const GemmPanels& panels, int64_t start, int64_t ldc, int64_t M,
                       int64_t N);

}  // namespace fg::cpu
