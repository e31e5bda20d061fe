"""The player's memory without a browser: the store's migration, batched positions, the watched
tick (played stretches, not position), notes, and their export, import and Markdown."""

from __future__ import annotations

import json
import sqlite3

import pytest
from helpers import small_catalog, write_catalog

from companion.cli import main
from companion.course.catalog import from_data
from companion.course.checks import schema_problems
from companion.kernel.player import SAVE_EVERY, Tracker, clock, moment_url, on_watched
from companion.learner import store as store_mod
from companion.learner.store import Note, ProgressStore, StoreError

KEY = ("c1", "l1", "aircAruvnKk")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def tracker(tmp_path, start: float = 0, end: float = 0, threshold: float = 0.9, now: Clock | None = None) -> Tracker:
    return Tracker(ProgressStore(tmp_path / "p.sqlite"), *KEY, start, end, threshold, now or Clock())


def test_a_store_from_before_positions_and_notes_migrates_keeping_every_tick(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)  # the store as the previous release wrote it: the ticks table, user_version 0
    old.execute(store_mod.SCHEMA)
    rows = [("c1", "l1", f"v{i}", i % 2, 100.0 + i) for i in range(50)]
    old.executemany("INSERT INTO ticks VALUES (?, ?, ?, ?, ?)", rows)
    old.commit()
    assert old.execute("PRAGMA user_version").fetchone()[0] == 0
    old.close()

    store = ProgressStore(path)
    assert sorted((t.course, t.lesson, t.item, int(t.done), t.changed_at) for t in store.all()) == sorted(rows)
    store.save_position(*KEY, 2232.0, 3000.0, [(0, 2232)])
    store.add_note(Note("n1", *KEY, 2232.0, "a thought", 5.0))
    assert store.positions()[KEY].position == 2232.0 and store.notes()[0].text == "a thought"
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == store_mod.VERSION
    assert db.execute("SELECT count(*) FROM ticks").fetchone()[0] == 50


def test_a_store_from_a_newer_companion_is_refused_not_downgraded(tmp_path):
    path = tmp_path / "p.sqlite"
    ProgressStore(path).set("c", "l", "v", True)
    sqlite3.connect(path).execute(f"PRAGMA user_version = {store_mod.VERSION + 1}")
    with pytest.raises(StoreError, match="newer course companion"):
        ProgressStore(path).ticks()


def test_positions_are_written_at_most_once_every_few_seconds_while_playing_and_at_once_on_pause(tmp_path):
    now = Clock()
    tr = tracker(tmp_path, now=now)
    saved = lambda: ProgressStore(tmp_path / "p.sqlite").positions().get(KEY)  # noqa: E731
    tr.report("playing", 5, 3000, [(0, 5)])
    assert saved().position == 5  # the first report is written: a crash right after still resumes
    gap = int(SAVE_EVERY)
    for second in range(1, gap):
        now.t += 1
        tr.report("playing", 5 + second, 3000, [(4 + second, 5 + second)])
        assert saved().position == 5, "written again within SAVE_EVERY"
    now.t += 1
    tr.report("playing", 5 + gap, 3000, [(4 + gap, 5 + gap)])
    assert saved().position == 5 + gap
    now.t += 0.5
    tr.report("pause", 5.5 + gap, 3000, [(5 + gap, 5.5 + gap)])
    assert saved().position == 5.5 + gap and saved().played == ((0.0, 5.5 + gap),)


def test_playing_past_the_threshold_ticks_the_video_and_tells_the_checklist(tmp_path):
    told = []
    on_watched("c1", "l1", told.append)
    tr = tracker(tmp_path)
    assert not tr.report("pause", 2600, 3000, [(0, 2600)])  # 87 %
    assert ProgressStore(tmp_path / "p.sqlite").ticks() == {}
    assert tr.report("playing", 2710, 3000, [(2600, 2710)])  # 90.3 %
    assert ProgressStore(tmp_path / "p.sqlite").ticks() == {KEY: True}
    assert told == ["aircAruvnKk"]


