// A reference-counted buffer. CPU buffers are 64-byte aligned; a Storage may also wrap
// memory owned by someone else (a numpy array), released through a callback.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/device.h"

namespace fg {

class Storage {
 public:
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, Device device,
                                       std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  // Memory owned by someone else (wrap): never handed on as a buffer of forgegrad's own.
  bool borrowed() const { return borrowed_; }
  // Counts in-place writes (fill_, copy_, add_, optimizer steps), shared by every view of
  // this storage, so backward can tell that a tensor it saved was changed since.
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

  // Bounds of the int64 values it holds, where forgegrad knows them without reading them:
  // set by a copy from the host (to_device), so that index checks on the GPU need no copy
  // back. They hold until the next in-place write (the version moves) or until the memory
  // is exported (DLPack, the CUDA array interface), whose writes the version cannot see.
  bool index_bounds(int64_t& low, int64_t& high) const {
    if (!bounds_.known || bounds_.version != version_) return false;
    low = bounds_.low, high = bounds_.high;
    return true;
  }
  void set_index_bounds(int64_t low, int64_t high) { bounds_ = {true, low, high, version_}; }
  void forget_index_bounds() { bounds_.known = false; }

 private:
  Storage(void* data, size_t nbytes, Device device, std::function<void()> release, bool borrowed)
      : data_(data), nbytes_(nbytes), device_(device), release_(std::move(release)),
        borrowed_(borrowed) {}
  void* data_;
  size_t nbytes_;
  Device device_;
  std::function<void()> release_;
  bool borrowed_;
  uint64_t version_ = 0;
  struct IndexBounds {
    bool known = false;
    int64_t low = 0, high = 0;
    uint64_t version = 0;
  } bounds_;
};

}  // namespace fg
