"""The tests' one module of shared pieces (conftest.py holds only pytest fixtures): the small
catalog most tests build, a catalog using every kind of entry, a large synthetic one, and an
in-process CLI runner."""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "sources"  # the five source documents, kept in the repository as given
PYTHON = sys.executable

# A problem line names its place: a catalog path (`courses[0].lessons[1].videos[0]: ...`,
# `videos[3].youtube: ...`, `(top level): ...`), a file with a line (`index.md:12: ...`,
# `catalog.json:3:7: invalid JSON ...`) or the file itself (`catalog.json: no such file`).
CATALOG_PLACE = re.compile(r"^(\(top level\)|(series|videos|resources|courses|settings|\$schema)(\[\d+\]|\.[A-Za-z_$][\w$]*)*): \S")
FILE_PLACE = re.compile(r"^(?P<file>[^\n:]+?)(:(?P<line>\d+)(:\d+)?)?: \S")
SUMMARY = re.compile(r"^\d+ problem\(s\); nothing was written$")


def yt(i: int) -> str:
    """A well-formed (fake) 11-character YouTube id."""
    return f"v{i:010d}"


def every_kind_catalog() -> dict[str, Any]:
    """A valid catalog using every kind of entry: series with notes and resources, YouTube and
    url-only videos, playlist and plain resources, phases, numbered and unnumbered lessons,
    string and object assignments, own prompts."""
    return copy.deepcopy({
        "$schema": "companion/course/catalog.schema.json",
        "settings": {"privacy_enhanced": False},
        "series": [
            {"id": "s-one", "title": "Series One", "channel": "Chan", "note": "About one.", "resources": ["pl-one"]},
            {"id": "s-two", "title": "Series Two", "channel": "Other"},
        ],
        "videos": [
            {"id": "v1", "title": "First video", "series": "s-one", "number": "1", "youtube": yt(1)},
            {"id": "v2", "title": "Second video", "series": "s-one", "number": "2", "youtube": yt(2),
             "start": 10, "end": 100, "note": "Watch closely."},
            {"id": "v3", "title": "Third video", "series": "s-two", "url": "https://www.youtube.com/results?search_query=third",
             "date": "2020-01-01", "aliases": ["The third"]},
            {"id": "v4", "title": "Fourth video", "youtube": yt(4)},
        ],
        "resources": [
            {"id": "pl-one", "title": "Series One playlist", "kind": "playlist",
             "url": "https://www.youtube.com/playlist?list=PL0123456789abcdef", "playlist": "PL0123456789abcdef",
             "series": "s-one"},
            {"id": "book", "title": "A book", "kind": "book", "url": "https://example.org/book", "note": "Chapter 2."},
        ],
        "courses": [
            {"id": "course-a", "title": "Course A", "source": "index.md", "note": "A course.",
             "phases": [{"id": "phase-1", "title": "Phase 1", "first": 1, "last": 2, "note": "Start here."}],
             "lessons": [
                 {"id": "lesson-1", "number": 1, "title": "Getting started", "note": "First things.",
                  "videos": ["v1", {"id": "v2", "title": "Second, renamed", "note": "Here.", "start": 5}],
                  "resources": ["pl-one", {"id": "book", "note": "Read it."}]},
                 {"id": "lesson-2", "number": 2, "title": "Going on", "videos": ["v3", "v4"],
                  "prompts": [{"id": "p1", "text": "What did you learn?"}]},
                 {"id": "extras", "title": "Optional extras", "videos": [{"id": "v1", "playlist": "PL0123456789abcdef"}]},
             ]},
        ],
    })


