// Checks the CPU GEMM in double (csrc/cpu/gemm.cpp and its micro-kernels) with the
// micro-kernel that FORGEGRAD_ISA selects, against a long double product: every transpose
// at sizes that are no multiple of any register block (1, 7, 33, 129, 257), the epilogues
// (bias, accumulate, relu), every edge tile, K = 0, a product large enough to be split among
// threads and blocked along every cache level, and batches (with a reused operand). Outputs
// start as NaN, so an element never written fails; a guard after C catches writes past it.
// Prints the ISA, one line per failure, and "<failed> of <cases> cases failed"; exits 1 if
// any. tests/test_gemm.py builds and runs it: forgegrad has no float64 tensors to reach the
// double GEMM through _C.gemm yet.
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/cpu_features.h"
#include "kernels.h"

namespace {

std::mt19937 rng(11);

std::vector<double> random_values(int64_t n) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = uniform(rng);
  return v;
}

struct Case {
  bool trans_a, trans_b;
  int64_t M, N, K;
  int64_t batch = 0;  // 0: gemm; else gemm_batched with this many matrices
  bool bias = false, accumulate = false, relu = false, reuse_a = false;

  std::string name() const {
    char text[160];
    std::snprintf(text, sizeof text,
                  "%c%c M=%lld N=%lld K=%lld batch=%lld bias=%d acc=%d relu=%d reuse_a=%d",
                  trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', (long long)M, (long long)N,
                  (long long)K, (long long)batch, bias, accumulate, relu, reuse_a);
    return text;
  }
};

// Runs the case; returns the number of bad elements.
int64_t run(const Case& c) {
  const int64_t M = c.M, N = c.N, K = c.K, mn = M * N, guard = 37;
  const int64_t matrices = c.batch > 0 ? c.batch : 1;
  const int64_t a_size = M * K, b_size = K * N;
  std::vector<double> A = random_values((c.reuse_a ? 1 : matrices) * a_size);
  std::vector<double> B = random_values(matrices * b_size);
  std::vector<double> bias = random_values(N);
  std::vector<double> start = random_values(matrices * mn);
  std::vector<double> C(matrices * mn + guard, NAN);
  for (int64_t i = 0; i < guard; ++i) C[matrices * mn + i] = 12345.0;
  if (c.accumulate) std::copy(start.begin(), start.end(), C.begin());

  if (c.batch > 0)
    fg::cpu::gemm_batched(C.data(), A.data(), B.data(), c.trans_a, c.trans_b, c.batch, mn,
                          c.reuse_a ? 0 : a_size, b_size, M, N, K);
  else
    fg::cpu::gemm(C.data(), A.data(), B.data(), c.bias ? bias.data() : nullptr, c.relu, c.trans_a,
                  c.trans_b, c.accumulate, M, N, K);

  // Rounding error of a sum of K products, plus the bias and C: a few units of double's
  // epsilon for each term, of the terms' magnitude.
  const long double tolerance = 4.0L * (K + 2) * std::numeric_limits<double>::epsilon();
  int64_t bad = 0;
  for (int64_t z = 0; z < matrices; ++z) {
    const double* a = A.data() + (c.reuse_a ? 0 : z * a_size);
    const double* b = B.data() + z * b_size;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        long double sum = 0, magnitude = 0;
        for (int64_t k = 0; k < K; ++k) {
          long double x = c.trans_a ? a[k * M + m] : a[m * K + k];
          long double y = c.trans_b ? b[n * K + k] : b[k * N + n];
          sum += x * y, magnitude += std::fabs(x * y);
        }
        if (c.bias) sum += bias[n];
        if (c.accumulate) sum += start[z * mn + m * N + n];
        if (c.relu && sum < 0) sum = 0;
        long double got = C[z * mn + m * N + n];
        if (!(std::fabs(got - sum) <= tolerance * (magnitude + 1.0L))) {
          if (bad < 3)
            std::printf("FAIL %s: C[%lld][%lld][%lld] = %.17Lg, expected %.17Lg\n",
                        c.name().c_str(), (long long)z, (long long)m, (long long)n, got, sum);
          ++bad;
        }
      }
  }
  for (int64_t i = 0; i < guard; ++i)
    if (C[matrices * mn + i] != 12345.0) {
      std::printf("FAIL %s: wrote past C\n", c.name().c_str());
      ++bad;
      break;
    }
  return bad;
}

}  // namespace

int main() {
  std::printf("isa %s\n", fg::isa_name(fg::active_isa()));
  const int64_t sizes[] = {1, 7, 33, 129, 257};
  std::vector<Case> cases;
  for (int trans = 0; trans < 4; ++trans) {
    bool ta = trans & 1, tb = trans & 2;
    for (int64_t M : sizes)
      for (int64_t N : sizes)
        for (int64_t K : sizes)
          if (M * N * K <= 129 * 129 * 257) cases.push_back({ta, tb, M, N, K});
    for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{70, 75, 19}, {129, 33, 257}}) {
      Case epilogues{ta, tb, M, N, K};
      epilogues.bias = epilogues.relu = true;
      cases.push_back(epilogues);
      epilogues.accumulate = true;
      cases.push_back(epilogues);
      epilogues.bias = false;
      cases.push_back(epilogues);
    }
    Case empty{ta, tb, 33, 7, 0};  // K = 0: C = relu(C + bias)
    empty.bias = empty.accumulate = empty.relu = true;
    cases.push_back(empty);
    cases.push_back({ta, tb, 33, 7, 0});
    Case batched{ta, tb, 9, 70, 12, 3};
    cases.push_back(batched);
    batched.reuse_a = true;
    cases.push_back(batched);
  }
  // Every edge tile of every double micro-kernel: row counts 1..MR (an instance each) and
  // column counts 1..NR (masked), MR <= 12 and NR <= 16.
  for (int64_t M = 1; M <= 24; ++M)
    for (int64_t N : {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31})
      for (int trans = 0; trans < 4; ++trans)
        cases.push_back({bool(trans & 1), bool(trans & 2), M, N, 37});
  // Large: several threads, several blocks along each of M, N and K.
  cases.push_back({false, false, 513, 1031, 257});
  cases.push_back({true, true, 513, 1031, 257});
  Case large{false, true, 1031, 513, 600};
  large.bias = large.accumulate = large.relu = true;
  cases.push_back(large);

  int64_t failed = 0;
  for (const Case& c : cases) failed += run(c) > 0;
  std::printf("%lld of %zu cases failed\n", (long long)failed, cases.size());
  return failed ? 1 : 0;
}
