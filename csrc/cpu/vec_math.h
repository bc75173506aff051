// Branch-free float32 exp and tanh (Cephes polynomials), and the normal distribution's
// density and distribution function for GELU, that the compiler can vectorize,
// unlike the libm calls. Accurate to a few ulp over the whole float range. And the row
// reductions the kernels share (float64 sums, the maximum), written to vectorize too.
#pragma once
#include <cstdint>
#include <cstring>

namespace fg::cpu {

inline float bits_to_float(int32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// exp(x + tiny), tiny a correction below about 0.2 in magnitude (vgaussian's rounding of x^2)
// that joins the reduced argument: one exp for both.
inline float vexp(float x, float tiny = -0.0f) {
  // Beyond hi the result overflows float; below lo it underflows even the subnormals.
  const float hi = 88.72283905206835f, lo = -103.97207708f;
  // NaN clamps to lo too (converting it to int below would be undefined); it is put back last.
  float clamped = x > hi ? hi : (x >= lo ? x : lo);
  // exp(x) = 2^k * exp(r), k = round(x / ln 2), r = x - k ln 2 in two parts for accuracy.
  float kf = clamped * 1.44269504088896341f + 0.5f;
  int32_t k = static_cast<int32_t>(kf);
  k -= static_cast<float>(k) > kf;  // floor
  float fk = static_cast<float>(k);
  float r = clamped - fk * 0.693359375f + fk * 2.12194440e-4f + tiny;  // + -0.0f: r itself
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  // 2^k as two normal powers of two: k spans [-150, 128], past one float exponent's range.
  int32_t k_half = k >> 1;
  float y = (p * r * r + r + 1.0f) * bits_to_float((k_half + 127) << 23) *
            bits_to_float((k - k_half + 127) << 23);
  // Past hi: inf (y is finite there, from the clamped x); below lo: 0; NaN stays NaN. As
  // factors chosen from x alone, so that no branch of the loop needs y (a select on y lets
  // the compiler sink y's computation into a branch, and the loop no longer vectorizes).
  float scale = x > hi ? __builtin_inff() : (x < lo ? 0.0f : 1.0f);
  float nan_or_zero = x != x ? x : 0.0f;
  return y * scale + nan_or_zero;
}

inline float vsigmoid(float x) { return 1.0f / (1.0f + vexp(-x)); }

inline float vtanh(float x) {
  float ax = x < 0 ? -x : x;
  // |x| >= 0.625: from exp, no cancellation there; below, an odd polynomial.
  float big = 1.0f - 2.0f / (vexp(2.0f * ax) + 1.0f);
  big = x < 0 ? -big : big;
  float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float small = p * z * x + x;
  return ax < 0.625f ? small : big;
}

// exp(-x^2 / 2), branch-free, accurate to a few ulp even where x^2 / 2 is large: x = hi + lo
// with hi's low 12 mantissa bits cleared, so hi^2 is exact and only the small lo (x + hi)
// part rounds (a rounded x^2 would cost x^2 / 2 ulp, 50 ulp at x = 10); that part, below
// x^2 / 2048, rides in vexp's reduced argument. |x| is clamped to 20 (the result is 0 there
// already) so that inf gives 0, not inf - inf; NaN stays NaN.
inline float vgaussian(float x) {
  float a = x < 0 ? -x : x;
  a = a > 20.0f ? 20.0f : a;
  int32_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  float hi = bits_to_float(bits & ~0xfff), lo = a - hi;
  return vexp(-0.5f * hi * hi, -0.5f * lo * (a + hi));
}

// The standard normal distribution function Phi(x) = erfc(-x / sqrt 2) / 2, branch-free, to
// within 3e-7 relative (a float64 minimax fit, checked in tests/test_activation.py): the tail
// Phi(-|x|) = exp(-x^2 / 2) t R(t), t = 1 / (1 + 0.32 |x|), one formula for every x, and
// Phi(x) = 1 - Phi(-x) for x >= 0, where the tail is at most 1/2: no cancellation, as erf's
// 1 - erfc would have. `gaussian` is vgaussian(x), which GELU's gradient needs too.
inline float vnormal_cdf(float x, float gaussian) {
  float a = x < 0 ? -x : x;
  float t = 1.0f / (1.0f + 0.32f * a);
  float r = -0.0210788138f;
  r = r * t + 0.0954100117f;
  r = r * t - 0.146712348f;
  r = r * t + 0.0653326735f;
  r = r * t - 0.0093801273f;
  r = r * t + 0.0586547814f;
  r = r * t + 0.0878289565f;
  r = r * t + 0.114622369f;
  r = r * t + 0.127660945f;
  r = r * t + 0.127661526f;
  float tail = gaussian * t * r;
  return x < 0 ? tail : 1.0f - tail;
}
inline float vnormal_cdf(float x) { return vnormal_cdf(x, vgaussian(x)); }

// Sums of n contiguous values in Acc (float64 for floats, uint64 for integers, which wrap),
// in eight interleaved partial sums: one running sum cannot vectorize (each add waits for the
// one before), eight can.
template <typename Acc, typename T>
inline Acc sum_in(const T* x, int64_t n) {
  Acc partial[8] = {};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) partial[j] += static_cast<Acc>(x[k + j]);
  Acc total = 0;
  for (; k < n; ++k) total += static_cast<Acc>(x[k]);
  for (Acc p : partial) total += p;
  return total;
}
template <typename T>
inline double sum_float64(const T* x, int64_t n) {
  return sum_in<double>(x, n);
}

// sum of a[k] * b[k], likewise
template <typename T>
inline double dot_float64(const T* a, const T* b, int64_t n) {
  double partial[8] = {};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) partial[j] += double(a[k + j]) * b[k + j];
  double total = 0;
  for (; k < n; ++k) total += double(a[k]) * b[k];
  for (double p : partial) total += p;
  return total;
}

// The largest of n contiguous floats or doubles; NaN if any is NaN, -inf for n == 0.
template <typename T>
inline T row_max(const T* x, int64_t n) {
  T m = -__builtin_inff();
  int any_nan = 0;
  for (int64_t k = 0; k < n; ++k) {
    m = x[k] > m ? x[k] : m;
    any_nan |= x[k] != x[k];
  }
  return any_nan ? T(__builtin_nanf("")) : m;
}

}  // namespace fg::cpu
