// Runs the CUDA kernels of csrc/cuda/*.cu but the GEMM (gemm_emulation.cpp has those) on
// the host, through the emulation in cuda_runtime.h. The line kernels (a thread, a warp or a
// block per line, and the chunked sum of long lines) are checked against float64
// references, the multi-tensor Adam step against csrc/optim_math.h element by element; and
// every kernel of the catalogue (csrc/kernel_list.h) against its CPU version, linked in:
// bit for bit where both do the same IEEE operations, within a few float32 roundings where
// the math library or the order of a sum differs. Outputs start as NaN, so an element never
// written fails. Prints one line per failure and exits 1 if there is any.
#include <cstdio>
#include <cstring>
#include <limits>
#include <typeinfo>
#include <memory>
#include <random>
#include <string>
#include <type_traits>

#include "cuda_runtime.h"
#include "cpu/gemm_packed.h"
// The kernels' files, compiled for the host:
#include "cuda/activation.cu"
#include "cuda/cast.cu"
#include "cuda/elementwise.cu"
#include "cuda/layout.cu"
#include "cuda/loss.cu"
#include "cuda/optim.cu"
#include "cuda/pool.cu"
#include "cuda/random.cu"
#include "cuda/reduce.cu"
#include "cuda/softmax.cu"
#include "cuda/im2col.cu"
#include "cuda/norm.cu"
#include "cuda/depthwise.cu"
#include "cuda/interpolate.cu"
#include "cuda/conv.cu"
#include "cuda/attention.cu"
#include "cuda/rnn.cu"

// DeviceScratch's memory (csrc/cuda/allocator.cpp on a GPU).
namespace fg::cuda {
void* allocate(size_t nbytes, int) { return std::malloc(nbytes); }
void release(void* ptr, int) { std::free(ptr); }
}  // namespace fg::cuda

// csrc/cpu/conv.cpp runs on the CPU GEMM, which csrc/cpu/gemm*.cpp build with wider
// instruction sets than this harness; tests/test_gemm.py and gemm_emulation.cpp check that
// GEMM. Here a plain product stands in: C (M, N) = [C +] op(A) op(B) [+ bias], relu unused.
namespace fg::cpu {
template <typename T>
void plain_gemm(T* C, const T* A, const T* B, const T* bias, bool, bool trans_a, bool trans_b,
                bool accumulate, int64_t M, int64_t N, int64_t K) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T sum = accumulate ? C[i * N + j] : T(0);
      for (int64_t k = 0; k < K; ++k)
        sum += (trans_a ? A[k * M + i] : A[i * K + k]) * (trans_b ? B[j * K + k] : B[k * N + j]);
      C[i * N + j] = sum + (bias ? bias[j] : T(0));
    }
}
void gemm(float* C, const float* A, const float* B, const float* bias, bool relu, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K) {
  plain_gemm(C, A, B, bias, relu, trans_a, trans_b, accumulate, M, N, K);
}
void gemm(double* C, const double* A, const double* B, const double* bias, bool relu, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K) {
  plain_gemm(C, A, B, bias, relu, trans_a, trans_b, accumulate, M, N, K);
}

// The packed-operand entry points (csrc/cpu/gemm_packed.h), plain loops over its layout:
// small panels, so that conv.cpp's panel path meets several panels and depth blocks.
template <class T>
GemmPanels gemm_panels(int64_t K) {
  return {4, 8, 32, K};
}
template <class T>
void gemm_pack_a(T* packed, const T* A, int64_t lda, const GemmPanels& panels, int64_t M) {
  int64_t rows = (M + panels.mr - 1) / panels.mr * panels.mr;
  for (int64_t start = 0; start < panels.K; start += panels.kc) {
    int64_t depth = panels.depth(start);
    T* block = packed + start * rows;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t k = 0; k < depth; ++k)
        block[i / panels.mr * depth * panels.mr + k * panels.mr + i % panels.mr] =
            i < M ? A[i * lda + start + k] : T(0);
  }
}
template <class T>
void gemm_packed_block(T* C, const T* packed_a, const T* packed_b_block, bool accumulate,
                       const GemmPanels& panels, int64_t start, int64_t ldc, int64_t M, int64_t N) {
  int64_t depth = panels.depth(start), rows = (M + panels.mr - 1) / panels.mr * panels.mr;
  const T* a_block = packed_a + start * rows;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T sum = accumulate || start > 0 ? C[i * ldc + j] : T(0);
      for (int64_t k = 0; k < depth; ++k)
        sum += a_block[i / panels.mr * depth * panels.mr + k * panels.mr + i % panels.mr] *
               packed_b_block[j / panels.nr * depth * panels.nr + k * panels.nr + j % panels.nr];
      C[i * ldc + j] = sum;
    }
}
#define FG_PLAIN_GEMM_PACKED(T)                                                              \
  template GemmPanels gemm_panels<T>(int64_t);                                               \
  template void gemm_pack_a(T*, const T*, int64_t, const GemmPanels&, int64_t);              \
  template void gemm_packed_block(T*, const T*, const T*, bool, const GemmPanels&, int64_t,   \
                                  int64_t, int64_t, int64_t);
FG_PLAIN_GEMM_PACKED(float)
FG_PLAIN_GEMM_PACKED(double)
#undef FG_PLAIN_GEMM_PACKED
}  // namespace fg::cpu

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
  fg::cuda::extreme_forward(values.data(), indices.data(), x.data(), false, s.outer, s.n, s.inner);
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

// With class weights and an ignored row: the float64 formula of the loss and its gradient.
void check_cross_entropy(int64_t N, int64_t C, float smoothing, bool weighted) {
  std::vector<float> x = random_values(N * C), dlosses = random_values(N);
  std::vector<float> weights = random_values(C, 0.25f, 2.0f);
  const float* class_weights = weighted ? weights.data() : nullptr;
  const int64_t ignore_index = -100;
  std::vector<int64_t> targets(N);
  for (int64_t r = 0; r < N; ++r) targets[r] = r % 4 == 3 ? ignore_index : (r * 7919) % C;
  std::vector<float> losses(N, NAN), row_weights(N, NAN), dx(N * C, NAN);
  fg::cuda::cross_entropy_forward(losses.data(), row_weights.data(), x.data(), targets.data(),
                                  class_weights, ignore_index, smoothing, N, C);
  fg::cuda::cross_entropy_backward(dx.data(), dlosses.data(), x.data(), targets.data(),
                                   class_weights, ignore_index, smoothing, N, C);
  std::vector<double> want_losses(N), want_row_weights(N), want_dx(N * C, 0.0);
  auto w = [&](int64_t c) { return weighted ? double(weights[c]) : 1.0; };
  for (int64_t r = 0; r < N; ++r) {
    if (targets[r] == ignore_index) continue;
    const float* row = x.data() + r * C;
    double m = -INFINITY, total = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max<double>(m, row[c]);
    for (int64_t c = 0; c < C; ++c) total += std::exp(row[c] - m);
    double lse = m + std::log(total);
    want_row_weights[r] = w(targets[r]);
    // q: the weighted target distribution; dloss/dx = p sum(q) - q, p = softmax(x)
    std::vector<double> q(C);
    double q_total = 0;
    for (int64_t c = 0; c < C; ++c) {
      q[c] = w(c) * ((c == targets[r] ? 1 - smoothing : 0) + smoothing / C);
      q_total += q[c];
      want_losses[r] += q[c] * (lse - row[c]);
    }
    for (int64_t c = 0; c < C; ++c)
      want_dx[r * C + c] = dlosses[r] * (std::exp(row[c] - lse) * q_total - q[c]);
  }
  std::string name = "cross_entropy (" + std::to_string(N) + ", " + std::to_string(C) + ")" +
                     (weighted ? " weighted" : "");
  expect_close(name, losses, want_losses, 1e-5);
  expect_close(name + " row weights", row_weights, want_row_weights, 0.0);
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
    fg::AdamScalars<float> s = fg::adam_scalars<float>(options, steps[t]);
    for (int64_t i = 0; i < sizes[t]; ++i) {
      if (amsgrad)
        fg::adam_update<true>(want_p[t][i], want_m[t][i], want_v[t][i], &want_v_max[t][i], g[t][i],
                              s);
      else
        fg::adam_update<false>(want_p[t][i], want_m[t][i], want_v[t][i],
                               static_cast<float*>(nullptr), g[t][i], s);
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

// ---- every kernel against its CPU version ----------------------------------------------

constexpr int64_t kN = 3001;  // elements of the elementwise checks: 12 blocks, the last partial
constexpr double kExact = 0, kRounding = 2e-6;

// Random values with the awkward ones among them: zeros of both signs, infinities, NaN,
// tiny and large magnitudes; only positive ones (and +0, +inf, NaN) when `positive`.
std::vector<float> awkward_values(int64_t n, bool positive = false) {
  std::vector<float> x = random_values(n, positive ? 0.01f : -4.0f, 4.0f);
  const float specials[] = {0.0f,    -0.0f, INFINITY, -INFINITY, NAN,   1e-30f,
                            -1e-30f, 90.0f, -90.0f,   1.0f,      -1.0f, 0.5f};
  for (int k = 0; k < 12; ++k) {
    float v = specials[k];
    x[(k * 97) % n] = positive ? (v < 0 ? -v : v) : v;
  }
  return x;
}

// got (CUDA) against want (CPU): the same values (NaN for NaN, the same infinities and signed
// zeros) when rtol is 0, else within rtol relative (1e-7 absolute near zero).
template <typename T>
void expect_same(const std::string& what, const std::vector<T>& got, const std::vector<T>& want,
                 double rtol) {
  ++checks;
  for (size_t i = 0; i < want.size(); ++i) {
    bool ok = got[i] == want[i];
    if constexpr (std::is_floating_point_v<T>) {
      double g = got[i], w = want[i];
      if (std::isnan(w) || std::isnan(g))
        ok = std::isnan(w) && std::isnan(g);
      else if (rtol == 0 || std::isinf(w))
        ok = g == w && std::signbit(g) == std::signbit(w);
      else
        ok = std::fabs(g - w) <= rtol * std::fabs(w) + 1e-7;
    }
    if (!ok) {
      std::printf("FAIL %s: element %zu is %.9g on the GPU, %.9g on the CPU\n", what.c_str(), i,
                  double(got[i]), double(want[i]));
      ++failures;
      return;
    }
  }
}

// fn(device, out) fills out (size elements) on either device; the results must agree. The
// two outputs start different (NaN on the GPU's side), so an element one kernel leaves
// unwritten fails.
template <typename T, typename Fn>
void expect_parity(const std::string& what, int64_t size, double rtol, Fn fn) {
  std::unique_ptr<T[]> on_cpu(new T[size]), on_gpu(new T[size]);
  std::fill(on_cpu.get(), on_cpu.get() + size, T(0));
  std::fill(on_gpu.get(), on_gpu.get() + size, std::is_floating_point_v<T> ? T(NAN) : T(1));
  fn(false, on_cpu.get());
  fn(true, on_gpu.get());
  expect_same(what, std::vector<T>(on_gpu.get(), on_gpu.get() + size),
              std::vector<T>(on_cpu.get(), on_cpu.get() + size), rtol);
}

// A kernel as cpu:: or cuda:: by name, with the same arguments.
#define FG_EITHER(gpu, name, ...) ((gpu) ? fg::cuda::name(__VA_ARGS__) : fg::cpu::name(__VA_ARGS__))

// The values of a float vector as T (exactly, for float and double).
template <typename T>
std::vector<T> as(const std::vector<float>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <typename T>
const char* type_name() {
  if constexpr (std::is_same_v<T, float>) return "float";
  if constexpr (std::is_same_v<T, double>) return "double";
  if constexpr (std::is_same_v<T, int64_t>) return "int64";
  if constexpr (std::is_same_v<T, int32_t>) return "int32";
  if constexpr (std::is_same_v<T, int16_t>) return "int16";
  if constexpr (std::is_same_v<T, int8_t>) return "int8";
  if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
  if constexpr (std::is_same_v<T, bool>) return "bool";
}

template <typename T>
void check_elementwise() {
  const std::vector<T> x = as<T>(awkward_values(kN)), positive = as<T>(awkward_values(kN, true));
  const std::vector<T> dy = as<T>(random_values(kN));
  auto unary = [&](const char* name, const std::vector<T>& in, double rtol, auto kernel) {
    expect_parity<T>(std::string(name) + " " + type_name<T>(), kN, rtol,
                     [&](bool gpu, T* y) { kernel(gpu, y, in.data()); });
  };
#define FG_UNARY(name, in, rtol, ...)                      \
  unary(#name, in, rtol, [&](bool gpu, T* y, const T* v) { \
    FG_EITHER(gpu, name, y, v __VA_OPT__(, ) __VA_ARGS__, kN); \
  })
#define FG_BACKWARD(name, in, rtol, ...)                                   \
  unary(#name, in, rtol, [&](bool gpu, T* dx, const T* v) {                \
    FG_EITHER(gpu, name, dx, dy.data(), v __VA_OPT__(, ) __VA_ARGS__, kN); \
  })
  FG_UNARY(neg_forward, x, kExact);
  FG_UNARY(exp_forward, x, kRounding);
  FG_UNARY(log_forward, positive, kRounding);
  FG_UNARY(log1p_forward, positive, kRounding);
  FG_UNARY(sqrt_forward, positive, kExact);
  FG_UNARY(abs_forward, x, kExact);
  FG_BACKWARD(abs_backward, x, kExact);
  FG_UNARY(pow_forward, positive, kRounding, 2.5f);
  FG_BACKWARD(pow_backward, positive, kRounding, 2.5f);
  FG_UNARY(pow_forward, x, kRounding, 2.0f);
  FG_BACKWARD(pow_backward, x, kRounding, 0.0f);
  FG_UNARY(clamp_forward, x, kExact, -1.5f, 2.0f);
  for (int64_t order : {0, 1, 2, 4}) FG_UNARY(polygamma_forward, x, kRounding, order);
  FG_UNARY(nan_to_num_forward, x, kExact, 0.5, 1e3, -1e3);
  FG_BACKWARD(clamp_backward, x, kExact, -1.5f, 2.0f);
  FG_UNARY(relu_forward, x, kExact);
  FG_BACKWARD(relu_backward, x, kExact);
  FG_UNARY(leaky_relu_forward, x, kExact, 0.1f);
  FG_BACKWARD(leaky_relu_backward, x, kExact, 0.1f);
  for (bool tanh_approximation : {false, true}) {
    FG_UNARY(gelu_forward, x, kRounding, tanh_approximation);
    FG_BACKWARD(gelu_backward, x, kRounding, tanh_approximation);
  }
  FG_UNARY(tanh_forward, x, kRounding);
  FG_BACKWARD(tanh_backward, x, kRounding);
  FG_UNARY(sigmoid_forward, x, kRounding);
  FG_BACKWARD(sigmoid_backward, x, kRounding);
  FG_UNARY(silu_forward, x, kRounding);
  FG_BACKWARD(silu_backward, x, kRounding);
  // every parametrized activation, with parameters that put its kinks inside x's range
  const fg::ActivationParams params{0.75, 1.25, 0.5};
#define FG_ACTIVATION_CHECK(Name)                                                \
  FG_UNARY(activation_forward, x, kRounding, fg::Activation::Name, params);      \
  FG_BACKWARD(activation_backward, x, kRounding, fg::Activation::Name, params);
  FG_FOR_EACH_ACTIVATION(FG_ACTIVATION_CHECK)
#undef FG_ACTIVATION_CHECK
#define FG_UNARY_MATH_CHECK(Name, name)                                \
  unary(#name, x, kRounding, [&](bool gpu, T* y, const T* v) {         \
    FG_EITHER(gpu, unary_math, fg::UnaryMath::Name, y, v, kN);         \
  });
  FG_FOR_EACH_UNARY_MATH(FG_UNARY_MATH_CHECK)
#undef FG_UNARY_MATH_CHECK
#undef FG_UNARY
#undef FG_BACKWARD
  expect_parity<T>(std::string("add_inplace ") + type_name<T>(), kN, kExact, [&](bool gpu, T* y) {
    std::copy(dy.begin(), dy.end(), y);
    FG_EITHER(gpu, add_inplace, y, x.data(), kN);
  });
}

