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
static std::vector<std::shared_ptr<Node>> topological_order(const std::shared_ptr<Node>& root) {
  std::vector<std::shared_ptr<Node>> postorder;
  std::unordered_set<Node*> seen{root.get()};
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root, 0}};  // graphs can be deep
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

// Under the leaf's grad lock: threads backpropagating into one shared leaf would otherwise
// race on its .grad (a read-add-write, or two adoptions of which one is lost).
static void accumulate_into_leaf(const Tensor& leaf, Tensor grad) {
  std::lock_guard<std::mutex> lock(grad_lock(leaf.impl()));
  Tensor existing(leaf.impl()->grad);
  if (existing.defined())
    ops::add_(existing, grad);
  else if (can_adopt(grad))
    leaf.impl()->grad = grad.impl_ptr();
  else
    leaf.impl()->grad = ops::clone(grad).impl_ptr();  // own buffer: grad may alias another's
}

uint64_t add_post_accumulate_grad_hook(const Tensor& leaf,
                                       std::function<void(const Tensor&)> hook) {
  FG_CHECK(leaf.is_leaf(), RuntimeError,
           "[register_post_accumulate_grad_hook] post accumulate grad hooks cannot be "
           "registered on non-leaf tensors");
  FG_CHECK(leaf.requires_grad(), RuntimeError,
           "[register_post_accumulate_grad_hook] cannot register a hook on a tensor that "
           "doesn't require gradient");
  static std::atomic<uint64_t> next_key{1};
  uint64_t key = next_key++;
  std::lock_guard<std::mutex> lock(grad_lock(leaf.impl()));
  leaf.impl()->post_accumulate_grad_hooks.emplace_back(key, std::move(hook));
  return key;
}

void remove_post_accumulate_grad_hook(const Tensor& leaf, uint64_t key) {
  std::lock_guard<std::mutex> lock(grad_lock(leaf.impl()));
  auto& hooks = leaf.impl()->post_accumulate_grad_hooks;
  for (auto it = hooks.begin(); it != hooks.end(); ++it)
    if (it->first == key) {
      hooks.erase(it);
      return;
    }
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

// The leaves with post-accumulate-grad hooks, by the position in `order` of the last node
// that has them as an input: once that node has run, their .grad is complete. Within a node
// they keep the node's input order, so hooks run in the same order every time.
static std::unordered_map<size_t, std::vector<Tensor>> hooked_leaves_by_last_node(
    const std::vector<std::shared_ptr<Node>>& order) {
  std::unordered_set<TensorImpl*> seen;
  std::unordered_map<size_t, std::vector<Tensor>> by_node;
  // From the last node back, so a leaf is first seen at its last use.
  for (size_t i = order.size(); i-- > 0;) {
    std::lock_guard<std::mutex> lock(order[i]->mutex);
    for (const Tensor& input : order[i]->inputs)
      if (input.defined() && input.is_leaf() && has_post_accumulate_grad_hooks(input) &&
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

// A view's dout added into the gradient its input already has (Node::accumulate): the
// engine's own buffer for a non-leaf, the .grad of a leaf. False, with nothing done, when
// there is none to add into.
static bool accumulate_into_existing(Node& node, const Tensor& dout,
                                     std::unordered_map<Node*, Tensor>& pending,
                                     std::unordered_set<TensorImpl*>& reached) {
  const Tensor& input = node.inputs[0];
  if (!input.defined()) return false;
  auto fits = [&](const Tensor& g) {
    return g.defined() && g.dtype() == dout.dtype() && g.device() == dout.device();
  };
  if (input.is_leaf()) {
    std::lock_guard<std::mutex> lock(grad_lock(input.impl()));
    Tensor existing(input.impl()->grad);
    if (!fits(existing)) return false;
    node.accumulate(existing, dout);
    reached.insert(input.impl());
    return true;
  }
  auto slot = pending.find(input.grad_fn().get());
  if (slot == pending.end() || !fits(slot->second) || !can_adopt(slot->second)) return false;
  node.accumulate(slot->second, dout);
  return true;
}

// Runs one node's rule if a gradient reached it: its inputs' gradients go into `pending`, or
// into the .grad of the leaves among them (recorded in `reached`).
static void run_node(Node& node, std::unordered_map<Node*, Tensor>& pending, bool retain_graph,
                     std::unordered_set<TensorImpl*>& reached) {
  std::lock_guard<std::mutex> lock(node.mutex);
  FG_CHECK(!node.released, RuntimeError,
           "[backward] trying to backward through the graph a second time (or to use a "
           "result after its graph was freed); its buffers were freed by the first backward. "
           "Pass retain_graph=True to the first backward to keep them");
  auto found = pending.find(&node);
  if (found == pending.end()) return;  // no gradient reached this node
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
  pending.erase(found);
  const bool accumulated =
      node.accumulate && accumulate_into_existing(node, dout, pending, reached);
  std::vector<Tensor> dinputs = accumulated ? std::vector<Tensor>() : node.backward(dout);
  for (size_t i = 0; i < dinputs.size(); ++i) {
    const Tensor& input = node.inputs[i];
    if (!input.defined() || !dinputs[i].defined()) continue;
    if (input.is_leaf()) {
      accumulate_into_leaf(input, std::move(dinputs[i]));
      reached.insert(input.impl());
    } else {
      Tensor& slot = pending[input.grad_fn().get()];
      const Tensor& grad = dinputs[i];
      if (!slot.defined())
        slot = std::move(dinputs[i]);
      else if (can_adopt(slot) && !grad.requires_grad() && slot.shape() == grad.shape() &&
               slot.dtype() == grad.dtype() && slot.device() == grad.device())
        ops::add_(slot, grad);  // a residual's two gradients: the sum goes into slot's buffer
      else
        slot = ops::add(slot, grad);
    }
  }
  if (!retain_graph) {
    node.backward = nullptr;  // frees what the rule captured
    node.accumulate = nullptr;
    node.released = true;
  }
}

void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  NoGradGuard no_grad;  // backward rules call public ops; they must not record
  if (root.is_leaf()) {
    accumulate_into_leaf(root, gradient);
    run_post_accumulate_grad_hooks(root);
    return;
  }
  std::vector<std::shared_ptr<Node>> order = topological_order(root.grad_fn());
  std::unordered_map<size_t, std::vector<Tensor>> hooks_due = hooked_leaves_by_last_node(order);
  std::unordered_map<Node*, Tensor> pending{{root.grad_fn().get(), gradient}};
  std::unordered_set<TensorImpl*> reached;  // leaves this backward gave a gradient
  for (size_t i = 0; i < order.size(); ++i) {
    run_node(*order[i], pending, retain_graph, reached);
    auto due = hooks_due.find(i);
    if (due == hooks_due.end()) continue;
    for (const Tensor& leaf : due->second)
      if (reached.count(leaf.impl())) run_post_accumulate_grad_hooks(leaf);
  }
  if (!retain_graph)
    for (const std::shared_ptr<Node>& node : order) {
      std::lock_guard<std::mutex> lock(node->mutex);
      node->inputs.clear();
    }
}

}  // namespace fg
