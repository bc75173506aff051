// Joining and splitting along a dimension: cat and stack copy each input into its slice of
// one output (the strided copy, so views cost nothing extra); split, chunk and unbind are
// views (narrow, select).
#include <algorithm>

#include "core/error.h"
#include "core/promotion.h"
#include "ops/ops.h"

namespace fg::ops {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  FG_CHECK(!tensors.empty(), ValueError, "[cat] expected a non-empty list of tensors");
  // As PyTorch: 1-d empty tensors (shape (0,)) are skipped, whatever the others' shapes.
  std::vector<Tensor> parts;
  for (const Tensor& t : tensors)
    if (!(t.dim() == 1 && t.numel() == 0)) parts.push_back(t);
  if (parts.empty()) parts.push_back(tensors[0]);
  const Tensor& first = parts[0];
  FG_CHECK(first.dim() > 0, ValueError, "[cat] zero-dimensional tensors cannot be concatenated");
  int64_t d = wrap_dim(dim, first.dim(), "cat");
  DType dtype = first.dtype();
  Shape shape = first.shape();
  shape[d] = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& t = parts[i];
    check_same_device(first, t, "cat");
    FG_CHECK(t.dim() == first.dim(), ValueError,
             "[cat] expected tensors of " << first.dim() << " dimensions, got " << t.dim()
                                          << " for tensor " << i);
    for (int64_t k = 0; k < t.dim(); ++k)
      FG_CHECK(k == d || t.shape()[k] == first.shape()[k], ValueError,
               "[cat] sizes of tensors must match except in dimension "
                   << d << ": expected size " << first.shape()[k] << " but got size "
                   << t.shape()[k] << " for tensor " << i << " in dimension " << k);
    shape[d] += t.shape()[d];
    dtype = promote_types(dtype, t.dtype());
  }
  Tensor out = empty(shape, dtype, first.device());
  std::vector<int64_t> sizes;
  {
    NoGradGuard no_grad;  // the copies are this op's, recorded below as one node
    int64_t offset = 0;
    for (const Tensor& t : parts) {
      Tensor slot = narrow(out, d, offset, t.shape()[d]);
      copy_(slot, t);
      sizes.push_back(t.shape()[d]);
      offset += t.shape()[d];
    }
  }
  std::vector<DType> dtypes;
  for (const Tensor& t : parts) dtypes.push_back(t.dtype());
  // Each input's gradient: its slice of dout, in its own dtype.
  record(out, "cat", parts, [d, sizes, dtypes](const Tensor& dout) {
    std::vector<Tensor> grads;
    int64_t offset = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      grads.push_back(to_dtype(contiguous(narrow(dout, d, offset, sizes[i])), dtypes[i]));
      offset += sizes[i];
    }
    return grads;
  });
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  FG_CHECK(!tensors.empty(), ValueError, "[stack] expected a non-empty list of tensors");
  int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> rows;
  for (size_t i = 0; i < tensors.size(); ++i) {
    FG_CHECK(tensors[i].shape() == tensors[0].shape(), ValueError,
             "[stack] expects each tensor to be equal size, but got "
                 << tensors[0].shape() << " at entry 0 and " << tensors[i].shape() << " at entry "
                 << i);
    rows.push_back(unsqueeze(tensors[i], d));
  }
  return cat(rows, d);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  FG_CHECK(x.dim() > 0, ValueError, "[split] expected a tensor with at least one dimension");
  int64_t d = wrap_dim(dim, x.dim(), "split"), total = 0;
  for (int64_t size : sizes) {
    FG_CHECK(size >= 0, ValueError, "[split] expected sizes >= 0, got " << size);
    total += size;
  }
  FG_CHECK(total == x.shape()[d], ValueError,
           "[split] split sizes must add up to the size " << x.shape()[d] << " of dimension " << d
                                                          << ", got " << total);
  std::vector<Tensor> parts;
  int64_t offset = 0;
  for (int64_t size : sizes) {
    parts.push_back(narrow(x, d, offset, size));
    offset += size;
  }
  return parts;
}

// Pieces of split_size along dim, the last smaller if the size does not divide.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  FG_CHECK(x.dim() > 0, ValueError, "[split] expected a tensor with at least one dimension");
  int64_t n = x.shape()[wrap_dim(dim, x.dim(), "split")];
  FG_CHECK(split_size > 0 || (split_size == 0 && n == 0), ValueError,
           "[split] expected a split_size > 0, got " << split_size);
  std::vector<int64_t> sizes;
  for (int64_t offset = 0; offset < n; offset += split_size)
    sizes.push_back(std::min(split_size, n - offset));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  FG_CHECK(chunks > 0, ValueError, "[chunk] expected chunks > 0, got " << chunks);
  FG_CHECK(x.dim() > 0, ValueError, "[chunk] expected a tensor with at least one dimension");
  int64_t n = x.shape()[wrap_dim(dim, x.dim(), "chunk")];
  return split(x, std::max<int64_t>(1, (n + chunks - 1) / chunks), dim);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  FG_CHECK(x.dim() > 0, ValueError, "[unbind] expected a tensor with at least one dimension");
  int64_t d = wrap_dim(dim, x.dim(), "unbind");
  std::vector<Tensor> parts;
  for (int64_t i = 0; i < x.shape()[d]; ++i) parts.push_back(select(x, d, i));
  return parts;
}

}  // namespace fg::ops
