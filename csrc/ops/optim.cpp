// The fused optimizer steps: check a whole parameter group, then update it in place with one
// kernel call. Never recorded: an optimizer step is not part of any graph.
#include <memory>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"
#include "optim_math.h"

namespace fg::ops {

// The fused kernels walk each tensor as one row-major run of elements.
static void check_updatable(const Tensor& t, const char* op, const char* name, size_t i) {
  FG_CHECK(t.is_contiguous(), ValueError,
           "[" << op << "] expected contiguous tensors, got " << name << "[" << i
               << "] with strides " << t.strides() << " (a view); use a contiguous copy");
}

// Each of `tensors` (one per parameter) must be a buffer of its parameter's dtype and shape.
static void check_like_params(const std::vector<Tensor>& params, const std::vector<Tensor>& tensors,
                              const char* op, const char* name) {
  FG_CHECK(tensors.size() == params.size(), ValueError,
           "[" << op << "] expected " << params.size() << " " << name
               << " (one per parameter), got " << tensors.size());
  for (size_t i = 0; i < params.size(); ++i) {
    FG_CHECK(tensors[i].defined(), ValueError,
             "[" << op << "] " << name << "[" << i << "] is missing");
    FG_CHECK(tensors[i].dtype() == params[i].dtype(), TypeError,
             "[" << op << "] expected " << name << "[" << i << "] of its parameter's dtype "
                 << dtype_name(params[i].dtype()) << ", got " << dtype_name(tensors[i].dtype()));
    check_same_device(params[i], tensors[i], op);
    FG_CHECK(tensors[i].shape() == params[i].shape(), ValueError,
             "[" << op << "] expected " << name << "[" << i << "] of shape " << params[i].shape()
                 << " like its parameter, got " << tensors[i].shape());
    check_updatable(tensors[i], op, name, i);
  }
}

// A group is updated by one kernel call, so its parameters share a device.
static void check_params(const std::vector<Tensor>& params, const char* op) {
  for (size_t i = 0; i < params.size(); ++i) {
    FG_CHECK(params[i].defined(), ValueError, "[" << op << "] params[" << i << "] is missing");
    FG_CHECK(params[i].dtype() == DType::Float32 || params[i].dtype() == DType::Float64, TypeError,
             "[" << op << "] expected float32 or float64 parameters, got "
                 << dtype_name(params[i].dtype()) << " for params[" << i
                 << "] (keep a float32 master copy of float16 or bfloat16 weights)");
    FG_CHECK(params[i].dtype() == params[0].dtype(), TypeError,
             "[" << op << "] expected the parameters of a group to share a dtype, got "
                 << dtype_name(params[0].dtype()) << " and " << dtype_name(params[i].dtype()));
    check_updatable(params[i], op, "params", i);
    check_same_device(params[0], params[i], op);
  }
}

// The update writes these in place: tensors that recorded them must see the change.
static void bump_versions(std::initializer_list<const std::vector<Tensor>*> groups) {
  for (const std::vector<Tensor>* group : groups)
    for (const Tensor& t : *group)
      if (t.defined()) t.storage()->bump_version();
}

template <typename T>
static std::vector<T*> pointers(const std::vector<Tensor>& tensors) {
  std::vector<T*> out;
  for (const Tensor& t : tensors)
    out.push_back(t.defined() ? t.data<std::remove_const_t<T>>() : nullptr);
  return out;
}

static std::vector<int64_t> sizes(const std::vector<Tensor>& tensors) {
  std::vector<int64_t> out;
  for (const Tensor& t : tensors) out.push_back(t.numel());
  return out;
}

std::vector<Tensor> sgd_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                             std::vector<Tensor> momentum_buffers, const SgdOptions& options) {
  check_params(params, "sgd_step");
  check_like_params(params, grads, "sgd_step", "grads");
  FG_CHECK(momentum_buffers.size() == params.size(), ValueError,
           "[sgd_step] expected " << params.size() << " momentum buffers (None for a new one), got "
                                  << momentum_buffers.size());
  // Flags as a plain array: std::vector<bool> has no data().
  std::unique_ptr<bool[]> fresh(new bool[params.size() + 1]());
  if (options.momentum != 0.0) {
    for (size_t i = 0; i < params.size(); ++i) {
      if (momentum_buffers[i].defined()) continue;
      // Zeroed: the kernel multiplies a fresh buffer by 0 rather than branching on it.
      momentum_buffers[i] = zeros(params[i].shape(), params[i].dtype(), params[i].device());
      fresh[i] = true;
    }
    check_like_params(params, momentum_buffers, "sgd_step", "momentum_buffers");
  }
  if (params.empty()) return momentum_buffers;
  bump_versions({&params, &momentum_buffers});
  dispatch_floating(params[0].dtype(), "sgd_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(sgd_step, params[0].device(), pointers<T>(params).data(),
              pointers<T>(momentum_buffers).data(), pointers<const T>(grads).data(), fresh.get(),
              options, sizes(params).data(), int64_t(params.size()));
  });
  return momentum_buffers;
}

