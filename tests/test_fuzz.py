"""Generated hostile input for the catalog loader and the markdown importer.

Every input must end in exit 0 or in exit 2 with one line per problem naming its place, never in
a traceback; a refused build writes nothing and a refused import leaves catalog.json as it was.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from helpers import CATALOG_PLACE, every_kind_catalog, problem_lines, run_cli, snapshot, yt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion import cli
from companion.api import problems_of as _problems_of
from companion.course import checks

FUZZ = settings(max_examples=1000, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])

# Thousands of small builds: in memory when the machine has a tmpfs (fsync costs nothing there).
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None



@pytest.fixture(autouse=True)
def one_parser(monkeypatch):
    """argparse takes ~3 ms to build the CLI's parser (gettext looks for translations on disk
    for every help string); thousands of commands share one here (parsing leaves it unchanged)."""
    monkeypatch.setattr(cli, "parser", functools.lru_cache(maxsize=None)(cli.parser))


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

HOSTILE_TEXT = [
    "", " ", "\n", "\r\n", "\t", "\x00", "\x1b[31m", "\u2028", "\u202e", "\ufeff", "😀", "ＡＢＣ", "İ", "ß",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "$x^2$",
    '"', "'", '"""', "'''", "\\", "\\n", "{", "}", "{{x}}", "%s", "|", "\\|", "`", "```",
    "..", "../..", "../../etc/passwd", "/etc/passwd", "C:\\Windows", "a/b", "a\\b", "con", "nul", "aux",
    "com1", "lpt1", "removed", "index", ".ipynb_checkpoints", "lesson-1", "v1", "s-one", "course-a",
    "x" * 81, "a" * 2001, "-", "_", "a-", "-a", "A", "abc\n", "abc ", " abc", "UPPER", "dots.in.id",
    "abcdefghijk", "abcdefghijk\n", "abcdefghij", "PL0123456789abcdef\n",
    "javascript:alert(1)", "data:text/html,<b>x</b>", "http://", "https://example.org/x y",
    "https://example.org/\n", "http://[::1", "ftp://example.org/", "//example.org", "https://ok.example/",
    "file:///etc/passwd", "vbscript:x", "JaVaScRiPt:alert(1)", " https://example.org/",
]
NUMBERS = st.one_of(
    st.integers(min_value=-3, max_value=100_005), st.sampled_from([0, 1, 2, 99999, 100000, 86400, 86401, -1,
                                                                   10 ** 20, -(10 ** 20)]),
    st.sampled_from([1.0, 2.0, 0.5, -0.0, 1e300, float("inf"), float("-inf"), float("nan")]), st.booleans())
TEXT = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=12),
                 st.builds(lambda a, b: a + b, st.sampled_from(HOSTILE_TEXT), st.text(max_size=6)))
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12)
KEYS = st.sampled_from(["id", "title", "note", "series", "videos", "resources", "courses", "lessons", "url",
                        "youtube", "playlist", "start", "end", "number", "kind", "prompts", "phases", "first",
                        "last", "text", "channel", "aliases", "settings", "source", "date", "colour"])


