"""Every relative link a learner can click finds its file: in every notebook the real catalog builds
(markdown cells and saved HTML outputs), and in start-here and each course index after they have
run against a progress store with ticks and a position (their tables are redrawn from progress)."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from markdown_it import MarkdownIt
from nbclient import NotebookClient

from companion.api import build
from companion.course.catalog import load
from companion.learner.store import ProgressStore

REPO = Path(__file__).resolve().parents[1]


class _Hrefs(HTMLParser):
    """The `href` of every `<a>` and the `src` of every `<img>` in an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"a": "href", "img": "src"}.get(tag)
        self.found += [v for k, v in attrs if k == wanted and v is not None]


def html_links(page: str) -> list[str]:
    parser = _Hrefs()
    parser.feed(page)
    parser.close()
    return parser.found


_MD = MarkdownIt("commonmark").enable("table")


def markdown_links(text: str) -> list[str]:
    """Link and image targets of a markdown text, and those of the HTML written inside it."""
    out: list[str] = []
    for token in _MD.parse(text):
        for t in [token, *(token.children or [])]:
            if t.type == "link_open":
                out.append(str(t.attrs["href"]))
            elif t.type == "image":
                out.append(str(t.attrs["src"]))
            elif t.type in ("html_inline", "html_block"):
                out += html_links(t.content)
    return out


def links(nb: nbformat.NotebookNode) -> list[str]:
    """Every link target of a notebook: markdown cells, and the HTML and markdown of its outputs."""
    out: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out += markdown_links(cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            out += html_links(data.get("text/html", ""))
            out += markdown_links(data.get("text/markdown", ""))
    return out


def relative(href: str) -> str | None:
    """The file a link points to on this machine, or None for a web link or an anchor in the page."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return unquote(parts.path)


def dead(notebook: Path, nb: nbformat.NotebookNode) -> list[str]:
    return [f"{notebook.name}: {href}" for href in links(nb)
            if (rel := relative(href)) is not None and not (notebook.parent / rel).is_file()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real catalog built into a temp folder (no trust: nothing is shown in a browser here)."""
    tmp = tmp_path_factory.mktemp("links")
    shutil.copy(REPO / "catalog.json", tmp / "catalog.json")
    if (REPO / "lessons").is_dir():
        shutil.copytree(REPO / "lessons", tmp / "lessons")
    build(tmp / "catalog.json", tmp / "notebooks", trust=False, twins=False)
    return tmp / "notebooks"


def test_every_relative_link_in_every_built_notebook_finds_its_file(built: Path):
    notebooks = sorted(built.rglob("*.ipynb"))
    assert len(notebooks) > 100, "the real catalog builds over a hundred notebooks"
    problems, followed = [], 0
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        followed += sum(relative(h) is not None for h in links(nb))
        problems += dead(path, nb)
    assert followed > 3 * len(notebooks), f"only {followed} relative links followed: the parser finds too few"
    assert not problems, f"{len(problems)} dead links, first ones: {problems[:10]}"


def test_every_relative_link_of_the_indexes_finds_its_file_after_they_ran_on_a_learners_progress(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    catalog = load(built.parent / "catalog.json")
    store_path = tmp_path / "progress.sqlite"
    store = ProgressStore(store_path)
    try:
        for course in catalog.courses.values():  # something ticked in every course, and a video played
            first = course.ordered()[0]
            store.set(course.id, first.id, first.items[0].id, True)
            store.save_position(course.id, first.id, first.videos[0].id, 95.0, 600.0, [(0.0, 95.0)])
    finally:
        store.close()
    monkeypatch.setenv("COMPANION_PROGRESS", str(store_path))
    monkeypatch.setenv("COMPANION_CATALOG", str(built.parent / "catalog.json"))
    indexes = [built / "start-here.ipynb", *(built / c / f"index-{c}.ipynb" for c in catalog.courses)]
    problems, continued = [], 0
    for path in indexes:
        nb = nbformat.read(path, as_version=4)
        saved = json.dumps([c.get("outputs") for c in nb.cells], sort_keys=True)
        NotebookClient(nb, kernel_name="python3", timeout=120,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        redrawn = json.dumps([c.get("outputs") for c in nb.cells], sort_keys=True)
        assert redrawn != saved, f"{path.name}: running it drew nothing new from the progress"
        continued += sum("Continue:" in o.get("data", {}).get("text/plain", "")
                         for c in nb.cells for o in c.get("outputs", []))
        problems += dead(path, nb)
    assert continued == 1 + len(catalog.courses), \
        "start-here and each started course's index should say where to continue once something is ticked"
    assert not problems, f"dead links after running: {problems}"
