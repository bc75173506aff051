// Sampling that does not map one draw to one element: integers over any int64 range, random
// permutations, multinomial draws and Poisson counts. Each runs on the host from a Philox
// stream (core/philox.h) and moves its result to the asked device, so a seed gives the same
// values on every device.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/dispatch.h"
#include "core/error.h"
#include "core/philox.h"
#include "ops/ops.h"

namespace fg::ops {
namespace {

uint64_t word_pair(const Philox4& r, int half) {
  return (static_cast<uint64_t>(r.v[2 * half]) << 32) | r.v[2 * half + 1];
}

// 53 random bits -> a double in [0, 1)
double unit_double(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

// The numbers of one element (or row): the blocks (counter, 1), (counter, 2), ... of the
// counter reserved for it, two 64-bit words each, as many as the sampler asks for.
class Substream {
 public:
  Substream(uint64_t seed, uint64_t counter) : seed_(seed), counter_(counter) {}

  uint64_t next_bits() {
    if (half_ == 2) {
      block_ = philox4x32_10(counter_, seed_, ++high_);
      half_ = 0;
    }
    return word_pair(block_, half_++);
  }

  double next_double() { return unit_double(next_bits()); }

 private:
  uint64_t seed_, counter_, high_ = 0;
  Philox4 block_{};
  int half_ = 2;
};

// Knuth's method (multiply uniforms until the product falls below e^-rate) for small rates;
// Hormann's PTRS transformed rejection ("The transformed rejection method for generating
// Poisson random variables", 1993), exact and O(1) draws, for the rest, as numpy does.
double poisson_count(double rate, Substream& stream) {
  if (rate == 0) return 0;
  if (rate < 10) {
    double limit = std::exp(-rate), product = stream.next_double();
    double count = 0;
    while (product > limit) {
      product *= stream.next_double();
      count += 1;
    }
    return count;
  }
  double root = std::sqrt(rate), log_rate = std::log(rate);
  double b = 0.931 + 2.53 * root, a = -0.059 + 0.02483 * b;
  double log_inverse_alpha = std::log(1.1239 + 1.1328 / (b - 3.4));
  double accept_bound = 0.9277 - 3.6224 / (b - 2);
  while (true) {
    double u = stream.next_double() - 0.5, v = stream.next_double();
    double us = 0.5 - std::fabs(u);
    double k = std::floor((2 * a / us + b) * u + rate + 0.43);
    if (us >= 0.07 && v <= accept_bound) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + log_inverse_alpha - std::log(a / (us * us) + b) <=
        -rate + k * log_rate - std::lgamma(k + 1))
      return k;
  }
}

// A float64 host copy of x (row-major), for the checks and samplers that read every value.
std::vector<double> host_values(const Tensor& x) {
  Tensor host = contiguous(to_device(to_dtype(x.detach(), DType::Float64), Device{}));
  return std::vector<double>(host.data<double>(), host.data<double>() + host.numel());
}

}  // namespace

Tensor randint(int64_t low, uint64_t span, const Shape& shape, Device device,
               Generator* generator) {
  FG_CHECK(span > 0, ValueError, "[randint] expected a nonempty range");
  Tensor out = empty(shape, DType::Int64, Device{});
  int64_t n = out.numel();
  // element i: the 64-bit word i % 2 of block i / 2; (bits mod span) is uniform but for a
  // bias below span / 2^64
  auto [seed, offset] = reserve_random_blocks(2 * n, generator);
  int64_t* values = out.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    uint64_t bits = word_pair(philox4x32_10(offset + static_cast<uint64_t>(i / 2), seed), i % 2);
    values[i] = static_cast<int64_t>(static_cast<uint64_t>(low) + bits % span);
  }
  return to_device(out, device);
}

