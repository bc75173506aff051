// conv2d on the CPU, on the packed GEMM (csrc/cpu/gemm.cpp). The output positions are taken
// a tile at a time: several small images, or rows of one large one; the threads share out
// the tiles, each tile's GEMMs on one thread. Where the convolution has stride 1 along rows
// of a multiple of the GEMM's panel width NR, each B panel of the im2col is NR neighbours of
// one output row, copied from a zero-padded image into L1 right before the micro-kernels
// read it, against weights packed once a call (csrc/cpu/gemm_packed.h). Otherwise the tile's
// im2col columns (C kh kw, tile positions) are gathered into an L2-sized matrix for the
// plain GEMM; a 1x1 stride-1 convolution's columns are the image itself.
// Backward: dweight += dy_tile @ columns^T per tile (on panels transposed from the padded
// image where the forward takes panels), into a partial sum per share of the batch, the
// partials added in share order (so the result does not depend on timing). dx of a stride-1
// convolution whose own rows are panels is the convolution of dy by the flipped, transposed
// weights; otherwise dx += col2im(weight^T @ dy_tile).
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "cpu/gemm_packed.h"
#include "cpu/parallel.h"
#include "kernels.h"

#ifdef __SSE2__
#include <xmmintrin.h>
#endif

namespace fg::cpu {
namespace {

// Bytes of im2col columns a tile may take: half of a 1 MiB L2 (Zen 3/4), the rest for the
// GEMM's packed weights and the output tile.
constexpr int64_t kTileBytes = 512 * 1024;
// Multiply-adds below which a share of the batch is not worth a thread (the GEMM's rule).
constexpr int64_t kMinMultiplyAddsPerThread = int64_t(1) << 21;

// kColumns: a tile's im2col columns (or their gradient); kTileRows: its (O, positions) rows;
// kPadded: a zero-padded copy of an image; kPackedRows: tile rows packed as a GEMM's A;
// kPanel: a GEMM B panel, 64-byte aligned for the micro-kernels' aligned loads (AVX-512)
enum BufferSlot { kColumns = 0, kTileRows = 1, kPadded = 2, kPackedRows = 3, kPanel = 4 };
constexpr int64_t kPanelAlignment = 64;

// A thread's scratch of each kind, grown on demand and kept for the thread's life, so that a
// training step in steady state allocates nothing.
template <typename T>
T* thread_buffer(BufferSlot slot, int64_t elements) {
  thread_local std::vector<T> buffers[5];
  std::vector<T>& buffer = buffers[slot];
  int64_t spare = slot == kPanel ? kPanelAlignment / int64_t(sizeof(T)) : 0;
  if (static_cast<int64_t>(buffer.size()) < elements + spare) buffer.resize(elements + spare);
  auto address = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + (slot == kPanel ? (-address % kPanelAlignment) / sizeof(T) : 0);
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
                  inside ? image_plane + (first_h + r * im.stride_h) * im.width : nullptr, first_w,
                  w_begin, w_end);
          }
        }
      }
}

// columns (C kh kw, tile positions) = the tile's im2col of x (N, C, H, W)
template <typename T>
void gather_columns(T* columns, const T* x, const Im2colGeometry& im, const Tile& tile) {
  int64_t stride = im.stride_w, out_w = im.out_w;
  for_each_tap_row(
      columns, x, im, tile,
      [&](T* column, const T* pixels, int64_t first_w, int64_t w_begin, int64_t w_end) {
        if (!pixels) return std::fill(column, column + out_w, T(0));
        std::fill(column, column + w_begin, T(0));
        const T* source = pixels + first_w;
        if (stride == 1)
          std::copy(source + w_begin, source + w_end, column + w_begin);
        else
          for (int64_t ow = w_begin; ow < w_end; ++ow) column[ow] = source[ow * stride];
        std::fill(column + w_end, column + out_w, T(0));
      });
}

// dx (N, C, H, W) += im2col's adjoint of the tile's columns: each entry added to the pixel
// gather_columns took it from
template <typename T>
void scatter_columns(T* dx, const T* columns, const Im2colGeometry& im, const Tile& tile) {
  int64_t stride = im.stride_w;
  for_each_tap_row(
      columns, dx, im, tile,
      [&](const T* column, T* pixels, int64_t first_w, int64_t w_begin, int64_t w_end) {
        if (!pixels) return;
        T* target = pixels + first_w;
        for (int64_t ow = w_begin; ow < w_end; ++ow) target[ow * stride] += column[ow];
      });
}

