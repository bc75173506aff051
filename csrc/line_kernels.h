// The line kernels (csrc/line_math.h's functors over every line of (outer, n, inner)),
// defined once for both devices: csrc/cpu/reduce.cpp includes this inside namespace fg::cpu
// and csrc/cuda/reduce.cu inside fg::cuda, each after its for_each_line(name, lines,
// functor), which calls functor(line) for each line. Declarations: kernel_list.h. No
// includes, no guard.

// x (outer, n, inner) -> y (outer, n, inner), and indices for Max and Min
template <typename T>
void cumulative_forward(T* y, int64_t* indices, const T* x, Scan op, int64_t outer, int64_t n,
                        int64_t inner) {
  for_each_line("cumulative_forward", outer * inner,
                line::Cumulative<T>{y, indices, x, op, n, inner});
}
// dy, x, y (outer, n, inner) -> dx (outer, n, inner)
template <typename T>
void cumprod_backward(T* dx, const T* dy, const T* x, const T* y, int64_t outer, int64_t n,
                      int64_t inner) {
  for_each_line("cumprod_backward", outer * inner,
                line::CumprodBackward<T>{dx, dy, x, y, n, inner});
}
// x (outer, n, inner) -> y (outer, inner)
template <typename Out, typename T>
void prod_forward(Out* y, const T* x, int64_t outer, int64_t n, int64_t inner) {
  for_each_line("prod_forward", outer * inner, line::Product<Out, T>{y, x, n, inner});
}
// dy (outer, inner), x (outer, n, inner) -> dx (outer, n, inner)
template <typename T>
void prod_backward(T* dx, const T* dy, const T* x, int64_t outer, int64_t n, int64_t inner) {
  for_each_line("prod_backward", outer * inner, line::ProductBackward<T>{dx, dy, x, n, inner});
}

// x (outer, n, inner) -> values, indices (outer, n, inner), each line sorted; spare_values and
// spare_indices (outer, n, inner) are scratch
template <typename T>
void sort_forward(T* values, int64_t* indices, T* spare_values, int64_t* spare_indices, const T* x,
                  bool descending, int64_t outer, int64_t n, int64_t inner) {
  for_each_line(
      "sort_forward", outer * inner,
      line::SortLine<T>{values, indices, spare_values, spare_indices, x, descending, n, inner});
}
// x (outer, n, inner) -> values, indices (outer, k, inner), 1 <= k <= n
template <typename T>
void topk_forward(T* values, int64_t* indices, const T* x, bool largest, int64_t outer, int64_t n,
                  int64_t inner, int64_t k) {
  for_each_line("topk_forward", outer * inner,
                line::TopkLine<T>{values, indices, x, largest, n, k, inner});
}
// sorted, sorted_indices (outer, n, inner), ascending -> mode, mode_indices (outer, inner)
template <typename T>
void mode_forward(T* mode, int64_t* mode_indices, const T* sorted, const int64_t* sorted_indices,
                  int64_t outer, int64_t n, int64_t inner) {
  for_each_line("mode_forward", outer * inner,
                line::ModeLine<T>{mode, mode_indices, sorted, sorted_indices, n, inner});
}

// line::AlongDim from index's shape and the target's strides
static line::AlongDim along_dim(const int64_t* index_shape, const int64_t* target_strides, int ndim,
                                int dim) {
  FG_CHECK(
      ndim <= line::kMaxAlongDims, ValueError,
      "[gather] the kernels take at most " << line::kMaxAlongDims << " dimensions, got " << ndim);
  line::AlongDim g{};
  for (int d = 0; d < ndim; ++d)
    g.shape[d] = index_shape[d], g.target_strides[d] = target_strides[d];
  g.ndim = ndim, g.dim = dim;
  return g;
}
static int64_t lines_along(const int64_t* index_shape, int ndim, int dim) {
  int64_t lines = 1;
  for (int d = 0; d < ndim; ++d)
    if (d != dim) lines *= index_shape[d];
  return index_shape[dim] == 0 ? 0 : lines;
}
// x (x_strides, size along dim), index (index_shape) -> y (index_shape)
template <typename T>
void gather_along(T* y, const T* x, const int64_t* index, const int64_t* index_shape,
                  const int64_t* x_strides, int64_t size, int ndim, int dim) {
  for_each_line(
      "gather_along", lines_along(index_shape, ndim, dim),
      line::GatherLine<T>{y, x, index, along_dim(index_shape, x_strides, ndim, dim), size});
}
// src, index (index_shape) -> y (y_strides, size along dim), combined by op
template <typename T>
void scatter_along(T* y, const T* src, const int64_t* index, const int64_t* index_shape,
                   const int64_t* y_strides, int64_t size, int ndim, int dim, ScatterReduce op) {
  for_each_line(
      "scatter_along", lines_along(index_shape, ndim, dim),
      line::ScatterLine<T>{y, src, index, along_dim(index_shape, y_strides, ndim, dim), size, op});
}

FG_INSTANTIATE_LINE_KERNELS()
