#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "autograd/node.h"
#include "core/error.h"
#include "ops/ops.h"

namespace fg {

static thread_local bool grad_mode = true;

bool grad_enabled() { return grad_mode; }
void set_grad_enabled(bool enabled) { grad_mode = enabled; }

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_mode) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(Tensor& out, const char* name, const std::vector<Tensor>& inputs, BackwardFn backward,
            AccumulateFn accumulate) {
  if (!needs_grad(inputs)) return;
  auto node = std::make_shared<Node>();
  node->name = name;
  for (const Tensor& t : inputs) {
    node->inputs.push_back(t.defined() && t.requires_grad() ? t : Tensor());
    if (t.defined()) node->versions.push_back({t.storage(), t.storage()->version()});
  }
  node->versions.push_back({out.storage(), out.storage()->version()});
  node->backward = std::move(backward);
  if (inputs.size() == 1) node->accumulate = std::move(accumulate);
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
}

// What a node holds that can hold other nodes: its inputs, and the tensors its rule captured.
struct NodeRemains {
  std::vector<Tensor> inputs;
  BackwardFn backward;
};
// The remains the outermost ~Node of this thread is freeing; null when none is running.
static thread_local std::vector<NodeRemains>* nodes_being_freed = nullptr;

// Freeing a node frees its tensors, whose grad_fn are nodes: plain destructors would recurse
// once per op of a chain, and a graph of some 100,000 ops overflows the stack. So a node
// freed while another is being freed hands its remains to that outer one, which frees them
// in a loop: the stack holds at most two nodes' destructors, whatever the graph's depth.
Node::~Node() {
  NodeRemains remains{std::move(inputs), nullptr};
  remains.backward.swap(backward);  // swap: a moved-from std::function need not be empty
  if (nodes_being_freed) {
    nodes_being_freed->push_back(std::move(remains));
    return;
  }
  std::vector<NodeRemains> pending;
  pending.push_back(std::move(remains));
  nodes_being_freed = &pending;
  while (!pending.empty()) {
    NodeRemains next = std::move(pending.back());
    pending.pop_back();
  }  // `next` is freed here: the nodes it held last push their own remains onto `pending`
  nodes_being_freed = nullptr;
}

// Nodes in an order where every node comes before the nodes of its inputs. Owning
// pointers, so that freeing the graph as it runs cannot free a node still to be visited.
static std::vector<std::shared_ptr<Node>> topological_order(
    const std::vector<std::shared_ptr<Node>>& roots) {
  std::vector<std::shared_ptr<Node>> postorder;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack;  // graphs can be deep
  for (const std::shared_ptr<Node>& root : roots) {
    if (seen.insert(root.get()).second) stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& [node, next_input] = stack.back();
      std::unique_lock<std::mutex> lock(node->mutex);
      if (next_input < node->inputs.size()) {
        Tensor input = node->inputs[next_input++];
        lock.unlock();
        if (!input.defined() || !input.grad_fn()) continue;
        const std::shared_ptr<Node>& child = input.grad_fn();
        if (seen.insert(child.get()).second) stack.push_back({child, 0});
      } else {
        lock.unlock();
        postorder.push_back(node);
        stack.pop_back();
      }
    }
  }
  return {postorder.rbegin(), postorder.rend()};
}

// True when `grad` is the only handle on a buffer of forgegrad's own that it spans exactly,
// so the leaf can keep it as .grad without a copy (nothing else can see or change it).
static bool can_adopt(const Tensor& grad) {
  const std::shared_ptr<Storage>& storage = grad.storage();
  return grad.impl_ptr().use_count() == 1 && storage.use_count() == 1 && !storage->borrowed() &&
         grad.storage_offset() == 0 &&
         storage->nbytes() == size_t(grad.numel()) * dtype_size(grad.dtype()) &&
         !grad.requires_grad() && grad.is_leaf() && grad.is_contiguous();
}

// `grad` added into t's .grad (a leaf's, or a non-leaf's that retains it). Under t's grad
// lock: threads backpropagating into one shared leaf would otherwise race on its .grad (a
// read-add-write, or two adoptions of which one is lost).
static void accumulate_into_grad(const Tensor& t, Tensor grad) {
  std::lock_guard<std::mutex> lock(grad_lock(t.impl()));
  Tensor existing(t.impl()->grad);
  if (existing.defined())
    ops::add_(existing, grad);
  else if (can_adopt(grad))
    t.impl()->grad = grad.impl_ptr();
  else
    t.impl()->grad = ops::clone(grad).impl_ptr();  // own buffer: grad may alias another's
}