// Every op of binary_op_list.h whose kernel takes T.
template <typename T>
std::vector<fg::BinaryOp> binary_ops_taking() {
  std::vector<fg::BinaryOp> ops;
#define FG_BINARY_OP_IF_TAKES(Name, types) \
  if (fg::binary_takes<T>(fg::BinaryTypes::types)) ops.push_back(fg::BinaryOp::Name);
  FG_FOR_EACH_BINARY_OP(FG_BINARY_OP_IF_TAKES)
#undef FG_BINARY_OP_IF_TAKES
  return ops;
}

template <typename T>
void check_broadcast() {
  // (3, 1, 5) and (1, 4, 5) to (3, 4, 5); a scalar against a row; equal shapes (one line).
  struct Case {
    std::vector<int64_t> shape, a_strides, b_strides;
    int64_t a_size, b_size;
  };
  for (const Case& c : {Case{{3, 4, 5}, {5, 0, 1}, {0, 5, 1}, 15, 20},
                        Case{{2, 7}, {0, 0}, {0, 1}, 1, 7}, Case{{600}, {1}, {1}, 600, 600}}) {
    int64_t size = 1;
    for (int64_t d : c.shape) size *= d;
    int ndim = static_cast<int>(c.shape.size());
    std::vector<T> a = as<T>(awkward_values(c.a_size)), b = as<T>(random_values(c.b_size));
    std::vector<int64_t> ia(c.a_size), ib(c.b_size);
    for (int64_t k = 0; k < c.a_size; ++k) ia[k] = k % 5 - 2;
    for (int64_t k = 0; k < c.b_size; ++k) ib[k] = k % 3 - 1;
    std::string where =
        std::string(" ") + type_name<T>() + " over " + std::to_string(ndim) + " dims";
    for (fg::BinaryOp op : binary_ops_taking<T>())
      expect_parity<T>("binary " + std::to_string(int(op)) + where, size, kExact,
                       [&](bool gpu, T* out) {
                         FG_EITHER(gpu, binary, op, out, a.data(), b.data(), c.shape.data(),
                                   c.a_strides.data(), c.b_strides.data(), ndim);
                       });
    for (fg::CompareOp op : {fg::CompareOp::Eq, fg::CompareOp::Ne, fg::CompareOp::Lt,
                             fg::CompareOp::Le, fg::CompareOp::Gt, fg::CompareOp::Ge}) {
      expect_parity<bool>("compare " + std::to_string(int(op)) + where, size, kExact,
                          [&](bool gpu, bool* out) {
                            FG_EITHER(gpu, compare, op, out, a.data(), b.data(), c.shape.data(),
                                      c.a_strides.data(), c.b_strides.data(), ndim);
                          });
      expect_parity<bool>("compare int64 " + std::to_string(int(op)) + where, size, kExact,
                          [&](bool gpu, bool* out) {
                            FG_EITHER(gpu, compare, op, out, ia.data(), ib.data(), c.shape.data(),
                                      c.a_strides.data(), c.b_strides.data(), ndim);
                          });
    }
  }
}

// Casts: every pair of the 10 dtypes gives the same bits on both devices, from values that
// reach each rule of cast_math.h (NaN, infinities, saturation, ties of the half and bfloat16
// roundings, subnormals). Outputs start as different bytes, so an element never written fails.
template <typename... Ts>
struct TypeList {};
using AllTypes = TypeList<float, double, fg::Half, fg::BFloat16, int64_t, int32_t, int16_t, int8_t,
                          uint8_t, bool>;

template <typename Src, typename Dst>
void check_cast_pair(const Src* x, int64_t n) {
  std::unique_ptr<Dst[]> on_cpu(new Dst[n]), on_gpu(new Dst[n]);
  std::memset(static_cast<void*>(on_cpu.get()), 0x00, n * sizeof(Dst));
  std::memset(static_cast<void*>(on_gpu.get()), 0xA5, n * sizeof(Dst));
  fg::cpu::cast(on_cpu.get(), x, n);
  fg::cuda::cast(on_gpu.get(), x, n);
  ++checks;
  for (int64_t i = 0; i < n; ++i) {
    if (std::memcmp(&on_cpu[i], &on_gpu[i], sizeof(Dst)) != 0) {
      std::printf("FAIL cast %s -> %s: element %lld differs\n", typeid(Src).name(),
                  typeid(Dst).name(), static_cast<long long>(i));
      ++failures;
      return;
    }
  }
}

template <typename Src, typename... Dsts>
void check_casts_from(TypeList<Dsts...>, const std::vector<double>& values) {
  int64_t n = static_cast<int64_t>(values.size());
  std::unique_ptr<Src[]> x(new Src[n]);
  fg::cpu::cast(x.get(), values.data(), n);
  (check_cast_pair<Src, Dsts>(x.get(), n), ...);
  // fill: one value, written everywhere on both devices
  std::unique_ptr<Src[]> on_cpu(new Src[n]), on_gpu(new Src[n]);
  fg::cpu::fill(on_cpu.get(), x[7], n);
  fg::cuda::fill(on_gpu.get(), x[7], n);
  ++checks;
  if (std::memcmp(on_cpu.get(), on_gpu.get(), n * sizeof(Src)) != 0) {
    std::printf("FAIL fill %s\n", typeid(Src).name());
    ++failures;
  }
}

template <typename... Srcs>
void check_all_casts(TypeList<Srcs...> all, const std::vector<double>& values) {
  (check_casts_from<Srcs>(all, values), ...);
}

void check_casts_and_fills() {
  std::vector<double> values = {0.0,
                                -0.0,
                                0.5,
                                -0.5,
                                1.5,
                                2.5,
                                -2.5,
                                -7.75,
                                127.9,
                                -128.5,
                                255.5,
                                256.0,
                                -129.0,
                                300.0,
                                65504.0,
                                65519.99,
                                65520.0,
                                1e5,
                                -1e5,
                                2147483648.0,
                                -2147483649.0,
                                3e9,
                                9.3e18,
                                1e19,
                                -1e19,
                                1e300,
                                -1e300,
                                3.4e38,
                                NAN,
                                -NAN,
                                INFINITY,
                                -INFINITY,
                                6e-8,
                                2.98e-8,
                                2.9802322387695312e-08,
                                1e-40,
                                1.0 + 0x1p-11 + 0x1p-40,
                                1.0 + 0x1p-8 + 0x1p-40,
                                1.0 + 0x1p-11};
  for (float v : random_values(kN, -300.0f, 300.0f)) values.push_back(v);
  check_all_casts(AllTypes{}, values);
}

