// im2col / col2im on the GPU: a thread per output element running the entries of
// csrc/im2col_math.h, the CPU's code. col2im gathers each pixel's sum, so no atomics.
#include "cuda/launch.cuh"
#include "im2col_math.h"
#include "kernels.h"

namespace fg::cuda {

// images (N, C, H, W) -> columns (N, C kh kw, out_h out_w)
template <typename T>
void im2col(T* columns, const T* images, const Im2colGeometry& geometry, int64_t batch) {
  const Im2colGeometry g = geometry;
  int64_t positions = g.positions(), column_size = g.rows() * positions;
  launch_for_each("im2col", batch * column_size, [=] __device__(int64_t e) {
    int64_t n = e / column_size, within = e % column_size;
    columns[e] = im2col::column_entry(g, images + n * g.image_size(), within / positions,
                                      within % positions);
  });
}

// columns (N, C kh kw, out_h out_w) -> images (N, C, H, W)
template <typename T>
void col2im(T* images, const T* columns, const Im2colGeometry& geometry, int64_t batch) {
  const Im2colGeometry g = geometry;
  int64_t image_size = g.image_size(), column_size = g.rows() * g.positions();
  launch_for_each("col2im", batch * image_size, [=] __device__(int64_t q) {
    images[q] = im2col::pixel_sum(g, columns + (q / image_size) * column_size, q % image_size);
  });
}

FG_INSTANTIATE_IM2COL()

}  // namespace fg::cuda
