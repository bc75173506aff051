"""nn.RNN / LSTM / GRU and their cells against step-by-step float64 numpy references (a loop
over each sequence's own steps, not the kernels' batched, masked algorithm): layers,
directions, batch_first, initial states, unbatched input, packed sequences of unequal
lengths, dropout; backward by finite differences in float64 through the input, h0, c0 and
every weight; PyTorch's parameter names; pack_padded_sequence / pad_packed_sequence; errors."""

import math

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
from forgegrad.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    unpack_sequence,
)
from helpers import as_tensor, assert_close, gradcheck, to_numpy

RNG = np.random.default_rng(1616)

LAYERS = {
    "rnn_tanh": lambda *a, **k: nn.RNN(*a, **k),
    "rnn_relu": lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k),
    "lstm": nn.LSTM,
    "gru": nn.GRU,
}
CELLS = {
    "rnn_tanh": lambda *a, **k: nn.RNNCell(*a, **k),
    "rnn_relu": lambda *a, **k: nn.RNNCell(*a, nonlinearity="relu", **k),
    "lstm": nn.LSTMCell,
    "gru": nn.GRUCell,
}


# ---- the float64 reference ---------------------------------------------------------------


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    """One step of one sequence: x (I), h (H, or P with LSTM's projection w_hr (P, H)), c (H)
    -> (h', c'), PyTorch's documented math."""
    gi = w_ih @ x + (0 if b_ih is None else b_ih)
    gh = w_hh @ h + (0 if b_hh is None else b_hh)
    if mode == "rnn_tanh":
        return np.tanh(gi + gh), None
    if mode == "rnn_relu":
        return np.maximum(gi + gh, 0.0), None
    H = w_hh.shape[0] // (4 if mode == "lstm" else 3)
    if mode == "lstm":
        i, f = np_sigmoid(gi[:H] + gh[:H]), np_sigmoid(gi[H : 2 * H] + gh[H : 2 * H])
        g, o = np.tanh(gi[2 * H : 3 * H] + gh[2 * H : 3 * H]), np_sigmoid(gi[3 * H :] + gh[3 * H :])
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        return (h_new if w_hr is None else w_hr @ h_new), c_new
    r, z = np_sigmoid(gi[:H] + gh[:H]), np_sigmoid(gi[H : 2 * H] + gh[H : 2 * H])
    n = np.tanh(gi[2 * H :] + r * gh[2 * H :])
    return (1 - z) * n + z * h, None


def np_rnn(mode, x, params, num_layers, bidirectional, h0, c0, lengths=None):
    """x (T, B, I) -> output (T, B, D H), h_n (L D, B, H), c_n (L D, B, C): each sequence b
    run alone over its first lengths[b] steps (forward, or from its last step back), output
    0 after; H the state's width (LSTM's proj_size when params hold weight_hr)."""
    T, B, _ = x.shape
    D = 2 if bidirectional else 1
    H = h0.shape[-1]
    lengths = [T] * B if lengths is None else list(lengths)
    h_n, c_n = np.zeros_like(h0), (None if c0 is None else np.zeros_like(c0))
    layer_input = x
    for layer in range(num_layers):
        out = np.zeros((T, B, D * H))
        for d in range(D):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            w = [
                params.get(name + suffix)
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
            ]
            k = layer * D + d
            for b in range(B):
                h, c = h0[k, b], (None if c0 is None else c0[k, b])
                steps = range(lengths[b]) if d == 0 else reversed(range(lengths[b]))
                for t in steps:
                    h, c = np_step(mode, layer_input[t, b], h, c, *w)
                    out[t, b, d * H : (d + 1) * H] = h
                h_n[k, b] = h
                if c is not None:
                    c_n[k, b] = c
        layer_input = out
    return layer_input, h_n, (c_n if mode == "lstm" else None)


def np_params(module):
    return {name: to_numpy(p).astype(np.float64) for name, p in module.named_parameters()}


