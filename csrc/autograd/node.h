// A recorded op: the inputs it differentiates into and the rule that maps the gradient of
// its output to the gradients of those inputs. Ops record nodes with fg::record().
#pragma once
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace fg {

// Returns one gradient per input, in order; an undefined Tensor means "no gradient".
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& dout)>;
// A view's second rule: adds dout, in place, into the view of `dinput`, a gradient its one
// input already has.
using AccumulateFn = std::function<void(Tensor& dinput, const Tensor& dout)>;

// A storage an op read or wrote, and its version then: backward refuses to run a rule whose
// tensors were changed in place since (weak: a storage nobody holds cannot be changed).
struct SavedVersion {
  std::weak_ptr<Storage> storage;
  uint64_t version;
};

struct Node {
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();  // frees the graph below it from a loop, never by recursion (engine.cpp)

  std::string name;
  std::vector<Tensor> inputs;  // the op's tensor inputs, undefined where not differentiated
  BackwardFn backward;
  // Set by views (select, slice, diagonal): when the engine already holds a gradient of the
  // input, of its own, or the leaf's .grad, dout goes into the view of that one, instead of
  // into zeros shaped like the input that are then added to it. Three selects of unbind, or
  // a loop over x[:, t], would otherwise pass over all of x's gradient once per view.
  AccumulateFn accumulate;
  // The output, once it has gradient hooks or retain_grad() (its TensorImpl says which)
  std::weak_ptr<TensorImpl> output;
  std::vector<SavedVersion> versions;  // of every input and the output, at record time
  bool released = false;               // the graph was freed by a backward without retain_graph
  // Guards inputs, backward and released: backward may run in several threads at once (the
  // GIL is released) over one graph, which one of them may be freeing.
  std::mutex mutex;
};

// Thread-local grad mode (no_grad switches it off).
bool grad_enabled();
void set_grad_enabled(bool enabled);

struct NoGradGuard {
  NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and any input requires grad: the op must record a node.
bool needs_grad(const std::vector<Tensor>& inputs);

// Makes `out` the result of a node over `inputs`, if needs_grad(inputs). Inputs that do not
// require grad are stored undefined, so their gradients are never computed or kept.
void record(Tensor& out, const char* name, const std::vector<Tensor>& inputs, BackwardFn backward,
            AccumulateFn accumulate = nullptr);

// Post-accumulate-grad hooks (Tensor.register_post_accumulate_grad_hook): `hook(leaf)` runs
// once per backward that reaches the leaf, after the last of that backward's gradients for
// it was added to its .grad, so the hook sees the complete gradient while backward goes on
// into the rest of the graph (DistributedDataParallel starts all-reducing a bucket there).
// RuntimeError unless `leaf` is a leaf that requires grad. Returns the key that removes it.
uint64_t add_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(const Tensor&)> hook);
// Gradient hooks (Tensor.register_hook): `hook(grad)` runs in each backward that computes
// the tensor's gradient, with all of it, before it is used (added into a leaf's .grad,
// passed below a non-leaf, returned by grad()); a defined result of the same shape, dtype
// and device replaces it. RuntimeError unless `t` requires grad. Returns the key that
// removes it.
uint64_t add_grad_hook(const Tensor& t, std::function<Tensor(const Tensor&)> hook);
void remove_grad_hook(const Tensor& t, uint64_t key);  // no-op if gone
// Tensor.retain_grad(): backward keeps a non-leaf's gradient in its .grad (a leaf's anyway)
void retain_grad(const Tensor& t);
void remove_post_accumulate_grad_hook(const Tensor& leaf, uint64_t key);  // no-op if gone

// For each of `leaves`, whether the graph below any of `roots` has it as an input, so that
// backward from there can give it a gradient (DistributedDataParallel's
// find_unused_parameters).
std::vector<bool> leaves_in_graph(const std::vector<Tensor>& roots,
                                  const std::vector<Tensor>& leaves);

// Runs the graph below `roots`, each seeded with its gradient, accumulating into the .grad
// of leaves (engine.cpp).
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients,
                  bool retain_graph);
// The same pass, which changes no .grad: returns the gradients of `inputs` (leaves or not),
// undefined for an input the graph below `roots` does not reach.
std::vector<Tensor> run_grad(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients,
                             const std::vector<Tensor>& inputs, bool retain_graph);

}  // namespace fg
