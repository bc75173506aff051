"""The character-level language model's text: the ``.py`` files of the running Python's
standard library (found through ``sysconfig``), test directories and installed packages left
out, split into training and validation by file, encoded as one integer per character.

    corpus = load_corpus()                       # cached after the first run
    x, y = corpus.batch("train", 32, 128, rng)   # (32, 128) inputs, targets shifted by one

The split is by file, from a hash of each file's path relative to the library's root, so it
is the same on every run and machine, and a file's text is never in both parts. The
vocabulary is the characters seen in the corpus, ordered by code point, plus U+FFFD (what
undecodable bytes become) which also stands for any character outside the vocabulary."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sysconfig
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from .. import _errors

if TYPE_CHECKING:
    from .._C import Tensor

# Directories whose files are not the library's own source: test suites and installed
# third-party packages.
EXCLUDED_DIRECTORIES = frozenset(
    {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}
)
UNKNOWN = "\ufffd"
_CACHE_FORMAT = 1  # bump when the cache file's layout or the encoding changes


def stdlib_root():
    """The directory of the running Python's standard library."""
    return sysconfig.get_paths()["stdlib"]


def source_files(root):
    """The ``.py`` files under `root` outside EXCLUDED_DIRECTORIES, as sorted relative POSIX
    paths (symbolic links to directories are not followed)."""
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d not in EXCLUDED_DIRECTORIES]
        relative = os.path.relpath(directory, root)
        for name in files:
            if name.endswith(".py"):
                path = name if relative == "." else os.path.join(relative, name)
                found.append(path.replace(os.sep, "/"))
    return sorted(found)


def is_validation(path, val_fraction):
    """Whether the file at relative `path` belongs to the validation part: the first 8 bytes
    of its path's SHA-256, as a fraction of 2**64, fall below val_fraction."""
    digest = hashlib.sha256(path.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") < val_fraction * 2.0**64


class Vocabulary:
    """Characters <-> token ids: id i is ``chars[i]``. Characters not in it encode as the id of
    UNKNOWN, which every vocabulary holds."""

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = "".join(sorted(set(chars) | {UNKNOWN}))
        chars = self.chars
        self._code_points = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)
        self.unknown = chars.index(UNKNOWN)

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} characters)"

    @property
    def dtype(self) -> type[np.uint8] | type[np.uint16]:
        """The smallest unsigned numpy type that holds every id."""
        return np.uint8 if len(self) <= 256 else np.uint16

    def unknown_characters(self, text: str) -> list[str]:
        """The distinct characters of `text` outside the vocabulary, sorted."""
        return sorted(set(text) - set(self.chars))

    def encode(self, text: str) -> npt.NDArray[np.unsignedinteger[Any]]:
        """`text` as a numpy array of ids (self.dtype)."""
        code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        ids = np.searchsorted(self._code_points, code_points)
        ids = np.minimum(ids, len(self) - 1)
        ids[self._code_points[ids] != code_points] = self.unknown
        return ids.astype(self.dtype)

    def decode(self, ids: Sequence[int] | npt.NDArray[np.integer[Any]] | Tensor) -> str:
        """The text of a sequence of ids (a list, a numpy array or a 1-d Tensor)."""
        values: list[int] = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        try:
            return "".join(self.chars[i] for i in values)
        except IndexError:
            bad = next(i for i in values if not 0 <= i < len(self))
            raise _errors.ValueError(
                f"[Vocabulary.decode] id {bad} is out of range for {len(self)} characters"
            ) from None


