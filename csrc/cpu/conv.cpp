// conv2d on the CPU, on the packed GEMM (csrc/cpu/gemm.cpp). An image's output rows are taken
// a tile at a time: the tile's im2col columns (C kh kw, tile positions) are sized to stay in
// L2 beside the GEMM's packed panels, and each group's weights multiply them. A 1x1 stride-1
// convolution skips im2col: the image is its columns matrix. Threads take shares of the
// batch when each gets enough work (each share's GEMMs then run on one thread); otherwise the
// images run in turn and the GEMM threads within each.
// Backward, per tile: dweight += dy_tile @ columns^T into a partial sum per share of the
// batch, the partials added in share order (so the result does not depend on timing), and
// dx += col2im(weight^T @ dy_tile).
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/parallel.h"
#include "kernels.h"

namespace fg::cpu {
namespace {

// Bytes of im2col columns a tile may take: half of a 1 MiB L2 (Zen 3/4), the rest for the
// GEMM's packed weights and the output tile.
constexpr int64_t kTileBytes = 512 * 1024;
// Multiply-adds below which a share of the batch is not worth a thread (the GEMM's rule).
constexpr int64_t kMinMultiplyAddsPerThread = int64_t(1) << 21;

enum BufferSlot { kColumns = 0, kTileRows = 1 };

// A thread's scratch of each kind, grown on demand and kept for the thread's life, so that a
// training step in steady state allocates nothing.
template <typename T>
T* thread_buffer(BufferSlot slot, int64_t elements) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& buffer = buffers[slot];
  if (static_cast<int64_t>(buffer.size()) < elements) buffer.resize(elements);
  return buffer.data();
}

// Output rows [first_row, first_row + rows) of an image: the geometry im2col sees for them
// (the padding shifted by the rows before, so it may be negative) and their positions.
struct RowTile {
  Im2colGeometry geometry;
  int64_t first_position, positions;
};

RowTile row_tile(const Im2colGeometry& g, int64_t first_row, int64_t rows) {
  Im2colGeometry tile = g;
  tile.pad_h = g.pad_h - first_row * g.stride_h;
  tile.out_h = rows;
  return {tile, first_row * g.out_w, rows * g.out_w};
}

// Output rows a tile takes: as many as keep its columns within kTileBytes, at least one.
template <typename T>
int64_t rows_per_tile(const ConvGeometry& g) {
  if (g.pointwise()) return g.image.out_h;
  int64_t row_bytes = g.image.rows() * g.image.out_w * int64_t(sizeof(T));
  return std::clamp<int64_t>(kTileBytes / std::max<int64_t>(row_bytes, 1), 1, g.image.out_h);
}

// The first and one-past-last kernel positions along an axis whose tap, at offset `first`
// from position 0 and `stride` apart, lands inside [0, size).
std::pair<int64_t, int64_t> inside_positions(int64_t first, int64_t stride, int64_t size,
                                             int64_t out) {
  int64_t begin = first >= 0 ? 0 : (-first + stride - 1) / stride;
  int64_t end = first >= size ? 0 : (size - 1 - first) / stride + 1;
  return {begin, std::max(begin, std::min(end, out))};
}

// image (C, H, W) += im2col's adjoint of columns (C kh kw, out_h out_w): each entry added to
// the pixel im2col took it from
template <typename T>
void add_columns(T* image, const T* columns, const Im2colGeometry& g) {
  int64_t positions = g.positions();
  for (int64_t c = 0; c < g.channels; ++c) {
    T* plane = image + c * g.height * g.width;
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      auto [oh_begin, oh_end] =
          inside_positions(i * g.dilation_h - g.pad_h, g.stride_h, g.height, g.out_h);
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        const T* line = columns + ((c * g.kernel_h + i) * g.kernel_w + j) * positions;
        int64_t first_w = j * g.dilation_w - g.pad_w;
        auto [ow_begin, ow_end] = inside_positions(first_w, g.stride_w, g.width, g.out_w);
        for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
          T* target = plane + (oh * g.stride_h - g.pad_h + i * g.dilation_h) * g.width + first_w;
          const T* source = line + oh * g.out_w;
          for (int64_t ow = ow_begin; ow < ow_end; ++ow) target[ow * g.stride_w] += source[ow];
        }
      }
    }
  }
}

