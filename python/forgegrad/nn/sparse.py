"""``Embedding``: a lookup table of num_embeddings vectors of size embedding_dim, as
torch.nn.Embedding (its weight "weight", drawn from N(0, 1), the padding row zero)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self
from .. import _C, _errors, creation
from . import init
from ._embedding import _padding_row, embedding
from .module import Module, Parameter
from ..autograd import no_grad
from .._checks import is_int

if TYPE_CHECKING:
    from .._C import Tensor


class Embedding(Module):
    """A lookup table: integer indices select rows of ``weight`` (num_embeddings,
    embedding_dim), initialized from N(0, 1).

    Args:
        num_embeddings: the number of rows.
        embedding_dim: the size of each row.
        padding_idx: a row kept at zero that gets no gradient.
        max_norm: rows looked up are renormalized to at most this ``norm_type`` norm.
        norm_type: the p of that norm.
        scale_grad_by_freq: scale gradients by the inverse frequency of each index in the
            batch.
        sparse: accepted for PyTorch code; gradients are dense.
        device: where the weight lives.
        dtype: its floating dtype.

    Shape:
        indices (*) -> output (*, embedding_dim).

    Examples:
        >>> nn.Embedding(10, 3)(fg.tensor([[1, 2], [4, 9]])).shape
        (2, 2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: _C.Tensor | None = None,
        _freeze: bool = False,
        device: str | _C.device | None = None,
        dtype: _C.dtype | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not is_int(value) or value < 0:
                raise _errors.ValueError(
                    f"[Embedding] expected {name} to be an int >= 0, got {value!r}"
                )
        if sparse:
            raise _errors.ValueError(
                "[Embedding] sparse gradients are not supported; use sparse=False"
            )
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_row(padding_idx, num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(
                creation.empty(num_embeddings, embedding_dim, dtype=dtype, device=device),
                requires_grad=not _freeze,
            )
            self.reset_parameters()
        else:
            if not isinstance(_weight, _C.Tensor) or tuple(_weight.shape) != (
                num_embeddings,
                embedding_dim,
            ):
                got = (
                    tuple(_weight.shape)
                    if isinstance(_weight, _C.Tensor)
                    else type(_weight).__name__
                )
                raise _errors.ValueError(
                    "[Embedding] expected _weight of shape "
                    f"({num_embeddings}, {embedding_dim}), got {got}"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """Draw the weight from N(0, 1), the padding_idx row zero."""
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0.0)

    def forward(self, input: Tensor) -> Tensor:
        return embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += ", scale_grad_by_freq=True"
        return text

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Self:
        """An Embedding whose weight is `embeddings` (shared, not copied; the padding row
        kept as given), frozen unless freeze=False."""
        if not isinstance(embeddings, _C.Tensor) or embeddings.dim() != 2:
            got = (
                tuple(embeddings.shape)
                if isinstance(embeddings, _C.Tensor)
                else type(embeddings).__name__
            )
            raise _errors.ValueError(
                f"[Embedding.from_pretrained] expected a 2-d Tensor of embeddings, got {got}"
            )
        rows, dim = embeddings.shape
        return cls(
            rows,
            dim,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            _weight=embeddings,
            _freeze=freeze,
        )