def make_layer(mode, *args, device="cpu", dtype=fg.float64, **kwargs):
    return LAYERS[mode](*args, device=device, dtype=dtype, **kwargs)


def states(mode, shape, device):
    h0 = RNG.standard_normal(shape)
    c0 = RNG.standard_normal(shape) if mode == "lstm" else None
    hx = (as_tensor(h0, device), as_tensor(c0, device)) if mode == "lstm" else as_tensor(h0, device)
    return h0, c0, hx


def split_result(mode, result):
    out, hx = result
    return (out, hx[0], hx[1]) if mode == "lstm" else (out, hx, None)


# ---- forward ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(LAYERS))
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (2, True)])
@pytest.mark.parametrize("given_states", [False, True])
def test_layer_matches_the_step_by_step_reference(
    device, mode, num_layers, bidirectional, given_states
):
    T, B, I, H = 5, 3, 4, 6
    layer = make_layer(mode, I, H, num_layers, bidirectional=bidirectional, device=device)
    x = RNG.standard_normal((T, B, I))
    shape = (num_layers * (2 if bidirectional else 1), B, H)
    h0, c0, hx = states(mode, shape, device)
    if not given_states:
        h0, c0, hx = np.zeros(shape), (np.zeros(shape) if mode == "lstm" else None), None
    out, h_n, c_n = split_result(mode, layer(as_tensor(x, device), hx))
    ref_out, ref_h, ref_c = np_rnn(mode, x, np_params(layer), num_layers, bidirectional, h0, c0)
    assert_close(to_numpy(out), ref_out, rtol=1e-12, what="output")
    assert_close(to_numpy(h_n), ref_h, rtol=1e-12, what="h_n")
    if mode == "lstm":
        assert_close(to_numpy(c_n), ref_c, rtol=1e-12, what="c_n")


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_float32_layer_is_close_to_float64(device, mode):
    # float32 gate math and GEMMs over 9 steps: relative error ~1e-6, bounded at 1e-5
    layer = make_layer(mode, 7, 33, 2, bidirectional=True, device=device, dtype=fg.float32)
    x = RNG.standard_normal((9, 4, 7)).astype(np.float32)
    out, h_n, _ = split_result(mode, layer(as_tensor(x, device)))
    zeros = np.zeros((4, 4, 33))
    ref_out, ref_h, _ = np_rnn(
        mode,
        x.astype(np.float64),
        np_params(layer),
        2,
        True,
        zeros,
        zeros if mode == "lstm" else None,
    )
    assert out.dtype == fg.float32
    assert_close(to_numpy(out), ref_out, rtol=1e-5, atol=1e-6, what="output")
    assert_close(to_numpy(h_n), ref_h, rtol=1e-5, atol=1e-6, what="h_n")


@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm", "gru"])
def test_batch_first_and_unbatched_inputs(device, mode):
    layer = make_layer(mode, 3, 4, 2, bidirectional=True, device=device)
    x = RNG.standard_normal((2, 5, 3))  # (B, T, I)
    batch_first = make_layer(mode, 3, 4, 2, bidirectional=True, batch_first=True, device=device)
    batch_first.load_state_dict(layer.state_dict())
    out_bf, h_bf, _ = split_result(mode, batch_first(as_tensor(x, device)))
    out, h, _ = split_result(mode, layer(as_tensor(x.transpose(1, 0, 2), device)))
    assert tuple(out_bf.shape) == (2, 5, 8)
    assert_close(to_numpy(out_bf), to_numpy(out).transpose(1, 0, 2), rtol=1e-14)
    assert_close(to_numpy(h_bf), to_numpy(h), rtol=1e-14)
    # unbatched (T, I) with states (L D, H): the batch of one, squeezed
    h0, c0, hx = states(mode, (4, 4), device)
    out1, h1, c1 = split_result(mode, layer(as_tensor(x[0], device), hx))
    ref_out, ref_h, ref_c = np_rnn(
        mode,
        x[0][:, None],
        np_params(layer),
        2,
        True,
        h0[:, None],
        None if c0 is None else c0[:, None],
    )
    assert tuple(out1.shape) == (5, 8) and tuple(h1.shape) == (4, 4)
    assert_close(to_numpy(out1), ref_out[:, 0], rtol=1e-12)
    assert_close(to_numpy(h1), ref_h[:, 0], rtol=1e-12)
    if mode == "lstm":
        assert_close(to_numpy(c1), ref_c[:, 0], rtol=1e-12)


