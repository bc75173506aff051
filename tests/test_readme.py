"""The README's quickstart runs as printed, reaches the accuracy it implies, and is the same
code as examples/train_digits.py."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def quickstart_code():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Quickstart") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_quickstart_is_the_example_script():
    example = (ROOT / "examples" / "train_digits.py").read_text()
    code = example[example.index('"""', 3) + 3 :].strip()  # after the module docstring
    assert code == quickstart_code().strip()


def test_quickstart_trains_saves_and_reloads(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    exec(compile(quickstart_code(), "README quickstart", "exec"), {"__name__": "__main__"})
    accuracy = float(re.search(r"test accuracy: ([\d.]+)%", capsys.readouterr().out).group(1))
    assert accuracy >= 96.0
    assert (tmp_path / "digits.safetensors").stat().st_size > 0
    assert (tmp_path / "digits_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
