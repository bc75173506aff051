// conv2d on the CPU, on the packed GEMM (csrc/cpu/gemm.cpp). The output positions are taken
// a tile at a time: several small images, or rows of one large one, whose im2col columns
// (C kh kw, tile positions) stay in L2 beside the GEMM's packed panels; each group's weights
// multiply them. A 1x1 stride-1 convolution skips im2col: the image is its columns matrix.
// Threads take shares of the batch when each gets enough work (each share's GEMMs then run
// on one thread); otherwise the images run in turn and the GEMM threads within each.
// Backward, per tile: dweight += dy_tile @ columns^T into a partial sum per share of the
// batch, the partials added in share order (so the result does not depend on timing), and
// dx += col2im(weight^T @ dy_tile).
#include <algorithm>
#include <type_traits>
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

// kColumns: a tile's im2col columns (or their gradient); kTileRows: its (O, positions) rows
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

// A tile of output positions: rows [first_row, first_row + rows) of images [first_image,
// first_image + images); several images only when they are whole (rows = out_h). Its
// columns are (C kh kw, positions()), image k's block of block() positions at k block().
struct Tile {
  int64_t first_image, images, first_row, rows, out_w;
  int64_t block() const { return rows * out_w; }
  int64_t positions() const { return images * block(); }
};

// How a share of the batch is cut into tiles: whole images, as many as keep their columns
// within kTileBytes, or rows of one image when one image's columns are more. A 1x1
// stride-1 convolution takes one whole image at a time: its columns are the image.
struct TilePlan {
  int64_t images, rows;
};

template <typename T>
TilePlan tile_plan(const ConvGeometry& g) {
  const Im2colGeometry& im = g.image;
  if (g.pointwise()) return {1, im.out_h};
  int64_t row_bytes = std::max<int64_t>(im.rows() * im.out_w * int64_t(sizeof(T)), 1);
  int64_t rows = std::clamp<int64_t>(kTileBytes / row_bytes, 1, im.out_h);
  if (rows < im.out_h) return {1, rows};
  return {std::max<int64_t>(kTileBytes / (row_bytes * im.out_h), 1), im.out_h};
}

// The first and one-past-last kernel positions along an axis whose tap, at offset `first`
// from position 0 and `stride` apart, lands inside [0, size).
std::pair<int64_t, int64_t> inside_positions(int64_t first, int64_t stride, int64_t size,
                                             int64_t out) {
  int64_t begin = first >= 0 ? 0 : (-first + stride - 1) / stride;
  int64_t end = first >= size ? 0 : (size - 1 - first) / stride + 1;
  return {std::min(begin, out), std::max(std::min(begin, out), std::min(end, out))};
}

// Calls visit(column, pixels, first_w, w_begin, w_end) for each output row of the tile in
// each column row (c, i, j) of each of its images: column points at that row's out_w
// entries, pixels at the image row its tap reads (null when that lies in the padding), whose
// pixel first_w + ow stride_w is read at positions ow in [w_begin, w_end) (the rest padding).
template <typename Column, typename Pixel, typename Visit>
void for_each_tap_row(Column* columns, Pixel* x, const Im2colGeometry& im, const Tile& tile,
                      const Visit& visit) {
  int64_t ld = tile.positions(), plane = im.height * im.width;
  for (int64_t k = 0; k < tile.images; ++k)
    for (int64_t c = 0; c < im.channels; ++c)
      for (int64_t i = 0; i < im.kernel_h; ++i) {
        int64_t first_h = tile.first_row * im.stride_h - im.pad_h + i * im.dilation_h;
        auto [r_begin, r_end] = inside_positions(first_h, im.stride_h, im.height, tile.rows);
        Pixel* image_plane = x + ((tile.first_image + k) * im.channels + c) * plane;
        for (int64_t j = 0; j < im.kernel_w; ++j) {
          int64_t row = (c * im.kernel_h + i) * im.kernel_w + j;
          Column* line = columns + row * ld + k * tile.block();
          int64_t first_w = j * im.dilation_w - im.pad_w;
          auto [w_begin, w_end] = inside_positions(first_w, im.stride_w, im.width, im.out_w);
          for (int64_t r = 0; r < tile.rows; ++r) {
            bool inside = r >= r_begin && r < r_end;
            visit(line + r * im.out_w,
                  inside ? image_plane + (first_h + r * im.stride_h) * im.width : nullptr,
                  first_w, w_begin, w_end);
          }
        }
      }
}

