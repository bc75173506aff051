// Error checks for CUDA runtime calls and kernel launches, for files that include the CUDA
// headers. A failure becomes a RuntimeError naming the call or kernel and CUDA's reason.
#pragma once
#include <cuda_runtime.h>

#include "core/error.h"

#define FG_CUDA_CHECK(call)                                                             \
  do {                                                                                  \
    cudaError_t fg_cuda_status_ = (call);                                               \
    FG_CHECK(fg_cuda_status_ == cudaSuccess, RuntimeError,                              \
             "[cuda] " << #call << " failed: " << cudaGetErrorString(fg_cuda_status_)); \
  } while (0)

// After a kernel launch: a bad configuration, or an error a previous kernel left behind.
#define FG_CUDA_CHECK_LAUNCH(kernel)                                                            \
  do {                                                                                          \
    cudaError_t fg_cuda_status_ = cudaGetLastError();                                           \
    FG_CHECK(fg_cuda_status_ == cudaSuccess, RuntimeError,                                      \
             "[cuda] kernel " << kernel << " failed: " << cudaGetErrorString(fg_cuda_status_)); \
  } while (0)
