// DeviceScope: while it lives, a CUDA tensor's device is the current one, so the kernels an
// op launches run where its tensors are. Nothing happens for the CPU or in a CPU-only build.
#pragma once
#include <optional>

#include "core/device.h"
#ifdef FORGEGRAD_WITH_CUDA
#include "cuda/device.h"
#endif

namespace fg::ops {

class DeviceScope {
 public:
  explicit DeviceScope(Device device) {
#ifdef FORGEGRAD_WITH_CUDA
    if (device.is_cuda()) guard_.emplace(device.index);
#endif
  }

 private:
#ifdef FORGEGRAD_WITH_CUDA
  std::optional<cuda::DeviceGuard> guard_;
#endif
};

}  // namespace fg::ops
