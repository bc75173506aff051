// Just enough of CUDA, on the host, to compile forgegrad's CUDA code as C++ and run it: it
// stands in for <cuda_runtime.h> on the include path, for the kernel checks of
// tests/test_cuda_emulation.py and for the FORGEGRAD_CUDA=EMULATE build of the package.
// Every thread of a block is a fiber (a stack of its own) on the launching host thread;
// __syncthreads is a barrier among them and __shfl_xor_sync an exchange among a warp's 32;
// the blocks of a grid run one after another, so a __shared__ array (a static here) belongs
// to the block that runs. Between barriers each thread runs alone to its next one, so a
// missing barrier shows as a wrong result. Kernels launch through FG_LAUNCH_KERNEL
// (csrc/cuda/launch.cuh), defined here to run them at once; the runtime API's device is host
// memory.
#pragma once
#include <sys/mman.h>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#include <algorithm>
#include <atomic>
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
  std::snprintf(prop->name, sizeof prop->name, "forgegrad's emulated GPU (host fibers)");
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
  emulation::DeviceAccess access(emulation::bytes_at(dst, nbytes),
                                 emulation::bytes_at(src, nbytes));
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

// With jitter (the kernel checks of tests/test_cuda_emulation.py), each pass over a block's
// threads starts at a warp picked at random and goes either way; without (the package's
// EMULATE build), in order of threadIdx.x.
#ifndef FG_EMULATION_JITTER
#define FG_EMULATION_JITTER 1
#endif

namespace emulation {

// The threads of a block are fibers on the launching host thread: each has a stack of its
// own and runs until it reaches __syncthreads, a warp exchange or its end, then hands back to
// the scheduler, which resumes the others. One host thread and no OS context switches: a
// block of host threads (futexes at every barrier) cost most of the emulated suite's time
// and a load average of 50. A fiber's switch saves the callee-saved registers and swaps
// stack pointers (x86-64), or is swapcontext elsewhere (which adds a system call).
#if defined(__x86_64__)
struct Context {
  void* stack_pointer;
};
// fg_emulation_switch(&save, next): pushes the callee-saved registers, stores the stack
// pointer in save, then pops them from `next` and returns to where it left. A naked inline
// function, not top-level asm, so that each file including this header may define it.
[[gnu::naked, gnu::noinline]] inline void fg_emulation_switch(void** /*save*/, void* /*next*/) {
  asm(R"(
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
)");
}
inline void switch_context(Context& save, const Context& next) {
  fg_emulation_switch(&save.stack_pointer, next.stack_pointer);
}
// A context whose first resumption calls entry() on the stack [stack, stack + size).
inline void start_context(Context& context, char* stack, size_t size, void (*entry)()) {
  auto* top = reinterpret_cast<void**>(reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t(15));
  *--top = nullptr;                              // entry's return address: it never returns
  *--top = reinterpret_cast<void*>(entry);       // where the first switch's ret goes
  for (int r = 0; r < 6; ++r) *--top = nullptr;  // rbp, rbx, r12-r15
  context.stack_pointer = top;
}
#else
struct Context {
  ucontext_t state;
};
inline void switch_context(Context& save, const Context& next) {
  swapcontext(&save.state, &next.state);
}
inline void start_context(Context& context, char* stack, size_t size, void (*entry)()) {
  getcontext(&context.state);
  context.state.uc_stack.ss_sp = stack;
  context.state.uc_stack.ss_size = size;
  context.state.uc_link = nullptr;
  makecontext(&context.state, entry, 0);
}
#endif

enum class Waiting { kNothing, kBlockBarrier, kWarpExchange, kEnd };

// One emulated thread: its stack (a guard page below it) and where it stopped.
struct Fiber {
  static constexpr size_t kStackBytes = 256 * 1024;
  char* stack = nullptr;
  Context context;
  Waiting waiting = Waiting::kEnd;
};

// The fibers and the state of the running launch. Launches take turns (DeviceAccess), so
// one scheduler serves the process; its fibers outlive launches (worker t plays threadIdx.x
// == t in each block) and are made when a launch first needs that many, up to 1024.
struct Scheduler {
  std::vector<std::unique_ptr<Fiber>> fibers;
  Context scheduler_context;
  const std::function<void()>* kernel = nullptr;
  unsigned running = 0;                        // threadIdx.x of the fiber that runs
  unsigned live = 0;                           // the block's threads that have not ended
  unsigned barrier_arrivals = 0;               // at the current __syncthreads
  unsigned exchange_arrivals[32] = {};         // [warp]: at the warp's current exchange
  uint64_t offered[32][32], received[32][32];  // [warp][lane]: a warp exchange's values
  int offsets[32][32];
  unsigned launches = 0;  // seeds the order of the threads (jitter)

  Fiber& current() { return *fibers[running]; }
  // Back to the scheduler, until it resumes this fiber.
  void yield() { switch_context(current().context, scheduler_context); }
  // Every fiber waiting for `what` (in `warp`, for an exchange) may go on.
  void release(Waiting what, unsigned warp = 0) {
    for (unsigned t = 0; t < blockDim.x; ++t)
      if (fibers[t]->waiting == what && (what != Waiting::kWarpExchange || t / 32 == warp))
        fibers[t]->waiting = Waiting::kNothing;
  }
  unsigned warp_size(unsigned warp) const { return std::min(32u, blockDim.x - 32 * warp); }