void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
               const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<int64_t>& steps,
               const AdamOptions& options) {
  check_params(params, "adam_step");
  check_like_params(params, grads, "adam_step", "grads");
  check_like_params(params, exp_avgs, "adam_step", "exp_avgs");
  check_like_params(params, exp_avg_sqs, "adam_step", "exp_avg_sqs");
  if (options.amsgrad) check_like_params(params, max_exp_avg_sqs, "adam_step", "max_exp_avg_sqs");
  FG_CHECK(steps.size() == params.size(), ValueError,
           "[adam_step] expected " << params.size() << " step counts, got " << steps.size());
  for (int64_t step : steps)
    FG_CHECK(step >= 1, ValueError, "[adam_step] expected step counts >= 1, got " << step);
  if (params.empty()) return;
  bump_versions({&params, &exp_avgs, &exp_avg_sqs, &max_exp_avg_sqs});
  dispatch_floating(params[0].dtype(), "adam_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(adam_step, params[0].device(), pointers<T>(params).data(),
              pointers<T>(exp_avgs).data(), pointers<T>(exp_avg_sqs).data(),
              options.amsgrad ? pointers<T>(max_exp_avg_sqs).data() : nullptr,
              pointers<const T>(grads).data(), steps.data(), options, sizes(params).data(),
              int64_t(params.size()));
  });
}

// ---- RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam -------------------------------------

// One state buffer per parameter, by name for the errors; tensors null where the options
// leave it unused.
struct NamedState {
  const char* name;
  const std::vector<Tensor>* tensors;
};

// Checks a group (the parameters, their gradients, each state in use like its parameter and,
// when given, one step count >= 1 per parameter), then marks what the update writes as
// changed. Returns whether there is anything to update.
static bool prepare_group(const char* op, const std::vector<Tensor>& params,
                          const std::vector<Tensor>& grads, std::initializer_list<NamedState> state,
                          const std::vector<int64_t>* steps) {
  check_params(params, op);
  check_like_params(params, grads, op, "grads");
  for (const NamedState& s : state)
    if (s.tensors) check_like_params(params, *s.tensors, op, s.name);
  if (steps) {
    FG_CHECK(steps->size() == params.size(), ValueError,
             "[" << op << "] expected " << params.size() << " step counts, got " << steps->size());
    for (int64_t step : *steps)
      FG_CHECK(step >= 1, ValueError, "[" << op << "] expected step counts >= 1, got " << step);
  }
  bump_versions({&params});
  for (const NamedState& s : state)
    if (s.tensors) bump_versions({s.tensors});
  return !params.empty();
}

void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& square_avgs,
                  const std::vector<Tensor>& momentum_buffers, const std::vector<Tensor>& grad_avgs,
                  const RmspropOptions& options) {
  bool momentum = options.momentum > 0.0;
  if (!prepare_group("rmsprop_step", params, grads,
                     {{"square_avgs", &square_avgs},
                      {"momentum_buffers", momentum ? &momentum_buffers : nullptr},
                      {"grad_avgs", options.centered ? &grad_avgs : nullptr}},
                     nullptr))
    return;
  dispatch_floating(params[0].dtype(), "rmsprop_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(rmsprop_step, params[0].device(), pointers<T>(params).data(),
              pointers<T>(square_avgs).data(), pointers<T>(momentum_buffers).data(),
              pointers<T>(grad_avgs).data(), pointers<const T>(grads).data(), options,
              sizes(params).data(), int64_t(params.size()));
  });
}