def test_seeking_to_the_end_does_not_tick_it(tmp_path):
    tr = tracker(tmp_path)
    tr.report("pause", 60, 3000, [(0, 60)])
    assert not tr.report("ended", 3000, 3000, [(2995, 3000)])  # jumped to the end and played the last seconds
    assert ProgressStore(tmp_path / "p.sqlite").ticks() == {}


def test_watching_the_same_minutes_twice_counts_them_once(tmp_path):
    tr = tracker(tmp_path)
    for _ in range(3):
        assert not tr.report("pause", 1500, 3000, [(0, 1500)])
    assert tr.played == ((0.0, 1500.0),)


def test_the_threshold_applies_to_the_assigned_stretch_between_start_and_end(tmp_path):
    tr = tracker(tmp_path, start=600, end=1200, threshold=0.5)
    assert not tr.report("pause", 890, 3000, [(0, 890)])  # 290 of the 600 assigned seconds
    assert tr.report("pause", 910, 3000, [(890, 910)])


def test_a_learners_untick_wins_over_watching(tmp_path):
    store = ProgressStore(tmp_path / "p.sqlite")
    store.set(*KEY, False)  # ticked and unticked by hand
    tr = tracker(tmp_path)
    assert not tr.report("ended", 3000, 3000, [(0, 3000)])
    assert store.ticks() == {KEY: False}


def test_a_new_page_resumes_from_what_the_store_kept(tmp_path):
    tracker(tmp_path).report("pause", 2232, 3000, [(0, 2232)])
    again = tracker(tmp_path)
    assert (again.position, again.duration, again.played) == (2232, 3000, ((0.0, 2232.0),))
    assert clock(again.position) == "37:12" and clock(4000) == "1:06:40"


def test_export_and_import_carry_positions_and_notes(tmp_path, monkeypatch):
    laptop, desktop = tmp_path / "laptop.sqlite", tmp_path / "desktop.sqlite"
    ProgressStore(laptop).save_position(*KEY, 2232, 3000, [(0, 2232)], at=10)
    ProgressStore(laptop).add_note(Note("n1", *KEY, 2232, "why the sigmoid?", 10))
    ProgressStore(desktop).save_position(*KEY, 100, 3000, [(0, 100)], at=20)  # newer: stays
    monkeypatch.setenv("COMPANION_PROGRESS", str(laptop))
    assert main(["progress", "--export", str(tmp_path / "p.json")]) == 0
    monkeypatch.setenv("COMPANION_PROGRESS", str(desktop))
    catalog = write_catalog(tmp_path, small_catalog())  # has course c1
    assert main(["progress", "--import", str(tmp_path / "p.json"), "--catalog", str(catalog)]) == 0
    assert ProgressStore(desktop).positions()[KEY].position == 100
    assert [(n.id, n.text) for n in ProgressStore(desktop).notes()] == [("n1", "why the sigmoid?")]


def test_an_export_from_before_positions_still_imports(tmp_path, monkeypatch):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": "course-companion-progress", "version": 1, "ticks": [
        {"course": "math-for-ml", "lesson": "l1", "item": "x", "done": True, "changed_at": 5}]}))
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "p.sqlite"))
    assert main(["progress", "--import", str(old)]) == 0
    assert ProgressStore().ticks() == {("math-for-ml", "l1", "x"): True}


