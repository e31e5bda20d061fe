"""The live player in a real JupyterLab and chromium, with YouTube's IFrame API replaced by a stub.

The server, build and browser come from test_browser (imported, not copied), whose page gets
`https://www.youtube.com/iframe_api` from a Playwright route: a small stand-in whose `YT.Player`
attaches to the widget's iframe like the real one and can be driven from the test: play (at a
chosen rate, so a 10-minute video plays in seconds), seek, pause and end, reporting currentTime
and duration. The embed page itself is test_browser's local stub; nothing leaves the machine.
Screenshots go to test-output/player/.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_browser import (
    REPO,
    TIMEOUT_MS,
    Lab,
    expect,
    lab,  # noqa: F401 - a fixture: the module's JupyterLab, no tab or kernel left after each test
    run_all,
    screenshot,
    scroll_to_cell,
    server,  # noqa: F401 - a fixture: the module's JupyterLab
)
from test_browser import STUB_DURATION as DURATION

from companion.learner.store import ProgressStore
from companion.learner.tally import lesson_items

pytestmark = pytest.mark.browser

SHOTS = REPO / "test-output" / "player"
RESUME = ("intuition-3blue1brown", 2)
TWO_VIDEOS = ("math-for-ml", 6)
NOTE = ("deep-learning-3blue1brown", 3)
OFFLINE_LESSON = ("llms-asap", "prelude")  # its video plays inside a playlist
PLAYER = ".jp-OutputArea-output .cc-player"
CHECKBOX = '.jp-OutputArea-output .jupyter-widgets input[type="checkbox"]'


@dataclass
class Opened:
    """A lesson opened and run, with the stub player of its first video."""

    course: str
    lesson: Any
    item: str
    video: str
    page: Any
    player: str


def open_first_video(lab: Lab, which: tuple[str, int | str]) -> Opened:
    course, key = which
    lesson = lab.catalog.course(course).lesson(key)
    item = lesson.videos[0].id
    video = lab.catalog.videos[item].youtube
    lab.open(course, key)
    run_all(lab.page)
    return Opened(course, lesson, item, video, lab.page, stub_player(lab.page, video))


def stub_player(page: Any, video: str) -> str:
    """A JS expression for the stub player of a video, once the live widget made it."""
    expr = f"window.__ytStub.players.filter(p => p.videoId === {json.dumps(video)}).at(-1)"
    page.wait_for_function(f"() => !!(window.__ytStub && {expr})")
    return expr


def play_until(page: Any, player: str, seconds: float, rate: float) -> None:
    page.evaluate(f"{player}._play({rate})")
    page.wait_for_function(f"() => {player}.getCurrentTime() >= {seconds}")


def wait_for(what: str, check: Any) -> Any:
    """Poll the store (another process writes it) until check() gives something."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def restart_and_clear(page: Any) -> None:
    page.evaluate("""async () => {
        const w = window.jupyterapp.shell.currentWidget;
        await w.sessionContext.restartKernel();
        await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
    }""")


