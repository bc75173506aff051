// Depthwise conv2d on the CPU: threads over the (image, channel) planes (over the output
// channels for the weight's gradient); each plane's work is one FG_SIMD function whose inner
// loops run over whole rows, tap by tap, and vectorize (unit stride when the conv's stride is
// 1). Each element's terms are added in the order of csrc/depthwise_math.h, the GPU's
// per-element code.
#include <algorithm>
#include <vector>

#include "cpu/parallel.h"
#include "depthwise_math.h"
#include "kernels.h"

namespace fg::cpu {

namespace {

using depthwise::Span;

// out[o out_stride] += tap in[o in_stride] for o in [0, n): a row of taps added to a row of
// outputs (forward) or spread back over the pixels they read (the input's gradient)
template <typename T>
inline void add_scaled_row(T* __restrict out, int64_t out_stride, const T* __restrict in,
                           int64_t in_stride, T tap, int64_t n) {
  if (out_stride == 1 && in_stride == 1)
    for (int64_t o = 0; o < n; ++o) out[o] += tap * in[o];
  else
    for (int64_t o = 0; o < n; ++o) out[o * out_stride] += tap * in[o * in_stride];
}

// sums[o] += dy[o] in[o stride] for o in [0, n)
template <typename T>
inline void add_product_row(T* __restrict sums, const T* __restrict dy, const T* __restrict in,
                            int64_t stride, int64_t n) {
  if (stride == 1)
    for (int64_t o = 0; o < n; ++o) sums[o] += dy[o] * in[o];
  else
    for (int64_t o = 0; o < n; ++o) sums[o] += dy[o] * in[o * stride];
}

// For each tap column j: the output columns whose tap j lands inside the image
std::vector<Span> column_spans(const Im2colGeometry& g) {
  std::vector<Span> spans(g.kernel_w);
  for (int64_t j = 0; j < g.kernel_w; ++j)
    spans[j] = depthwise::inside_span(j * g.dilation_w - g.pad_w, g.stride_w, g.width, g.out_w);
  return spans;
}

// The image column that output column ow reads through tap column j
int64_t column_of(const Im2colGeometry& g, int64_t ow, int64_t j) {
  return ow * g.stride_w + j * g.dilation_w - g.pad_w;
}

// fn(i, j, h, span) for each tap (i, j), in row-major order, that output row oh reads through
// from an image row h and at least one column inside the image
template <typename Fn>
inline void for_each_tap_of_row(const Im2colGeometry& g, const Span* spans, int64_t oh, Fn fn) {
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    const int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
    if (h < 0 || h >= g.height) continue;
    for (int64_t j = 0; j < g.kernel_w; ++j)
      if (spans[j].begin < spans[j].end) fn(i, j, h, spans[j]);
  }
}

// out (out_h, out_w) = image (H, W) convolved with kernel (kh, kw), plus b
template <typename T>
FG_SIMD void forward_plane(T* out, const T* image, const T* kernel, T b, const Im2colGeometry& g,
                           const Span* spans) {
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    T* row = out + oh * g.out_w;
    std::fill(row, row + g.out_w, T(0));
    for_each_tap_of_row(g, spans, oh, [&](int64_t i, int64_t j, int64_t h, Span s) {
      add_scaled_row(row + s.begin, 1, image + h * g.width + column_of(g, s.begin, j), g.stride_w,
                     kernel[i * g.kernel_w + j], s.end - s.begin);
    });
    for (int64_t ow = 0; ow < g.out_w; ++ow) row[ow] += b;
  }
}

// image (H, W) += the gradient that grads (out_h, out_w) sends back through kernel (kh, kw)
template <typename T>
FG_SIMD void input_gradient_plane(T* image, const T* grads, const T* kernel,
                                  const Im2colGeometry& g, const Span* spans) {
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    const Span rows =
        depthwise::inside_span(i * g.dilation_h - g.pad_h, g.stride_h, g.height, g.out_h);
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      const Span s = spans[j];
      if (s.begin >= s.end) continue;
      for (int64_t oh = rows.begin; oh < rows.end; ++oh) {
        const int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
        add_scaled_row(image + h * g.width + column_of(g, s.begin, j), g.stride_w,
                       grads + oh * g.out_w + s.begin, 1, kernel[i * g.kernel_w + j],
                       s.end - s.begin);
      }
    }
  }
}

