"""The Transformer of "Attention Is All You Need", as torch.nn's: ``TransformerEncoderLayer``
(self-attention, then a feed-forward block), ``TransformerDecoderLayer`` (self-attention,
attention over the encoder's output, feed-forward), their stacks ``TransformerEncoder`` and
``TransformerDecoder`` (deep copies of one layer, named layers.0, layers.1, ...) and
``Transformer`` (an encoder and a decoder stack). The module and parameter names are
PyTorch's, so a PyTorch state dict loads as is. norm_first puts each LayerNorm before its
block (pre-norm) instead of after the residual sum (post-norm)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
import copy
import math

from .. import _C, _errors, creation
from .._checks import is_int
from .._movement import triu
from . import functional as F
from . import init
from ._multi_head_attention import additive_mask
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .multihead_attention import MultiheadAttention
from .normalization import LayerNorm

if TYPE_CHECKING:
    from .._C import Tensor

# The feed-forward block's activation: "relu", "gelu", or a callable (a function or a Module).
_Activation = str | Callable[["Tensor"], "Tensor"]
_Device = str | _C.device | None

__all__ = [
    "Transformer",
    "TransformerEncoder",
    "TransformerDecoder",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
]


def _activation(activation, op):
    """ "relu", "gelu" or a callable (a function or a Module) as the callable."""
    if callable(activation):
        return activation
    if activation in ("relu", "gelu"):
        return F.relu if activation == "relu" else F.gelu
    raise _errors.ValueError(
        f"[{op}] expected activation 'relu', 'gelu' or a callable, got {activation!r}"
    )


def _generate_square_subsequent_mask(sz, device=None, dtype=None):
    """(sz, sz): -inf above the diagonal (a position may not attend to later ones), 0 else;
    for dtype bool, True above the diagonal."""
    if not is_int(sz) or sz < 0:
        raise _errors.ValueError(
            f"[generate_square_subsequent_mask] expected sz to be an int >= 0, got {sz!r}"
        )
    fill = True if dtype == _C.dtype.bool else -math.inf
    return triu(creation.full((sz, sz), fill, dtype=dtype, device=device), diagonal=1)


def _sequence_length(src, batch_first):
    return src.shape[0] if src.dim() == 2 else src.shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask, is_causal, size):
    """is_causal=None: whether mask is the causal mask of size x size (PyTorch's
    detection, which lets the attention kernel skip reading it); else is_causal."""
    if is_causal is not None or not isinstance(mask, _C.Tensor):
        return bool(is_causal)  # a mask of the wrong type is the attention's error
    if tuple(mask.shape) != (size, size):
        return False
    causal = _generate_square_subsequent_mask(size, device=mask.device, dtype=mask.dtype)
    return bool(_C.equal(mask, causal))


def _check_sizes(op, **values):
    for name, value in values.items():
        if not is_int(value) or value <= 0:
            raise _errors.ValueError(f"[{op}] expected {name} to be a positive int, got {value!r}")


class _Layer(Module):
    """What the encoder and decoder layers share: their sublayers, registered in PyTorch's
    order (which state_dict keeps), and the residual blocks norm_first arranges."""

    def __init__(
        self,
        attentions,
        d_model,
        nhead,
        dim_feedforward,
        dropout,
        activation,
        layer_norm_eps,
        batch_first,
        norm_first,
        bias,
        device,
        dtype,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        _check_sizes(op, d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward)
        # built in float32 (nn.init draws float32), then converted to `dtype`
        for name in attentions:
            setattr(
                self,
                name,
                MultiheadAttention(
                    d_model,
                    nhead,
                    dropout=dropout,
                    bias=bias,
                    batch_first=batch_first,
                    device=device,
                ),
            )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, device=device)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, device=device)
        self.norm_first = norm_first
        blocks = range(1, len(attentions) + 2)
        for i in blocks:
            setattr(
                self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device)
            )
        for i in blocks:
            setattr(self, f"dropout{i}", Dropout(dropout))
        self._ff_dropout = f"dropout{len(blocks)}"
        self.activation = _activation(activation, op)
        if dtype is not None:
            self.to(dtype)

    def _residual_blocks(self, x, *blocks):
        """x through each block in turn with its LayerNorm norm1, norm2, ...: x + block(norm(x))
        when norm_first, else norm(x + block(x))."""
        for i, block in enumerate(blocks, 1):
            norm = getattr(self, f"norm{i}")
            x = x + block(norm(x)) if self.norm_first else norm(x + block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, self._ff_dropout)(x)


class TransformerEncoderLayer(_Layer):
    """x + self_attn(x) then x + linear2(dropout(activation(linear1(x)))), each sum
    layer-normalized (post-norm), or each block fed norm(x) when norm_first."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: _Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: _Device = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__(
            ("self_attn",),
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            device,
            dtype,
        )

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        op = type(self).__name__
        src_key_padding_mask = additive_mask(src_key_padding_mask, "src_key_padding_mask", src, op)
        src_mask = additive_mask(src_mask, "src_mask", src, op)
        return self._residual_blocks(
            src,
            lambda x: self._sa_block(x, src_mask, src_key_padding_mask, is_causal),
            self._ff_block,
        )