void adagrad_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& sums, const std::vector<int64_t>& steps,
                  const AdagradOptions& options) {
  if (!prepare_group("adagrad_step", params, grads, {{"sums", &sums}}, &steps)) return;
  dispatch_floating(params[0].dtype(), "adagrad_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(adagrad_step, params[0].device(), pointers<T>(params).data(),
              pointers<T>(sums).data(), pointers<const T>(grads).data(), steps.data(), options,
              sizes(params).data(), int64_t(params.size()));
  });
}

void adadelta_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                   const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& acc_deltas,
                   const AdadeltaOptions& options) {
  if (!prepare_group("adadelta_step", params, grads,
                     {{"square_avgs", &square_avgs}, {"acc_deltas", &acc_deltas}}, nullptr))
    return;
  dispatch_floating(params[0].dtype(), "adadelta_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(adadelta_step, params[0].device(), pointers<T>(params).data(),
              pointers<T>(square_avgs).data(), pointers<T>(acc_deltas).data(),
              pointers<const T>(grads).data(), options, sizes(params).data(),
              int64_t(params.size()));
  });
}

void adamax_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                 const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_infs,
                 const std::vector<int64_t>& steps, const AdamaxOptions& options) {
  if (!prepare_group("adamax_step", params, grads,
                     {{"exp_avgs", &exp_avgs}, {"exp_infs", &exp_infs}}, &steps))
    return;
  dispatch_floating(params[0].dtype(), "adamax_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(adamax_step, params[0].device(), pointers<T>(params).data(),
              pointers<T>(exp_avgs).data(), pointers<T>(exp_infs).data(),
              pointers<const T>(grads).data(), steps.data(), options, sizes(params).data(),
              int64_t(params.size()));
  });
}

std::vector<double> nadam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                               const std::vector<Tensor>& exp_avgs,
                               const std::vector<Tensor>& exp_avg_sqs,
                               const std::vector<int64_t>& steps, std::vector<double> mu_products,
                               const NadamOptions& options) {
  FG_CHECK(mu_products.size() == params.size(), ValueError,
           "[nadam_step] expected " << params.size() << " mu_products, got " << mu_products.size());
  for (double mu_product : mu_products)
    FG_CHECK(mu_product >= 0.0 && mu_product <= 1.0, ValueError,
             "[nadam_step] expected mu_products in [0, 1], got " << mu_product);
  if (!prepare_group("nadam_step", params, grads,
                     {{"exp_avgs", &exp_avgs}, {"exp_avg_sqs", &exp_avg_sqs}}, &steps))
    return mu_products;
  for (size_t i = 0; i < params.size(); ++i) mu_products[i] *= nadam_mu(options, steps[i]);
  dispatch_floating(params[0].dtype(), "nadam_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(nadam_step, params[0].device(), pointers<T>(params).data(),
              pointers<T>(exp_avgs).data(), pointers<T>(exp_avg_sqs).data(),
              pointers<const T>(grads).data(), steps.data(), mu_products.data(), options,
              sizes(params).data(), int64_t(params.size()));
  });
  return mu_products;
}

void radam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                const std::vector<int64_t>& steps, const RadamOptions& options) {
  if (!prepare_group("radam_step", params, grads,
                     {{"exp_avgs", &exp_avgs}, {"exp_avg_sqs", &exp_avg_sqs}}, &steps))
    return;
  dispatch_floating(params[0].dtype(), "radam_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(radam_step, params[0].device(), pointers<T>(params).data(),
              pointers<T>(exp_avgs).data(), pointers<T>(exp_avg_sqs).data(),
              pointers<const T>(grads).data(), steps.data(), options, sizes(params).data(),
              int64_t(params.size()));
  });
}

}  // namespace fg::ops
