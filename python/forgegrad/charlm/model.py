"""A GPT for characters, as ordinary forgegrad Modules: token and position embeddings, blocks
of (LayerNorm -> causal self-attention -> residual, LayerNorm -> MLP with GELU -> residual),
a final LayerNorm and a head to the vocabulary, tied by default to the token embedding (one
Parameter in two modules). Attention is F.scaled_dot_product_attention with is_causal=True.

    model = GPT(GPTConfig(vocab_size=len(vocabulary)))
    logits = model(ids)                                   # ids (B, T) int64 -> (B, T, vocab)
    ids = model.generate(prompt_ids, 400, temperature=0.8, top_k=40)

Generation decodes incrementally: a KVCache keeps each layer's keys and values, so each new
token runs through the model alone (``model(new_ids, cache)``) until the context is full.

Parameter names follow nanoGPT's (wte, wpe, blocks.N.ln1/attn/ln2/mlp, ln_f, head) and the
initialization GPT-2's: weights normal(0, 0.02), the residual projections' scaled by
1/sqrt(2 * layers), biases zero."""

from __future__ import annotations

from typing import TYPE_CHECKING
import dataclasses
import math

from .. import _C, _errors, creation, nn
from ..autograd import no_grad
from ..nn import functional as F
from ..sampling import sample_next

if TYPE_CHECKING:
    from .._C import Tensor
    from ..random import Generator

__all__ = ["GPTConfig", "GPT", "KVCache", "CausalSelfAttention", "MLP", "Block"]


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """The model's sizes; the defaults are forgegrad train --task charlm's."""

    vocab_size: int
    context: int = 128
    layers: int = 4
    heads: int = 4
    width: int = 128
    tie_weights: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context", "layers", "heads", "width"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise _errors.ValueError(
                    f"[GPTConfig] expected {name} to be an int >= 1, got {value!r}"
                )
        if self.width % self.heads:
            raise _errors.ValueError(
                f"[GPTConfig] expected width ({self.width}) to be a "
                f"multiple of heads ({self.heads})"
            )
        if not isinstance(self.tie_weights, bool):
            raise _errors.TypeError(
                f"[GPTConfig] expected tie_weights to be a bool, got {self.tie_weights!r}"
            )


