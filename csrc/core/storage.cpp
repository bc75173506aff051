#include "core/storage.h"

#include <cstdlib>

#include "core/error.h"
#ifdef FORGEGRAD_WITH_CUDA
#include "cuda/device.h"
#endif

namespace fg {

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
  constexpr size_t alignment = 64;
  // aligned_alloc wants a multiple of the alignment; never ask for zero bytes.
  size_t padded = (nbytes + alignment - 1) / alignment * alignment;
  if (padded == 0) padded = alignment;
  void* data = padded >= nbytes ? std::aligned_alloc(alignment, padded) : nullptr;
  FG_CHECK(data != nullptr, MemoryError,
           "[alloc] could not allocate " << nbytes << " bytes on the cpu");
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
