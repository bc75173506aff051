"""The documentation site (mkdocs.yml, docs/): every relative link of the README and of the
pages points to a file that exists, the navigation names every page, and each API entry
names an object the installed forgegrad has; these checks need no docs packages. With the
docs extra installed, `mkdocs build --strict` passes (warnings and broken links or anchors
are errors)."""

import importlib
import importlib.metadata
import os
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# Pages of the site that live outside docs/ (included whole into a page) and the README.
INCLUDED = [
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    ROOT / "CHANGELOG.md",
    ROOT / "bench" / "RESULTS.md",
]
MARKDOWN = INCLUDED + sorted(DOCS.rglob("*.md"))

FENCED_CODE = re.compile(r"^ *(```|~~~).*?^ *\1", re.S | re.M)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
INCLUDE = re.compile(r"\{%\s*include(?:-markdown)?\s+\"([^\"]+)\"")
API_ENTRY = re.compile(r"^::: *([\w.]+)", re.M)


def prose(path):
    """The file's Markdown without its code blocks and code spans, where links are not links."""
    return CODE_SPAN.sub("", FENCED_CODE.sub("", path.read_text()))


def relative_links(path):
    text = prose(path)
    for target in INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue  # a URL (checked by no one offline) or an anchor in the same page
        yield target


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_existing_files(path):
    missing = [t for t in relative_links(path) if not (path.parent / t.split("#")[0]).exists()]
    assert not missing, f"{path.relative_to(ROOT)} links to missing files: {missing}"


def test_link_finder_finds_links_and_skips_code(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        '[a](a.md) ![b](img/b.png "title") [c](https://x.org) [d](#here)\n'
        "`[e](e.md)`\n```\n[f](f.md)\n```\n[g]: g.md\n"
    )
    assert sorted(relative_links(page)) == ["a.md", "g.md", "img/b.png"]


def test_included_files_exist():
    includes = [
        (page, target)
        for page in DOCS.rglob("*.md")
        for target in INCLUDE.findall(page.read_text())
    ]
    assert includes, "the site includes CONTRIBUTING.md, bench/RESULTS.md and CHANGELOG.md"
    missing = [f"{p.relative_to(ROOT)}: {t}" for p, t in includes if not (p.parent / t).exists()]
    assert not missing


def test_navigation_names_every_page():
    config = (ROOT / "mkdocs.yml").read_text()
    nav = config[config.index("\nnav:") :]
    nav = nav[: re.search(r"\n\S", nav[1:]).start() + 1]  # up to the next top-level key
    named = set(re.findall(r":\s*(\S+\.md)\s*$", nav, re.M))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert named == pages, (
        f"in the nav but missing: {sorted(named - pages)}; "
        f"pages not in the nav: {sorted(pages - named)}"
    )


def resolve(dotted):
    """The object a `::: dotted.name` entry names: the longest importable module, then
    attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def test_api_entries_name_objects_of_the_installed_package():
    entries = [
        entry
        for page in (DOCS / "api").glob("*.md")
        for entry in API_ENTRY.findall(page.read_text())
    ]
    assert "forgegrad.nn" in entries and "forgegrad.Tensor" in entries
    unresolved = []
    for entry in entries:
        try:
            resolve(entry)
        except (ImportError, AttributeError) as error:
            unresolved.append(f"{entry}: {error}")
    assert not unresolved


def docs_requirements():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["optional-dependencies"]["docs"]


def missing_docs_packages():
    missing = []
    for requirement in docs_requirements():
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def test_site_builds_strictly(tmp_path):
    missing = missing_docs_packages()
    if missing:
        pytest.skip(
            f"the docs extra is not installed ({', '.join(missing)} missing): "
            "pip install the docs extra or run tools/build_docs.sh"
        )
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, build.stdout + build.stderr

    def page(path):
        return (site / path / "index.html").read_text()

    # The reference came from the docstrings, the compiled ops and Tensor methods included
    # (tools/griffe_forgegrad.py), and the files outside docs/ were included.
    assert 'id="forgegrad.nn.Linear"' in page("api/nn")
    assert 'id="forgegrad.exp"' in page("api/forgegrad")
    assert 'id="forgegrad.nn.functional.relu"' in page("api/functional")
    assert 'id="forgegrad.Tensor.sum"' in page("api/tensor")
    assert "Adding an op, file by file" in page("contributing")
    assert "Benchmark results" in page("performance")
