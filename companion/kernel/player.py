"""The live player: a widget that drives YouTube's IFrame Player API and remembers.

A lesson's saved output is the static player (`embed.Embed`); running `show_video` replaces it
with `Player`, which keeps where the learner stopped, which stretches were actually played (so a
video is ticked once enough of it was watched, never by seeking to the end) and notes at moments.
Everything it keeps goes to the local progress store; the only requests are the player's own.
Its display also carries the static player's HTML and text, so a notebook saved with this output
and reopened without the kernel still shows a player (and strict nbval, which never compares
widget views, sees the output the build saved).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from companion import settings
from companion.course.catalog import Catalog, Course
from companion.errors import StoreError
from companion.kernel.embed import OFFLINE, Embed
from companion.learner import records
from companion.learner.store import Interval, Note, Position, ProgressStore, clock, union

SAVE_EVERY = 4.0  # least seconds between two position writes of one video while it plays (the page
# reports every 5 s; a little under that, so a report arriving early is not held back another 5 s)
FLUSH = {"pause", "ended", "close"}  # events saved at once: the learner may be leaving
RESUME_AFTER = 10.0  # a video left before this point starts over without asking

Listener = Callable[[str], None]
_listeners: dict[tuple[str, str], Listener] = {}


def moment_url(video: str, seconds: float) -> str:
    """The YouTube page that opens the video at that moment (where the inline player can't seek); the video's
    start for a moment no video holds (a value stored before the records were checked)."""
    return f"https://www.youtube.com/watch?v={video}&t={0 if records.seconds_problem(seconds) else int(seconds)}s"


def finished(position: float, duration: float, end: float | None = None) -> bool:
    """Whether a video was left at its end (or its clip's `end`): nothing there to resume."""
    return bool(duration) and position >= (end or duration) - RESUME_AFTER


def typed_moment(typed: object) -> float | None:
    """Seconds into a video from a time as a learner types it ("95", "12:30", "1:02:03"); None if it is not one."""
    parts = typed.strip().split(":") if isinstance(typed, str) else []
    if not 1 <= len(parts) <= 3 or not all(p.isascii() and p.isdigit() for p in parts) or len(parts[0]) > 5 \
            or any(len(p) != 2 or int(p) > 59 for p in parts[1:]):
        return None
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + int(p)
    return float(seconds)


def on_watched(course: str, lesson: str, listener: Listener) -> None:
    """Call `listener(item)` when a video of the lesson gets ticked as watched: the lesson's
    checklist (the latest one shown) ticks its box at once."""
    _listeners[(course, lesson)] = listener


def shown(course: str, lesson: str, item: str) -> bool:
    """Tell the lesson's checklist (the latest one shown) that `item` is ticked; False when none is shown."""
    listener = _listeners.get((course, lesson))
    if listener:
        listener(item)
    return listener is not None


def covered(played: Iterable[Interval], start: float, end: float) -> float:
    """Seconds of [start, end] inside the played stretches, each second counted once."""
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in union(played))


class Tracker:
    """The store's side of one video on one page: positions batched, the watched tick decided."""

    def __init__(self, store: ProgressStore, course: str, lesson: str, item: str, start: float, end: float,
                 threshold: float, now: Callable[[], float] = time.monotonic):
        self.store, self.key = store, (course, lesson, item)
        self.start, self.end, self.threshold, self.now = start, end, threshold, now
        saved = store.positions(course, lesson).get(self.key)
        # the position is the learner's, wherever they last played the video; what was played here
        # decides this course's tick (another course's viewing is offered in the checklist instead)
        latest = store.latest_position(item)
        self.position = latest.position if latest else 0.0
        self.duration = latest.duration if latest else 0.0
        self.played: tuple[Interval, ...] = saved.played if saved else ()
        self._written: float | None = None
        self._pending = False
        self._settled = False  # the tick was decided (given, or the learner's own choice was found)

    def report(self, event: str, position: float, duration: float, played: Iterable[Interval]) -> bool:
        """Take what the page saw; True when this made the video watched (and ticked it)."""
        self.position = float(position)
        self.duration = float(duration) or self.duration
        self.played = union((*self.played, *played))
        self._pending = True
        at = self.now()
        if event in FLUSH or self._written is None or at - self._written >= SAVE_EVERY:
            self.flush()
        return self._tick_if_watched()

    def flush(self) -> None:
        """Save the position if a report is waiting (a pause, the end or a closed page do at once); on a hub,
        the sender is woken to pass it on."""
        if self._pending:
            self.store.save_position(*self.key, self.position, self.duration, self.played)
            self._written, self._pending = self.now(), False
            if settings.hub_token():  # on a hub, the position goes to the service now
                from companion.kernel.sender import sender_for

                hub = sender_for(self.store.path)
                if hub:
                    hub.wake()

    def watched(self) -> bool:
        """Whether `threshold` of the clip from `start` to `end` was actually played; seeking does not count."""
        end = min(self.end or self.duration, self.duration or self.end)
        length = end - self.start
        return length > 0 and covered(self.played, self.start, end) >= self.threshold * length

    def _tick_if_watched(self) -> bool:
        if self._settled or not self.watched():
            return False
        self._settled = True
        course, lesson, item = self.key
        if self.key in self.store.ticks(course, lesson):  # ticked already, or unticked by hand: that stands
            return False
        self.store.set(course, lesson, item, True)
        shown(course, lesson, item)
        return True


class Player(anywidget.AnyWidget):
    """The inline YouTube player with resume, watched ticks and notes; see the module's docstring."""

    _esm = Path(__file__).with_name("player.js")
    src = t.Unicode("").tag(sync=True)  # the embed URL the build saves (host, start, end, list)
    video = t.Unicode("").tag(sync=True)  # empty for a whole playlist: nothing to resume or note
    title = t.Unicode("").tag(sync=True)
    watch_url = t.Unicode("").tag(sync=True)
    start = t.Float(0).tag(sync=True)
    width = t.Int(640).tag(sync=True)
    height = t.Int(360).tag(sync=True)
    resume = t.Float(0).tag(sync=True)  # where to offer "Resume at", 0 for none
    notes: t.List[dict[str, Any]] = t.List().tag(sync=True)  # [{"id", "at", "text"}] of this video, in order
    status = t.Unicode("").tag(sync=True)  # one line from the kernel (ticked, or why something was not kept)
    offline = t.Unicode(OFFLINE).tag(sync=True)  # said in the player's place when YouTube can't be reached

    def __init__(self, embed: Embed, tracker: Tracker | None = None, status: str = "",
                 courses: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(src=embed.src, video=embed.video, title=embed.title, watch_url=embed.watch_url,
                         start=float(embed.start or 0), width=embed.width, height=embed.height, status=status,
                         **kwargs)
        self._embed, self._tracker, self._courses = embed, tracker, courses or {}
        if tracker is not None:
            left = tracker.position
            near_end = finished(left, tracker.duration, tracker.end)
            self.resume = left if left >= (embed.start or 0) + RESUME_AFTER and not near_end else 0.0
            self._load_notes()
        self.on_msg(self._received)

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The widget view, plus the static player's HTML and text: what a reopened notebook shows
        once the view is gone, and exactly the output the build saved."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        return {**data, **self._embed.bundle()}, metadata

    def _load_notes(self) -> None:
        """The learner's notes on this video from every course, in order of the moment; a note taken
        in another course says which (`where`)."""
        course, _, item = self._tracker.key  # type: ignore[union-attr]
        found = sorted(self._tracker.store.notes(item=item), key=lambda n: (n.at, n.changed_at))  # type: ignore[union-attr]
        self.notes = [{"id": n.id, "at": n.at, "text": n.text,
                       "where": "" if n.course == course else self._courses.get(n.course, n.course)} for n in found]

    def _received(self, _widget: Any, content: dict[str, Any], _buffers: list[Any]) -> None:
        """Messages from the page; a problem becomes the status line, never a kernel error."""
        if self._tracker is None or not isinstance(content, dict):
            return
        course, lesson, item = self._tracker.key
        now = time.time()
        where = {"course": course, "lesson": lesson, "item": item, "changed_at": now}
        try:
            if content.get("kind") == "progress":
                report = {**where, "position": content.get("position", 0), "duration": content.get("duration", 0),
                          "played": content.get("played", [])}
                if not self._refused("position", report) and self._tracker.report(
                        str(content.get("event")), report["position"], report["duration"], report["played"]):
                    self.status = f"✓ Ticked “{self.title}” as watched in the checklist"
            elif content.get("kind") == "note" and isinstance(content.get("text"), str) and content["text"].strip():
                self._keep_note(self._tracker, content.get("at"), content["text"])
        except StoreError as e:
            self.status = f"Not kept: {e}"

    def _refused(self, kind: str, record: dict[str, Any]) -> bool:
        """Check what the page sent as the store and the hub will (`companion.records`); a refusal is the status."""
        found = records.problems(kind, record)
        if found:
            self.status = f"Not kept: the page sent a {kind} that can't be kept ({found[0]})"
        return bool(found)

    def _keep_note(self, tracker: Tracker, typed: object, text: str) -> None:
        """A note at the time in the note's box (the player's moment, or one the learner typed); what a
        learner can get wrong is said plainly, the rest is checked as the store and the hub check it."""
        at, length, text = typed_moment(typed), tracker.duration, " ".join(text.split())
        if at is None:
            self.status = f"Not kept: “{str(typed)[:20]}” is not a time in the video, like 12:30 or 1:02:03"
        elif length and at > length:
            self.status = f"Not kept: {clock(at)} is past the end of this video ({clock(length)})"
        elif at > records.MAX_SECONDS:
            self.status = f"Not kept: “{str(typed)[:20]}” is past the end of any video (24 hours)"
        elif len(text) > records.MAX_TEXT:
            self.status = (f"Not kept: a note can hold at most {records.MAX_TEXT:,} characters; "
                           f"this one has {len(text):,}")
        else:
            course, lesson, item = tracker.key
            note = Note(uuid.uuid4().hex, course, lesson, item, at, text, time.time())
            if not self._refused("note", asdict(note)):
                tracker.store.add_note(note)
                self._load_notes()
                self.status = f"Note kept at {clock(at)}"


def live_player(embed: Embed, store: ProgressStore, course: str, lesson: str, item: str, threshold: float,
                courses: dict[str, str] | None = None) -> Player:
    """The player for an item; without a readable store it still plays, and says why it forgets.
    `courses`: {course id: title}, to say where a note from another course was taken."""
    if not embed.video:
        return Player(embed)
    try:
        tracker = Tracker(store, course, lesson, item, float(embed.start or 0), float(embed.end or 0), threshold)
        return Player(embed, tracker, courses=courses)
    except StoreError as e:
        return Player(embed, status=f"Plays, but remembers nothing: {e}")


def stopped_at(catalog: Catalog, course: Course, positions: dict[tuple[str, str, str], Position]) -> dict[str, str]:
    """{lesson id: "stopped at 37:12 in <video>"} from the video played last in each lesson, named
    as the lesson names it; "watched to the end: <video>" when it was left at its end."""
    latest: dict[str, Position] = {}
    for p in positions.values():
        if p.course == course.id and (p.lesson not in latest or p.changed_at > latest[p.lesson].changed_at):
            latest[p.lesson] = p
    lessons = {l.id: l for l in course.lessons}
    out = {}
    for lesson_id, p in latest.items():
        video = catalog.videos.get(p.item)
        lesson = lessons.get(lesson_id)
        a = next((a for a in lesson.videos if a.id == p.item), None) if lesson else None
        title = (a.title if a else "") or (video.title if video else p.item)
        end = (a.end if a else None) or (video.end if video else None)
        out[lesson_id] = (f"watched to the end: {title}" if finished(p.position, p.duration, end)
                          else f"stopped at {clock(p.position)} in {title}")
    return out


def notes_markdown(catalog: Catalog, courses: list[Course], notes: list[Note]) -> str:
    """Notes as Markdown: a heading per course, lesson and video, a linked line per note."""
    from companion.course.markup import md  # escaping catalog and learner text
    from companion.kernel.board import heading as lesson_heading

    by_key: dict[tuple[str, str, str], list[Note]] = {}
    for n in notes:
        by_key.setdefault((n.course, n.lesson, n.item), []).append(n)

    def title(item: str) -> str:
        return catalog.videos[item].title if item in catalog.videos else item

    lines: list[str] = []
    for course in courses:
        # (heading, [(lesson id, item, video title)]) in course order
        groups = [(lesson_heading(l), [(l.id, a.id, a.title or title(a.id)) for a in l.videos])
                  for l in course.ordered()]
        placed = {(lesson, item) for _, videos in groups for lesson, item, _ in videos}
        # notes outlive a catalog edit that moved their video: show them, don't drop them
        gone = sorted({(l, i) for c, l, i in by_key if c == course.id and (l, i) not in placed})
        groups.append(("Videos no longer in this course", [(l, i, title(i)) for l, i in gone]))
        section: list[str] = []
        for heading, videos in groups:
            block: list[str] = []
            for lesson, item, video_title in videos:
                found = by_key.get((course.id, lesson, item), [])
                youtube = catalog.videos[item].youtube if item in catalog.videos else ""
                if found:
                    block += ["", f"### {md(video_title)}", ""]
                    block += [f"- [{clock(n.at)}]({moment_url(youtube or item, n.at)}) {md(n.text)}" for n in found]
            if block:
                section += ["", f"## {md(heading)}", *block]
        if section:
            lines += [f"# {md(course.title)}", *section, ""]
    return "\n".join(lines) + ("\n" if lines else "No notes yet.\n")
