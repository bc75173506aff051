// The caching allocator for CUDA tensors: a BlockCache (csrc/core/block_cache.h) per device
// over cudaMalloc and cudaFree, which synchronize the device and cost tens of microseconds,
// so that a training loop's tensors come back from the cache.
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "core/block_cache.h"
#include "cuda/check.h"
#include "cuda/device.h"

namespace fg::cuda {
namespace {

bool caching_enabled() {
  const char* off = std::getenv("FORGEGRAD_CUDA_NO_CACHE");
  return !(off && std::strcmp(off, "1") == 0);
}

std::unique_ptr<BlockCache> make_cache(int device) {
  auto raw_alloc = [device](size_t bytes) -> void* {
    DeviceGuard guard(device);
    void* block = nullptr;
    cudaError_t status = cudaMalloc(&block, bytes);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it: the cache is emptied and the allocation retried
      return nullptr;
    }
    FG_CUDA_CHECK(status);
    return block;
  };
  // Runs in destructors (a tensor's last release), so it never throws: plain calls, and
  // any error cleared rather than left for the next kernel launch to report.
  auto raw_free = [device](void* block) {
    int previous = -1;
    if (cudaGetDevice(&previous) == cudaSuccess && previous != device) cudaSetDevice(device);
    cudaFree(block);
    if (previous >= 0 && previous != device) cudaSetDevice(previous);
    cudaGetLastError();
  };
  // The GPU's cache holds what the program used at its peak, as PyTorch's does.
  return std::make_unique<BlockCache>("cuda:" + std::to_string(device), raw_alloc, raw_free,
                                      SIZE_MAX, caching_enabled());
}

// One cache a device, created on first use and never destroyed: tensors released at
// interpreter exit still find theirs.
BlockCache& cache(int device) {
  static std::mutex mutex;
  static auto* caches = new std::vector<std::unique_ptr<BlockCache>>();
  std::lock_guard<std::mutex> lock(mutex);
  if (device >= int(caches->size())) caches->resize(device + 1);
  if (!(*caches)[device]) (*caches)[device] = make_cache(device);
  return *(*caches)[device];
}

}  // namespace

void* allocate(size_t nbytes, int device) {
  check_device(device, "alloc");
  return cache(device).allocate(nbytes);
}

void release(void* ptr, int device) {
  try {
    cache(device).release(ptr);
  } catch (...) {  // from a destructor: a block lost is better than an abort
  }
}

size_t memory_allocated(int device) {
  check_device(device, "memory_allocated");
  return cache(device).stats().allocated;
}

size_t max_memory_allocated(int device) {
  check_device(device, "max_memory_allocated");
  return cache(device).stats().peak;
}

size_t memory_reserved(int device) {
  check_device(device, "memory_reserved");
  BlockCache::Stats stats = cache(device).stats();
  return stats.allocated + stats.cached;
}

void reset_peak_memory_stats(int device) {
  check_device(device, "reset_peak_memory_stats");
  cache(device).reset_peak();
}

void empty_cache() {
  for (int device = 0; device < device_count(); ++device) cache(device).empty();
}

}  // namespace fg::cuda
