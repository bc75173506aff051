"""Recurrent layers as torch.nn's: ``RNN`` (tanh or relu), ``LSTM`` (with ``proj_size``),
``GRU`` and their ``RNNCell``, ``LSTMCell``, ``GRUCell``, with PyTorch's parameter names
(weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, weight_hr_l{k}, ``_reverse`` for
the backward direction), gate order (LSTM i, f, g, o; GRU r, z, n) and initialization, so
PyTorch's weights load. Each layer
and direction is one fused op (``_C._rnn_layer``, csrc/ops/rnn.cpp) with its own backward;
this file stacks the layers and directions, and packs and unpacks sequences."""

import math
import warnings
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from .. import _C, _errors, creation
from .._C import Tensor
from .._checks import is_int, is_real
from . import init
from ._rnn_utils import PackedSequence, _padded_sorted, _packed_rows
from .module import Module, Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
# A layer's hidden state: h (RNN, GRU) or (h, c) (LSTM).
_State = TypeVar("_State", Tensor, tuple[Tensor, Tensor])


def _check_size(value: Any, name: str, op: str, minimum: int = 1) -> None:
    if not is_int(value) or isinstance(value, bool) or value < minimum:
        raise _errors.ValueError(f"[{op}] expected {name} an int >= {minimum}, got {value!r}")


