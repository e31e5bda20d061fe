"""Names derived from catalog text: slugs for ids and file names, keys for matching titles."""

from __future__ import annotations

import re
import unicodedata

_NON_SLUG = re.compile(r"[^a-z0-9]+")
_BRACKETED = re.compile(r"\s*[\[(][^\])]*[\])]\s*")
MAX_SLUG = 48
# Index notebooks, named so a learner tells them apart in tabs and the file browser: the top
# index, and each course's index in its folder. Not starting with a digit: those are lessons.
TOP_INDEX = "start-here.ipynb"
LEGACY_INDEX = "index.ipynb"  # what builds before these names wrote; a rebuild moves them


def course_index(course_id: str) -> str:
    """The file name of a course's index notebook: `index-<course id>.ipynb`."""
    return f"index-{course_id}.ipynb"


def capitalised(title: str) -> str:
    """A title as a page shows it: one whose first word is written all in lower case, as a series
    may name its episodes ("what is a Neural Network?"), starts with a capital; any other first
    word ("e^(iπ)", "iPhone", "3Blue1Brown") is kept as written."""
    first = title.split(" ", 1)[0]
    return title[0].upper() + title[1:] if first.isalpha() and first.islower() else title


def slug(text: str, limit: int = MAX_SLUG) -> str:
    """ASCII, lower-case, `-`-separated: safe as a file name on every system."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(out) > limit:
        cut = out[: limit + 1]
        out = cut[: cut.rfind("-")] if "-" in cut[limit // 2:] else out[:limit]
    return out.rstrip("-") or "untitled"


def title_key(title: str) -> str:
    """Case, punctuation and spacing don't make two titles different."""
    return " ".join(_NON_SLUG.sub(" ", unicodedata.normalize("NFKD", title).lower()).split())


def title_keys(title: str) -> list[str]:
    """The title's key, then the key without bracketed asides ("[Grokking]", "(Deep Learning, Chapter 3)")."""
    keys = [title_key(title)]
    bare = title_key(_BRACKETED.sub(" ", title))
    if bare and bare not in keys:
        keys.append(bare)
    return keys
