// FG_HOST_DEVICE marks a function that both the CPU kernels and the CUDA kernels call, so
// that one definition serves both devices.
#pragma once

#if defined(__CUDACC__)
#define FG_HOST_DEVICE __host__ __device__
#else
#define FG_HOST_DEVICE
#endif