def synthetic_catalog(lessons: int, videos_per_lesson: int = 10, *, courses: int = 1, series: int = 20,
                      tag: str = "") -> dict[str, Any]:
    """A valid catalog of `courses` courses with `lessons` lessons in all, each assigning
    `videos_per_lesson` videos of its own (so `lessons * videos_per_lesson` videos), every
    video in one of `series` series. `tag` goes into titles and notes, so two catalogs that
    differ only in `tag` give the same files with different bytes."""
    data: dict[str, Any] = {"series": [], "videos": [], "resources": [], "courses": []}
    for s in range(series):
        data["series"].append({"id": f"series-{s}", "title": f"Series {s}", "channel": f"Channel {s % 7}",
                               "note": f"About series {s}. {tag}".strip()})
    per_course = -(-lessons // courses)
    n = 0
    for c in range(courses):
        course = {"id": f"course-{c}", "title": f"Course {c}", "note": f"Synthetic course {c}. {tag}".strip(),
                  "lessons": []}
        for l in range(min(per_course, lessons - c * per_course)):
            vids = []
            for k in range(videos_per_lesson):
                vid = f"vid-{n}"
                video = {"id": vid, "title": f"Video {n} about topic {k}", "series": f"series-{n % series}",
                         "number": str(k + 1)}
                if n % 5 == 4:
                    video["url"] = f"https://www.youtube.com/results?search_query=video+{n}"
                else:
                    video["youtube"] = yt(n)
                data["videos"].append(video)
                vids.append(vid if k % 3 else {"id": vid, "note": f"Note on {n}. {tag}".strip()})
                n += 1
            course["lessons"].append({"id": f"lesson-{l + 1}", "number": l + 1,
                                      "title": f"Lesson title number {l + 1}",
                                      "note": f"Lesson {l + 1} of course {c}. {tag}".strip(), "videos": vids})
        data["courses"].append(course)
    return data


def write_json(path: Path, data: Any) -> Path:
    path = Path(path)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`companion ARGV` in this process: (exit code, stdout, stderr). Anything the CLI lets
    escape (a traceback for the user) propagates and fails the test."""
    from companion.cli import main

    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def problem_lines(err: str) -> list[str]:
    """The problem lines of a CLI error output, without the closing summary line."""
    return [l for l in err.split("\n") if l and not SUMMARY.match(l)]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative posix path → bytes), but the build's stamp (machine state,
    not content: its own tests are in test_noop_build.py)."""
    from companion.builder.stamp import NAME

    folder = Path(folder)
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != NAME}


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def small_catalog() -> dict[str, Any]:
    """Two series, four videos, one course of three lessons: enough to exercise every cell kind."""
    return {
        "series": [{"id": "s1", "title": "Series One", "channel": "Chan", "note": "About series one."}],
        "videos": [
            {"id": "aircAruvnKk", "title": "But what is a neural network?", "series": "s1", "youtube": "aircAruvnKk"},
            {"id": "IHZwWFHWa-w", "title": "Gradient descent", "series": "s1", "youtube": "IHZwWFHWa-w"},
            {"id": "Ilg3gGewQ5U", "title": "Backpropagation", "series": "s1", "youtube": "Ilg3gGewQ5U"},
            {"id": "no-link", "title": "A lecture with no link", "url": "https://www.youtube.com/results?search_query=x"},
        ],
        "resources": [{"id": "pl", "title": "The playlist", "kind": "playlist",
                       "url": "https://www.youtube.com/playlist?list=PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi",
                       "playlist": "PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi"}],
        "courses": [{"id": "c1", "title": "Course One", "lessons": [
            {"id": "l1", "number": 1, "title": "First", "videos": ["aircAruvnKk", {"id": "IHZwWFHWa-w", "start": 90}],
             "resources": ["pl"]},
            {"id": "l2", "number": 2, "title": "Second", "videos": ["Ilg3gGewQ5U", "no-link"]},
            {"id": "l3", "number": 3, "title": "Third", "videos": ["aircAruvnKk"]},
        ]}],
    }


def write_catalog(folder: Path, data: dict[str, Any]) -> Path:
    """`data` as `catalog.json` in `folder`."""
    path = folder / "catalog.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path
