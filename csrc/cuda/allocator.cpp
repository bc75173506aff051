// The caching allocator for CUDA tensors. cudaMalloc and cudaFree synchronize the device and
// cost tens of microseconds, so a released block goes to a free list of its size class and
// the next tensor of that class takes it. Classes: multiples of 512 bytes up to 1 MiB, of
// 2 MiB above, so a training loop's tensors, the same sizes every step, hit the cache.
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/check.h"
#include "cuda/device.h"

namespace fg::cuda {
namespace {

size_t size_class(size_t nbytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(2) << 20, kSmallLimit = size_t(1) << 20;
  size_t unit = nbytes <= kSmallLimit ? kSmall : kLarge;
  return (std::max<size_t>(nbytes, 1) + unit - 1) / unit * unit;
}

struct DeviceCache {
  std::multimap<size_t, void*> free_blocks;  // size class -> block
  std::unordered_map<void*, size_t> live;    // block -> its size class
  size_t allocated = 0, peak = 0, cached = 0;
};

class CachingAllocator {
 public:
  void* allocate(size_t nbytes, int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    DeviceCache& cache = cache_for(device);
    size_t size = size_class(nbytes);
    void* block = nullptr;
    auto found = cache.free_blocks.find(size);
    if (found != cache.free_blocks.end()) {
      block = found->second;
      cache.free_blocks.erase(found);
      cache.cached -= size;
    } else {
      block = device_malloc(cache, size, nbytes, device);
    }
    cache.live[block] = size;
    cache.allocated += size;
    cache.peak = std::max(cache.peak, cache.allocated);
    return block;
  }

  void release(void* block, int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    DeviceCache& cache = cache_for(device);
    auto found = cache.live.find(block);
    if (found == cache.live.end()) return;  // not ours: nothing to give back
    size_t size = found->second;
    cache.live.erase(found);
    cache.allocated -= size;
    if (caching_) {
      cache.free_blocks.emplace(size, block);
      cache.cached += size;
    } else {
      DeviceGuard guard(device);
      cudaFree(block);  // a release never throws: it runs in destructors
    }
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t device = 0; device < caches_.size(); ++device)
      free_cached(caches_[device], int(device));
  }

  DeviceCache stats(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    DeviceCache copy;
    const DeviceCache& cache = cache_for(device);
    copy.allocated = cache.allocated, copy.peak = cache.peak, copy.cached = cache.cached;
    return copy;
  }

  void reset_peak(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    DeviceCache& cache = cache_for(device);
    cache.peak = cache.allocated;
  }

 private:
  DeviceCache& cache_for(int device) {
    if (device >= int(caches_.size())) caches_.resize(device + 1);
    return caches_[device];
  }

  void free_cached(DeviceCache& cache, int device) {
    if (cache.free_blocks.empty()) return;
    DeviceGuard guard(device);
    for (auto& [size, block] : cache.free_blocks) cudaFree(block);
    cache.free_blocks.clear();
    cache.cached = 0;
  }

  // A new block from the driver; on out-of-memory the cache goes back first, then once more.
  void* device_malloc(DeviceCache& cache, size_t size, size_t asked, int device) {
    DeviceGuard guard(device);
    void* block = nullptr;
    cudaError_t status = cudaMalloc(&block, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      free_cached(cache, device);
      status = cudaMalloc(&block, size);
    }
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      FG_CHECK(false, MemoryError,
               "[cuda] out of memory on cuda:"
                   << device << ": asked for " << asked << " bytes; forgegrad's tensors hold "
                   << cache.allocated << " bytes, the device has " << free_bytes << " of "
                   << total_bytes << " bytes free");
    }
    FG_CUDA_CHECK(status);
    return block;
  }

  std::mutex mutex_;
  std::vector<DeviceCache> caches_;
  const bool caching_ = [] {
    const char* off = std::getenv("FORGEGRAD_CUDA_NO_CACHE");
    return !(off && std::strcmp(off, "1") == 0);
  }();
};

// Never destroyed: tensors released at interpreter exit still find it.
CachingAllocator& allocator() {
  static auto* instance = new CachingAllocator();
  return *instance;
}

}  // namespace

void* allocate(size_t nbytes, int device) {
  check_device(device, "alloc");
  return allocator().allocate(nbytes, device);
}

void release(void* ptr, int device) { allocator().release(ptr, device); }

size_t memory_allocated(int device) {
  check_device(device, "memory_allocated");
  return allocator().stats(device).allocated;
}

size_t max_memory_allocated(int device) {
  check_device(device, "max_memory_allocated");
  return allocator().stats(device).peak;
}

size_t memory_reserved(int device) {
  check_device(device, "memory_reserved");
  DeviceCache stats = allocator().stats(device);
  return stats.allocated + stats.cached;
}

void reset_peak_memory_stats(int device) {
  check_device(device, "reset_peak_memory_stats");
  allocator().reset_peak(device);
}

void empty_cache() { allocator().empty_cache(); }

}  // namespace fg::cuda
