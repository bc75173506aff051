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
    FG_CHECK(
        shape[d] == 0 || (!__builtin_mul_overflow(nonzero_product, shape[d], &nonzero_product) &&
                          nonzero_product <= kMaxNumel),
        ValueError,
        "[" << op << "] shape " << shape << " counts more than " << kMaxNumel
            << " elements (its sizes other than 0 multiplied), more than a tensor can hold");
  }
  return has_zero ? 0 : nonzero_product;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    strides[k] = stride;
    stride *= std::max<int64_t>(shape[k], 1);  // fits: shape_numel checked the shape
  }
  return strides;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  int64_t numel = shape_numel(shape, "empty");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(static_cast<size_t>(numel) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype) {
  FG_CHECK(static_cast<uint64_t>(shape_numel(shape, "from_storage")) <=
               storage->nbytes() / dtype_size(dtype),
           ValueError,
           "[from_storage] shape " << shape << " needs more than the " << storage->nbytes()
                                   << " bytes given");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t k = impl_->shape.size(); k-- > 0;) {
    if (impl_->shape[k] == 0) return true;
    if (impl_->shape[k] == 1) continue;
    if (impl_->strides[k] != expected) return false;
    expected *= impl_->shape[k];
  }
  return true;
}

void* Tensor::raw_data() const {
  FG_CHECK(is_contiguous(), RuntimeError,
           "[kernel] internal: a non-contiguous tensor (shape "
               << shape() << ", strides " << strides()
               << ") was passed to a kernel; the op must call ops::contiguous");
  return strided_data();
}

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
             "[grad] expected a gradient on " << device().str() << ", got " << grad.device().str());
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

Tensor Tensor::detach() const { return as_strided(shape(), strides(), storage_offset()); }

Tensor Tensor::as_strided(const Shape& shape, const Shape& strides, int64_t offset,
                          const char* op) const {
  // Every view is checked to lie inside its storage, so no view can reach past it: the last
  // element it reaches, offset + sum((size - 1) * stride), must be below the capacity.
  FG_CHECK(shape.size() == strides.size(), ValueError,
           "[" << op << "] expected one stride per dimension, got shape " << shape
               << " and strides " << strides);
  int64_t numel = shape_numel(shape, op);
  uint64_t capacity = impl_->storage->nbytes() / dtype_size(dtype());
  int64_t last = offset;
  bool fits = offset >= 0;
  for (size_t d = 0; d < shape.size() && fits && numel > 0; ++d) {
    int64_t reach = 0;
    fits = strides[d] >= 0 && !__builtin_mul_overflow(shape[d] - 1, strides[d], &reach) &&
           !__builtin_add_overflow(last, reach, &last);
  }
  // An empty view reaches nothing (PyTorch checks no bounds then); its offset is kept inside
  // the storage all the same, so that its pointer stays one into the buffer.
  if (numel == 0 && fits) offset = std::min<int64_t>(offset, static_cast<int64_t>(capacity));
  FG_CHECK(fits && (numel == 0 || static_cast<uint64_t>(last) < capacity), IndexError,
           "[" << op << "] shape " << shape << " with strides " << strides << " at offset "
               << offset << " reaches past a storage of " << capacity << " elements");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = offset;
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::alias(const Shape& shape, int64_t extra_offset) const {
  return as_strided(shape, contiguous_strides(shape), impl_->offset + extra_offset, "view");
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  FG_CHECK(dim >= lo && dim <= hi, IndexError,
           "[" << op << "] dimension out of range (expected to be in [" << lo << ", " << hi
               << "], got " << dim << ")");
  return dim < 0 ? dim + (ndim == 0 ? 1 : ndim) : dim;
}

}  // namespace fg
