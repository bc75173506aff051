// NCCL, the collectives between GPUs that DistributedDataParallel's CUDA path uses, loaded at
// run time (dlopen) from the library the `nvidia-nccl-cu12` wheel ships, so that the module
// links no NCCL and a CPU-only install never needs it. The communicator is bootstrapped as
// llm.c does: rank 0 makes a unique id, MPI broadcasts it (python/forgegrad/distributed),
// every rank joins with it. Calls run on the legacy default stream, the one forgegrad's
// kernels use, so a collective sees the gradients the kernels before it wrote.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "core/dtype.h"

namespace fg::cuda::nccl {

enum class ReduceOp { Sum = 0, Product = 1, Max = 2, Min = 3, Average = 4 };  // NCCL's values

// Loads `path` (a file name, or "libnccl.so.2" for the loader's search) once per process;
// RuntimeError with the loader's message when it cannot.
void load(const std::string& path);
bool loaded();
int version();  // NCCL's version code, 22703 for 2.27.3
// 128 opaque bytes: made by rank 0, broadcast to the others before Communicator().
std::string unique_id();

class Communicator {
 public:
  // Joins the group of `world` ranks named by `unique_id` as `rank`, on CUDA device `device`;
  // blocks until every rank has joined.
  Communicator(const std::string& unique_id, int world, int rank, int device);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  int device() const { return device_; }

  // Each on `count` elements of `dtype` in device memory; RuntimeError naming the call and
  // NCCL's reason when it fails; TypeError for a dtype NCCL has no type for.
  void all_reduce(void* data, size_t count, DType dtype, ReduceOp op);    // in place
  void broadcast(void* data, size_t count, DType dtype, int root);        // in place
  void all_gather(void* out, const void* in, size_t count, DType dtype);  // out: world * count
  void reduce_scatter(void* out, const void* in, size_t count, DType dtype,
                      ReduceOp op);  // in: world * count

 private:
  void* comm_ = nullptr;  // ncclComm_t
  int device_;
};

}  // namespace fg::cuda::nccl
