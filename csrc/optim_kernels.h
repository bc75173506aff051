// The fused RMSprop, Adagrad, Adadelta, Adamax, NAdam and RAdam steps, defined once for both
// devices: csrc/cpu/optim.cpp includes this inside namespace fg::cpu and csrc/cuda/optim.cu
// inside fg::cuda, each after its for_each_element (the CPU's OpenMP + FG_SIMD loop, the
// GPU's multi-tensor launch). Each folds its options (and each tensor's step) into one update
// per tensor (csrc/optim_math.h) and runs it over every element of the group.
// Declarations: kernel_list.h. No includes, no guard.

// The state-buffer slots an optimizer leaves unused.
template <typename T>
constexpr T* const* kNoBuffers = nullptr;

// make(i): tensor i's update
template <typename Make>
static auto updates_of(int64_t count, const Make& make) {
  std::vector<decltype(make(0))> updates;
  for (int64_t i = 0; i < count; ++i) updates.push_back(make(i));
  return updates;
}

template <typename T>
void rmsprop_step(T* const* params, T* const* square_avgs, T* const* momentum_buffers,
                  T* const* grad_avgs, const T* const* grads, const RmspropOptions& options,
                  const int64_t* sizes, int64_t count) {
  // centered, momentum: std::bool_constant, for RmspropUpdate's template arguments
  auto step = [&](auto centered, auto momentum) {
    auto updates = updates_of(count, [&](int64_t) {
      return rmsprop_update<T, decltype(centered)::value, decltype(momentum)::value>(options);
    });
    for_each_element("rmsprop_step", updates.data(), params, grads, square_avgs,
                     momentum ? momentum_buffers : kNoBuffers<T>,
                     centered ? grad_avgs : kNoBuffers<T>, sizes, count);
  };
  bool momentum = options.momentum > 0.0;
  if (options.centered && momentum)
    step(std::true_type{}, std::true_type{});
  else if (options.centered)
    step(std::true_type{}, std::false_type{});
  else if (momentum)
    step(std::false_type{}, std::true_type{});
  else
    step(std::false_type{}, std::false_type{});
}

template <typename T>
void adagrad_step(T* const* params, T* const* sums, const T* const* grads, const int64_t* steps,
                  const AdagradOptions& options, const int64_t* sizes, int64_t count) {
  auto updates = updates_of(count, [&](int64_t i) { return adagrad_update<T>(options, steps[i]); });
  for_each_element("adagrad_step", updates.data(), params, grads, sums, kNoBuffers<T>,
                   kNoBuffers<T>, sizes, count);
}

template <typename T>
void adadelta_step(T* const* params, T* const* square_avgs, T* const* acc_deltas,
                   const T* const* grads, const AdadeltaOptions& options, const int64_t* sizes,
                   int64_t count) {
  auto updates = updates_of(count, [&](int64_t) { return adadelta_update<T>(options); });
  for_each_element("adadelta_step", updates.data(), params, grads, square_avgs, acc_deltas,
                   kNoBuffers<T>, sizes, count);
}

template <typename T>
void adamax_step(T* const* params, T* const* exp_avgs, T* const* exp_infs, const T* const* grads,
                 const int64_t* steps, const AdamaxOptions& options, const int64_t* sizes,
                 int64_t count) {
  auto updates = updates_of(count, [&](int64_t i) { return adamax_update<T>(options, steps[i]); });
  for_each_element("adamax_step", updates.data(), params, grads, exp_avgs, exp_infs, kNoBuffers<T>,
                   sizes, count);
}

template <typename T>
void nadam_step(T* const* params, T* const* exp_avgs, T* const* exp_avg_sqs, const T* const* grads,
                const int64_t* steps, const double* mu_products, const NadamOptions& options,
                const int64_t* sizes, int64_t count) {
  auto updates = updates_of(
      count, [&](int64_t i) { return nadam_update<T>(options, steps[i], mu_products[i]); });
  for_each_element("nadam_step", updates.data(), params, grads, exp_avgs, exp_avg_sqs,
                   kNoBuffers<T>, sizes, count);
}

template <typename T>
void radam_step(T* const* params, T* const* exp_avgs, T* const* exp_avg_sqs, const T* const* grads,
                const int64_t* steps, const RadamOptions& options, const int64_t* sizes,
                int64_t count) {
  auto updates = updates_of(count, [&](int64_t i) { return radam_update<T>(options, steps[i]); });
  for_each_element("radam_step", updates.data(), params, grads, exp_avgs, exp_avg_sqs,
                   kNoBuffers<T>, sizes, count);
}
