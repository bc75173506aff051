#include "core/tensor.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/error.h"

namespace fg {

std::ostream& operator<<(std::ostream& os, const Shape& shape) {
  os << '(';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  return os << (shape.size() == 1 ? ",)" : ")");
}

int64_t shape_numel(const Shape& shape, const char* op, size_t begin, size_t end) {
  end = std::min(end, shape.size());
  int64_t nonzero_product = 1;
  bool has_zero = false;
  for (size_t d = begin; d < end; ++d) {
    FG_CHECK(shape[d] >= 0, ValueError,
             "[" << op << "] sizes must be non-negative, got shape " << shape);
    has_zero = has_zero || shape[d] == 0;
    FG_CHECK(shape[d] == 0 ||
                 (!__builtin_mul_overflow(nonzero_product, shape[d], &nonzero_product) &&
                  nonzero_product <= kMaxNumel),
             ValueError,
             "[" << op << "] shape " << shape << " counts more than " << kMaxNumel
                 << " elements (its sizes other than 0 multiplied), more than a tensor can hold");
  }
  return has_zero ? 0 : nonzero_product;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  int64_t numel = shape_numel(shape, "empty");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(static_cast<size_t>(numel) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype) {
  FG_CHECK(static_cast<uint64_t>(shape_numel(shape, "from_storage")) <=
               storage->nbytes() / dtype_size(dtype),
           ValueError, "[from_storage] shape " << shape << " needs more than the "
                                               << storage->nbytes() << " bytes given");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }

void Tensor::set_requires_grad(bool flag) {
  FG_CHECK(is_leaf() || flag, RuntimeError,
           "[requires_grad_] can only change requires_grad of a leaf tensor; use detach()");
  FG_CHECK(!flag || is_floating(dtype()), TypeError,
           "[requires_grad_] only Tensors of floating point dtype can require gradients, got "
               << dtype_name(dtype()));
  impl_->requires_grad = flag;
}

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined()) {
    FG_CHECK(grad.shape() == shape(), ValueError,
             "[grad] expected a gradient of shape " << shape() << ", got " << grad.shape());
    FG_CHECK(grad.dtype() == dtype(), TypeError,
             "[grad] expected a gradient of dtype " << dtype_name(dtype()) << ", got "
                                                   << dtype_name(grad.dtype()));
    FG_CHECK(grad.device() == device(), ValueError,
             "[grad] expected a gradient on " << device().str() << ", got "
                                              << grad.device().str());
  }
  std::shared_ptr<TensorImpl> previous;  // freed after the lock is released
  std::lock_guard<std::mutex> lock(grad_lock(impl()));
  previous = std::exchange(impl_->grad, grad.impl_ptr());
}

Tensor Tensor::grad() const {
  std::lock_guard<std::mutex> lock(grad_lock(impl()));
  return Tensor(impl_->grad);
}

std::mutex& grad_lock(const TensorImpl* impl) {
  static std::array<std::mutex, 64> locks;
  // >> 4: TensorImpls from make_shared are 16-byte aligned, so the low bits are all zero.
  return locks[(reinterpret_cast<uintptr_t>(impl) >> 4) % locks.size()];
}

Tensor Tensor::detach() const { return alias(shape()); }

Tensor Tensor::alias(const Shape& shape, int64_t extra_offset) const {
  // Every view is checked to lie inside its storage, so no view can reach past it.
  int64_t offset = impl_->offset + extra_offset;
  uint64_t capacity = impl_->storage->nbytes() / dtype_size(dtype());
  FG_CHECK(offset >= 0 && static_cast<uint64_t>(offset) <= capacity &&
               static_cast<uint64_t>(shape_numel(shape, "view")) <= capacity - offset,
           IndexError, "[view] shape " << shape << " at offset " << offset
                                       << " reaches past a storage of " << capacity
                                       << " elements");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = offset;
  impl->shape = shape;
  impl->dtype = impl_->dtype;
  impl->copy_of_view = impl_->copy_of_view;
  return Tensor(std::move(impl));
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  FG_CHECK(dim >= lo && dim <= hi, IndexError,
           "[" << op << "] dimension out of range (expected to be in [" << lo << ", " << hi
               << "], got " << dim << ")");
  return dim < 0 ? dim + (ndim == 0 ? 1 : ndim) : dim;
}

}  // namespace fg
