"""Generators and sampling: forgegrad.Generator streams, randint, randperm, multinomial, normal,
bernoulli, poisson, the in-place fills, and the deterministic creation functions (linspace,
logspace, eye, the *_like family). Statistical checks are seeded, so they are deterministic;
their bounds are many standard errors wide."""

import math

import numpy as np
import pytest

import forgegrad as fg

from helpers import to_numpy

# One draw of each sampler, from a generator: (name, function of (generator, device)).
SAMPLERS = [
    ("rand", lambda g, d: fg.rand(5, 3, generator=g, device=d)),
    ("randn", lambda g, d: fg.randn(7, generator=g, device=d)),
    ("rand_like", lambda g, d: fg.rand_like(fg.zeros(6, device=d), generator=g)),
    ("randn_like", lambda g, d: fg.randn_like(fg.zeros(6, device=d), generator=g)),
    ("randint", lambda g, d: fg.randint(3, 1000, (9,), generator=g, device=d)),
    ("randint_like", lambda g, d: fg.randint_like(fg.zeros(9, device=d), 1000, generator=g)),
    ("randperm", lambda g, d: fg.randperm(50, generator=g, device=d)),
    ("multinomial", lambda g, d: fg.multinomial(fg.ones(2, 40, device=d), 5, generator=g)),
    (
        "multinomial_replacement",
        lambda g, d: fg.multinomial(fg.ones(40, device=d), 9, True, generator=g),
    ),
    ("normal", lambda g, d: fg.normal(fg.zeros(8, device=d), fg.ones(8, device=d), generator=g)),
    ("normal_numbers", lambda g, d: fg.normal(2.0, 3.0, (8,), generator=g, device=d)),
    ("bernoulli", lambda g, d: fg.bernoulli(fg.full((64,), 0.5, device=d), generator=g)),
    ("poisson", lambda g, d: fg.poisson(fg.full((16,), 30.0, device=d), generator=g)),
    ("uniform_", lambda g, d: fg.empty(8, device=d).uniform_(-1, 1, generator=g)),
    ("normal_", lambda g, d: fg.empty(8, device=d).normal_(generator=g)),
    ("exponential_", lambda g, d: fg.empty(8, device=d).exponential_(generator=g)),
    ("bernoulli_", lambda g, d: fg.empty(64, device=d).bernoulli_(0.5, generator=g)),
    ("geometric_", lambda g, d: fg.empty(16, device=d).geometric_(0.2, generator=g)),
    ("random_", lambda g, d: fg.empty(8, dtype=fg.int64, device=d).random_(generator=g)),
]
SAMPLER_IDS = [name for name, _ in SAMPLERS]


def draw(sampler, seed, device="cpu"):
    generator = fg.Generator(device=device).manual_seed(seed)
    return to_numpy(sampler(generator, device))


# ------------------------------------------------------------------------------ generators
@pytest.mark.parametrize("name, sampler", SAMPLERS, ids=SAMPLER_IDS)
def test_generator_seed_reproduces_and_leaves_global_stream_alone(name, sampler):
    fg.manual_seed(11)
    before = fg.get_rng_state()
    first = draw(sampler, 1234)
    np.testing.assert_array_equal(draw(sampler, 1234), first)
    assert not np.array_equal(draw(sampler, 4321), first), name
    np.testing.assert_array_equal(fg.get_rng_state().numpy(), before.numpy())


@pytest.mark.parametrize("name, sampler", SAMPLERS, ids=SAMPLER_IDS)
def test_global_stream_reproduces_without_generator(name, sampler):
    fg.manual_seed(5)
    first = to_numpy(sampler(None, "cpu"))
    fg.manual_seed(5)
    np.testing.assert_array_equal(to_numpy(sampler(None, "cpu")), first)


@pytest.mark.parametrize("name, sampler", SAMPLERS, ids=SAMPLER_IDS)
def test_same_numbers_on_every_device(name, sampler, device):
    # normal draws agree to float rounding (the device's log, sin, cos); the rest exactly
    on_device, on_cpu = draw(sampler, 99, device), draw(sampler, 99, "cpu")
    np.testing.assert_allclose(on_device, on_cpu, rtol=1e-5, atol=1e-6)