// A tensor's hooks of one kind, each under the key that removes it (keys are never reused)
template <typename Hook>
static uint64_t add_keyed(std::vector<std::pair<uint64_t, Hook>>& hooks, Hook hook) {
  static std::atomic<uint64_t> next_key{1};
  uint64_t key = next_key++;
  hooks.emplace_back(key, std::move(hook));
  return key;
}
template <typename Hook>
static void remove_keyed(std::vector<std::pair<uint64_t, Hook>>& hooks, uint64_t key) {
  for (auto it = hooks.begin(); it != hooks.end(); ++it)
    if (it->first == key) {
      hooks.erase(it);
      return;
    }
}

uint64_t add_post_accumulate_grad_hook(const Tensor& leaf,
                                       std::function<void(const Tensor&)> hook) {
  FG_CHECK(leaf.is_leaf(), RuntimeError,
           "[register_post_accumulate_grad_hook] post accumulate grad hooks cannot be "
           "registered on non-leaf tensors");
  FG_CHECK(leaf.requires_grad(), RuntimeError,
           "[register_post_accumulate_grad_hook] cannot register a hook on a tensor that "
           "doesn't require gradient");
  std::lock_guard<std::mutex> lock(grad_lock(leaf.impl()));
  return add_keyed(leaf.impl()->post_accumulate_grad_hooks, std::move(hook));
}

void remove_post_accumulate_grad_hook(const Tensor& leaf, uint64_t key) {
  std::lock_guard<std::mutex> lock(grad_lock(leaf.impl()));
  remove_keyed(leaf.impl()->post_accumulate_grad_hooks, key);
}

// A non-leaf's node learns its output, so that backward can reach the output's hooks and
// .grad from the node (Node::output)
static void let_node_see_output(const Tensor& t) {
  if (t.is_leaf()) return;
  std::lock_guard<std::mutex> lock(t.grad_fn()->mutex);
  t.grad_fn()->output = t.impl_ptr();
}

uint64_t add_grad_hook(const Tensor& t, std::function<Tensor(const Tensor&)> hook) {
  FG_CHECK(t.requires_grad(), RuntimeError,
           "[register_hook] cannot register a hook on a tensor that doesn't require gradient");
  let_node_see_output(t);
  std::lock_guard<std::mutex> lock(grad_lock(t.impl()));
  return add_keyed(t.impl()->grad_hooks, std::move(hook));
}

void remove_grad_hook(const Tensor& t, uint64_t key) {
  std::lock_guard<std::mutex> lock(grad_lock(t.impl()));
  remove_keyed(t.impl()->grad_hooks, key);
}

void retain_grad(const Tensor& t) {
  FG_CHECK(t.requires_grad(), RuntimeError,
           "[retain_grad] can't retain_grad on a tensor that has requires_grad=False");
  if (t.is_leaf()) return;  // a leaf keeps its gradient anyway
  let_node_see_output(t);
  std::lock_guard<std::mutex> lock(grad_lock(t.impl()));
  t.impl()->retains_grad = true;
}

static bool has_grad_hooks(const TensorImpl* t) {
  std::lock_guard<std::mutex> lock(grad_lock(t));
  return !t->grad_hooks.empty();
}

// `grad` through the tensor's gradient hooks, in the order they were registered. Without
// the grad lock, on a copy of the list, as the post-accumulate hooks below.
static Tensor run_grad_hooks(const TensorImpl* t, Tensor grad) {
  std::vector<std::pair<uint64_t, std::function<Tensor(const Tensor&)>>> hooks;
  {
    std::lock_guard<std::mutex> lock(grad_lock(t));
    hooks = t->grad_hooks;
  }
  for (auto& [key, hook] : hooks) {
    Tensor replaced = hook(grad);
    if (!replaced.defined()) continue;
    FG_CHECK(replaced.shape() == grad.shape() && replaced.dtype() == grad.dtype() &&
                 replaced.device() == grad.device(),
             RuntimeError,
             "[register_hook] a hook returned a gradient of shape "
                 << replaced.shape() << ", " << dtype_name(replaced.dtype()) << " on "
                 << replaced.device().str() << ", for one of shape " << grad.shape() << ", "
                 << dtype_name(grad.dtype()) << " on " << grad.device().str());
    grad = replaced.detach();
  }
  return grad;
}

