// im2col / col2im on the CPU: the entries of csrc/im2col_math.h, threads over rows of the
// columns (im2col) and over pixels (col2im), each writing only its own outputs.
#include <algorithm>

#include "cpu/parallel.h"
#include "im2col_math.h"
#include "kernels.h"

namespace fg::cpu {

// images (N, C, H, W) -> columns (N, C kh kw, out_h out_w)
template <typename T>
void im2col(T* columns, const T* images, const Im2colGeometry& geometry, int64_t batch) {
  const Im2colGeometry g = geometry;
  int64_t rows = g.rows(), positions = g.positions();
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(positions, 1));
  parallel_for(batch * rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* image = images + (r / rows) * g.image_size();
      T* line = columns + r * positions;
      for (int64_t p = 0; p < positions; ++p) line[p] = im2col::column_entry(g, image, r % rows, p);
    }
  });
}

// columns (N, C kh kw, out_h out_w) -> images (N, C, H, W)
template <typename T>
void col2im(T* images, const T* columns, const Im2colGeometry& geometry, int64_t batch) {
  const Im2colGeometry g = geometry;
  int64_t image_size = g.image_size(), column_size = g.rows() * g.positions();
  int64_t taps = std::max<int64_t>(g.kernel_h * g.kernel_w, 1);
  parallel_for(batch * image_size, std::max<int64_t>(1, kElementwiseGrain / taps),
               [&](int64_t begin, int64_t end) {
                 for (int64_t q = begin; q < end; ++q)
                   images[q] = im2col::pixel_sum(g, columns + (q / image_size) * column_size,
                                                 q % image_size);
               });
}

FG_INSTANTIATE_IM2COL()

}  // namespace fg::cpu
