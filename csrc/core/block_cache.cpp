#include "core/block_cache.h"

#include <algorithm>

#include "core/error.h"
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

namespace fg {

void sanitizer_mark(void* begin, size_t used, size_t size) {
#ifdef __SANITIZE_ADDRESS__
  ASAN_UNPOISON_MEMORY_REGION(begin, used);
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(begin) + used, size - used);
#endif
}

BlockCache::BlockCache(std::string device, RawAlloc raw_alloc, RawFree raw_free, size_t max_cached,
                       bool caching)
    : device_(std::move(device)), raw_alloc_(raw_alloc), raw_free_(raw_free),
      max_cached_(max_cached), caching_(caching) {}

size_t BlockCache::size_class(size_t nbytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(2) << 20, kSmallLimit = size_t(1) << 20;
  size_t unit = nbytes <= kSmallLimit ? kSmall : kLarge;
  return (std::max<size_t>(nbytes, 1) + unit - 1) / unit * unit;
}

void* BlockCache::allocate(size_t nbytes) {
  size_t size = size_class(nbytes);
  FG_CHECK(size >= nbytes, MemoryError,
           "[alloc] cannot allocate " << nbytes << " bytes on " << device_);
  std::lock_guard<std::mutex> lock(mutex_);
  void* block = nullptr;
  auto found = free_blocks_.find(size);
  if (found != free_blocks_.end() && !found->second.empty()) {
    block = found->second.back();
    found->second.pop_back();
    cached_ -= size;
  } else {
    block = raw_alloc_(size);
    if (!block && cached_ > 0) {  // the cache back to the system, then once more
      free_cached();
      block = raw_alloc_(size);
    }
    FG_CHECK(block, MemoryError,
             "[alloc] out of memory on " << device_ << ": asked for " << nbytes
                                         << " bytes; forgegrad's tensors hold " << allocated_
                                         << " bytes there");
  }
  sanitizer_mark(block, nbytes, size);
  live_[block] = size;
  allocated_ += size;
  peak_ = std::max(peak_, allocated_);
  return block;
}

void BlockCache::release(void* block) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = live_.find(block);
  if (found == live_.end()) return;
  size_t size = found->second;
  live_.erase(found);
  allocated_ -= size;
  if (caching_ && cached_ + size <= max_cached_) {
    sanitizer_mark(block, 0, size);
    free_blocks_[size].push_back(block);
    cached_ += size;
  } else {
    raw_free_(block);
  }
}

void BlockCache::free_cached() {
  for (auto& [size, blocks] : free_blocks_)
    for (void* block : blocks) raw_free_(block);
  free_blocks_.clear();
  cached_ = 0;
}

void BlockCache::empty() {
  std::lock_guard<std::mutex> lock(mutex_);
  free_cached();
}

BlockCache::Stats BlockCache::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  return {allocated_, peak_, cached_};
}

void BlockCache::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  peak_ = allocated_;
}

}  // namespace fg
