#!/usr/bin/env python3
"""How long the service takes to draw the instructor's page (the event loop waits meanwhile).

    .venv/bin/python bench/hub_pages.py                   # 30, 200 and 1000 learners in every course
    .venv/bin/python bench/hub_pages.py --learners 200

The catalog is the repository's; each learner has ticked every item of a random number of lessons
of each course (the same numbers on every run). Prints, per class size, the rows, the page's size,
and the CPU time (best of `--repeat`) of `report.progress` (the data) and of the template drawing it.
"""

from __future__ import annotations

import argparse
import functools
import random
import time
from collections.abc import Callable
from pathlib import Path

from companion.course.catalog import load
from companion.hub import report
from companion.hub.db import Row
from companion.hub.service import render
from companion.learner.tally import lesson_items

ROOT = Path(__file__).resolve().parent.parent


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, nargs="*", default=[30, 200, 1000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cat = load(ROOT / "catalog.json")
    for size in args.learners:
        rng = random.Random(size)
        rows = [Row(f"learner-{k:04d}", course.id, lesson.id, item, True, 1.78e9 + k, 1.78e9)
                for course in cat.courses.values() for k in range(size)
                for lesson in course.ordered()[:rng.randrange(len(course.lessons) + 1)]
                for item, _ in lesson_items(cat, lesson)]
        progress = report.progress(cat, rows)
        page = render("instructor.html", prefix="/services/companion/", progress=progress)
        data = best(functools.partial(report.progress, cat, rows), args.repeat)
        drawn = best(functools.partial(render, "instructor.html", prefix="/services/companion/", progress=progress),
                      args.repeat)
        print(f"{size:5} learners x {len(cat.courses)} courses: {len(rows):7} rows, page {len(page) / 1e6:5.1f} MB, "
              f"data {data * 1000:6.0f} ms, template {drawn * 1000:6.0f} ms (CPU)")


if __name__ == "__main__":
    main()