// rows (count, tile) -> the columns [first, first + tile) of rows (count, stride): a tile's
// outputs into the image's, or (reversed) the image's dy into a tile's
template <typename T>
void copy_rows(T* to, int64_t to_stride, const T* from, int64_t from_stride, int64_t count,
               int64_t width) {
  for (int64_t r = 0; r < count; ++r)
    std::memcpy(to + r * to_stride, from + r * from_stride, width * sizeof(T));
}

// The number of shares the batch is split into: one a thread while each gets enough work.
int64_t batch_shares(int64_t batch, int64_t multiply_adds_per_image) {
  int64_t grain = std::max<int64_t>(
      1, kMinMultiplyAddsPerThread / std::max<int64_t>(multiply_adds_per_image, 1));
  return std::clamp<int64_t>(batch / grain, 1, std::max<int64_t>(thread_count(), 1));
}

// dbias (O) = dy (N, O, L) summed over the batch and positions, each channel in order
template <typename T>
void bias_gradient(T* dbias, const T* dy, int64_t out_channels, int64_t positions,
                   int64_t batch) {
  parallel_for(out_channels, kElementwiseGrain / std::max<int64_t>(batch * positions, 1),
               [&](int64_t begin, int64_t end) {
                 for (int64_t o = begin; o < end; ++o) {
                   T sum = T(0);
                   for (int64_t n = 0; n < batch; ++n) {
                     const T* line = dy + (n * out_channels + o) * positions;
                     for (int64_t p = 0; p < positions; ++p) sum += line[p];
                   }
                   dbias[o] = sum;
                 }
               });
}

}  // namespace

// x (N, C, H, W), weight (O, C / groups, kh, kw), bias (O) or null -> y (N, O, out_h, out_w)
template <typename T>
void conv2d_forward(T* y, const T* x, const T* weight, const T* bias,
                    const ConvGeometry& geometry, int64_t batch) {
  const ConvGeometry g = geometry;
  const Im2colGeometry& im = g.image;
  int64_t L = im.positions(), O = g.out_channels, Og = g.group_outputs(), Kg = g.group_rows();
  int64_t tile_rows = rows_per_tile<T>(g), shares = batch_shares(batch, O * Kg * L);
  parallel_for(shares, 1, [&](int64_t share_begin, int64_t share_end) {
    for (int64_t n = share_begin * batch / shares; n < share_end * batch / shares; ++n) {
      const T* image = x + n * im.image_size();
      T* out = y + n * O * L;
      for (int64_t first_row = 0; first_row < im.out_h; first_row += tile_rows) {
        RowTile tile = row_tile(im, first_row, std::min(tile_rows, im.out_h - first_row));
        int64_t tp = tile.positions;
        const T* columns = image;
        if (!g.pointwise()) {
          T* buffer = thread_buffer<T>(kColumns, im.rows() * tp);
          im2col(buffer, image, tile.geometry, 1);
          columns = buffer;
        }
        bool whole = tp == L;  // the tile is the image: the GEMM writes y itself
        T* target = whole ? out : thread_buffer<T>(kTileRows, O * tp);
        if (bias)
          for (int64_t o = 0; o < O; ++o) std::fill(target + o * tp, target + (o + 1) * tp, bias[o]);
        for (int64_t group = 0; group < g.groups; ++group)
          gemm(target + group * Og * tp, weight + group * Og * Kg, columns + group * Kg * tp,
               static_cast<const T*>(nullptr), false, false, false, bias != nullptr, Og, tp, Kg);
        if (!whole) copy_rows(out + tile.first_position, L, target, tp, O, tp);
      }
    }
  });
}

