"""Where notebooks go: course ids, lesson ids and titles never lead out of the output folder,
make names every system accepts, and never make two lessons share one file."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path, PurePosixPath

import pytest
from helpers import CATALOG_PLACE, every_kind_catalog, problem_lines, run_cli, snapshot, write_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion import cli
from companion.builder.plan import BuildError, plan
from companion.course.catalog import CatalogError, from_data
from companion.course.checks import schema_problems
from companion.course.layout import TOP

# Portable: ASCII lower-case letters, digits, "-" and one ".ipynb"; no name Windows reserves
# (CON, NUL, COM1... with any extension); short enough for any file system and for Windows'
# 260-character paths with room for the folder the notebooks are in.
PORTABLE_PART = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.ipynb)?$")
WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)", re.IGNORECASE)
MAX_PART, MAX_PATH = 64, 120


@pytest.fixture(autouse=True)
def one_parser(monkeypatch):
    monkeypatch.setattr(cli, "parser", functools.lru_cache(maxsize=None)(cli.parser))


def assert_portable(paths) -> None:
    seen: dict[str, PurePosixPath] = {}
    for path in paths:
        assert not path.is_absolute() and ".." not in path.parts, path
        for part in path.parts:
            assert PORTABLE_PART.match(part), f"{path}: {part!r} is not a portable name"
            assert not WINDOWS_RESERVED.match(part), f"{path}: {part!r} is reserved on Windows"
            assert len(part) <= MAX_PART, path
        assert len(str(path)) <= MAX_PATH, path
        folded = unicodedata.normalize("NFC", str(path)).casefold()
        assert folded not in seen, f"{path} and {seen[folded]} are one file on macOS and Windows"
        seen[folded] = path


def test_the_project_catalog_makes_portable_paths():
    from companion.course.catalog import load

    assert_portable(plan(load(Path(__file__).resolve().parents[1] / "catalog.json")))


# --------------------------------------------------------------------------------------------
# Generated ids and titles
# --------------------------------------------------------------------------------------------

NASTY = ["..", ".", "../x", "../../etc", "/abs", "a/b", "a\\b", "C:", "c:x", "con", "CON", "nul", "aux", "com1",
         "lpt9", "removed", "index", ".ipynb_checkpoints", "-a", "a-", "a--b", "A", "a b", "a\tb", "a\nb", "abc\n",
         "é", "ǅ", "ﬁ", "ａ", "x" * 48, "x" * 49, "x" * 200, "a.b", "a:b", "a*b", "a?b", 'a"b', "a<b>", "a|b", "",
         "\u202e", "\x00", "1", "01", "lesson-1", "optional-extras"]
IDS = st.one_of(st.sampled_from(NASTY), st.from_regex(r"[a-z0-9][a-z0-9-]{0,50}", fullmatch=True),
                st.text(max_size=10))
TITLES = st.one_of(st.sampled_from(NASTY + ["Intro", "INTRO", "intro!", "Über", "日本語", "😀", "…", "a" * 2000]),
                   st.text(min_size=1, max_size=60))
NUMBERS = st.one_of(st.none(), st.integers(0, 12), st.sampled_from([99, 100, 99999, 100000, -1]))


@st.composite
def catalogs(draw):
    data = every_kind_catalog()
    course = data["courses"][0]
    course["id"] = draw(st.one_of(st.just("course-a"), IDS))
    lessons = []
    for i in range(draw(st.integers(1, 5))):
        lessons.append({"id": draw(st.one_of(st.just(f"l{i}"), IDS)), "title": draw(TITLES),
                        "videos": ["v1"], **({} if (n := draw(NUMBERS)) is None else {"number": n})})
    course["lessons"] = lessons
    course.pop("phases")
    if draw(st.booleans()):
        second = json.loads(json.dumps(course))
        second["id"] = draw(IDS)
        data["courses"].append(second)
    return data


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=catalogs())
def test_every_accepted_catalog_lays_out_portable_paths_inside_the_folder(capsys, tmp_path_factory, data):
    if schema_problems(data):
        return  # refused by the schema (its places are fuzzed in test_fuzz)
    try:
        catalog = from_data(data)
    except CatalogError:
        return
    try:
        planned = plan(catalog)
    except BuildError as e:
        # refused: then the CLI says so in one line, exit 2, and writes nothing
        folder = tmp_path_factory.mktemp("refused")
        path = write_json(folder / "catalog.json", data)
        code, _, err = run_cli(capsys, "build", "--catalog", path, "--out", folder / "out", "--no-trust")
        assert code == 2 and err == f"companion: {e}\n"
        assert not (folder / "out").exists()
        return
    assert_portable(planned)
    assert len(planned) == len(TOP) + sum(1 + len(c.lessons) for c in catalog.courses.values())


# --------------------------------------------------------------------------------------------
# Named cases
# --------------------------------------------------------------------------------------------

def _catalog_with(tmp_path: Path, change) -> Path:
    data = every_kind_catalog()
    change(data)
    return write_json(tmp_path / "catalog.json", data)


@pytest.mark.parametrize("course_id", ["..", "../x", "/abs", "a/b", "a\\b", "C:", "A", "a b", "abc\n", "x" * 49,
                                       ".ipynb_checkpoints", "", "é"])
def test_course_ids_that_could_leave_the_folder_are_refused(tmp_path, capsys, course_id):
    path = _catalog_with(tmp_path, lambda d: d["courses"][0].update(id=course_id))
    code, _, err = run_cli(capsys, "build", "--catalog", path, "--out", tmp_path / "out", "--no-trust")
    assert code == 2
    lines = problem_lines(err)
    assert lines and all(CATALOG_PLACE.match(l) for l in lines)
    assert any(l.startswith("courses[0].id: ") for l in lines), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("lesson_id", ["..", "../x", "/abs", "a/b", "a\\b", "Intro", "a.ipynb", "x\n", "-x"])
def test_lesson_ids_that_could_leave_the_folder_are_refused(tmp_path, capsys, lesson_id):
    path = _catalog_with(tmp_path, lambda d: d["courses"][0]["lessons"][2].update(id=lesson_id))
    code, _, err = run_cli(capsys, "build", "--catalog", path, "--out", tmp_path / "out", "--no-trust")
    assert code == 2
    assert "courses[0].lessons[2].id: " in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("course_id, why", [("removed", "archives removed notebooks"), ("con", "Windows"),
                                            ("nul", "Windows"), ("com1", "Windows"), ("lpt3", "Windows")])
def test_course_folders_the_build_or_windows_need_are_refused(tmp_path, capsys, course_id, why):
    """`removed/` holds archived notebooks (a course there would lose learners' work: the writer
    never looks inside it); CON, NUL, COM1... cannot be created on Windows."""
    path = _catalog_with(tmp_path, lambda d: d["courses"][0].update(id=course_id))
    code, _, err = run_cli(capsys, "build", "--catalog", path, "--out", tmp_path / "out", "--no-trust")
    assert code == 2
    assert err.startswith(f'companion: courses "{course_id}": ') and why in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("lesson_id", ["con", "aux", "prn", "com9"])
def test_unnumbered_lessons_named_like_windows_devices_are_refused(tmp_path, capsys, lesson_id):
    path = _catalog_with(tmp_path, lambda d: d["courses"][0]["lessons"][2].update(id=lesson_id))
    code, _, err = run_cli(capsys, "build", "--catalog", path, "--out", tmp_path / "out", "--no-trust")
    assert code == 2 and f'lesson "{lesson_id}"' in err and "Windows" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("title", ["../../../etc/passwd", "/etc/passwd", "C:\\Windows\\system32", "CON", "nul.txt",
                                   'a:b*c?d"e<f>g|h', "😀😀", "日本語のタイトル", "\u202egnp.exe", "…", "x" * 2000,
                                   ". . .", "Ünïcödé — Straße", "ǅungla ﬁsh"])
def test_hostile_titles_become_portable_file_names(tmp_path, capsys, title):
    path = _catalog_with(tmp_path, lambda d: d["courses"][0]["lessons"][0].update(title=title))
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "build", "--catalog", path, "--out", out, "--no-trust")
    assert code == 0, err
    written = [PurePosixPath(p) for p in snapshot(out)]
    assert_portable(written)
    for p in out.rglob("*"):
        assert p.resolve().is_relative_to(out.resolve())
    assert {p.parts[0] for p in written} == {*TOP, "course-a"}


def test_numbers_pad_to_the_widest_and_stay_short(tmp_path):
    data = every_kind_catalog()
    data["courses"][0]["lessons"][0]["number"] = 99999
    data["courses"][0]["phases"] = []
    names = [p.name for p in plan(from_data(data))]
    assert "99999-getting-started.ipynb" in names and "00002-going-on.ipynb" in names
    assert_portable(plan(from_data(data)))


@pytest.mark.parametrize("change, clash", [
    # an unnumbered lesson whose id is a numbered lesson's file name
    (lambda l: l[2].update(id="01-getting-started"), "01-getting-started.ipynb"),
    # an unnumbered lesson whose id is the course index's name would overwrite it
    (lambda l: l[2].update(id="index-course-a"), "index-course-a.ipynb"),
])
def test_two_lessons_never_share_a_file(tmp_path, capsys, change, clash):
    data = every_kind_catalog()
    change(data["courses"][0]["lessons"])
    assert not schema_problems(data)
    with pytest.raises(BuildError, match=re.escape(clash)):
        plan(from_data(data))
    path = write_json(tmp_path / "catalog.json", data)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("learner's file")
    before = snapshot(out)
    code, _, err = run_cli(capsys, "build", "--catalog", path, "--out", out)
    assert code == 2
    assert err.startswith('companion: courses "course-a": lesson "') and clash in err and err.count("\n") == 1
    assert snapshot(out) == before


def test_titles_that_slug_alike_still_get_their_own_files():
    """Numbers keep numbered lessons apart even when their titles make the same slug."""
    data = every_kind_catalog()
    for lesson, title in zip(data["courses"][0]["lessons"][:2], ["Intro!", "INTRO?"], strict=True):
        lesson["title"] = title
    paths = plan(from_data(data))
    assert PurePosixPath("course-a/01-intro.ipynb") in paths and PurePosixPath("course-a/02-intro.ipynb") in paths
    assert_portable(paths)


@pytest.mark.parametrize("course", ["../escape", "Bad Id", "a/b", "", "removed-", "x" * 49])
def test_import_refuses_a_course_id_that_is_not_a_folder_name(tmp_path, capsys, course):
    index = tmp_path / "index.md"
    index.write_text("## Chan — Series\n\n| # | Title | Lesson |\n|---|---|---|\n| 1 | A video | 1 |\n")
    code, _, err = run_cli(capsys, "import", index, "--course", course, "--catalog", tmp_path / "catalog.json")
    assert code == 2 and err.startswith("companion: --course: ")
    assert not (tmp_path / "catalog.json").exists()