@dataclasses.dataclass
class Corpus:
    """The encoded training and validation text, the vocabulary, and which files went where."""

    train: npt.NDArray[np.unsignedinteger[Any]]
    val: npt.NDArray[np.unsignedinteger[Any]]
    vocabulary: Vocabulary
    train_files: list[str]
    val_files: list[str]
    root: str

    def split(self, name: Literal["train", "val"]) -> npt.NDArray[np.unsignedinteger[Any]]:
        """The encoded text of the ``'train'`` or ``'val'`` split."""
        if name not in ("train", "val"):
            raise _errors.ValueError(f"[Corpus] expected the split 'train' or 'val', got {name!r}")
        return self.train if name == "train" else self.val

    def batch(
        self,
        split: Literal["train", "val"],
        batch_size: int,
        context: int,
        rng: np.random.Generator,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """`batch_size` windows of context + 1 consecutive tokens of `split`, each starting at
        a place drawn from `rng` (a numpy Generator): (inputs, targets), int64 arrays of shape
        (batch_size, context), the targets the inputs shifted one token on."""
        data = self.split(split)
        if len(data) < context + 1:
            raise _errors.ValueError(
                f"[Corpus.batch] the {split} text has {len(data)} tokens, "
                f"fewer than context + 1 = {context + 1}"
            )
        starts = rng.integers(0, len(data) - context, size=batch_size)
        windows = data[starts[:, None] + np.arange(context + 1)].astype(np.int64)
        return windows[:, :-1], windows[:, 1:]


def default_cache_dir():
    """$FORGEGRAD_CACHE, else $XDG_CACHE_HOME/forgegrad, else ~/.cache/forgegrad."""
    if os.environ.get("FORGEGRAD_CACHE"):
        return os.environ["FORGEGRAD_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "forgegrad")


def _cache_key(root, files, val_fraction):
    """A digest of what the corpus is made from: the root, the split, and every file's path,
    size and modification time, so that a changed library is read again."""
    h = hashlib.sha256(f"{_CACHE_FORMAT}\0{os.path.abspath(root)}\0{val_fraction!r}".encode())
    for path in files:
        info = os.stat(os.path.join(root, path))
        h.update(f"\0{path}\0{info.st_size}\0{info.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def _read(root, files):
    texts = []
    for path in files:
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            texts.append(f.read())
    return "".join(texts)


def _build(root, files, val_fraction):
    val_files = [p for p in files if is_validation(p, val_fraction)]
    train_files = [p for p in files if not is_validation(p, val_fraction)]
    train_text, val_text = _read(root, train_files), _read(root, val_files)
    for name, part in (("train", train_files), ("val", val_files)):
        if not part:
            raise _errors.ValueError(
                f"[load_corpus] none of the {len(files)} files under "
                f"{root} fell into the {name} split; use more files or "
                "another val_fraction"
            )
    vocabulary = Vocabulary(set(train_text) | set(val_text))
    return Corpus(
        vocabulary.encode(train_text),
        vocabulary.encode(val_text),
        vocabulary,
        train_files,
        val_files,
        root,
    )


def _save_cache(path, corpus) -> None:
    """Write the cache atomically (a temporary file renamed), so a crash leaves no torn one."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = f"{path}.{os.getpid()}.tmp.npz"
    try:
        np.savez(
            temp,
            train=corpus.train,
            val=corpus.val,
            chars=np.array(list(corpus.vocabulary.chars)),
            train_files=np.array(corpus.train_files, dtype=str),
            val_files=np.array(corpus.val_files, dtype=str),
        )
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def _load_cache(path, root):
    with np.load(path, allow_pickle=False) as f:
        return Corpus(
            f["train"],
            f["val"],
            Vocabulary("".join(f["chars"].tolist())),
            f["train_files"].tolist(),
            f["val_files"].tolist(),
            root,
        )


def load_corpus(
    root: str | os.PathLike[str] | None = None,
    val_fraction: float = 0.05,
    cache_dir: str | os.PathLike[str] | Literal[False] | None = None,
) -> Corpus:
    """The corpus of the ``.py`` files under `root` (default: this Python's standard library),
    about val_fraction of the files for validation. The encoded text is cached in
    `cache_dir` (default: default_cache_dir(); False: no cache) under a name that changes
    when any file does; a cache that cannot be written is skipped."""
    root = stdlib_root() if root is None else os.fspath(root)
    if not 0.0 < val_fraction < 1.0:
        raise _errors.ValueError(
            f"[load_corpus] expected val_fraction in (0, 1), got {val_fraction!r}"
        )
    if not os.path.isdir(root):
        raise _errors.ValueError(f"[load_corpus] {root} is not a directory")
    files = source_files(root)
    if not files:
        raise _errors.ValueError(f"[load_corpus] found no .py files under {root}")
    if cache_dir is False:
        corpus = _build(root, files, val_fraction)
    else:
        cache_dir = default_cache_dir() if cache_dir is None else os.fspath(cache_dir)
        path = os.path.join(cache_dir, f"charlm-{_cache_key(root, files, val_fraction)}.npz")
        if os.path.exists(path):
            return _load_cache(path, root)
        corpus = _build(root, files, val_fraction)
        try:
            _save_cache(path, corpus)
        except OSError:
            pass  # a read-only or full disk: the corpus works without its cache
    return corpus
