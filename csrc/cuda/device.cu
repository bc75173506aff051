// CUDA device discovery, the current device and copies. Availability is decided at run
// time: with the runtime linked statically, a machine without a driver or GPU simply
// reports zero devices.
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/device.h"

namespace fg::cuda {

int device_count() {
  static const int count = [] {  // asked once: every allocation checks its device
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no driver" error
      return 0;
    }
    return n;
  }();
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

void check_device(int index, const char* op) {
  int count = device_count();
  FG_CHECK(count > 0, RuntimeError,
           "[" << op << "] no CUDA device: the driver found none on this machine");
  FG_CHECK(index >= 0 && index < count, RuntimeError,
           "[" << op << "] no device cuda:" << index << "; this machine has " << count
               << (count == 1 ? " CUDA device (cuda:0)" : " CUDA devices"));
}

void synchronize(int index) {
  check_device(index, "synchronize");
  DeviceGuard guard(index);
  FG_CUDA_CHECK(cudaDeviceSynchronize());
}

DeviceGuard::DeviceGuard(int index) : previous_(-1) {
  FG_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != index) FG_CUDA_CHECK(cudaSetDevice(index));
}

DeviceGuard::~DeviceGuard() {
  int current = -1;
  if (cudaGetDevice(&current) == cudaSuccess && current != previous_) cudaSetDevice(previous_);
}

void order_stream_after_default(int device, uintptr_t stream) {
  DeviceGuard guard(device);
  cudaEvent_t done;
  FG_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  cudaError_t status = cudaEventRecord(done, cudaStreamLegacy);
  if (status == cudaSuccess)
    status = cudaStreamWaitEvent(reinterpret_cast<cudaStream_t>(stream), done, 0);
  cudaEventDestroy(done);                         // the wait holds what it needs of the event
  if (status != cudaSuccess) cudaGetLastError();  // not left for the next launch to report
  FG_CUDA_CHECK(status);
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_device.is_cuda() && src_device.is_cuda() && dst_device.index != src_device.index) {
    FG_CUDA_CHECK(cudaMemcpyPeer(dst, dst_device.index, src, src_device.index, nbytes));
    return;
  }
  cudaMemcpyKind kind =
      dst_device.is_cpu()
          ? (src_device.is_cpu() ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
          : (src_device.is_cpu() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice);
  DeviceGuard guard(dst_device.is_cuda() ? dst_device.index : src_device.index);
  // cudaMemcpy runs after the work launched on the default stream; when it returns, a host
  // buffer on either side may be reused (device-to-device copies may still be in flight).
  FG_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kind));
}

}  // namespace fg::cuda