def test_generator_stream_is_independent_of_global_draws():
    g = fg.Generator().manual_seed(3)
    a = fg.rand(10, generator=g).numpy()
    b = fg.randn(10, generator=g).numpy()
    g.manual_seed(3)
    fg.manual_seed(0)
    a2 = fg.rand(10, generator=g).numpy()
    fg.rand(1000)  # global draws in between move only the global stream
    fg.randn(33)
    np.testing.assert_array_equal(a2, a)
    np.testing.assert_array_equal(fg.randn(10, generator=g).numpy(), b)


def test_generator_state_round_trip_and_initial_seed():
    g = fg.Generator()
    assert g.manual_seed(2**64 + 7) is g and g.initial_seed() == 7  # reduced to 64 bits
    fg.rand(3, generator=g)
    state = g.get_state()
    assert state.dtype == fg.int64 and state.shape == (2,)
    want = fg.rand(20, generator=g).numpy()
    fg.rand(5, generator=g)
    assert g.set_state(state) is g
    np.testing.assert_array_equal(fg.rand(20, generator=g).numpy(), want)
    fresh = g.seed()
    assert isinstance(fresh, int) and 0 <= fresh < 2**64 and g.initial_seed() == fresh


def test_default_generator_is_the_global_stream():
    fg.manual_seed(77)
    assert fg.default_generator.initial_seed() == 77 == fg.initial_seed()
    want = fg.rand(6).numpy()
    fg.default_generator.manual_seed(77)
    np.testing.assert_array_equal(fg.rand(6).numpy(), want)
    np.testing.assert_array_equal(
        fg.default_generator.get_state().numpy(), fg.get_rng_state().numpy()
    )
    # a new Generator starts where the global stream starts without manual_seed
    assert fg.Generator().initial_seed() == 0x5EED
    fresh = fg.seed()
    assert fg.initial_seed() == fresh


def test_generator_errors():
    with pytest.raises(TypeError, match="rand"):
        fg.rand(3, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="'cuda' one"):
        fg.rand(3, generator=fg.Generator(device="cuda"))
    with pytest.raises(TypeError, match="manual_seed"):
        fg.Generator().manual_seed(1.5)
    with pytest.raises(ValueError, match="set_state"):
        fg.Generator().set_state(fg.zeros(2))
    with pytest.raises(TypeError, match="set_state"):
        fg.Generator().set_state([1, 2])


# ------------------------------------------------------------------------ creation functions
@pytest.mark.parametrize(
    "start, end, steps", [(0, 1, 5), (-3.5, 7, 33), (2, -2, 4), (1, 1, 3), (0, 10, 1), (0, 10, 0)]
)
def test_linspace_and_logspace_match_numpy(start, end, steps, device):
    x = fg.linspace(start, end, steps, device=device)
    assert x.dtype == fg.float32 and x.shape == (steps,)
    np.testing.assert_allclose(to_numpy(x), np.linspace(start, end, steps), rtol=1e-6, atol=1e-6)
    y = fg.logspace(start, end, steps, base=2.0, dtype=fg.float64, device=device)
    np.testing.assert_allclose(to_numpy(y), np.logspace(start, end, steps, base=2.0), rtol=1e-12)


def test_linspace_ends_exact_integers_truncate_tensors_as_bounds():
    x = fg.linspace(0.1, 0.7, 7, dtype=fg.float64).numpy()
    assert x[0] == 0.1 and x[-1] == 0.7
    assert fg.linspace(0, 10, 4, dtype=fg.int64).tolist() == [0, 3, 6, 10]
    assert fg.linspace(fg.tensor(0.0), fg.tensor(1.0), 3).tolist() == [0.0, 0.5, 1.0]
    assert fg.logspace(0, 2, 3).tolist() == [1.0, 10.0, 100.0]
    assert fg.linspace(0, 1, 3, requires_grad=True).requires_grad


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: fg.linspace(0, 1, -1), ValueError),
        (lambda: fg.linspace(0, 1, 2.5), TypeError),
        (lambda: fg.linspace("a", 1, 2), TypeError),
        (lambda: fg.linspace(fg.ones(2), 1, 2), ValueError),
        (lambda: fg.eye(-1), ValueError),
        (lambda: fg.eye(2, 1.5), TypeError),
    ],
)
def test_creation_errors(call, error):
    with pytest.raises(error):
        call()