// columns (C kh kw, tile positions) = the tile's im2col of x (N, C, H, W)
template <typename T>
void gather_columns(T* columns, const T* x, const Im2colGeometry& im, const Tile& tile) {
  int64_t stride = im.stride_w, out_w = im.out_w;
  for_each_tap_row(columns, x, im, tile,
                   [&](T* column, const T* pixels, int64_t first_w, int64_t w_begin,
                       int64_t w_end) {
                     if (!pixels) return std::fill(column, column + out_w, T(0));
                     std::fill(column, column + w_begin, T(0));
                     const T* source = pixels + first_w;
                     if (stride == 1)
                       std::copy(source + w_begin, source + w_end, column + w_begin);
                     else
                       for (int64_t ow = w_begin; ow < w_end; ++ow)
                         column[ow] = source[ow * stride];
                     std::fill(column + w_end, column + out_w, T(0));
                   });
}

// dx (N, C, H, W) += im2col's adjoint of the tile's columns: each entry added to the pixel
// gather_columns took it from
template <typename T>
void scatter_columns(T* dx, const T* columns, const Im2colGeometry& im, const Tile& tile) {
  int64_t stride = im.stride_w;
  for_each_tap_row(columns, dx, im, tile,
                   [&](const T* column, T* pixels, int64_t first_w, int64_t w_begin,
                       int64_t w_end) {
                     if (!pixels) return;
                     T* target = pixels + first_w;
                     for (int64_t ow = w_begin; ow < w_end; ++ow)
                       target[ow * stride] += column[ow];
                   });
}

