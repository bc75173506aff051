"""A character-level GPT trained on the running Python's standard library: the corpus
(corpus.py), the model (model.py), and the training and generation behind
``forgegrad train --task charlm`` and ``forgegrad generate`` (task.py)."""

from .corpus import Corpus, Vocabulary, load_corpus
from .model import GPT, GPTConfig, KVCache
from .task import estimate_loss, load_model, save_model, train_charlm

__all__ = [
    "Corpus",
    "Vocabulary",
    "load_corpus",
    "GPT",
    "GPTConfig",
    "KVCache",
    "estimate_loss",
    "load_model",
    "save_model",
    "train_charlm",
]
