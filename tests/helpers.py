"""Checking helpers: forward against a float64 numpy reference, backward against float64
central differences of that reference.

    check_forward(fg.exp, np.exp, (7, 33), device=device)
    check_backward(fg.exp, np.exp, (7, 33), device=device)

Inputs are drawn at random (never zeros, never exactly on a kink), rounded to float32, and
the reference is evaluated in float64 on exactly those float32 values, so the only error
measured is the library's float32 arithmetic.

Error measure: |got - ref| <= atol + rtol * |ref| elementwise, where atol defaults to
0.1 * rtol * max(1, max|ref|) (a tiny norm-wise floor, so results that cancel to ~0 are not
judged by their own magnitude).  The default rtol is 1e-5 forward and 2e-5 backward, well
under the house bound of 1e-4 for float32 CPU math.
"""

import itertools
import math

import numpy as np

import forgegrad as fg

FWD_RTOL = 1e-5
BWD_RTOL = 2e-5
EPS = 1e-6  # central-difference step, applied in float64

RNG = np.random.default_rng(0)

# Shapes that are not multiples of any tile size, plus a couple of 2-D/3-D ones.
SHAPES = [(1,), (7,), (33,), (129,), (7, 33), (33, 129), (3, 7, 5)]
LARGE_SHAPES = [(513, 1031), ((1 << 20) + 3,)]


CUDA_SKIP_REASON = "no CUDA device: forgegrad.info()['cuda_available'] is False"


def cuda_available():
    return bool(fg.info()["cuda_available"])


def reseed(seed):
    global RNG
    RNG = np.random.default_rng(seed)


def rng():
    return RNG


# ----------------------------------------------------------------------------- inputs
def make_input(shape, domain=(-2.0, 2.0), avoid=(), distinct=False):
    """A random float32 array of `shape`.

    domain: (low, high), or "nonzero" (|x| in [0.5, 2], random sign), or "positive"
    ([0.1, 3]).  avoid: kink points; values within 1e-3 of one are moved 2e-3 away, so a
    central difference never straddles a kink.  distinct: all values pairwise at least
    ~1e-4 apart (for max/argmax: no ties, and no near-ties a difference step could flip).
    """
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(shape)
    n = int(np.prod(shape)) if shape else 1
    if distinct:
        low, high = domain if isinstance(domain, tuple) else (-2.0, 2.0)
        x = low + (high - low) * (RNG.permutation(n) + 0.5) / n
        x = x.reshape(shape)
    elif domain == "nonzero":
        x = RNG.uniform(0.5, 2.0, size=shape) * RNG.choice([-1.0, 1.0], size=shape)
    elif domain == "positive":
        x = RNG.uniform(0.1, 3.0, size=shape)
    else:
        low, high = domain
        x = RNG.uniform(low, high, size=shape)
    x = np.asarray(x, dtype=np.float64)
    for k in avoid:
        near = np.abs(x - k) < 1e-3
        x = np.where(near, np.where(x >= k, k + 2e-3, k - 2e-3), x)
    return x.astype(np.float32)


def _make_inputs(shapes, domain, domains, avoid, distinct):
    if domains is None:
        domains = [domain] * len(shapes)
    out = []
    for s, d in zip(shapes, domains):
        if isinstance(s, np.ndarray):
            out.append(s)
        else:
            out.append(make_input(s, d, avoid=avoid, distinct=distinct))
    return out


def to_numpy(t):
    """A Tensor's values as a numpy array (copy-free on CPU)."""
    t = t.detach()
    if t.device.type != "cpu":
        t = t.to("cpu")
    return np.asarray(t.numpy())


def as_tensor(x, device, requires_grad=False):
    return fg.tensor(x, device=device, requires_grad=requires_grad)