// dy (N, O, out_h, out_w) -> dx (N, C, H, W), dweight (O, C / groups, kh, kw), dbias (O),
// each null when not wanted
template <typename T>
void conv2d_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* weight,
                     const ConvGeometry& geometry, int64_t batch) {
  const ConvGeometry g = geometry;
  const Im2colGeometry& im = g.image;
  int64_t L = im.positions(), O = g.out_channels, Og = g.group_outputs(), Kg = g.group_rows();
  if (dbias) bias_gradient(dbias, dy, O, L, batch);
  if (!dx && !dweight) return;
  int64_t tile_rows = rows_per_tile<T>(g);
  int64_t work = (dx ? 1 : 0) + (dweight ? 1 : 0);
  int64_t shares = batch_shares(batch, work * O * Kg * L), weight_size = O * Kg;
  // share 0 sums into dweight itself, share s > 0 into partials[s - 1]
  std::vector<T> partials(dweight ? (shares - 1) * weight_size : 0);
  parallel_for(shares, 1, [&](int64_t share_begin, int64_t share_end) {
    for (int64_t share = share_begin; share < share_end; ++share) {
      T* dw = !dweight ? nullptr : share == 0 ? dweight : partials.data() + (share - 1) * weight_size;
      if (dw) std::fill(dw, dw + weight_size, T(0));
      for (int64_t n = share * batch / shares; n < (share + 1) * batch / shares; ++n) {
        const T* image = x + n * im.image_size();
        const T* dy_image = dy + n * O * L;
        T* dx_image = dx ? dx + n * im.image_size() : nullptr;
        if (dx_image && !g.pointwise()) std::fill(dx_image, dx_image + im.image_size(), T(0));
        for (int64_t first_row = 0; first_row < im.out_h; first_row += tile_rows) {
          RowTile tile = row_tile(im, first_row, std::min(tile_rows, im.out_h - first_row));
          int64_t tp = tile.positions;
          const T* dy_tile = dy_image;
          if (tp != L) {
            T* buffer = thread_buffer<T>(kTileRows, O * tp);
            copy_rows(buffer, tp, dy_image + tile.first_position, L, O, tp);
            dy_tile = buffer;
          }
          if (g.pointwise()) {  // columns = the image, dx = the columns' gradient
            for (int64_t group = 0; group < g.groups; ++group) {
              const T* dy_group = dy_tile + group * Og * tp;
              if (dw)
                gemm(dw + group * Og * Kg, dy_group, image + group * Kg * L,
                     static_cast<const T*>(nullptr), false, false, true, true, Og, Kg, tp);
              if (dx_image)
                gemm(dx_image + group * Kg * L, weight + group * Og * Kg, dy_group,
                     static_cast<const T*>(nullptr), false, true, false, false, Kg, tp, Og);
            }
            continue;
          }
          T* columns = thread_buffer<T>(kColumns, im.rows() * tp);
          if (dw) {
            im2col(columns, image, tile.geometry, 1);
            for (int64_t group = 0; group < g.groups; ++group)
              gemm(dw + group * Og * Kg, dy_tile + group * Og * tp, columns + group * Kg * tp,
                   static_cast<const T*>(nullptr), false, false, true, true, Og, Kg, tp);
          }
          if (dx_image) {  // the columns' gradient, then back onto the image's pixels
            for (int64_t group = 0; group < g.groups; ++group)
              gemm(columns + group * Kg * tp, weight + group * Og * Kg, dy_tile + group * Og * tp,
                   static_cast<const T*>(nullptr), false, true, false, false, Kg, tp, Og);
            add_columns(dx_image, columns, tile.geometry);
          }
        }
      }
    }
  });
  if (dweight)
    for (int64_t share = 1; share < shares; ++share) {
      const T* partial = partials.data() + (share - 1) * weight_size;
      for (int64_t e = 0; e < weight_size; ++e) dweight[e] += partial[e];
    }
}

FG_INSTANTIATE_CONV()

}  // namespace fg::cpu
