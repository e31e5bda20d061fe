"""What a build did or would do: its `Change`s and the `Report` the API returns.

Apart from the writer so that a no-op build (`companion.stamp`) can answer without importing nbformat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from companion.builder.scan import Existing
    from companion.notebook.merge import Cells


@dataclass(frozen=True)
class Change:
    """One file the build would touch (or `keep`), with the reason shown by build and --dry-run."""

    action: str  # add update remove archive aside remerge skip copy progress, or keep (the file as it is)
    path: PurePosixPath
    reason: str
    stale: str | None = None  # the reason --check reports it; None: --check lets it pass
    write: NotebookNode | str | None = field(default=None, compare=False, repr=False)  # new content
    sign: NotebookNode | None = field(default=None, compare=False, repr=False)  # to trust once written
    plan: NotebookNode | None = field(default=None, compare=False, repr=False)  # what the catalog asks for
    read: Existing | None = field(default=None, compare=False, repr=False)  # the file the learner's work came from
    replaces: Existing | None = field(default=None, compare=False, repr=False)  # the file at `path` as read
    aside: PurePosixPath | None = None  # where the bytes at `path` are kept before it is written
    moves: Moves | None = field(default=None, compare=False, repr=False)  # work crossing to or from other lessons


@dataclass
class Report:
    """What a build changed (or, dry or checking, would change)."""

    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    trusted: int = 0
    out: Path | None = None  # the output folder
    notebooks: int = 0  # how many notebooks the catalog makes
    twins: bool = False  # whether text twins were kept (or checked) too

    def count(self, action: str) -> int:
        """How many listed changes are of `action` (kept files are counted in `unchanged`)."""
        return sum(1 for c in self.changes if c.action == action)

    @property
    def stale(self) -> list[Change]:
        """The changes `--check` reports: generated content that does not match the catalog."""
        return [c for c in self.changes if c.stale is not None]


@dataclass(frozen=True)
class Moves:
    """Work crossing between lessons in one build, as one notebook sees it: `incoming`, what it
    takes from others under the id of the generated cell it goes under; `sent`, what left it
    with a video or prompt (as read: `decide` lets it go only while the file still holds it so)."""

    incoming: dict[str, Cells] = field(default_factory=dict)
    sent: dict[str, Cells] = field(default_factory=dict)
    why: tuple[str, ...] = ()  # for the report: what came from where, what went where
    waiting: tuple[str, ...] = ()  # for --check: the work it would take in
