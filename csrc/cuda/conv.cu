// conv2d on the GPU. Forward: an implicit GEMM, per group (O / groups, group_rows) weights @
// (group_rows, N positions) columns, whose columns are never stored: a block computes a tile
// of 64 output channels x 64 output pixels (of any images), staging 16-deep slices of the
// weights and of the input taps, gathered on the fly (csrc/im2col_math.h), in shared memory;
// each of its 256 threads accumulates 4 x 4 outputs in T. Backward: direct gathers, a thread
// per dx pixel (the taps that read it, as col2im), per weight (over the batch and positions)
// and per bias, so that no thread adds into another's output.
#include "cuda/launch.cuh"
#include "im2col_math.h"
#include "kernels.h"

namespace fg::cuda {

namespace {

constexpr int kConvTileChannels = 64, kConvTilePixels = 64, kConvTileDepth = 16;
constexpr int kConvThreads = 256;  // 16 x 16, each 4 x 4 outputs

// y tile (64 channels of group blockIdx.z from blockIdx.y * 64, 64 pixels from blockIdx.x *
// 64, a pixel being (n, oh, ow)) = weights @ gathered columns [+ bias]
template <typename T>
__global__ void __launch_bounds__(kConvThreads)
    conv2d_forward_kernel(T* y, const T* x, const T* weight, const T* bias, ConvGeometry g,
                          int64_t batch) {
  constexpr int BM = kConvTileChannels, BN = kConvTilePixels, BK = kConvTileDepth;
  __shared__ T weights[BK][BM];
  __shared__ T columns[BK][BN];
  const Im2colGeometry& im = g.image;
  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  const int64_t group = blockIdx.z, o0 = int64_t(blockIdx.y) * BM, p0 = int64_t(blockIdx.x) * BN;
  const int64_t Og = g.group_outputs(), Kg = g.group_rows(), L = im.positions();
  const int64_t pixels = batch * L;
  const T* w = weight + group * Og * Kg;
  T acc[4][4] = {};
  for (int64_t k0 = 0; k0 < Kg; k0 += BK) {
    for (int e = t; e < BK * BM; e += kConvThreads) {  // consecutive threads along k
      int k = e % BK, m = e / BK;
      int64_t o = o0 + m, depth = k0 + k;
      weights[k][m] = o < Og && depth < Kg ? w[o * Kg + depth] : T(0);
    }
    for (int e = t; e < BK * BN; e += kConvThreads) {  // consecutive threads along pixels
      int p = e % BN, k = e / BN;
      int64_t pixel = p0 + p, depth = k0 + k;
      T v = T(0);
      if (pixel < pixels && depth < Kg)
        v = im2col::column_entry(im, x + pixel / L * im.image_size(), group * Kg + depth,
                                 pixel % L);
      columns[k][p] = v;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      T a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = weights[k][ty * 4 + i], b[i] = columns[k][tx * 4 + i];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i) {
    int64_t o = o0 + ty * 4 + i;
    if (o >= Og) continue;
    int64_t channel = group * Og + o;
    for (int j = 0; j < 4; ++j) {
      int64_t pixel = p0 + tx * 4 + j;
      if (pixel >= pixels) continue;
      y[(pixel / L * g.out_channels + channel) * L + pixel % L] =
          acc[i][j] + (bias ? bias[channel] : T(0));
    }
  }
}

}  // namespace

// x (N, C, H, W), weight (O, C / groups, kh, kw), bias (O) or null -> y (N, O, out_h, out_w)
template <typename T>
void conv2d_forward(T* y, const T* x, const T* weight, const T* bias,
                    const ConvGeometry& geometry, int64_t batch) {
  const ConvGeometry g = geometry;
  int64_t pixels = batch * g.image.positions();
  if (pixels <= 0) return;
  dim3 grid(static_cast<unsigned>(ceil_div(pixels, kConvTilePixels)),
            static_cast<unsigned>(ceil_div(g.group_outputs(), kConvTileChannels)),
            static_cast<unsigned>(g.groups));
  auto kernel = conv2d_forward_kernel<T>;
  FG_LAUNCH_KERNEL(kernel, grid, kConvThreads, y, x, weight, bias, g, batch);
  FG_CUDA_CHECK_LAUNCH("conv2d_forward");
}

// dy (N, O, out_h, out_w) -> dx (N, C, H, W), dweight (O, C / groups, kh, kw), dbias (O),
// each null when not wanted
template <typename T>
void conv2d_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* weight,
                     const ConvGeometry& geometry, int64_t batch) {
  const ConvGeometry g = geometry;
  const Im2colGeometry im = g.image;
  const int64_t L = im.positions(), O = g.out_channels, Og = g.group_outputs();
  const int64_t Cg = g.group_channels(), Kg = g.group_rows(), taps = im.kernel_h * im.kernel_w;
  if (dx)
    launch_for_each("conv2d_backward", batch * im.image_size(), [=] __device__(int64_t q) {
      int64_t n = q / im.image_size(), c = q / (im.height * im.width) % im.channels;
      int64_t h = q / im.width % im.height, w = q % im.width;
      int64_t group = c / Cg;
      const T* dy_group = dy + (n * O + group * Og) * L;
      const T* w_channel = weight + (group * Og * Cg + c % Cg) * taps;  // w[group Og, c % Cg]
      T sum = T(0);
      for (int64_t i = 0; i < im.kernel_h; ++i) {
        int64_t oh = im2col::position_of_tap(h, i, im.pad_h, im.dilation_h, im.stride_h, im.out_h);
        if (oh < 0) continue;
        for (int64_t j = 0; j < im.kernel_w; ++j) {
          int64_t ow =
              im2col::position_of_tap(w, j, im.pad_w, im.dilation_w, im.stride_w, im.out_w);
          if (ow < 0) continue;
          for (int64_t o = 0; o < Og; ++o)
            sum += dy_group[o * L + oh * im.out_w + ow] *
                   w_channel[o * Cg * taps + i * im.kernel_w + j];
        }
      }
      dx[q] = sum;
    });
  if (dweight)
    launch_for_each("conv2d_backward", O * Kg, [=] __device__(int64_t e) {
      int64_t o = e / Kg, row = o / Og * Kg + e % Kg;  // row of the image's columns
      T sum = T(0);
      for (int64_t n = 0; n < batch; ++n) {
        const T* dy_line = dy + (n * O + o) * L;
        const T* image = x + n * im.image_size();
        for (int64_t p = 0; p < L; ++p) sum += dy_line[p] * im2col::column_entry(im, image, row, p);
      }
      dweight[e] = sum;
    });
  if (dbias)
    launch_for_each("conv2d_backward", O, [=] __device__(int64_t o) {
      T sum = T(0);
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t p = 0; p < L; ++p) sum += dy[(n * O + o) * L + p];
      dbias[o] = sum;
    });
}

FG_INSTANTIATE_CONV()

}  // namespace fg::cuda