// Calls body(std::integral_constant<int, NR>) for the panels' width nr: one, two or four
// 32-byte vectors of T, as the portable, AVX2 and AVX-512 micro-kernels take (gemm_kernels.h)
template <typename T, typename Body>
void with_panel_width(int64_t nr, const Body& body) {
  constexpr int kVector = 32 / sizeof(T);
  switch (nr) {
    case kVector: return body(std::integral_constant<int, kVector>{});
    case 2 * kVector: return body(std::integral_constant<int, 2 * kVector>{});
    case 4 * kVector: return body(std::integral_constant<int, 4 * kVector>{});
    default: FG_CHECK(false, RuntimeError, "[conv2d] no im2col for GEMM panels of " << nr);
  }
}

// padded (C, H + 2 pad_h, W + 2 pad_w) = image (C, H, W) framed by zeros, in which every tap
// of every kernel position lies inside
template <typename T>
void pad_image(T* padded, const T* image, const Im2colGeometry& im) {
  int64_t padded_h = im.height + 2 * im.pad_h, padded_w = im.width + 2 * im.pad_w;
  std::fill(padded, padded + im.channels * padded_h * padded_w, T(0));
  for (int64_t c = 0; c < im.channels; ++c)
    for (int64_t h = 0; h < im.height; ++h) {
      const T* line = image + (c * im.height + h) * im.width;
      std::copy(line, line + im.width,
                padded + (c * padded_h + h + im.pad_h) * padded_w + im.pad_w);
    }
}

// The offset in the padded image of each columns row (c, i, j)'s tap from kernel position
// (0, 0): its pixel at kernel position (oh, ow) is offset + oh stride_h padded_w + ow stride_w
std::vector<int64_t> tap_offsets(const Im2colGeometry& im) {
  int64_t padded_h = im.height + 2 * im.pad_h, padded_w = im.width + 2 * im.pad_w;
  std::vector<int64_t> offsets;
  offsets.reserve(im.rows());
  for (int64_t c = 0; c < im.channels; ++c)
    for (int64_t i = 0; i < im.kernel_h; ++i)
      for (int64_t j = 0; j < im.kernel_w; ++j)
        offsets.push_back((c * padded_h + i * im.dilation_h) * padded_w + j * im.dilation_w);
  return offsets;
}

