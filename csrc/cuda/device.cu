// CUDA device discovery. Availability is decided at run time: with the runtime linked
// statically, a machine without a driver or GPU simply reports zero devices.
#include <cuda_runtime.h>

#include "cuda/device.h"

namespace fg::cuda {

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}

std::string device_name(int index) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) {
    cudaGetLastError();
    return "";
  }
  return prop.name;
}

}  // namespace fg::cuda
