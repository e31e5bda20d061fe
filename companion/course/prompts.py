"""Reflection prompts: the catalog's own for a lesson, else a fallback written from what it assigns.

The fallback fits the kind of each item (an explainer asks for the idea, a lecture for its result,
live coding for a step rebuilt by hand, a playlist or book for what to read first), pairs only
videos of one series (a series builds on itself; two unrelated videos have nothing to "fit"),
and speaks of the next lesson only where there is one. Prompt ids stay stable across builds
(`recall-<video>`, `follow-<video>`, `resources`, `next`), so answers stay under their prompt;
an answer whose prompt goes away (say, when the author writes the lesson's own prompts) is kept
by the merge in the notebook's "Notes from removed content" section.
"""

from __future__ import annotations

from companion.course.catalog import Assignment, Catalog, Lesson, Prompt
from companion.course.markup import md as markdown
from companion.notebook.cells import ABOUT_RESOURCES, NEXT

_EXPLAINER = (
    "Explain the central idea of _{title}_ in three or four sentences, as if to a friend who has not watched it.",
    "Which picture or animation in _{title}_ changed how you see the idea? Describe it from memory, then check.",
    "Pick one claim from _{title}_ and test it: a small example, a sketch, or a few lines of code.",
)
_BY_KIND = {
    "lecture": ("State the main result of _{title}_ in your own words: what it says, when it holds, "
                "and one example that uses it.",),
    "live-coding": ("Rebuild one step of _{title}_ without the video: write the code from memory, run it, "
                    "and compare with what was built on screen.",),
}
_READING = {"playlist", "book", "channel", "course"}
MAX_VIDEO_PROMPTS = 3


def prompts_for(lesson: Lesson, catalog: Catalog, *, has_next: bool = True) -> list[Prompt]:
    """Prompts for this lesson, as escaped markdown (catalog titles they quote are inert)."""
    if lesson.prompts:
        return [Prompt(p.id, markdown(p.text)) for p in lesson.prompts]
    out = []
    for i, a in enumerate(lesson.videos[:MAX_VIDEO_PROMPTS]):
        series = catalog.series_of(a)
        templates = _BY_KIND.get(series.kind if series else "", _EXPLAINER)
        out.append(Prompt(f"recall-{a.id}", templates[i % len(templates)].format(title=_title(a, catalog))))
    follow = _same_series_pair(lesson, catalog)
    if follow:
        first, then = follow
        out.append(Prompt(f"follow-{then.id}", f"_{_title(then, catalog)}_ continues _{_title(first, catalog)}_. "
                                               "What does it take from the earlier video, and what does it add?"))
    if lesson.resources:
        a = lesson.resources[0]
        title = _title(a, catalog)
        if catalog.resources[a.id].kind in _READING:
            text = (f"_{title}_ holds more than this lesson needs. Which part would you read or watch first, "
                    "and what do you expect it to add to the videos?")
        else:
            text = f"Skim _{title}_. What does it add to this lesson that the videos left out?"
        out.append(Prompt(ABOUT_RESOURCES, text))
    after = "before the next lesson" if has_next else "next, now that the course is done"
    out.append(Prompt(NEXT, f"After _{markdown(lesson.title)}_: what do you now understand that you did not before, "
                              f"and what will you practise {after}?"))
    return out


def _title(a: Assignment, catalog: Catalog) -> str:
    item = catalog.videos.get(a.id) or catalog.resources[a.id]
    return markdown(a.title or item.title)


def _same_series_pair(lesson: Lesson, catalog: Catalog) -> tuple[Assignment, Assignment] | None:
    """Two videos of the lesson from one series (the later one builds on the earlier), or None."""
    seen: dict[str, Assignment] = {}
    for a in lesson.videos:
        series = catalog.series_of(a)
        if series is None:
            continue
        if series.id in seen:
            return seen[series.id], a
        seen[series.id] = a
    return None
