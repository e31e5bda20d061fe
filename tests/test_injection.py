"""Catalog text is data: titles, notes and names full of HTML, markdown, math and Python reach
the notebooks as inert text, links are http(s) only, and running the notebooks runs nothing a
catalog wrote."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from helpers import CATALOG_PLACE, every_kind_catalog, problem_lines, run_cli, write_json

from companion.course.markup import md
from companion.kernel.embed import PROBE

CANARY = "companion-canary"  # a file name no test writes; the payloads try to create it

PAYLOADS = [
    '<script>alert("xss")</script>',
    "<img src=x onerror=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">click</a>',
    "<svg/onload=alert(1)>",
    "<style>body{display:none}</style>",
    "[click](javascript:alert(1))",
    "![pic](javascript:alert(1))",
    "[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "$x^2$ and $$\\int f$$",
    "\\(\\href{javascript:alert(1)}{math link}\\)",
    "\\[x\\]",
    "\\begin{align}x\\end{align}",
    "`code` ```fence```",
    "**bold** _it_ ~~strike~~ # not a heading",
    "line one\nline two\n\n# heading\n- item\n> quote\n<!-- comment -->",
    "quotes ' \" ''' \"\"\" \\' \\\" \\",
    "braces {} {{x}} {0} %s %(x)s ${x}",
    '"); open(CANARY, "w").write("x"); ("',
    "'); open(CANARY, 'w').write('x'); ('",
    '"""); open(CANARY, "w").write("x"); ("""',
    "'''); open(CANARY, 'w').write('x'); ('''",
    "__import__('os').system('touch CANARY')",
    '{__import__("os").system("touch CANARY")}',
    "\\\"); __import__('os').system('touch CANARY') #",
    "\n__import__('os').system('touch CANARY')\n",
    "\x1b[31mred\x1b[0m \x00 \u202e \u2028",
]


def _payload(i: int, canary: Path) -> str:
    return PAYLOADS[i % len(PAYLOADS)].replace("CANARY", str(canary))


def hostile_catalog(canary: Path) -> dict:
    """The small catalog with a payload in every free-text field (ids and URLs stay well-formed)."""
    data = every_kind_catalog()
    n = iter(range(10_000))

    def p() -> str:
        return _payload(next(n), canary)

    for s in data["series"]:
        s.update(title=p(), channel=p(), note=p())
    for v in data["videos"]:
        v.update(title=p(), note=p(), aliases=[p()], date=p()[:40])
        v["number"] = p()[:20]
    for r in data["resources"]:
        r.update(title=p(), note=p())
    data["resources"][1]["url"] = "https://example.org/a)b(c\"d<e>f'g]h[i`j x".replace(" ", "%20")
    for c in data["courses"]:
        c.update(title=p(), note=p(), source=p()[:200])
        for ph in c["phases"]:
            ph.update(title=p(), note=p())
        for lesson in c["lessons"]:
            lesson.update(title=p(), note=p())
            for kind in ("videos", "resources"):
                lesson[kind] = [{"id": a, "title": p(), "note": p()} if isinstance(a, str) else {**a, "title": p(), "note": p()}
                                for a in lesson.get(kind, [])]
            for pr in lesson.get("prompts", []):
                pr["text"] = p()
    # one lesson with every payload as its title: the numbered file name comes from it too
    for i, payload in enumerate(PAYLOADS):
        data["courses"][0]["lessons"].append({
            "id": f"hostile-{i}", "number": 10 + i, "title": payload.replace("CANARY", str(canary)),
            "note": payload.replace("CANARY", str(canary)), "videos": [{"id": "v4", "title": p(), "note": p()}]})
    return data


# --------------------------------------------------------------------------------------------
# Checkers
# --------------------------------------------------------------------------------------------

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def html_tags(text: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    return parser.tags


# What markdown may turn into: the builder's own structure, links to http(s) or to notebooks.
MD_TAGS = {"p", "h1", "h2", "h3", "em", "strong", "a", "ul", "ol", "li", "blockquote", "br", "hr", "code"}


def assert_inert_markdown(source: str, where: str) -> None:
    from markdown_it import MarkdownIt

    assert "<" not in source, f"{where}: raw '<' in markdown: {source!r}"
    rendered = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(["table", "strikethrough"]).render(source)
    for tag, attrs in html_tags(rendered):
        assert tag in MD_TAGS, f"{where}: markdown renders a <{tag}>:\n{source}"
        assert not any(k.startswith("on") for k in attrs), f"{where}: event handler in {tag} {attrs}"
        if tag == "a":
            href = attrs.get("href", "")
            assert re.match(r"^(https?://|(\.\./)?[a-z0-9-]+(/index-[a-z0-9-]+)?\.ipynb$)", href), \
                f"{where}: link to {href!r}"
    assert_no_math(source, where)


# JupyterLab's markdown renderer takes math out before parsing (rendermime `removeMath`): this is
# its tokenizer, from @jupyterlab/rendermime. A delimiter is an unescaped $ or $$, a `\\(` or `\\[`
# (two backslashes: markdown eats one), or \begin{...}; `\$` is an escaped dollar.
_MATH_TOKENS = re.compile(r"(\$\$?|\\(?:begin|end)\{[a-z]*\*?\}|\\[{}$]|[{}]|(?:\n\s*)+|@@\d+@@|\\\\[()[\]])", re.I)


def assert_no_math(source: str, where: str) -> None:
    parts = _MATH_TOKENS.split(source.replace("\r\n", "\n"))
    starts = [t for t in parts[1::2] if t in ("$", "$$", "\\\\(", "\\\\[") or t[1:6] == "begin"]
    assert not starts, f"{where}: JupyterLab would typeset math from {starts} in:\n{source}"


def test_the_math_tokenizer_is_jupyterlabs():
    """The regex above is the one in the installed JupyterLab (so the port cannot drift unseen)."""
    import sys

    static = Path(sys.prefix) / "share" / "jupyter" / "lab" / "static"
    bundles = list(static.glob("*.js")) if static.is_dir() else []
    if not bundles:
        pytest.skip("no JupyterLab bundle in this environment")
    needle = f"/{_MATH_TOKENS.pattern}/i"
    assert any(needle in b.read_text(encoding="utf-8", errors="replace") for b in bundles if b.stat().st_size > 1000), \
        "JupyterLab's removeMath tokenizer changed: update _MATH_TOKENS"


PLAYER_TAGS = ["div", "iframe", "p", "button", "a", "p", "script"]
EMBED_ATTRS = {"src", "width", "height", "title", "frameborder", "allow", "referrerpolicy", "loading", "allowfullscreen"}


BOARD_TAGS = {"table", "thead", "tbody", "tr", "th", "td", "a", "span", "b", "i", "p", "ul", "li", "br"}


def assert_inert_html(text: str, where: str) -> None:
    tags = html_tags(text)
    names = [t for t, _ in tags]
    if names and names[0] in ("table", "p", "ul"):  # an index's table (companion.kernel.board): markup of its own only
        assert set(names) <= BOARD_TAGS, f"{where}: unexpected HTML {tags}"
        for _tag, attrs in tags:
            assert set(attrs) <= {"style", "title", "colspan", "href"}, f"{where}: {attrs}"
            if "href" in attrs:  # a lesson or course notebook beside the index, never a script or another site
                assert re.match(r"^[a-z0-9/_-]+\.ipynb$", attrs["href"]), f"{where}: {attrs}"
        return
    static_form = names[:3] == ["div", "b", "ul"] and names[-1] == "i" and set(names[3:-1]) <= {"li"}  # lesson.Static
    if names == PLAYER_TAGS:  # embed.Embed: the one script is the fixed PROBE, the same in every output
        scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
        assert scripts == [PROBE] and text.endswith(f"<script>{PROBE}</script></div>"), f"{where}: {scripts}"
    assert names in (PLAYER_TAGS, ["div", "b"]) or static_form, f"{where}: unexpected HTML {tags}"
    for tag, attrs in tags:
        if tag == "iframe":
            assert set(attrs) <= EMBED_ATTRS, f"{where}: {attrs}"
            assert re.match(r"^https://www\.youtube(-nocookie)?\.com/embed/[A-Za-z0-9_-]+(\?[A-Za-z0-9_=&-]*)?$", attrs["src"])
        elif tag == "a":
            assert set(attrs) == {"href", "target", "rel"}, f"{where}: {attrs}"
            assert re.match(r"^https://www\.youtube\.com/(watch\?v=|playlist\?list=)[A-Za-z0-9_=&-]+$", attrs["href"])
        else:
            assert set(attrs) <= {"style", "class"}, f"{where}: {attrs}"
            assert attrs.get("class") in (None, "companion-static", "cc-saved-player", "cc-offline", "cc-why"), attrs


CODE = [re.compile(p) for p in (
    r'^from companion\.lesson import open_lesson\n\nlesson = open_lesson\("[A-Za-z0-9_-]+", "[A-Za-z0-9_-]+"(, privacy_enhanced=True)?\)$',
    r'^lesson\.show_(video|resource)\("[A-Za-z0-9_-]+"\)$',
    r"^lesson\.checklist\(\)$",
    r'^from companion\.lesson import open_course\n\nopen_course\("[A-Za-z0-9_-]+"\)\.progress\(\)$',
    r"^from companion\.lesson import overview\n\noverview\(\)$",
    r"^from companion\.answers import show\n\nshow\(\)$",
    r"^from companion\.review import open_review\n\nopen_review\(\)$",
)]


def check_notebook(nb: dict, where: str) -> None:
    for i, cell in enumerate(nb["cells"]):
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        at = f"{where} cell {i} ({cell['metadata'].get('companion', {}).get('role')})"
        if cell["cell_type"] == "markdown":
            assert_inert_markdown(source, at)
        else:
            assert any(p.match(source) for p in CODE), f"{at}: code cell holds more than ids: {source!r}"
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if "text/html" in data:
                    html_text = "".join(data["text/html"]) if isinstance(data["text/html"], list) else data["text/html"]
                    assert_inert_html(html_text, at)
    meta = json.dumps({k: v for k, v in nb["metadata"].items() if k != "widgets"})  # widget labels are text
    assert "CANARY" not in meta and CANARY not in meta and "alert" not in meta


# --------------------------------------------------------------------------------------------
# Links
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
                                 "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "file:///etc/passwd",
                                 "ftp://example.org/x", "//example.org/x", "example.org/x", "https://", "http://exa mple.org",
                                 "https://example.org/\njavascript:alert(1)", "http://[::1", "mailto:a@b.c",
                                 "\x00https://example.org"])
@pytest.mark.parametrize("place", ["videos[2].url", "resources[1].url"])
def test_links_that_are_not_http_are_refused_at_their_place(tmp_path, capsys, url, place):
    data = every_kind_catalog()
    kind, index = place.split("[")[0], int(place.split("[")[1][0])
    data[kind][index]["url"] = url
    path = write_json(tmp_path / "catalog.json", data)
    code, _, err = run_cli(capsys, "validate", "--catalog", path)
    assert code == 2
    lines = problem_lines(err)
    assert lines and all(CATALOG_PLACE.match(l) for l in lines), err
    assert any(l.startswith(f"{place}: ") for l in lines), err
    code, _, _ = run_cli(capsys, "build", "--catalog", path, "--out", tmp_path / "out", "--no-trust")
    assert code == 2 and not (tmp_path / "out").exists()


def test_ids_cannot_carry_code(tmp_path, capsys):
    for change, where in [(lambda d: d["courses"][0].update(id='x"); import os; ("'), "courses[0].id: "),
                          (lambda d: d["courses"][0]["lessons"][0].update(id="l'+__import__('os').name+'"),
                           "courses[0].lessons[0].id: "),
                          (lambda d: d["videos"][0].update(id='v1"); ("'), "videos[0].id: ")]:
        data = every_kind_catalog()
        change(data)
        code, _, err = run_cli(capsys, "validate", "--catalog", write_json(tmp_path / "c.json", data))
        assert code == 2 and where in err


# --------------------------------------------------------------------------------------------
# Markdown and saved HTML
# --------------------------------------------------------------------------------------------

def test_md_leaves_no_markup_and_no_math():
    for payload in PAYLOADS + ["\\\\(x\\\\)", "\\$x\\$", "\\\\[", "a\\(b", "$$", "\\$$", "x\\"]:
        out = md(payload)
        assert "\n" not in out
        assert_inert_markdown(out, repr(payload))


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    canary = folder / CANARY
    path = write_json(folder / "catalog.json", hostile_catalog(canary))
    from companion.cli import main

    assert main(["build", "--catalog", str(path), "--out", str(folder / "notebooks"), "--text"]) == 0
    return folder, canary


def test_hostile_text_builds_into_inert_notebooks(hostile_build):
    folder, canary = hostile_build
    notebooks = sorted((folder / "notebooks").rglob("*.ipynb"))
    assert len(notebooks) == 4 + 3 + len(PAYLOADS)
    for path in notebooks:
        check_notebook(json.loads(path.read_text(encoding="utf-8")), str(path.relative_to(folder)))
    assert not canary.exists()


def test_catalog_text_reaches_the_notebook_as_text(hostile_build):
    """Inert is not lost: a payload is still readable in the rendered lesson (escaped, not dropped)."""
    from markdown_it import MarkdownIt

    folder, _ = hostile_build
    nb = json.loads(next((folder / "notebooks" / "course-a").glob("10-*.ipynb")).read_text(encoding="utf-8"))
    header = nb["cells"][0]["source"]
    rendered = MarkdownIt("commonmark", {"html": True}).render("".join(header))
    parser = _Tags()
    parser.feed(rendered)
    assert '<script>alert("xss")</script>' in "".join(parser.text)


def test_text_twins_carry_no_live_markup(hostile_build):
    folder, _ = hostile_build
    twins = sorted((folder / "text").rglob("*.md"))
    assert twins
    for twin in twins:
        text = twin.read_text(encoding="utf-8")
        assert not re.search(r"<\s*(script|img|iframe|svg|style|a\s)", text, re.I), twin
        assert not re.search(r"(?<!\\)\]\(\s*<?\s*(javascript|data|vbscript):", text, re.I), twin


def test_a_catalog_cannot_put_code_in_a_code_cell(hostile_build):
    folder, _ = hostile_build
    for path in (folder / "notebooks").rglob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                for marker in ("CANARY", CANARY, "alert", "import__", "open(", "system", "<", "{", "'"):
                    assert marker not in source, (path, source)


# --------------------------------------------------------------------------------------------
# Running the notebooks
# --------------------------------------------------------------------------------------------

def test_running_hostile_notebooks_runs_nothing_injected(hostile_build, monkeypatch):
    """A real kernel runs the catalog index, the course index and two lessons (one with every
    payload in its title and note); the canary file is never created, and what the kernel shows
    (players, messages, widget labels) is as inert as what the build saved."""
    from nbclient import NotebookClient

    folder, canary = hostile_build
    monkeypatch.setenv("COMPANION_CATALOG", str(folder / "catalog.json"))
    course = folder / "notebooks" / "course-a"
    chosen = [folder / "notebooks" / "start-here.ipynb", course / "index-course-a.ipynb",
              next(course.glob("01-*.ipynb")), next(course.glob("10-*.ipynb")), next(course.glob("30-*.ipynb"))]
    for path in chosen:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        assert not canary.exists(), f"running {path.name} created the canary"
        check_notebook(nb, f"executed {path.name}")
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if "Course companion:" in json.dumps(o)], "the kernel could not open it"
        shown = "text/html" if path.name == "start-here.ipynb" or path.name.startswith("index-") else "application/vnd.jupyter.widget-view+json"
        assert any(shown in o.get("data", {}) for o in outputs), path.name  # indexes are plain HTML tables
        for model in nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {}).values():
            state = model.get("state", {})
            assert not state.get("description_allow_html"), state
            if model.get("model_name") == "HTMLModel" and state.get("value"):
                assert not [t for t, _ in html_tags(state["value"]) if t not in ("div", "b")], state["value"]
    assert not list(folder.rglob(CANARY + "*")) and not list(Path.cwd().glob(CANARY + "*"))


# What the hub's pages are made of: the templates' own markup, nothing a catalog or a learner wrote.
HUB_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "a", "b", "small", "table", "tr",
            "th", "td", "ol", "li"}
HUB_PREFIX = "/services/companion/"


def test_the_hub_pages_show_catalog_text_and_learner_names_as_text(tmp_path):
    from companion.course.catalog import load
    from companion.hub import report
    from companion.hub.db import Row
    from companion.hub.service import render
    from companion.learner.tally import label, lesson_items

    cat = load(write_json(tmp_path / "catalog.json", hostile_catalog(tmp_path / CANARY)))
    rows, positions = [], []
    for course in cat.courses.values():
        lesson = course.ordered()[0]
        for name in PAYLOADS:  # a learner's name is the hub's: markup to this page
            rows.append(Row(name, course.id, lesson.id, lesson_items(cat, lesson)[0][0], True, 1.0, 1.0))
            positions.append((name, course.id, lesson.id, lesson.videos[0].id, 4.0, 9.0, 3.0, 1.0))
        positions.append((PAYLOADS[3], course.id, PAYLOADS[0], PAYLOADS[1], 4.0, 9.0, 3.0, 1.0))  # a lesson gone
    rows.append(Row(PAYLOADS[0], PAYLOADS[2], "l", "i", True, 1.0, 1.0))  # a course the catalog no longer has
    class_page = render("instructor.html", prefix=HUB_PREFIX, progress=report.progress(cat, rows, positions))
    own = [r for r in rows if r.learner == PAYLOADS[0]]
    own_page = render("learner.html", learner=PAYLOADS[0], instructor=True, prefix=HUB_PREFIX,
                      progress=report.progress(cat, own, [p for p in positions if p[0] == PAYLOADS[0]]))
    refusals = [render("message.html", title=PAYLOADS[4], message=payload) for payload in PAYLOADS]
    titles = [c.title for c in cat.courses.values()]
    for where, page, shown in [("instructor", class_page, [*PAYLOADS, *titles]), ("learner", own_page, [PAYLOADS[0], *titles]),
                               *((f"message {n}", page, PAYLOADS[n:n + 1]) for n, page in enumerate(refusals))]:
        parser = _Tags()
        parser.feed(page)
        parser.close()
        assert {tag for tag, _ in parser.tags} <= HUB_TAGS, where
        for _tag, attrs in parser.tags:
            assert set(attrs) <= {"charset", "class", "style", "title", "colspan", "href"}, (where, attrs)
            assert attrs.get("href") in (None, HUB_PREFIX + "instructor", HUB_PREFIX + "instructor.csv"), (where, attrs)
            assert re.fullmatch(r"background:(#eeeeee|hsl\(\d+,\d+%,\d+%\))", attrs.get("style", "background:#eeeeee"))
        text = "".join(parser.text)
        assert all(payload in text for payload in shown), where  # escaped, not dropped
    tips = {attrs["title"] for _, attrs in html_tags(class_page) if "title" in attrs}  # a heat map cell's, as text
    first = next(iter(cat.courses.values())).ordered()[0]
    assert f"{PAYLOADS[0]} — {label(first)}: 1/{len(lesson_items(cat, first))}" in tips
