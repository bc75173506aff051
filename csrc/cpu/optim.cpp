// Fused optimizer updates: every parameter of a group in one pass over its elements, in
// place; the math of one element is csrc/optim_math.h, shared with the CUDA kernels.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/parallel.h"
#include "kernels.h"
#include "optim_math.h"

namespace fg::cpu {

// Calls body(i, begin, end) over the elements of tensors 0..count-1 as if they were one
// array split evenly across threads, so a group of many small tensors still uses every core.
template <typename Body>
static void for_each_tensor_range(const int64_t* sizes, int64_t count, const Body& body) {
  std::vector<int64_t> starts(count + 1, 0);
  for (int64_t i = 0; i < count; ++i) starts[i + 1] = starts[i] + sizes[i];
  parallel_for(starts[count], kElementwiseGrain, [&](int64_t begin, int64_t end) {
    int64_t i = std::upper_bound(starts.begin(), starts.end(), begin) - starts.begin() - 1;
    for (; i < count && starts[i] < end; ++i) {
      int64_t first = std::max(begin, starts[i]), last = std::min(end, starts[i + 1]);
      if (first < last) body(i, first - starts[i], last - starts[i]);
    }
  });
}

// ---- SGD ---------------------------------------------------------------------------------

// p, buffer, grad (n): elements [begin, end) of one tensor; buffer null without momentum.
// The float loop is compiled for each instruction set (FG_SIMD), the double one as is.
template <typename T>
static inline void sgd_range_of(T* p, T* buffer, const T* grad, const SgdScalars<T> scalars,
                                int64_t begin, int64_t end) {
  const SgdScalars<T> s = scalars;  // a local copy: stores to the buffers cannot change it
  if (!buffer) {
    for (int64_t i = begin; i < end; ++i) sgd_update(p[i], grad[i], s);
    return;
  }
  for (int64_t i = begin; i < end; ++i) sgd_update(p[i], buffer[i], grad[i], s);
}
FG_SIMD static void sgd_range(float* p, float* buffer, const float* grad, const SgdScalars<float> s,
                              int64_t begin, int64_t end) {
  sgd_range_of(p, buffer, grad, s, begin, end);
}
static void sgd_range(double* p, double* buffer, const double* grad, const SgdScalars<double> s,
                      int64_t begin, int64_t end) {
  sgd_range_of(p, buffer, grad, s, begin, end);
}

template <typename T>
void sgd_step(T* const* params, T* const* momentum_buffers, const T* const* grads,
              const bool* fresh, const SgdOptions& options, const int64_t* sizes, int64_t count) {
  const bool momentum = options.momentum != 0.0;
  std::vector<SgdScalars<T>> scalars(count);
  for (int64_t i = 0; i < count; ++i) scalars[i] = sgd_scalars<T>(options, fresh[i]);
  for_each_tensor_range(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    sgd_range(params[i], momentum ? momentum_buffers[i] : nullptr, grads[i], scalars[i], begin,
              end);
  });
}

// ---- Adam and AdamW ----------------------------------------------------------------------

// p, m, v, v_max, grad (n): elements [begin, end) of one tensor; v_max only with amsgrad
template <typename T>
static inline void adam_range_of(T* p, T* m, T* v, T* v_max, const T* grad,
                                 const AdamScalars<T> scalars, int64_t begin, int64_t end) {
  const AdamScalars<T> s = scalars;  // a local copy: stores to the buffers cannot change it
  if (v_max) {
    for (int64_t i = begin; i < end; ++i)
      adam_update<true>(p[i], m[i], v[i], v_max + i, grad[i], s);
    return;
  }
  for (int64_t i = begin; i < end; ++i)
    adam_update<false>(p[i], m[i], v[i], static_cast<T*>(nullptr), grad[i], s);
}
FG_SIMD static void adam_range(float* p, float* m, float* v, float* v_max, const float* grad,
                               const AdamScalars<float> s, int64_t begin, int64_t end) {
  adam_range_of(p, m, v, v_max, grad, s, begin, end);
}
static void adam_range(double* p, double* m, double* v, double* v_max, const double* grad,
                       const AdamScalars<double> s, int64_t begin, int64_t end) {
  adam_range_of(p, m, v, v_max, grad, s, begin, end);
}

template <typename T>
void adam_step(T* const* params, T* const* exp_avgs, T* const* exp_avg_sqs,
               T* const* max_exp_avg_sqs, const T* const* grads, const int64_t* steps,
               const AdamOptions& options, const int64_t* sizes, int64_t count) {
  std::vector<AdamScalars<T>> scalars(count);
  for (int64_t i = 0; i < count; ++i) scalars[i] = adam_scalars<T>(options, steps[i]);
  for_each_tensor_range(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    adam_range(params[i], exp_avgs[i], exp_avg_sqs[i],
               options.amsgrad ? max_exp_avg_sqs[i] : nullptr, grads[i], scalars[i], begin, end);
  });
}

// ---- RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam (optim_kernels.h) -----------------

// p, grad, a, b, c (n): elements [begin, end) of one tensor; a, b, c null where unused.
template <typename Update, typename T>
FG_SIMD static void update_range(const Update update, T* p, const T* grad, T* a, T* b, T* c,
                                 int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) update(i, p, grad, a, b, c);
}

// updates[i] over every element of tensor i of the group, with its up to three state buffers
// (an array of them, or null where the optimizer has fewer).
template <typename Update, typename T>
static void for_each_element(const char*, const Update* updates, T* const* params,
                             const T* const* grads, T* const* a, T* const* b, T* const* c,
                             const int64_t* sizes, int64_t count) {
  for_each_tensor_range(sizes, count, [&](int64_t i, int64_t begin, int64_t end) {
    update_range(updates[i], params[i], grads[i], a ? a[i] : nullptr, b ? b[i] : nullptr,
                 c ? c[i] : nullptr, begin, end);
  });
}

#include "optim_kernels.h"

FG_INSTANTIATE_OPTIM()

}  // namespace fg::cpu