static bool has_post_accumulate_grad_hooks(const Tensor& leaf) {
  std::lock_guard<std::mutex> lock(grad_lock(leaf.impl()));
  return !leaf.impl()->post_accumulate_grad_hooks.empty();
}

// Called without the grad lock, which a hook reading .grad takes; on a copy of the list, so
// a hook may remove itself (or add others, which run from the next backward on).
static void run_post_accumulate_grad_hooks(const Tensor& leaf) {
  std::vector<std::pair<uint64_t, std::function<void(const Tensor&)>>> hooks;
  {
    std::lock_guard<std::mutex> lock(grad_lock(leaf.impl()));
    hooks = leaf.impl()->post_accumulate_grad_hooks;
  }
  for (auto& [key, hook] : hooks) hook(leaf);
}

// The leaves with hooks (gradient hooks; post-accumulate ones too unless `capturing`), by the
// position in `order` of the last node that has them as an input: once that node has run,
// their gradient of this backward is whole. Within a node they keep the node's input order,
// so hooks run in the same order every time.
static std::unordered_map<size_t, std::vector<Tensor>> hooked_leaves_by_last_node(
    const std::vector<std::shared_ptr<Node>>& order, bool capturing) {
  std::unordered_set<TensorImpl*> seen;
  std::unordered_map<size_t, std::vector<Tensor>> by_node;
  // From the last node back, so a leaf is first seen at its last use.
  for (size_t i = order.size(); i-- > 0;) {
    std::lock_guard<std::mutex> lock(order[i]->mutex);
    for (const Tensor& input : order[i]->inputs)
      if (input.defined() && input.is_leaf() &&
          (has_grad_hooks(input.impl()) || (!capturing && has_post_accumulate_grad_hooks(input))) &&
          seen.insert(input.impl()).second)
        by_node[i].push_back(input);
  }
  return by_node;
}

std::vector<bool> leaves_in_graph(const std::vector<Tensor>& roots,
                                  const std::vector<Tensor>& leaves) {
  std::unordered_set<TensorImpl*> inputs;
  std::unordered_set<Node*> seen;
  std::vector<std::shared_ptr<Node>> stack;
  for (const Tensor& root : roots) {
    if (root.is_leaf())
      inputs.insert(root.impl());
    else if (seen.insert(root.grad_fn().get()).second)
      stack.push_back(root.grad_fn());
  }
  while (!stack.empty()) {
    std::shared_ptr<Node> node = std::move(stack.back());
    stack.pop_back();
    std::lock_guard<std::mutex> lock(node->mutex);
    for (const Tensor& input : node->inputs) {
      if (!input.defined()) continue;
      if (input.is_leaf())
        inputs.insert(input.impl());
      else if (seen.insert(input.grad_fn().get()).second)
        stack.push_back(input.grad_fn());
    }
  }
  std::vector<bool> found;
  for (const Tensor& leaf : leaves) found.push_back(inputs.count(leaf.impl()) > 0);
  return found;
}

// One backward pass: the gradients waiting for each node, and where the gradients of the
// leaves go. backward(): into their .grad (and a non-leaf's that retain_grad()). grad():
// into `captured`, for the tensors asked for only, every .grad left as it was. A leaf with
// gradient hooks has its parts held until they are all in.
struct Pass {
  std::unordered_map<Node*, Tensor> pending;
  std::unordered_set<TensorImpl*> reached;       // leaves this backward gave a gradient
  std::unordered_map<TensorImpl*, Tensor> held;  // of leaves with gradient hooks
  std::unordered_set<TensorImpl*> finished;      // leaves whose gradient is whole
  bool capturing = false;
  std::unordered_map<TensorImpl*, size_t> wanted_leaves;  // grad(): input index of a leaf
  std::unordered_map<Node*, size_t> wanted_nodes;         // and of a non-leaf, by its node
  std::vector<Tensor> captured;

