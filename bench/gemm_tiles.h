// The SGEMM tiles that bench/gemm_tiles.py times against cuBLAS on a GPU, and that
// tests/cuda_emulation/gemm_emulation.cpp checks on emulated threads: gemm.cu's two
// (LargeTile, SmallTile) and candidates beside them. Each entry is
// X(BM, BN, BK, blocks a multiprocessor, rows of the thread grid a warp spans); see TileShape
// in csrc/cuda/gemm_kernel.cuh.
#pragma once

#define FG_GEMM_TILES(X)                                                                   \
  X(128, 128, 8, 2, 2)  /* LargeTile */                                                    \
  X(64, 64, 16, 2, 2)   /* SmallTile */                                                    \
  X(128, 128, 8, 2, 4)  /* warps of 4 x 8 threads: one shared-memory pass for B a depth */ \
  X(128, 128, 16, 2, 2) /* half the barriers a depth */                                    \
  X(128, 64, 16, 2, 2)  /* narrower tiles: more blocks, 32 outputs a thread */             \
  X(64, 128, 16, 2, 2)                                                                     \
  X(256, 128, 8, 1, 2) /* 128 outputs a thread: fewer shared-memory reads an FMA */        \
  X(256, 128, 8, 1, 4)                                                                     \
  X(128, 256, 8, 1, 2)
