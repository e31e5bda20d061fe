"""The review in a real JupyterLab: with answers and a note in place and the clock moved on, start-here
counts the due cards, the review shows them, takes ratings and moves their dates (FSRS).

The server, build and browser come from test_browser (imported, not copied); the clock the kernels
read is set for the whole module with `COMPANION_CLOCK` (a test hook, see companion/now.py) before
the server starts. Screenshots go to `test-output/review/` (git-ignored) for a person to see."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fsrs import Rating
from test_browser import (
    NOTEBOOK_READY,
    REPO,
    Lab,
    expect,
    lab,  # noqa: F401 - a fixture: the module's JupyterLab, no tab or kernel left after each test
    run_all,
    screenshot,
    server,  # noqa: F401 - a fixture: the module's JupyterLab
)

from companion.course.layout import INDEX, REVIEW
from companion.course.prompts import prompts_for
from companion.kernel.review import cards, due, rate
from companion.learner.store import Note, ProgressStore
from companion.notebook.cells import ANSWER, cell_id

pytestmark = pytest.mark.browser

SHOTS = REPO / "test-output" / "review"
COURSE, LESSON = "llms-asap", 2
LATER = datetime.fromisoformat("2027-03-01T09:00:00+00:00")  # "now" for every kernel of this module
EARLIER = LATER - timedelta(days=3)


@pytest.fixture(scope="module", autouse=True)
def clock_moved_on() -> Iterator[None]:
    """Module-scoped and autouse, so it is set before `server` copies the environment for its kernels."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMPANION_CLOCK", LATER.isoformat())
        yield


def _open(lab: Lab, rel: str) -> None:
    lab.page.evaluate("async path => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", rel)
    lab.page.wait_for_function(NOTEBOOK_READY, arg=rel)


def test_a_review_with_the_clock_moved_on_shows_due_cards_takes_ratings_and_moves_their_dates(lab: Lab):
    course = lab.catalog.course(COURSE)
    lesson = course.lesson(LESSON)
    first, second = prompts_for(lesson, lab.catalog)[:2]
    path = lab.notebook(COURSE, LESSON)
    nb = json.loads(path.read_text(encoding="utf-8"))
    written = {cell_id(ANSWER, first.id): "In 'emma', m is followed once by m and once by a: P(m after m) = 1/2.",
               cell_id(ANSWER, second.id): "Each row of counts, normalised, is a probability distribution."}
    for c in nb["cells"]:
        c["source"] = written.get(c["id"], c["source"])
    path.write_text(json.dumps(nb), encoding="utf-8")
    video = next(a for a in lesson.videos if lab.catalog.videos[a.id].youtube)
    youtube = lab.catalog.videos[video.id].youtube

    store = ProgressStore(lab.progress)
    try:
        store.add_note(Note("review-note", COURSE, lesson.id, video.id, 754, "row = first letter, column = the next", EARLIER.timestamp()))
        found = {c.key: c for c in cards(lab.catalog, store, lab.notebooks)}
        prompt_key = f"prompt/{COURSE}/{lesson.id}/{first.id}"
        later_key = f"prompt/{COURSE}/{lesson.id}/{second.id}"
        # Three days ago the first prompt was rated Good (due 10 minutes later: due now); a minute ago the
        # second (due in 9 minutes: not yet). The note was never rated: due.
        (item,) = due([found[prompt_key]], {}, EARLIER)
        rate(store, item, Rating.Good, EARLIER)
        (item,) = due([found[later_key]], {}, LATER - timedelta(minutes=1))
        not_yet = rate(store, item, Rating.Good, LATER - timedelta(minutes=1))

        page = lab.page
        _open(lab, INDEX)
        expect(page.get_by_role("link", name="Review", exact=True)).to_be_visible()  # as built: no count
        run_all(page)
        expect(page.get_by_role("link", name="Review: 2 due")).to_be_visible()
        screenshot(page, "start-here-review-link.png", SHOTS)

        _open(lab, REVIEW)
        run_all(page)
        out = page.locator(".jp-OutputArea-output .jupyter-widgets").first
        expect(out.get_by_text("Review: card 1 of 2 due")).to_be_visible()
        expect(out).to_contain_text(first.text.strip("*_")[:40])
        expect(out).not_to_contain_text(written[cell_id(ANSWER, first.id)])  # the earlier answer waits
        out.locator("textarea").fill("m is followed by m once and by a once, so 1 in 2.")
        out.get_by_role("button", name="Show my earlier answer").click()
        expect(out).to_contain_text(written[cell_id(ANSWER, first.id)])
        screenshot(page, "review-card.png", SHOTS)
        out.get_by_role("button", name="Good").click()

        expect(out.get_by_text("Review: card 2 of 2 due")).to_be_visible()
        expect(out).to_contain_text("At 12:34 of")
        link = out.get_by_role("link", name=re.compile("watch that moment"))
        expect(link).to_have_attribute("href", f"https://www.youtube.com/watch?v={youtube}&t=754s")
        out.get_by_role("button", name="Show my earlier answer").click()
        expect(out).to_contain_text("row = first letter, column = the next")
        screenshot(page, "review-note-card.png", SHOTS)
        out.get_by_role("button", name="Again").click()
        expect(out.get_by_text(re.compile(r"^Nothing more due\."))).to_be_visible()
        expect(out).to_contain_text("The last card (Again) comes back in 1 minute.")
        screenshot(page, "review-done.png", SHOTS)

        # Saved, the review keeps its static line (no widget to reconnect) and nothing of the cards.
        page.evaluate("async () => { await window.jupyterapp.commands.execute('docmanager:save'); }")
        saved = json.loads((lab.notebooks / REVIEW).read_text(encoding="utf-8"))
        (output,) = saved["cells"][1]["outputs"]
        assert "application/vnd.jupyter.widget-view+json" not in output["data"]
        assert "".join(output["data"]["text/plain"]).startswith("Review: 0 cards still due when this last ran.")

        reviews = store.reviews()
        now = LATER.timestamp()
        assert reviews[prompt_key].changed_at == now, "the kernel rated on the clock the test set"
        assert reviews[prompt_key].due >= now + 86400, "Good on a card in its last learning step: a day or more"
        assert now < reviews["note/review-note"].due <= now + 600, "Again: back within minutes"
        assert reviews[later_key] == not_yet, "a card not yet due is left as it was"
    finally:
        store.close()
