// Just enough of CUDA, on the host, to compile forgegrad's CUDA code as C++ and run it: it
// stands in for <cuda_runtime.h> on the include path, for the kernel checks of
// tests/test_cuda_emulation.py and for the FORGEGRAD_CUDA=EMULATE build of the package.
// Every thread of a block is a host thread; __syncthreads is a barrier among them and
// __shfl_xor_sync an exchange among a warp's 32; the blocks of a grid run one after another,
// so a __shared__ array (a static here) belongs to the block that runs. The scheduler
// interleaves the threads freely between barriers (and warps dawdle), so a missing barrier
// can show as a wrong result. Kernels launch through FG_LAUNCH_KERNEL (csrc/cuda/launch.cuh),
// defined here to run them at once; the runtime API's device is host memory.
#pragma once
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

struct float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
using std::fmaf;
using std::max;
using std::min;
using std::signbit;

struct dim3 {
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
  unsigned x, y, z;
};
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

// The runtime API forgegrad calls, over host memory: one emulated device, cuda:0, whose
// memory is malloc's and whose copies are memcpy; every launch and copy has finished when it
// returns, so streams and events have nothing to order.
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost,
  cudaMemcpyHostToDevice,
  cudaMemcpyDeviceToHost,
  cudaMemcpyDeviceToDevice
};
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
using cudaStream_t = struct CUstream_st*;
using cudaEvent_t = struct CUevent_st*;
#define cudaStreamLegacy (reinterpret_cast<cudaStream_t>(1))
constexpr unsigned cudaEventDisableTiming = 2;
struct cudaDeviceProp {
  char name[256];
};

namespace emulation {
inline thread_local int current_device = 0;
inline thread_local cudaError_t last_error = cudaSuccess;
inline cudaError_t fail(cudaError_t error) { return last_error = error; }
// Few multiprocessors, so that small products take the GEMM's small tiles and split K.
constexpr int kMultiprocessors = 8;
}  // namespace emulation

inline cudaError_t cudaGetLastError() {
  cudaError_t error = emulation::last_error;
  emulation::last_error = cudaSuccess;
  return error;
}
inline const char* cudaGetErrorString(cudaError_t error) {
  return error == cudaSuccess                     ? "no error"
         : error == cudaErrorMemoryAllocation     ? "out of memory"
         : error == cudaErrorInvalidConfiguration ? "invalid configuration argument"
                                                  : "invalid device ordinal";
}
inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* device) {
  *device = emulation::current_device;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int device) {
  if (device != 0) return emulation::fail(cudaErrorInvalidDevice);
  emulation::current_device = device;
  return cudaSuccess;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return emulation::fail(cudaErrorInvalidDevice);
  std::snprintf(prop->name, sizeof prop->name, "forgegrad's emulated GPU (host threads)");
  return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr, int) {
  *value = emulation::kMultiprocessors;
  return cudaSuccess;
}
namespace emulation {

// Device memory is pages of its own that only kernels and copies may touch: outside them
// they are inaccessible, so host code that reads or writes through a GPU pointer faults, as
// it would with a GPU. Launches, copies, allocations and frees take turns.
inline std::mutex device_activity;
inline std::map<void*, size_t> device_blocks;  // start -> bytes

inline void expose_device_memory(bool accessible) {
  for (const auto& [start, nbytes] : device_blocks)
    mprotect(start, nbytes, accessible ? PROT_READ | PROT_WRITE : PROT_NONE);
}

// For its lifetime: this thread alone uses the device, and its memory is accessible.
struct DeviceAccess {
  std::lock_guard<std::mutex> lock{device_activity};
  DeviceAccess() { expose_device_memory(true); }
  ~DeviceAccess() { expose_device_memory(false); }
};

}  // namespace emulation