// panel (depth, NR) = the columns rows whose tap offsets are given, at NR kernel positions of
// one output row of a convolution of stride_w 1, the first at `corner` of the padded image:
// a B panel of the GEMM, built in L1 right before the micro-kernels read it
template <int NR, typename T>
void copy_panel(T* panel, const T* corner, const int64_t* offsets, int64_t depth) {
  for (int64_t k = 0; k < depth; ++k)
    std::memcpy(panel + k * NR, corner + offsets[k], NR * sizeof(T));  // vector moves
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

// The tiles of images [first_image, first_image + images), image by image, rows in order.
struct TileGrid {
  TilePlan plan;
  int64_t first_image, images, out_h, out_w;
  int64_t row_tiles() const { return (out_h + plan.rows - 1) / plan.rows; }
  int64_t count() const { return (images + plan.images - 1) / plan.images * row_tiles(); }
  Tile operator[](int64_t t) const {
    int64_t first = first_image + t / row_tiles() * plan.images;
    int64_t first_row = t % row_tiles() * plan.rows;
    return {first, std::min(plan.images, first_image + images - first), first_row,
            std::min(plan.rows, out_h - first_row), out_w};
  }
};

// The number of shares the batch is split into: one a thread while each gets enough work.
int64_t batch_shares(int64_t batch, int64_t multiply_adds_per_image) {
  int64_t grain = std::max<int64_t>(
      1, kMinMultiplyAddsPerThread / std::max<int64_t>(multiply_adds_per_image, 1));
  return std::clamp<int64_t>(batch / grain, 1, std::max<int64_t>(thread_count(), 1));
}

// dbias (O) = dy (N, O, L) summed over the batch and positions, each channel in order
template <typename T>
void bias_gradient(T* dbias, const T* dy, int64_t out_channels, int64_t positions, int64_t batch) {
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

// weight (O, C / groups, kh, kw) -> each group's (O / groups, C / groups kh kw) as the
// GEMM's packed A, one group after another
template <typename T>
std::vector<T> pack_weights(const T* weight, const ConvGeometry& g, const GemmPanels& panels) {
  int64_t Og = g.group_outputs(), Kg = g.group_rows(), size = panels.a_size(Og);
  std::vector<T> packed(g.groups * size);
  for (int64_t group = 0; group < g.groups; ++group)
    gemm_pack_a(packed.data() + group * size, weight + group * Og * Kg, Kg, panels, Og);
  return packed;
}

// panel (length, NR) = lines[l][k] for l < NR, k < length: a transpose, floats four by four
// in SSE registers
template <int NR, typename T>
void transpose_lines(T* panel, const T* const* lines, int64_t length) {
  int64_t k = 0;
#ifdef __SSE2__
  if constexpr (std::is_same_v<T, float> && NR % 4 == 0)
    for (; k + 4 <= length; k += 4)
      for (int l = 0; l < NR; l += 4) {
        __m128 r0 = _mm_loadu_ps(lines[l] + k), r1 = _mm_loadu_ps(lines[l + 1] + k);
        __m128 r2 = _mm_loadu_ps(lines[l + 2] + k), r3 = _mm_loadu_ps(lines[l + 3] + k);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(panel + (k + 0) * NR + l, r0);
        _mm_storeu_ps(panel + (k + 1) * NR + l, r1);
        _mm_storeu_ps(panel + (k + 2) * NR + l, r2);
        _mm_storeu_ps(panel + (k + 3) * NR + l, r3);
      }
#endif
  for (; k < length; ++k)
    for (int l = 0; l < NR; ++l) panel[k * NR + l] = lines[l][k];
}

// dweight (Og, Kg) of one group += dy_rows (Og, tile positions) @ the tile's columns^T (its
// rows' taps at `offsets` in the image padded to width padded_w): the GEMM's depth is the
// tile's positions, and each B panel (positions, NR columns rows) is transposed from the
// padded image's lines right before the micro-kernels read it
template <int NR, typename T>
void weight_gradient_by_panels(T* dweight, const T* dy_rows, const T* padded,
                               const int64_t* offsets, const Im2colGeometry& im, const Tile& tile,
                               int64_t padded_w, int64_t Og, int64_t Kg) {
  int64_t tp = tile.positions();
  GemmPanels panels = gemm_panels<T>(tp);
  T* packed_dy = thread_buffer<T>(kPackedRows, panels.a_size(Og));
  gemm_pack_a(packed_dy, dy_rows, tp, panels, Og);
  T* panel = thread_buffer<T>(kPanel, panels.kc * NR);
  const T* lines[NR];
  for (int64_t start = 0; start < tp; start += panels.kc) {
    int64_t end = start + panels.depth(start);
    for (int64_t first = 0; first < Kg; first += NR) {
      // one output row's stretch of the block's positions at a time
      for (int64_t p = start, run; p < end; p += run) {
        int64_t oh = tile.first_row + p / im.out_w, ow = p % im.out_w;
        run = std::min(im.out_w - ow, end - p);
        const T* corner = padded + oh * im.stride_h * padded_w + ow;
        for (int l = 0; l < NR; ++l)  // lanes past Kg repeat the last row: C drops them
          lines[l] = corner + offsets[std::min<int64_t>(first + l, Kg - 1)];
        transpose_lines<NR>(panel + (p - start) * NR, lines, run);
      }
      gemm_packed_block(dweight + first, packed_dy, panel, true, panels, start, Kg, Og,
                        std::min<int64_t>(NR, Kg - first));
    }
  }
}

// Whether each of the GEMM's B panels can be NR neighbours of one output row (stride 1 along
// rows of a multiple of NR positions), copied from a zero-padded image right before the GEMM
// reads them; tiles of several images (small ones) take the columns matrix instead
bool by_panels(const Im2colGeometry& im, const GemmPanels& panels) {
  return im.stride_w == 1 && im.out_w % panels.nr == 0;
}

// y (N, O, out_h, out_w) = x (N, C, H, W) convolved with weight (O, C / groups, kh, kw), plus
// bias (O) or null: the threads share out the tiles.
template <typename T>
void convolve(T* y, const T* x, const T* weight, const T* bias, const ConvGeometry& g,
              int64_t batch) {
  const Im2colGeometry& im = g.image;
  int64_t L = im.positions(), O = g.out_channels, Og = g.group_outputs(), Kg = g.group_rows();
  TileGrid grid{tile_plan<T>(g), 0, batch, im.out_h, im.out_w};
  GemmPanels panels = gemm_panels<T>(Kg);
  int64_t weight_size = panels.a_size(Og), nr = panels.nr;
  bool panel_path = by_panels(im, panels);
  std::vector<T> packed_weights = panel_path ? pack_weights(weight, g, panels) : std::vector<T>();
  std::vector<int64_t> offsets = panel_path ? tap_offsets(im) : std::vector<int64_t>();
  int64_t padded_w = im.width + 2 * im.pad_w;
  int64_t padded_size = im.channels * (im.height + 2 * im.pad_h) * padded_w;
  int64_t tile_work = O * Kg * grid.plan.images * grid.plan.rows * im.out_w;
  parallel_for(grid.count(), std::max<int64_t>(1, kMinMultiplyAddsPerThread / tile_work),
               [&](int64_t begin, int64_t end) {
                 int64_t padded_image = -1;  // the image in this thread's padded copy
                 for (int64_t t = begin; t < end; ++t) {
                   Tile tile = grid[t];
                   int64_t tp = tile.positions();
                   // one image's rows (all of them for the plain GEMM, which writes rows of tp):
                   // each channel's a stretch of y, where the GEMM writes
                   bool direct = tile.images == 1 && (panel_path || tp == L);
                   T* target = direct ? y + tile.first_image * O * L + tile.first_row * im.out_w
                                      : thread_buffer<T>(kTileRows, O * tp);
                   int64_t ld = direct ? L : tp;
                   if (bias)
                     for (int64_t o = 0; o < O; ++o)
                       std::fill(target + o * ld, target + o * ld + tp, bias[o]);
                   if (panel_path && direct) {
                     T* padded = thread_buffer<T>(kPadded, padded_size);
                     if (padded_image != tile.first_image)
                       pad_image(padded, x + tile.first_image * im.image_size(), im);
                     padded_image = tile.first_image;
                     T* panel = thread_buffer<T>(kPanel, panels.kc * nr);
                     for (int64_t group = 0; group < g.groups; ++group)
                       for (int64_t first = 0; first < tp; first += nr) {
                         int64_t oh = tile.first_row + first / im.out_w, ow = first % im.out_w;
                         const T* corner = padded + oh * im.stride_h * padded_w + ow;
                         for (int64_t start = 0; start < Kg; start += panels.kc) {
                           with_panel_width<T>(nr, [&](auto width) {
                             copy_panel<width()>(panel, corner, offsets.data() + group * Kg + start,
                                                 panels.depth(start));
                           });
                           gemm_packed_block(target + group * Og * L + first,
                                             packed_weights.data() + group * weight_size, panel,
                                             bias != nullptr, panels, start, L, Og, nr);
                         }
                       }
                     continue;
                   }
                   // the tile's columns matrix (a 1x1 stride-1 convolution's is the image)
                   const T* columns = x + tile.first_image * im.image_size();
                   if (!g.pointwise()) {
                     T* buffer = thread_buffer<T>(kColumns, im.rows() * tp);
                     gather_columns(buffer, x, im, tile);
                     columns = buffer;
                   }
                   for (int64_t group = 0; group < g.groups; ++group)
                     gemm(target + group * Og * tp, weight + group * Og * Kg,
                          columns + group * Kg * tp, static_cast<const T*>(nullptr), false, false,
                          false, bias != nullptr, Og, tp, Kg);
                   if (!direct) copy_tile_rows(target, y, O, L, tile);
                 }
               });
}

// Whether dx of the convolution is a convolution of dy: stride 1, and padding at most the
// dilated kernel's reach, so that the transposed padding is not negative.
bool input_gradient_is_convolution(const ConvGeometry& g) {
  const Im2colGeometry& im = g.image;
  return im.stride_h == 1 && im.stride_w == 1 && im.pad_h <= im.dilation_h * (im.kernel_h - 1) &&
         im.pad_w <= im.dilation_w * (im.kernel_w - 1);
}

// The geometry of dx as the convolution of dy (N, O, out_h, out_w) by the flipped weights
// (C, O / groups, kh, kw): it reads pixel h + i dilation - (reach - pad) of dy for tap i.
ConvGeometry input_gradient_geometry(const ConvGeometry& g) {
  const Im2colGeometry& im = g.image;
  Im2colGeometry t = im;
  t.channels = g.out_channels, t.height = im.out_h, t.width = im.out_w;
  t.pad_h = im.dilation_h * (im.kernel_h - 1) - im.pad_h;
  t.pad_w = im.dilation_w * (im.kernel_w - 1) - im.pad_w;
  t.out_h = im.height, t.out_w = im.width;
  return {t, im.channels, g.groups};
}

// weight (O, C / groups, kh, kw) -> (C, O / groups, kh, kw): each group's weights transposed
// and turned by 180 degrees, the weights of dx as a convolution of dy
template <typename T>
std::vector<T> flipped_weights(const T* weight, const ConvGeometry& g) {
  int64_t Og = g.group_outputs(), Cg = g.group_channels();
  int64_t taps = g.image.kernel_h * g.image.kernel_w;
  std::vector<T> flipped(g.out_channels * Cg * taps);
  for (int64_t group = 0; group < g.groups; ++group)
    for (int64_t o = 0; o < Og; ++o)
      for (int64_t c = 0; c < Cg; ++c) {
        const T* in = weight + ((group * Og + o) * Cg + c) * taps;
        T* out = flipped.data() + ((group * Cg + c) * Og + o) * taps;
        for (int64_t t = 0; t < taps; ++t) out[taps - 1 - t] = in[t];
      }
  return flipped;
}

}  // namespace

// x (N, C, H, W), weight (O, C / groups, kh, kw), bias (O) or null -> y (N, O, out_h, out_w)
template <typename T>
void conv2d_forward(T* y, const T* x, const T* weight, const T* bias, const ConvGeometry& geometry,
                    int64_t batch) {
  convolve(y, x, weight, bias, geometry, batch);
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
  ConvGeometry t = input_gradient_geometry(g);
  if (dx && input_gradient_is_convolution(g) &&
      by_panels(t.image, gemm_panels<T>(t.group_rows()))) {
    convolve(dx, dy, flipped_weights(weight, g).data(), static_cast<const T*>(nullptr), t, batch);
    dx = nullptr;
  }
  if (!dx && !dweight) return;
  TilePlan plan = tile_plan<T>(g);
  int64_t nr = gemm_panels<T>(Kg).nr;
  bool panel_path = by_panels(im, gemm_panels<T>(Kg));
  std::vector<int64_t> offsets = panel_path ? tap_offsets(im) : std::vector<int64_t>();
  int64_t padded_w = im.width + 2 * im.pad_w;
  int64_t padded_size = im.channels * (im.height + 2 * im.pad_h) * padded_w;
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
      int64_t padded_image = -1;  // the image in this thread's padded copy
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
        if (dw && panel_path && tile.images == 1) {
          T* padded = thread_buffer<T>(kPadded, padded_size);
          if (padded_image != tile.first_image)
            pad_image(padded, x + tile.first_image * im.image_size(), im);
          padded_image = tile.first_image;
          for (int64_t group = 0; group < g.groups; ++group)
            with_panel_width<T>(nr, [&](auto width) {
              weight_gradient_by_panels<width()>(dw + group * Og * Kg, dy_tile + group * Og * tp,
                                                 padded, offsets.data() + group * Kg, im, tile,
                                                 padded_w, Og, Kg);
            });
        }
        T* columns = thread_buffer<T>(kColumns, im.rows() * tp);
        if (dw && !(panel_path && tile.images == 1)) {
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
      TileGrid grid{plan, begin, end - begin, im.out_h, im.out_w};
      for (int64_t t = 0; t < grid.count(); ++t) tile_body(grid[t]);
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