def test_a_video_resumes_where_it_was_left_after_a_kernel_restart_and_a_page_reload(lab: Lab):
    o = open_first_video(lab, RESUME)
    (course, key), lesson, item, video, page, player = RESUME, o.lesson, o.item, o.video, o.page, o.player
    expect(page.locator(PLAYER).first).to_be_visible()
    expect(page.locator(PLAYER).first.get_by_text("Resume at")).to_have_count(0)  # nothing to resume yet
    play_until(page, player, 200, rate=40)
    page.evaluate(f"{player}.pauseVideo()")
    left = page.evaluate(f"{player}.getCurrentTime()")
    store = ProgressStore(lab.progress)
    try:
        def on_pause() -> Any:
            p = store.positions(course, lesson.id).get((course, lesson.id, item))
            return p if p and abs(p.position - left) < 0.5 else None

        saved = wait_for("the position saved on pause", on_pause)
    finally:
        store.close()
    assert saved.duration == DURATION
    assert saved.played and saved.played[0][0] <= 1 and saved.played[-1][1] == pytest.approx(left, abs=1.5)

    restart_and_clear(page)
    lab.load()  # a page reload: nothing of the old page is left
    lab.open(course, key)
    run_all(page)
    mark = f"{int(left) // 60}:{int(left) % 60:02d}"
    resume = page.locator(PLAYER).first.get_by_role("button", name=f"▶ Resume at {mark}")
    expect(resume).to_be_visible()
    expect(page.locator(PLAYER).first.get_by_role("button", name="Start over")).to_be_visible()
    resume.evaluate("e => e.closest('.cc-player').scrollIntoView({block: 'center'})")
    screenshot(page, "resume-offer.png", SHOTS)
    player = stub_player(page, video)
    expect(resume).to_be_enabled()
    resume.click()
    assert page.evaluate(f"{player}.seeks") == [pytest.approx(saved.position)]
    assert page.evaluate(f"{player}.getPlayerState()") == 1
    expect(resume).to_have_count(0)
    page.evaluate(f"{player}.pauseVideo()")

    # The course index says where the learner stopped in that lesson.
    _open_index(lab, course)
    run_all(page)
    title = lesson.videos[0].title or lab.catalog.videos[item].title
    stopped = page.get_by_text(re.compile(rf"· stopped at {mark[:-1]}\d in {re.escape(title)}"))
    expect(stopped).to_be_visible()
    stopped.scroll_into_view_if_needed()
    screenshot(page, "course-index-stopped-at.png", SHOTS)


def _open_index(lab: Lab, course: str) -> None:
    rel = f"{course}/index-{course}.ipynb"
    lab.page.evaluate("async path => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", rel)
    lab.page.wait_for_function("""name => { const w = window.jupyterapp.shell.currentWidget;
        return !!(w && w.context && w.context.path === name && w.context.isReady); }""", arg=rel)


def test_playing_past_the_threshold_ticks_the_checklist_and_seeking_to_the_end_does_not(lab: Lab):
    course, key = TWO_VIDEOS
    lesson = lab.catalog.course(course).lesson(key)
    first, second = (a.id for a in lesson.videos[:2])
    assert lab.catalog.watched_threshold == 0.9
    page = lab.page
    lab.open(course, key)
    run_all(page)
    boxes = page.locator(CHECKBOX)
    expect(boxes).to_have_count(len(lesson_items(lab.catalog, lesson)))
    store = ProgressStore(lab.progress)
    try:
        # The second video: a minute played, then a jump to 3 s before the end, played out to the end.
        skipper = stub_player(page, lab.catalog.videos[second].youtube)
        play_until(page, skipper, 60, rate=30)
        page.evaluate(f"{skipper}.seekTo({DURATION - 3}, true)")
        page.wait_for_function(f"() => {skipper}.getPlayerState() === 0")
        wait_for("the ended report", lambda: store.positions(course, lesson.id).get((course, lesson.id, second),
                                                                                    None) and
                 store.positions(course, lesson.id)[(course, lesson.id, second)].position >= DURATION - 1)
        assert store.ticks(course, lesson.id) == {}, "seeking to the end ticked the video"
        expect(boxes.nth(1)).not_to_be_checked()

        # The first video: played to 92 %, then paused; its box ticks at once, in the same notebook.
        watcher = stub_player(page, lab.catalog.videos[first].youtube)
        play_until(page, watcher, 0.92 * DURATION, rate=60)
        page.evaluate(f"{watcher}.pauseVideo()")
        expect(boxes.nth(0)).to_be_checked()
        assert store.ticks(course, lesson.id) == {(course, lesson.id, first): True}
        expect(boxes.nth(1)).not_to_be_checked()
        played = store.positions(course, lesson.id)[(course, lesson.id, first)].played
        assert sum(b - a for a, b in played) >= 0.9 * DURATION

        # The learner unticks it; watching the rest does not tick it again.
        boxes.nth(0).click()  # the kernel saves it, then the box shows it (not at once: no uncheck())
        expect(boxes.nth(0)).not_to_be_checked()
        wait_for("the untick", lambda: store.ticks(course, lesson.id)[(course, lesson.id, first)] is False)
        page.evaluate(f"{watcher}.playVideo()")
        page.wait_for_function(f"() => {watcher}.getPlayerState() === 0")
        wait_for("the ended report", lambda: store.positions(course, lesson.id)[(course, lesson.id, first)].position
                 >= DURATION - 1)
        expect(boxes.nth(0)).not_to_be_checked()
        assert store.ticks(course, lesson.id)[(course, lesson.id, first)] is False
    finally:
        store.close()
    first_player = page.locator(PLAYER).first
    first_player.evaluate("e => e.scrollIntoView({block: 'start'})")
    screenshot(page, "ticked-when-watched.png", SHOTS)