def test_eye(device):
    np.testing.assert_array_equal(to_numpy(fg.eye(3, device=device)), np.eye(3))
    np.testing.assert_array_equal(to_numpy(fg.eye(2, 5, dtype=fg.int64)), np.eye(2, 5))
    assert fg.eye(0).shape == (0, 0) and fg.eye(2, dtype=fg.bool).dtype == fg.bool


def test_like_functions_take_shape_dtype_device(device):
    x = fg.zeros(3, 4, dtype=fg.float64, device=device)
    for like in (fg.empty_like(x), fg.full_like(x, 2.5), fg.rand_like(x), fg.randn_like(x)):
        assert like.shape == (3, 4) and like.dtype == fg.float64
        assert like.device.type == x.device.type
    assert fg.full_like(x, 2.5).tolist() == [[2.5] * 4] * 3
    assert fg.full_like(fg.zeros(2, dtype=fg.int64), 3.7).tolist() == [3, 3]
    assert fg.empty_like(x, dtype=fg.int32).dtype == fg.int32
    assert fg.rand_like(x, dtype=fg.float32).dtype == fg.float32
    assert fg.full_like(x, 1, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="rand_like"):
        fg.rand_like(fg.zeros(2, dtype=fg.int64))
    with pytest.raises(TypeError, match="full_like"):
        fg.full_like(np.zeros(2), 1)


# ------------------------------------------------------------------------------------ randint
def chi_square(counts, expected):
    return float(((counts - expected) ** 2 / expected).sum())


def test_randint_is_uniform_on_its_range():
    g = fg.Generator().manual_seed(0)
    x = fg.randint(-3, 7, (100_000,), generator=g)
    assert x.dtype == fg.int64
    values = x.numpy()
    assert values.min() == -3 and values.max() == 6
    counts = np.bincount(values + 3, minlength=10)
    # 9 degrees of freedom: the 1e-6 tail of chi-square(9) lies near 45
    assert chi_square(counts, 10_000) < 45


def test_randint_overloads_dtypes_and_the_whole_int64_range():
    fg.manual_seed(1)
    assert fg.randint(5, (3, 2)).shape == (3, 2)
    assert set(fg.randint(5, size=(1000,)).numpy().tolist()) == {0, 1, 2, 3, 4}
    assert fg.randint(low=2, high=4, size=(50,)).numpy().min() == 2
    assert fg.randint(0, 256, (10,), dtype=fg.uint8).dtype == fg.uint8
    assert fg.randint(0, 10, (4,), dtype=fg.float32).dtype == fg.float32
    wide = fg.randint(-(2**63), 2**63 - 1, (1000,)).numpy()
    assert (wide < -(2**61)).any() and (wide > 2**61).any()
    like = fg.randint_like(fg.zeros(4, 5), 3, 9)
    assert like.dtype == fg.float32 and like.shape == (4, 5)
    assert set(like.numpy().ravel().tolist()) <= set(range(3, 9))


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: fg.randint(5, 5, (3,)), ValueError),
        (lambda: fg.randint(5, 2, (3,)), ValueError),
        (lambda: fg.randint(0, 300, (3,), dtype=fg.uint8), ValueError),
        (lambda: fg.randint(0.5, 3, (2,)), TypeError),
        (lambda: fg.randint(3), TypeError),
        (lambda: fg.randint(0, 2**63 + 1, (2,)), ValueError),
        (lambda: fg.randperm(-1), ValueError),
        (lambda: fg.randperm(2.0), TypeError),
    ],
)
def test_randint_randperm_errors(call, error):
    with pytest.raises(error, match="randint|randperm"):
        call()


