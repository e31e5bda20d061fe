"""The committed notebooks hold every video of the five seeds, in the lessons the seeds assign.

The seeds are read here with a few regular expressions of the test's own, not with the
importer, so an importer bug cannot hide itself."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from helpers import ROOT, SEEDS

NOTEBOOKS = ROOT / "notebooks"
WATCH = re.compile(r"(?:watch\?v=|youtu\.be/)([A-Za-z0-9_-]{11})")


def lessons_of(cell: str) -> list[int | str]:
    out: list[int | str] = []
    for part in cell.split(","):
        part = part.strip()
        if part in ("Optional", "General"):
            out.append("extras")
        elif m := re.fullmatch(r"(\d+)\s*[–-]\s*(\d+)", part):
            out += range(int(m[1]), int(m[2]) + 1)
        elif part.isdigit():
            out.append(int(part))
    return out


def seed_rows(name: str) -> list[tuple[str, list[int | str], str | None]]:
    """(title, lessons, youtube id or None) for every table row of an index seed."""
    rows = []
    header: list[str] = []
    for line in (SEEDS / name).read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header:
            header = [c.lower() for c in cells]
            continue
        if set(line) <= set("|-: "):
            continue
        lesson = cells[header.index("lesson")]
        title = cells[header.index("video")] if "video" in header else cells[1 if header[0] in ("#", "lecture", "ch") else 0]
        m = WATCH.search(line)
        rows.append((title, lessons_of(lesson), m[1] if m else None))
    return rows


def notebook_for(course: str, lesson: int | str) -> dict:
    pattern = f"{lesson:02d}-*.ipynb" if isinstance(lesson, int) else "optional-extras.ipynb"
    found = list((NOTEBOOKS / course).glob(pattern))
    assert len(found) == 1, f"{course} lesson {lesson}: expected one notebook, found {found}"
    return nbformat.read(found[0], as_version=4)


def embedded_ids(nb: dict) -> set[str]:
    html = " ".join(str(o.get("data", {}).get("text/html", "")) for c in nb["cells"] for o in c.get("outputs", []))
    return set(re.findall(r"youtube\.com/embed/([A-Za-z0-9_-]{11})", html))


SEED_INDEXES = ("000_68aef646c0788ccf.txt", "001_d1d7603f62d58559.txt")


def key(title: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", title.lower())).split())


def test_every_linked_video_of_the_67_lesson_index_is_embedded_in_each_lesson_it_is_assigned_to():
    pairs = [(lesson, vid) for _, lessons, vid in seed_rows("000_68aef646c0788ccf.txt") if vid for lesson in lessons]
    assert len(pairs) > 100
    missing = [(l, v) for l, v in pairs if v not in embedded_ids(notebook_for("math-for-ml", l))]
    assert missing == []


def test_videos_of_the_32_lesson_index_are_resolved_by_title_and_embedded_in_their_lessons():
    known = {key(t): vid for t, _, vid in seed_rows("000_68aef646c0788ccf.txt") if vid}
    rows = seed_rows("001_d1d7603f62d58559.txt")
    pairs = [(lesson, known[key(t)]) for t, lessons, _ in rows if key(t) in known for lesson in lessons]
    assert len(pairs) >= 30, "the 32-lesson index shares most titles with the 67-lesson one"
    missing = [(l, v) for l, v in pairs if v not in embedded_ids(notebook_for("ml-foundations", l))]
    assert missing == []


def test_an_id_for_a_row_without_a_link_comes_only_with_its_evidence_and_the_rest_keep_a_search_link():
    """The seeds name Strang's lectures (and others) by title only: an id the catalog holds for such a
    video carries the pages that confirm it; a video without one keeps a search link, never a guess."""
    rows = [row for seed in SEED_INDEXES for row in seed_rows(seed)]
    titled_only = {key(t) for t, _, vid in rows if vid is None} - {key(t) for t, _, vid in rows if vid}
    catalog = json.loads((ROOT / "catalog.json").read_text())
    named = [v for v in catalog["videos"] if {key(v["title"]), *map(key, v.get("aliases", []))} & titled_only]
    assert len(named) >= 20
    for v in named:
        if v.get("youtube"):
            assert len(v.get("evidence", [])) >= 2, v["id"]
            assert "url" not in v, v["id"]
        else:
            assert "evidence" not in v and ("/search?query=" in v["url"] or "search_query=" in v["url"]), v["id"]
    assert sum(not v.get("youtube") for v in catalog["videos"]) <= 6


def test_the_svd_lesson_plays_strangs_lecture_29():
    nb = notebook_for("ml-foundations", 8)
    assert embedded_ids(nb) == {"TX_vooSnhm8"}


@pytest.mark.parametrize("course, seed, count", [
    ("intuition-3blue1brown", "002_0598ed8ac41e3d14.txt", 9),
    ("llms-asap", "003_8aa86ed609bd4dca.txt", 13),
])
def test_every_video_of_an_ordered_list_is_embedded_in_its_course_in_order(course, seed, count):
    ids = list(dict.fromkeys(WATCH.findall((SEEDS / seed).read_text(encoding="utf-8"))))
    assert len(ids) == count
    lessons = sorted((NOTEBOOKS / course).glob("[0-9][0-9]-*.ipynb"))
    assert [sorted(embedded_ids(nbformat.read(p, as_version=4))) for p in lessons] == [[i] for i in ids]


def test_the_seven_chapter_recommendation_resolves_every_title_to_a_linked_video_with_its_date():
    text = (SEEDS / "004_7cc32e4b57a73c47.txt").read_text(encoding="utf-8")
    dates = re.findall(r"^(\w{3} \d{4}) ", text, flags=re.M)
    lessons = sorted((NOTEBOOKS / "deep-learning-3blue1brown").glob("[0-9][0-9]-*.ipynb"))
    assert len(lessons) == 7 == len(dates)
    expected = ["aircAruvnKk", "IHZwWFHWa-w", "Ilg3gGewQ5U", "tIeHLnjs5U8", "wjZofJX0v4M", "eMlx5fFNoYc", "9-Jl0dxWQs8"]
    for path, vid, date in zip(lessons, expected, dates, strict=True):
        nb = nbformat.read(path, as_version=4)
        assert embedded_ids(nb) == {vid}
        assert date in "".join(c["source"] for c in nb["cells"])


def test_curators_words_are_shown_in_the_lessons():
    nb = notebook_for("intuition-3blue1brown", 2)
    text = "".join(c["source"] for c in nb["cells"])
    assert "visualization of the loss \\(cost\\) function" in text
    nb = notebook_for("math-for-ml", 13)
    assert "The visual, intuition-first approach to calculus." in "".join(c["source"] for c in nb["cells"])