# ------------------------------------------------------------------------- comparison
def assert_close(got, ref, rtol=FWD_RTOL, atol=None, what="result"):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != reference {ref.shape}"
    nan_g, nan_r = np.isnan(got), np.isnan(ref)
    assert np.array_equal(nan_g, nan_r), (
        f"{what}: NaN positions differ (got {int(nan_g.sum())} NaNs, reference {int(nan_r.sum())})"
    )
    inf_r = np.isinf(ref)
    assert np.array_equal(got[inf_r], ref[inf_r]), f"{what}: infinities differ"
    fin = ~(nan_r | inf_r)
    assert np.all(np.isfinite(got[fin])), f"{what}: non-finite where the reference is finite"
    if not fin.any():
        return
    g, r = got[fin], ref[fin]
    if atol is None:
        atol = 0.1 * rtol * max(1.0, float(np.max(np.abs(r))))
    err = np.abs(g - r)
    bound = atol + rtol * np.abs(r)
    bad = err > bound
    if bad.any():
        i = int(np.argmax(err / bound))
        rel = err / np.maximum(np.abs(r), 1e-300)
        raise AssertionError(
            f"{what}: {int(bad.sum())}/{r.size} elements out of tolerance "
            f"(rtol={rtol:g}, atol={atol:g}); worst: got {g[i]!r}, reference {r[i]!r}, "
            f"abs err {err[i]:.3g}, rel err {rel[i]:.3g}"
        )


# ------------------------------------------------------------------------------ checks
def gradcheck(fn, *arrays, device="cpu", eps=1e-6, rtol=1e-6, atol=1e-7, max_checks=60):
    """fn's backward in float64 against central differences of fn itself: the arrays become
    float64 tensors that require grad, out.backward(g) for a random g, and each input's
    gradient is compared with (sum(fn(x + eps) * g) - sum(fn(x - eps) * g)) / (2 eps) at up
    to max_checks random elements (float64 differences are good to ~1e-9 of the loss)."""
    xs = [np.asarray(a, dtype=np.float64) for a in arrays]
    ts = [as_tensor(x, device, requires_grad=True) for x in xs]
    out = fn(*ts)
    g = RNG.uniform(-1.0, 1.0, size=tuple(out.shape))
    out.backward(as_tensor(g, device))

    def loss(values):
        return float(np.sum(to_numpy(fn(*[as_tensor(v, device) for v in values])) * g))

    for i, t in enumerate(ts):
        assert t.grad is not None, f"input {i}: .grad is None after backward"
        assert t.grad.dtype == fg.float64, f"input {i}: a {t.grad.dtype} gradient"
        got = to_numpy(t.grad).reshape(-1)
        n = xs[i].size
        idx = np.arange(n) if n <= max_checks else RNG.choice(n, max_checks, replace=False)
        num = np.empty(len(idx))
        for j, k in enumerate(idx):
            plus, minus = [x.copy() for x in xs], [x.copy() for x in xs]
            plus[i].reshape(-1)[k] += eps
            minus[i].reshape(-1)[k] -= eps
            num[j] = (loss(plus) - loss(minus)) / (2 * eps)
        assert_close(got[idx], num, rtol=rtol, atol=atol, what=f"float64 grad of input {i}")


def check_forward(
    fg_fn,
    np_fn,
    *shapes,
    device="cpu",
    rtol=FWD_RTOL,
    atol=None,
    domain=(-2.0, 2.0),
    domains=None,
    avoid=(),
    distinct=False,
    inputs=None,
):
    """fg_fn(*tensors) in float32 against np_fn(*arrays) in float64. Returns the output."""
    xs = inputs if inputs is not None else _make_inputs(shapes, domain, domains, avoid, distinct)
    ts = [as_tensor(x, device) for x in xs]
    out = fg_fn(*ts)
    ref = np_fn(*[x.astype(np.float64) if x.dtype == np.float32 else x for x in xs])
    ref = np.asarray(ref)
    assert isinstance(out, fg.Tensor), f"expected a Tensor, got {type(out)}"
    assert tuple(out.shape) == ref.shape, f"shape {tuple(out.shape)} != reference {ref.shape}"
    assert out.dtype == fg.float32, f"dtype {out.dtype} != float32"
    assert out.device.type == fg.device(device).type
    assert_close(to_numpy(out), ref, rtol=rtol, atol=atol, what="forward")
    return out


def numeric_grad(f, xs, i, indices, eps=EPS):
    """Central differences of the float64 scalar f(*xs) wrt xs[i] at the flat `indices`."""
    xs = [x.copy() for x in xs]
    flat = xs[i].reshape(-1)
    grad = np.zeros(len(indices))
    for k, j in enumerate(indices):
        old = flat[j]
        flat[j] = old + eps
        fp = f(*xs)
        flat[j] = old - eps
        fm = f(*xs)
        flat[j] = old
        grad[k] = (fp - fm) / (2 * eps)
    return grad