def test_a_malformed_note_in_an_import_is_named(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "course-companion-progress", "ticks": [], "notes": [{"id": "n"}]}))
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "p.sqlite"))
    assert main(["progress", "--import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "notes[0].course: must be non-empty text" in err and "notes[0].text: must be text" in err


def test_notes_print_as_markdown_by_lesson_and_video_with_links_to_the_moment(tmp_path, monkeypatch, capsys):
    catalog = write_catalog(tmp_path, small_catalog())
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "p.sqlite"))
    store = ProgressStore()
    store.add_note(Note("b", "c1", "l1", "IHZwWFHWa-w", 95, "second *video*", 2))
    store.add_note(Note("a", *KEY, 2232, "a thought", 1))
    store.add_note(Note("c", "c1", "gone", "aircAruvnKk", 3, "kept though its lesson left", 3))
    assert main(["notes", "--course", "c1", "--catalog", str(catalog)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "# Course One"
    lesson = out.index("## Lesson 1 — First")
    first = out.index("### But what is a neural network?")
    second = out.index("### Gradient descent")
    assert lesson < first < out.index(f"- [37:12]({moment_url('aircAruvnKk', 2232)}) a thought") < second
    assert "- [1:35](https://www.youtube.com/watch?v=IHZwWFHWa-w&t=95s) second \\*video\\*" in out
    assert "## Videos no longer in this course" in out and "kept though its lesson left" in out


def test_notes_of_every_course_print_each_under_its_own_lessons(tmp_path, monkeypatch, capsys):
    data = small_catalog()
    second = json.loads(json.dumps(data["courses"][0]))
    second.update(id="c2", title="Course Two")
    data["courses"].append(second)
    catalog = write_catalog(tmp_path, data)
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "p.sqlite"))
    store = ProgressStore()
    store.add_note(Note("a", *KEY, 60, "in the first course", 1))
    store.add_note(Note("b", "c2", KEY[1], KEY[2], 120, "in the second course", 2))
    assert main(["notes", "--catalog", str(catalog)]) == 0
    out = capsys.readouterr().out
    two = out.index("# Course Two")
    assert out.index("in the first course") < two < out.index("## Lesson 1 — First", two) < out.index("in the second course")


def test_watched_threshold_is_a_catalog_setting_between_0_and_1():
    data = small_catalog()
    assert from_data(data).watched_threshold == 0.9
    data["settings"] = {"watched_threshold": 0.75}
    assert from_data(data).watched_threshold == 0.75 and not schema_problems(data)
    data["settings"] = {"watched_threshold": 1.5}
    assert any(p.startswith("settings.watched_threshold:") for p in schema_problems(data))


def test_a_threshold_that_is_not_a_number_is_a_catalog_error_even_unchecked():
    """The kernel reads the catalog without the schema pass: a hand-edited setting must not crash it."""
    from companion.course.catalog import CatalogError

    data = small_catalog()
    data["settings"] = {"watched_threshold": "most of it"}
    with pytest.raises(CatalogError, match="malformed catalog"):
        from_data(data)


def test_the_live_player_carries_the_saved_players_html_and_text_and_its_host(tmp_path):
    """What a reopened notebook falls back to once the widget view is gone, for either host."""
    from companion.kernel.embed import Embed
    from companion.kernel.player import live_player

    store = ProgressStore(tmp_path / "p.sqlite")
    for private in (False, True):
        embed = Embed("A video", video="aircAruvnKk", playlist="PLx", start=30, end=600, privacy_enhanced=private)
        player = live_player(embed, store, *KEY, 0.9)
        data, _ = player._repr_mimebundle_()
        assert {k: v for k, v in data.items() if k != "application/vnd.jupyter.widget-view+json"} == embed.bundle()
        assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == player.model_id
        host = "https://www.youtube-nocookie.com" if private else "https://www.youtube.com"
        assert player.src == f"{host}/embed/aircAruvnKk?list=PLx&start=30&end=600" and player.start == 30


def test_a_video_left_near_its_start_or_end_is_not_offered_to_resume(tmp_path):
    from companion.kernel.embed import Embed
    from companion.kernel.player import live_player

    store = ProgressStore(tmp_path / "p.sqlite")
    embed = Embed("A video", video="aircAruvnKk")
    for left, offered in ((4, 0), (2232, 2232), (2995, 0)):
        store.save_position(*KEY, left, 3000, [])
        assert live_player(embed, store, *KEY, 0.9).resume == offered


def test_a_store_that_cannot_be_read_leaves_a_player_that_plays_and_says_why(tmp_path):
    from companion.kernel.embed import Embed
    from companion.kernel.player import live_player

    (tmp_path / "p.sqlite").write_bytes(b"not sqlite" * 300)
    player = live_player(Embed("A video", video="aircAruvnKk"), ProgressStore(tmp_path / "p.sqlite"), *KEY, 0.9)
    assert player.src and player.status.startswith("Plays, but remembers nothing: progress store")


