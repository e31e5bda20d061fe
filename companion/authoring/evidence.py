"""YouTube ids for the videos a source list names by title only, proposed with the public pages that confirm them.

The importer never guesses an id: a row without a link becomes a video with a search link. This
module proposes an id for such a video only when pages an author collected name it — its title
(or an alias) and its series' channel — and agree on one id, from at least `MIN_SOURCES`
independent places; a disagreement, a lone source or an id another video already has proposes
nothing. Where the pages come from is a `Source`: `EvidenceFile` reads them from a JSON file the
author keeps beside the catalog, so proposing needs no network and a test gives it a file.
`accept` writes the proposals into catalog data: the id, its pages as `evidence`, no search link.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from companion.course import youtube
from companion.course.names import title_keys
from companion.errors import CatalogError

MIN_SOURCES = 2  # independent places (a host; on GitHub an account) that must name the same id


@dataclass(frozen=True)
class Page:
    """What one public page says of a video: its address, the id it gives, the title and channel it names."""

    url: str
    youtube: str
    title: str
    channel: str = ""

    @property
    def place(self) -> str:
        """Who published the page: its host, or host and account where one host serves many authors."""
        parts = urlsplit(self.url)
        host = (parts.hostname or "").removeprefix("www.")
        if host in ("github.com", "raw.githubusercontent.com", "gist.github.com"):
            return "github.com/" + parts.path.strip("/").split("/")[0].lower()
        return host


class Source(Protocol):
    """Where the pages come from: a file an author keeps (`EvidenceFile`), or any other lookup."""

    def pages(self) -> Iterable[Page]:
        """Every page the source knows, whatever video it is about."""
        ...


@dataclass(frozen=True)
class EvidenceFile:
    """Pages listed in a JSON file: `{"pages": [{"url", "youtube", "title", "channel"}, …]}`."""

    path: Path

    def pages(self) -> list[Page]:
        """The file's pages; a `CatalogError` naming each malformed entry by its place, and nothing read."""
        try:
            data = json.loads(Path(self.path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            raise CatalogError([f"{self.path}: cannot read: {e}"]) from None
        except json.JSONDecodeError as e:
            raise CatalogError([f"{self.path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}"]) from None
        entries = data.get("pages") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise CatalogError([f'{self.path}: expected {{"pages": [...]}}, a list of pages'])
        problems = [p for i, entry in enumerate(entries) for p in _entry_problems(f"{self.path}: pages[{i}]", entry)]
        if problems:
            raise CatalogError(problems)
        return [Page(e["url"], e["youtube"], e["title"], e.get("channel", "")) for e in entries]


def _entry_problems(at: str, entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        return [f"{at}: expected an object with url, youtube and title"]
    problems = [f"{at}.{k}: missing or not text" for k in ("url", "youtube", "title")
                if not isinstance(entry.get(k), str) or not entry[k].strip()]
    if not isinstance(entry.get("channel", ""), str):
        problems.append(f"{at}.channel: not text")
    if problems:
        return problems
    if not youtube.is_http_url(entry["url"]):
        problems.append(f"{at}.url: not an http(s) address: {entry['url']!r}")
    if not youtube.VIDEO_ID.match(entry["youtube"]):
        problems.append(f"{at}.youtube: malformed YouTube id {entry['youtube']!r} (11 characters of A-Z a-z 0-9 _ -)")
    return problems


@dataclass(frozen=True)
class Proposal:
    """An id for a catalog video, with the pages that name it (in the source's order)."""

    video: str
    title: str
    youtube: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Unresolved:
    """A video still without an id, and why no id is proposed."""

    video: str
    title: str
    why: str


def propose(data: dict[str, Any], source: Source) -> tuple[list[Proposal], list[Unresolved]]:
    """For every catalog video without a YouTube id: a proposal, or the reason there is none."""
    pages = list(source.pages())
    channels = {s["id"]: s.get("channel", "") for s in data.get("series", [])}
    taken = {v["youtube"]: v["id"] for v in data.get("videos", []) if v.get("youtube")}
    proposals: list[Proposal] = []
    left: list[Unresolved] = []
    for v in data.get("videos", []):
        if v.get("youtube"):
            continue
        found = [p for p in pages if _names(p, v, channels.get(v.get("series", ""), ""))]
        ids = list(dict.fromkeys(p.youtube for p in found))
        why = ""
        if not ids:
            why = "no page names this video"
        elif len(ids) > 1:
            counts = ", ".join(f"{i} ({sum(p.youtube == i for p in found)} pages)" for i in ids)
            why = f"the pages disagree: {counts}"
        elif len({p.place for p in found}) < MIN_SOURCES:
            why = f"only {len({p.place for p in found})} independent source names {ids[0]}; {MIN_SOURCES} are needed"
        elif ids[0] in taken:
            why = f"{ids[0]} is already the id of video \"{taken[ids[0]]}\""
        if why:
            left.append(Unresolved(v["id"], v["title"], why))
        else:
            proposals.append(Proposal(v["id"], v["title"], ids[0], tuple(dict.fromkeys(p.url for p in found))))
            taken[ids[0]] = v["id"]
    return proposals, left


def _names(page: Page, video: dict[str, Any], channel: str) -> bool:
    """Whether the page is about this video: it names the video's title or an alias, with or without
    a bracketed aside ("[Grokking]"), as whole words, and, when both say, the same channel (by their
    first word: "MIT OCW" is "MIT OpenCourseWare")."""
    said = [f" {k} " for k in title_keys(page.title)]
    wanted = [f" {k} " for t in (video["title"], *video.get("aliases", ())) for k in title_keys(t)]
    if not any(w.strip() and w in s for w in wanted for s in said):
        return False
    if page.channel and channel:
        return _first_word(page.channel) == _first_word(channel)
    return True


def _first_word(channel: str) -> str:
    keys = title_keys(channel)
    return keys[0].split()[0] if keys and keys[0] else ""


def accept(data: dict[str, Any], proposals: Iterable[Proposal]) -> int:
    """Write the proposals into catalog data (in place): each video gets its id and `evidence`, in
    place of the search link. Returns how many videos changed."""
    by_id = {p.video: p for p in proposals}
    changed = 0
    for i, v in enumerate(data.get("videos", [])):
        p = by_id.get(v["id"])
        if p is None or v.get("youtube"):
            continue
        fields: dict[str, Any] = {}
        for key, value in v.items():
            if key == "url":
                fields["youtube"], fields["evidence"] = p.youtube, list(p.evidence)
            else:
                fields[key] = value
        fields.setdefault("youtube", p.youtube)
        fields.setdefault("evidence", list(p.evidence))
        data["videos"][i] = fields
        changed += 1
    return changed
