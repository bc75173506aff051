// The activation kernels, defined once for both devices: csrc/cpu/activation.cpp includes
// this inside namespace fg::cpu and csrc/cuda/activation.cu inside fg::cuda, each after its
// map_elements and elementwise_math.h (the functors). Declarations: kernel_list.h. No
// includes, no guard.

// x (n) -> y (n), and dy (n) with x (n), or with y (n) for tanh and sigmoid -> dx (n)
#define FG_ACTIVATION(name, Forward, Backward)                          \
  template <typename T>                                                 \
  void name##_forward(T* y, const T* x, int64_t n) {                    \
    map_elements(#name "_forward", math::Forward<T>{}, y, n, x);        \
  }                                                                     \
  template <typename T>                                                 \
  void name##_backward(T* dx, const T* dy, const T* x_or_y, int64_t n) { \
    map_elements(#name "_backward", math::Backward<T>{}, dx, n, dy, x_or_y); \
  }
FG_ACTIVATION(relu, Relu, ReluBackward)
FG_ACTIVATION(tanh, Tanh, TanhBackward)
FG_ACTIVATION(sigmoid, Sigmoid, SigmoidBackward)
FG_ACTIVATION(silu, Silu, SiluBackward)
#undef FG_ACTIVATION

template <typename T>
void leaky_relu_forward(T* y, const T* x, double slope, int64_t n) {
  map_elements("leaky_relu_forward", math::LeakyRelu<T>{T(slope)}, y, n, x);
}
template <typename T>
void leaky_relu_backward(T* dx, const T* dy, const T* x, double slope, int64_t n) {
  map_elements("leaky_relu_backward", math::LeakyReluBackward<T>{T(slope)}, dx, n, dy, x);
}

template <typename T>
void gelu_forward(T* y, const T* x, bool tanh_approximation, int64_t n) {
  if (tanh_approximation)
    map_elements("gelu_forward", math::GeluTanh<T>{}, y, n, x);
  else
    map_elements("gelu_forward", math::GeluExact<T>{}, y, n, x);
}
template <typename T>
void gelu_backward(T* dx, const T* dy, const T* x, bool tanh_approximation, int64_t n) {
  if (tanh_approximation)
    map_elements("gelu_backward", math::GeluTanhBackward<T>{}, dx, n, dy, x);
  else
    map_elements("gelu_backward", math::GeluExactBackward<T>{}, dx, n, dy, x);
}

template <typename T>
void activation_forward(T* y, const T* x, Activation op, const ActivationParams& params,
                        int64_t n) {
  switch (op) {
#define FG_ACTIVATION_CASE(Name)                                                         \
  case Activation::Name:                                                                 \
    return map_elements(#Name "_forward", math::ForwardOf<math::Name<T>, T>{{params}}, y, n, x);
    FG_FOR_EACH_ACTIVATION(FG_ACTIVATION_CASE)
#undef FG_ACTIVATION_CASE
  }
}
template <typename T>
void activation_backward(T* dx, const T* dy, const T* x, Activation op,
                         const ActivationParams& params, int64_t n) {
  switch (op) {
#define FG_ACTIVATION_CASE(Name)                                                          \
  case Activation::Name:                                                                  \
    return map_elements(#Name "_backward", math::BackwardOf<math::Name<T>, T>{{params}}, dx, \
                        n, dy, x);
    FG_FOR_EACH_ACTIVATION(FG_ACTIVATION_CASE)
#undef FG_ACTIVATION_CASE
  }
}

FG_INSTANTIATE_ACTIVATIONS()
