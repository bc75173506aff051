// The float GEMM kernel of csrc/cuda/gemm_kernel.cuh with each tile of bench/gemm_tiles.h, as a
// shared library that bench/gemm_tiles.py loads with ctypes to time the tiles against cuBLAS
// in one process. Plain products (no epilogue, no split of K) in all four forms, on the
// default stream.
#include <cuda_runtime.h>

#include <cstdint>

#include "bench/gemm_tiles.h"
#include "cuda/gemm_kernel.cuh"

namespace {

using fg::cuda::Epilogue;
using fg::cuda::gemm_kernel_for;
using fg::cuda::GemmArgs;
using fg::cuda::kGemmThreads;
using fg::cuda::TileShape;

using Kernel = void (*)(GemmArgs<float>);

struct Entry {
  const char* name;
  Kernel (*kernel)(bool trans_a, bool trans_b);
  dim3 (*grid)(int64_t M, int64_t N, int64_t z);
};

#define FG_TILE_ENTRY(BM, BN, BK, BLOCKS, WARP_ROWS)                      \
  Entry{#BM "x" #BN "x" #BK "/" #BLOCKS "w" #WARP_ROWS,                   \
        gemm_kernel_for<float, TileShape<BM, BN, BK, BLOCKS, WARP_ROWS>>, \
        TileShape<BM, BN, BK, BLOCKS, WARP_ROWS>::grid},
const Entry kEntries[] = {FG_GEMM_TILES(FG_TILE_ENTRY)};
constexpr int kCount = sizeof kEntries / sizeof kEntries[0];

Kernel find(int tile, int trans_a, int trans_b) {
  return tile >= 0 && tile < kCount ? kEntries[tile].kernel(trans_a, trans_b) : nullptr;
}

}  // namespace

extern "C" {

int fg_tile_count() { return kCount; }

// "BMxBNxBK/blocks" and "w" the rows a warp spans, or null past the last tile
const char* fg_tile_name(int tile) {
  return tile >= 0 && tile < kCount ? kEntries[tile].name : nullptr;
}

// What the compiler made of the tile's kernel: registers and local memory (spills) a thread,
// and how many blocks fit a multiprocessor. Returns a cudaError_t (cudaErrorInvalidValue for
// an unknown tile).
int fg_tile_attributes(int tile, int trans_a, int trans_b, int* registers, int* local_bytes,
                       int* blocks_per_sm) {
  Kernel kernel = find(tile, trans_a, trans_b);
  if (!kernel) return cudaErrorInvalidValue;
  cudaFuncAttributes attributes;
  cudaError_t error = cudaFuncGetAttributes(&attributes, kernel);
  if (error != cudaSuccess) return error;
  *registers = attributes.numRegs;
  *local_bytes = static_cast<int>(attributes.localSizeBytes);
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks_per_sm, kernel, kGemmThreads, 0);
}

// A (M, K) or (K, M), B (K, N) or (N, K) -> C (M, N), device pointers, launched on the default
// stream. Returns the launch's cudaError_t.
int fg_tile_gemm(int tile, int trans_a, int trans_b, float* C, const float* A, const float* B,
                 int64_t M, int64_t N, int64_t K) {
  Kernel kernel = find(tile, trans_a, trans_b);
  if (!kernel || M <= 0 || N <= 0) return cudaErrorInvalidValue;
  GemmArgs<float> args{C, A, B, Epilogue<float>{nullptr, false, false}, nullptr, K, 0, 0, 0, 0,
                       M, N, K};
  kernel<<<kEntries[tile].grid(M, N, 1), kGemmThreads>>>(args);
  return cudaGetLastError();
}

}  // extern "C"