void check_random() {
  // The same seed and offset give the same numbers on both devices, from any offset.
  for (uint64_t offset : {uint64_t(0), uint64_t(5), uint64_t(1) << 33}) {
    std::string at = " at offset " + std::to_string(offset);
    expect_parity<float>("uniform" + at, kN, kExact,
                         [&](bool gpu, float* y) { FG_EITHER(gpu, uniform, y, 42, offset, kN); });
    expect_parity<float>("normal" + at, kN, kRounding,
                         [&](bool gpu, float* y) { FG_EITHER(gpu, normal, y, 42, offset, kN); });
    std::vector<float> x = random_values(kN);
    expect_parity<float>("dropout_forward" + at, kN, kExact, [&](bool gpu, float* y) {
      FG_EITHER(gpu, dropout_forward, y, x.data(), 0.3f, 7, offset, kN);
    });
    expect_parity<float>("dropout_backward" + at, kN, kExact, [&](bool gpu, float* dx) {
      FG_EITHER(gpu, dropout_backward, dx, x.data(), 0.3f, 7, offset, kN);
    });
  }
}

void check_layout() {
  const int64_t size = 2 * 3 * 4 * 5 * 3;
  std::vector<float> x = random_values(size);
  std::vector<uint8_t> bytes(size);
  for (int64_t k = 0; k < size; ++k) bytes[k] = uint8_t(k * 31);
  std::vector<uint16_t> halves(size);
  for (int64_t k = 0; k < size; ++k) halves[k] = uint16_t(k * 977);
  std::vector<int64_t> longs(size);
  for (int64_t k = 0; k < size; ++k) longs[k] = k * 1000003 - 7;
  // x (2, 3, 4, 5, 3) with its dims reversed, into a row-major (3, 5, 4, 3, 2); then rows
  // of 7 elements read with a stride of 2 and repeated 4 times (a stride 0).
  const int64_t permuted_shape[] = {3, 5, 4, 3, 2}, permuted_strides[] = {1, 3, 15, 60, 180};
  const int64_t permuted_dst[] = {120, 24, 6, 2, 1};
  const int64_t repeat_shape[] = {4, 7}, repeat_src[] = {0, 2}, repeat_dst[] = {7, 1};
  auto check_size = [&](const char* name, auto* values) {
    using T = std::remove_pointer_t<decltype(values)>;
    expect_parity<T>(std::string("strided_copy permute ") + name, size, kExact,
                     [&](bool gpu, T* y) {
                       FG_EITHER(gpu, strided_copy, y, values, sizeof(T), permuted_shape,
                                 permuted_dst, permuted_strides, 5);
                     });
    expect_parity<T>(std::string("strided_copy repeat ") + name, 28, kExact, [&](bool gpu, T* y) {
      FG_EITHER(gpu, strided_copy, y, values, sizeof(T), repeat_shape, repeat_dst, repeat_src, 2);
    });
  };
  check_size("1 byte", bytes.data());
  check_size("2 bytes", halves.data());
  check_size("4 bytes", x.data());
  check_size("8 bytes", longs.data());
  // A (40, 50) transpose: the tiled transposing copy on the CPU.
  std::vector<float> wide = random_values(40 * 50);
  const int64_t transpose_shape[] = {50, 40}, transpose_src[] = {1, 50}, transpose_dst[] = {40, 1};
  expect_parity<float>("strided_copy transpose", 40 * 50, kExact, [&](bool gpu, float* y) {
    FG_EITHER(gpu, strided_copy, y, wide.data(), sizeof(float), transpose_shape, transpose_dst,
              transpose_src, 2);
  });
  std::vector<int64_t> indices = {4, 0, 9, 4, 1, 9, 9};
  const int64_t n = static_cast<int64_t>(indices.size());
  // Rows of 3 floats, and rows of 3 and 6 bytes (gathers that cannot move 4-byte words).
  expect_parity<float>("gather_rows float", n * 3, kExact, [&](bool gpu, float* y) {
    FG_EITHER(gpu, gather_rows, y, x.data(), indices.data(), n, 3 * sizeof(float));
  });
  for (int64_t row_bytes : {3, 6})
    expect_parity<uint8_t>("gather_rows of " + std::to_string(row_bytes) + " bytes", n * row_bytes,
                           kExact, [&](bool gpu, uint8_t* y) {
                             FG_EITHER(gpu, gather_rows, y, bytes.data(), indices.data(), n,
                                       row_bytes);
                           });
  std::vector<int64_t> distinct = {4, 0, 9, 1};  // a scatter's rows land once each
  expect_parity<float>("scatter_rows", 10 * 3, kExact, [&](bool gpu, float* y) {
    std::fill(y, y + 30, 0.0f);
    FG_EITHER(gpu, scatter_rows, y, x.data(), distinct.data(), 4, 3 * sizeof(float));
  });
  std::vector<float> dy = random_values(n * 3);
  expect_parity<float>("scatter_add_rows", 10 * 3, kRounding, [&](bool gpu, float* dx) {
    std::fill(dx, dx + 30, 0.0f);
    FG_EITHER(gpu, scatter_add_rows, dx, dy.data(), indices.data(), n, 3);
  });
}

// The sequential line kernels (csrc/line_kernels.h) on lines with ties (and NaNs and
// infinities for floating T), short, strided and long enough for every merge pass of sort.
template <typename T>
void check_sequential_lines() {
  const std::string type = std::string(" ") + type_name<T>();
  for (Shape s : {Shape{70, 9, 1}, {3, 7, 5}, {2, 40, 3}, {2, 1000, 1}}) {
    int64_t size = s.outer * s.n * s.inner, lines = s.outer * s.inner;
    constexpr bool floating = std::is_floating_point_v<T>;
    std::vector<float> x32 = floating ? awkward_values(size) : random_values(size, 0.0f, 6.0f);
    for (float& v : x32) v = std::isfinite(v) ? std::round(v * 2) : v;  // ties
    std::vector<T> x = as<T>(x32);
    std::vector<T> small = as<T>(random_values(size, 0.5f, 1.5f));
    for (fg::Scan op : {fg::Scan::Sum, fg::Scan::Prod, fg::Scan::Max, fg::Scan::Min}) {
      std::string name = s.name("cumulative_forward ") + std::to_string(int(op)) + type;
      const std::vector<T>& in = op == fg::Scan::Prod ? small : x;
      expect_parity<T>(name, size, floating ? kRounding : kExact, [&](bool gpu, T* y) {
        std::vector<int64_t> indices(size);
        FG_EITHER(gpu, cumulative_forward, y, indices.data(), in.data(), op, s.outer, s.n, s.inner);
      });
      if (op == fg::Scan::Max || op == fg::Scan::Min)
        expect_parity<int64_t>(name + " indices", size, kExact, [&](bool gpu, int64_t* indices) {
          std::vector<T> y(size);
          FG_EITHER(gpu, cumulative_forward, y.data(), indices, in.data(), op, s.outer, s.n,
                    s.inner);
        });
    }
    expect_parity<T>(s.name("prod_forward") + type, lines, floating ? kRounding : kExact,
                     [&](bool gpu, T* y) {
                       FG_EITHER(gpu, prod_forward, y, small.data(), s.outer, s.n, s.inner);
                     });
    if constexpr (floating) {
      std::vector<T> with_zeros = small, y(size), dy = as<T>(random_values(size));
      for (int64_t k = 0; k < size; k += 7) with_zeros[k] = T(0);
      fg::cpu::cumulative_forward(y.data(), nullptr, with_zeros.data(), fg::Scan::Prod, s.outer,
                                  s.n, s.inner);
      expect_parity<T>(s.name("cumprod_backward") + type, size, kRounding, [&](bool gpu, T* dx) {
        FG_EITHER(gpu, cumprod_backward, dx, dy.data(), with_zeros.data(), y.data(), s.outer, s.n,
                  s.inner);
      });
      expect_parity<T>(s.name("prod_backward") + type, size, kRounding, [&](bool gpu, T* dx) {
        FG_EITHER(gpu, prod_backward, dx, dy.data(), with_zeros.data(), s.outer, s.n, s.inner);
      });
    }
    for (bool descending : {false, true}) {
      std::string name = s.name(descending ? "sort_forward descending" : "sort_forward") + type;
      auto sort = [&](bool gpu, T* values, int64_t* indices) {
        std::vector<T> spare_values(size);
        std::vector<int64_t> spare_indices(size);
        FG_EITHER(gpu, sort_forward, values, indices, spare_values.data(), spare_indices.data(),
                  x.data(), descending, s.outer, s.n, s.inner);
      };
      expect_parity<T>(name, size, kExact, [&](bool gpu, T* values) {
        std::vector<int64_t> indices(size);
        sort(gpu, values, indices.data());
      });
      expect_parity<int64_t>(name + " indices", size, kExact, [&](bool gpu, int64_t* indices) {
        std::vector<T> values(size);
        sort(gpu, values.data(), indices);
      });
    }
    for (int64_t k : {int64_t(1), s.n / 3 + 1, s.n})
      for (bool largest : {false, true}) {
        std::string name =
            s.name("topk_forward k=") + std::to_string(k) + (largest ? " largest" : "") + type;
        int64_t picked = s.outer * k * s.inner;
        expect_parity<T>(name, picked, kExact, [&](bool gpu, T* values) {
          std::vector<int64_t> indices(picked);
          FG_EITHER(gpu, topk_forward, values, indices.data(), x.data(), largest, s.outer, s.n,
                    s.inner, k);
        });
        expect_parity<int64_t>(name + " indices", picked, kExact, [&](bool gpu, int64_t* indices) {
          std::vector<T> values(picked);
          FG_EITHER(gpu, topk_forward, values.data(), indices, x.data(), largest, s.outer, s.n,
                    s.inner, k);
        });
      }
    std::vector<T> sorted(size), spare_values(size);
    std::vector<int64_t> sorted_indices(size), spare_indices(size);
    fg::cpu::sort_forward(sorted.data(), sorted_indices.data(), spare_values.data(),
                          spare_indices.data(), x.data(), false, s.outer, s.n, s.inner);
    expect_parity<T>(s.name("mode_forward") + type, lines, kExact, [&](bool gpu, T* mode) {
      std::vector<int64_t> indices(lines);
      FG_EITHER(gpu, mode_forward, mode, indices.data(), sorted.data(), sorted_indices.data(),
                s.outer, s.n, s.inner);
    });
    expect_parity<int64_t>(s.name("mode_forward indices") + type, lines, kExact,
                           [&](bool gpu, int64_t* indices) {
                             std::vector<T> mode(lines);
                             FG_EITHER(gpu, mode_forward, mode.data(), indices, sorted.data(),
                                       sorted_indices.data(), s.outer, s.n, s.inner);
                           });
    // gather and scatter along the middle dimension with an index of k < n per line
    int64_t k = s.n / 2 + 1;
    const int64_t index_shape[] = {s.outer, k, s.inner}, strides[] = {s.n * s.inner, s.inner, 1};
    std::vector<int64_t> index(s.outer * k * s.inner);
    for (size_t i = 0; i < index.size(); ++i) index[i] = int64_t(rng() % uint32_t(s.n));
    // integers: 0 and 1, so that products stay small
    std::vector<T> src = as<T>(
        random_values(int64_t(index.size()), floating ? -3.0f : 0.0f, floating ? 3.0f : 1.99f));
    expect_parity<T>(
        s.name("gather_along") + type, int64_t(index.size()), kExact, [&](bool gpu, T* y) {
          FG_EITHER(gpu, gather_along, y, x.data(), index.data(), index_shape, strides, s.n, 3, 1);
        });
    for (fg::ScatterReduce op :
         {fg::ScatterReduce::Assign, fg::ScatterReduce::Add, fg::ScatterReduce::Multiply,
          fg::ScatterReduce::Amax, fg::ScatterReduce::Amin})
      expect_parity<T>(s.name("scatter_along ") + std::to_string(int(op)) + type, size, kExact,
                       [&](bool gpu, T* y) {
                         std::copy(x.begin(), x.end(), y);
                         FG_EITHER(gpu, scatter_along, y, src.data(), index.data(), index_shape,
                                   strides, s.n, 3, 1, op);
                       });
  }
}