// sums (kh kw, out_w) += per tap and output column, grads (out_h, out_w) times the pixels of
// image (H, W) the tap reads
template <typename T>
FG_SIMD void weight_gradient_plane(T* sums, const T* grads, const T* image, const Im2colGeometry& g,
                                   const Span* spans) {
  for (int64_t oh = 0; oh < g.out_h; ++oh)
    for_each_tap_of_row(g, spans, oh, [&](int64_t i, int64_t j, int64_t h, Span s) {
      add_product_row(sums + (i * g.kernel_w + j) * g.out_w + s.begin,
                      grads + oh * g.out_w + s.begin,
                      image + h * g.width + column_of(g, s.begin, j), g.stride_w, s.end - s.begin);
    });
}

// body(begin, end) over [0, items) planes of `work` multiply-adds each, threaded
template <typename Body>
void for_planes(int64_t items, int64_t work, const Body& body) {
  parallel_for(items, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(work, 1)), body);
}

}  // namespace

template <typename T>
void depthwise_conv2d_forward(T* y, const T* x, const T* weight, const T* bias,
                              const Im2colGeometry& g, int64_t multiplier, int64_t batch) {
  const int64_t out_channels = g.channels * multiplier, taps = g.kernel_h * g.kernel_w;
  const std::vector<Span> spans = column_spans(g);
  for_planes(batch * out_channels, g.positions() * taps, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {  // plane: (n, o)
      const int64_t o = plane % out_channels, n = plane / out_channels;
      forward_plane(y + plane * g.positions(),
                    x + (n * g.channels + o / multiplier) * g.height * g.width, weight + o * taps,
                    bias ? bias[o] : T(0), g, spans.data());
    }
  });
}

template <typename T>
void depthwise_conv2d_backward_input(T* dx, const T* dy, const T* weight, const Im2colGeometry& g,
                                     int64_t multiplier, int64_t batch) {
  const int64_t taps = g.kernel_h * g.kernel_w, plane_size = g.height * g.width;
  const std::vector<Span> spans = column_spans(g);
  for_planes(batch * g.channels, g.positions() * taps * multiplier,
             [&](int64_t begin, int64_t end) {
               for (int64_t plane = begin; plane < end; ++plane) {  // plane: (n, c)
                 T* image = dx + plane * plane_size;
                 std::fill(image, image + plane_size, T(0));
                 for (int64_t k = 0; k < multiplier; ++k)  // output channel c m + k
                   input_gradient_plane(image, dy + (plane * multiplier + k) * g.positions(),
                                        weight + (plane % g.channels * multiplier + k) * taps, g,
                                        spans.data());
               }
             });
}

template <typename T>
void depthwise_conv2d_backward_weight(T* dweight, const T* dy, const T* x, const Im2colGeometry& g,
                                      int64_t multiplier, int64_t batch) {
  const int64_t out_channels = g.channels * multiplier, taps = g.kernel_h * g.kernel_w;
  const std::vector<Span> spans = column_spans(g);
  for_planes(out_channels, batch * g.positions() * taps, [&](int64_t begin, int64_t end) {
    // per tap and output column: partial sums over the batch and the rows, added up last
    std::vector<T> sums(taps * g.out_w);
    for (int64_t o = begin; o < end; ++o) {
      std::fill(sums.begin(), sums.end(), T(0));
      for (int64_t n = 0; n < batch; ++n)
        weight_gradient_plane(sums.data(), dy + (n * out_channels + o) * g.positions(),
                              x + (n * g.channels + o / multiplier) * g.height * g.width, g,
                              spans.data());
      for (int64_t tap = 0; tap < taps; ++tap) {
        T total = T(0);
        for (int64_t ow = 0; ow < g.out_w; ++ow) total += sums[tap * g.out_w + ow];
        dweight[o * taps + tap] = total;
      }
    }
  });
}

FG_INSTANTIATE_DEPTHWISE()

}  // namespace fg::cpu
