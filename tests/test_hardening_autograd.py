"""Hardening of the autograd engine (issue 12): deep graphs are torn down without recursion,
backward from several threads into one leaf accumulates exactly, models trained in threads
match sequential runs bit for bit, loss targets changed after the forward are refused (never
read out of bounds), and set_num_threads is one setting for the whole process."""

import threading

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import nn, optim

from helpers import as_tensor, make_input

IN_PLACE_CHANGE = r"\[backward\] a tensor that \w+ used was changed in place"


def in_thread(fn, stack_size=None):
    """Runs fn() in a new thread (with a stack of stack_size bytes if given); returns its
    result, or raises what it raised."""
    outcome = {}

    def body():
        try:
            outcome["result"] = fn()
        except BaseException as error:  # noqa: BLE001 (handed back to the caller)
            outcome["error"] = error

    previous = threading.stack_size(stack_size) if stack_size else None
    try:
        thread = threading.Thread(target=body)
        thread.start()
    finally:
        if stack_size:
            threading.stack_size(previous)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def chain(x, length):
    y = x
    for _ in range(length):
        y = y + 1.0
    return y


# ------------------------------------------------------------------ deep graphs
def test_a_million_op_graph_is_dropped_without_backward():
    # Freed by recursion, a graph of some 110,000 ops overflowed the 8 MB main stack.
    x = fg.zeros(1, requires_grad=True)
    y = chain(x, 1_000_000)
    assert y.item() == 1_000_000.0
    del y  # the whole graph goes here
    assert x.grad is None


# A recursive teardown needs stack in proportion to the graph's depth (the 8 MB main stack
# held some 110,000 ops); on a 1 MB stack, graphs 100,000 deep check that the teardown is a
# loop, whatever the main stack's size.
SMALL_STACK = 1 << 20
DEPTH = 100_000


@pytest.mark.parametrize("retain_graph", [True, False])
def test_a_deep_graph_is_backpropagated_and_dropped_on_a_small_stack(retain_graph):
    def run():
        x = fg.zeros(3, requires_grad=True)
        y = chain(x, DEPTH).sum()
        y.backward(retain_graph=retain_graph)
        del y
        return x.grad.numpy().tolist()

    assert in_thread(run, SMALL_STACK) == [1.0, 1.0, 1.0]


def test_a_deep_graph_held_only_through_grad_fn_is_dropped_on_a_small_stack():
    def run():
        x = fg.zeros(1, requires_grad=True)
        y = chain(x, DEPTH)
        node = y.grad_fn
        del y  # the graph lives on through the Python handle on its last node
        assert node.name == "add"
        del node

    in_thread(run, SMALL_STACK)


# ------------------------------------------------------------------ threads
def start_backward_threads(w, threads, calls):
    """Started threads that each call backward into the leaf w `calls` times, adding 1 to
    each of its elements every time."""
    ones = fg.ones(w.shape)

    def work():
        for _ in range(calls):
            (w * ones).sum().backward()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    return workers


def test_concurrent_backward_into_a_shared_leaf_accumulates_exactly():
    # Was up to 7,192 of 65,536 elements short: the read-add-write of .grad raced.
    w = fg.zeros((256, 256), requires_grad=True)
    threads, calls = 4, 500
    for t in start_backward_threads(w, threads, calls):
        t.join()
    assert np.array_equal(w.grad.numpy(), np.full((256, 256), float(threads * calls), np.float32))


def test_grad_read_and_cleared_from_python_while_threads_backpropagate():
    # .grad's pointer was read and replaced by Python without the lock backward takes: a
    # data race on it could free a gradient twice (the sanitizer stage would report it). Every
    # gradient seen counts whole backward calls, and the last one is the same everywhere.
    w = fg.zeros((32, 32), requires_grad=True)
    workers = start_backward_threads(w, threads=3, calls=300)
    while any(t.is_alive() for t in workers):
        seen = w.grad
        if seen is not None:
            values = seen.numpy().copy()  # one read: other threads are still adding to it
            assert values.shape == (32, 32) and np.all(values == np.round(values))
        w.grad = None
    for t in workers:
        t.join()
    final = w.grad
    assert final is None or np.all(final.numpy() == final.numpy()[0, 0])


def test_concurrent_first_backwards_into_a_leaf_lose_no_gradient(device):
    # The first gradient into a leaf is adopted as its .grad, not added: threads racing to be
    # first must not replace each other's.
    w = as_tensor(np.zeros((64, 64), np.float32), device, requires_grad=True)
    threads = 4
    barrier = threading.Barrier(threads)

    def work(k):
        barrier.wait()
        (w * float(k + 1)).sum().backward()

    for _ in range(30):
        w.grad = None
        workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        assert np.array_equal(w.grad.cpu().numpy(), np.full((64, 64), 10.0, np.float32))