template <typename T>
void check_lines_and_losses() {
  const std::string type = std::string(" ") + type_name<T>();
  for (Shape s : {Shape{70, 9, 1}, {3, 7, 5}, {2, 9, 40}, {3, 2048, 1}, {2, 16385, 1}}) {
    int64_t size = s.outer * s.n * s.inner, lines = s.outer * s.inner;
    std::vector<float> x32 = awkward_values(size);
    for (int64_t k = 0; k < size; k += 3) x32[k] = std::isfinite(x32[k]) ? x32[k] : 1.0f;
    std::vector<T> x = as<T>(x32), dy = as<T>(random_values(size));
    std::vector<T> finite = as<T>(random_values(size));
    auto run = [&](const char* name, auto kernel, const std::vector<T>& in, int64_t n_out,
                   double rtol) {
      expect_parity<T>(s.name(name) + type, n_out, rtol,
                       [&](bool gpu, T* y) { kernel(gpu, y, in.data()); });
    };
    run(
        "sum_forward",
        [&](bool gpu, T* y, const T* v) {
          FG_EITHER(gpu, sum_forward, y, v, s.outer, s.n, s.inner);
        },
        x, lines, 1e-6);
    run(
        "softmax_forward",
        [&](bool gpu, T* y, const T* v) {
          FG_EITHER(gpu, softmax_forward, y, v, s.outer, s.n, s.inner);
        },
        finite, size, kRounding);
    run(
        "log_softmax_forward",
        [&](bool gpu, T* y, const T* v) {
          FG_EITHER(gpu, log_softmax_forward, y, v, s.outer, s.n, s.inner);
        },
        finite, size, kRounding);
    std::vector<T> y(size);
    fg::cpu::softmax_forward(y.data(), finite.data(), s.outer, s.n, s.inner);
    run(
        "softmax_backward",
        [&](bool gpu, T* dx, const T* v) {
          FG_EITHER(gpu, softmax_backward, dx, dy.data(), v, s.outer, s.n, s.inner);
        },
        y, size, 1e-5);
    for (bool smallest : {false, true}) {
      std::string which = smallest ? "min" : "max";
      expect_parity<T>(s.name((which + " values").c_str()) + type, lines, kExact,
                       [&](bool gpu, T* values) {
                         std::vector<int64_t> indices(lines);
                         FG_EITHER(gpu, extreme_forward, values, indices.data(), x.data(), smallest,
                                   s.outer, s.n, s.inner);
                       });
      expect_parity<int64_t>(s.name((which + " indices").c_str()) + type, lines, kExact,
                             [&](bool gpu, int64_t* indices) {
                               std::vector<T> values(lines);
                               FG_EITHER(gpu, extreme_forward, values.data(), indices, x.data(),
                                         smallest, s.outer, s.n, s.inner);
                             });
    }
    std::vector<T> values(lines), dvalues = as<T>(random_values(lines));
    std::vector<int64_t> indices(lines);
    fg::cpu::extreme_forward(values.data(), indices.data(), x.data(), false, s.outer, s.n, s.inner);
    expect_parity<T>(s.name("extreme_backward") + type, size, kExact, [&](bool gpu, T* dx) {
      FG_EITHER(gpu, extreme_backward, dx, dvalues.data(), indices.data(), s.outer, s.n, s.inner);
    });
  }
  for (auto [N, C] : {std::pair<int64_t, int64_t>{70, 10}, {3, 2048}}) {
    std::vector<T> logits = as<T>(random_values(N * C)), dlosses = as<T>(random_values(N));
    std::vector<T> weights = as<T>(random_values(C, 0.25f, 2.0f));
    std::vector<int64_t> targets(N);
    for (int64_t r = 0; r < N; ++r) targets[r] = r % 5 == 2 ? -1 : (r * 13) % C;
    std::string shape = " (" + std::to_string(N) + ", " + std::to_string(C) + ")" + type;
    const T* weight_choices[] = {nullptr, weights.data()};  // unweighted, then weighted
    for (const T* class_weights : weight_choices) {
      std::string name = shape + (class_weights ? " weighted" : "");
      expect_parity<T>("cross_entropy_forward" + name, N, kRounding, [&](bool gpu, T* l) {
        std::vector<T> row_weights(N);
        FG_EITHER(gpu, cross_entropy_forward, l, row_weights.data(), logits.data(), targets.data(),
                  class_weights, -1, 0.1f, N, C);
      });
      expect_parity<T>("cross_entropy_backward" + name, N * C, kRounding, [&](bool gpu, T* d) {
        FG_EITHER(gpu, cross_entropy_backward, d, dlosses.data(), logits.data(), targets.data(),
                  class_weights, -1, 0.1f, N, C);
      });
      expect_parity<T>("nll_loss_forward" + name, N, kExact, [&](bool gpu, T* l) {
        std::vector<T> row_weights(N);
        FG_EITHER(gpu, nll_loss_forward, l, row_weights.data(), logits.data(), targets.data(),
                  class_weights, -1, N, C);
      });
      expect_parity<T>("nll_loss row weights" + name, N, kExact, [&](bool gpu, T* w) {
        std::vector<T> losses(N);
        FG_EITHER(gpu, nll_loss_forward, losses.data(), w, logits.data(), targets.data(),
                  class_weights, -1, N, C);
      });
      expect_parity<T>("nll_loss_backward" + name, N * C, kExact, [&](bool gpu, T* d) {
        FG_EITHER(gpu, nll_loss_backward, d, dlosses.data(), targets.data(), class_weights, -1, N,
                  C);
      });
    }
  }
  std::vector<T> x = as<T>(awkward_values(kN)), t = as<T>(random_values(kN, 0.0f, 1.0f));
  std::vector<T> dlosses = as<T>(random_values(kN));
  expect_parity<T>("bce_with_logits_forward" + type, kN, kRounding, [&](bool gpu, T* l) {
    FG_EITHER(gpu, bce_with_logits_forward, l, x.data(), t.data(), kN);
  });
  expect_parity<T>("bce_with_logits_backward dx" + type, kN, kRounding, [&](bool gpu, T* dx) {
    std::vector<T> dt(kN);
    FG_EITHER(gpu, bce_with_logits_backward, dx, dt.data(), dlosses.data(), x.data(), t.data(), kN);
  });
  expect_parity<T>("bce_with_logits_backward dt" + type, kN, kRounding, [&](bool gpu, T* dt) {
    std::vector<T> dx(kN);
    FG_EITHER(gpu, bce_with_logits_backward, dx.data(), dt, dlosses.data(), x.data(), t.data(), kN);
  });
  // Probabilities, 0 and 1 among them (the clamped logs, the bounded division).
  std::vector<T> p = as<T>(random_values(kN, 0.0f, 1.0f));
  p[0] = T(0), p[1] = T(1);
  expect_parity<T>("binary_cross_entropy_forward" + type, kN, kRounding, [&](bool gpu, T* l) {
    FG_EITHER(gpu, binary_cross_entropy_forward, l, p.data(), t.data(), kN);
  });
  expect_parity<T>("binary_cross_entropy_backward dx" + type, kN, kRounding, [&](bool gpu, T* dx) {
    FG_EITHER(gpu, binary_cross_entropy_backward, dx, static_cast<T*>(nullptr), dlosses.data(),
              p.data(), t.data(), kN);
  });
  expect_parity<T>("binary_cross_entropy_backward dt" + type, kN, kRounding, [&](bool gpu, T* dt) {
    std::vector<T> dx(kN);
    FG_EITHER(gpu, binary_cross_entropy_backward, dx.data(), dt, dlosses.data(), p.data(), t.data(),
              kN);
  });
}

// The CTC recursion runs the same code (csrc/ctc_math.h) on both devices: the same bits, for
// sequences of every kind (a repeated label, an empty target, an impossible alignment, frames
// past a sequence's end), with and without zero_infinity.
template <typename T>
void check_ctc() {
  const int64_t max_time = 9, batch = 5, classes = 4, max_target_length = 3, blank = 0;
  std::vector<int64_t> targets = {1, 1, 2, 3, 2, 0, 1, 0, 0, 2, 2, 2, 3, 1, 2};
  std::vector<int64_t> offsets = {0, 3, 6, 9, 12}, input_lengths = {9, 6, 4, 3, 0};
  std::vector<int64_t> target_lengths = {3, 2, 0, 3, 0};  // sequence 3: "2 2 2" in 3 frames
  fg::CtcBatch b{max_time,
                 batch,
                 classes,
                 max_target_length,
                 blank,
                 targets.data(),
                 offsets.data(),
                 input_lengths.data(),
                 target_lengths.data()};
  std::vector<T> log_probs = as<T>(random_values(max_time * batch * classes, -3.0f, 0.0f));
  std::vector<T> dlosses = as<T>(random_values(batch));
  const int64_t table = batch * max_time * b.extended_max();
  std::vector<T> losses(batch), log_alpha(table);
  fg::cpu::ctc_loss_forward(losses.data(), log_alpha.data(), log_probs.data(), b);
  std::string type = std::string(" ") + type_name<T>();
  expect_parity<T>("ctc_loss_forward" + type, batch, kExact, [&](bool gpu, T* l) {
    std::vector<T> alpha(table);
    FG_EITHER(gpu, ctc_loss_forward, l, alpha.data(), log_probs.data(), b);
  });
  for (bool zero_infinity : {false, true})
    expect_parity<T>("ctc_loss_backward" + type + (zero_infinity ? " zero_infinity" : ""),
                     max_time * batch * classes, kExact, [&](bool gpu, T* d) {
                       std::vector<T> log_beta(table);
                       FG_EITHER(gpu, ctc_loss_backward, d, log_beta.data(), dlosses.data(),
                                 losses.data(), log_probs.data(), log_alpha.data(), b,
                                 zero_infinity);
                     });
}

// im2col and col2im run the same code (csrc/im2col_math.h) on both devices: the same bits,
// with padding, stride, dilation and overlapping taps (col2im sums them in the same order).
template <typename T>
void check_im2col() {
  const int64_t batch = 2;
  for (fg::Im2colGeometry g : {fg::Im2colGeometry{3, 7, 6, 3, 2, 1, 2, 1, 0, 2, 1, 0, 0},
                               fg::Im2colGeometry{2, 5, 9, 1, 4, 3, 1, 2, 3, 1, 3, 0, 0}}) {
    g.out_h = (g.height + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1) / g.stride_h + 1;
    g.out_w = (g.width + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1) / g.stride_w + 1;
    int64_t image_size = batch * g.image_size(), column_size = batch * g.rows() * g.positions();
    std::vector<T> images = as<T>(random_values(image_size));
    std::vector<T> columns = as<T>(random_values(column_size));
    std::string shape = " " + std::string(type_name<T>()) + " kernel " +
                        std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w);
    expect_parity<T>("im2col" + shape, column_size, kExact, [&](bool gpu, T* out) {
      FG_EITHER(gpu, im2col, out, images.data(), g, batch);
    });
    expect_parity<T>("col2im" + shape, image_size, kExact, [&](bool gpu, T* out) {
      FG_EITHER(gpu, col2im, out, columns.data(), g, batch);
    });
  }
}

