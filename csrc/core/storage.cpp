#include "core/storage.h"

#include <sys/mman.h>

#include <cstdlib>

#include "core/block_cache.h"
#include "core/error.h"
#ifdef FORGEGRAD_WITH_CUDA
#include "cuda/device.h"
#endif

namespace fg {
namespace {

// Blocks from 1 MiB up come from a cache: a fresh large block costs a page fault and a
// zeroed page for every 4 KiB the first time it is written (an elementwise op on 64 MiB ran
// at a seventh of copy speed), so released ones are kept, up to 512 MiB, for the next
// tensor of their size class. They are 2 MiB aligned and asked to be backed by huge pages.
constexpr size_t kCachedFrom = size_t(1) << 20;
constexpr size_t kHugePage = size_t(2) << 20;

void* large_block(size_t bytes) {
  void* block = std::aligned_alloc(kHugePage, (bytes + kHugePage - 1) / kHugePage * kHugePage);
#ifdef MADV_HUGEPAGE
  if (block) madvise(block, bytes, MADV_HUGEPAGE);  // a hint: refused is fine
#endif
  return block;
}

BlockCache& large_blocks() {
  static auto* cache =  // never destroyed: tensors released at exit still find it
      new BlockCache(
          "cpu", large_block, [](void* block) { std::free(block); }, size_t(512) << 20, true);
  return *cache;
}

}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  if (device.is_cuda()) {
#ifdef FORGEGRAD_WITH_CUDA
    int index = device.index;
    void* data = cuda::allocate(nbytes, index);
    return std::shared_ptr<Storage>(
        new Storage(data, nbytes, device, [data, index] { cuda::release(data, index); }, false));
#else
    throw RuntimeError("[alloc] this build of forgegrad has no CUDA support (" + device.str() +
                       " asked); rebuild with nvcc present");
#endif
  }
  if (nbytes >= kCachedFrom) {
    void* data = large_blocks().allocate(nbytes);
    return std::shared_ptr<Storage>(
        new Storage(data, nbytes, device, [data] { large_blocks().release(data); }, false));
  }
  constexpr size_t alignment = 64;
  // aligned_alloc wants a multiple of the alignment; never ask for zero bytes.
  size_t padded = (nbytes + alignment - 1) / alignment * alignment;
  if (padded == 0) padded = alignment;
  void* data = padded >= nbytes ? std::aligned_alloc(alignment, padded) : nullptr;
  FG_CHECK(data != nullptr, MemoryError,
           "[alloc] could not allocate " << nbytes << " bytes on the cpu");
  sanitizer_mark(data, nbytes, padded);
  return std::shared_ptr<Storage>(
      new Storage(data, nbytes, device, [data] { std::free(data); }, false));
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, Device device,
                                       std::function<void()> release) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, std::move(release), true));
}

Storage::~Storage() {
  if (release_) release_();
}

}  // namespace fg
