// Runs the CUDA line kernels (csrc/cuda/reduce.cu, softmax.cu, loss.cu: a thread, a warp or
// a block per line, and the chunked sum of long lines) and the multi-tensor optimizer
// kernels (csrc/cuda/optim.cu) on the host, through the emulation in cuda_runtime.h, and
// checks them against float64 references (the optimizers: against csrc/optim_math.h applied
// element by element, bit for bit). Outputs start as NaN, so an element never written
// fails. Prints one line per failure and exits 1 if there is any.
#include <cstdio>
#include <random>
#include <string>

#include "cuda_runtime.h"
// The kernels' files, compiled for the host:
#include "cuda/elementwise.cu"
#include "cuda/layout.cu"
#include "cuda/loss.cu"
#include "cuda/optim.cu"
#include "cuda/reduce.cu"
#include "cuda/softmax.cu"

// DeviceScratch's memory (csrc/cuda/allocator.cpp on a GPU).
namespace fg::cuda {
void* allocate(size_t nbytes, int) { return std::malloc(nbytes); }
void release(void* ptr, int) { std::free(ptr); }
}  // namespace fg::cuda

namespace {

std::mt19937 rng(11);
int64_t failures = 0, checks = 0;

std::vector<float> random_values(int64_t n, float low = -3.0f, float high = 3.0f) {
  std::uniform_real_distribution<float> uniform(low, high);
  std::vector<float> v(n);
  for (float& x : v) x = uniform(rng);
  return v;
}

// |got - want| <= tolerance, elementwise; NaN only where want is NaN.
void expect_close(const std::string& what, const std::vector<float>& got,
                  const std::vector<double>& want, double tolerance) {
  ++checks;
  for (size_t i = 0; i < want.size(); ++i) {
    double bound = tolerance * (1 + std::fabs(want[i]));
    bool ok = std::isnan(want[i]) ? std::isnan(got[i]) : std::fabs(got[i] - want[i]) <= bound;
    if (!ok) {
      std::printf("FAIL %s: element %zu is %.9g, expected %.9g\n", what.c_str(), i, got[i],
                  want[i]);
      ++failures;
      return;
    }
  }
}

struct Shape {
  int64_t outer, n, inner;
  std::string name(const char* op) const {
    return std::string(op) + " (" + std::to_string(outer) + ", " + std::to_string(n) + ", " +
           std::to_string(inner) + ")";
  }
};

double at(const std::vector<float>& x, const Shape& s, int64_t o, int64_t k, int64_t i) {
  return x[(o * s.n + k) * s.inner + i];
}

void check_sum_and_max(const Shape& s, bool with_nan) {
  std::vector<float> x = random_values(s.outer * s.n * s.inner);
  // Ties and NaNs: the first of equal maxima and the first NaN win.
  for (int64_t o = 0; o < s.outer; ++o) {
    x[(o * s.n + s.n / 2) * s.inner] = 5.0f;
    x[(o * s.n + s.n - 1) * s.inner] = 5.0f;
    if (with_nan && o % 2) {
      x[(o * s.n + s.n / 3) * s.inner] = NAN;
      x[(o * s.n + s.n - 1) * s.inner] = NAN;
    }
  }
  int64_t lines = s.outer * s.inner;
  std::vector<float> sums(lines, NAN), values(lines, NAN);
  std::vector<int64_t> indices(lines, -7);
  fg::cuda::sum_forward(sums.data(), x.data(), s.outer, s.n, s.inner);
  fg::cuda::max_forward(values.data(), indices.data(), x.data(), s.outer, s.n, s.inner);
  std::vector<double> want_sums(lines), want_values(lines);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      double total = 0, best = -INFINITY;
      int64_t best_k = -1;
      for (int64_t k = 0; k < s.n; ++k) {
        double v = at(x, s, o, k, i);
        total += v;
        if (best_k < 0 || (std::isnan(v) && !std::isnan(best)) || (!std::isnan(best) && v > best))
          best = v, best_k = k;
      }
      int64_t line = o * s.inner + i;
      want_sums[line] = total, want_values[line] = best;
      if (indices[line] != best_k) {
        std::printf("FAIL %s: index %lld of line %lld, expected %lld\n", s.name("argmax").c_str(),
                    (long long)indices[line], (long long)line, (long long)best_k);
        ++failures;
        return;
      }
    }
  expect_close(s.name("sum"), sums, want_sums, 1e-6);
  expect_close(s.name("max"), values, want_values, 0);
}

