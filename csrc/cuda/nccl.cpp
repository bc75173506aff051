// NCCL through dlopen: the few entry points forgegrad calls, declared here with NCCL's
// stable C ABI (nccl.h is not needed to build), resolved from the library at load().
#include "cuda/nccl.h"

#include <dlfcn.h>

#include <cstring>
#include <mutex>

#include "core/error.h"
#include "cuda/device.h"

namespace fg::cuda::nccl {

namespace {

using Result = int;  // ncclResult_t; 0 is ncclSuccess
struct UniqueId {
  char internal[128];
};
using Comm = void*;    // ncclComm_t
using Stream = void*;  // cudaStream_t; null is the legacy default stream

struct Api {
  const char* (*get_error_string)(Result);
  Result (*get_version)(int*);
  Result (*get_unique_id)(UniqueId*);
  Result (*comm_init_rank)(Comm*, int, UniqueId, int);
  Result (*comm_destroy)(Comm);
  Result (*all_reduce)(const void*, void*, size_t, int, int, Comm, Stream);
  Result (*broadcast)(const void*, void*, size_t, int, int, Comm, Stream);
  Result (*all_gather)(const void*, void*, size_t, int, Comm, Stream);
  Result (*reduce_scatter)(const void*, void*, size_t, int, int, Comm, Stream);
};

Api api;
void* library = nullptr;
std::mutex load_mutex;

template <typename F>
void resolve(F& slot, const char* name) {
  slot = reinterpret_cast<F>(dlsym(library, name));
  FG_CHECK(slot != nullptr, RuntimeError,
           "[distributed] the NCCL library has no " << name << "; NCCL 2.10 or newer is needed");
}

void check(Result result, const char* call) {
  FG_CHECK(result == 0, RuntimeError,
           "[distributed] " << call << " failed: " << api.get_error_string(result));
}

Api& loaded_api() {
  FG_CHECK(library != nullptr, RuntimeError,
           "[distributed] NCCL is not loaded; init_process_group(backend='nccl') loads it");
  return api;
}

// ncclDataType_t of `dtype`; NCCL has no int16 or bool type.
int nccl_type(DType dtype) {
  switch (dtype) {
    case DType::Int8: return 0;
    case DType::UInt8: return 1;
    case DType::Int32: return 2;
    case DType::Int64: return 4;
    case DType::Float16: return 6;
    case DType::Float32: return 7;
    case DType::Float64: return 8;
    case DType::BFloat16: return 9;
    default: break;
  }
  throw TypeError(std::string("[distributed] NCCL has no type for ") + dtype_name(dtype) +
                  " tensors");
}

}  // namespace

void load(const std::string& path) {
  std::lock_guard<std::mutex> lock(load_mutex);
  if (library) return;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  FG_CHECK(handle != nullptr, RuntimeError,
           "[distributed] cannot load NCCL (" << path << "): " << dlerror()
                                              << "; install it with pip install nvidia-nccl-cu12");
  library = handle;
  try {
    resolve(api.get_error_string, "ncclGetErrorString");
    resolve(api.get_version, "ncclGetVersion");
    resolve(api.get_unique_id, "ncclGetUniqueId");
    resolve(api.comm_init_rank, "ncclCommInitRank");
    resolve(api.comm_destroy, "ncclCommDestroy");
    resolve(api.all_reduce, "ncclAllReduce");
    resolve(api.broadcast, "ncclBroadcast");
    resolve(api.all_gather, "ncclAllGather");
    resolve(api.reduce_scatter, "ncclReduceScatter");
  } catch (...) {
    dlclose(handle);
    library = nullptr;
    throw;
  }
}

bool loaded() { return library != nullptr; }

int version() {
  int code = 0;
  check(loaded_api().get_version(&code), "ncclGetVersion");
  return code;
}

std::string unique_id() {
  UniqueId id;
  check(loaded_api().get_unique_id(&id), "ncclGetUniqueId");
  return std::string(id.internal, sizeof id.internal);
}

Communicator::Communicator(const std::string& unique_id, int world, int rank, int device)
    : device_(device) {
  FG_CHECK(unique_id.size() == sizeof(UniqueId), ValueError,
           "[distributed] expected an NCCL unique id of " << sizeof(UniqueId) << " bytes, got "
                                                          << unique_id.size());
  check_device(device, "init_process_group");
  UniqueId id;
  std::memcpy(id.internal, unique_id.data(), sizeof id.internal);
  DeviceGuard guard(device);
  check(loaded_api().comm_init_rank(&comm_, world, id, rank), "ncclCommInitRank");
}

Communicator::~Communicator() {
  if (comm_) api.comm_destroy(comm_);
}

void Communicator::all_reduce(void* data, size_t count, DType dtype, ReduceOp op) {
  DeviceGuard guard(device_);
  check(api.all_reduce(data, data, count, nccl_type(dtype), static_cast<int>(op), comm_, nullptr),
        "ncclAllReduce");
}

void Communicator::broadcast(void* data, size_t count, DType dtype, int root) {
  DeviceGuard guard(device_);
  check(api.broadcast(data, data, count, nccl_type(dtype), root, comm_, nullptr), "ncclBroadcast");
}

void Communicator::all_gather(void* out, const void* in, size_t count, DType dtype) {
  DeviceGuard guard(device_);
  check(api.all_gather(in, out, count, nccl_type(dtype), comm_, nullptr), "ncclAllGather");
}

void Communicator::reduce_scatter(void* out, const void* in, size_t count, DType dtype,
                                  ReduceOp op) {
  DeviceGuard guard(device_);
  check(api.reduce_scatter(in, out, count, nccl_type(dtype), static_cast<int>(op), comm_, nullptr),
        "ncclReduceScatter");
}

}  // namespace fg::cuda::nccl