// conv2d: the CPU's GEMM on im2col tiles against the GPU's implicit GEMMs, forward, input
// gradient (stride classes, some reached by no tap) and weight gradient (slices of the
// depth), over several tiles of rows, columns and depth, with stride, padding, dilation,
// groups, 1x1 kernels, odd sizes and batch 1. Positive values, so that the two orders of the
// sums round alike.
template <typename T>
void check_conv2d() {
  struct Case {
    fg::ConvGeometry g;
    int64_t batch;
  };
  using fg::ConvGeometry, fg::Im2colGeometry;
  for (Case c : {
           Case{ConvGeometry{Im2colGeometry{4, 7, 6, 3, 2, 1, 2, 1, 0, 2, 1, 0, 0}, 6, 2}, 2},
           Case{ConvGeometry{Im2colGeometry{3, 5, 9, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0}, 70, 1}, 2},
           Case{ConvGeometry{Im2colGeometry{2, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0}, 5, 1}, 2},
           // stride 2 and dilation 2: the odd classes of h + pad are reached by no tap
           Case{ConvGeometry{Im2colGeometry{6, 11, 10, 3, 3, 2, 2, 2, 1, 2, 2, 0, 0}, 9, 3}, 1},
           // 1x1 strided (2, 3) and 2x2 strided (3, 2): pixels no tap reaches
           Case{ConvGeometry{Im2colGeometry{3, 8, 7, 1, 1, 1, 1, 0, 0, 2, 3, 0, 0}, 4, 1}, 2},
           Case{ConvGeometry{Im2colGeometry{2, 10, 9, 2, 2, 1, 1, 0, 1, 3, 2, 0, 0}, 3, 1}, 2},
           // 70 input channels: two tiles of dx's rows, dweight's 630 columns ten tiles
           Case{ConvGeometry{Im2colGeometry{70, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0}, 8, 1}, 1},
           // 1058 pixels: dweight in four slices of the depth (the last partial) x two groups
           Case{ConvGeometry{Im2colGeometry{2, 23, 23, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0}, 4, 2}, 2},
       }) {
    fg::ConvGeometry& g = c.g;
    const int64_t batch = c.batch;
    fg::Im2colGeometry& im = g.image;
    im.out_h = (im.height + 2 * im.pad_h - im.dilation_h * (im.kernel_h - 1) - 1) / im.stride_h + 1;
    im.out_w = (im.width + 2 * im.pad_w - im.dilation_w * (im.kernel_w - 1) - 1) / im.stride_w + 1;
    int64_t x_size = batch * im.image_size(), y_size = batch * g.output_size();
    int64_t w_size = g.out_channels * g.group_rows();
    std::vector<T> x = as<T>(random_values(x_size, 0.1f, 1.0f));
    std::vector<T> w = as<T>(random_values(w_size, 0.1f, 1.0f));
    std::vector<T> b = as<T>(random_values(g.out_channels, 0.1f, 1.0f));
    std::vector<T> dy = as<T>(random_values(y_size, 0.1f, 1.0f));
    std::string shape = " " + std::string(type_name<T>()) + " kernel " +
                        std::to_string(im.kernel_h) + "x" + std::to_string(im.kernel_w) +
                        " stride " + std::to_string(im.stride_h) + "x" +
                        std::to_string(im.stride_w) + " channels " + std::to_string(im.channels) +
                        " groups " + std::to_string(g.groups);
    constexpr double kSumOrder = 1e-5;
    expect_parity<T>("conv2d_forward" + shape, y_size, kSumOrder, [&](bool gpu, T* out) {
      FG_EITHER(gpu, conv2d_forward, out, x.data(), w.data(), b.data(), g, batch);
    });
    expect_parity<T>("conv2d_backward dx" + shape, x_size, kSumOrder, [&](bool gpu, T* out) {
      FG_EITHER(gpu, conv2d_backward, out, static_cast<T*>(nullptr), static_cast<T*>(nullptr),
                dy.data(), x.data(), w.data(), g, batch);
    });
    expect_parity<T>("conv2d_backward dweight" + shape, w_size, kSumOrder, [&](bool gpu, T* out) {
      FG_EITHER(gpu, conv2d_backward, static_cast<T*>(nullptr), out, static_cast<T*>(nullptr),
                dy.data(), x.data(), w.data(), g, batch);
    });
    expect_parity<T>(
        "conv2d_backward dbias" + shape, g.out_channels, kSumOrder, [&](bool gpu, T* out) {
          FG_EITHER(gpu, conv2d_backward, static_cast<T*>(nullptr), static_cast<T*>(nullptr), out,
                    dy.data(), x.data(), w.data(), g, batch);
        });
  }
}

// Normalization: group statistics (layer_norm's rows, group_norm's groups, one group longer
// than a block) and channel statistics, forward and backward, with and without affine.
template <typename T>
void check_norm() {
  const std::string type = std::string(" ") + type_name<T>();
  for (fg::NormLayout layout : {fg::NormLayout{5, 33, 1, 1, false},
                                {3, 6, 7, 3, false},
                                {2, 2, 3000, 1, false},
                                {4, 5, 9, 1, true},
                                {1, 3, 700, 1, true},
                                {5, 33, 1, 1, false, true},
                                {2, 2, 3000, 1, false, true}}) {
    const int64_t n = layout.numel(), stats = layout.statistics(), C = layout.channels;
    std::vector<T> x = as<T>(random_values(n)), dy = as<T>(random_values(n));
    std::vector<T> weight = as<T>(random_values(C, 0.5f, 1.5f)), bias = as<T>(random_values(C));
    std::vector<T> mean(stats), rstd(stats), y(n);
    const std::string where = " (" + std::to_string(layout.outer) + ", " + std::to_string(C) +
                              ", " + std::to_string(layout.inner) + ")" + type +
                              (layout.rms ? " rms" : "");
    if (!layout.per_channel) {
      fg::cpu::group_norm_forward(y.data(), mean.data(), rstd.data(), x.data(), weight.data(),
                                  bias.data(), layout, 1e-5);
      for (bool affine : {false, true}) {
        const T* w = affine ? weight.data() : nullptr;
        const T* b = affine ? bias.data() : nullptr;
        expect_parity<T>("group_norm_forward" + where, n, 1e-5, [&](bool gpu, T* out) {
          std::vector<T> m(stats), r(stats);
          FG_EITHER(gpu, group_norm_forward, out, m.data(), r.data(), x.data(), w, b, layout, 1e-5);
        });
        expect_parity<T>("group_norm_backward" + where, n, 1e-4, [&](bool gpu, T* dx) {
          FG_EITHER(gpu, group_norm_backward, dx, dy.data(), x.data(), mean.data(), rstd.data(), w,
                    layout);
        });
      }
      expect_parity<T>("group_norm_forward statistics" + where, 2 * stats, 1e-5,
                       [&](bool gpu, T* out) {
                         std::vector<T> yy(n);
                         FG_EITHER(gpu, group_norm_forward, yy.data(), out, out + stats, x.data(),
                                   weight.data(), bias.data(), layout, 1e-5);
                       });
    } else {
      fg::cpu::channel_moments(mean.data(), rstd.data(), x.data(), layout);
      for (T& r : rstd) r = T(1) / std::sqrt(r + T(1e-5));
      expect_parity<T>("channel_moments" + where, 2 * C, 1e-5, [&](bool gpu, T* out) {
        FG_EITHER(gpu, channel_moments, out, out + C, x.data(), layout);
      });
      for (bool relu : {false, true})
        expect_parity<T>("channel_affine" + where + (relu ? " relu" : ""), n, kRounding,
                         [&](bool gpu, T* out) {
                           FG_EITHER(gpu, channel_affine, out, x.data(), weight.data(), bias.data(),
                                     layout, relu);
                         });
      std::vector<T> sum_dy(C), sum_dy_xhat(C);
      fg::cpu::norm_channel_sums(sum_dy.data(), sum_dy_xhat.data(), dy.data(), x.data(),
                                 mean.data(), rstd.data(), layout);
      expect_parity<T>("batch_norm_backward" + where, n, 1e-4, [&](bool gpu, T* dx) {
        FG_EITHER(gpu, batch_norm_backward, dx, dy.data(), x.data(), mean.data(), rstd.data(),
                  weight.data(), sum_dy.data(), sum_dy_xhat.data(), layout);
      });
    }
    expect_parity<T>("norm_channel_sums" + where, 2 * C, 1e-5, [&](bool gpu, T* out) {
      FG_EITHER(gpu, norm_channel_sums, out, out + C, dy.data(), x.data(), mean.data(), rstd.data(),
                layout);
    });
  }
}

// Every optimizer over a group with more tensors than a launch takes and empty ones: the
// CPU loop and the multi-tensor kernels run the same element math, so the same bits.
void check_optimizers() {
  std::vector<int64_t> sizes;
  for (int t = 0; t < 35; ++t) sizes.push_back(t % 8 == 3 ? 0 : 1 + (t * 613) % 5000);
  const int64_t count = static_cast<int64_t>(sizes.size());
  int64_t total = 0;
  for (int64_t size : sizes) total += size;
  std::vector<float> grads = random_values(total), start = random_values(total);
  std::vector<float> start_v = random_values(total, 0.0f, 1.0f);
  std::vector<float> start_small = random_values(total, -0.1f, 0.1f);
  // Runs `step` on copies of the state laid out as one array, p from `start` and buffer b
  // from starts[b - 1]; the result holds p, then each buffer, one after another.
  auto run = [&](std::vector<const std::vector<float>*> starts, auto step) {
    return [&, starts, step](bool gpu, float* result) {
      const int buffers = static_cast<int>(starts.size());
      std::vector<std::vector<float>> state(buffers + 1);
      state[0] = start;
      for (int b = 1; b <= buffers; ++b) state[b] = *starts[b - 1];
      std::vector<std::vector<float*>> pointers(buffers + 1);
      std::vector<const float*> grad_pointers;
      int64_t at = 0;
      for (int64_t t = 0; t < count; ++t) {
        for (int b = 0; b <= buffers; ++b) pointers[b].push_back(state[b].data() + at);
        grad_pointers.push_back(grads.data() + at);
        at += sizes[t];
      }
      step(gpu, pointers, grad_pointers);
      for (int b = 0; b <= buffers; ++b)
        std::copy(state[b].begin(), state[b].end(), result + b * total);
    };
  };
  std::unique_ptr<bool[]> fresh(new bool[count]);
  for (int64_t t = 0; t < count; ++t) fresh[t] = t % 3 == 0;
  for (bool nesterov : {false, true}) {
    fg::SgdOptions options{0.1, 0.9, nesterov ? 0.0 : 0.2, 0.01, nesterov, false};
    expect_parity<float>(std::string("sgd_step nesterov ") + (nesterov ? "on" : "off"), 2 * total,
                         kExact,
                         run({&start}, [&](bool gpu, auto& p, const std::vector<const float*>& g) {
                           FG_EITHER(gpu, sgd_step, p[0].data(), p[1].data(), g.data(), fresh.get(),
                                     options, sizes.data(), count);
                         }));
  }
  std::vector<int64_t> steps(count);
  for (int64_t t = 0; t < count; ++t) steps[t] = 1 + t % 4;
  for (bool decoupled : {false, true})
    for (bool amsgrad : {false, true}) {
      fg::AdamOptions options{1e-3, 0.9, 0.999, 1e-8, 0.05, amsgrad, !amsgrad, decoupled};
      expect_parity<float>("adam_step decoupled " + std::to_string(decoupled) + " amsgrad " +
                               std::to_string(amsgrad),
                           4 * total, kExact,
                           run({&start, &start_v, &start_v},
                               [&](bool gpu, auto& p, const std::vector<const float*>& g) {
                                 FG_EITHER(gpu, adam_step, p[0].data(), p[1].data(), p[2].data(),
                                           p[3].data(), g.data(), steps.data(), options,
                                           sizes.data(), count);
                               }));
    }
  // Step counts 3 to 11, on both sides of RAdam's rho_t > 5 (from step 6 with beta2 0.999).
  for (int64_t t = 0; t < count; ++t) steps[t] = 3 + 2 * (t % 5);
  using Pointers = std::vector<std::vector<float*>>;
  using Grads = std::vector<const float*>;
  for (bool centered : {false, true})
    for (double momentum : {0.0, 0.9}) {
      fg::RmspropOptions options{0.01, 0.99, 1e-8, 0.05, momentum, centered, centered};
      expect_parity<float>(
          "rmsprop_step centered " + std::to_string(centered) + " momentum " +
              std::to_string(momentum),
          4 * total, kExact,
          run({&start_v, &start, &start_small}, [&](bool gpu, Pointers& p, const Grads& g) {
            FG_EITHER(gpu, rmsprop_step, p[0].data(), p[1].data(), p[2].data(), p[3].data(),
                      g.data(), options, sizes.data(), count);
          }));
    }
  fg::AdagradOptions adagrad{0.1, 0.01, 0.05, 1e-10, true};
  expect_parity<float>("adagrad_step", 2 * total, kExact,
                       run({&start_v}, [&](bool gpu, Pointers& p, const Grads& g) {
                         FG_EITHER(gpu, adagrad_step, p[0].data(), p[1].data(), g.data(),
                                   steps.data(), adagrad, sizes.data(), count);
                       }));
  fg::AdadeltaOptions adadelta{1.0, 0.9, 1e-6, 0.05, false};
  expect_parity<float>("adadelta_step", 3 * total, kExact,
                       run({&start_v, &start_v}, [&](bool gpu, Pointers& p, const Grads& g) {
                         FG_EITHER(gpu, adadelta_step, p[0].data(), p[1].data(), p[2].data(),
                                   g.data(), adadelta, sizes.data(), count);
                       }));
  fg::AdamaxOptions adamax{2e-3, 0.9, 0.999, 1e-8, 0.05, true};
  expect_parity<float>("adamax_step", 3 * total, kExact,
                       run({&start, &start_v}, [&](bool gpu, Pointers& p, const Grads& g) {
                         FG_EITHER(gpu, adamax_step, p[0].data(), p[1].data(), p[2].data(),
                                   g.data(), steps.data(), adamax, sizes.data(), count);
                       }));
  std::vector<double> mu_products(count);
  for (int64_t t = 0; t < count; ++t) mu_products[t] = std::pow(0.9, double(steps[t])) * 0.6;
  for (bool decoupled : {false, true}) {
    fg::NadamOptions nadam{2e-3, 0.9, 0.999, 1e-8, 0.05, 4e-3, !decoupled, decoupled};
    expect_parity<float>("nadam_step decoupled " + std::to_string(decoupled), 3 * total, kExact,
                         run({&start, &start_v}, [&](bool gpu, Pointers& p, const Grads& g) {
                           FG_EITHER(gpu, nadam_step, p[0].data(), p[1].data(), p[2].data(),
                                     g.data(), steps.data(), mu_products.data(), nadam,
                                     sizes.data(), count);
                         }));
    fg::RadamOptions radam{1e-3, 0.9, 0.999, 1e-8, 0.05, !decoupled, decoupled};
    expect_parity<float>("radam_step decoupled " + std::to_string(decoupled), 3 * total, kExact,
                         run({&start, &start_v}, [&](bool gpu, Pointers& p, const Grads& g) {
                           FG_EITHER(gpu, radam_step, p[0].data(), p[1].data(), p[2].data(),
                                     g.data(), steps.data(), radam, sizes.data(), count);
                         }));
  }
}