# ----------------------------------------------------------------------------------- randperm
def test_randperm_is_a_uniform_permutation():
    assert fg.randperm(0).shape == (0,) and fg.randperm(1).tolist() == [0]
    g = fg.Generator().manual_seed(2)
    p = fg.randperm(1000, generator=g)
    assert p.dtype == fg.int64 and sorted(p.numpy().tolist()) == list(range(1000))
    # where 0 lands, over many permutations of 6: uniform over the 6 places
    places = np.array(
        [int(np.argmax(fg.randperm(6, generator=g).numpy() == 0)) for _ in range(6000)]
    )
    assert chi_square(np.bincount(places, minlength=6), 1000) < 36  # 5 dof, far tail
    assert fg.randperm(5, dtype=fg.float32).dtype == fg.float32


# -------------------------------------------------------------------------------- multinomial
def test_multinomial_with_replacement_follows_the_weights(device):
    weights = np.array([1.0, 0.0, 3.0, 6.0])
    g = fg.Generator(device=device).manual_seed(4)
    x = fg.multinomial(fg.tensor(weights, device=device), 60_000, True, generator=g)
    assert x.dtype == fg.int64 and x.shape == (60_000,) and x.device.type == device
    counts = np.bincount(to_numpy(x), minlength=4)
    assert counts[1] == 0
    expected = 60_000 * weights / weights.sum()
    assert chi_square(counts[[0, 2, 3]], expected[[0, 2, 3]]) < 30  # 2 dof, far tail


def test_multinomial_without_replacement_rows():
    g = fg.Generator().manual_seed(5)
    probs = fg.tensor([[0.1, 0.2, 0.7, 0.0], [1.0, 1.0, 1.0, 1.0]])
    x = fg.multinomial(probs, 3, generator=g).numpy()
    assert x.shape == (2, 3)
    assert 3 not in x[0] and len(set(x[0])) == 3 and len(set(x[1])) == 3
    # the first draw of a row without replacement is a draw by the weights
    firsts = np.array([fg.multinomial(probs[0], 2, generator=g).numpy()[0] for _ in range(4000)])
    counts = np.bincount(firsts, minlength=4)
    assert counts[3] == 0
    assert chi_square(counts[:3], 4000 * np.array([0.1, 0.2, 0.7])) < 30
    assert fg.Tensor.multinomial(probs, 1).shape == (2, 1)
    # as PyTorch: zero weights are drawn once the others are used up
    assert fg.multinomial(fg.tensor([0.0, 1.0, 0.0]), 3, generator=g).tolist() == [1, 0, 2]


@pytest.mark.parametrize(
    "probs, n, replacement, match",
    [
        ([0.0, 0.0], 1, False, "sums to 0"),
        ([1.0, -1.0], 1, True, "nonnegative"),
        ([1.0, float("nan")], 1, True, "nonnegative"),
        ([1.0, float("inf")], 1, True, "nonnegative"),
        ([1.0, 1.0], 3, False, "without replacement"),
        ([1.0, 1.0], 0, True, "num_samples > 0"),
        ([[[1.0]]], 1, True, "1-d or 2-d"),
    ],
)
def test_multinomial_errors(probs, n, replacement, match):
    with pytest.raises(ValueError, match=match):
        fg.multinomial(fg.tensor(probs), n, replacement)


def test_multinomial_type_errors():
    with pytest.raises(TypeError, match="floating-point"):
        fg.multinomial(fg.tensor([1, 2]), 1)
    with pytest.raises(TypeError, match="num_samples"):
        fg.multinomial(fg.ones(3), 1.0)


# ----------------------------------------------------------------------------------- normal
def assert_moments(values, mean, std, what):
    n = values.size
    assert abs(values.mean() - mean) < 6 * std / math.sqrt(n), what
    assert abs(values.std() / std - 1) < 0.03, what


