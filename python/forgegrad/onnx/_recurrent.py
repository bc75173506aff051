"""Converters of the recurrent layers RNN, LSTM and GRU to ONNX's RNN, LSTM and GRU ops, one
node per layer (both directions in it). ONNX orders the gates differently: LSTM i, o, f, c
(PyTorch i, f, g, o) and GRU z, r, h (PyTorch r, z, n), so the weights are repacked per layer
as W (directions, gates * H, input), R (directions, gates * H, H) and B (directions,
2 * gates * H); GRU's linear_before_reset=1 is PyTorch's formula."""

import numpy as np

from .. import _C, creation
from ._recorder import _Traced

# ONNX's gate k is PyTorch's gate _GATE_ORDER[mode][k]; and the ONNX op of each mode
_GATE_ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn_tanh": [0], "rnn_relu": [0]}
_OP = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"}


def _packed(m, layer, directions):
    """W, R and B (None without biases) of one layer, stacked over directions, in ONNX's gate
    order."""
    order = _GATE_ORDER[m.mode]

    def reorder(tensor):
        array = tensor.detach().to("cpu").numpy()
        gates = array.reshape(len(order), m.hidden_size, *array.shape[1:])
        return gates[order].reshape(array.shape)

    per_direction = [m._layer_weights(layer, d) for d in range(directions)]
    w = np.stack([reorder(w_ih) for w_ih, _, _, _, _ in per_direction])
    r = np.stack([reorder(w_hh) for _, w_hh, _, _, _ in per_direction])
    if not m.bias:
        return w, r, None
    b = np.stack(
        [np.concatenate([reorder(b_ih), reorder(b_hh)]) for _, _, b_ih, b_hh, _ in per_direction]
    )
    return w, r, b


def _recurrent(t, m, result, input, hx=None):
    """(output, h_n) or (output, (h_n, c_n)) as the module returns them."""
    if m.proj_size:
        t.fail(f"LSTM(proj_size={m.proj_size}): ONNX's LSTM has no projection")
    if not isinstance(input, _Traced):
        t.fail(f"{type(m).__name__} on a {type(input).__name__}")
    lstm, directions = m.mode == "lstm", 2 if m.bidirectional else 1
    batched = input.dim() == 3
    x = (input.transpose(0, 1) if m.batch_first else input) if batched else input.unsqueeze(1)
    steps, batch = x.shape[:2]
    states = [] if hx is None else [t.wrap(s) for s in (hx if lstm else (hx,))]
    states = states if batched else [s.unsqueeze(1) for s in states]
    attributes = dict(
        hidden_size=m.hidden_size, direction="bidirectional" if directions == 2 else "forward"
    )
    if m.mode.startswith("rnn"):
        attributes["activations"] = ["Relu" if m.mode == "rnn_relu" else "Tanh"] * directions
    if m.mode == "gru":
        attributes["linear_before_reset"] = 1
    finals = [[] for _ in range(2 if lstm else 1)]  # h_n (and c_n), per layer
    for layer in range(m.num_layers):
        w, r, b = _packed(m, layer, directions)
        inputs = [x.name, t.constant(w), t.constant(r), "" if b is None else t.constant(b), ""]
        inputs += [s.narrow(0, layer * directions, directions).name for s in states]
        # the outputs' values give only their shapes; the module's real ones go out below
        state = creation.zeros(directions, batch, m.hidden_size, dtype=x.dtype)
        y, *last = t.ops(
            _OP[m.mode],
            inputs,
            [creation.zeros(steps, directions, batch, m.hidden_size, dtype=x.dtype)]
            + [state] * len(finals),
            **attributes,
        )
        x = y.transpose(1, 2).reshape_to(
            creation.zeros(steps, batch, directions * m.hidden_size, dtype=x.dtype), [0, 0, -1]
        )
        for kept, s in zip(finals, last):
            kept.append(s)
    output = (x.transpose(0, 1) if m.batch_first else x) if batched else x.squeeze(1)
    finals_out = []
    for kept in finals:
        s = (
            kept[0]
            if len(kept) == 1
            else t.op("Concat", [s.name for s in kept], _C.cat([s.value for s in kept], 0), axis=0)
        )
        finals_out.append(s if batched else s.squeeze(1))
    real = [result[0], *(result[1] if lstm else (result[1],))]
    for traced, value in zip([output, *finals_out], real):
        traced.value = value
    return output, (tuple(finals_out) if lstm else finals_out[0])


def converters():
    from .. import nn

    return {nn.RNN: _recurrent, nn.LSTM: _recurrent, nn.GRU: _recurrent}