// ---- integers: wrap-around arithmetic, comparisons, int64 sums, max ---------------------------

// Values of T across its whole range, its extremes among them, so that + - * and neg wrap.
template <typename T>
std::vector<T> integer_values(int64_t n) {
  std::uniform_int_distribution<int64_t> pick(std::numeric_limits<T>::min(),
                                              std::numeric_limits<T>::max());
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(pick(rng));
  const T specials[] = {std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), T(0), T(1),
                        static_cast<T>(-1)};
  for (int k = 0; k < 5; ++k) v[(k * 31) % n] = specials[k];
  return v;
}

// The two's complement result of a op b, computed in uint64 and truncated to T.
template <typename T>
T wrapped(fg::BinaryOp op, T a, T b) {
  uint64_t x = static_cast<uint64_t>(a), y = static_cast<uint64_t>(b);
  return static_cast<T>(op == fg::BinaryOp::Add ? x + y : op == fg::BinaryOp::Sub ? x - y : x * y);
}

template <typename T>
void check_integers() {
  const std::string type = std::string(" ") + type_name<T>();
  // (3, 1, 5) and (1, 4, 5) to (3, 4, 5)
  std::vector<int64_t> shape = {3, 4, 5}, as_ = {5, 0, 1}, bs = {0, 5, 1};
  std::vector<T> a = integer_values<T>(15), b = integer_values<T>(20);
  for (fg::BinaryOp op : {fg::BinaryOp::Add, fg::BinaryOp::Sub, fg::BinaryOp::Mul}) {
    std::string what = "binary " + std::to_string(int(op)) + type;
    expect_parity<T>(what, 60, kExact, [&](bool gpu, T* out) {
      FG_EITHER(gpu, binary, op, out, a.data(), b.data(), shape.data(), as_.data(), bs.data(), 3);
    });
    std::vector<T> got(60), want(60);
    fg::cpu::binary(op, got.data(), a.data(), b.data(), shape.data(), as_.data(), bs.data(), 3);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t k = 0; k < 5; ++k)
          want[(i * 4 + j) * 5 + k] = wrapped(op, a[i * 5 + k], b[j * 5 + k]);
    expect_same(what + " against uint64", got, want, kExact);
  }
  // the integer division family (a zero divisor guarded to 0), extremes, pow, bitwise
  for (fg::BinaryOp op : binary_ops_taking<T>())
    expect_parity<T>("binary " + std::to_string(int(op)) + type, 60, kExact, [&](bool gpu, T* out) {
      FG_EITHER(gpu, binary, op, out, a.data(), b.data(), shape.data(), as_.data(), bs.data(), 3);
    });
  for (fg::CompareOp op : {fg::CompareOp::Eq, fg::CompareOp::Ne, fg::CompareOp::Lt,
                           fg::CompareOp::Le, fg::CompareOp::Gt, fg::CompareOp::Ge})
    expect_parity<bool>("compare " + std::to_string(int(op)) + type, 60, kExact,
                        [&](bool gpu, bool* out) {
                          FG_EITHER(gpu, compare, op, out, a.data(), b.data(), shape.data(),
                                    as_.data(), bs.data(), 3);
                        });
  std::vector<T> x = integer_values<T>(kN);
  expect_parity<T>("neg_forward" + type, kN, kExact,
                   [&](bool gpu, T* y) { FG_EITHER(gpu, neg_forward, y, x.data(), kN); });
  expect_parity<T>("abs_forward" + type, kN, kExact,
                   [&](bool gpu, T* y) { FG_EITHER(gpu, abs_forward, y, x.data(), kN); });
  std::vector<T> negated(kN), absolute(kN), want_neg(kN), want_abs(kN);
  fg::cpu::neg_forward(negated.data(), x.data(), kN);
  fg::cpu::abs_forward(absolute.data(), x.data(), kN);
  for (int64_t i = 0; i < kN; ++i) {
    want_neg[i] = static_cast<T>(uint64_t(0) - static_cast<uint64_t>(x[i]));
    want_abs[i] = x[i] < 0 ? want_neg[i] : x[i];  // the minimum stays itself
  }
  expect_same("neg_forward against uint64" + type, negated, want_neg, kExact);
  expect_same("abs_forward against uint64" + type, absolute, want_abs, kExact);
  // Sums into int64 (wrapping) and max / argmax, on every kind of line.
  for (Shape s : {Shape{70, 9, 1}, {3, 7, 5}, {2, 9, 40}, {3, 2048, 1}, {2, 16385, 1}}) {
    int64_t size = s.outer * s.n * s.inner, lines = s.outer * s.inner;
    std::vector<T> v = integer_values<T>(size);
    expect_parity<int64_t>(s.name("sum_forward") + type, lines, kExact, [&](bool gpu, int64_t* y) {
      FG_EITHER(gpu, sum_forward, y, v.data(), s.outer, s.n, s.inner);
    });
    std::vector<int64_t> sums(lines), want_sums(lines);
    std::vector<T> values(lines), want_values(lines);
    std::vector<int64_t> indices(lines), want_indices(lines);
    fg::cpu::sum_forward(sums.data(), v.data(), s.outer, s.n, s.inner);
    fg::cpu::extreme_forward(values.data(), indices.data(), v.data(), false, s.outer, s.n, s.inner);
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        uint64_t total = 0;
        int64_t best = 0;
        for (int64_t k = 0; k < s.n; ++k) {
          T e = v[(o * s.n + k) * s.inner + i];
          total += static_cast<uint64_t>(static_cast<int64_t>(e));
          if (e > v[(o * s.n + best) * s.inner + i]) best = k;
        }
        want_sums[o * s.inner + i] = static_cast<int64_t>(total);
        want_indices[o * s.inner + i] = best;
        want_values[o * s.inner + i] = v[(o * s.n + best) * s.inner + i];
      }
    expect_same(s.name("sum_forward against uint64") + type, sums, want_sums, kExact);
    expect_same(s.name("max values against a loop") + type, values, want_values, kExact);
    expect_same(s.name("max indices against a loop") + type, indices, want_indices, kExact);
    for (bool smallest : {false, true}) {
      std::string which = smallest ? "min" : "max";
      expect_parity<T>(s.name((which + " values").c_str()) + type, lines, kExact,
                       [&](bool gpu, T* y) {
                         std::vector<int64_t> at(lines);
                         FG_EITHER(gpu, extreme_forward, y, at.data(), v.data(), smallest, s.outer,
                                   s.n, s.inner);
                       });
      expect_parity<int64_t>(s.name((which + " indices").c_str()) + type, lines, kExact,
                             [&](bool gpu, int64_t* at) {
                               std::vector<T> y(lines);
                               FG_EITHER(gpu, extreme_forward, y.data(), at, v.data(), smallest,
                                         s.outer, s.n, s.inner);
                             });
    }
  }
}

// bool: comparisons, and sums that count the trues
void check_bools() {
  std::unique_ptr<bool[]> a(new bool[60]), b(new bool[60]);
  for (int k = 0; k < 60; ++k) a[k] = (k * 7) % 3 == 0, b[k] = k % 2 == 0;
  std::vector<int64_t> shape = {60}, unit = {1};
  for (fg::CompareOp op : {fg::CompareOp::Eq, fg::CompareOp::Ne, fg::CompareOp::Lt,
                           fg::CompareOp::Le, fg::CompareOp::Gt, fg::CompareOp::Ge})
    expect_parity<bool>("compare bool " + std::to_string(int(op)), 60, kExact,
                        [&](bool gpu, bool* out) {
                          FG_EITHER(gpu, compare, op, out, a.get(), b.get(), shape.data(),
                                    unit.data(), unit.data(), 1);
                        });
  for (Shape s : {Shape{3, 20, 1}, {1, 60, 1}, {2, 10, 3}}) {
    expect_parity<int64_t>(s.name("sum_forward bool"), s.outer * s.inner, kExact,
                           [&](bool gpu, int64_t* y) {
                             FG_EITHER(gpu, sum_forward, y, a.get(), s.outer, s.n, s.inner);
                           });
    std::vector<int64_t> got(s.outer * s.inner), want(s.outer * s.inner, 0);
    fg::cpu::sum_forward(got.data(), a.get(), s.outer, s.n, s.inner);
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t k = 0; k < s.n; ++k)
        for (int64_t i = 0; i < s.inner; ++i)
          want[o * s.inner + i] += a[(o * s.n + k) * s.inner + i];
    expect_same(s.name("sum_forward bool against a count"), got, want, kExact);
  }
}

