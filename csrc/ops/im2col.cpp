// im2col and col2im, the kernels of F.unfold and F.fold (python/forgegrad/nn/_conv.py, which
// parses their arguments and adds the unbatched forms): each is the other's gradient.
#include <sstream>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

namespace {

std::string pair_text(const Shape& pair) {
  std::ostringstream text;
  text << "(" << pair[0] << ", " << pair[1] << ")";
  return text.str();
}

// op's sliding-window arguments: two of each, kernel, dilation and stride positive, padding
// non-negative
void check_sliding_arguments(const char* op, const Shape& kernel, const Shape& dilation,
                             const Shape& padding, const Shape& stride) {
  const std::pair<const char*, const Shape*> arguments[] = {{"kernel_size", &kernel},
                                                            {"dilation", &dilation},
                                                            {"padding", &padding},
                                                            {"stride", &stride}};
  for (auto [name, value] : arguments) {
    FG_CHECK(value->size() == 2, ValueError,
             "[" << op << "] expected " << name << " of 2 values, got " << value->size());
    bool is_padding = name == std::string("padding");
    int64_t least = is_padding ? 0 : 1;
    FG_CHECK((*value)[0] >= least && (*value)[1] >= least, ValueError,
             "[" << op << "] expected " << name << (is_padding ? " >= 0" : " > 0") << ", got "
                 << pair_text(*value));
  }
}

}  // namespace

// The geometry of sliding kernel_size over (channels, height, width): at least one kernel
// position along each axis.
Im2colGeometry sliding_geometry(const char* op, int64_t channels, int64_t height, int64_t width,
                                const Shape& kernel, const Shape& dilation, const Shape& padding,
                                const Shape& stride) {
  check_sliding_arguments(op, kernel, dilation, padding, stride);
  Im2colGeometry g{channels,    height,      width,      kernel[0],  kernel[1],
                   dilation[0], dilation[1], padding[0], padding[1], stride[0],
                   stride[1],   0,           0};
  int64_t span_h = dilation[0] * (kernel[0] - 1) + 1, span_w = dilation[1] * (kernel[1] - 1) + 1;
  int64_t padded_h = height + 2 * padding[0], padded_w = width + 2 * padding[1];
  FG_CHECK(span_h <= padded_h && span_w <= padded_w, ValueError,
           "[" << op << "] expected a dilated kernel of at most the padded input's size ("
               << padded_h << ", " << padded_w << "), got (" << span_h << ", " << span_w
               << ") from kernel_size " << pair_text(kernel) << " and dilation "
               << pair_text(dilation));
  g.out_h = (padded_h - span_h) / stride[0] + 1;
  g.out_w = (padded_w - span_w) / stride[1] + 1;
  return g;
}

Tensor im2col(const Tensor& input, const Shape& kernel_size, const Shape& dilation,
              const Shape& padding, const Shape& stride) {
  FG_CHECK(input.dim() == 4, ValueError,
           "[unfold] expected input of shape (N, C, H, W), got " << input.dim() << "-d input");
  const Shape& s = input.shape();
  Im2colGeometry g =
      sliding_geometry("unfold", s[1], s[2], s[3], kernel_size, dilation, padding, stride);
  return with_float32_compute(input, [&](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty({s[0], g.rows(), g.positions()}, x.dtype(), x.device());
    dispatch_floating(x.dtype(), "unfold", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(im2col, x.device(), out.data<T>(), x.data<T>(), g, s[0]);
    });
    record(out, "unfold", {x},
           [output_size = Shape{s[2], s[3]}, kernel_size, dilation, padding,
            stride](const Tensor& dout) {
             return std::vector<Tensor>{
                 col2im(dout, output_size, kernel_size, dilation, padding, stride)};
           });
    return out;
  });
}

Tensor col2im(const Tensor& input, const Shape& output_size, const Shape& kernel_size,
              const Shape& dilation, const Shape& padding, const Shape& stride) {
  FG_CHECK(input.dim() == 3, ValueError,
           "[fold] expected input of shape (N, C * kernel_h * kernel_w, L), got " << input.dim()
                                                                                  << "-d input");
  FG_CHECK(output_size.size() == 2 && output_size[0] > 0 && output_size[1] > 0, ValueError,
           "[fold] expected output_size of 2 positive values, got "
               << (output_size.size() == 2 ? pair_text(output_size)
                                           : std::to_string(output_size.size()) + " values"));
  check_sliding_arguments("fold", kernel_size, dilation, padding, stride);
  const Shape& s = input.shape();
  int64_t taps = kernel_size[0] * kernel_size[1];
  FG_CHECK(s[1] % taps == 0, ValueError,
           "[fold] expected input.size(1) divisible by the product of kernel_size "
               << pair_text(kernel_size) << ", got " << s[1]);
  Im2colGeometry g = sliding_geometry("fold", s[1] / taps, output_size[0], output_size[1],
                                      kernel_size, dilation, padding, stride);
  FG_CHECK(s[2] == g.positions(), ValueError,
           "[fold] expected input.size(2) to be the "
               << g.positions() << " kernel positions that output_size " << pair_text(output_size)
               << " gives (" << g.out_h << " x " << g.out_w << "), got " << s[2]);
  return with_float32_compute(input, [&](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty({s[0], g.channels, g.height, g.width}, x.dtype(), x.device());
    dispatch_floating(x.dtype(), "fold", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(col2im, x.device(), out.data<T>(), x.data<T>(), g, s[0]);
    });
    record(out, "fold", {x}, [kernel_size, dilation, padding, stride](const Tensor& dout) {
      return std::vector<Tensor>{im2col(dout, kernel_size, dilation, padding, stride)};
    });
    return out;
  });
}

}  // namespace fg::ops