def _rnn_mode(nonlinearity: str, op: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise _errors.ValueError(
            f"[{op}] expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}"
        )
    return "rnn_" + nonlinearity


def _is_batched(input: object, features: int, batched_dims: int, op: str) -> bool:
    """Checks input: a Tensor of batched_dims dimensions, or one fewer (unbatched), whose last
    is `features`; True when batched."""
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected input as a Tensor, got {type(input).__name__}")
    if input.dim() not in (batched_dims - 1, batched_dims):
        raise _errors.ValueError(
            f"[{op}] expected input of {batched_dims - 1} (unbatched) or "
            f"{batched_dims} dimensions, got shape {tuple(input.shape)}"
        )
    _check_features(input, features, op)
    return input.dim() == batched_dims


def _check_features(input: Tensor, features: int, op: str) -> None:
    if input.shape[-1] != features:
        raise _errors.ValueError(
            f"[{op}] expected input whose last dimension is input_size "
            f"{features}, got shape {tuple(input.shape)}"
        )


def _check_state(state: object, shape: tuple[int, ...], input: Tensor, what: str, op: str) -> None:
    if not isinstance(state, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected {what} as a Tensor, got {type(state).__name__}")
    if tuple(state.shape) != tuple(shape):
        raise _errors.ValueError(
            f"[{op}] expected {what} of shape {tuple(shape)}, got {tuple(state.shape)}"
        )
    if state.dtype != input.dtype or state.device != input.device:
        raise _errors.TypeError(
            f"[{op}] expected {what} of dtype {input.dtype} on "
            f"{input.device}, got {state.dtype} on {state.device}"
        )


def _reset_in_dtype(module: "RNNBase[Any] | RNNCellBase", dtype: _C.dtype | None) -> None:
    """PyTorch's init drawn in float32 (nn.init's dtype), then cast to dtype if given."""
    module.reset_parameters()
    if dtype is not None:
        module.to(dtype=dtype)


class RNNBase(Module, Generic[_State]):
    """The stacked, optionally bidirectional recurrent layer shared by RNN, LSTM and GRU.
    Called on a Tensor it returns (output, h_n), or (output, (h_n, c_n)) for an LSTM; on a
    PackedSequence the output is packed too."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        _check_size(input_size, "input_size", op)
        _check_size(hidden_size, "hidden_size", op)
        _check_size(num_layers, "num_layers", op)
        if not is_real(dropout) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise _errors.ValueError(f"[{op}] expected dropout a number in [0, 1], got {dropout!r}")
        _check_size(proj_size, "proj_size", op, minimum=0)
        if proj_size and mode != "lstm":
            raise _errors.ValueError(
                f"[{op}] proj_size is supported for LSTM only, got "
                f"proj_size={proj_size} for mode {mode!r}"
            )
        if proj_size >= hidden_size:
            raise _errors.ValueError(
                f"[{op}] expected proj_size smaller than hidden_size {hidden_size}, got {proj_size}"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{op}: dropout={dropout} acts between layers only, so with "
                f"num_layers=1 it does nothing",
                stacklevel=2,
            )
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.proj_size = int(proj_size)
        directions = 2 if bidirectional else 1
        gates = _GATES[mode] * hidden_size
        state = self.proj_size or hidden_size  # h's width: the projection's, if any
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else state * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes: list[tuple[str, tuple[int, ...]]] = [
                    ("weight_ih", (gates, layer_input)),
                    ("weight_hh", (gates, state)),
                ]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                if self.proj_size:
                    shapes.append(("weight_hr", (self.proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(creation.empty(*shape, device=device)))
                    self._flat_weights_names.append(name + suffix)
        _reset_in_dtype(self, dtype)

    def reset_parameters(self: "RNNBase[Any] | RNNCellBase") -> None:  # the cells' too
        """PyTorch's: every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters per layer and direction: [[w_ih, w_hh, b_ih, b_hh, w_hr], ...],
        without the biases when bias=False and w_hr when proj_size=0."""
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        weights = [getattr(self, name) for name in self._flat_weights_names]
        return [weights[i : i + per] for i in range(0, len(weights), per)]

    def _layer_weights(
        self, layer: int, direction: int
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        return (
            getattr(self, "weight_ih" + suffix),
            getattr(self, "weight_hh" + suffix),
            getattr(self, "bias_ih" + suffix, None),
            getattr(self, "bias_hh" + suffix, None),
            getattr(self, "weight_hr" + suffix, None),
        )

    @overload
    def forward(self, input: Tensor, hx: _State | None = None) -> tuple[Tensor, _State]: ...
    @overload
    def forward(
        self, input: PackedSequence, hx: _State | None = None
    ) -> tuple[PackedSequence, _State]: ...

    def forward(
        self, input: Tensor | PackedSequence, hx: _State | None = None
    ) -> tuple[Tensor | PackedSequence, _State]:
        op = type(self).__name__
        sequence = input if isinstance(input, PackedSequence) else None
        if sequence is not None:
            padded, lengths_array = _padded_sorted(sequence, 0.0, None, op)
            _check_features(padded, self.input_size, op)
            x = padded
            lengths = creation.tensor(lengths_array, device=x.device)
            batched = True
        else:
            assert not isinstance(input, PackedSequence)  # for type checkers: sequence is None
            batched = _is_batched(input, self.input_size, 3, op)
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = x.transpose(0, 1)
            lengths = None
        batch = x.shape[1]
        directions = 2 if self.bidirectional else 1
        layers = self.num_layers * directions
        h0, c0 = self._initial_states(
            hx,
            x,
            (layers, batch, self.proj_size or self.hidden_size),
            (layers, batch, self.hidden_size),
            batched,
            op,
        )
        if sequence is not None and sequence.sorted_indices is not None:
            h0 = h0.index_select(1, sequence.sorted_indices)
            c0 = c0.index_select(1, sequence.sorted_indices) if c0 is not None else None
        hs, cs = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                out, h, c = _C._rnn_layer(
                    x,
                    h0[k],
                    c0[k] if c0 is not None else None,
                    *self._layer_weights(layer, direction),
                    self.mode,
                    bool(direction),
                    lengths,
                )
                outputs.append(out)
                hs.append(h)
                cs.append(c)
            x = _C.cat(outputs, 2) if directions == 2 else outputs[0]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = _C.dropout(x, self.dropout, True)
        h_n = _C.stack(hs, 0)
        c_n = _C.stack(cs, 0) if c0 is not None else None
        output: Tensor | PackedSequence
        if sequence is not None:
            rows = _packed_rows(sequence.batch_sizes.cpu().numpy(), batch)
            data = x.reshape([x.shape[0] * batch, x.shape[2]]).index_select(
                0, creation.tensor(rows, device=x.device)
            )
            output = PackedSequence(
                data, sequence.batch_sizes, sequence.sorted_indices, sequence.unsorted_indices
            )
            if sequence.unsorted_indices is not None:
                h_n = h_n.index_select(1, sequence.unsorted_indices)
                c_n = c_n.index_select(1, sequence.unsorted_indices) if c_n is not None else None
        else:
            if not batched:
                x, h_n = x.squeeze(1), h_n.squeeze(1)
                c_n = c_n.squeeze(1) if c_n is not None else None
            elif self.batch_first:
                x = x.transpose(0, 1)
            output = x
        return output, cast(_State, (h_n, c_n) if c_n is not None else h_n)

    if TYPE_CHECKING:
        __call__ = forward  # calling the layer: forward's overloads, not the first alone

    def _initial_states(
        self,
        hx: object,
        x: Tensor,
        h_shape: tuple[int, ...],
        c_shape: tuple[int, ...],
        batched: bool,
        op: str,
    ) -> tuple[Tensor, Tensor | None]:
        """(h0, c0) of h_shape and c_shape (c0 None but for LSTM): zeros when hx is None."""
        lstm = self.mode == "lstm"
        shapes = (h_shape, c_shape) if lstm else (h_shape,)
        if hx is None:
            zeros = [creation.zeros(*shape, dtype=x.dtype, device=x.device) for shape in shapes]
            return zeros[0], (zeros[1] if lstm else None)
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise _errors.TypeError(
                    f"[{op}] expected hx as a tuple (h_0, c_0), got {type(hx).__name__}"
                )
            states = list(hx)
        else:
            states = [hx]
        for i, (state, shape) in enumerate(zip(states, shapes)):
            expected = shape if batched else (shape[0], shape[2])
            _check_state(state, expected, x, ("h_0", "c_0")[i], op)
        if not batched:
            states = [state.unsqueeze(1) for state in states]
        return states[0], (states[1] if lstm else None)

    def flatten_parameters(self) -> None:
        """PyTorch's cuDNN weight-layout call; this layer reads its parameters as they are,
        so there is nothing to flatten."""

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.mode == "rnn_relu":
            text += ", nonlinearity='relu'"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        return text


class RNN(RNNBase[Tensor]):
    """h_t = nonlinearity(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), as torch.nn.RNN."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__(
            _rnn_mode(nonlinearity, "RNN"),
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase[tuple[Tensor, Tensor]]):
    """Long short-term memory, as torch.nn.LSTM; returns (output, (h_n, c_n)). With
    proj_size > 0 each step's h is projected by weight_hr_l{k} (proj_size, hidden_size):
    output and h_n have proj_size features, c_n hidden_size."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__(
            "lstm",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase[Tensor]):
    """Gated recurrent unit, as torch.nn.GRU: n = tanh(W_in x + b_in + r (W_hn h + b_hn))."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__(
            "gru",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )


class RNNCellBase(Module):
    """One step of a recurrent layer: weight_ih, weight_hh, bias_ih, bias_hh as PyTorch's."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        _check_size(input_size, "input_size", op)
        _check_size(hidden_size, "hidden_size", op)
        self.mode = mode
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        gates = _GATES[mode] * hidden_size
        self.weight_ih = Parameter(creation.empty(gates, input_size, device=device))
        self.weight_hh = Parameter(creation.empty(gates, hidden_size, device=device))
        if bias:
            self.bias_ih = Parameter(creation.empty(gates, device=device))
            self.bias_hh = Parameter(creation.empty(gates, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        _reset_in_dtype(self, dtype)

    reset_parameters = RNNBase.reset_parameters

    def _step(
        self, input: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, Tensor | None]:
        """input (B, I) or (I), hx: h or (h, c) of (B, H) or (H), or None -> (h', c')."""
        op = type(self).__name__
        lstm = self.mode == "lstm"
        batched = _is_batched(input, self.input_size, 2, op)
        x = input if batched else input.unsqueeze(0)
        shape = (x.shape[0], self.hidden_size)
        states: list[Any]  # Tensors, checked below
        if hx is None:
            states = [creation.zeros(*shape, dtype=x.dtype, device=x.device)] * (2 if lstm else 1)
        else:
            states = list(hx) if lstm else [hx]
            if lstm and len(states) != 2:
                raise _errors.TypeError(f"[{op}] expected hx as a tuple (h, c)")
            for i, state in enumerate(states):
                _check_state(state, shape if batched else shape[1:], x, ("hx", "cx")[i], op)
            if not batched:
                states = [state.unsqueeze(0) for state in states]
        _, h, c = _C._rnn_layer(
            x.unsqueeze(0),
            states[0],
            states[1] if lstm else None,
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
            None,
            self.mode,
            False,
            None,
        )
        if not batched:
            h, c = h.squeeze(0), (c.squeeze(0) if lstm else None)
        return h, c

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if self.mode == "rnn_relu":
            text += ", nonlinearity='relu'"
        return text


class RNNCell(RNNCellBase):
    """h' = nonlinearity(x W_ih^T + b_ih + h W_hh^T + b_hh), as torch.nn.RNNCell."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__(
            _rnn_mode(nonlinearity, "RNNCell"), input_size, hidden_size, bias, device, dtype
        )
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step, as torch.nn.LSTMCell: returns (h', c')."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__("lstm", input_size, hidden_size, bias, device, dtype)

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        h, c = self._step(input, hx)
        assert c is not None  # an LSTM step has a cell state
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step, as torch.nn.GRUCell."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__("gru", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]