Tensor randperm(int64_t n, Device device, Generator* generator) {
  FG_CHECK(n >= 0, ValueError, "[randperm] expected n >= 0, got " << n);
  Tensor out = empty({n}, DType::Int64, Device{});
  int64_t* values = out.data<int64_t>();
  std::iota(values, values + n, int64_t{0});
  // Fisher-Yates from one reserved counter's substream.
  auto [seed, offset] = reserve_random_blocks(4, generator);
  Substream stream(seed, offset);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(values[i], values[stream.next_bits() % static_cast<uint64_t>(i + 1)]);
  return to_device(out, device);
}

Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement,
                   Generator* generator) {
  FG_CHECK(probs.dim() == 1 || probs.dim() == 2, ValueError,
           "[multinomial] expected a 1-d or 2-d input, got " << probs.dim() << " dimensions");
  FG_CHECK(is_floating(probs.dtype()), TypeError,
           "[multinomial] expected a floating-point input, got " << dtype_name(probs.dtype()));
  int64_t categories = probs.shape().back(), rows = probs.dim() == 2 ? probs.shape()[0] : 1;
  FG_CHECK(categories > 0, ValueError, "[multinomial] expected at least one category, got none");
  FG_CHECK(num_samples > 0, ValueError,
           "[multinomial] expected num_samples > 0, got " << num_samples);
  FG_CHECK(replacement || num_samples <= categories, ValueError,
           "[multinomial] cannot draw " << num_samples << " samples from " << categories
                                        << " categories without replacement");
  std::vector<double> weights = host_values(probs);
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = weights.data() + r * categories;
    double total = 0;
    for (int64_t c = 0; c < categories; ++c) {
      FG_CHECK(std::isfinite(row[c]) && row[c] >= 0, ValueError,
               "[multinomial] expected finite, nonnegative probabilities, got " << row[c]
                                                                                << " in row " << r);
      total += row[c];
    }
    FG_CHECK(total > 0, ValueError,
             "[multinomial] expected a positive sum of probabilities, row " << r << " sums to 0");
  }
  Shape shape = probs.dim() == 2 ? Shape{rows, num_samples} : Shape{num_samples};
  Tensor out = empty(shape, DType::Int64, Device{});
  int64_t* samples = out.data<int64_t>();
  // Row r draws from the substream of counter offset + r.
  auto [seed, offset] = reserve_random_blocks(4 * rows, generator);
  std::vector<double> cumulative(categories), keys(categories);
  std::vector<int64_t> order(categories);
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = weights.data() + r * categories;
    int64_t* row_samples = samples + r * num_samples;
    Substream stream(seed, offset + static_cast<uint64_t>(r));
    if (replacement) {  // inverse CDF: the first category whose cumulative weight exceeds u
      std::partial_sum(row, row + categories, cumulative.begin());
      for (int64_t s = 0; s < num_samples; ++s) {
        double u = stream.next_double() * cumulative.back();
        int64_t c = std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin();
        while (row[std::min(c, categories - 1)] == 0 && c > 0) --c;  // never a zero weight
        row_samples[s] = std::min(c, categories - 1);
      }
    } else {  // Efraimidis-Spirakis: the num_samples largest keys log(u) / w, in order
      for (int64_t c = 0; c < categories; ++c) {
        double u = 1.0 - stream.next_double();  // in (0, 1]: a finite log
        keys[c] = row[c] > 0 ? std::log(u) / row[c] : -INFINITY;
      }
      // Zero weights come last, in index order (PyTorch, too, draws them once the others
      // are used up).
      std::iota(order.begin(), order.end(), int64_t{0});
      std::partial_sort(
          order.begin(), order.begin() + num_samples, order.end(),
          [&](int64_t a, int64_t b) { return keys[a] > keys[b] || (keys[a] == keys[b] && a < b); });
      std::copy(order.begin(), order.begin() + num_samples, row_samples);
    }
  }
  return to_device(out, probs.device());
}

Tensor poisson(const Tensor& rates, Generator* generator) {
  FG_CHECK(is_floating(rates.dtype()), TypeError,
           "[poisson] expected floating-point rates, got " << dtype_name(rates.dtype()));
  std::vector<double> values = host_values(rates);
  for (double rate : values)
    FG_CHECK(rate >= 0 && std::isfinite(rate), ValueError,
             "[poisson] expected finite, nonnegative rates, got " << rate);
  Tensor counts = empty(rates.shape(), DType::Float64, Device{});
  // Element i draws from the substream of counter offset + i.
  auto [seed, offset] = reserve_random_blocks(4 * counts.numel(), generator);
  for (int64_t i = 0; i < counts.numel(); ++i) {
    Substream stream(seed, offset + static_cast<uint64_t>(i));
    counts.data<double>()[i] = poisson_count(values[i], stream);
  }
  return to_device(to_dtype(counts, rates.dtype()), rates.device());
}

}  // namespace fg::ops
