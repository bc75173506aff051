// conv2d on the GPU: three implicit GEMMs, per group, on one tiled kernel. Their operands are
// gathered on the fly (im2col's geometry, csrc/im2col_math.h), never stored; with
// Kg = C / groups * kh * kw:
//   forward  y (Og, N P Q)  = weight (Og, Kg) @ columns of x (Kg, N P Q)
//   dgrad   dx (Cg, N H W)  = weight^T (Cg, Og kh kw) @ taps of dy (Og kh kw, N H W)
//   wgrad   dw (Og, Kg)     = dy (Og, N P Q) @ columns of x^T (N P Q, Kg)
// A block computes a tile of 64 rows x 64 columns, staging 16-deep slices of both operands in
// shared memory; each of its 256 threads accumulates 4 x 4 outputs in T. Every output is one
// thread's sum in a fixed order (no atomics), so gradients repeat bit for bit.
// dgrad is output-centric: with stride > 1 most taps of dy miss a given input pixel, so the
// pixels are split into stride_h x stride_w classes by (h % stride_h, w % stride_w), each
// reached by the same taps (those whose offset the stride divides), and a class's GEMM runs
// over its own taps only. wgrad's depth N P Q is long: it is cut into slices, as many for a
// shape on every GPU, whose partial products a second pass adds in order. The bias's
// gradient: a block per channel. csrc/cpu/conv.cpp is the reference; depthwise convs take
// csrc/cuda/depthwise.cu instead.
#include <algorithm>

#include "cuda/launch.cuh"
#include "cuda/lines.cuh"
#include "kernels.h"