// ---- the float64 kernels against long double references ---------------------------------------

// got (double) against want (long double): within rtol relative, NaN for NaN.
void expect_close_long(const std::string& what, const std::vector<double>& got,
                       const std::vector<long double>& want, double rtol) {
  ++checks;
  for (size_t i = 0; i < want.size(); ++i) {
    long double g = got[i], w = want[i];
    bool ok = std::isnan(w) ? std::isnan(g)
                            : (std::isinf(w) ? g == w : fabsl(g - w) <= rtol * (1 + fabsl(w)));
    if (!ok) {
      std::printf("FAIL %s: element %zu is %.17g, expected %.17Lg\n", what.c_str(), i, got[i], w);
      ++failures;
      return;
    }
  }
}

void check_float64_references() {
  constexpr double kTight = 1e-14;
  std::vector<double> x = as<double>(awkward_values(kN)),
                      positive = as<double>(awkward_values(kN, true));
  std::vector<double> dy = as<double>(random_values(kN));
  auto unary = [&](const char* name, const std::vector<double>& in, auto kernel, auto reference) {
    std::vector<double> got(kN, NAN);
    std::vector<long double> want(kN);
    kernel(got.data(), in.data());
    for (int64_t i = 0; i < kN; ++i) want[i] = reference(static_cast<long double>(in[i]), i);
    expect_close_long(std::string(name) + " double", got, want, kTight);
  };
  using L = long double;
  unary(
      "exp_forward", x, [](double* y, const double* v) { fg::cpu::exp_forward(y, v, kN); },
      [](L v, int64_t) { return expl(v); });
  unary(
      "log_forward", positive, [](double* y, const double* v) { fg::cpu::log_forward(y, v, kN); },
      [](L v, int64_t) { return logl(v); });
  unary(
      "sqrt_forward", positive, [](double* y, const double* v) { fg::cpu::sqrt_forward(y, v, kN); },
      [](L v, int64_t) { return sqrtl(v); });
  unary(
      "tanh_forward", x, [](double* y, const double* v) { fg::cpu::tanh_forward(y, v, kN); },
      [](L v, int64_t) { return tanhl(v); });
  unary(
      "sigmoid_forward", x, [](double* y, const double* v) { fg::cpu::sigmoid_forward(y, v, kN); },
      [](L v, int64_t) { return 1 / (1 + expl(-v)); });
  unary(
      "silu_forward", x, [](double* y, const double* v) { fg::cpu::silu_forward(y, v, kN); },
      [](L v, int64_t) { return v / (1 + expl(-v)); });
  unary(
      "gelu_forward exact", x,
      [](double* y, const double* v) { fg::cpu::gelu_forward(y, v, false, kN); },
      [](L v, int64_t) { return v * erfcl(-v / sqrtl(2)) / 2; });
  unary(
      "silu_backward", x,
      [&](double* y, const double* v) { fg::cpu::silu_backward(y, dy.data(), v, kN); },
      [&](L v, int64_t i) {
        L s = 1 / (1 + expl(-v));
        return dy[i] * s * (1 + v * (1 - s));
      });
  unary(
      "pow_forward 2.5", positive,
      [](double* y, const double* v) { fg::cpu::pow_forward(y, v, 2.5, kN); },
      [](L v, int64_t) { return powl(v, 2.5L); });
  // Softmax, sums and cross-entropy along lines.
  Shape s{3, 7, 5};
  int64_t size = s.outer * s.n * s.inner, lines = s.outer * s.inner;
  std::vector<double> v = as<double>(random_values(size));
  std::vector<double> y(size, NAN), sums(lines, NAN);
  fg::cpu::softmax_forward(y.data(), v.data(), s.outer, s.n, s.inner);
  fg::cpu::sum_forward(sums.data(), v.data(), s.outer, s.n, s.inner);
  std::vector<long double> want_y(size), want_sums(lines);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      long double total = 0, exp_total = 0;
      for (int64_t k = 0; k < s.n; ++k) {
        total += v[(o * s.n + k) * s.inner + i];
        exp_total += expl(v[(o * s.n + k) * s.inner + i]);
      }
      want_sums[o * s.inner + i] = total;
      for (int64_t k = 0; k < s.n; ++k)
        want_y[(o * s.n + k) * s.inner + i] = expl(v[(o * s.n + k) * s.inner + i]) / exp_total;
    }
  expect_close_long(s.name("softmax_forward double"), y, want_y, kTight);
  expect_close_long(s.name("sum_forward double"), sums, want_sums, kTight);
  const int64_t N = 5, C = 9;
  std::vector<double> logits = as<double>(random_values(N * C)), losses(N, NAN);
  std::vector<int64_t> targets = {0, 8, 3, 3, 5};
  std::vector<double> row_weights(N);
  fg::cpu::cross_entropy_forward(losses.data(), row_weights.data(), logits.data(), targets.data(),
                                 static_cast<const double*>(nullptr), -100, 0.1, N, C);
  std::vector<long double> want_losses(N);
  for (int64_t r = 0; r < N; ++r) {
    long double lse = 0, mean = 0;
    for (int64_t c = 0; c < C; ++c) lse += expl(logits[r * C + c]), mean += logits[r * C + c];
    lse = logl(lse);
    want_losses[r] = lse - 0.9L * logits[r * C + targets[r]] - 0.1L * mean / C;
  }
  expect_close_long("cross_entropy_forward double", losses, want_losses, kTight);
}

// Dropout in double keeps the float32 kernel's mask (p compared as a float32), and scales
// by 1 / (1 - p) in double.
void check_dropout_double() {
  std::vector<float> x32 = random_values(kN);
  std::vector<double> x = as<double>(x32);
  expect_parity<double>("dropout_forward double", kN, kExact, [&](bool gpu, double* y) {
    FG_EITHER(gpu, dropout_forward, y, x.data(), 0.3, 7, 5, kN);
  });
  std::vector<float> y32(kN);
  std::vector<double> y(kN);
  fg::cpu::dropout_forward(y32.data(), x32.data(), 0.3, 7, 5, kN);
  fg::cpu::dropout_forward(y.data(), x.data(), 0.3, 7, 5, kN);
  ++checks;
  for (int64_t i = 0; i < kN; ++i)
    if ((y32[i] == 0) != (y[i] == 0) ||
        (y[i] != 0 && std::fabs(y[i] - x[i] / (1 - double(0.3f))) > 1e-12)) {
      std::printf("FAIL dropout_forward double: element %lld\n", (long long)i);
      ++failures;
      return;
    }
}

// The pooling windows run the same code (csrc/pool_math.h) on both devices: the same bits,
// NaN and infinities included, for fixed windows (padding, dilation, ceil_mode's last window,
// count_include_pad, divisor_override) and adaptive ones that do and do not divide the input.
template <typename T>
void check_pool() {
  const std::string type = std::string(" ") + type_name<T>();
  const std::vector<fg::PoolPlanes> cases = {
      {3, {7, 4, 3, 2, 1, 1, false}, {9, 5, 2, 2, 1, 1, false}, true, 0},
      {3, {7, 4, 3, 2, 1, 1, false}, {9, 5, 2, 2, 1, 1, false}, false, 0},
      {2, {6, 3, 3, 2, 1, 1, false}, {5, 3, 2, 2, 0, 1, false}, true, -5},  // ceil_mode's last
      {2, {8, 6, 3, 1, 1, 2, false}, {5, 2, 2, 3, 0, 1, false}, true, 0},   // dilation (max)
      {3, {7, 3, 0, 0, 0, 1, true}, {5, 4, 0, 0, 0, 1, true}, true, 0},
      {1, {4, 8, 0, 0, 0, 1, true}, {6, 6, 0, 0, 0, 1, true}, true, 0}};
  for (const fg::PoolPlanes& p : cases) {
    const int64_t in = p.planes * p.h.in * p.w.in, out = p.planes * p.h.out * p.w.out;
    const std::vector<T> x = as<T>(awkward_values(in)), dy = as<T>(random_values(out));
    expect_parity<T>("max_pool2d_forward" + type, out, kExact, [&](bool gpu, T* y) {
      std::vector<int64_t> indices(out);
      FG_EITHER(gpu, max_pool2d_forward, y, indices.data(), x.data(), p);
    });
    expect_parity<int64_t>("max_pool2d_forward indices" + type, out, kExact,
                           [&](bool gpu, int64_t* indices) {
                             std::vector<T> y(out);
                             FG_EITHER(gpu, max_pool2d_forward, y.data(), indices, x.data(), p);
                           });
    if (p.h.dilation != 1) continue;  // averages take no dilation
    expect_parity<T>("avg_pool2d_forward" + type, out, kExact,
                     [&](bool gpu, T* y) { FG_EITHER(gpu, avg_pool2d_forward, y, x.data(), p); });
    expect_parity<T>("avg_pool2d_backward" + type, in, kExact, [&](bool gpu, T* dx) {
      FG_EITHER(gpu, avg_pool2d_backward, dx, dy.data(), p);
    });
  }
}

// Depthwise conv2d: forward and the input's gradient add each element's terms in the same
// order on both devices (within a rounding: the CPU's vector clones may fuse multiply-adds);
// the weight's gradient sums in another order (per column, then across; a block's tree),
// so within float32 roundings. Multipliers 1 to 3, padding, stride, dilation, a kernel
// larger than the input, and more terms per tap than a block has threads.
template <typename T>
void check_depthwise() {
  const std::string type = std::string(" ") + type_name<T>();
  struct Case {
    fg::Im2colGeometry g;
    int64_t multiplier, batch;
  };
  for (Case c : {Case{{3, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0}, 2, 2},
                 Case{{2, 9, 8, 3, 2, 2, 1, 2, 0, 2, 3, 0, 0}, 1, 2},
                 Case{{2, 3, 2, 5, 4, 1, 1, 2, 2, 1, 1, 0, 0}, 3, 1},
                 Case{{2, 20, 17, 3, 3, 1, 2, 1, 2, 1, 1, 0, 0}, 1, 2}}) {
    fg::Im2colGeometry& g = c.g;
    g.out_h = (g.height + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1) / g.stride_h + 1;
    g.out_w = (g.width + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1) / g.stride_w + 1;
    const int64_t out_channels = g.channels * c.multiplier, taps = g.kernel_h * g.kernel_w;
    const int64_t in = c.batch * g.image_size(), out = c.batch * out_channels * g.positions();
    const std::vector<T> x = as<T>(random_values(in, -1.0f, 1.0f));
    const std::vector<T> dy = as<T>(random_values(out, -1.0f, 1.0f));
    const std::vector<T> weight = as<T>(random_values(out_channels * taps, -1.0f, 1.0f));
    const std::vector<T> bias = as<T>(random_values(out_channels, -1.0f, 1.0f));
    const std::string where = " kernel " + std::to_string(g.kernel_h) + "x" +
                              std::to_string(g.kernel_w) + " multiplier " +
                              std::to_string(c.multiplier) + type;
    for (const T* b : {bias.data(), static_cast<const T*>(nullptr)})
      expect_parity<T>("depthwise_conv2d_forward" + where, out, kRounding, [&](bool gpu, T* y) {
        FG_EITHER(gpu, depthwise_conv2d_forward, y, x.data(), weight.data(), b, g, c.multiplier,
                  c.batch);
      });
    expect_parity<T>("depthwise_conv2d_backward_input" + where, in, kRounding,
                     [&](bool gpu, T* dx) {
                       FG_EITHER(gpu, depthwise_conv2d_backward_input, dx, dy.data(), weight.data(),
                                 g, c.multiplier, c.batch);
                     });
    expect_parity<T>("depthwise_conv2d_backward_weight" + where, out_channels * taps, 1e-4,
                     [&](bool gpu, T* dweight) {
                       FG_EITHER(gpu, depthwise_conv2d_backward_weight, dweight, dy.data(),
                                 x.data(), g, c.multiplier, c.batch);
                     });
  }
}