@pytest.mark.parametrize("typed, seconds", [("95", 95), ("12:30", 750), ("1:02:03", 3723), (" 0:05 ", 5), ("00:00", 0)])
def test_a_typed_time_reads_as_seconds_into_the_video(typed, seconds):
    from companion.kernel.player import typed_moment

    assert typed_moment(typed) == seconds


@pytest.mark.parametrize("typed", ["", ":", "12:5", "12:60", "1:2:3", "1:00:00:00", "-5", "1e3", "12.5", "١٢:٣٠",
                                   "123456", "12:30 pm", None, 750])
def test_what_is_not_a_time_reads_as_none(typed):
    from companion.kernel.player import typed_moment

    assert typed_moment(typed) is None


def _from_page(player, content: dict) -> None:
    """A custom message as the page's widget sends it, through the widget's own comm dispatch."""
    player._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def test_a_note_at_a_typed_time_is_kept_through_the_players_message_handler(tmp_path):
    """Offline (no player to ask the moment of) a learner types the time; the kernel reads it."""
    from companion.kernel.embed import Embed
    from companion.kernel.player import live_player

    store = ProgressStore(tmp_path / "p.sqlite")
    player = live_player(Embed("A video", video=KEY[2]), store, *KEY, 0.9)
    _from_page(player, {"kind": "note", "at": "12:30", "text": "  why   the sigmoid? "})
    assert [(n.at, n.text) for n in store.notes()] == [(750, "why the sigmoid?")]
    assert player.status == "Note kept at 12:30"
    assert [(n["at"], n["text"]) for n in player.notes] == [(750, "why the sigmoid?")]


def test_a_typed_time_that_is_not_one_or_is_past_the_end_keeps_nothing_and_says_why(tmp_path):
    from companion.kernel.embed import Embed
    from companion.kernel.player import live_player

    store = ProgressStore(tmp_path / "p.sqlite")
    player = live_player(Embed("A video", video=KEY[2]), store, *KEY, 0.9)
    _from_page(player, {"kind": "note", "at": "12:75", "text": "a thought"})
    assert player.status == "Not kept: “12:75” is not a time in the video, like 12:30 or 1:02:03"
    _from_page(player, {"kind": "note", "at": "", "text": "a thought"})
    assert player.status == "Not kept: “” is not a time in the video, like 12:30 or 1:02:03"
    store.save_position(*KEY, 60, 600, [(0, 60)])  # the video was played once: its length is known
    player = live_player(Embed("A video", video=KEY[2]), store, *KEY, 0.9)
    _from_page(player, {"kind": "note", "at": "12:30", "text": "a thought"})
    assert player.status == "Not kept: 12:30 is past the end of this video (10:00)"
    assert store.notes() == [] and player.notes == []
    _from_page(player, {"kind": "note", "at": "10:00", "text": "at the very end"})
    assert [(n.at, n.text) for n in store.notes()] == [(600, "at the very end")]


def test_a_saved_player_carries_a_reason_for_each_way_it_can_be_missing():
    """Untrusted: the HTML as saved (the sanitizer strips iframe and script) says so; trusted, the
    script says what running adds and, when YouTube does not answer, that it can't be reached."""
    from companion.kernel.embed import NOT_RUN, OFFLINE, PROBE, UNTRUSTED, Embed

    html = Embed("A <video>", video=KEY[2], start=30).bundle()["text/html"]
    assert '<p class="cc-why" style="color:#555;margin:4px 0">' + UNTRUSTED.replace("'", "&#x27;") + "</p>" in html
    assert f"<script>{PROBE}</script></div>" in html
    assert '<p class="cc-offline" style="display:none;' in html and "https://www.youtube.com/watch?v=aircAruvnKk&amp;t=30s" in html
    assert "A &lt;video&gt;" in html and "A <video>" not in html and "A <video>" not in PROBE
    assert '"' + NOT_RUN + '"' in PROBE and "companion build" not in html
    assert OFFLINE.replace("'", "&#x27;") in html