  void add_to(Tensor& slot, Tensor grad) {
    if (!slot.defined())
      slot = std::move(grad);
    else if (can_adopt(slot) && !grad.requires_grad() && slot.shape() == grad.shape() &&
             slot.dtype() == grad.dtype() && slot.device() == grad.device())
      ops::add_(slot, grad);  // a residual's two gradients: the sum goes into slot's buffer
    else
      slot = ops::add(slot, grad);
  }
  void to_leaf(const Tensor& leaf, Tensor grad) {
    if (capturing && !wanted_leaves.count(leaf.impl())) return;  // nor its hooks, as PyTorch
    if (has_grad_hooks(leaf.impl())) {
      add_to(held[leaf.impl()], std::move(grad));
      return;
    }
    deliver(leaf, std::move(grad));
  }
  // Once a leaf's last gradient is in: its held gradient, through its hooks, to where the
  // leaves' gradients go; then its post-accumulate hooks, once a pass
  void finish(const Tensor& leaf) {
    if (!finished.insert(leaf.impl()).second) return;
    auto found = held.find(leaf.impl());
    if (found != held.end()) {
      Tensor grad = std::move(found->second);
      held.erase(found);
      deliver(leaf, run_grad_hooks(leaf.impl(), std::move(grad)));
    }
    if (!capturing && reached.count(leaf.impl())) run_post_accumulate_grad_hooks(leaf);
  }
  void deliver(const Tensor& leaf, Tensor grad) {
    if (!capturing) {
      accumulate_into_grad(leaf, std::move(grad));
      reached.insert(leaf.impl());
      return;
    }
    auto wanted = wanted_leaves.find(leaf.impl());
    if (wanted != wanted_leaves.end()) add_to(captured[wanted->second], std::move(grad));
  }
};

// A view's dout added into the gradient its input already has (Node::accumulate): the
// engine's own buffer for a non-leaf, the .grad of a leaf (not while capturing: grad()
// changes no .grad). False, with nothing done, when there is none to add into.
static bool accumulate_into_existing(Node& node, const Tensor& dout, Pass& pass) {
  const Tensor& input = node.inputs[0];
  if (!input.defined()) return false;
  auto fits = [&](const Tensor& g) {
    return g.defined() && g.dtype() == dout.dtype() && g.device() == dout.device();
  };
  if (input.is_leaf()) {
    if (pass.capturing || has_grad_hooks(input.impl())) return false;
    std::lock_guard<std::mutex> lock(grad_lock(input.impl()));
    Tensor existing(input.impl()->grad);
    if (!fits(existing)) return false;
    node.accumulate(existing, dout);
    pass.reached.insert(input.impl());
    return true;
  }
  auto slot = pass.pending.find(input.grad_fn().get());
  if (slot == pass.pending.end() || !fits(slot->second) || !can_adopt(slot->second)) return false;
  node.accumulate(slot->second, dout);
  return true;
}

// The whole gradient of a non-leaf that retain_grad(), added into its .grad
static void retain(const Tensor& output, const Tensor& dout) {
  bool retains;
  {
    std::lock_guard<std::mutex> lock(grad_lock(output.impl()));
    retains = output.impl()->retains_grad;
  }
  if (retains) accumulate_into_grad(output, dout);
}

// Runs one node's rule if a gradient reached it: its inputs' gradients go into `pending`, or
// to the leaves among them (Pass::to_leaf). While capturing, a node whose gradient was asked
// for gives it up first; `run` false stops there (nothing asked for lies below it).
static void run_node(Node& node, Pass& pass, bool retain_graph, bool run = true) {
  std::lock_guard<std::mutex> lock(node.mutex);
  FG_CHECK(!node.released, RuntimeError,
           "[backward] trying to backward through the graph a second time (or to use a "
           "result after its graph was freed); its buffers were freed by the first backward. "
           "Pass retain_graph=True to the first backward to keep them");
  auto found = pass.pending.find(&node);
  if (found == pass.pending.end()) return;  // no gradient reached this node
  if (std::shared_ptr<TensorImpl> output = node.output.lock()) {
    found->second = run_grad_hooks(output.get(), std::move(found->second));
    if (!pass.capturing) retain(Tensor(output), found->second);
  }
  if (pass.capturing) {
    auto wanted = pass.wanted_nodes.find(&node);
    if (wanted != pass.wanted_nodes.end()) pass.captured[wanted->second] = found->second;
  }
  if (!run) {
    pass.pending.erase(found);
    return;
  }
  for (const SavedVersion& saved : node.versions) {
    std::shared_ptr<Storage> storage = saved.storage.lock();
    FG_CHECK(!storage || storage->version() == saved.version, RuntimeError,
             "[backward] a tensor that "
                 << node.name
                 << " used was changed in place "
                    "afterwards (fill_, copy_, add_, +=, an optimizer step, ...), so its gradient "
                    "would be wrong; clone() the tensor before changing it, or change it after "
                    "backward()");
  }
  // Backward rules hand their gradients to kernels: contiguous, whatever view made them.
  Tensor dout = ops::contiguous(found->second);
  pass.pending.erase(found);
  const bool accumulated = node.accumulate && accumulate_into_existing(node, dout, pass);
  std::vector<Tensor> dinputs = accumulated ? std::vector<Tensor>() : node.backward(dout);
  for (size_t i = 0; i < dinputs.size(); ++i) {
    const Tensor& input = node.inputs[i];
    if (!input.defined() || !dinputs[i].defined()) continue;
    if (input.is_leaf())
      pass.to_leaf(input, std::move(dinputs[i]));
    else
      pass.add_to(pass.pending[input.grad_fn().get()], std::move(dinputs[i]));
  }
  if (!retain_graph) {
    node.backward = nullptr;  // frees what the rule captured
    node.accumulate = nullptr;
    node.released = true;
  }
}

