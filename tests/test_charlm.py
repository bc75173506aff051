"""The character-level GPT job: the corpus (the stdlib without its tests, split by file the
same way every time, cached), the sampling helpers (top-k keeps k, top-p keeps the nucleus,
temperature 0 is the argmax, seeded draws repeat) on each device, the model (tied weights,
causal: a position's logits ignore later tokens), a short training run that lowers the loss,
and the command line's train -> save -> generate round trip on a tiny corpus."""

import math
import os
import re
import runpy
import sys

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import cli
from forgegrad.charlm import GPT, GPTConfig, Vocabulary, load_corpus, load_model, save_model
from forgegrad.charlm import corpus as corpus_lib
from forgegrad.charlm.task import cosine_with_warmup, train_charlm
from forgegrad.sampling import sample_next, top_k_logits, top_p_logits

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see test_cli.py

SOURCE = '''def add(a, b):
    """Return a + b."""
    return a + b


class Counter:
    def __init__(self):
        self.count = 0

    def step(self):
        self.count += 1
        return self.count
'''


@pytest.fixture
def tiny_root(tmp_path):
    """A library of 20 modules (with the tests and packages the corpus leaves out)."""
    root = tmp_path / "lib"
    for i in range(20):
        (root / f"pkg{i % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"pkg{i % 3}" / f"mod{i}.py").write_text(SOURCE.replace("add", f"add{i}"))
    for excluded in ("test", "pkg0/tests", "idlelib/idle_test", "site-packages/thing"):
        (root / excluded).mkdir(parents=True)
        (root / excluded / "test_x.py").write_text("EXCLUDED = 1\n")
    (root / "notes.txt").write_text("not python")
    return root


def test_source_files_leave_out_tests_and_packages(tiny_root):
    files = corpus_lib.source_files(tiny_root)
    assert len(files) == 20 and files == sorted(files)
    assert all(re.fullmatch(r"pkg\d/mod\d+\.py", f) for f in files)


def test_the_stdlib_corpus_has_no_test_directories():
    files = corpus_lib.source_files(corpus_lib.stdlib_root())
    assert len(files) > 300 and "argparse.py" in files and "json/decoder.py" in files
    for path in files:
        assert not set(path.split("/")[:-1]) & corpus_lib.EXCLUDED_DIRECTORIES, path


def test_split_is_by_file_and_deterministic(tiny_root, tmp_path):
    a = load_corpus(tiny_root, val_fraction=0.3, cache_dir=False)
    b = load_corpus(tiny_root, val_fraction=0.3, cache_dir=False)
    assert a.val_files == b.val_files and np.array_equal(a.train, b.train)
    assert a.val_files == [
        p for p in corpus_lib.source_files(tiny_root) if corpus_lib.is_validation(p, 0.3)
    ]
    assert a.val_files and a.train_files and not set(a.val_files) & set(a.train_files)
    assert a.vocabulary.decode(a.train) == "".join(
        (tiny_root / p).read_text() for p in a.train_files
    )
    # the SHA-256 of the path decides, not the run: a fixed answer for one path
    assert corpus_lib.is_validation("argparse.py", 0.05) == (
        int.from_bytes(__import__("hashlib").sha256(b"argparse.py").digest()[:8], "big")
        < 0.05 * 2**64
    )


def test_corpus_cache_is_used_and_refreshed(tiny_root, tmp_path):
    cache = tmp_path / "cache"
    first = load_corpus(tiny_root, val_fraction=0.3, cache_dir=cache)
    (cached,) = cache.iterdir()
    again = load_corpus(tiny_root, val_fraction=0.3, cache_dir=cache)
    assert np.array_equal(first.train, again.train) and np.array_equal(first.val, again.val)
    assert again.vocabulary.chars == first.vocabulary.chars
    assert again.train_files == first.train_files and again.train.dtype == np.uint8
    path = tiny_root / first.train_files[0]
    path.write_text(path.read_text() + "# é\n")
    changed = load_corpus(tiny_root, val_fraction=0.3, cache_dir=cache)
    assert len(list(cache.iterdir())) == 2 and "é" in changed.vocabulary.chars
    assert cached.exists()


def test_vocabulary_round_trip_and_unknown_characters():
    vocabulary = Vocabulary("ba\n")
    assert vocabulary.chars == "\nab\ufffd" and vocabulary.unknown == 3
    ids = vocabulary.encode("ab\nzb")
    assert ids.tolist() == [1, 2, 0, 3, 2] and ids.dtype == np.uint8
    assert vocabulary.decode(ids) == "ab\n\ufffdb"
    assert vocabulary.unknown_characters("abzyz") == ["y", "z"]
    with pytest.raises(ValueError, match=r"\[Vocabulary.decode\] id 9"):
        vocabulary.decode([9])


def test_batches_are_windows_shifted_by_one_and_seeded(tiny_root):
    corpus = load_corpus(tiny_root, val_fraction=0.3, cache_dir=False)
    x, y = corpus.batch("train", 5, 16, np.random.default_rng(3))
    x2, _ = corpus.batch("train", 5, 16, np.random.default_rng(3))
    assert x.shape == y.shape == (5, 16) and x.dtype == np.int64
    assert np.array_equal(x, x2) and np.array_equal(x[:, 1:], y[:, :-1])
    text = corpus.vocabulary.decode(corpus.train)
    for row, target in zip(x, y):
        window = corpus.vocabulary.decode(row) + corpus.vocabulary.decode(target[-1:])
        assert window in text
    with pytest.raises(ValueError, match=r"\[Corpus.batch\]"):
        corpus.batch("val", 1, len(corpus.val), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\[Corpus\] expected the split"):
        corpus.batch("test", 1, 4, np.random.default_rng(0))


# ---------------------------------------------------------------------------- sampling
LOGITS = np.log(np.array([[0.05, 0.5, 0.15, 0.3], [0.4, 0.1, 0.2, 0.3]]))


def test_top_k_keeps_exactly_the_k_largest(device):
    logits = fg.tensor(np.random.default_rng(0).standard_normal((3, 50)), device=device)
    kept = top_k_logits(logits, 7).cpu().numpy()
    values = logits.cpu().numpy()
    for row, original in zip(kept, values):
        finite = np.isfinite(row)
        assert finite.sum() == 7
        assert set(np.flatnonzero(finite)) == set(np.argsort(original)[-7:])
        assert np.array_equal(row[finite], original[finite])
    assert top_k_logits(logits, 50) is logits


@pytest.mark.parametrize(
    "p, expected",
    [
        (0.35, [[1], [0]]),
        (0.75, [[1, 3], [0, 2, 3]]),
        (0.85, [[1, 2, 3], [0, 2, 3]]),
        (1.0, [[0, 1, 2, 3]] * 2),
    ],
)
def test_top_p_keeps_the_nucleus(device, p, expected):
    kept = top_p_logits(fg.tensor(LOGITS, device=device), p).cpu().numpy()
    for row, original, indices in zip(kept, LOGITS, expected):
        assert np.flatnonzero(np.isfinite(row)).tolist() == indices
        assert np.allclose(row[indices], original[indices])


def test_temperature_zero_is_the_argmax(device):
    logits = fg.tensor(np.random.default_rng(1).standard_normal((4, 3, 30)), device=device)
    expected = logits.cpu().numpy().argmax(-1)
    assert np.array_equal(sample_next(logits, temperature=0).cpu().numpy(), expected)
    cold = sample_next(logits, temperature=1e-3, generator=fg.Generator(device).manual_seed(0))
    assert tuple(cold.shape) == (4, 3) and np.array_equal(cold.cpu().numpy(), expected)
    assert np.array_equal(sample_next(logits, top_k=1).cpu().numpy(), expected)


def test_seeded_draws_repeat_and_follow_the_filters(device):
    logits = fg.tensor(np.tile(LOGITS, (200, 1)), device=device)

    def draw(seed, **kwargs):
        generator = fg.Generator(device).manual_seed(seed)
        return sample_next(logits, generator=generator, **kwargs).cpu().numpy()

    assert np.array_equal(draw(5), draw(5)) and not np.array_equal(draw(5), draw(6))
    assert set(draw(0, top_k=2)[0::2]) <= {1, 3} and set(draw(0, top_p=0.65)[1::2]) <= {0, 3}
    counts = np.bincount(draw(7)[0::2], minlength=4) / 200  # the first row's probabilities
    assert np.abs(counts - np.exp(LOGITS[0])).max() < 0.12


def test_sampling_rejects_bad_arguments():
    logits = fg.tensor(LOGITS)
    with pytest.raises(ValueError, match=r"\[top_k_logits\] expected k"):
        top_k_logits(logits, 0)
    with pytest.raises(ValueError, match=r"\[top_p_logits\] expected p in \(0, 1\]"):
        top_p_logits(logits, 1.5)
    with pytest.raises(ValueError, match=r"\[sample_next\] expected a finite temperature"):
        sample_next(logits, temperature=-1.0)
    with pytest.raises(TypeError, match=r"\[sample_next\] expected floating-point logits"):
        sample_next(fg.tensor([[1, 2]]))


# ---------------------------------------------------------------------------- model and training
def tiny_config(vocab_size):
    return GPTConfig(vocab_size, context=16, layers=2, heads=2, width=16)


def test_head_is_tied_to_the_token_embedding():
    model = GPT(tiny_config(11))
    assert model.head.weight is model.wte.weight
    names = [name for name, _ in model.named_parameters()]
    assert "wte.weight" in names and "head.weight" not in names
    assert set(model.state_dict()) >= {"wte.weight", "head.weight"}
    untied = GPT(GPTConfig(11, context=16, layers=2, heads=2, width=16, tie_weights=False))
    assert (
        sum(p.numel() for p in untied.parameters())
        == sum(p.numel() for p in model.parameters()) + 11 * 16
    )


def test_logits_of_a_position_ignore_later_tokens():
    model = GPT(tiny_config(11))
    ids = fg.tensor(np.random.default_rng(2).integers(0, 11, (2, 9)))
    changed = ids.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11
    a, b = model(ids).detach().numpy(), model(changed).detach().numpy()
    assert np.allclose(a[:, :5], b[:, :5], atol=1e-6) and not np.allclose(a[:, 5:], b[:, 5:])


def test_cached_logits_match_the_full_recomputation():
    model = GPT(tiny_config(11)).eval()
    ids = fg.tensor(np.random.default_rng(3).integers(0, 11, (2, 16)))
    full = model(ids).detach().numpy()
    cache = model.new_cache()
    # a prompt of 5, then one token at a time, then 3 at once: each against the full run
    parts = [model(ids[:, :5], cache)] + [model(ids[:, t : t + 1], cache) for t in range(5, 13)]
    parts.append(model(ids[:, 13:], cache))
    assert len(cache) == 16
    cached = np.concatenate([part.detach().numpy() for part in parts], axis=1)
    assert np.allclose(cached, full, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match=r"\[GPT\] expected 1 to 16 .* after 16 cached"):
        model(ids[:, :1], cache)


@pytest.mark.parametrize("prompt", [3, 20])  # 20: longer than the context from the start
def test_cached_generation_gives_the_uncached_tokens(prompt):
    model = GPT(tiny_config(11))
    for p in model.parameters():  # larger weights than the init: peaked, varied logits
        p.data = p.data * 20
    ids = fg.tensor(np.random.default_rng(4).integers(0, 11, (2, prompt)))
    runs = []
    for use_cache in (True, False):
        generator = fg.Generator("cpu")
        generator.manual_seed(7)
        runs.append(
            model.generate(
                ids, 30, temperature=1.0, generator=generator, use_cache=use_cache
            ).numpy()
        )
    assert runs[0].shape == (2, prompt + 30)  # past the context of 16: the window slides
    assert np.array_equal(runs[0], runs[1])


def test_model_rejects_bad_input():
    model = GPT(tiny_config(11))
    with pytest.raises(ValueError, match=r"\[GPT\] expected 1 to 16"):
        model(fg.zeros((1, 17), dtype=fg.int64))
    with pytest.raises(ValueError, match=r"\[GPTConfig\] expected width \(10\) to be a multiple"):
        GPTConfig(5, width=10, heads=4)


def test_training_lowers_the_loss_and_a_checkpoint_reloads(tiny_root, tmp_path):
    corpus = load_corpus(tiny_root, val_fraction=0.3, cache_dir=False)
    fg.manual_seed(0)
    model = GPT(tiny_config(len(corpus.vocabulary)))
    log = train_charlm(
        model, corpus, 60, batch_size=8, lr=1e-2, warmup=5, eval_interval=20, eval_batches=2
    )
    assert [entry.step for entry in log] == [20, 40, 60]
    assert log[0].train_loss < math.log(len(corpus.vocabulary))
    assert log[-1].val_loss < log[0].val_loss - 0.3  # seen: 2.6 -> 1.5
    path = tmp_path / "tiny.safetensors"
    save_model(model, corpus.vocabulary, path)
    loaded, vocabulary = load_model(path)
    assert vocabulary.chars == corpus.vocabulary.chars and loaded.config == model.config
    assert loaded.head.weight is loaded.wte.weight and not loaded.training
    ids = fg.tensor(corpus.train[:16].astype(np.int64)).unsqueeze(0)
    model.eval()
    assert np.array_equal(model(ids).detach().numpy(), loaded(ids).detach().numpy())
    generated = loaded.generate(ids, 20, temperature=0)  # past the context: it slides
    assert tuple(generated.shape) == (1, 36)


def test_lr_schedule_warms_up_then_decays_to_a_tenth():
    factor = cosine_with_warmup(100, 10)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(54) == pytest.approx(0.55, abs=0.01) and factor(99) == pytest.approx(0.1)


# ---------------------------------------------------------------------------- command line
TINY = [
    "--steps",
    "30",
    "--layers",
    "1",
    "--heads",
    "2",
    "--width",
    "16",
    "--context",
    "16",
    "--batch-size",
    "8",
    "--warmup",
    "5",
    "--lr",
    "1e-2",
    "--no-progress",
]


def test_cli_train_save_and_generate(tiny_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FORGEGRAD_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "tiny.safetensors"
    code = cli.main(
        [
            "train",
            "--task",
            "charlm",
            "--corpus",
            str(tiny_root),
            "--val-fraction",
            "0.3",
            "--save",
            str(path),
            "--sample-tokens",
            "40",
            "--device",
            "cpu",
            *TINY,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(
        r"^corpus: \d+ training files \([\d,]+ characters\), \d+ validation", out, re.M
    )
    assert re.search(
        r"^GPT: 1 layers, 2 heads, width 16, context 16, [\d,]+ parameters; "
        r"training on cpu, 30 steps of 8 x 16 characters$",
        out,
        re.M,
    )
    steps = re.findall(r"^step +(\d+)/30: train loss [\d.]+, val loss [\d.]+ nats/char", out, re.M)
    assert steps == [str(s) for s in range(3, 31, 3)]
    assert re.search(
        r"^trained 30 steps in [\d.]+ min; validation loss [\d.]+ nats/char", out, re.M
    )
    sample = out.split("sample (temperature 0.8, top-k 40):\n", 1)[1]
    assert sample.startswith("def ") and len(sample) == 4 + 40 + 1

    argv = [
        "generate",
        str(path),
        "--prompt",
        "class ",
        "--tokens",
        "25",
        "--seed",
        "3",
        "--top-k",
        "5",
        "--top-p",
        "0.9",
        "--device",
        "cpu",
    ]
    assert cli.main(argv) == 0
    first = capsys.readouterr().out
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == first and first.startswith("class ")
    assert len(first) == 6 + 25 + 1
    assert (
        cli.main(["generate", str(path), "--prompt", "λ a", "--tokens", "3", "--temperature", "0"])
        == 0
    )
    out, err = capsys.readouterr()
    assert out.startswith("λ a") and len(out) == 3 + 3 + 1 and "'λ'" in err


def test_cli_charlm_refuses_classifier_options(capsys):
    with pytest.raises(SystemExit, match="--dropout, --epochs: not an option of --task charlm"):
        cli.main(["train", "--task", "charlm", "--epochs", "3", "--dropout", "0.1"])
    with pytest.raises(SystemExit, match="--width 30 is not a multiple of --heads 4"):
        cli.main(["train", "--task", "charlm", "--width", "30"])


def test_cli_generate_refuses_a_file_of_another_kind(tmp_path, capsys):
    path = tmp_path / "other.safetensors"
    fg.save({"weight": fg.zeros(3)}, path)
    assert cli.main(["generate", str(path)]) == 1
    assert (
        "is not a character-level GPT saved by forgegrad train --task charlm"
        in capsys.readouterr().err
    )


def test_example_script_trains_and_samples(tiny_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FORGEGRAD_CACHE", str(tmp_path / "cache"))
    example = os.path.join(os.path.dirname(__file__), "..", "examples", "char_gpt.py")
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "char_gpt.py",
            "--steps",
            "20",
            "--corpus",
            str(tiny_root),
            "--val-fraction",
            "0.3",
            "--context",
            "16",
            "--width",
            "16",
            "--layers",
            "1",
            "--tokens",
            "30",
        ],
    )
    runpy.run_path(example, run_name="__main__")
    out = capsys.readouterr().out
    assert re.search(r"^step 20: train loss [\d.]+ nats/char$", out, re.M)
    assert re.search(r"^validation loss: [\d.]+ nats/char$", out, re.M)
    assert out.split("sample:\n", 1)[1].startswith("def ")