namespace fg::cuda {

namespace {

constexpr int kConvTileRows = 64, kConvTileColumns = 64, kConvTileDepth = 16;
constexpr int kConvThreads = 256;  // 16 x 16, each 4 x 4 outputs
constexpr int64_t kMaxGridYZ = 65535;

// C tile (64 rows from blockIdx.y * 64, 64 columns from blockIdx.x * 64) of part blockIdx.z of
// an implicit GEMM C = A @ B. problem.part(z) gives the part's rows, columns and range of depth
// [depth_begin, depth_end) and its entries: a(row(m), k) and b(column(n), k), where row and
// column are cursors that hold what a row or column of every depth shares (a thread loads the
// same rows and columns at each step of the depth, so it makes them once); store(m, n, c)
// writes C.
template <typename T, class Problem>
__global__ void __launch_bounds__(kConvThreads) implicit_gemm_kernel(Problem problem) {
  constexpr int BM = kConvTileRows, BN = kConvTileColumns, BK = kConvTileDepth;
  constexpr int kLoads = BK * BM / kConvThreads;  // entries a thread loads of each operand
  static_assert(BM == BN && kConvThreads % BN == 0 && kConvThreads % BK == 0,
                "a thread loads the same rows and columns at every step");
  // Loads run along the depth (A's, and B's when kBAlongDepth: thread t reads depth t % BK
  // of rows t / BK + r kRowStride) or along B's columns (depths t / BN + r kConvThreads / BN
  // of column t % BN), whichever is nearer in memory.
  constexpr bool along_depth = Problem::kBAlongDepth;
  constexpr int kRowStride = kConvThreads / BK, kBColumns = along_depth ? kLoads : 1;
  __shared__ T a_tile[BK][BM];
  __shared__ T b_tile[BK][BN];
  const Problem part = problem.part(blockIdx.z);
  const int64_t m0 = int64_t(blockIdx.y) * BM, n0 = int64_t(blockIdx.x) * BN;
  if (m0 >= part.rows || n0 >= part.columns) return;  // the whole block: parts differ in size
  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  typename Problem::Row rows[kLoads] = {};
  typename Problem::Column columns[kBColumns] = {};
  for (int r = 0; r < kLoads; ++r) {
    int64_t m = m0 + t / BK + r * kRowStride;
    if (m < part.rows) rows[r] = part.row(m);
  }
  for (int r = 0; r < kBColumns; ++r) {
    int64_t n = n0 + (along_depth ? t / BK + r * kRowStride : t % BN);
    if (n < part.columns) columns[r] = part.column(n);
  }
  T acc[4][4] = {};
  for (int64_t k0 = part.depth_begin; k0 < part.depth_end; k0 += BK) {
#pragma unroll
    for (int r = 0; r < kLoads; ++r) {
      int k = t % BK, m = t / BK + r * kRowStride;
      int64_t depth = k0 + k;
      a_tile[k][m] = m0 + m < part.rows && depth < part.depth_end ? part.a(rows[r], depth) : T(0);
    }
#pragma unroll
    for (int r = 0; r < kLoads; ++r) {
      int k = along_depth ? t % BK : t / BN + r * (kConvThreads / BN);
      int n = along_depth ? t / BK + r * kRowStride : t % BN;
      int64_t depth = k0 + k;
      b_tile[k][n] = n0 + n < part.columns && depth < part.depth_end
                         ? part.b(columns[along_depth ? r : 0], depth)
                         : T(0);
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      T a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = a_tile[k][ty * 4 + i], b[i] = b_tile[k][tx * 4 + i];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i) {
    int64_t row = m0 + ty * 4 + i;
    if (row >= part.rows) continue;
    for (int j = 0; j < 4; ++j) {
      int64_t column = n0 + tx * 4 + j;
      if (column < part.columns) part.store(row, column, acc[i][j]);
    }
  }
}

// Runs the parts of `problem`, each at most max_rows x max_columns.
template <typename T, class Problem>
void launch_implicit_gemm(const char* name, const Problem& problem, int64_t max_rows,
                          int64_t max_columns, int64_t parts) {
  if (max_rows <= 0 || max_columns <= 0 || parts <= 0) return;
  int64_t row_tiles = ceil_div(max_rows, kConvTileRows);
  FG_CHECK(row_tiles <= kMaxGridYZ && parts <= kMaxGridYZ, ValueError,
           "[" << name << "] the CUDA kernel takes at most " << kMaxGridYZ
               << " tiles of rows and parts (groups x classes or slices), got " << row_tiles
               << " and " << parts);
  dim3 grid(static_cast<unsigned>(ceil_div(max_columns, kConvTileColumns)),
            static_cast<unsigned>(row_tiles), static_cast<unsigned>(parts));
  auto kernel = implicit_gemm_kernel<T, Problem>;
  FG_LAUNCH_KERNEL(kernel, grid, kConvThreads, problem);
  FG_CUDA_CHECK_LAUNCH(name);
}

// y (N, O, P, Q) = weight @ columns of x [+ bias]; part z: group z, rows its Og output
// channels, columns the N P Q pixels (n, p), depth its Kg rows of columns.
template <typename T>
struct ForwardGemm {
  static constexpr bool kBAlongDepth = false;  // neighbouring pixels read neighbouring x
  T* y;
  const T *x, *weight, *bias;
  ConvGeometry g;
  int64_t batch;
  int64_t group = 0, rows = 0, columns = 0, depth_begin = 0, depth_end = 0;

  __device__ ForwardGemm part(int64_t z) const {
    ForwardGemm p = *this;
    p.group = z, p.rows = g.group_outputs(), p.columns = batch * g.image.positions();
    p.depth_end = g.group_rows();
    return p;
  }
  struct Row {  // output channel o's weights
    const T* weights;
  };
  struct Column {  // pixel (n, oh, ow): the group's channels of image n, the top-left tap
    const T* image;
    int64_t h, w;
  };
  __device__ Row row(int64_t o) const {
    return {weight + (group * g.group_outputs() + o) * g.group_rows()};
  }
  __device__ Column column(int64_t pixel) const {
    const Im2colGeometry& im = g.image;
    int64_t L = im.positions(), p = pixel % L;
    return {x + (pixel / L * im.channels + group * g.group_channels()) * im.height * im.width,
            p / im.out_w * im.stride_h - im.pad_h, p % im.out_w * im.stride_w - im.pad_w};
  }
  __device__ T a(const Row& o, int64_t k) const { return o.weights[k]; }
  __device__ T b(const Column& pixel, int64_t k) const {  // k: (c, i, j), 0 on padding
    const Im2colGeometry& im = g.image;
    int64_t taps = im.kernel_h * im.kernel_w, tap = k % taps;
    int64_t h = pixel.h + tap / im.kernel_w * im.dilation_h;
    int64_t w = pixel.w + tap % im.kernel_w * im.dilation_w;
    bool inside = h >= 0 && h < im.height && w >= 0 && w < im.width;
    return inside ? pixel.image[(k / taps * im.height + h) * im.width + w] : T(0);
  }
  __device__ void store(int64_t o, int64_t pixel, T value) const {
    int64_t L = g.image.positions(), channel = group * g.group_outputs() + o;
    y[(pixel / L * g.out_channels + channel) * L + pixel % L] =
        value + (bias ? bias[channel] : T(0));
  }
};

// The taps along one axis that reach the input coordinates x = residue (mod stride): tap i
// reaches x when the stride divides x + pad - i dilation, that is for i = first + t step,
// t < count, step = stride / gcd(stride, dilation).
struct TapProgression {
  int64_t first, step, count;
};
__device__ inline TapProgression taps_reaching(int64_t residue, int64_t kernel, int64_t pad,
                                               int64_t dilation, int64_t stride) {
  int64_t first = 0;
  while (first < kernel && (residue + pad - first * dilation) % stride != 0) ++first;
  int64_t a = stride, b = dilation;  // gcd(stride, dilation) in a
  while (b != 0) {
    int64_t r = a % b;
    a = b, b = r;
  }
  int64_t step = stride / a;
  return {first, step, first < kernel ? (kernel - 1 - first) / step + 1 : 0};
}

// dx (N, C, H, W) = weight^T @ taps of dy; part z: group z / classes, class z % classes, the
// input pixels (h, w) = (rh + hh stride_h, rw + ww stride_w), hh < class_h, ww < class_w.
// Rows: the group's Cg input channels; columns: the class's pixels (n, hh, ww); depth:
// (o, ti, tj), Og output channels x the taps that reach the class.
template <typename T>
struct InputGradientGemm {
  static constexpr bool kBAlongDepth = false;  // neighbouring pixels read neighbouring dy
  T* dx;
  const T *dy, *weight;
  ConvGeometry g;
  int64_t batch;
  int64_t group = 0, rh = 0, rw = 0, class_h = 0, class_w = 0;
  TapProgression taps_h{}, taps_w{};
  int64_t rows = 0, columns = 0, depth_begin = 0, depth_end = 0;

  __device__ InputGradientGemm part(int64_t z) const {
    const Im2colGeometry& im = g.image;
    InputGradientGemm p = *this;
    int64_t classes = im.stride_h * im.stride_w, c = z % classes;
    p.group = z / classes, p.rh = c / im.stride_w, p.rw = c % im.stride_w;
    p.class_h = p.rh < im.height ? ceil_div(im.height - p.rh, im.stride_h) : 0;
    p.class_w = p.rw < im.width ? ceil_div(im.width - p.rw, im.stride_w) : 0;
    p.taps_h = taps_reaching(p.rh, im.kernel_h, im.pad_h, im.dilation_h, im.stride_h);
    p.taps_w = taps_reaching(p.rw, im.kernel_w, im.pad_w, im.dilation_w, im.stride_w);
    p.rows = g.group_channels(), p.columns = batch * p.class_h * p.class_w;
    p.depth_end = g.group_outputs() * p.taps_h.count * p.taps_w.count;
    return p;
  }
  struct Tap {
    int64_t o, i, j;
  };
  __device__ Tap tap(int64_t k) const {
    int64_t taps = taps_h.count * taps_w.count, t = k % taps;
    return {k / taps, taps_h.first + t / taps_w.count * taps_h.step,
            taps_w.first + t % taps_w.count * taps_w.step};
  }
  struct Pixel {
    int64_t n, h, w;
  };
  __device__ Pixel pixel(int64_t q) const {
    return {q / (class_h * class_w), rh + q / class_w % class_h * g.image.stride_h,
            rw + q % class_w * g.image.stride_w};
  }
  struct Row {  // input channel c's weights from the group's first output channel
    const T* weights;
  };
  struct Column {       // pixel (n, h, w): dy of image n from the group's first output channel,
    const T* gradient;  // and the pixel in the padded image
    int64_t h, w;
  };
  __device__ Row row(int64_t c) const {
    const Im2colGeometry& im = g.image;
    return {weight +
            (group * g.group_outputs() * g.group_channels() + c) * im.kernel_h * im.kernel_w};
  }
  __device__ Column column(int64_t q) const {
    const Im2colGeometry& im = g.image;
    Pixel x = pixel(q);
    return {dy + (x.n * g.out_channels + group * g.group_outputs()) * im.positions(),
            x.h + im.pad_h, x.w + im.pad_w};
  }
  __device__ T a(const Row& c, int64_t k) const {
    const Im2colGeometry& im = g.image;
    Tap t = tap(k);
    return c.weights[(t.o * g.group_channels() * im.kernel_h + t.i) * im.kernel_w + t.j];
  }
  __device__ T b(const Column& q, int64_t k) const {
    const Im2colGeometry& im = g.image;
    Tap t = tap(k);
    // exact divisions: the class's taps are those the stride divides
    int64_t oh = (q.h - t.i * im.dilation_h) / im.stride_h;
    int64_t ow = (q.w - t.j * im.dilation_w) / im.stride_w;
    if (oh < 0 || oh >= im.out_h || ow < 0 || ow >= im.out_w) return T(0);
    return q.gradient[(t.o * im.out_h + oh) * im.out_w + ow];
  }
  __device__ void store(int64_t c, int64_t q, T value) const {
    const Im2colGeometry& im = g.image;
    Pixel x = pixel(q);
    dx[((x.n * im.channels + group * g.group_channels() + c) * im.height + x.h) * im.width + x.w] =
        value;
  }
};

// dweight slices (slices, O, Kg) = dy @ columns of x^T, each over its slice of the depth;
// part z: slice z / groups, group z % groups. Rows: the group's Og output channels;
// columns: its Kg rows of columns; depth: the pixels (n, p) of the slice.
template <typename T>
struct WeightGradientGemm {
  static constexpr bool kBAlongDepth = true;  // neighbouring pixels read neighbouring x
  T* dweight_slices;
  const T *dy, *x;
  ConvGeometry g;
  int64_t batch, slice_depth;
  int64_t slice = 0, group = 0, rows = 0, columns = 0, depth_begin = 0, depth_end = 0;

  __device__ WeightGradientGemm part(int64_t z) const {
    WeightGradientGemm p = *this;
    p.slice = z / g.groups, p.group = z % g.groups;
    p.rows = g.group_outputs(), p.columns = g.group_rows();
    p.depth_begin = p.slice * slice_depth;
    int64_t depth = batch * g.image.positions();
    p.depth_end = depth - p.depth_begin < slice_depth ? depth : p.depth_begin + slice_depth;
    return p;
  }
  struct Row {  // dy's output channel o of image 0
    const T* gradient;
  };
  struct Column {  // row k = (c, i, j) of the columns: channel c of image 0, the tap's offset
    const T* channel;
    int64_t h, w;
  };
  __device__ Row row(int64_t o) const {
    return {dy + (group * g.group_outputs() + o) * g.image.positions()};
  }
  __device__ Column column(int64_t k) const {
    const Im2colGeometry& im = g.image;
    int64_t taps = im.kernel_h * im.kernel_w, tap = k % taps;
    return {x + (group * g.group_channels() + k / taps) * im.height * im.width,
            tap / im.kernel_w * im.dilation_h - im.pad_h,
            tap % im.kernel_w * im.dilation_w - im.pad_w};
  }
  __device__ T a(const Row& o, int64_t pixel) const {
    int64_t L = g.image.positions();
    return o.gradient[pixel / L * g.out_channels * L + pixel % L];
  }
  __device__ T b(const Column& k, int64_t pixel) const {  // 0 on padding
    const Im2colGeometry& im = g.image;
    int64_t L = im.positions(), p = pixel % L;
    int64_t h = p / im.out_w * im.stride_h + k.h, w = p % im.out_w * im.stride_w + k.w;
    bool inside = h >= 0 && h < im.height && w >= 0 && w < im.width;
    return inside ? k.channel[(pixel / L * im.channels * im.height + h) * im.width + w] : T(0);
  }
  __device__ void store(int64_t o, int64_t k, T value) const {
    int64_t o_all = slice * g.out_channels + group * g.group_outputs() + o;
    dweight_slices[o_all * g.group_rows() + k] = value;
  }
};

// wgrad's depth, N P Q, cut into slices of whole 16-deep steps, at least kMinSliceDepth deep,
// until the shape has about kWeightGradientBlocks blocks (two for each of an H100's 132
// multiprocessors): constants, not the device's count, so that the sums are the same on
// every GPU.
constexpr int64_t kWeightGradientBlocks = 264, kMinSliceDepth = 256;
int64_t weight_gradient_slice_depth(const ConvGeometry& g, int64_t depth) {
  int64_t tiles = g.groups * ceil_div(g.group_outputs(), kConvTileRows) *
                  ceil_div(g.group_rows(), kConvTileColumns);
  int64_t slices = std::min(ceil_div(kWeightGradientBlocks, tiles), depth / kMinSliceDepth);
  slices = std::clamp<int64_t>(slices, 1, kMaxGridYZ / g.groups);
  return ceil_div(ceil_div(depth, slices), kConvTileDepth) * kConvTileDepth;
}

using Block = LineGroup<kLineBlock>;

}  // namespace

// x (N, C, H, W), weight (O, C / groups, kh, kw), bias (O) or null -> y (N, O, out_h, out_w)
template <typename T>
void conv2d_forward(T* y, const T* x, const T* weight, const T* bias, const ConvGeometry& geometry,
                    int64_t batch) {
  const ConvGeometry g = geometry;
  launch_implicit_gemm<T>("conv2d_forward", ForwardGemm<T>{y, x, weight, bias, g, batch},
                          g.group_outputs(), batch * g.image.positions(), g.groups);
}

// dy (N, O, out_h, out_w) -> dx (N, C, H, W), dweight (O, C / groups, kh, kw), dbias (O),
// each null when not wanted
template <typename T>
void conv2d_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* weight,
                     const ConvGeometry& geometry, int64_t batch) {
  const ConvGeometry g = geometry;
  const Im2colGeometry& im = g.image;
  const int64_t O = g.out_channels, L = im.positions(), pixels = batch * L;
  if (dx)
    launch_implicit_gemm<T>(
        "conv2d_backward", InputGradientGemm<T>{dx, dy, weight, g, batch}, g.group_channels(),
        batch * ceil_div(im.height, im.stride_h) * ceil_div(im.width, im.stride_w),
        g.groups * im.stride_h * im.stride_w);
  if (dweight) {
    const int64_t slice_depth = weight_gradient_slice_depth(g, pixels);
    const int64_t slices = ceil_div(pixels, slice_depth), size = O * g.group_rows();
    if (slices == 1) {
      launch_implicit_gemm<T>("conv2d_backward",
                              WeightGradientGemm<T>{dweight, dy, x, g, batch, slice_depth},
                              g.group_outputs(), g.group_rows(), g.groups);
    } else {  // the slices' partial sums, then their sum in slice order
      DeviceScratch scratch(static_cast<size_t>(slices * size) * sizeof(T));
      T* partials = static_cast<T*>(scratch.data());
      launch_implicit_gemm<T>("conv2d_backward",
                              WeightGradientGemm<T>{partials, dy, x, g, batch, slice_depth},
                              g.group_outputs(), g.group_rows(), slices * g.groups);
      launch_for_each("conv2d_backward", size, [=] __device__(int64_t e) {
        T sum = partials[e];
        for (int64_t s = 1; s < slices; ++s) sum += partials[s * size + e];
        dweight[e] = sum;
      });
    }
  }
  if (dbias)
    launch_items("conv2d_backward", O, [=] __device__(Block b, int64_t o) {
      T sum = T(0);
      for (int64_t k = b.lane; k < pixels; k += Block::kSize)
        sum += dy[(k / L * O + o) * L + k % L];
      sum = b.sum(sum);
      if (b.lane == 0) dbias[o] = sum;
    });
}

FG_INSTANTIATE_CONV()

}  // namespace fg::cuda
