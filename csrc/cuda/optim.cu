// Fused optimizer updates on the GPU: a multi-tensor launch per chunk of up to 32 tensors
// of a group (fewer for large scalars), each block updating one 4096-element slice of one
// tensor. The element math is csrc/optim_math.h, the same code the CPU loops
// (csrc/cpu/optim.cpp) run.
#include <algorithm>
#include <vector>

#include "cuda/launch.cuh"
#include "kernels.h"
#include "optim_math.h"

namespace fg::cuda {
namespace {

constexpr int64_t kSliceElements = 4096;

// Tensors per launch: 32, fewer where an optimizer's scalars are large (NAdam's and RAdam's
// in double), so that the kernel's arguments stay under 4 KiB, the limit before CUDA 12.1.
template <typename T, typename Scalars>
constexpr int kTensorsPerLaunch = static_cast<int>(std::min<size_t>(
    32, (4096 - 2 * sizeof(int64_t)) / (5 * sizeof(T*) + 2 * sizeof(int64_t) + sizeof(Scalars))));

// The tensors of one launch, by value in the kernel's arguments. first_block[t] is the
// first block of tensor t; block b works on the tensor whose range holds it.
template <typename T, typename Scalars>
struct TensorList {
  static constexpr int kCapacity = kTensorsPerLaunch<T, Scalars>;
  T* params[kCapacity];
  T* buffers[kCapacity];   // momentum (SGD) or exp_avg (Adam); null when unused
  T* buffers2[kCapacity];  // exp_avg_sq (Adam)
  T* buffers3[kCapacity];  // max_exp_avg_sq (Adam with amsgrad)
  // (the other optimizers: their state buffers a, b, c of optim_math.h's updates)
  const T* grads[kCapacity];
  int64_t sizes[kCapacity];
  int64_t first_block[kCapacity + 1];
  Scalars scalars[kCapacity];
  int count;
};

// update(list, t, i) for element i of tensor t, over every element of the list's tensors
template <typename List, typename Update>
__global__ void multi_tensor_kernel(List list, Update update) {
  int t = 0;
  while (t + 1 < list.count && list.first_block[t + 1] <= int64_t(blockIdx.x)) ++t;
  int64_t begin = (int64_t(blockIdx.x) - list.first_block[t]) * kSliceElements;
  int64_t end = min(list.sizes[t], begin + kSliceElements);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) update(list, t, i);
}

// Launches `update` over tensors [0, count), List::kCapacity at a time; fill(list, slot, i)
// puts tensor i in slot `slot` of a list.
template <typename List, typename Fill, typename Update>
void for_each_chunk(const char* name, const int64_t* sizes, int64_t count, Fill fill,
                    Update update) {
  static_assert(sizeof(List) <= 4096, "a launch's tensor list must fit in 4 KiB of arguments");
  for (int64_t first = 0; first < count; first += List::kCapacity) {
    List list{};
    list.count = static_cast<int>(std::min<int64_t>(List::kCapacity, count - first));
    int64_t blocks = 0;
    for (int slot = 0; slot < list.count; ++slot) {
      fill(list, slot, first + slot);
      list.sizes[slot] = sizes[first + slot];
      list.first_block[slot] = blocks;
      blocks += ceil_div(sizes[first + slot], kSliceElements);
    }
    list.first_block[list.count] = blocks;
    if (blocks == 0) continue;
    FG_LAUNCH_KERNEL(multi_tensor_kernel, static_cast<unsigned>(blocks), kThreads, list, update);
    FG_CUDA_CHECK_LAUNCH(name);
  }
}

}  // namespace

template <typename T>
void sgd_step(T* const* params, T* const* momentum_buffers, const T* const* grads,
              const bool* fresh, const SgdOptions& options, const int64_t* sizes, int64_t count) {
  using List = TensorList<T, SgdScalars<T>>;
  const bool momentum = options.momentum != 0.0;
  for_each_chunk<List>(
      "sgd_step", sizes, count,
      [&](List& list, int slot, int64_t i) {
        list.params[slot] = params[i];
        list.buffers[slot] = momentum ? momentum_buffers[i] : nullptr;
        list.grads[slot] = grads[i];
        list.scalars[slot] = sgd_scalars<T>(options, fresh[i]);
      },
      [] __device__(const List& list, int t, int64_t i) {
        T* buffer = list.buffers[t];
        if (buffer)
          sgd_update(list.params[t][i], buffer[i], list.grads[t][i], list.scalars[t]);
        else
          sgd_update(list.params[t][i], list.grads[t][i], list.scalars[t]);
      });
}

template <typename T>
void adam_step(T* const* params, T* const* exp_avgs, T* const* exp_avg_sqs,
               T* const* max_exp_avg_sqs, const T* const* grads, const int64_t* steps,
               const AdamOptions& options, const int64_t* sizes, int64_t count) {
  using List = TensorList<T, AdamScalars<T>>;
  const bool amsgrad = options.amsgrad;
  for_each_chunk<List>(
      "adam_step", sizes, count,
      [&](List& list, int slot, int64_t i) {
        list.params[slot] = params[i];
        list.buffers[slot] = exp_avgs[i];
        list.buffers2[slot] = exp_avg_sqs[i];
        list.buffers3[slot] = amsgrad ? max_exp_avg_sqs[i] : nullptr;
        list.grads[slot] = grads[i];
        list.scalars[slot] = adam_scalars<T>(options, steps[i]);
      },
      [] __device__(const List& list, int t, int64_t i) {
        T* v_max = list.buffers3[t];
        if (v_max)
          adam_update<true>(list.params[t][i], list.buffers[t][i], list.buffers2[t][i], v_max + i,
                            list.grads[t][i], list.scalars[t]);
        else
          adam_update<false>(list.params[t][i], list.buffers[t][i], list.buffers2[t][i],
                             static_cast<T*>(nullptr), list.grads[t][i], list.scalars[t]);
      });
}

// updates[i] over every element of tensor i of the group, with its up to three state buffers
// (an array of them, or null where the optimizer has fewer).
template <typename Update, typename T>
void for_each_element(const char* name, const Update* updates, T* const* params,
                      const T* const* grads, T* const* a, T* const* b, T* const* c,
                      const int64_t* sizes, int64_t count) {
  using List = TensorList<T, Update>;
  for_each_chunk<List>(
      name, sizes, count,
      [&](List& list, int slot, int64_t i) {
        list.params[slot] = params[i];
        list.buffers[slot] = a ? a[i] : nullptr;
        list.buffers2[slot] = b ? b[i] : nullptr;
        list.buffers3[slot] = c ? c[i] : nullptr;
        list.grads[slot] = grads[i];
        list.scalars[slot] = updates[i];
      },
      [] __device__(const List& list, int t, int64_t i) {
        list.scalars[t](i, list.params[t], list.grads[t], list.buffers[t], list.buffers2[t],
                        list.buffers3[t]);
      });
}

#include "optim_kernels.h"

FG_INSTANTIATE_OPTIM()

}  // namespace fg::cuda