# ---- packed sequences ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(LAYERS))
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences_of_unequal_lengths(device, mode, enforce_sorted):
    lengths = [6, 4, 4, 1] if enforce_sorted else [3, 6, 1, 4]
    T, B, I, H = 6, 4, 3, 5
    layer = make_layer(mode, I, H, 2, bidirectional=True, device=device)
    x = RNG.standard_normal((T, B, I))
    for b, n in enumerate(lengths):
        x[n:, b] = 1e3  # padding the layer must never read
    h0, c0, hx = states(mode, (4, B, H), device)
    packed = pack_padded_sequence(as_tensor(x, device), lengths, enforce_sorted=enforce_sorted)
    out, h_n, c_n = split_result(mode, layer(packed, hx))
    assert isinstance(out, PackedSequence)
    padded, out_lengths = pad_packed_sequence(out)
    assert out_lengths.tolist() == lengths
    ref_out, ref_h, ref_c = np_rnn(mode, x, np_params(layer), 2, True, h0, c0, lengths)
    assert_close(to_numpy(padded), ref_out, rtol=1e-12, what="output (0 past each length)")
    assert_close(to_numpy(h_n), ref_h, rtol=1e-12, what="h_n at each sequence's last step")
    if mode == "lstm":
        assert_close(to_numpy(c_n), ref_c, rtol=1e-12, what="c_n")


def test_pack_padded_sequence_layout_and_round_trip(device):
    x = RNG.standard_normal((4, 3, 2))  # (T, B, *)
    packed = pack_padded_sequence(as_tensor(x, device), fg.tensor([2, 4, 1]), enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 2, 1, 1]
    assert packed.sorted_indices.tolist() == [1, 0, 2]
    assert packed.unsorted_indices.tolist() == [1, 0, 2]
    want = np.stack([x[0, 1], x[0, 0], x[0, 2], x[1, 1], x[1, 0], x[2, 1], x[3, 1]])
    assert_close(to_numpy(packed.data), want, rtol=0)
    padded, lengths = pad_packed_sequence(
        packed, batch_first=True, padding_value=-7.0, total_length=5
    )
    assert lengths.tolist() == [2, 4, 1] and tuple(padded.shape) == (3, 5, 2)
    for b, n in enumerate([2, 4, 1]):
        assert_close(to_numpy(padded)[b, :n], x[:n, b], rtol=0)
        assert np.all(to_numpy(padded)[b, n:] == -7.0)


def test_pack_sequence_and_unpack_sequence_round_trip(device):
    sequences = [RNG.standard_normal((n, 3)) for n in (2, 5, 3)]
    packed = pack_sequence([as_tensor(s, device) for s in sequences], enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1, 1]
    for got, want in zip(unpack_sequence(packed), sequences):
        assert_close(to_numpy(got), want, rtol=0)


def test_packing_passes_gradients(device):
    x = as_tensor(RNG.standard_normal((3, 2, 2)), device, requires_grad=True)
    padded, _ = pad_packed_sequence(pack_padded_sequence(x, [3, 1]))
    (padded * padded).sum().backward()
    grad = 2 * to_numpy(x)
    grad[1:, 1] = 0  # the padding past the second sequence's length is not packed
    assert_close(to_numpy(x.grad), grad, rtol=1e-14)


# ---- dropout -------------------------------------------------------------------------------


