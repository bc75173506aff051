"""``MultiheadAttention``, as torch.nn.MultiheadAttention: its parameters carry PyTorch's
names and shapes (in_proj_weight (3E, E) packed, or q/k/v_proj_weight when kdim or vdim
differ from embed_dim; in_proj_bias; out_proj, a Linear; bias_k and bias_v), so a PyTorch
state dict loads as is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _C, _errors, creation
from . import init
from ._multi_head_attention import attention
from .linear import Linear
from .module import Module, Parameter
from .._checks import is_int, is_real

if TYPE_CHECKING:
    from .._C import Tensor


def _check_positive(value, name, op):
    if not is_int(value) or value <= 0:
        raise _errors.ValueError(f"[{op}] expected {name} to be a positive int, got {value!r}")


class MultiheadAttention(Module):
    """Attention in num_heads heads of head_dim = embed_dim // num_heads features each.
    forward(query, key, value) returns (output, weights): the weights averaged over the heads
    (N, L, S), or per head (N, num_heads, L, S), or None when need_weights=False (then the
    fused scaled_dot_product_attention kernel runs). Inputs are (L, N, E), (N, L, E) when
    batch_first, or unbatched (L, E)."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__()
        op = "MultiheadAttention"
        _check_positive(embed_dim, "embed_dim", op)
        _check_positive(num_heads, "num_heads", op)
        if embed_dim % num_heads:
            raise _errors.ValueError(
                f"[{op}] expected embed_dim divisible by num_heads, got "
                f"embed_dim={embed_dim} and num_heads={num_heads}"
            )
        for name, value in (("kdim", kdim), ("vdim", vdim)):
            if value is not None:
                _check_positive(value, name, op)
        if not is_real(dropout) or not 0 <= dropout <= 1:
            raise _errors.ValueError(
                f"[{op}] expected dropout to be a probability in [0, 1], got {dropout!r}"
            )
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self.head_dim = embed_dim // num_heads

        def parameter(*shape):
            # float32 first: nn.init draws float32 values; `dtype` converts them below
            return Parameter(creation.empty(*shape, device=device))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = parameter(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = parameter(embed_dim, embed_dim)
            self.k_proj_weight = parameter(embed_dim, self.kdim)
            self.v_proj_weight = parameter(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = parameter(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device)
        if add_bias_kv:
            self.bias_k = parameter(1, 1, embed_dim)
            self.bias_v = parameter(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()
        if dtype is not None:
            self.to(dtype)

    def _reset_parameters(self) -> None:
        """PyTorch's: xavier_uniform_ on the input projections, zero biases, xavier_normal_
        on bias_k and bias_v (out_proj.weight keeps Linear's default)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                init.xavier_normal_(extra)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """key_padding_mask (N, S) or (S,): True (or -inf) drops a key; attn_mask (L, S) or
        (N * num_heads, L, S), bool (True: not attended) or float (added to the scores);
        is_causal: a hint that attn_mask is the causal mask."""
        weights = (
            self.in_proj_weight
            if self._qkv_same_embed_dim
            else (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        )
        return attention(
            query,
            key,
            value,
            self.num_heads,
            weights,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            self.training,
            key_padding_mask,
            need_weights,
            attn_mask,
            average_attn_weights,
            is_causal,
            batch_first=self.batch_first,
            op="MultiheadAttention",
        )

    def extra_repr(self) -> str:
        text = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if not self._qkv_same_embed_dim:
            text += f", kdim={self.kdim}, vdim={self.vdim}"
        if self.bias_k is not None:
            text += ", add_bias_kv=True"
        if self.add_zero_attn:
            text += ", add_zero_attn=True"
        if self.batch_first:
            text += ", batch_first=True"
        return text
