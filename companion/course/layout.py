"""Where the build puts things under the output folder: course folders, notebook file names,
the names it can't use, the archive of removed lessons and the text twins' paths (in `text/`
beside the output folder)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

from companion.course.catalog import Course, Lesson
from companion.course.names import TOP_INDEX, course_index, slug

INDEX = TOP_INDEX  # the catalog's index at the top; each course's is `course_index(course id)` in its folder
ANSWERS = "my-answers-and-notes.ipynb"  # beside the top index: the learner's answers and notes, gathered
REVIEW = "review.ipynb"  # the spaced review, beside the top index (its kernel reads the lessons from there)
TOP = (INDEX, REVIEW, ANSWERS)  # the notebooks beside the course folders
REMOVED_FOLDER = "removed"  # where the writer archives notebooks of lessons that left the catalog
KEPT_FOLDER = "kept-aside"  # where it keeps the bytes of notebooks it could not read or match
CHECKPOINTS = ".ipynb_checkpoints"  # JupyterLab's copies, never the build's
TWIN_SUFFIX = ".md"
# Names Windows refuses for a file or folder, whatever the extension (CON, CON.ipynb, ...).
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)", re.IGNORECASE)


def reserved(name: str) -> str | None:
    """Why `name` can't be a course folder or a notebook file, or None when it can."""
    if name == REMOVED_FOLDER:
        return "the build archives removed notebooks there"
    if name == KEPT_FOLDER:
        return "the build keeps notebooks it could not read there"
    if _WINDOWS_RESERVED.match(name):
        return "Windows reserves the name"
    return None


def is_build_file(rel: PurePosixPath) -> bool:
    """Whether a path under the output folder is one the build may own (not a checkpoint, not archived)."""
    return CHECKPOINTS not in rel.parts and (rel.parts[:1] or ("",))[0] not in (REMOVED_FOLDER, KEPT_FOLDER)


def archived(path: PurePosixPath) -> PurePosixPath:
    """Where the notebook of a lesson that left the catalog is kept when the learner wrote in it."""
    return PurePosixPath(REMOVED_FOLDER) / path


TEXT_FOLDER = "text"  # the text twins' folder, beside the output folder: out of the learner's file browser


def twin_path(notebook: PurePosixPath) -> PurePosixPath:
    """`llms-asap/02-x.ipynb` → `../text/llms-asap/02-x.md`: relative to the output folder, in
    `text/` beside it, so JupyterLab (rooted at the notebooks) never lists a twin."""
    return PurePosixPath("..", TEXT_FOLDER, *notebook.with_suffix(TWIN_SUFFIX).parts)


def twin_root(out: Path) -> Path:
    """The folder `twin_path` points into, for the output folder `out`."""
    return Path(os.path.normpath(out / ".." / TEXT_FOLDER))


def catalog_from(notebook_folder: Path, catalog: Path) -> str:
    """The catalog's path as a notebook in `notebook_folder` records it: relative (POSIX), so the
    output folder can move with its catalog; absolute when no relative path exists (another drive)."""
    target = catalog.resolve()
    try:
        return Path(os.path.relpath(target, notebook_folder.resolve())).as_posix()
    except ValueError:
        return target.as_posix()


@dataclass(frozen=True)
class Layout:
    """Where each notebook of a course goes, relative to the output folder."""

    course: Course

    @property
    def folder(self) -> PurePosixPath:
        """The course's folder under the output folder: its id."""
        return PurePosixPath(self.course.id)

    @cached_property
    def _width(self) -> int:  # once per course, not once per name: a build names each lesson ~4 times
        return max(2, len(str(max(l.number for l in self.course.lessons if l.number is not None))))

    def name(self, lesson: Lesson) -> str:
        """The lesson's file name: `<NN>-<slug of title>.ipynb`, or `<id>.ipynb` for an unnumbered one."""
        if lesson.number is None:
            return f"{lesson.id}.ipynb"
        return f"{lesson.number:0{self._width}d}-{slug(lesson.title, 40)}.ipynb"

    def path(self, lesson: Lesson) -> PurePosixPath:
        """Where the lesson's notebook goes, relative to the output folder."""
        return self.folder / self.name(lesson)

    @property
    def index(self) -> PurePosixPath:
        """Where the course index goes: `<course>/index-<course>.ipynb`, so tabs tell the indexes apart."""
        return self.folder / course_index(self.course.id)