inline cudaError_t cudaMalloc(void** ptr, size_t nbytes) {
  size_t pages = (std::max<size_t>(nbytes, 1) + 4095) / 4096 * 4096;
  // Mapped writable first, so that the kernel refuses what it could not provide.
  void* start = mmap(nullptr, pages, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (start == MAP_FAILED) return emulation::fail(cudaErrorMemoryAllocation);
  std::lock_guard<std::mutex> lock(emulation::device_activity);
  mprotect(start, pages, PROT_NONE);
  emulation::device_blocks[start] = pages;
  *ptr = start;
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* ptr) {
  std::lock_guard<std::mutex> lock(emulation::device_activity);
  auto block = emulation::device_blocks.find(ptr);
  if (block != emulation::device_blocks.end()) {
    munmap(block->first, block->second);
    emulation::device_blocks.erase(block);
  }
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t nbytes, cudaMemcpyKind) {
  emulation::DeviceAccess access;
  std::memcpy(dst, src, nbytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyPeer(void* dst, int, const void* src, int, size_t nbytes) {
  return cudaMemcpy(dst, src, nbytes, cudaMemcpyDeviceToDevice);
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
  *event = reinterpret_cast<cudaEvent_t>(new char);
  return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete reinterpret_cast<char*>(event);
  return cudaSuccess;
}

namespace emulation {

inline std::barrier<>* block_barrier = nullptr;
inline std::vector<std::unique_ptr<std::barrier<>>> warp_barriers;
inline uint64_t warp_slots[32][32];  // [warp][lane]: what each lane offers an exchange

// Runs kernel() as the grid's blocks of block.x threads (1-D blocks), block after block:
// block.x host threads take each block in turn, and all finish one before any starts the
// next (so a __shared__ static belongs to one block at a time).
inline void launch(dim3 grid, dim3 block, const std::function<void()>& kernel) {
  // What a GPU refuses: an empty grid or block, more than 1024 threads a block, a grid past
  // 2^31 - 1 blocks along x or 65535 along y or z. The error waits for cudaGetLastError.
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y * block.z != 1 ||
      block.x > 1024 || grid.x > 0x7FFFFFFFu || grid.y > 65535 || grid.z > 65535) {
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  DeviceAccess access;  // launches from several host threads queue, as on a stream
  gridDim = grid, blockDim = block;
  std::barrier<> barrier(block.x), block_done(block.x);
  block_barrier = &barrier;
  warp_barriers.clear();
  for (unsigned w = 0; w < block.x / 32; ++w)
    warp_barriers.push_back(std::make_unique<std::barrier<>>(32));
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < block.x; ++t)
    threads.emplace_back([&, t] {
      threadIdx = dim3(t);
      for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
          for (unsigned x = 0; x < grid.x; ++x) {
            blockIdx = dim3(x, y, z);
            kernel();
            block_done.arrive_and_wait();
          }
    });
  for (std::thread& thread : threads) thread.join();
}

}  // namespace emulation

// After half the barriers, picked at random, one warp runs ahead into the next phase while
// the others dawdle, so that a race the barriers leave open (a write of the next phase
// before a read of this one) is likely to show.
#ifndef FG_EMULATION_JITTER
#define FG_EMULATION_JITTER 1
#endif
inline void __syncthreads() {
  emulation::block_barrier->arrive_and_wait();
  if (!FG_EMULATION_JITTER) return;
  thread_local unsigned phase = 0;  // the same count in every thread of the block
  unsigned pick = std::minstd_rand(++phase * 7919u + blockIdx.x * 31u + blockIdx.y)() %
                  (2 * std::max(1u, blockDim.x / 32));
  if (pick < blockDim.x / 32 && pick != threadIdx.x / 32)
    std::this_thread::sleep_for(std::chrono::microseconds(2000));
}

// Lane i gets the value of lane i ^ offset; every lane of the warp must take part.
template <typename T>
T __shfl_xor_sync(unsigned, T value, int offset) {
  static_assert(sizeof(T) <= sizeof(uint64_t));
  unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  std::memcpy(&emulation::warp_slots[warp][lane], &value, sizeof(T));
  emulation::warp_barriers[warp]->arrive_and_wait();
  T other;
  std::memcpy(&other, &emulation::warp_slots[warp][lane ^ offset], sizeof(T));
  emulation::warp_barriers[warp]->arrive_and_wait();  // all read before the next exchange
  return other;
}

template <typename T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}

#define FG_LAUNCH_KERNEL(kernel, grid, block, ...) \
  ::emulation::launch(dim3(grid), dim3(block), [&] { kernel(__VA_ARGS__); })