def test_dropout_acts_between_layers_in_training_only(device):
    layer = make_layer("lstm", 3, 4, 2, dropout=1.0, device=device)
    x = RNG.standard_normal((5, 2, 3))
    zeros = np.zeros((2, 2, 4))
    params = np_params(layer)
    layer.eval()
    out_eval = to_numpy(layer(as_tensor(x, device))[0])
    assert_close(out_eval, np_rnn("lstm", x, params, 2, False, zeros, zeros)[0], rtol=1e-12)
    layer.train()
    # p = 1 zeroes the first layer's output: the second layer sees only zeros
    out_train = to_numpy(layer(as_tensor(x, device))[0])
    first = np_rnn(
        "lstm",
        x,
        {k: v for k, v in params.items() if k.endswith("l0")},
        1,
        False,
        zeros[:1],
        zeros[:1],
    )[0]
    second = {k.replace("l1", "l0"): v for k, v in params.items() if k.endswith("l1")}
    ref = np_rnn("lstm", np.zeros_like(first), second, 1, False, zeros[:1], zeros[:1])[0]
    assert_close(out_train, ref, rtol=1e-12)
    half = make_layer("gru", 3, 4, 2, dropout=0.5, device=device)
    a, b = (to_numpy(half(as_tensor(x, device))[0]) for _ in range(2))
    assert not np.allclose(a, b)  # a fresh mask each call
    half.eval()
    a, b = (to_numpy(half(as_tensor(x, device))[0]) for _ in range(2))
    assert np.array_equal(a, b)


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(2, 3, dropout=0.2)


# ---- cells ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(CELLS))
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_one_reference_step(device, mode, bias):
    cell = CELLS[mode](5, 7, bias=bias, device=device, dtype=fg.float64)
    p = np_params(cell)
    x = RNG.standard_normal((3, 5))
    h0, c0, hx = states(mode, (3, 7), device)
    got = cell(as_tensor(x, device), hx)
    h, c = (got[0], got[1]) if mode == "lstm" else (got, None)
    for b in range(3):
        ref_h, ref_c = np_step(
            mode,
            x[b],
            h0[b],
            None if c0 is None else c0[b],
            p["weight_ih"],
            p["weight_hh"],
            p.get("bias_ih"),
            p.get("bias_hh"),
        )
        assert_close(to_numpy(h)[b], ref_h, rtol=1e-12)
        if mode == "lstm":
            assert_close(to_numpy(c)[b], ref_c, rtol=1e-12)
    # no state: zeros; unbatched (I) -> (H)
    got = cell(as_tensor(x[0], device))
    h1 = got[0] if mode == "lstm" else got
    ref_h, _ = np_step(
        mode,
        x[0],
        np.zeros(7),
        np.zeros(7),
        p["weight_ih"],
        p["weight_hh"],
        p.get("bias_ih"),
        p.get("bias_hh"),
    )
    assert tuple(h1.shape) == (7,)
    assert_close(to_numpy(h1), ref_h, rtol=1e-12)


# ---- backward by finite differences --------------------------------------------------------


def functional(module, names, mode):
    """fn(x, h0, [c0], *weights) -> the module's outputs joined in one tensor."""

    def fn(x, *rest):
        hx = (rest[0], rest[1]) if mode == "lstm" else rest[0]
        weights = rest[2:] if mode == "lstm" else rest[1:]
        for name, w in zip(names, weights):
            module._parameters[name] = w
        result = module(x, hx)
        out, h_n, c_n = split_result(mode, result)
        if isinstance(out, PackedSequence):
            out = out.data
        parts = [out.reshape(-1), h_n.reshape(-1)] + ([c_n.reshape(-1)] if mode == "lstm" else [])
        return fg.cat(parts)

    return fn