  [[noreturn]] static void fiber_main();
  void make_fibers(unsigned count) {
    while (fibers.size() < count) {
      auto fiber = std::make_unique<Fiber>();
      size_t bytes = Fiber::kStackBytes + 4096;
      void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
      if (memory == MAP_FAILED) {
        std::fprintf(stderr, "emulated GPU: no memory for a thread's stack\n");
        std::abort();
      }
      mprotect(memory, 4096, PROT_NONE);  // an overflow faults instead of corrupting
      fiber->stack = static_cast<char*>(memory) + 4096;
      start_context(fiber->context, fiber->stack, Fiber::kStackBytes, fiber_main);
      fibers.push_back(std::move(fiber));
    }
  }

  // Runs one block (blockIdx set) to its end: passes over its threads, each resumed until
  // it waits or ends, until all have ended. With jitter the order of each pass changes (a
  // rotation by whole warps, forwards or backwards), so that a missing barrier, which lets
  // one thread's next phase run before another's current one, is likely to show.
  void run_block() {
    unsigned threads = blockDim.x;
    for (unsigned t = 0; t < threads; ++t) fibers[t]->waiting = Waiting::kNothing;
    live = threads, barrier_arrivals = 0;
    std::fill(std::begin(exchange_arrivals), std::end(exchange_arrivals), 0u);
    std::minstd_rand order(++launches * 7919u + blockIdx.x * 31u + blockIdx.y);
    while (live) {
      unsigned start = 0;
      bool backwards = false;
      if (FG_EMULATION_JITTER) {
        unsigned pick = order();
        start = 32 * (pick % (threads / 32 + 1)) % threads, backwards = pick & 1;
      }
      bool progress = false;
      for (unsigned i = 0; i < threads; ++i) {
        unsigned t = (start + (backwards ? threads - 1 - i : i)) % threads;
        if (fibers[t]->waiting != Waiting::kNothing) continue;
        running = t;
        threadIdx = dim3(t);
        switch_context(scheduler_context, fibers[t]->context);
        progress = true;
        if (fibers[t]->waiting == Waiting::kEnd && --live && barrier_arrivals == live) {
          barrier_arrivals = 0;  // the threads that ended no longer hold up a barrier
          release(Waiting::kBlockBarrier);
        }
      }
      if (!progress) {
        std::fprintf(stderr,
                     "emulated GPU: block (%u, %u, %u) never completes a barrier or warp "
                     "exchange (a thread ended, or skipped it)\n",
                     blockIdx.x, blockIdx.y, blockIdx.z);
        std::abort();
      }
    }
  }

  // Arrives at the block's barrier; returns when every live thread has arrived.
  void sync_threads() {
    if (++barrier_arrivals == live) {
      barrier_arrivals = 0;
      release(Waiting::kBlockBarrier);
    } else {
      current().waiting = Waiting::kBlockBarrier;
    }
    yield();
  }

  // Offers `value` to the warp; returns what lane ^ offset offered, once all lanes have.
  uint64_t exchange(uint64_t value, int offset) {
    unsigned lane = running % 32, warp = running / 32;
    offered[warp][lane] = value, offsets[warp][lane] = offset;
    if (++exchange_arrivals[warp] == warp_size(warp)) {
      exchange_arrivals[warp] = 0;
      for (unsigned l = 0; l < warp_size(warp); ++l)
        received[warp][l] = offered[warp][(l ^ offsets[warp][l]) % warp_size(warp)];
      release(Waiting::kWarpExchange, warp);
    } else {
      current().waiting = Waiting::kWarpExchange;
    }
    yield();
    return received[warp][lane];  // stays until this lane's next exchange
  }
};

inline Scheduler* scheduler = new Scheduler;  // never destroyed: no order of exit to mind

inline void Scheduler::fiber_main() {
  for (;;) {  // one block a turn
    (*scheduler->kernel)();
    scheduler->current().waiting = Waiting::kEnd;
    scheduler->yield();
  }
}

// Runs kernel() as the grid's blocks of block.x threads (1-D blocks), block after block
// (so a __shared__ static belongs to one block at a time).
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
  scheduler->make_fibers(block.x);
  scheduler->kernel = &kernel;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        blockIdx = dim3(x, y, z);
        scheduler->run_block();
      }
}

}  // namespace emulation

inline void __syncthreads() { emulation::scheduler->sync_threads(); }

// Lane i gets the value of lane i ^ offset; every lane of the warp must take part.
template <typename T>
T __shfl_xor_sync(unsigned, T value, int offset) {
  static_assert(sizeof(T) <= sizeof(uint64_t));
  uint64_t offered = 0;
  std::memcpy(&offered, &value, sizeof(T));
  uint64_t received = emulation::scheduler->exchange(offered, offset);
  T other;
  std::memcpy(&other, &received, sizeof(T));
  return other;
}

template <typename T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}

#define FG_LAUNCH_KERNEL(kernel, grid, block, ...) \
  ::emulation::launch(dim3(grid), dim3(block), [&] { kernel(__VA_ARGS__); })