class TransformerDecoderLayer(_Layer):
    """Self-attention over tgt, attention over memory (the encoder's output), then the
    feed-forward block; each with its residual sum and LayerNorm, as the encoder layer."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: _Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: _Device = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__(
            ("self_attn", "multihead_attn"),
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            device,
            dtype,
        )

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        return self._residual_blocks(
            tgt,
            lambda x: self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal),
            lambda x: self._mha_block(
                x, memory, memory_mask, memory_key_padding_mask, memory_is_causal
            ),
            self._ff_block,
        )

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(
            x,
            memory,
            memory,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(x)


def _clones(layer, num_layers, op):
    if not isinstance(layer, Module):
        raise _errors.TypeError(
            f"[{op}] expected the layer to be a Module, got {type(layer).__name__}"
        )
    _check_sizes(op, num_layers=num_layers)
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Module):
    """num_layers deep copies of encoder_layer applied in turn, then norm (when given).
    enable_nested_tensor and mask_check are accepted for PyTorch's signature; forgegrad has
    no nested tensors, so they change nothing."""

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, type(self).__name__)
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        op = type(self).__name__
        src_key_padding_mask = additive_mask(src_key_padding_mask, "src_key_padding_mask", src, op)
        mask = additive_mask(mask, "mask", src, op)
        batch_first = self.layers[0].self_attn.batch_first
        is_causal = _detect_is_causal_mask(mask, is_causal, _sequence_length(src, batch_first))
        output = src
        for layer in self.layers:
            output = layer(
                output,
                src_mask=mask,
                is_causal=is_causal,
                src_key_padding_mask=src_key_padding_mask,
            )
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """num_layers deep copies of decoder_layer applied in turn to tgt, each attending to
    memory, then norm (when given)."""

    def __init__(
        self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None
    ) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, type(self).__name__)
        self.num_layers, self.norm = num_layers, norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batch_first = self.layers[0].self_attn.batch_first
        tgt_is_causal = _detect_is_causal_mask(
            tgt_mask, tgt_is_causal, _sequence_length(tgt, batch_first)
        )
        output = tgt
        for layer in self.layers:
            output = layer(
                output,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """An encoder stack over src and a decoder stack over tgt attending to the encoder's
    output, each ending in a LayerNorm; custom_encoder / custom_decoder replace them. Every
    parameter of more than one dimension starts xavier_uniform_, as in PyTorch."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: _Activation = F.relu,
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: _Device = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__()
        # built in float32 (nn.init draws it), then converted to `dtype`
        layer_args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
        )
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*layer_args, device=device),
                num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device),
            )
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*layer_args, device=device),
                num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device),
            )
        self._reset_parameters()
        if dtype is not None:
            self.to(dtype)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        op = type(self).__name__
        for name, x in (("src", src), ("tgt", tgt)):
            if not isinstance(x, _C.Tensor) or x.dim() not in (2, 3) or x.shape[-1] != self.d_model:
                got = tuple(x.shape) if isinstance(x, _C.Tensor) else type(x).__name__
                raise _errors.ValueError(
                    f"[{op}] expected {name} of 2 or 3 dimensions with "
                    f"d_model={self.d_model} features, got {got}"
                )
        batch = 0 if self.batch_first else 1
        if src.dim() != tgt.dim() or (src.dim() == 3 and src.shape[batch] != tgt.shape[batch]):
            raise _errors.ValueError(
                f"[{op}] expected src and tgt of one batch size, got shapes "
                f"{tuple(src.shape)} and {tuple(tgt.shape)}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(
        sz: int, device: _Device = None, dtype: _C.dtype | None = None
    ) -> Tensor:
        """The causal mask (sz, sz): float -inf above the diagonal, 0 on and below it."""
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)
