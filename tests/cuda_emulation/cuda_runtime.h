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
#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <semaphore>
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

// Addresses [first, last): the device memory a kernel or a copy may touch.
struct Span {
  const char* first;
  const char* last;
};
inline Span all_device_memory() { return {nullptr, reinterpret_cast<const char*>(UINTPTR_MAX)}; }
inline Span bytes_at(const void* start, size_t nbytes) {
  return {static_cast<const char*>(start), static_cast<const char*>(start) + nbytes};
}

// Protects the device blocks that overlap `span` with `protection`, one mprotect for each run
// of adjacent blocks (mmap tends to place them side by side): a call per block, for the
// hundreds that the caching allocator keeps, cost milliseconds a launch.
inline void protect_device_memory(Span span, int protection) {
  auto block = device_blocks.upper_bound(const_cast<char*>(span.first));
  if (block != device_blocks.begin()) --block;  // the one that may hold span.first
  char *run_start = nullptr, *run_end = nullptr;
  for (; block != device_blocks.end() && static_cast<char*>(block->first) < span.last; ++block) {
    char* start = static_cast<char*>(block->first);
    if (start + block->second <= span.first) continue;
    if (start != run_end) {
      if (run_start) mprotect(run_start, run_end - run_start, protection);
      run_start = start;
    }
    run_end = start + block->second;
  }
  if (run_start) mprotect(run_start, run_end - run_start, protection);
}

// For its lifetime: this thread alone uses the device, and the device memory in `spans` is
// accessible (all of it, for a kernel; a copy's source and destination, for a copy).
struct DeviceAccess {
  std::lock_guard<std::mutex> lock{device_activity};
  Span spans[2];
  explicit DeviceAccess(Span first, Span second = {}) : spans{first, second} {
    for (Span span : spans) protect_device_memory(span, PROT_READ | PROT_WRITE);
  }
  ~DeviceAccess() {
    for (Span span : spans) protect_device_memory(span, PROT_NONE);
  }
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
  emulation::DeviceAccess access(emulation::bytes_at(dst, nbytes), emulation::bytes_at(src, nbytes));
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
inline thread_local unsigned barrier_phase = 0;  // __syncthreads passed in this launch

// The jitter of __syncthreads: the threads of the warp sent ahead count themselves in when
// they reach their next barrier or their block's end; the other warps wait for the count.
inline std::mutex ahead_mutex;
inline std::condition_variable warp_ahead_arrived;
inline unsigned ahead_arrivals = 0;              // in this launch
inline thread_local unsigned warps_sent_ahead = 0;  // in this launch
inline thread_local bool running_ahead = false;
inline void stop_running_ahead() {
  if (!running_ahead) return;
  running_ahead = false;
  std::lock_guard<std::mutex> lock(ahead_mutex);
  if (++ahead_arrivals % 32 == 0) warp_ahead_arrived.notify_all();
}
inline void wait_for_warp_ahead() {
  std::unique_lock<std::mutex> lock(ahead_mutex);
  warp_ahead_arrived.wait_for(lock, std::chrono::milliseconds(2),
                              [] { return ahead_arrivals >= 32 * warps_sent_ahead; });
}

// The host threads that play a block's threads: worker t is threadIdx.x == t in every launch.
// They outlive launches (creating a block's threads for each launch cost more than most
// kernels), are created when a launch first needs them, up to 1024, and are never joined or
// destroyed: between launches they sleep, and the process's exit ends them.
class Workers {
 public:
  // Runs body() on workers 0 .. count - 1 at once; returns when all have finished.
  void run(unsigned count, const std::function<void()>& body) {
    while (starts_.size() < count) {
      starts_.push_back(std::make_unique<std::binary_semaphore>(0));
      std::thread(&Workers::serve, this, unsigned(starts_.size() - 1), starts_.back().get())
          .detach();
    }
    body_ = &body;
    unfinished_.store(count);
    for (unsigned t = 0; t < count; ++t) starts_[t]->release();
    finished_.acquire();
  }

 private:
  void serve(unsigned t, std::binary_semaphore* start) {
    threadIdx = dim3(t);
    for (;;) {
      start->acquire();
      (*body_)();
      if (unfinished_.fetch_sub(1) == 1) finished_.release();
    }
  }
  std::vector<std::unique_ptr<std::binary_semaphore>> starts_;  // [t]: worker t's go
  const std::function<void()>* body_ = nullptr;
  std::atomic<unsigned> unfinished_{0};
  std::binary_semaphore finished_{0};
};

// Created on the first launch, never destroyed (detached workers use it). A child of fork()
// has none of the parent's threads, so it starts a pool of its own.
inline Workers* workers = nullptr;
inline Workers& block_workers() {
  if (!workers) {
    static bool once = (pthread_atfork(nullptr, nullptr, [] { workers = nullptr; }), true);
    (void)once;
    workers = new Workers;
  }
  return *workers;
}

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
  DeviceAccess access(all_device_memory());  // launches from several host threads queue
  gridDim = grid, blockDim = block;
  std::barrier<> barrier(block.x), block_done(block.x);
  block_barrier = &barrier;
  warp_barriers.clear();
  for (unsigned w = 0; w < block.x / 32; ++w)
    warp_barriers.push_back(std::make_unique<std::barrier<>>(32));
  ahead_arrivals = 0;
  block_workers().run(block.x, [&] {
    barrier_phase = warps_sent_ahead = 0;
    for (unsigned z = 0; z < grid.z; ++z)
      for (unsigned y = 0; y < grid.y; ++y)
        for (unsigned x = 0; x < grid.x; ++x) {
          blockIdx = dim3(x, y, z);
          kernel();
          stop_running_ahead();
          block_done.arrive_and_wait();
        }
  });
}

}  // namespace emulation

// After half the barriers, picked at random, one warp runs ahead into the next phase while
// the others wait until it has reached its next barrier or the end of its block (or 2 ms
// have passed), so that a race the barriers leave open (a write of the next phase before a
// read of this one) is likely to show. (A fixed sleep of the others, long enough for the
// warp ahead to get through its phase among hundreds of threads, cost seconds a run.)
#ifndef FG_EMULATION_JITTER
#define FG_EMULATION_JITTER 1
#endif
inline void __syncthreads() {
  emulation::stop_running_ahead();
  emulation::block_barrier->arrive_and_wait();
  if (!FG_EMULATION_JITTER) return;
  unsigned warps = blockDim.x / 32;
  unsigned pick = std::minstd_rand(++emulation::barrier_phase * 7919u + blockIdx.x * 31u +
                                   blockIdx.y)() %
                  (2 * std::max(1u, warps));
  if (pick >= warps) return;
  ++emulation::warps_sent_ahead;
  if (pick == threadIdx.x / 32)
    emulation::running_ahead = true;
  else
    emulation::wait_for_warp_ahead();
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