def test_a_note_at_a_moment_is_kept_through_a_catalog_edit_and_a_rebuild(lab: Lab):
    o = open_first_video(lab, NOTE)
    (course, key), lesson, item, video, page, player = NOTE, o.lesson, o.item, o.video, o.page, o.player
    play_until(page, player, 100, rate=20)
    page.evaluate(f"{player}.pauseVideo(); {player}.seekTo(100)")
    box = page.locator(PLAYER).first
    note_button = box.get_by_role("button", name=re.compile(r"^✎ Note at "))
    note_button.click()
    expect(box.locator("input.cc-note-at")).to_have_value("1:40")  # the player's moment, which a learner may edit
    text = "Why does the chain rule run backwards here?"
    box.locator("input.cc-note-text").fill(text)
    box.locator("input.cc-note-text").press("Enter")
    expect(box.locator("ul.cc-notes li")).to_have_text(f"1:40 {text}")
    store = ProgressStore(lab.progress)
    try:
        notes = wait_for("the note", lambda: store.notes(course, lesson.id, item))
    finally:
        store.close()
    assert [(n.at, n.text) for n in notes] == [(100, text)]

    # The author renames the lesson (so its notebook gets a new file name) and rebuilds.
    lab.close_all()
    catalog_path = Path(lab.env["COMPANION_CATALOG"])
    data = json.loads(catalog_path.read_text(encoding="utf-8"))
    entry = next(l for c in data["courses"] if c["id"] == course for l in c["lessons"] if l["id"] == lesson.id)
    entry["title"] = "Backpropagation, renamed by the author"
    catalog_path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    lab.build()
    path = lab.open(course, key)
    assert "renamed-by-the-author" in path.name
    run_all(page)
    box = page.locator(PLAYER).first
    link = box.locator("ul.cc-notes li a")
    expect(link).to_have_text("1:40")
    assert link.get_attribute("href") == f"https://www.youtube.com/watch?v={video}&t=100s"
    player = stub_player(page, video)
    expect(box.get_by_role("button", name=re.compile(r"^✎ Note at "))).to_be_enabled()
    box.evaluate("e => e.scrollIntoView({block: 'center'})")
    screenshot(page, "note-after-rebuild.png", SHOTS)
    link.click()  # the live player seeks there instead of leaving for YouTube
    assert page.evaluate(f"{player}.seeks") == [100]
    expect(box.get_by_role("button", name=re.compile("Resume at"))).to_have_count(0)  # playing answered the offer
    page.evaluate(f"{player}.pauseVideo()")

    printed = lab.companion("notes", "--course", course, "--catalog", str(catalog_path))
    assert f"- [1:40](https://www.youtube.com/watch?v={video}&t=100s) {text}" in printed
    assert "## Lesson 3 — Backpropagation, renamed by the author" in printed


EMBEDS = re.compile(r"^https://www\.youtube(-nocookie)?\.com/embed/")
SAVED = ".jp-OutputArea-output .cc-saved-player"


def _refuse(route: Any) -> None:
    route.abort("internetdisconnected")


def _learner_sees_no_build_hint(page: Any) -> None:
    expect(page.locator(".jp-Notebook")).not_to_contain_text("companion build")


