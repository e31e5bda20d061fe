"""Import a markdown "Video Series Index" (a heading per series, tables of videos with lesson
numbers) as a course of the catalog, reusing the videos and resources the catalog already has.

Works on the catalog's JSON data, not the model, because the result is written back for people
to edit: what an author changed by hand in an earlier import (lesson titles, prompts, self-checks, phases,
notes) is kept when the same course is imported again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from companion.authoring.source_list import MAX_TEXT, Row, Series, parse_index
from companion.course import youtube
from companion.course.names import slug, title_keys

EXTRAS_ID = "optional-extras"
_RESOURCE_KINDS = {"playlist": "playlist", "channel": "channel", "book": "book", "listen": "podcast",
                   "podcast": "podcast", "guide": "guide", "getting started guide": "guide", "article": "article"}


class _Catalog:
    """Look-ups over the catalog data being extended."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        for key in ("series", "videos", "resources", "courses"):
            data.setdefault(key, [])
        self.ids = {x["id"] for k in ("videos", "resources") for x in data[k]}

    def fresh_id(self, base: str) -> str:
        candidate, n = base, 2
        while candidate in self.ids:
            candidate, n = f"{base}-{n}", n + 1
        self.ids.add(candidate)
        return candidate

    def series(self, s: Series) -> dict[str, Any]:
        existing = next((x for x in self.data["series"] if x["id"] == s.id), None)
        if existing is None:
            existing = {"id": s.id, "title": s.title, "channel": s.channel}
            self.data["series"].append(existing)
        for label, _text, url in s.links:
            kind = _RESOURCE_KINDS.get(label.lower(), "website")
            res = self.resource(f"{s.title}: {label}", url, kind, s.id, f"{slug(s.title, 36)}-{slug(label, 11)}")
            existing.setdefault("resources", [])
            if res["id"] not in existing["resources"]:
                existing["resources"].append(res["id"])
        return existing

    def resource(self, title: str, url: str, kind: str, series: str, id_base: str = "") -> dict[str, Any]:
        known: dict[str, Any] | None = next(
            (r for r in self.data["resources"] if r["url"] == url and r["title"] == title), None)
        if known is not None:
            return known
        link = youtube.parse(url)
        if link.kind == "playlist":
            kind = "playlist"
        r = {"id": self.fresh_id(id_base or slug(title)), "title": title, "kind": kind, "url": url}
        if link.playlist and kind == "playlist":
            r["playlist"] = link.playlist
        r["series"] = series
        self.data["resources"].append(r)
        return r

    def video_by_youtube(self, video_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = next((v for v in self.data["videos"] if v.get("youtube") == video_id), None)
        return found

    def video_by_title(self, title: str, channel: str) -> dict[str, Any] | None:
        series_channel = {s["id"]: s.get("channel", "") for s in self.data["series"]}
        wanted = title_keys(title)
        for depth in range(2):
            v: dict[str, Any]
            for v in self.data["videos"]:
                keys = [k for t in (v["title"], *v.get("aliases", ())) for k in title_keys(t)[: depth + 1]]
                same_channel = not channel or not v.get("series") or series_channel.get(v["series"]) == channel
                if same_channel and any(w in keys for w in wanted[: depth + 1]):
                    return v
        return None

    def resource_by_title(self, title: str, series: str) -> dict[str, Any] | None:
        """A resource of the series with this title: a row an author turned from a title-only video
        into the playlist, channel or article it is stays that resource."""
        wanted = title_keys(title)[0]
        found: dict[str, Any] | None = next((r for r in self.data["resources"] if r.get("series") == series
                                             and title_keys(r["title"])[0] == wanted), None)
        return found

    def new_video(self, row: Row, youtube_id: str, url: str) -> dict[str, Any]:
        v: dict[str, Any] = {"id": self.fresh_id(youtube_id or slug(f"{row.series.channel} {row.title}")),
                             "title": row.title, "series": row.series.id}
        if row.number:
            v["number"] = row.number
        if youtube_id:
            v["youtube"] = youtube_id
        else:
            v["url"] = url
        self.data["videos"].append(v)
        return v


def _search_link(row: Row, channel_url: str) -> str:
    """A search inside the series' channel when the index names one, else on YouTube."""
    if channel_url and youtube.parse(channel_url).kind == "channel":
        return channel_url.rstrip("/") + "/search?query=" + quote_plus(row.title)
    return youtube.search_url(f"{row.series.channel} {row.title}")


def _item_for_row(cat: _Catalog, row: Row) -> tuple[str, dict[str, Any]]:
    """("videos" | "resources", the assignment) for one table row, creating what the catalog lacks."""
    link = youtube.parse(row.url) if row.url else youtube.Link("other")
    assignment: dict[str, Any] = {}
    if link.kind == "video" and link.video:
        v = cat.video_by_youtube(link.video) or cat.new_video(row, link.video, "")
        if row.title != v["title"] and row.title not in v.get("aliases", []):
            v.setdefault("aliases", []).append(row.title)
        assignment["id"] = v["id"]
        if link.start:
            assignment["start"] = link.start
        if link.playlist:
            assignment["playlist"] = link.playlist
        kind = "videos"
    elif link.kind == "playlist" or (row.url and link.kind == "other"):
        label = row.link_text.lower()
        r = cat.resource(row.title, row.url, _RESOURCE_KINDS.get(label, "website"), row.series.id)
        assignment["id"] = r["id"]
        kind = "resources"
    elif (made := cat.resource_by_title(row.title, row.series.id)) is not None:  # no link, or only its channel
        assignment["id"] = made["id"]
        kind = "resources"
    else:
        channel_url = row.url or next((u for lab, _, u in row.series.links if lab.lower() == "channel"), "")
        found = cat.video_by_title(row.title, row.series.channel)
        v = found if found is not None else cat.new_video(row, "", _search_link(row, channel_url))
        if found is not None and row.title != v["title"] and row.title not in v.get("aliases", []):
            v.setdefault("aliases", []).append(row.title)
        assignment["id"] = v["id"]
        kind = "videos"
    item = next(x for x in cat.data[kind] if x["id"] == assignment["id"])
    if item.get("series") != row.series.id:  # listed here under another series than the one it was first seen in
        assignment["series"] = row.series.id
    if row.note:
        assignment["note"] = row.note
    return kind, assignment


def _lesson_title(items: list[tuple[str, int]]) -> str:
    """A title from what the lesson assigns: the items given to fewest lessons say most about it."""
    narrowest = min(span for _, span in items)
    titles = list(dict.fromkeys(t for t, span in items if span == narrowest))
    title = titles[0] if len(titles) == 1 else f"{titles[0]} · {titles[1]}"
    if len(titles) > 2:
        title += f" (+{len(titles) - 2} more)"
    return title if len(title) <= MAX_TEXT else title[: MAX_TEXT - 1] + "…"


def _in_authors_order(items: list[dict[str, Any]], previous: list[Any]) -> list[dict[str, Any]]:
    """The index's items for a lesson, those the lesson already had in the order the author gave
    them in the catalog (reordering is an edit, like a title), new ones after them."""
    rank = {(a if isinstance(a, str) else a["id"]): i for i, a in enumerate(previous)}
    return sorted(items, key=lambda a: rank.get(a["id"], len(rank)))


def import_index(data: dict[str, Any], text: str, *, course_id: str, name: str,
                 title: str | None = None) -> dict[str, Any]:
    """Add or replace course `course_id` in `data` (changed in place and returned)."""
    index_title, note, series, rows = parse_index(text, name)
    cat = _Catalog(data)
    for s in series:
        cat.series(s)
    lessons: dict[int | str, dict[str, Any]] = {}
    spans: dict[int | str, list[tuple[str, int]]] = {}
    for row in rows:
        kind, assignment = _item_for_row(cat, row)
        targets: list[int | str] = [n for n in row.lessons if isinstance(n, int)]
        labels = [n for n in row.lessons if isinstance(n, str)]
        if labels:
            targets.append(EXTRAS_ID)
            if "General" in labels:
                assignment["note"] = " ".join(filter(None, ["Listed as General in the index.", assignment.get("note")]))
        for n in targets:
            lesson = lessons.setdefault(n, {"videos": [], "resources": []})
            if all(a["id"] != assignment["id"] for a in lesson[kind]):
                lesson[kind].append(dict(assignment))
            spans.setdefault(n, []).append((row.title, len(row.lessons)))
    old = next((c for c in data["courses"] if c["id"] == course_id), None)
    old_lessons = {l["id"]: l for l in (old or {}).get("lessons", [])}
    course: dict[str, Any] = {"id": course_id, "title": title or (old or {}).get("title") or index_title or course_id,
                              "source": name}
    if index_title:
        course["source_title"] = index_title
    for key in ("note", "phases"):
        if old and key in old:
            course[key] = old[key]
    if note and "note" not in course:
        course["note"] = note
    # the series this source lists and what it says of each: a series note belongs to its source's course
    listed: dict[str, list[str]] = {}
    for s in series:
        listed.setdefault(s.id, []).extend(t for t in s.note if t not in listed.get(s.id, []))
    course["series"] = [{"id": sid, "note": " ".join(text)} if text else {"id": sid} for sid, text in listed.items()]
    course["lessons"] = []
    order: list[int | str] = [*sorted(k for k in lessons if isinstance(k, int))]
    order += [EXTRAS_ID] if EXTRAS_ID in lessons else []
    for n in order:
        lesson_id = f"lesson-{n}" if isinstance(n, int) else n
        previous = old_lessons.get(lesson_id, {})
        entry: dict[str, Any] = {"id": lesson_id}
        if isinstance(n, int):
            entry["number"] = n
        entry["title"] = previous.get("title") or (_lesson_title(spans[n]) if isinstance(n, int) else "Optional extras")
        for key in ("note", "prompts"):
            if key in previous:
                entry[key] = previous[key]
        for kind in ("videos", "resources"):
            if items := _in_authors_order(lessons[n][kind], previous.get(kind, [])):
                entry[kind] = items
        if "checks" in previous:  # an author's self-checks: a source list names none
            entry["checks"] = previous["checks"]
        course["lessons"].append(entry)
    if old is None:
        data["courses"].append(course)
    else:
        data["courses"][data["courses"].index(old)] = course
    return data