def test_normal_overloads_have_their_moments(device):
    g = fg.Generator(device=device).manual_seed(6)
    n = 50_000
    mean, std = fg.full((n,), 2.0, device=device), fg.full((n,), 3.0, device=device)
    assert_moments(to_numpy(fg.normal(mean, std, generator=g)), 2.0, 3.0, "tensor, tensor")
    assert_moments(to_numpy(fg.normal(mean, 0.5, generator=g)), 2.0, 0.5, "tensor, float")
    assert_moments(to_numpy(fg.normal(-1.0, std, generator=g)), -1.0, 3.0, "float, tensor")
    x = fg.normal(4.0, 2.0, (n,), generator=g, device=device)
    assert x.dtype == fg.float32
    assert_moments(to_numpy(x), 4.0, 2.0, "float, float, size")


def test_normal_shapes_dtypes_and_errors():
    assert fg.normal(fg.zeros(2, 1), fg.ones(3)).shape == (2, 3)
    assert fg.normal(fg.zeros(2, dtype=fg.float64), 1.0).dtype == fg.float64
    assert fg.normal(0.0, 1.0, size=(2, 3), dtype=fg.float64).dtype == fg.float64
    assert fg.normal(0, 1, (4,), requires_grad=True).requires_grad
    m = fg.zeros(3, requires_grad=True)
    assert not fg.normal(m, 1.0).requires_grad  # draws have no gradient
    with pytest.raises(ValueError, match="std >= 0"):
        fg.normal(0.0, fg.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="std >= 0"):
        fg.normal(0.0, -1.0, (2,))
    with pytest.raises(TypeError, match="expected size"):
        fg.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="floating-point"):
        fg.normal(fg.zeros(2, dtype=fg.int64), 1.0)
    with pytest.raises(TypeError, match="size"):
        fg.normal(fg.zeros(2), 1.0, (2,))
    with pytest.raises(ValueError, match="broadcast"):
        fg.normal(fg.zeros(2), fg.ones(3))


# -------------------------------------------------------------------------- bernoulli, poisson
def test_bernoulli_rates_and_dtype(device):
    g = fg.Generator(device=device).manual_seed(7)
    probs = np.linspace(0.0, 1.0, 11)
    p = fg.tensor(np.repeat(probs[None], 20_000, axis=0), dtype=fg.float64, device=device)
    x = fg.bernoulli(p, generator=g)
    assert x.dtype == fg.float64 and x.shape == p.shape
    rates = to_numpy(x).mean(axis=0)
    assert rates[0] == 0 and rates[-1] == 1
    assert (np.abs(rates - probs) < 6 * np.sqrt(probs * (1 - probs) / 20_000) + 1e-12).all()
    y = fg.bernoulli(fg.zeros(50_000, device=device), 0.25, generator=g)
    assert abs(to_numpy(y).mean() - 0.25) < 0.01
    assert fg.Tensor.bernoulli(fg.ones(3)).tolist() == [1.0, 1.0, 1.0]


def test_bernoulli_errors():
    with pytest.raises(ValueError, match="bernoulli"):
        fg.bernoulli(fg.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="bernoulli"):
        fg.bernoulli(fg.zeros(2), 1.5)
    with pytest.raises(TypeError, match="bernoulli"):
        fg.bernoulli(fg.tensor([1, 0]))


@pytest.mark.parametrize("rate", [0.3, 4.0, 9.9, 10.0, 250.0, 1e5])
def test_poisson_mean_and_variance(rate, device):
    g = fg.Generator(device=device).manual_seed(8)
    n = 20_000
    x = fg.poisson(fg.full((n,), rate, device=device), generator=g)
    assert x.dtype == fg.float32
    values = to_numpy(x).astype(np.float64)
    assert (values == np.round(values)).all() and values.min() >= 0
    assert abs(values.mean() - rate) < 6 * math.sqrt(rate / n)
    assert abs(values.var() / rate - 1) < 0.06


