// The unary math kernels, defined once for both devices: csrc/cpu/elementwise.cpp includes
// this inside namespace fg::cpu and csrc/cuda/elementwise.cu inside fg::cuda, each after its
// map_elements (the CPU's OpenMP + FG_SIMD loop, the GPU's grid-stride launch) and
// elementwise_math.h (the functors). Declarations: kernel_list.h. No includes, no guard.

// x (n) -> y (n)
template <typename T>
void neg_forward(T* y, const T* x, int64_t n) {
  map_elements("neg_forward", math::Neg<T>{}, y, n, x);
}
template <typename T>
void exp_forward(T* y, const T* x, int64_t n) {
  map_elements("exp_forward", math::Exp<T>{}, y, n, x);
}
template <typename T>
void log_forward(T* y, const T* x, int64_t n) {
  map_elements("log_forward", math::Log<T>{}, y, n, x);
}
template <typename T>
void log1p_forward(T* y, const T* x, int64_t n) {
  map_elements("log1p_forward", math::Log1p<T>{}, y, n, x);
}
template <typename T>
void sqrt_forward(T* y, const T* x, int64_t n) {
  map_elements("sqrt_forward", math::Sqrt<T>{}, y, n, x);
}
template <typename T>
void abs_forward(T* y, const T* x, int64_t n) {
  map_elements("abs_forward", math::Abs<T>{}, y, n, x);
}
template <typename T>
void unary_math(UnaryMath op, T* y, const T* x, int64_t n) {
  switch (op) {
#define FG_UNARY_MATH_CASE(Name, name)                                 \
  case UnaryMath::Name:                                                \
    return map_elements(#name "_forward", math::Name<T>{}, y, n, x);
    FG_FOR_EACH_UNARY_MATH(FG_UNARY_MATH_CASE)
#undef FG_UNARY_MATH_CASE
  }
}
template <typename T>
void polygamma_forward(T* y, const T* x, int64_t order, int64_t n) {
  T signed_factorial = T(order % 2 ? 1 : -1);  // (-1)^(order+1) order!
  for (int64_t k = 2; k <= order; ++k) signed_factorial *= T(k);
  map_elements("polygamma_forward", math::Polygamma<T>{order, signed_factorial}, y, n, x);
}
template <typename T>
void nan_to_num_forward(T* y, const T* x, double nan, double posinf, double neginf, int64_t n) {
  map_elements("nan_to_num_forward", math::NanToNum<T>{T(nan), T(posinf), T(neginf)}, y, n, x);
}
// dy, x (n) -> dx (n)
template <typename T>
void abs_backward(T* dx, const T* dy, const T* x, int64_t n) {
  map_elements("abs_backward", math::AbsBackward<T>{}, dx, n, dy, x);
}
template <typename T>
void pow_forward(T* y, const T* x, double exponent, int64_t n) {
  map_elements("pow_forward", math::Pow<T>{exponent}, y, n, x);
}
template <typename T>
void pow_backward(T* dx, const T* dy, const T* x, double exponent, int64_t n) {
  map_elements("pow_backward", math::PowBackward<T>{exponent}, dx, n, dy, x);
}
template <typename T>
void clamp_forward(T* y, const T* x, double lo, double hi, int64_t n) {
  map_elements("clamp_forward", math::Clamp<T>{T(lo), T(hi)}, y, n, x);
}
template <typename T>
void clamp_backward(T* dx, const T* dy, const T* x, double lo, double hi, int64_t n) {
  map_elements("clamp_backward", math::ClampBackward<T>{T(lo), T(hi)}, dx, n, dy, x);
}
// y (n) += x (n)
template <typename T>
void add_inplace(T* y, const T* x, int64_t n) {
  map_elements("add_inplace", math::Add<T>{}, y, n, static_cast<const T*>(y), x);
}

FG_INSTANTIATE_UNARY()