@pytest.mark.parametrize("mode", list(LAYERS))
def test_layer_gradients_by_finite_differences(device, mode):
    layer = make_layer(mode, 3, 4, 2, bidirectional=True, device=device)
    names = [name for name, _ in layer.named_parameters()]
    weights = [to_numpy(p) for _, p in layer.named_parameters()]
    x = RNG.standard_normal((4, 2, 3))
    if mode == "rnn_relu":
        weights = [w + 0.3 for w in weights]  # keep pre-activations away from relu's kink
    h0 = RNG.standard_normal((4, 2, 4))
    states_ = [h0, RNG.standard_normal((4, 2, 4))] if mode == "lstm" else [h0]
    gradcheck(functional(layer, names, mode), x, *states_, *weights, device=device, max_checks=12)


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_packed_gradients_by_finite_differences(device, mode):
    layer = make_layer(mode, 2, 3, 1, bidirectional=True, device=device)
    names = [name for name, _ in layer.named_parameters()]
    weights = [to_numpy(p) for _, p in layer.named_parameters()]
    x = RNG.standard_normal((4, 3, 2))
    h0 = RNG.standard_normal((2, 3, 3))
    states_ = [h0, RNG.standard_normal((2, 3, 3))] if mode == "lstm" else [h0]
    run = functional(layer, names, mode)

    def fn(x, *rest):
        return run(pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False), *rest)

    gradcheck(fn, x, *states_, *weights, device=device, max_checks=12)


@pytest.mark.parametrize("mode", list(CELLS))
def test_cell_gradients_by_finite_differences(device, mode):
    cell = CELLS[mode](3, 4, device=device, dtype=fg.float64)
    names = [name for name, _ in cell.named_parameters()]
    weights = [to_numpy(p) + (0.3 if mode == "rnn_relu" else 0) for _, p in cell.named_parameters()]

    def fn(x, *rest):
        hx = (rest[0], rest[1]) if mode == "lstm" else rest[0]
        for name, w in zip(names, rest[2:] if mode == "lstm" else rest[1:]):
            cell._parameters[name] = w
        got = cell(x, hx)
        return fg.cat([got[0], got[1]]) if mode == "lstm" else got

    h = [RNG.standard_normal((2, 4)) for _ in range(2 if mode == "lstm" else 1)]
    gradcheck(fn, RNG.standard_normal((2, 3)), *h, *weights, device=device)