def test_poisson_small_rates_distribution_and_errors():
    g = fg.Generator().manual_seed(9)
    x = fg.poisson(fg.full((40_000,), 1.5, dtype=fg.float64), generator=g)
    assert x.dtype == fg.float64
    counts = np.bincount(x.numpy().astype(np.int64), minlength=12)[:8]
    pmf = np.array([math.exp(-1.5) * 1.5**k / math.factorial(k) for k in range(8)])
    assert chi_square(counts, 40_000 * pmf) < 45  # 7 dof, far tail
    assert fg.poisson(fg.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    for bad in ([-1.0], [float("nan")], [float("inf")]):
        with pytest.raises(ValueError, match="poisson"):
            fg.poisson(fg.tensor(bad))
    with pytest.raises(TypeError, match="poisson"):
        fg.poisson(fg.tensor([1, 2]))


# ------------------------------------------------------------------------------ in-place fills
def test_in_place_fills_have_their_distributions(device):
    g = fg.Generator(device=device).manual_seed(10)
    n = 50_000
    x = fg.empty(n, device=device)
    assert x.uniform_(-2, 3, generator=g) is x
    values = to_numpy(x)
    assert values.min() >= -2 and values.max() < 3
    assert abs(values.mean() - 0.5) < 0.05
    assert_moments(to_numpy(x.normal_(1.0, 2.0, generator=g)), 1.0, 2.0, "normal_")
    assert_moments(to_numpy(x.exponential_(4.0, generator=g)), 0.25, 0.25, "exponential_")
    assert abs(to_numpy(x.bernoulli_(0.3, generator=g)).mean() - 0.3) < 0.01
    geometric = to_numpy(x.geometric_(0.25, generator=g))
    assert geometric.min() == 1 and (geometric == np.round(geometric)).all()
    assert abs(geometric.mean() - 4.0) < 0.1  # mean 1/p, std sqrt(1 - p)/p
    assert set(to_numpy(x.random_(3, 6, generator=g)).tolist()) == {3.0, 4.0, 5.0}


def test_in_place_fills_dtypes():
    ints = fg.zeros(1000, dtype=fg.int64)
    assert set(ints.bernoulli_(0.5).tolist()) == {0, 1} and ints.dtype == fg.int64
    assert set(ints.random_(4).tolist()) == {0, 1, 2, 3}
    assert ints.random_().numpy().max() > 2**60  # [0, int64's max]
    assert fg.zeros(10, dtype=fg.bool).random_().dtype == fg.bool
    assert fg.zeros(500, dtype=fg.int32).geometric_(0.5).numpy().min() == 1
    floats = fg.zeros(2000, dtype=fg.float64).random_()
    assert floats.numpy().max() > 2**40 and (floats.numpy() <= 2**53).all()
    mask = fg.zeros(2, 3).bernoulli_(fg.tensor([0.0, 1.0, 1.0]))
    assert mask.tolist() == [[0.0, 1.0, 1.0]] * 2


@pytest.mark.parametrize("fill", ["uniform_", "normal_", "exponential_"])
def test_real_fills_refuse_integer_tensors(fill):
    x = fg.zeros(3, dtype=fg.int64)
    with pytest.raises(TypeError, match=fill):
        getattr(x, fill)()
    assert x.tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    "fill, args",
    [
        ("uniform_", ()),
        ("normal_", ()),
        ("exponential_", ()),
        ("bernoulli_", ()),
        ("geometric_", (0.5,)),
        ("random_", ()),
    ],
)
def test_in_place_fills_refuse_leaves_that_require_grad(fill, args):
    x = fg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(x, fill)(*args)
    with fg.no_grad():
        getattr(x, fill)(*args)  # as nn.init does


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda x: x.uniform_(2, 1), ValueError),
        (lambda x: x.normal_(0, -1), ValueError),
        (lambda x: x.exponential_(0), ValueError),
        (lambda x: x.exponential_(-1), ValueError),
        (lambda x: x.bernoulli_(1.5), ValueError),
        (lambda x: x.bernoulli_(fg.zeros(2, 3)), ValueError),
        (lambda x: x.geometric_(0), ValueError),
        (lambda x: x.geometric_(1.5), ValueError),
        (lambda x: x.random_(5, 2), ValueError),
        (lambda x: x.uniform_("a"), TypeError),
    ],
)
def test_in_place_fill_errors_leave_the_tensor(call, error):
    x = fg.full((3,), 7.0)
    with pytest.raises(error):
        call(x)
    assert x.tolist() == [7.0, 7.0, 7.0]