def test_offline_a_saved_player_says_youtube_cannot_be_reached_and_try_again_brings_it_back(lab: Lab):
    """Before running, offline: no grey broken-page box; the reason, a Try again and the YouTube link
    in its place; the line under it says what running adds. Online again, Try again loads the player."""
    from companion.kernel.embed import NOT_RUN, OFFLINE

    course, key = NOTE
    page = lab.page
    video = lab.catalog.videos[lab.catalog.course(course).lesson(key).videos[0].id].youtube
    page.context.route(EMBEDS, _refuse)  # registered last, so it wins over the stub
    try:
        lab.open(course, key)
        box = page.locator(SAVED).first
        expect(box.locator(".cc-offline")).to_be_visible()
        expect(box.locator(".cc-offline")).to_contain_text(OFFLINE)
        expect(box.locator("iframe")).to_be_hidden()
        expect(box.locator(".cc-why")).to_have_text(NOT_RUN)
        expect(box.get_by_role("link", name="Watch on YouTube ↗")).to_have_attribute(
            "href", re.compile(rf"^https://www\.youtube\.com/watch\?v={re.escape(video)}"))
        _learner_sees_no_build_hint(page)
        box.evaluate("e => e.scrollIntoView({block: 'center'})")
        screenshot(page, "offline-before-run.png", SHOTS)
        box.get_by_role("button", name="Try again").click()  # still offline: the line stays, ready for another try
        expect(box.get_by_role("button", name="Try again")).to_be_enabled()
        expect(box.locator(".cc-offline")).to_be_visible()
        expect(box.locator("iframe")).to_be_hidden()
    finally:
        page.context.unroute(EMBEDS, _refuse)
    box.get_by_role("button", name="Try again").click()
    expect(box.locator("iframe")).to_be_visible()
    expect(box.locator(".cc-offline")).to_be_hidden()
    expect(page.frame_locator(f"{SAVED} iframe").first.locator("body")).to_contain_text(f"embed/{video}")


def test_online_a_saved_player_plays_and_says_what_running_the_lesson_adds(lab: Lab):
    from companion.kernel.embed import NOT_RUN

    course, key = RESUME
    page = lab.page
    lab.open(course, key)
    box = page.locator(SAVED).first
    expect(box.locator("iframe")).to_be_visible()
    expect(page.frame_locator(f"{SAVED} iframe").first.locator("body")).to_contain_text("YouTube player stub")
    expect(box.locator(".cc-why")).to_have_text(NOT_RUN)
    expect(box.locator(".cc-offline")).to_be_hidden()
    _learner_sees_no_build_hint(page)
    box.evaluate("e => e.scrollIntoView({block: 'center'})")
    screenshot(page, "offline-normal.png", SHOTS)

    # A whole playlist has no notes or resume: its saved player says nothing about running.
    lab.close_all()
    course, key = TWO_VIDEOS
    playlist = lab.catalog.course(course).lesson(key).resources[0].id
    assert lab.catalog.resources[playlist].playlist
    lab.open(course, key)
    cell = scroll_to_cell(page, f"embed-{playlist}")
    expect(cell.locator(f"{SAVED} iframe")).to_be_visible()
    expect(cell.locator(f"{SAVED} .cc-why")).to_have_count(0)


def test_an_untrusted_lesson_says_why_its_players_are_hidden_and_run_all_brings_them_up(lab: Lab):
    """JupyterLab strips a saved iframe (and script) in a notebook it does not trust: the line it
    keeps says so and what helps, and doing what it says (Run All) shows the player."""
    import nbformat
    from nbformat.sign import NotebookNotary

    from companion.kernel.embed import UNTRUSTED

    course, key = TWO_VIDEOS
    page = lab.page
    path = lab.notebook(course, key)
    nb = nbformat.read(path, as_version=4)
    notary = NotebookNotary(data_dir=lab.env["JUPYTER_DATA_DIR"])
    assert notary.check_signature(nb)
    notary.unsign(nb)
    try:
        lab.open(course, key)
        boxes = page.locator(SAVED)  # the cells on screen (JupyterLab renders a long notebook's cells as they scroll in)
        expect(boxes.first.locator(".cc-why")).to_have_text(UNTRUSTED)
        expect(boxes.first.locator(".cc-why")).to_be_visible()
        assert page.locator(f"{SAVED} iframe, {SAVED} script").count() == 0
        expect(boxes.first.locator(".cc-offline")).to_be_hidden()
        _learner_sees_no_build_hint(page)
        boxes.first.evaluate("e => e.scrollIntoView({block: 'center'})")
        expect(page.locator(".jp-RenderedMarkdown h2").first).to_be_visible()  # the screenshot shows the lesson's text too
        screenshot(page, "offline-untrusted.png", SHOTS)
        run_all(page)
        video = lab.catalog.videos[lab.catalog.course(course).lesson(key).videos[0].id].youtube
        stub_player(page, video)
        expect(page.locator(f"{PLAYER} iframe").first).to_be_visible()
        expect(page.locator(SAVED)).to_have_count(0)
    finally:
        notary.sign(nb)


