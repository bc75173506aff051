// The pointwise loss kernels, defined once for both devices: csrc/cpu/loss.cpp includes this
// inside namespace fg::cpu and csrc/cuda/loss.cu inside fg::cuda, each after its map_elements
// and elementwise_math.h (the functors). Declarations: kernel_list.h. No includes, no guard.

// name_forward: x, t (n) -> losses (n) by math::Loss; name_backward: dlosses (n) -> dx by
// math::LossBackwardX, and dt by math::LossBackwardT unless dt is null.
#define FG_POINTWISE_LOSS(name, Loss)                                                         \
  template <typename T>                                                                       \
  void name##_forward(T* losses, const T* x, const T* t, int64_t n) {                         \
    map_elements(#name "_forward", math::Loss<T>{}, losses, n, x, t);                         \
  }                                                                                           \
  template <typename T>                                                                       \
  void name##_backward(T* dx, T* dt, const T* dlosses, const T* x, const T* t, int64_t n) {   \
    map_elements(#name "_backward", math::Loss##BackwardX<T>{}, dx, n, dlosses, x, t);        \
    if (dt) map_elements(#name "_backward", math::Loss##BackwardT<T>{}, dt, n, dlosses, x);   \
  }

// probabilities x: -(t log x + (1 - t) log(1 - x)), logs clamped at -100;
// dx = dloss (x - t) / max(x (1 - x), 1e-12), dt = dloss (log(1 - x) - log x)
FG_POINTWISE_LOSS(binary_cross_entropy, BinaryCrossEntropy)
// logits x: max(x, 0) - x t + log(1 + exp(-|x|)); dx = dloss (sigmoid(x) - t), dt = -dloss x
FG_POINTWISE_LOSS(bce_with_logits, BceWithLogits)

#undef FG_POINTWISE_LOSS