// Between an (N, O, L) tensor and a tile's (O, tile positions) rows, image k's block of each
// channel: a const tensor (dy) is read into the tile, a mutable one (y) written from it.
template <typename T, typename TensorElement>
void copy_tile_rows(T* tile_rows, TensorElement* tensor, int64_t out_channels, int64_t positions,
                    const Tile& tile) {
  int64_t block = tile.block(), ld = tile.positions();
  for (int64_t k = 0; k < tile.images; ++k)
    for (int64_t o = 0; o < out_channels; ++o) {
      T* in_tile = tile_rows + o * ld + k * block;
      TensorElement* in_tensor = tensor + ((tile.first_image + k) * out_channels + o) * positions +
                                 tile.first_row * tile.out_w;
      if constexpr (std::is_const_v<TensorElement>)
        std::copy(in_tensor, in_tensor + block, in_tile);
      else
        std::copy(in_tile, in_tile + block, in_tensor);
    }
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

// Calls tile_body(tile) for each tile of images [begin, end), in order.
template <typename Body>
void for_each_tile(int64_t begin, int64_t end, const TilePlan& plan, int64_t out_h,
                   int64_t out_w, const Body& tile_body) {
  for (int64_t n = begin; n < end; n += plan.images)
    for (int64_t first_row = 0; first_row < out_h; first_row += plan.rows)
      tile_body(Tile{n, std::min(plan.images, end - n), first_row,
                     std::min(plan.rows, out_h - first_row), out_w});
}

// x (N, C, H, W), weight (O, C / groups, kh, kw), bias (O) or null -> y (N, O, out_h, out_w)
template <typename T>
void conv2d_forward(T* y, const T* x, const T* weight, const T* bias,
                    const ConvGeometry& geometry, int64_t batch) {
  const ConvGeometry g = geometry;
  const Im2colGeometry& im = g.image;
  int64_t L = im.positions(), O = g.out_channels, Og = g.group_outputs(), Kg = g.group_rows();
  TilePlan plan = tile_plan<T>(g);
  int64_t shares = batch_shares(batch, O * Kg * L);
  parallel_for(shares, 1, [&](int64_t share_begin, int64_t share_end) {
    auto tile_body = [&](const Tile& tile) {
      int64_t tp = tile.positions();
      const T* columns = x + tile.first_image * im.image_size();  // pointwise: the image
      if (!g.pointwise()) {
        T* buffer = thread_buffer<T>(kColumns, im.rows() * tp);
        gather_columns(buffer, x, im, tile);
        columns = buffer;
      }
      bool whole = tp == L;  // one whole image: the GEMM writes y itself
      T* target = whole ? y + tile.first_image * O * L : thread_buffer<T>(kTileRows, O * tp);
      if (bias)
        for (int64_t o = 0; o < O; ++o) std::fill(target + o * tp, target + (o + 1) * tp, bias[o]);
      for (int64_t group = 0; group < g.groups; ++group)
        gemm(target + group * Og * tp, weight + group * Og * Kg, columns + group * Kg * tp,
             static_cast<const T*>(nullptr), false, false, false, bias != nullptr, Og, tp, Kg);
      if (!whole) copy_tile_rows(target, y, O, L, tile);
    };
    for_each_tile(share_begin * batch / shares, share_end * batch / shares, plan, im.out_h,
                  im.out_w, tile_body);
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
  TilePlan plan = tile_plan<T>(g);
  int64_t work = (dx ? 1 : 0) + (dweight ? 1 : 0);
  int64_t shares = batch_shares(batch, work * O * Kg * L), weight_size = O * Kg;
  // share 0 sums into dweight itself, share s > 0 into partials[s - 1]
  std::vector<T> partials(dweight ? (shares - 1) * weight_size : 0);
  parallel_for(shares, 1, [&](int64_t share_begin, int64_t share_end) {
    for (int64_t share = share_begin; share < share_end; ++share) {
      int64_t begin = share * batch / shares, end = (share + 1) * batch / shares;
      T* dw = !dweight     ? nullptr
              : share == 0 ? dweight
                           : partials.data() + (share - 1) * weight_size;
      if (dw) std::fill(dw, dw + weight_size, T(0));
      if (dx && !g.pointwise())
        std::fill(dx + begin * im.image_size(), dx + end * im.image_size(), T(0));
      auto tile_body = [&](const Tile& tile) {
        int64_t tp = tile.positions();
        const T* dy_tile = dy + tile.first_image * O * L;
        if (tp != L) {
          T* buffer = thread_buffer<T>(kTileRows, O * tp);
          copy_tile_rows(buffer, dy, O, L, tile);
          dy_tile = buffer;
        }
        if (g.pointwise()) {  // one whole image, its own columns: dx is the columns' gradient
          const T* image = x + tile.first_image * im.image_size();
          T* dx_image = dx ? dx + tile.first_image * im.image_size() : nullptr;
          for (int64_t group = 0; group < g.groups; ++group) {
            const T* dy_group = dy_tile + group * Og * tp;
            if (dw)
              gemm(dw + group * Og * Kg, dy_group, image + group * Kg * L,
                   static_cast<const T*>(nullptr), false, false, true, true, Og, Kg, tp);
            if (dx_image)
              gemm(dx_image + group * Kg * L, weight + group * Og * Kg, dy_group,
                   static_cast<const T*>(nullptr), false, true, false, false, Kg, tp, Og);
          }
          return;
        }
        T* columns = thread_buffer<T>(kColumns, im.rows() * tp);
        if (dw) {
          gather_columns(columns, x, im, tile);
          for (int64_t group = 0; group < g.groups; ++group)
            gemm(dw + group * Og * Kg, dy_tile + group * Og * tp, columns + group * Kg * tp,
                 static_cast<const T*>(nullptr), false, false, true, true, Og, Kg, tp);
        }
        if (dx) {  // the columns' gradient, then back onto the images' pixels
          for (int64_t group = 0; group < g.groups; ++group)
            gemm(columns + group * Kg * tp, weight + group * Og * Kg, dy_tile + group * Og * tp,
                 static_cast<const T*>(nullptr), false, true, false, false, Kg, tp, Og);
          scatter_columns(dx, columns, im, tile);
        }
      };
      for_each_tile(begin, end, plan, im.out_h, im.out_w, tile_body);
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