def test_training_reduces_a_loss():
    fg.manual_seed(0)
    layer, head = nn.LSTM(2, 8, batch_first=True), nn.Linear(8, 1)
    optimizer = fg.optim.Adam(list(layer.parameters()) + list(head.parameters()), lr=0.05)
    x = fg.tensor(RNG.standard_normal((16, 6, 2)).astype(np.float32))
    target = x.sum(dim=(1, 2)).reshape(16, 1)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        out, _ = layer(x)
        loss = ((head(out[:, -1]) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


# ---- parameters ----------------------------------------------------------------------------


def test_state_dict_keys_are_pytorchs():
    assert list(nn.LSTM(3, 4, num_layers=2, bidirectional=True).state_dict()) == [
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
        "weight_ih_l0_reverse",
        "weight_hh_l0_reverse",
        "bias_ih_l0_reverse",
        "bias_hh_l0_reverse",
        "weight_ih_l1",
        "weight_hh_l1",
        "bias_ih_l1",
        "bias_hh_l1",
        "weight_ih_l1_reverse",
        "weight_hh_l1_reverse",
        "bias_ih_l1_reverse",
        "bias_hh_l1_reverse",
    ]
    assert list(nn.GRU(3, 4, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    assert list(nn.RNN(3, 4).state_dict()) == [
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
    ]
    assert list(nn.LSTMCell(3, 4).state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert list(nn.GRUCell(3, 4, bias=False).state_dict()) == ["weight_ih", "weight_hh"]


def test_parameter_shapes_and_init_range():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    shapes = {name: tuple(p.shape) for name, p in lstm.named_parameters()}
    assert shapes["weight_ih_l0"] == (20, 3) and shapes["weight_hh_l0"] == (20, 5)
    assert shapes["weight_ih_l1_reverse"] == (20, 10) and shapes["bias_hh_l1"] == (20,)
    assert tuple(nn.GRU(3, 5).weight_ih_l0.shape) == (15, 3)
    assert tuple(nn.RNNCell(3, 5).weight_hh.shape) == (5, 5)
    bound = 1 / math.sqrt(5)
    values = np.concatenate([to_numpy(p).reshape(-1) for p in lstm.parameters()])
    assert np.all(np.abs(values) <= bound) and values.std() > bound / 3
    assert "LSTM(3, 5, num_layers=2, bidirectional=True)" in repr(lstm)


# ---- errors --------------------------------------------------------------------------------

# ---- LSTM with a projection (proj_size) ----------------------------------------------------


def proj_states(shape_h, shape_c, device):
    h0, c0 = RNG.standard_normal(shape_h), RNG.standard_normal(shape_c)
    return h0, c0, (as_tensor(h0, device), as_tensor(c0, device))


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
@pytest.mark.parametrize("given_states", [False, True])
def test_proj_lstm_matches_the_step_by_step_reference(
    device, num_layers, bidirectional, given_states
):
    T, B, IN, H, P = 4, 3, 5, 6, 3
    D = 2 if bidirectional else 1
    layer = make_layer(
        "lstm", IN, H, num_layers, bidirectional=bidirectional, proj_size=P, device=device
    )
    x = RNG.standard_normal((T, B, IN))
    h0, c0, hx = proj_states((num_layers * D, B, P), (num_layers * D, B, H), device)
    if not given_states:
        h0, c0, hx = np.zeros_like(h0), np.zeros_like(c0), None
    out, (h_n, c_n) = layer(as_tensor(x, device), hx)
    assert tuple(out.shape) == (T, B, D * P)
    assert tuple(h_n.shape) == (num_layers * D, B, P)
    assert tuple(c_n.shape) == (num_layers * D, B, H)
    ref_out, ref_h, ref_c = np_rnn("lstm", x, np_params(layer), num_layers, bidirectional, h0, c0)
    assert_close(to_numpy(out), ref_out, rtol=1e-12, what="output")
    assert_close(to_numpy(h_n), ref_h, rtol=1e-12, what="h_n")
    assert_close(to_numpy(c_n), ref_c, rtol=1e-12, what="c_n")


def test_proj_lstm_batch_first_unbatched_and_packed(device):
    T, B, IN, H, P = 5, 4, 3, 5, 2
    layer = make_layer("lstm", IN, H, 2, bidirectional=True, proj_size=P, device=device)
    params = np_params(layer)
    batch_first = make_layer(
        "lstm", IN, H, 2, bidirectional=True, proj_size=P, batch_first=True, device=device
    )
    batch_first.load_state_dict(layer.state_dict())
    x = RNG.standard_normal((T, B, IN))
    out, (h_n, _) = layer(as_tensor(x, device))
    out_bf, (h_bf, _) = batch_first(as_tensor(x.transpose(1, 0, 2), device))
    assert_close(to_numpy(out_bf), to_numpy(out).transpose(1, 0, 2), rtol=1e-14)
    assert_close(to_numpy(h_bf), to_numpy(h_n), rtol=1e-14)
    # unbatched (T, I) with states (L D, P) and (L D, H)
    h0, c0, hx = proj_states((4, P), (4, H), device)
    out1, (h1, c1) = layer(as_tensor(x[:, 0], device), hx)
    ref_out, ref_h, ref_c = np_rnn("lstm", x[:, :1], params, 2, True, h0[:, None], c0[:, None])
    assert tuple(out1.shape) == (T, 2 * P) and tuple(c1.shape) == (4, H)
    assert_close(to_numpy(out1), ref_out[:, 0], rtol=1e-12)
    assert_close(to_numpy(h1), ref_h[:, 0], rtol=1e-12)
    assert_close(to_numpy(c1), ref_c[:, 0], rtol=1e-12)
    # packed, unsorted lengths: each row keeps its projected state past its length
    lengths = [3, 5, 1, 4]
    for b, n in enumerate(lengths):
        x[n:, b] = 1e3  # padding the layer must never read
    h0, c0, hx = proj_states((4, B, P), (4, B, H), device)
    packed = pack_padded_sequence(as_tensor(x, device), lengths, enforce_sorted=False)
    out, (h_n, c_n) = layer(packed, hx)
    padded, _ = pad_packed_sequence(out)
    ref_out, ref_h, ref_c = np_rnn("lstm", x, params, 2, True, h0, c0, lengths)
    assert_close(to_numpy(padded), ref_out, rtol=1e-12, what="output (0 past each length)")
    assert_close(to_numpy(h_n), ref_h, rtol=1e-12, what="h_n")
    assert_close(to_numpy(c_n), ref_c, rtol=1e-12, what="c_n")


def test_proj_lstm_float32_is_close_to_float64(device):
    # float32 gate math and GEMMs over 6 steps: relative error ~1e-6, bounded at 1e-5
    layer = make_layer("lstm", 7, 9, 2, proj_size=4, device=device, dtype=fg.float32)
    x = RNG.standard_normal((6, 3, 7)).astype(np.float32)
    out, _ = layer(as_tensor(x, device))
    ref_out, _, _ = np_rnn(
        "lstm",
        x.astype(np.float64),
        np_params(layer),
        2,
        False,
        np.zeros((2, 3, 4)),
        np.zeros((2, 3, 9)),
    )
    assert out.dtype == fg.float32
    assert_close(to_numpy(out), ref_out, rtol=1e-5, atol=1e-6)


def test_proj_lstm_dropout_between_layers(device):
    # p = 1 zeroes the first layer's (projected) output: the second sees only zeros
    layer = make_layer("lstm", 3, 4, 2, dropout=1.0, proj_size=2, device=device)
    params = np_params(layer)
    second = {k.replace("l1", "l0"): v for k, v in params.items() if k.endswith("l1")}
    out = to_numpy(layer(as_tensor(RNG.standard_normal((4, 2, 3)), device))[0])
    ref = np_rnn(
        "lstm", np.zeros((4, 2, 2)), second, 1, False, np.zeros((1, 2, 2)), np.zeros((1, 2, 4))
    )[0]
    assert_close(out, ref, rtol=1e-12)


@pytest.mark.parametrize("packed", [False, True])
def test_proj_lstm_gradients_by_finite_differences(device, packed):
    layer = make_layer("lstm", 3, 4, 2, bidirectional=True, proj_size=2, device=device)
    names = [name for name, _ in layer.named_parameters()]
    weights = [to_numpy(p) for _, p in layer.named_parameters()]
    x = RNG.standard_normal((4, 3, 3))
    states_ = [RNG.standard_normal((4, 3, 2)), RNG.standard_normal((4, 3, 4))]
    run = functional(layer, names, "lstm")

    def fn(x, *rest):
        return run(pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False) if packed else x, *rest)

    gradcheck(fn, x, *states_, *weights, device=device, max_checks=12)


def test_proj_lstm_parameter_names_shapes_and_repr():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    shapes = {name: tuple(p.shape) for name, p in lstm.named_parameters()}
    assert list(shapes)[:5] == [
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
        "weight_hr_l0",
    ]
    assert shapes["weight_hh_l0"] == (20, 2) and shapes["weight_hr_l0"] == (2, 5)
    assert shapes["weight_ih_l1"] == (20, 4) and shapes["weight_hr_l1_reverse"] == (2, 5)
    assert len(shapes) == 20
    assert list(nn.LSTM(3, 5, bias=False, proj_size=2).state_dict()) == [
        "weight_ih_l0",
        "weight_hh_l0",
        "weight_hr_l0",
    ]
    assert [len(w) for w in lstm.all_weights] == [5, 5, 5, 5]
    bound = 1 / math.sqrt(5)
    values = np.concatenate([to_numpy(p).reshape(-1) for p in lstm.parameters()])
    assert np.all(np.abs(values) <= bound) and values.std() > bound / 3
    assert "proj_size=2" in repr(lstm)
    with pytest.raises(ValueError, match=r"\[LSTM\] expected h_0 of shape \(4, 2, 2\)"):
        lstm(fg.zeros(3, 2, 3), (fg.zeros(4, 2, 5), fg.zeros(4, 2, 5)))


def test_bad_input_errors():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"\[LSTM\] expected input whose last dimension"):
        lstm(fg.zeros(5, 2, 7))
    with pytest.raises(ValueError, match=r"\[LSTM\] expected input of 2 \(unbatched\) or 3"):
        lstm(fg.zeros(5, 2, 1, 3))
    with pytest.raises(ValueError, match=r"\[LSTM\] expected h_0 of shape \(2, 2, 4\)"):
        lstm(fg.zeros(5, 2, 3), (fg.zeros(1, 2, 4), fg.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match=r"\[LSTM\] expected hx as a tuple"):
        lstm(fg.zeros(5, 2, 3), fg.zeros(2, 2, 4))
    with pytest.raises(TypeError, match=r"\[GRU\] expected h_0 of dtype"):
        nn.GRU(3, 4)(fg.zeros(5, 2, 3), fg.zeros(1, 2, 4, dtype=fg.float64))
    with pytest.raises(
        ValueError,
        match=r"\[rnn\] expected input of shape \(T, B, input_size\) "
        r"with T > 0",
    ):
        nn.RNN(3, 4)(fg.zeros(0, 2, 3))
    with pytest.raises(TypeError, match=r"\[rnn\] expected a float32 or float64 input"):
        nn.RNN(3, 4)(fg.zeros(5, 2, 3, dtype=fg.int64))
    with pytest.raises(ValueError, match=r"\[GRUCell\] expected input of 1 \(unbatched\) or 2"):
        nn.GRUCell(3, 4)(fg.zeros(5, 2, 3))
    with pytest.raises(ValueError, match=r"\[LSTMCell\] expected hx of shape \(2, 4\)"):
        nn.LSTMCell(3, 4)(fg.zeros(2, 3), (fg.zeros(3, 4), fg.zeros(2, 4)))


def test_bad_construction_errors():
    with pytest.raises(ValueError, match=r"\[RNN\] expected nonlinearity 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"\[LSTM\] expected hidden_size an int >= 1"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match=r"\[GRU\] expected dropout a number in \[0, 1\]"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(
        ValueError,
        match=r"\[LSTM\] expected proj_size smaller than "
        r"hidden_size 4, got 4",
    ):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match=r"\[LSTM\] expected proj_size an int >= 0"):
        nn.LSTM(3, 4, proj_size=-1)
    with pytest.raises(ValueError, match=r"\[RNNBase\] proj_size is supported for LSTM only"):
        nn.RNNBase("gru", 3, 4, proj_size=2)


def test_bad_packing_errors():
    x = fg.zeros(4, 3, 2)
    with pytest.raises(ValueError, match=r"\[pack_padded_sequence\] expected lengths sorted"):
        pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(
        ValueError,
        match=r"\[pack_padded_sequence\] expected every length in "
        r"\[1, 4\]",
    ):
        pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(ValueError, match=r"\[pack_padded_sequence\] expected 3 lengths"):
        pack_padded_sequence(x, [2, 1])
    packed = pack_padded_sequence(x, [4, 2, 1])
    with pytest.raises(ValueError, match=r"\[pad_packed_sequence\] expected total_length"):
        pad_packed_sequence(packed, total_length=3)
    with pytest.raises(TypeError, match=r"\[pad_packed_sequence\] expected a PackedSequence"):
        pad_packed_sequence(x)
