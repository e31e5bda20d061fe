"""Reflection prompts written from what a lesson assigns, unless the catalog gives its own."""

from __future__ import annotations

from .catalog import Catalog, Lesson, Prompt
from .markup import md as markdown

_PER_VIDEO = (
    "Explain the central idea of _{title}_ in three or four sentences, as if to a friend who has not watched it.",
    "Which picture or animation in _{title}_ changed how you see the idea? Describe it from memory, then check.",
    "What question did _{title}_ leave you with? Write it down, and where you might look for the answer.",
    "Pick one claim from _{title}_ and test it: a small example, a sketch, or a few lines of code.",
)
MAX_VIDEO_PROMPTS = 4


def prompts_for(lesson: Lesson, catalog: Catalog) -> list[Prompt]:
    """Prompts for this lesson, as escaped markdown (catalog titles they quote are inert)."""
    if lesson.prompts:
        return [Prompt(p.id, markdown(p.text)) for p in lesson.prompts]
    titles = [(a.id, markdown(a.title or catalog.videos[a.id].title)) for a in lesson.videos]
    out = [Prompt(f"recall-{vid}", _PER_VIDEO[i % len(_PER_VIDEO)].format(title=t))
           for i, (vid, t) in enumerate(titles[:MAX_VIDEO_PROMPTS])]
    if len(titles) >= 2:
        (_, a), (_, b) = titles[0], titles[-1]
        out.append(Prompt("connect", f"How do _{a}_ and _{b}_ fit together? Name one idea both rely on, and one "
                                     "place where they look at it differently."))
    resources = [markdown(a.title or catalog.resources[a.id].title) for a in lesson.resources]
    if resources:
        out.append(Prompt("resources", f"Skim _{resources[0]}_. What does it add to this lesson that the videos "
                                       "left out?"))
    out.append(Prompt("next", f"After _{markdown(lesson.title)}_: what do you now understand that you did not before, "
                              "and what will you practise before the next lesson?"))
    return out