def check_backward(
    fg_fn,
    np_fn,
    *shapes,
    device="cpu",
    rtol=BWD_RTOL,
    atol=None,
    domain=(-2.0, 2.0),
    domains=None,
    avoid=(),
    distinct=False,
    inputs=None,
    wrt=None,
    max_checks=200,
    eps=EPS,
    elementwise=False,
):
    """loss = sum(fg_fn(*x) * g) for a random g; each x.grad against central differences of
    sum(np_fn(*x) * g) in float64.  `wrt`: indices of the inputs that require grad (default:
    every float32 input).  At most `max_checks` random elements per input are differenced.
    elementwise=True (one input, y_i = f(x_i)): every element is differenced at once,
    g * (f(x + eps) - f(x - eps)) / (2 eps), which is exact for such f and fast."""
    xs = inputs if inputs is not None else _make_inputs(shapes, domain, domains, avoid, distinct)
    if wrt is None:
        wrt = [i for i, x in enumerate(xs) if x.dtype == np.float32]
    x64 = [x.astype(np.float64) if x.dtype == np.float32 else x for x in xs]
    ref = np.asarray(np_fn(*x64))
    g32 = RNG.uniform(-1.0, 1.0, size=ref.shape).astype(np.float32)
    g64 = g32.astype(np.float64)
    ts = [as_tensor(x, device, requires_grad=(i in wrt)) for i, x in enumerate(xs)]
    out = fg_fn(*ts)
    assert tuple(out.shape) == ref.shape, f"shape {tuple(out.shape)} != reference {ref.shape}"
    loss = (out * as_tensor(g32, device)).sum()
    loss.backward()

    def f(*a):
        return float(np.sum(np.asarray(np_fn(*a)) * g64))

    if elementwise:
        assert len(xs) == 1 and ref.shape == xs[0].shape
        got = to_numpy(ts[0].grad) if ts[0].grad is not None else None
        assert got is not None, "input 0: .grad is None after backward"
        num = g64 * (np.asarray(np_fn(x64[0] + eps)) - np.asarray(np_fn(x64[0] - eps))) / (2 * eps)
        assert_close(got, num, rtol=rtol, atol=atol, what="grad of input 0")
        return ts

    for i in wrt:
        t = ts[i]
        assert t.grad is not None, f"input {i}: .grad is None after backward"
        got = to_numpy(t.grad)
        assert got.shape == xs[i].shape, f"input {i}: grad shape {got.shape} != {xs[i].shape}"
        n = xs[i].size
        idx = np.arange(n) if n <= max_checks else np.sort(RNG.choice(n, max_checks, replace=False))
        num = numeric_grad(f, x64, i, idx, eps)
        assert_close(got.reshape(-1)[idx], num, rtol=rtol, atol=atol, what=f"grad of input {i}")
    return ts


# ----------------------------------------------------------------- float64 references
_erf = np.vectorize(math.erf, otypes=[np.float64])


def np_gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def np_gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def np_sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def np_log_softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def np_softmax(x, axis=-1):
    return np.exp(np_log_softmax(x, axis))


def np_reduce(v, reduction):
    if reduction == "mean":
        return np.mean(v)
    if reduction == "sum":
        return np.sum(v)
    return v


# ----------------------------------------------------------------------------- loss references
def np_mse(x, y, reduction="mean"):
    return np_reduce((x - y) ** 2, reduction)


def np_l1(x, y, reduction="mean"):
    return np_reduce(np.abs(x - y), reduction)


def _np_classes_last(x):
    """Scores (C), (N, C) or (N, C, d1, ...) with the class axis moved last."""
    return x if x.ndim == 1 else np.moveaxis(x, 1, -1)