def _paths(x: Any, at: tuple = ()) -> list[tuple]:
    """Every place inside `x` (not the root itself)."""
    out = []
    if isinstance(x, dict):
        for k, v in x.items():
            out.append((*at, k))
            out += _paths(v, (*at, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            out.append((*at, i))
            out += _paths(v, (*at, i))
    return out


def _get(x: Any, path: tuple) -> Any:
    for p in path:
        x = x[p]
    return x


def _mutate(data: Any, draw) -> Any:
    """One random damage: drop, replace (any JSON, a hostile string, a number, another type),
    duplicate a list entry (duplicate ids), add a field, or add a dangling reference."""
    op = draw(st.sampled_from(["drop", "json", "text", "number", "duplicate", "add", "dangling", "swap"]))
    if op == "dangling" and isinstance(data, dict):
        lessons = [(*p, "videos") for p in _paths(data)
                   if len(p) == 4 and p[0] == "courses" and p[2] == "lessons" and isinstance(_get(data, p), dict)]
        if lessons:
            lesson = _get(data, lessons[draw(st.integers(0, len(lessons) - 1))][:-1])
            kind = draw(st.sampled_from(["videos", "resources"]))
            ref = draw(st.one_of(TEXT, st.sampled_from(["v1", "v2", "book", "pl-one", "nope"])))
            lesson.setdefault(kind, [])
            if isinstance(lesson[kind], list):
                lesson[kind].append(ref if draw(st.booleans()) else {"id": ref})
            return data
        op = "json"
    paths = _paths(data)
    if not paths:
        return draw(JSON)
    path = draw(st.sampled_from(paths))
    parent, key = _get(data, path[:-1]), path[-1]
    if op == "drop":
        del parent[key]
    elif op == "json":
        parent[key] = draw(JSON)
    elif op == "text":
        parent[key] = draw(TEXT)
    elif op == "number":
        parent[key] = draw(NUMBERS)
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
    elif op == "add" and isinstance(_get(data, path), dict):
        _get(data, path)[draw(KEYS)] = draw(JSON)
    elif op == "swap":
        value = parent[key]
        parent[key] = [value] if not isinstance(value, list) else (value[0] if value else {})
    else:
        parent[key] = draw(JSON)
    return data


@st.composite
def damaged_catalogs(draw) -> Any:
    data: Any = every_kind_catalog()
    for _ in range(draw(st.integers(1, 4))):
        data = _mutate(data, draw)
    return data


def _dump(data: Any, draw_style: int) -> str:
    """JSON text as a person or a tool might write it (NaN/Infinity included: Python reads them)."""
    return json.dumps(data, indent=2 if draw_style else None, ensure_ascii=bool(draw_style % 2))


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

def assert_places(err: str, file: Path, *, allow_build_error: bool = False) -> None:
    """Exit 2 output: every problem is one line that names its place."""
    lines = problem_lines(err)
    assert lines, f"exit 2 without a message: {err!r}"
    assert err.endswith("\n")
    for line in lines:
        ok = (CATALOG_PLACE.match(line) or line.startswith(f"{file}:") or line.startswith(f"{file} ")
              or (allow_build_error and line.startswith('companion: courses "')))
        assert ok, f"problem line names no place: {line!r}\nwhole output:\n{err}"
        assert "Traceback" not in line


LINK_TARGET = re.compile(r"(?<!\\)\]\(([^)]*)\)")
SAFE_TARGET = re.compile(r"^(https?://[^\s]+|([a-z0-9-]+/)?[a-z0-9-]+\.ipynb|\.\./start-here\.ipynb)$")


def assert_inert(nb: dict, where: str) -> None:
    """A built notebook's markdown has no raw HTML and links only to http(s) or its notebooks
    (test_injection checks rendering in depth; this is the cheap version for every example)."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            assert "<" not in source, f"{where}: raw '<' in {source!r}"
            for target in LINK_TARGET.findall(source):
                assert SAFE_TARGET.match(target), f"{where}: link to {target!r}"


def check_catalog(capsys, text: str) -> None:
    """validate, build and progress on one catalog text: 0 or 2, places named, a refused build
    leaves the output folder exactly as it was."""
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        folder = Path(tmp)
        path = folder / "catalog.json"
        path.write_text(text, encoding="utf-8")
        out = folder / "out"
        out.mkdir()
        (out / "keep.txt").write_text("learner file")
        before = snapshot(out)

        bcode, bout, berr = run_cli(capsys, "build", "--catalog", path, "--out", out, "--no-trust")
        assert bcode in (0, 2), berr
        if bcode == 2:
            assert_places(berr, path, allow_build_error=True)
            assert snapshot(out) == before, "a refused build wrote into the output folder"
        else:
            files = snapshot(out)
            assert len(files) > 1
            for rel, raw in files.items():
                assert (out / rel).resolve().is_relative_to(out.resolve())
                if rel.endswith(".ipynb"):
                    assert_inert(json.loads(raw), rel)
        refused = bcode == 2 and not berr.startswith("companion: ")  # by the catalog check, not the layout

        # validate and progress start with the same `load` as build: they run on every catalog
        # build accepted or laid out, and on a quarter of the refused ones (then validate must
        # print exactly build's lines, and progress refuse it as well)
        if not refused or len(text) % 4 == 0:
            code, _, err = run_cli(capsys, "validate", "--catalog", path)
            assert code == (2 if refused else 0), err
            if refused:
                assert err == berr
            pcode, _, perr = run_cli(capsys, "progress", "--catalog", path)
            assert pcode == (2 if refused else 0), perr
            if pcode == 2:
                assert_places(perr, path)


# ---------------------------------------------------------------------------------------------
# (a) the catalog
# ---------------------------------------------------------------------------------------------

def test_the_unchanged_small_catalog_is_valid(capsys):
    """The fuzzer's starting point is valid, so mutations explore both sides of the line."""
    check_catalog(capsys, json.dumps(every_kind_catalog()))
    code, out, err = run_cli(capsys, "validate", "--catalog", _write_tmp(json.dumps(every_kind_catalog())))
    assert code == 0, err


def _write_tmp(text: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    (folder / "catalog.json").write_text(text, encoding="utf-8")
    return folder / "catalog.json"


@FUZZ
@given(data=damaged_catalogs(), style=st.integers(0, 3))
def test_damaged_catalogs_are_refused_with_places_or_accepted(capsys, data, style):
    check_catalog(capsys, _dump(data, style))


@settings(FUZZ, max_examples=3000)
@given(data=st.one_of(damaged_catalogs(), JSON))
def test_the_quick_schema_check_passes_only_what_jsonschema_passes(data):
    """A catalog fastjsonschema passes is never checked by jsonschema (`checks.schema_problems`), so
    the quick check must refuse everything jsonschema refuses (refusing more only costs time)."""
    import fastjsonschema
    import jsonschema

    try:
        checks._fast_check()(data)
    except fastjsonschema.JsonSchemaValueException:
        return
    assert list(jsonschema.Draft202012Validator(checks.schema()).iter_errors(data)) == []


@settings(FUZZ, max_examples=400)
@given(data=JSON, style=st.integers(0, 3))
def test_arbitrary_json_is_refused_with_places(capsys, data, style):
    check_catalog(capsys, _dump(data, style))


@settings(FUZZ, max_examples=200)
@given(text=st.one_of(
    st.text(max_size=60),
    st.builds(lambda s, cut: s[:cut], st.just(json.dumps(every_kind_catalog(), indent=2)), st.integers(0, 3000)),
    st.builds(lambda s, i, junk: s[:i] + junk + s[i:], st.just(json.dumps(every_kind_catalog(), indent=1)),
              st.integers(0, 3000), st.sampled_from([",", "}", "]", '"', "\\", "\x00", "NaN", "//", "\n"]))))
def test_broken_json_text_names_file_and_line(capsys, text):
    check_catalog(capsys, text)


def test_undecodable_and_deeply_nested_files(capsys, tmp_path):
    for name, raw in [("latin1.json", b'{"series": "\xe9"}'), ("deep.json", b"[" * 100_000),
                      ("deep-ok.json", b'{"series": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
                      ("deep-obj.json", b'{"x": ' + b'{"x": ' * 3000 + b"1" + b"}" * 3001),
                      ("empty.json", b""), ("bom.json", b"\xef\xbb\xbf{}")]:
        path = tmp_path / name
        path.write_bytes(raw)
        code, _, err = run_cli(capsys, "validate", "--catalog", path)
        assert code == 2, (name, err)
        assert_places(err, path)
    code, _, err = run_cli(capsys, "validate", "--catalog", tmp_path)  # a folder, not a file
    assert code == 2
    assert_places(err, tmp_path)


def test_whole_numbers_written_as_decimals_are_refused_not_crashed(capsys, tmp_path):
    """JSON Schema calls 1.0 an integer; a lesson numbered 1.0 used to crash the build."""
    data = every_kind_catalog()
    data["courses"][0]["lessons"][0]["number"] = 1.0
    data["videos"][1]["start"] = 10.0
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "build", "--catalog", path, "--out", tmp_path / "out", "--no-trust")
    assert code == 2
    assert "courses[0].lessons[0].number: 1.0 " in err
    assert "videos[1].start: 10.0 " in err
    assert not (tmp_path / "out").exists()


def test_values_ending_in_a_newline_are_refused(capsys, tmp_path):
    """`$` in a pattern also matches before a final newline; ids and YouTube ids must not."""
    for change, where in [(lambda d: d["courses"][0].update(id="course-a\n"), "courses[0].id: "),
                          (lambda d: d["courses"][0]["lessons"][2].update(id="extras\n"), "courses[0].lessons[2].id: "),
                          (lambda d: d["videos"][0].update(youtube=yt(1) + "\n"), "videos[0].youtube: "),
                          (lambda d: d["resources"][0].update(playlist="PL0123456789abcdef\n"), "resources[0].playlist: "),
                          (lambda d: d["videos"][0].update(id="v1\n"), "videos[0].id: ")]:
        data = every_kind_catalog()
        change(data)
        path = tmp_path / "catalog.json"
        path.write_text(json.dumps(data))
        code, _, err = run_cli(capsys, "validate", "--catalog", path)
        assert code == 2, (where, err)
        assert_places(err, path)
        assert where in err


# ---------------------------------------------------------------------------------------------
# (b) the markdown importer
# ---------------------------------------------------------------------------------------------

def mostly(good, bad, percent: int = 85):
    """`good` most of the time, else `bad`: a generated index is damaged in one or two places,
    so that the rest of it is read and the damage is met (an index broken everywhere stops at
    its first line)."""
    return st.integers(0, 99).flatmap(lambda n: good if n < percent else bad)


# The well-formed values are drawn from pools made once (a draw from a list costs Hypothesis a
# fraction of composing a value from parts: the index fuzz draws ~30 cells per example).
_POOL = random.Random(20240601)
_ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-',.?!:()é"


def _words() -> str:
    text = "".join(_POOL.choice(_ALPHABET) for _ in range(_POOL.randint(1, 24))).strip()
    return text if text and not text.startswith(("-", "*")) else "Plain title"


GOOD_TITLE = st.sampled_from([
    "Vectors", "Linear maps", "The determinant", "Attention *in* transformers", "**Bold** title", "a \\| b",
    "[link](https://example.org) text", "Ch. 3", "[A video](https://youtu.be/abcdefghijk)", "Q&amp;A",
    '<a href="https://example.org/t">An anchor</a>', "![thumb](https://img.youtube.com/vi/abcdefghijk/0.jpg) Title", "Title (Deep Learning, Chapter 3)", "[Grokking] x", "Über", "$e^x$",
    *(_words() for _ in range(300))])
BAD_TITLE = st.one_of(
    st.sampled_from(["", " ", "—", "-", "*", "_", "**", "[", "](", "\\", "`code`", "<script>alert(1)</script>",
                     "x" * 2100, "[x](javascript:alert(1))"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r|"), max_size=15))
CELL_TEXT = mostly(GOOD_TITLE, BAD_TITLE, 94)
WORDS = st.sampled_from([_words() for _ in range(200)])
GOOD_LESSON = st.sampled_from([
    "Optional", "General", "**7**", "4-5", "14–15, 20", "optional, 3", "General, 2–3", "1;2", "99999",
    *(str(_POOL.randint(0, 60)) for _ in range(100)),
    *(f"{a}–{a + _POOL.randint(0, 3)}" for a in (_POOL.randint(1, 40) for _ in range(60))),
    *(f"{_POOL.randint(1, 40)}, {_POOL.randint(1, 40)}" for _ in range(60))])
BAD_LESSON = st.one_of(st.sampled_from(["5–4", "1–600", "x", "", "—", "3a", "100000", "1 – 2 – 3", ",", "1–2–3"]),
                       st.text(alphabet="0123456789,–- ;x", max_size=8))
LESSON_CELL = mostly(GOOD_LESSON, BAD_LESSON, 94)
GOOD_LINK = st.sampled_from([
    "[Playlist](https://www.youtube.com/playlist?list=PL0123456789abcdef)",
    "[Channel](https://www.youtube.com/@somechannel)", "[Book](https://example.org/book)",
    "https://example.org/bare", "", "—", "n/a", "[Listen](https://example.org/podcast)",
    "[Watch](<https://example.org/a>)", "[Watch](https://www.youtube.com/watch?v=short)",
    *(f"[Watch](https://www.youtube.com/watch?v={yt(_POOL.randint(0, 30))})" for _ in range(40)),
    *(f"[Watch](https://youtu.be/{yt(_POOL.randint(0, 30))}?t={t})"
      for t in [*(_POOL.randint(0, 86400) for _ in range(20)), "1h2m3s", "90s", "2m", "86400"]),
    *(f"[Watch](https://www.youtube.com/watch?v={yt(_POOL.randint(0, 30))}&list=PL0123456789abcdef&t=1m30s)"
      for _ in range(10)),
    # markdown as people write it: HTML anchors, autolinks, image links, thumbnails, entities, (), #t=
    *(f'<a href="https://www.youtube.com/watch?v={yt(_POOL.randint(0, 30))}">Watch</a>' for _ in range(10)),
    *(f"<a href='https://youtu.be/{yt(_POOL.randint(0, 30))}' target=_blank>Watch</a>" for _ in range(5)),
    *(f"<https://www.youtube.com/watch?v={yt(_POOL.randint(0, 30))}>" for _ in range(5)),
    *(f"[![thumb](https://img.youtube.com/vi/{yt(_POOL.randint(0, 30))}/0.jpg)](https://youtu.be/{yt(_POOL.randint(0, 30))})"
      for _ in range(10)),
    *(f"![thumb](https://i.ytimg.com/vi/{yt(_POOL.randint(0, 30))}/hqdefault.jpg)" for _ in range(5)),
    *(f'<img src="https://img.youtube.com/vi/{yt(_POOL.randint(0, 30))}/0.jpg" width=120>' for _ in range(3)),
    *(f"[Watch](https://www.youtube.com/watch?v={yt(_POOL.randint(0, 30))}&amp;t={_POOL.randint(0, 9999)}s)"
      for _ in range(5)),
    *(f"[Watch](https://youtu.be/{yt(_POOL.randint(0, 30))}#t=1m{_POOL.randint(0, 59)}s)" for _ in range(5)),
    "[Read](https://en.wikipedia.org/wiki/Rank_(linear_algebra))", "<a href=https://example.org/x>site</a>",
    "[Watch](https://example.org/a) and [more](https://example.org/b)", "![a picture](https://example.org/p.png)"])
BAD_LINK = st.one_of(
    st.sampled_from(["[Watch](javascript:alert(1))", "[Watch](data:text/html,x)", "[Watch](foo)", "[Watch](",
                     "[Watch](www.youtube.com/watch?v=abcdefghijk)", "[Watch]()", "[Watch](https://exa mple.org)",
                     "[](https://example.org/empty)", "[Watch](http://[::1)", "[Watch](ftp://example.org/x)",
                     "[x](https://www.youtube.com/watch?v=abcdefghijk\\|x)", "[Watch](https://example.org/" + "a" * 2100 + ")",
                     "[Watch](https://youtu.be/abcdefghijk?t=86401)", "[Watch](https://youtu.be/abcdefghijk?t=25h)",
                     "[Watch](https://youtu.be/abcdefghijk?t=99999999999)",
                     '<a href="javascript:alert(1)">x</a>', '<a href="https://example.org/open', "<a href=>x</a>",
                     "<a>no href</a>", "[![x](https://img.youtube.com/vi/short/0.jpg)](foo)", "<http://[::1>",
                     "![x](https://img.youtube.com/vi/)", "[x](https://example.org/&#0;)", "&amp;&lt;&#x1b;",
                     "<a href='https://youtu.be/abcdefghijk#t=99999999'>x</a>"]),
    st.text(max_size=12).map(lambda t: t.replace("\n", " ").replace("|", "/")))
LINK_CELL = mostly(GOOD_LINK, BAD_LINK, 88)
NUMBER_CELL = mostly(st.one_of(st.integers(1, 40).map(str), st.just("—"), st.just("")),
                     st.sampled_from(["12a", "x" * 30, "1" * 21, "|", "\\"]), 94)
GOOD_HEADERS = [["#", "Title", "Lesson", "Link"], ["Title", "Lessons"], ["Ch", "Chapter", "Lesson", "Key Videos"],
                ["Ep", "Video Title", "Lesson", "Watch", "Notes"], ["No.", "Topic", "Lessons", "URL"],
                ["Part", "Name", "Lesson"], ["Lecture", "Title", "Lesson", "Links", "Book chapter"]]
BAD_HEADERS = [["#", "Title", "Link"], ["Title"], ["Lesson", "Link"], ["#", "Title", "Lesson", "Link", "Title"],
               ["", "", ""], ["a\\|b", "Title", "Lesson"]]
HEADERS = mostly(st.sampled_from(GOOD_HEADERS), st.one_of(st.sampled_from(BAD_HEADERS),
                                                          st.lists(CELL_TEXT, min_size=1, max_size=5)), 92)
SERIES = mostly(st.one_of(st.sampled_from(["3Blue1Brown — Essence of Linear Algebra", "Welch Labs", "Channel — Series",
                                           "StatQuest - Statistics", "**Bold** — series"]), WORDS),
                st.sampled_from(["", "—", "x" * 2100, "<script>x</script>", "*", "[x](javascript:y)"]), 95)


@st.composite
def tables(draw) -> list[str]:
    header = list(draw(HEADERS))
    lines = ["| " + " | ".join(header) + " |"]
    # (a separator without its leading | ends the table for the importer: it is one of the bad ones)
    sep = draw(mostly(st.sampled_from(["|" + "---|" * len(header), "|" + "|".join([":---:"] * len(header)) + "|",
                                       "| " + " | ".join(["---"] * len(header))]),
                      st.sampled_from(["| nope |", "", "|-|", "---|" * len(header)]), 95))
    if sep:
        lines.append(sep)
    for _ in range(draw(st.integers(1, 4))):
        cells = []
        for name in header:
            role = name.lower()
            if role in ("lesson", "lessons"):
                cells.append(draw(LESSON_CELL))
            elif role in ("link", "key videos", "watch", "url", "links"):
                cells.append(draw(LINK_CELL))
            elif role in ("#", "ch", "ep", "no.", "part", "lecture"):
                cells.append(draw(NUMBER_CELL))
            else:
                cells.append(draw(CELL_TEXT))
        if draw(st.integers(0, 30)) == 30:  # (Hypothesis favours small numbers: damage sits at the top)
            cells = cells[:-1] if draw(st.booleans()) else cells + ["extra"]
        lines.append(draw(mostly(st.sampled_from(["| ", "|"]), st.just(""), 95)) + " | ".join(cells)
                     + draw(st.sampled_from([" |", "|", ""])))
    return lines


@st.composite
def indexes(draw) -> str:
    lines: list[str] = []
    if draw(st.booleans()):
        lines += ["# " + draw(mostly(GOOD_TITLE, st.sampled_from(["", "x" * 2100, "<b>x</b>"]), 95)), ""]
    if draw(st.booleans()):
        lines += ["> " + draw(CELL_TEXT), ""]
    if draw(st.integers(0, 19)) == 19:  # a table before any heading
        lines += draw(tables()) + [""]
    for s in range(draw(st.integers(1, 2))):
        level = draw(mostly(st.just("## ") if s == 0 else st.sampled_from(["## ", "### "]),
                            st.sampled_from(["##", "#### ", "### "]), 95))
        lines += [level + draw(SERIES), ""]
        for _ in range(draw(st.integers(0, 2))):
            label = draw(st.sampled_from(["**Playlist:** ", "**Channel:** ", "**Book:**", "**Listen:** ", "**Note:** ",
                                          "**Guide:** "]))
            lines += [label + draw(st.one_of(LINK_CELL, CELL_TEXT)), ""]
        if draw(st.integers(0, 4)) == 4:
            lines += ["*" + draw(WORDS) + "*", ""]
        if draw(st.integers(0, 4)) == 4:  # prose with a link
            lines += [draw(WORDS) + " " + draw(LINK_CELL) + " " + draw(WORDS), ""]
        for _ in range(draw(st.integers(1, 2))):
            lines += draw(tables()) + [""]
        for _ in range(draw(st.integers(0, 3)) // 2):  # a list of links next to the table
            lines.append(draw(st.sampled_from(["- ", "* ", "+ "])) + draw(st.sampled_from(["", "**Someone** "]))
                         + draw(LINK_CELL) + draw(st.sampled_from(["", ": a note", " (Lesson 3)", " — Lessons 2–4",
                                                                    " (Lesson soon)", " (Lessons 5–1)"])))
        if draw(st.integers(0, 15)) == 15:
            lines.append(draw(st.text(max_size=40)))
    return (draw(mostly(st.just(""), st.just("\ufeff"), 90)) + "\n".join(lines)
            + draw(st.sampled_from(["\n", "", "\r\n"])))


def check_import(capsys, index_text: str, existing: dict | None, course: str) -> None:
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        folder = Path(tmp)
        index = folder / "INDEX.md"
        index.write_text(index_text, encoding="utf-8", newline="")
        catalog = folder / "catalog.json"
        if existing is not None:
            catalog.write_text(json.dumps(existing, indent=2) + "\n", encoding="utf-8")
        before = catalog.read_bytes() if catalog.exists() else None
        code, _, err = run_cli(capsys, "import", index, "--course", course, "--catalog", catalog)
        assert code in (0, 2), err
        if code == 2:
            lines = problem_lines(err)
            assert lines, err
            for line in lines:
                # the index's line; or the --course argument; or, for a catalog already broken
                # before the import, the catalog's own places
                ok = re.match(rf"^(INDEX\.md:\d+: |INDEX\.md: |{re.escape(str(index))}: |companion: --course: )\S", line)
                if not ok and existing is not None and _problems_of(copy.deepcopy(existing)):
                    ok = CATALOG_PLACE.match(line) or line.startswith(f"{catalog}: ")
                assert ok, f"problem line names no place in the index: {line!r}\n{err}"
            after = catalog.read_bytes() if catalog.exists() else None
            assert after == before, "a refused import changed catalog.json"
        else:
            vcode, _, verr = run_cli(capsys, "validate", "--catalog", catalog)
            assert vcode == 0, f"the imported catalog does not validate:\n{verr}"
            data = json.loads(catalog.read_text(encoding="utf-8"))
            assert any(c["id"] == course for c in data["courses"])
        assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")], "temp file left behind"


COURSE_IDS = st.one_of(st.just("imported"), st.just("course-a"),
                       st.sampled_from(["../escape", "Bad Id", "a/b", "", "x" * 60, "removed", "ok-2"]))


@FUZZ
@given(text=indexes(), existing=st.one_of(st.none(), st.just(every_kind_catalog()), damaged_catalogs()), course=COURSE_IDS)
def test_generated_indexes_import_or_are_refused_at_a_line(capsys, text, existing, course):
    check_import(capsys, text, existing, course)


@settings(FUZZ, max_examples=200)
@given(text=st.text(max_size=200), existing=st.one_of(st.none(), st.just(every_kind_catalog())))
def test_garbage_indexes_are_refused_at_a_line(capsys, text, existing):
    check_import(capsys, text, existing, "imported")


def test_the_seed_indexes_still_import(capsys, tmp_path):
    """The generator's grammar is the seeds' grammar: the real indexes go through it."""
    seeds = Path(__file__).resolve().parents[1] / "sources"
    for name, course in [("000_68aef646c0788ccf.txt", "m"), ("001_d1d7603f62d58559.txt", "f")]:
        code, _, err = run_cli(capsys, "import", seeds / name, "--course", course, "--catalog", tmp_path / "c.json")
        assert code == 0, err


# ---------------------------------------------------------------------------------------------
# (c) progress import files
# ---------------------------------------------------------------------------------------------

NOW = 1_900_000_000.0  # the fuzz runs before 2030; a later clock only makes more times "past"
ID_VALUE = mostly(st.sampled_from(["c1", "l1", "aircAruvnKk", "reflections", "lesson-2", "ü-ß"]),
                  st.one_of(TEXT, NUMBERS, st.none(), st.just("\ud800x"), st.just("x" * 300)), 85)
DONE_VALUE = mostly(st.booleans(), st.one_of(st.sampled_from(["false", "true", 0, 1, None, [], {}]), NUMBERS), 85)
TIME_VALUE = mostly(st.floats(0, 1_700_000_000, allow_nan=False), st.one_of(
    NUMBERS, st.sampled_from(["1e5", "2024-01-01T00:00:00Z", True, None, 4102444800.0, 10 ** 400, -5]),
    st.floats(1_700_000_000, 10 ** 12)), 85)


@st.composite
def progress_files(draw) -> str:
    ticks = [{k: draw(v) for k, v in (("course", ID_VALUE), ("lesson", ID_VALUE), ("item", ID_VALUE),
                                      ("done", DONE_VALUE), ("changed_at", TIME_VALUE)) if draw(st.integers(0, 30))}
             for _ in range(draw(st.integers(0, 6)))]
    data: Any = {"format": "course-companion-progress", "version": 1, "ticks": ticks}
    shape = draw(st.integers(0, 30))
    if shape == 30:
        data = draw(JSON)
    elif shape == 29:
        data["ticks"] = draw(JSON)
    elif shape == 28:
        data["ticks"].append(draw(JSON))
    text = json.dumps(data, indent=draw(st.sampled_from([None, 1])))
    cut = draw(st.integers(0, 40))
    if cut == 40:  # truncated, or nested past any parser's depth
        text = text[: draw(st.integers(0, len(text)))]
    elif cut == 39:
        text = "[" * 50_000 + "]" * 50_000
    return text


@settings(FUZZ, max_examples=400)
@given(text=progress_files())
def test_progress_import_files_are_taken_whole_or_refused_at_a_place(capsys, text, monkeypatch):
    import time as time_mod

    from companion.learner.records import CLOCK_SKEW
    from companion.learner.store import ProgressStore

    monkeypatch.setattr(time_mod, "time", lambda: NOW)
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        folder = Path(tmp)
        store_path, source = folder / "p.sqlite", folder / "in.json"
        ProgressStore(store_path).set("c1", "l1", "kept", True, at=1000.0)
        source.write_text(text, encoding="utf-8", errors="surrogatepass")
        monkeypatch.setenv("COMPANION_PROGRESS", str(store_path))
        before = ProgressStore(store_path).ticks()
        code, _, err = run_cli(capsys, "progress", "--import", source)
        assert code in (0, 2), err
        assert not list(folder.glob("*damaged*")), "a wrong import file was taken for a damaged store"
        after = list(ProgressStore(store_path).all())
        if code == 2:
            assert ProgressStore(store_path).ticks() == before, "a refused import changed the store"
            for line in err.splitlines():
                assert re.match(rf"^(companion: )?{re.escape(str(source))}(:\d+)?: \S|^nothing was imported$", line), line
                assert len(line) < 600 and not re.search("[\x00-\x08\x0b-\x1f\x7f]", line), line
        else:
            for t in after:
                assert isinstance(t.done, bool) and 0 <= t.changed_at <= NOW + CLOCK_SKEW, t
                t.course.encode("utf-8")
