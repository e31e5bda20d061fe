"""The errors a caller of `companion` can act on; anything else is a bug and propagates as one.

Every kind here is a mistake in what the user gave (catalog, lesson extras, index file, arguments,
the progress store on their machine): the CLI prints its message, which names the place, and
exits 2. Nothing else is caught: a stray `KeyError` is a bug and ends in a traceback (exit 1).
"""

from __future__ import annotations

__all__ = ["CompanionError", "CatalogError", "NotFound", "BuildError", "UsageError", "StoreError", "BusyError"]


class CompanionError(Exception):
    """Base of the mistakes a user can fix; `problems` holds one line per mistake."""

    @property
    def problems(self) -> list[str]:
        """One line per mistake, each naming its place: here just the message."""
        return [str(self)]


class CatalogError(CompanionError):
    """A catalog (or lesson extra, or imported index) that cannot be used; one line per mistake."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self._problems = problems

    @property
    def problems(self) -> list[str]:
        """The mistakes as given, one a line: the CLI prints each, then how many there are."""
        return self._problems


class NotFound(CompanionError, KeyError):
    """A course or lesson id the catalog doesn't have (also a `KeyError`, as a lookup's miss)."""

    def __str__(self) -> str:  # KeyError's own str() quotes the message
        return str(self.args[0]) if self.args else ""


class BuildError(CompanionError):
    """The catalog can't be laid out as notebooks (e.g. two lessons would share a file)."""


class UsageError(CompanionError):
    """A command-line argument or an input file that can't be used."""


class StoreError(CompanionError):
    """The progress store can't be used; the message says why, where, and what was kept."""


class BusyError(CompanionError):
    """Another build or import holds the files this one needs; the message names its process."""