def _np_class_loss(log_probs, t, reduction, label_smoothing, weight, ignore_index):
    """PyTorch's loss for class-index targets over log-probabilities: per position
    (1 - e) w[t] (-lp[t]) + (e / C) sum_c w[c] (-lp[c]), 0 where t is ignore_index; the
    mean divides by the sum of w[t] over the positions not ignored."""
    lp = _np_classes_last(log_probs)
    C = lp.shape[-1]
    w = np.ones(C) if weight is None else np.asarray(weight, dtype=np.float64)
    t = np.asarray(t)
    kept = t != ignore_index
    classes = np.where(kept, t, 0)
    row_weights = np.where(kept, w[classes], 0.0)
    nll = -np.take_along_axis(lp, classes[..., None], -1)[..., 0]
    losses = (1.0 - label_smoothing) * row_weights * nll
    if label_smoothing:
        losses = losses + np.where(kept, label_smoothing / C * -(lp * w).sum(-1), 0.0)
    if reduction == "mean":
        return losses.sum() / row_weights.sum()
    return np_reduce(losses, reduction)


def np_cross_entropy(x, t, reduction="mean", label_smoothing=0.0, weight=None, ignore_index=-100):
    """Class indices t, or class probabilities of x's shape (the mean then counts rows)."""
    log_probs = np_log_softmax(x, axis=0 if x.ndim == 1 else 1)
    if not np.issubdtype(np.asarray(t).dtype, np.floating):
        return _np_class_loss(log_probs, t, reduction, label_smoothing, weight, ignore_index)
    lp, q = _np_classes_last(log_probs), _np_classes_last(t)
    q = (1.0 - label_smoothing) * q + label_smoothing / lp.shape[-1]
    w = 1.0 if weight is None else np.asarray(weight, dtype=np.float64)
    return np_reduce(-(lp * q * w).sum(-1), reduction)


def np_nll(x, t, reduction="mean", weight=None, ignore_index=-100):
    return _np_class_loss(x, t, reduction, 0.0, weight, ignore_index)


def np_bce(x, y, reduction="mean", weight=None):
    """Probabilities x; each log clamped at -100, as PyTorch's."""
    with np.errstate(divide="ignore"):
        losses = -(y * np.maximum(np.log(x), -100.0) + (1 - y) * np.maximum(np.log1p(-x), -100.0))
    return np_reduce(losses * (1.0 if weight is None else weight), reduction)


def np_bce_logits(x, y, reduction="mean", weight=None, pos_weight=None):
    """-(p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), p = pos_weight (1 without)."""
    softplus_minus_x = np.maximum(-x, 0.0) + np.log1p(np.exp(-np.abs(x)))  # -log sigmoid(x)
    p = 1.0 if pos_weight is None else pos_weight
    losses = p * y * softplus_minus_x + (1 - y) * (x + softplus_minus_x)
    return np_reduce(losses * (1.0 if weight is None else weight), reduction)


# ----------------------------------------------------------------------------- models and state
def model_arrays(model):
    """A model's state as numpy copies (state_dict tensors share the parameters' storage)."""
    return {k: to_numpy(v).copy() for k, v in model.state_dict().items()}