// Interpolation runs the same code (csrc/interpolate_math.h) on both devices: the same bits
// for each mode, up- and downsampling, with and without align_corners and a scale_factor,
// forward and the backward's gather.
template <typename T>
void check_interpolate() {
  using fg::InterpolateMode;
  const std::string type = std::string(" ") + type_name<T>();
  const std::vector<fg::InterpolatePlanes> cases = {
      {3, {5, 9, 0}, {4, 11, 0}, InterpolateMode::Nearest, false},
      {2, {7, 3, 0.5}, {6, 6, 1.0}, InterpolateMode::Nearest, false},
      {2, {5, 8, 1.7}, {9, 4, 0}, InterpolateMode::NearestExact, false},
      {3, {4, 7, 0}, {6, 3, 0}, InterpolateMode::Linear, false},
      {2, {4, 7, 0}, {6, 3, 0}, InterpolateMode::Linear, true},
      {1, {1, 1, 0}, {5, 12, 2.5}, InterpolateMode::Linear, false},
      {2, {5, 9, 0}, {3, 7, 2.4}, InterpolateMode::Cubic, false},
      {2, {6, 4, 0}, {4, 9, 0}, InterpolateMode::Cubic, true}};
  for (const fg::InterpolatePlanes& p : cases) {
    const int64_t in = p.planes * p.h.in * p.w.in, out = p.planes * p.h.out * p.w.out;
    const std::vector<T> x = as<T>(awkward_values(in)), dy = as<T>(random_values(out));
    expect_parity<T>("interpolate_forward" + type, out, kExact,
                     [&](bool gpu, T* y) { FG_EITHER(gpu, interpolate_forward, y, x.data(), p); });
    expect_parity<T>("interpolate_backward" + type, in, kExact, [&](bool gpu, T* dx) {
      FG_EITHER(gpu, interpolate_backward, dx, dy.data(), p);
    });
  }
}

// Attention runs the same per-score math (csrc/attention_math.h) on both devices, tiled
// differently: forward (out and the log-sum-exp) and backward (dq, dk, dv) with a bool mask per
// head, an additive mask broadcast over grouped heads, and causal rows with dropout.
template <typename T>
void check_attention() {
  struct Case {
    int64_t heads, L, S, E, Ev, group;
    bool causal;
    int mask;  // 0 none, 1 bool (heads, L, S), 2 additive (L, S)
    double dropout_p;
  };
  const std::string type = std::string(" ") + type_name<T>();
  for (Case c : {Case{2, 5, 7, 3, 4, 1, false, 1, 0.0}, Case{4, 33, 40, 8, 5, 2, false, 2, 0.0},
                 Case{2, 70, 70, 33, 6, 1, true, 0, 0.3}}) {
    fg::AttentionGeometry g{};
    g.batch_heads = c.heads, g.L = c.L, g.S = c.S, g.E = c.E, g.Ev = c.Ev, g.kv_group = c.group;
    g.scale = 0.4, g.causal = c.causal, g.batch_dims = 1, g.batch_sizes[0] = c.heads;
    g.mask_batch_strides[0] = c.mask == 1 ? c.L * c.S : 0;
    g.mask_row_stride = c.S, g.mask_key_stride = 1;
    g.dropout_p = c.dropout_p, g.seed = 7, g.offset = 3;
    // each operand contiguous: a head's rows one after another
    g.q = fg::AttentionLayout{{c.L * c.E}, c.E};
    g.k = fg::AttentionLayout{{c.S * c.E}, c.E};
    g.v = fg::AttentionLayout{{c.S * c.Ev}, c.Ev};
    g.o = fg::AttentionLayout{{c.L * c.Ev}, c.Ev};
    const int64_t kv = c.heads / c.group, rows = c.heads * c.L;
    const std::vector<T> q = as<T>(random_values(rows * c.E, -1.0f, 1.0f));
    const std::vector<T> k = as<T>(random_values(kv * c.S * c.E, -1.0f, 1.0f));
    const std::vector<T> v = as<T>(random_values(kv * c.S * c.Ev, -1.0f, 1.0f));
    const std::vector<T> dout = as<T>(random_values(rows * c.Ev, -1.0f, 1.0f));
    const std::vector<T> bias = as<T>(random_values(c.L * c.S, -2.0f, 1.0f));
    std::unique_ptr<bool[]> keep(new bool[c.heads * c.L * c.S]);
    for (int64_t i = 0; i < c.heads * c.L * c.S; ++i) keep[i] = i % 5 != 2 || i % 3 == 0;
    const bool* keep_mask = c.mask == 1 ? keep.get() : nullptr;
    const T* bias_mask = c.mask == 2 ? bias.data() : nullptr;
    std::vector<T> out(rows * c.Ev), lse(rows), delta(rows, T(0));
    fg::cpu::attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), keep_mask,
                               bias_mask, g);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t e = 0; e < c.Ev; ++e) delta[r] += dout[r * c.Ev + e] * out[r * c.Ev + e];
    const std::string where = " L " + std::to_string(c.L) + " S " + std::to_string(c.S) + type;
    std::vector<T> scratch_out(rows * c.Ev), scratch_lse(rows);
    expect_parity<T>("attention_forward out" + where, rows * c.Ev, 1e-5, [&](bool gpu, T* y) {
      FG_EITHER(gpu, attention_forward, y, scratch_lse.data(), q.data(), k.data(), v.data(),
                keep_mask, bias_mask, g);
    });
    expect_parity<T>("attention_forward lse" + where, rows, 1e-5, [&](bool gpu, T* y) {
      FG_EITHER(gpu, attention_forward, scratch_out.data(), y, q.data(), k.data(), v.data(),
                keep_mask, bias_mask, g);
    });
    std::vector<T> dq(rows * c.E), dk(kv * c.S * c.E), dv(kv * c.S * c.Ev);
    auto backward = [&](bool gpu, T* dq_out, T* dk_out, T* dv_out) {
      FG_EITHER(gpu, attention_backward, dq_out, dk_out, dv_out, dout.data(), delta.data(),
                q.data(), k.data(), v.data(), lse.data(), keep_mask, bias_mask, g);
    };
    expect_parity<T>("attention_backward dq" + where, rows * c.E, 1e-4,
                     [&](bool gpu, T* y) { backward(gpu, y, dk.data(), dv.data()); });
    expect_parity<T>("attention_backward dk" + where, kv * c.S * c.E, 1e-4,
                     [&](bool gpu, T* y) { backward(gpu, dq.data(), y, dv.data()); });
    expect_parity<T>("attention_backward dv" + where, kv * c.S * c.Ev, 1e-4,
                     [&](bool gpu, T* y) { backward(gpu, dq.data(), dk.data(), y); });
  }
}

}  // namespace

// The recurrent layers' fused gates: every mode, rows active and past their length (time 1
// of lengths 3, 1, 2), forward and the backward from the CPU forward's saved gates.
template <typename T>
void check_rnn() {
  const std::string type = std::string(" ") + type_name<T>();
  const int64_t B = 3, H = 5;
  const std::vector<int64_t> lengths = {3, 1, 2};
  for (fg::RnnMode mode :
       {fg::RnnMode::Tanh, fg::RnnMode::Relu, fg::RnnMode::Lstm, fg::RnnMode::Gru})
    for (const int64_t* len : {static_cast<const int64_t*>(nullptr), lengths.data()}) {
      const bool lstm = mode == fg::RnnMode::Lstm, gru = mode == fg::RnnMode::Gru;
      const int64_t G = fg::gate_count(mode), S = fg::rnn::saved_gates(mode), n = B * H;
      const std::vector<T> xg = as<T>(random_values(B * G * H, -2.0f, 2.0f));
      const std::vector<T> hg = as<T>(random_values(B * G * H, -2.0f, 2.0f));
      const std::vector<T> h_prev = as<T>(random_values(n, -1.0f, 1.0f));
      const std::vector<T> c_prev = as<T>(random_values(n, -1.0f, 1.0f));
      const std::vector<T> dh = as<T>(random_values(n)), dout = as<T>(random_values(n));
      const std::vector<T> dc = as<T>(random_values(n));
      const fg::RnnStep step{mode, B, H, 1, len};
      const std::string where =
          " mode " + std::to_string(static_cast<int>(mode)) + (len ? " with lengths" : "") + type;
      expect_parity<T>("rnn_gates_forward" + where, (lstm ? 3 : 2) * n + B * S * H, kRounding,
                       [&](bool gpu, T* out) {
                         T* c = lstm ? out + 2 * n : nullptr;
                         FG_EITHER(gpu, rnn_gates_forward, out, c, out + n,
                                   out + (lstm ? 3 : 2) * n, xg.data(), hg.data(), h_prev.data(),
                                   c_prev.data(), step);
                       });
      std::vector<T> h(n), c(n), out(n), saved(B * S * H);
      fg::cpu::rnn_gates_forward(h.data(), c.data(), out.data(), saved.data(), xg.data(), hg.data(),
                                 h_prev.data(), c_prev.data(), step);
      const int64_t gates = B * G * H;
      expect_parity<T>("rnn_gates_backward" + where, (gru ? 2 : 1) * gates + (lstm ? 2 : 1) * n,
                       kRounding, [&](bool gpu, T* grads) {
                         T* dhg = gru ? grads + gates : grads;
                         T* dh_prev = grads + (gru ? 2 : 1) * gates;
                         FG_EITHER(gpu, rnn_gates_backward, grads, dhg, dh_prev,
                                   lstm ? dh_prev + n : nullptr, dh.data(), dout.data(), dc.data(),
                                   saved.data(), h_prev.data(), c_prev.data(), step);
                       });
    }
}

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
    for (float smoothing : {0.0f, 0.1f})
      for (bool weighted : {false, true}) check_cross_entropy(N, C, smoothing, weighted);
  // More tensors than one launch takes (32), empty ones, and slices of 4096 with a remainder.
  std::vector<int64_t> sizes;
  for (int t = 0; t < 37; ++t) sizes.push_back(t % 9 == 4 ? 0 : 1 + (t * 997) % 9000);
  for (bool amsgrad : {false, true}) check_adam(sizes, amsgrad);
  check_elementwise<float>();
  check_elementwise<double>();
  check_broadcast<float>();
  check_broadcast<double>();
  check_casts_and_fills();
  check_random();
  check_layout();
  check_ctc<float>();
  check_ctc<double>();
  check_lines_and_losses<float>();
  check_lines_and_losses<double>();
  check_sequential_lines<float>();
  check_sequential_lines<double>();
  check_sequential_lines<int64_t>();
  check_sequential_lines<uint8_t>();
  check_integers<int64_t>();
  check_integers<int32_t>();
  check_integers<int16_t>();
  check_integers<int8_t>();
  check_integers<uint8_t>();
  check_bools();
  check_float64_references();
  check_dropout_double();
  check_optimizers();
  check_im2col<float>();
  check_im2col<double>();
  check_pool<float>();
  check_pool<double>();
  check_norm<float>();
  check_norm<double>();
  check_depthwise<float>();
  check_depthwise<double>();
  check_interpolate<float>();
  check_interpolate<double>();
  check_conv2d<float>();
  check_conv2d<double>();
  check_attention<float>();
  check_attention<double>();
  check_rnn<float>();
  check_rnn<double>();
  std::printf("%lld of %lld checks failed\n", (long long)failures, (long long)checks);
  return failures ? 1 : 0;
}