def test_concurrent_backwards_through_one_graph_free_it_once_and_cleanly():
    # One backward frees the graph while another may be running through it: that read freed
    # buffers (a segfault, or shapes of garbage). Now the first to reach the loss runs it and
    # the others get the clear error of a second backward.
    w = fg.tensor(make_input((32, 32), (-0.3, 0.3)), requires_grad=True)
    expected = None
    for _ in range(50):
        w.grad = None
        loss = ((w @ w).relu() * w).exp().sum()
        barrier = threading.Barrier(3)
        errors = []

        def work():
            barrier.wait()
            try:
                loss.backward()
            except RuntimeError as error:
                errors.append(str(error))

        workers = [threading.Thread(target=work) for _ in range(3)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        assert len(errors) == 2 and all("a second time" in e for e in errors)
        if expected is None:
            expected = w.grad.numpy().copy()
        assert np.array_equal(w.grad.numpy(), expected)


def seeded_model(seed):
    fg.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 96), nn.ReLU(), nn.Linear(96, 10))


def train(model, data, labels, steps=15):
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    x, y = fg.tensor(data), fg.tensor(labels)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_independent_models_trained_in_threads_match_sequential_runs_bit_for_bit():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((256, 64)).astype(np.float32)
    labels = rng.integers(0, 10, 256)
    seeds = range(4)
    sequential = [train(seeded_model(seed), data, labels) for seed in seeds]
    # The random generator is process-wide: initialize in turn, then train the four at once.
    models = [seeded_model(seed) for seed in seeds]
    barrier = threading.Barrier(len(models))
    threaded = [None] * len(models)

    def work(k):
        barrier.wait()
        threaded[k] = train(models[k], data, labels)

    workers = [threading.Thread(target=work, args=(k,)) for k in seeds]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for got, expected in zip(threaded, sequential):
        assert all(np.array_equal(g, e) for g, e in zip(got, expected))


# ------------------------------------------------------------------ loss targets
CLASS_LOSSES = {
    "cross_entropy": lambda x, target: F.cross_entropy(x, target),
    "cross_entropy_smoothed": lambda x, target: F.cross_entropy(x, target, label_smoothing=0.1),
    "nll_loss": lambda x, target: F.nll_loss(x.log_softmax(1), target),
}


@pytest.mark.parametrize("loss_name", CLASS_LOSSES)
@pytest.mark.parametrize("value", [-5, 10**6, 1])  # below, above, and a wrong class in range
def test_a_target_changed_in_place_after_the_loss_fails_backward(loss_name, value, device):
    # cross_entropy's backward wrote dlogits[row, target] out of bounds (-5, 10**6), or gave
    # the gradient of another target silently (1): the target must be version-checked.
    x = as_tensor(make_input((3, 4)), device, requires_grad=True)
    target = fg.tensor([0, 3, 2], device=device)
    loss = CLASS_LOSSES[loss_name](x, target)
    target.fill_(value)
    with pytest.raises(RuntimeError, match=IN_PLACE_CHANGE):
        loss.backward()
    assert x.grad is None


@pytest.mark.parametrize("loss_name", CLASS_LOSSES)
@pytest.mark.parametrize("value", [-5, 10**6, 1])
def test_a_from_numpy_target_changed_through_numpy_backpropagates_the_forwards_classes(
    loss_name, value
):
    # numpy's writes do not move the version counter, so backward reads its own copy of the
    # classes: the gradient is the forward's, whatever was written (1 is a wrong class in range).
    logits = make_input((3, 4))
    labels = np.array([0, 3, 2], np.int64)
    x = fg.tensor(logits, requires_grad=True)
    loss = CLASS_LOSSES[loss_name](x, fg.from_numpy(labels))
    labels[1] = value
    loss.backward()
    np.testing.assert_allclose(
        x.grad.numpy(), expected_gradient(logits, [0, 3, 2], loss_name), rtol=1e-5, atol=1e-7
    )


def expected_gradient(logits, classes, loss_name):
    """d(mean loss)/d(logits) of cross-entropy, float64."""
    shifted = logits.astype(np.float64) - logits.max(1, keepdims=True)
    softmax = np.exp(shifted) / np.exp(shifted).sum(1, keepdims=True)
    onehot = np.eye(logits.shape[1])[classes]
    if loss_name == "cross_entropy_smoothed":
        onehot = 0.9 * onehot + 0.1 / logits.shape[1]
    return (softmax - onehot) / len(classes)


@pytest.mark.parametrize("loss_name", CLASS_LOSSES)
def test_an_unchanged_target_still_backpropagates(loss_name, device):
    logits = make_input((3, 4))
    x = as_tensor(logits, device, requires_grad=True)
    target = fg.tensor([0, 3, 2], device=device)
    CLASS_LOSSES[loss_name](x, target).backward()
    np.testing.assert_allclose(
        x.grad.cpu().numpy(), expected_gradient(logits, [0, 3, 2], loss_name), rtol=1e-5, atol=1e-7
    )


# ------------------------------------------------------------------ set_num_threads
@pytest.mark.parametrize("count", [1, 3])
def test_set_num_threads_reaches_threads_started_later(count, restore_threads):
    # omp_set_num_threads set only the calling thread's count: a new thread saw the default.
    fg.set_num_threads(count)
    assert fg.get_num_threads() == count
    assert in_thread(fg.get_num_threads) == count
    assert in_thread(lambda: fg.info()["num_threads"]) == count
    assert in_thread(fg._C._parallel_region_threads) == count  # the threads a kernel runs on
    # and a thread's setting reaches the main thread and the threads after it
    in_thread(lambda: fg.set_num_threads(2))
    assert fg.get_num_threads() == 2 and in_thread(fg.get_num_threads) == 2