void check_softmax(const Shape& s) {
  int64_t size = s.outer * s.n * s.inner;
  std::vector<float> x = random_values(size), dy = random_values(size);
  std::vector<float> y(size, NAN), log_y(size, NAN), dx(size, NAN), log_dx(size, NAN);
  fg::cuda::softmax_forward(y.data(), x.data(), s.outer, s.n, s.inner);
  fg::cuda::log_softmax_forward(log_y.data(), x.data(), s.outer, s.n, s.inner);
  fg::cuda::softmax_backward(dx.data(), dy.data(), y.data(), s.outer, s.n, s.inner);
  fg::cuda::log_softmax_backward(log_dx.data(), dy.data(), log_y.data(), s.outer, s.n, s.inner);
  std::vector<double> want_y(size), want_log_y(size), want_dx(size), want_log_dx(size);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      double m = -INFINITY, total = 0, dot = 0, dy_sum = 0;
      for (int64_t k = 0; k < s.n; ++k) m = std::max(m, at(x, s, o, k, i));
      for (int64_t k = 0; k < s.n; ++k) total += std::exp(at(x, s, o, k, i) - m);
      for (int64_t k = 0; k < s.n; ++k) {
        double p = std::exp(at(x, s, o, k, i) - m) / total;
        dot += at(dy, s, o, k, i) * p, dy_sum += at(dy, s, o, k, i);
      }
      for (int64_t k = 0; k < s.n; ++k) {
        int64_t e = (o * s.n + k) * s.inner + i;
        double p = std::exp(x[e] - m) / total;
        want_y[e] = p, want_log_y[e] = x[e] - m - std::log(total);
        want_dx[e] = p * (dy[e] - dot), want_log_dx[e] = dy[e] - p * dy_sum;
      }
    }
  expect_close(s.name("softmax"), y, want_y, 1e-5);
  expect_close(s.name("log_softmax"), log_y, want_log_y, 1e-5);
  expect_close(s.name("softmax backward"), dx, want_dx, 1e-4);
  expect_close(s.name("log_softmax backward"), log_dx, want_log_dx, 1e-4);
}

void check_cross_entropy(int64_t N, int64_t C, float smoothing) {
  std::vector<float> x = random_values(N * C), dlosses = random_values(N);
  std::vector<int64_t> targets(N);
  for (int64_t r = 0; r < N; ++r) targets[r] = (r * 7919) % C;
  std::vector<float> losses(N, NAN), dx(N * C, NAN);
  fg::cuda::cross_entropy_forward(losses.data(), x.data(), targets.data(), smoothing, N, C);
  fg::cuda::cross_entropy_backward(dx.data(), dlosses.data(), x.data(), targets.data(), smoothing,
                                   N, C);
  std::vector<double> want_losses(N), want_dx(N * C);
  for (int64_t r = 0; r < N; ++r) {
    const float* row = x.data() + r * C;
    double m = -INFINITY, total = 0, row_sum = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max<double>(m, row[c]), row_sum += row[c];
    for (int64_t c = 0; c < C; ++c) total += std::exp(row[c] - m);
    double lse = m + std::log(total);
    want_losses[r] = lse - (1 - smoothing) * row[targets[r]] - smoothing / C * row_sum;
    for (int64_t c = 0; c < C; ++c) {
      double target = (c == targets[r] ? 1 - smoothing : 0) + smoothing / C;
      want_dx[r * C + c] = dlosses[r] * (std::exp(row[c] - lse) - target);
    }
  }
  std::string name = "cross_entropy (" + std::to_string(N) + ", " + std::to_string(C) + ")";
  expect_close(name, losses, want_losses, 1e-5);
  expect_close(name + " backward", dx, want_dx, 1e-5);
}

