// Depthwise conv2d on the GPU: a thread per output element (forward) or input pixel (the
// input's gradient, a gather, so no atomics), and a block per weight tap whose threads stride
// over the batch's output positions and combine with a block reduction in a fixed order, so
// the weight's gradient is the same from run to run. All of it csrc/depthwise_math.h.
#include "cuda/lines.cuh"
#include "depthwise_math.h"
#include "kernels.h"

namespace fg::cuda {

using Block = LineGroup<kLineBlock>;

template <typename T>
void depthwise_conv2d_forward(T* y, const T* x, const T* weight, const T* bias,
                              const Im2colGeometry& geometry, int64_t multiplier, int64_t batch) {
  const Im2colGeometry g = geometry;
  const int64_t out_channels = g.channels * multiplier, positions = g.positions();
  const int64_t taps = g.kernel_h * g.kernel_w;
  launch_for_each("depthwise_conv2d_forward", batch * out_channels * positions,
                  [=] __device__(int64_t e) {
                    int64_t plane = e / positions, p = e % positions;  // plane: (n, o)
                    int64_t o = plane % out_channels, n = plane / out_channels;
                    const T* image = x + (n * g.channels + o / multiplier) * g.height * g.width;
                    y[e] = depthwise::output_at(g, image, weight + o * taps, bias ? bias[o] : T(0),
                                                p / g.out_w, p % g.out_w);
                  });
}

template <typename T>
void depthwise_conv2d_backward_input(T* dx, const T* dy, const T* weight,
                                     const Im2colGeometry& geometry, int64_t multiplier,
                                     int64_t batch) {
  const Im2colGeometry g = geometry;
  const int64_t plane_size = g.height * g.width, taps = g.kernel_h * g.kernel_w;
  launch_for_each("depthwise_conv2d_backward_input", batch * g.channels * plane_size,
                  [=] __device__(int64_t q) {
                    int64_t plane = q / plane_size, pixel = q % plane_size;  // plane: (n, c)
                    dx[q] = depthwise::input_gradient_at(
                        g, dy + plane * multiplier * g.positions(),
                        weight + plane % g.channels * multiplier * taps, multiplier,
                        pixel / g.width, pixel % g.width);
                  });
}

template <typename T>
void depthwise_conv2d_backward_weight(T* dweight, const T* dy, const T* x,
                                      const Im2colGeometry& geometry, int64_t multiplier,
                                      int64_t batch) {
  const Im2colGeometry g = geometry;
  const int64_t out_channels = g.channels * multiplier, positions = g.positions();
  const int64_t taps = g.kernel_h * g.kernel_w, terms = batch * positions;
  launch_items("depthwise_conv2d_backward_weight", out_channels * taps,
               [=] __device__(Block b, int64_t item) {  // item: (o, tap)
                 int64_t o = item / taps, tap = item % taps;
                 T sum = T(0);
                 for (int64_t k = b.lane; k < terms; k += Block::kSize) {
                   int64_t n = k / positions;
                   sum += depthwise::weight_gradient_term(
                       g, dy + (n * out_channels + o) * positions,
                       x + (n * g.channels + o / multiplier) * g.height * g.width, tap / g.kernel_w,
                       tap % g.kernel_w, k % positions);
                 }
                 sum = b.sum(sum);
                 if (b.lane == 0) dweight[item] = sum;
               });
}

FG_INSTANTIATE_DEPTHWISE()

}  // namespace fg::cuda