def test_offline_after_running_the_player_says_so_and_a_note_takes_a_typed_time(lab: Lab):
    from companion.kernel.embed import OFFLINE

    course, key = OFFLINE_LESSON
    lesson = lab.catalog.course(course).lesson(key)
    a = lesson.videos[0]
    page = lab.page
    page.context.route("https://www.youtube.com/iframe_api", _refuse)
    page.context.route(EMBEDS, _refuse)
    try:
        lab.load()  # a page that has not loaded the API yet
        lab.open(course, key)
        run_all(page)
        line = page.locator(f"{PLAYER} .cc-offline")
        expect(line).to_have_count(len(lesson.videos))
        expect(line.first).to_contain_text(f"{OFFLINE} Back online? Run this cell again.")
        expect(line.first.get_by_role("link", name="Watch on YouTube ↗")).to_have_attribute(
            "href", f"https://www.youtube.com/watch?v={lab.catalog.videos[a.id].youtube}&list={a.playlist}")
        assert page.locator(f"{PLAYER} iframe").count() == 0
        errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        assert errors.count() == 0, "the kernel raised"
        _learner_sees_no_build_hint(page)

        # A note at a time the learner types (the video watched elsewhere): a wrong time keeps the
        # text and says why; a right one is kept, listed and linked to that moment on YouTube.
        box = page.locator(PLAYER).first
        box.get_by_role("button", name="✎ Note at a moment").click()
        at, text = box.locator("input.cc-note-at"), box.locator("input.cc-note-text")
        expect(at).to_be_focused()
        at.fill("12:75")
        text.fill("Attention is a weighted average")
        text.press("Enter")
        expect(box.locator(".cc-status")).to_have_text(
            "Not kept: “12:75” is not a time in the video, like 12:30 or 1:02:03")
        expect(text).to_have_value("Attention is a weighted average")
        at.fill("12:30")
        at.press("Enter")
        expect(box.locator(".cc-status")).to_have_text("Note kept at 12:30")
        expect(box.locator("ul.cc-notes li")).to_have_text("12:30 Attention is a weighted average")
        expect(text).to_be_hidden()
        expect(box.locator("ul.cc-notes li a")).to_have_attribute(
            "href", f"https://www.youtube.com/watch?v={lab.catalog.videos[a.id].youtube}&t=750s")
        store = ProgressStore(lab.progress)
        try:
            notes = wait_for("the note", lambda: store.notes(course, lesson.id, a.id))
        finally:
            store.close()
        assert [(n.at, n.text) for n in notes] == [(750, "Attention is a weighted average")]
        box.evaluate("e => e.scrollIntoView({block: 'center'})")
        screenshot(page, "offline-after-run.png", SHOTS)
    finally:
        page.context.unroute("https://www.youtube.com/iframe_api", _refuse)
        page.context.unroute(EMBEDS, _refuse)
        lab.load()


def test_offline_after_youtube_loaded_once_on_the_page_a_player_run_then_still_says_so(lab: Lab):
    """The API is already in the page (an earlier lesson ran online), then the network goes: the
    player asks the embed's address itself, so the learner gets the reason, not a grey box."""
    from companion.kernel.embed import OFFLINE

    course, key = RESUME
    page = lab.page
    page.evaluate("""() => new Promise((resolve, reject) => {  // the page gets YouTube's API, as a run online does
        const s = document.createElement('script');
        s.src = 'https://www.youtube.com/iframe_api';
        s.onload = resolve; s.onerror = reject;
        document.head.appendChild(s);
    })""")
    assert page.evaluate("() => !!(window.YT && window.YT.Player)")
    page.context.route(EMBEDS, _refuse)
    try:
        lab.open(course, key)
        run_all(page)
        box = page.locator(PLAYER).first
        expect(box.locator(".cc-offline")).to_contain_text(f"{OFFLINE} Back online? Run this cell again.")
        expect(box.locator("iframe")).to_have_count(0)
        expect(box.get_by_role("button", name="✎ Note at a moment")).to_be_enabled()
    finally:
        page.context.unroute(EMBEDS, _refuse)