// Which nodes of `order` must run for grad(): those with an asked-for tensor below them
// (inputs come after their users in `order`, so one sweep from the end decides)
static std::vector<bool> nodes_to_run(const std::vector<std::shared_ptr<Node>>& order,
                                      const Pass& pass) {
  std::unordered_set<Node*> leads_to_wanted;
  std::vector<bool> run(order.size(), false);
  for (size_t i = order.size(); i-- > 0;) {
    Node* node = order[i].get();
    std::lock_guard<std::mutex> lock(node->mutex);
    for (const Tensor& input : node->inputs) {
      if (!input.defined()) continue;
      Node* below = input.grad_fn().get();
      if (input.is_leaf() ? pass.wanted_leaves.count(input.impl()) > 0
                          : pass.wanted_nodes.count(below) || leads_to_wanted.count(below))
        run[i] = true;
    }
    if (run[i] || pass.wanted_nodes.count(node)) leads_to_wanted.insert(node);
  }
  return run;
}

// The graph below `roots`, each seeded with its gradient: a leaf root takes its own at once
static void run_pass(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients,
                     bool retain_graph, Pass& pass) {
  std::vector<std::shared_ptr<Node>> graph_roots;
  for (size_t r = 0; r < roots.size(); ++r) {
    if (roots[r].is_leaf()) {
      pass.to_leaf(roots[r], gradients[r]);
      continue;
    }
    graph_roots.push_back(roots[r].grad_fn());
    pass.add_to(pass.pending[roots[r].grad_fn().get()], gradients[r]);
  }
  std::vector<std::shared_ptr<Node>> order = topological_order(graph_roots);
  std::unordered_map<size_t, std::vector<Tensor>> hooks_due =
      hooked_leaves_by_last_node(order, pass.capturing);
  std::vector<bool> run =
      pass.capturing ? nodes_to_run(order, pass) : std::vector<bool>(order.size(), true);
  for (size_t i = 0; i < order.size(); ++i) {
    run_node(*order[i], pass, retain_graph, run[i]);
    auto due = hooks_due.find(i);
    if (due == hooks_due.end()) continue;
    for (const Tensor& leaf : due->second) pass.finish(leaf);
  }
  if (!retain_graph)
    for (size_t i = 0; i < order.size(); ++i) {
      if (!run[i]) continue;  // grad() left it whole: a later backward may still run it
      std::lock_guard<std::mutex> lock(order[i]->mutex);
      order[i]->inputs.clear();
    }
  for (const Tensor& root : roots)
    if (root.is_leaf()) pass.finish(root);
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients,
                  bool retain_graph) {
  NoGradGuard no_grad;  // backward rules call public ops; they must not record
  Pass pass;
  run_pass(roots, gradients, retain_graph, pass);
}

std::vector<Tensor> run_grad(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients,
                             const std::vector<Tensor>& inputs, bool retain_graph) {
  NoGradGuard no_grad;
  Pass pass;
  pass.capturing = true;
  pass.captured.resize(inputs.size());
  std::vector<size_t> first(inputs.size());  // the first position of each input asked for
  for (size_t i = 0; i < inputs.size(); ++i)
    first[i] = inputs[i].is_leaf()
                   ? pass.wanted_leaves.emplace(inputs[i].impl(), i).first->second
                   : pass.wanted_nodes.emplace(inputs[i].grad_fn().get(), i).first->second;
  run_pass(roots, gradients, retain_graph, pass);
  for (size_t i = 0; i < inputs.size(); ++i) pass.captured[i] = pass.captured[first[i]];
  return pass.captured;
}

}  // namespace fg
