// Tensor: shared storage + shape + strides + offset + dtype. Views (transpose, slices,
// expand, ...) share the storage with their own strides; kernels see plain row-major buffers,
// so an op makes its inputs contiguous first (ops::contiguous), and data<T>() refuses a
// tensor that is not. A Tensor is a cheap handle: copies share one TensorImpl, as Python
// references do.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/storage.h"

namespace fg {

using Shape = std::vector<int64_t>;
std::ostream& operator<<(std::ostream& os, const Shape& shape);  // prints (2, 3)
// The most elements a shape may count, zero sizes left out (numpy's rule): then every part
// of a valid shape, and each count, stride and offset in bytes of any dtype, fits int64.
constexpr int64_t kMaxNumel = INT64_MAX / 8;

// The number of elements of shape[begin, end) (the whole shape by default). Every shape a
// tensor takes is counted here, so every count is checked: a negative size, or sizes whose
// product without the zeros exceeds kMaxNumel, raise ValueError naming `op`.
int64_t shape_numel(const Shape& shape, const char* op = "numel", size_t begin = 0,
                    size_t end = SIZE_MAX);
// Row-major strides (in elements) of a contiguous tensor of `shape`.
Shape contiguous_strides(const Shape& shape);

struct Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;  // in elements, one per dimension; never negative
  DType dtype = DType::Float32;
  bool requires_grad = false;
  // A Python number an op received, as a 0-d tensor: in type promotion it only lifts the
  // result's category (int64 tensor * 2.5 is float32, float16 tensor * 2.0 stays float16).
  bool wrapped_number = false;
  // Accumulated by backward: a leaf's, and a non-leaf's that retains_grad (retain_grad())
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;  // set on results of recorded ops
  bool retains_grad = false;
  // Called by backward with this tensor's whole gradient of that backward, before it is
  // used; one that returns a tensor replaces the gradient (register_hook). Guarded by
  // grad_lock, as the next, each under the key that removes it.
  std::vector<std::pair<uint64_t, std::function<Tensor(const Tensor&)>>> grad_hooks;
  // Leaves only: called by backward once .grad holds the whole gradient of that backward
  // (autograd/node.h).
  std::vector<std::pair<uint64_t, std::function<void(const Tensor&)>>> post_accumulate_grad_hooks;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  static Tensor empty(const Shape& shape, DType dtype, Device device);
  // A tensor over existing storage (a numpy array's, say); no copy.
  static Tensor from_storage(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  int64_t numel() const { return shape_numel(impl_->shape); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device(); }
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }
  int64_t storage_offset() const { return impl_->offset; }
  const Shape& strides() const { return impl_->strides; }
  int64_t stride(int64_t d) const;  // negative d counts from the end
  // Row-major without gaps; the strides of size-1 dimensions do not matter (PyTorch's rule).
  bool is_contiguous() const;

  // The buffer a kernel reads or writes: refuses a tensor that is not contiguous, so an op
  // that forgot ops::contiguous fails loudly instead of reading the wrong elements.
  void* raw_data() const;
  template <typename T>
  T* data() const {
    return static_cast<T*>(raw_data());
  }
  // The first element, for code that walks the strides itself (strided copy, numpy, DLPack).
  void* strided_data() const {
    return static_cast<char*>(impl_->storage->data()) + impl_->offset * dtype_size(dtype());
  }

  // Autograd state.
  bool requires_grad() const { return impl_->requires_grad; }
  void set_requires_grad(bool flag);  // leaves only; float32 only
  Tensor grad() const;
  void set_grad(const Tensor& grad);  // same shape, dtype and device; or undefined to clear
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  bool is_wrapped_number() const { return impl_->wrapped_number; }

  // Same storage and strides, no history.
  Tensor detach() const;
  // A view of the same storage with the given shape, strides and storage offset (in
  // elements), no history (ops/shape.cpp records the view ops). Checked: every element it can
  // reach lies inside the storage, else IndexError naming `op`.
  Tensor as_strided(const Shape& shape, const Shape& strides, int64_t offset,
                    const char* op = "as_strided") const;
  // as_strided with row-major strides, `extra_offset` elements past this tensor's start.
  Tensor alias(const Shape& shape, int64_t extra_offset = 0) const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// The lock every access to a tensor's .grad holds (one of a fixed table, by the tensor's
// address): backward accumulates into leaves without the GIL, in as many threads as call it.
std::mutex& grad_lock(const TensorImpl* impl);

// Normalizes a possibly negative dimension index for a tensor of `ndim` dims.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace fg