// The multi-tensor Adam step against adam_update applied element by element: the same
// numbers to the bit, whichever block and launch update an element.
void check_adam(const std::vector<int64_t>& sizes, bool amsgrad) {
  int64_t count = static_cast<int64_t>(sizes.size());
  std::vector<std::vector<float>> p, m, v, v_max, g;
  for (int64_t size : sizes) {
    p.push_back(random_values(size));
    m.push_back(random_values(size));
    v.push_back(random_values(size, 0.0f, 1.0f));
    v_max.push_back(random_values(size, 0.0f, 1.0f));
    g.push_back(random_values(size));
  }
  auto want_p = p, want_m = m, want_v = v, want_v_max = v_max;
  std::vector<float*> ps, ms, vs, v_maxes;
  std::vector<const float*> gs;
  std::vector<int64_t> steps;
  for (int64_t t = 0; t < count; ++t) {
    ps.push_back(p[t].data()), ms.push_back(m[t].data()), vs.push_back(v[t].data());
    v_maxes.push_back(v_max[t].data()), gs.push_back(g[t].data()), steps.push_back(1 + t % 5);
  }
  fg::AdamOptions options{1e-3, 0.9, 0.999, 1e-8, 0.01, amsgrad, false, true};
  fg::cuda::adam_step(ps.data(), ms.data(), vs.data(), v_maxes.data(), gs.data(), steps.data(),
                      options, sizes.data(), count);
  ++checks;
  for (int64_t t = 0; t < count; ++t) {
    fg::AdamScalars s = fg::adam_scalars(options, steps[t]);
    for (int64_t i = 0; i < sizes[t]; ++i) {
      if (amsgrad)
        fg::adam_update<true>(want_p[t][i], want_m[t][i], want_v[t][i], &want_v_max[t][i], g[t][i],
                              s);
      else
        fg::adam_update<false>(want_p[t][i], want_m[t][i], want_v[t][i], nullptr, g[t][i], s);
      bool same = p[t][i] == want_p[t][i] && m[t][i] == want_m[t][i] && v[t][i] == want_v[t][i] &&
                  v_max[t][i] == want_v_max[t][i];
      if (!same) {
        std::printf("FAIL adam_step (%lld tensors, amsgrad %d): tensor %lld element %lld\n",
                    (long long)count, amsgrad, (long long)t, (long long)i);
        ++failures;
        return;
      }
    }
  }
}

}  // namespace

int main() {
  // Strided lines (a thread each; sum's 8-warp kernel from 32 lines across), short
  // contiguous ones (a warp), from 2048 (a block), and past 16384 (sum in chunks).
  for (Shape s : {Shape{3, 5, 1},
                  {2, 33, 1},
                  {70, 9, 1},
                  {3, 7, 5},
                  {2, 9, 40},
                  {2, 2047, 1},
                  {3, 2048, 1},
                  {2, 5000, 1},
                  {1, 16384, 1},
                  {2, 16385, 1},
                  {1, 40000, 1}})
    for (bool with_nan : {false, true}) check_sum_and_max(s, with_nan);
  for (Shape s : {Shape{3, 5, 1}, {40, 33, 1}, {3, 7, 5}, {2, 2048, 1}, {2, 5000, 1}})
    check_softmax(s);
  for (auto [N, C] : {std::pair<int64_t, int64_t>{5, 3}, {70, 10}, {3, 2048}, {2, 5001}})
    for (float smoothing : {0.0f, 0.1f}) check_cross_entropy(N, C, smoothing);
  // More tensors than one launch takes (32), empty ones, and slices of 4096 with a remainder.
  std::vector<int64_t> sizes;
  for (int t = 0; t < 37; ++t) sizes.push_back(t % 9 == 4 ? 0 : 1 + (t * 997) % 9000);
  for (bool amsgrad : {false, true}) check_adam(sizes, amsgrad);
  std::printf("%lld of %lld checks failed\n", (long long)failures, (long long)checks);
  return failures ? 1 : 0;
}