def assert_same_structure(got, want, where="obj"):
    """Structural equality with exact Python types (dict keys included); Tensors and numpy
    arrays equal bit for bit, with the same dtype and shape; floats by value and sign."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, fg.Tensor):
        assert got.dtype == want.dtype and tuple(got.shape) == tuple(want.shape), where
        assert got.device.type == "cpu", where
        np.testing.assert_array_equal(got.numpy(), want.detach().cpu().numpy(), err_msg=where)
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and got.shape == want.shape, where
        assert np.array_equal(got, want), f"{where}: values differ"
    elif isinstance(want, dict):
        assert list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
        assert [type(k) for k in got] == [type(k) for k in want], f"{where}: key types"
        for key in want:
            assert_same_structure(got[key], want[key], f"{where}[{key!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same_structure(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), where
    elif isinstance(want, float):
        assert got == want and math.copysign(1, got) == math.copysign(1, want), where
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


class EpochSnapshots(fg.Callback):
    """The weights after every epoch, by epoch number (list it before EarlyStopping, which
    may change the weights in on_train_end but not in on_epoch_end)."""

    def __init__(self):
        self.by_epoch = {}

    def on_epoch_end(self, epoch, logs, model, optimizer):
        self.by_epoch[epoch] = model_arrays(model)
        return False


def np_ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    blank=0,
    reduction="mean",
    zero_infinity=False,
):
    """The CTC loss by brute force: -log of the summed probability of every alignment (a
    label or blank per frame) that collapses (merge repeats, drop blanks) to the target.
    log_probs (T, N, C), targets padded (N, S); for a few frames and classes only."""
    losses = np.empty(log_probs.shape[1])
    for n, (frames, length) in enumerate(zip(input_lengths, target_lengths)):
        want = tuple(targets[n][:length])
        total = 0.0
        for path in itertools.product(range(log_probs.shape[2]), repeat=int(frames)):
            merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
            if tuple(c for c in merged if c != blank) == want:
                total += np.exp(sum(log_probs[t, n, c] for t, c in enumerate(path)))
        with np.errstate(divide="ignore"):
            losses[n] = -np.log(total)
    if zero_infinity:
        losses = np.where(np.isinf(losses), 0.0, losses)
    if reduction == "mean":
        return np.mean(losses / np.maximum(np.asarray(target_lengths, dtype=np.float64), 1.0))
    return np_reduce(losses, reduction)


# ------------------------------------------------------- special functions, float64
def _even_bernoulli(count):
    """B_2, B_4, ..., B_2count, exact (the Akiyama-Tanigawa recurrence)."""
    from fractions import Fraction

    numbers = []
    for m in range(2 * count + 1):
        row = [Fraction(1, k + 1) for k in range(m + 1)]
        for j in range(m, 0, -1):
            for k in range(j):
                row[k] = (k + 1) * (row[k] - row[k + 1])
        if m >= 2 and m % 2 == 0:
            numbers.append(row[0])
    return numbers


_BERNOULLI = _even_bernoulli(10)


def _polygamma_scalar(n, x):
    # psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! / x^(n+1) up to x >= 40 (negative x too: no
    # reflection), then the asymptotic series, far past double precision there
    if x <= 0 and x == math.floor(x):
        return math.nan if n == 0 and x < 0 else math.copysign(math.inf, (-1) ** (n + 1))
    shift = []
    while x < 40:
        shift.append(-1 / x if n == 0 else -((-1) ** n) * math.factorial(n) / x ** (n + 1))
        x += 1
    if n == 0:
        series = [math.log(x), -0.5 / x] + [
            -float(b) / (2 * k * x ** (2 * k)) for k, b in enumerate(_BERNOULLI, 1)
        ]
    else:
        sign = (-1) ** (n + 1)
        series = [
            sign * math.factorial(n - 1) / x**n,
            sign * math.factorial(n) / (2 * x ** (n + 1)),
        ]
        series += [
            sign
            * float(b)
            * math.factorial(2 * k + n - 1)
            / math.factorial(2 * k)
            / x ** (2 * k + n)
            for k, b in enumerate(_BERNOULLI, 1)
        ]
    return math.fsum(shift + series)


def np_polygamma(n, x):
    """digamma's n-th derivative (n = 0: digamma), elementwise in float64."""
    return np.vectorize(lambda v: _polygamma_scalar(n, float(v)), otypes=[np.float64])(x)


def np_digamma(x):
    return np_polygamma(0, x)


def _erfinv_scalar(x):
    # bisection on erf (on erfc past 0.5, where 1 - |x| is exact): 200 halvings of [0, 27],
    # then Newton steps, which tiny |x| (below the halvings' resolution) needs
    a = abs(x)
    if a >= 1 or math.isnan(a):
        return math.copysign(math.inf, x) if a == 1 else math.nan
    excess = (lambda y: math.erf(y) - a) if a <= 0.5 else (lambda y: (1 - a) - math.erfc(y))
    low, high = 0.0, 27.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if excess(mid) < 0 else (low, mid)
    y = 0.5 * (low + high)
    for _ in range(3):
        y -= excess(y) / (2 / math.sqrt(math.pi) * math.exp(-y * y))
    return math.copysign(y, x)


def np_erfinv(x):
    """The inverse of erf, elementwise in float64."""
    return np.vectorize(_erfinv_scalar, otypes=[np.float64])(x)


def np_histc(x, bins=100, min=0.0, max=0.0):
    """PyTorch's histc: bins equal bins over [min, max] (min == max: the data's range, widened
    by 1 each way when that is one value), the last bin closed, values outside not counted."""
    low, high = (x.min(), x.max()) if min == max and x.size else (min, max)
    if low == high:
        low, high = low - 1, high + 1
    return np.histogram(x, bins=bins, range=(low, high))[0].astype(np.float64)
