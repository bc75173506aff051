// A caching allocator's bookkeeping, for any memory: blocks released go to a free list of
// their size class, and the next allocation of that class takes one instead of asking the
// system (page faults and zeroing on the CPU; cudaMalloc's device synchronization on a GPU).
// Classes: multiples of 512 bytes up to 1 MiB, of 2 MiB above, so a training loop's tensors,
// the same sizes every step, come back from the cache; the block released last is taken
// first, while it may still be in the caches of the CPU. When the system refuses, the cache is
// handed back and the allocation tried once more; then MemoryError says what was asked and
// what is held. Thread-safe.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace fg {

// Under AddressSanitizer (FORGEGRAD_SANITIZE): [begin + used, begin + size) is marked
// unaddressable and [begin, begin + used) addressable, so an access past a tensor's bytes
// into its block's slack, or into a cached block while it is free, is reported like an
// overflow or a use after free of malloc's blocks. Nothing otherwise.
void sanitizer_mark(void* begin, size_t used, size_t size);

class BlockCache {
 public:
  // raw_alloc(bytes) returns null when the system has no memory for it (and throws for any
  // other failure); raw_free never throws.
  using RawAlloc = std::function<void*(size_t bytes)>;
  using RawFree = std::function<void(void* block)>;

  // max_cached: bytes the free lists may hold; a release past it goes back to the system.
  // caching false: every release goes back (FORGEGRAD_CUDA_NO_CACHE for compute-sanitizer).
  BlockCache(std::string device, RawAlloc raw_alloc, RawFree raw_free, size_t max_cached,
             bool caching);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  void* allocate(size_t nbytes);  // MemoryError when even an empty cache does not help
  void release(void* block);      // blocks this cache did not hand out are ignored
  void empty();                   // the free lists back to the system

  struct Stats {
    size_t allocated, peak, cached;  // bytes in live blocks, their peak, bytes in free lists
  };
  Stats stats();
  void reset_peak();

  static size_t size_class(size_t nbytes);

 private:
  void free_cached();  // with mutex_ held

  std::string device_;
  RawAlloc raw_alloc_;
  RawFree raw_free_;
  size_t max_cached_;
  bool caching_;
  std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_blocks_;  // size class -> blocks, last released last
  std::unordered_map<void*, size_t> live_;            // block -> its size class
  size_t allocated_ = 0, peak_ = 0, cached_ = 0;
};

}  // namespace fg