class KVCache:
    """The keys and values (B, heads, T, head width) of the T tokens a GPT has seen, one pair
    per layer, for incremental decoding: ``model(ids, cache)`` reads the tokens before from the
    cache, runs only `ids` (at positions len(cache) onwards) and appends their keys and
    values."""

    def __init__(self, layers: int) -> None:
        self.keys: list[Tensor | None] = [None] * layers
        self.values: list[Tensor | None] = [None] * layers

    def __len__(self) -> int:
        return self.length(0)

    def length(self, layer: int) -> int:
        """How many tokens' keys and values the cache holds for `layer`."""
        keys = self.keys[layer]
        return 0 if keys is None else keys.shape[2]

    def extend(self, layer: int, keys: Tensor, values: Tensor) -> tuple[Tensor, Tensor]:
        """Appends one layer's keys and values of the new tokens; returns all of them."""
        if self.keys[layer] is not None:
            keys = _C.cat([self.keys[layer], keys], dim=2)
            values = _C.cat([self.values[layer], values], dim=2)
        self.keys[layer], self.values[layer] = keys, values
        return keys, values


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each position sees itself and the positions before."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        """x (B, T, C) -> (B, T, C); with a KVCache, x holds the tokens after the cached ones
        and attends to those too (its keys and values join the cache's `layer`)."""
        batch, length, width = x.shape
        # (B, T, 3C) -> (3, B, heads, T, head width): one view per query, key and value
        qkv = self.qkv(x).reshape(batch, length, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        past = 0 if cache is None else cache.length(layer)
        if cache is not None:
            k, v = cache.extend(layer, k, v)
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # query i sits at position past + i: it sees keys 0 .. past + i
            rows = creation.arange(past, past + length, device=x.device).unsqueeze(1)
            mask = creation.arange(past + length, device=x.device).unsqueeze(0) <= rows
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(batch, length, width))


class MLP(nn.Module):
    """The block's feed-forward part: Linear to 4x the width, GELU, Linear back."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc = nn.Linear(width, 4 * width)
        self.gelu = nn.GELU()
        self.proj = nn.Linear(4 * width, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.gelu(self.fc(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln1(x)), then + mlp(ln2(.))."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = MLP(width)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        x = x + self.attn(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """A character-level GPT: token and position embeddings, ``config.layers`` pre-norm
    Transformer blocks with causal self-attention, a final LayerNorm and the output
    projection (its weight tied to the token embedding when ``config.tie_weights``).

    Args:
        config: the model's sizes.

    Raises:
        TypeError: ``config`` is not a GPTConfig.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise _errors.TypeError(f"[GPT] expected a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.width)
        self.wpe = nn.Embedding(config.context, config.width)
        self.blocks = nn.ModuleList(Block(config.width, config.heads) for _ in range(config.layers))
        self.ln_f = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.vocab_size, bias=False)
        if config.tie_weights:
            self.head.weight = self.wte.weight
        self._initialize()

    def _initialize(self) -> None:
        residual_std = 0.02 / math.sqrt(2 * self.config.layers)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() == 2:  # the LayerNorms keep their ones
                std = residual_std if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids: Tensor, cache: KVCache | None = None) -> Tensor:
        """ids (B, T) int64 -> logits (B, T, vocab_size). With a KVCache (new_cache()), ids
        continue the tokens it holds, at positions len(cache) onwards; either way the
        positions must stay below the context."""
        if not isinstance(ids, _C.Tensor) or ids.dim() != 2:
            got = tuple(ids.shape) if isinstance(ids, _C.Tensor) else type(ids).__name__
            raise _errors.ValueError(
                f"[GPT] expected token ids of shape (batch, length), got {got}"
            )
        if cache is not None and not isinstance(cache, KVCache):
            raise _errors.TypeError(
                f"[GPT] expected cache as a KVCache or None, got {type(cache).__name__}"
            )
        start, length = (0 if cache is None else len(cache)), ids.shape[1]
        if not 1 <= length <= self.config.context - start:
            raise _errors.ValueError(
                f"[GPT] expected 1 to {self.config.context} (the context) "
                f"tokens per row, cached ones included, got {length} "
                f"after {start} cached"
            )
        positions = creation.arange(start, start + length, device=ids.device)
        x = self.wte(ids) + self.wpe(positions)
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer)
        return self.head(self.ln_f(x))

    def new_cache(self) -> KVCache:
        """An empty KVCache for incremental decoding with this model."""
        return KVCache(self.config.layers)

    def generate(
        self,
        ids: Tensor,
        tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: Generator | None = None,
        use_cache: bool = True,
    ) -> Tensor:
        """ids (B, T) followed by `tokens` sampled ids, one at a time, each from the logits
        of the last `context` ids (sample_next's temperature, top_k, top_p, generator), in
        eval mode without gradients; the model's train/eval mode is restored afterwards.

        use_cache: feed only each new id, the earlier ones' keys and values kept in a
        KVCache, while the ids fit the context. Past it the window slides and every position
        moves, so each step then runs the last `context` ids afresh, as use_cache=False does
        at every step; the logits agree up to rounding and the ids for a seed do."""
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
            raise _errors.ValueError(
                f"[GPT.generate] expected tokens to be an int >= 0, got {tokens!r}"
            )
        if not isinstance(ids, _C.Tensor) or ids.dim() != 2 or ids.shape[1] == 0:
            got = tuple(ids.shape) if isinstance(ids, _C.Tensor) else type(ids).__name__
            raise _errors.ValueError(
                f"[GPT.generate] expected a prompt of ids of shape (batch, length >= 1), got {got}"
            )
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                cache = self.new_cache() if use_cache else None
                for _ in range(tokens):
                    if cache is not None and ids.shape[1] <= self.config.context:
                        logits = self(ids[:, len(cache) :], cache)[:, -1]
                    else:
                        logits = self(ids[:, -self.config.context :])[:, -1]
                    next_ids = sample_next(logits, temperature, top_k, top_p, generator)
                    ids = _C.cat([ids, next_ids.unsqueeze(1)], dim=1)
        finally:
            self.train(was_training)
        return ids
