"""One definition of a tick, a position and a note (companion/records.py), held to by every side (issue 18):
the JSON Schema and the check agree; what the store accepts, export writes and import reads back
identical; values stored before the checks never crash a command or look like damage; the player's
handler, the import and the hub's sender and service refuse what the store would."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from pathlib import Path

import jsonschema
import pytest
from helpers import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.cli import main
from companion.learner import export, records
from companion.learner.export import read_export
from companion.learner.store import Note, ProgressStore, StoreError

COURSE = "math-for-ml"  # a course of the repository's catalog: an import takes only those
TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from(["\x00", "\x1b", "\ud800", "\x85", "\n", "\t"]),
               max_size=12)
IDS = st.one_of(st.sampled_from(["l1", "aircAruvnKk", "reflections", "ü-ß"]), TEXT, st.just("x" * 201))
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**6),
                    st.sampled_from([-100, 1e308, 86400, 86400.5, 1e18]))
VALUES = st.one_of(NUMBERS, TEXT, st.booleans(), st.none(), st.lists(st.lists(NUMBERS, max_size=3), max_size=3))
NOW = time.time()


def record_of(kind: str) -> st.SearchStrategy[dict]:
    """Mostly well-formed records of `kind`, with hostile values in any field."""
    typical = {"course": IDS, "lesson": IDS, "item": IDS, "id": IDS, "done": st.booleans(),
               "changed_at": st.one_of(st.floats(0, NOW), NUMBERS), "position": NUMBERS, "duration": NUMBERS,
               "at": NUMBERS, "played": VALUES if kind == "sent_position" else st.lists(
                   st.tuples(st.floats(0, 86400), st.floats(0, 86400)) | st.lists(NUMBERS, max_size=3), max_size=4),
               "text": st.one_of(TEXT, st.just("y" * 10_001)),
               "card": st.one_of(IDS, st.just("prompt/" + "c" * 300), st.just("z" * 801)),
               "fsrs": st.one_of(st.just('{"card_id": 1}'), TEXT, st.just("{" * 2001)), "due": NUMBERS}
    return st.fixed_dictionaries({key: st.one_of(typical[key], VALUES) if key != "done" else typical[key]
                                  for key in records.FIELDS[kind]})


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(records.KINDS), data=st.data())
def test_the_json_schema_and_the_check_agree_on_every_json_record(kind, data):
    record = data.draw(record_of(kind))
    try:
        record = json.loads(json.dumps(record, allow_nan=False))  # what JSON can carry
    except ValueError:
        return
    valid = not list(jsonschema.Draft202012Validator(records.schema(kind, NOW)).iter_errors(record))
    assert valid == (records.problems(kind, record, NOW) == []), records.problems(kind, record, NOW)


def _fill(store: ProgressStore, ticks, positions, notes) -> None:
    for t in ticks:
        try:
            store.set(t["course"], t["lesson"], t["item"], t["done"], at=t["changed_at"])
        except StoreError:
            pass
    for p in positions:
        try:
            store.save_position(p["course"], p["lesson"], p["item"], p["position"], p["duration"], p["played"],
                                at=p["changed_at"])
        except (StoreError, TypeError, ValueError):
            pass
    for n in notes:
        try:
            store.add_note(Note(**n))
        except StoreError:
            pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ticks=st.lists(record_of("tick"), max_size=4), positions=st.lists(record_of("position"), max_size=3),
       notes=st.lists(record_of("note"), max_size=3))
def test_whatever_the_store_accepts_export_writes_and_import_reads_back_identical(tmp_path_factory, ticks, positions,
                                                                                    notes):
    folder = tmp_path_factory.mktemp("round")
    laptop, desktop = ProgressStore(folder / "laptop.sqlite"), ProgressStore(folder / "desktop.sqlite")
    _fill(laptop, [{**t, "course": COURSE} for t in ticks], [{**p, "course": COURSE} for p in positions],
          [{**n, "course": COURSE} for n in notes])
    text, left_out = export.write(laptop)
    assert left_out == []
    data = read_export(text, "p.json", courses={COURSE})
    export.merge(desktop, data)
    assert list(desktop.all()) == list(laptop.all())
    assert desktop.positions() == laptop.positions()
    assert desktop.notes() == laptop.notes()


@pytest.mark.parametrize("write, says", [
    (lambda s: s.set("c", "l", "a\x00b", True), "control character"),
    (lambda s: s.set("c", "l", "\ud800", True), "lone surrogate"),
    (lambda s: s.set("c", "l", "i", True, at=1e18), "in the future"),
    (lambda s: s.save_position("c", "l", "v", -100, 10, []), "position"),
    (lambda s: s.save_position("c", "l", "v", math.inf, 10, []), "position"),
    (lambda s: s.save_position("c", "l", "v", 5, 10, [(-math.inf, math.inf)]), "played"),
    (lambda s: s.add_note(Note("n", "c", "l", "v", -100, "x", 1.0)), "at"),
    (lambda s: s.add_note(Note("n", "c", "l", "v", 5, "y" * 10_001, 1.0)), "longer than 10000"),
])
def test_the_store_refuses_a_value_export_could_not_write_and_calls_nothing_damaged(tmp_path, write, says):
    from companion.kernel.sender import install_outbox

    store = ProgressStore(tmp_path / "p.sqlite")
    store.set("c", "l", "kept", True, at=5.0)
    with sqlite3.connect(store.path, isolation_level=None) as db:
        install_outbox(db)  # on a hub: the outbox's triggers read what is written
    with pytest.raises(StoreError, match=says) as refused:
        write(store)
    assert "nothing was changed" in str(refused.value) and "damaged" not in str(refused.value)
    assert not list(tmp_path.glob("*damaged*"))
    assert store.ticks() == {("c", "l", "kept"): True} and store.positions() == {} and store.notes() == []


def _legacy_store(path: Path) -> ProgressStore:
    """A store holding what crafted messages stored before the checks: at=-100, at=inf, played [[-inf, inf]]."""
    store = ProgressStore(path)
    store.set(COURSE, "l", "ok", True, at=10.0)
    store.save_position(COURSE, "l", "v", 5.0, 10.0, [(0.0, 5.0)], at=10.0)
    store.add_note(Note("n1", COURSE, "l", "v", 3.0, "fine", 10.0))
    store.add_note(Note("n2", COURSE, "l", "v", 4.0, "later", 10.0))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE notes SET at = ? WHERE id = 'n1'", (-100.0,))
        db.execute("UPDATE notes SET at = ? WHERE id = 'n2'", (math.inf,))
        db.execute("UPDATE positions SET played = '[[-Infinity, Infinity]]', position = 1e308")
    return store


def test_values_stored_before_the_checks_never_crash_notes_and_export_leaves_out_what_import_refuses(
        tmp_path, monkeypatch, capsys):
    _legacy_store(tmp_path / "p.sqlite")
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "p.sqlite"))
    assert main(["notes", "--catalog", str(ROOT / "catalog.json")]) == 0
    shown = capsys.readouterr().out
    assert "fine" in shown and "later" in shown and "—" in shown
    assert main(["progress", "--export", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert out.count("left out of the export") == 3 and "Infinity" not in (tmp_path / "p.json").read_text()
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "other.sqlite"))
    assert main(["progress", "--import", str(tmp_path / "p.json"), "--catalog", str(ROOT / "catalog.json")]) == 0
    assert [t.item for t in ProgressStore(tmp_path / "other.sqlite").all()] == ["ok"]
    assert not list(tmp_path.glob("*damaged*"))


def test_the_players_handler_refuses_what_the_store_and_the_hub_would(tmp_path):
    from companion.kernel.embed import Embed
    from companion.kernel.player import Player, Tracker

    store = ProgressStore(tmp_path / "p.sqlite")
    embed = Embed("A video", video="aircAruvnKk")
    player = Player(embed, Tracker(store, COURSE, "l", "aircAruvnKk", 0, 0, 0.9))
    for message in [{"kind": "progress", "event": "pause", "position": "-5", "duration": 10, "played": []},
                    {"kind": "progress", "event": "pause", "position": 5, "duration": 10, "played": [[-1e308, 1e308]]},
                    {"kind": "progress", "event": "pause", "position": math.inf, "duration": 10, "played": []}]:
        player._received(player, message, [])
        assert player.status.startswith("Not kept: the page sent"), (message, player.status)
    for at, says in [("-100", "is not a time"), ("99999:00:00", "past the end of any video")]:
        player._received(player, {"kind": "note", "at": at, "text": "a note"}, [])
        assert player.status.startswith("Not kept:") and says in player.status, player.status
    player._received(player, {"kind": "note", "at": "0:05", "text": "y" * 10_001}, [])
    assert player.status == "Not kept: a note can hold at most 10,000 characters; this one has 10,001"
    assert store.positions() == {} and store.notes() == []
    player._received(player, {"kind": "progress", "event": "pause", "position": 5, "duration": 10,
                              "played": [[0, 5]]}, [])
    assert store.positions()[(COURSE, "l", "aircAruvnKk")].position == 5


def test_where_the_learner_leaves_a_video_wins_over_a_position_imported_from_a_little_in_the_future(tmp_path):
    store = ProgressStore(tmp_path / "p.sqlite")
    soon = time.time() + records.CLOCK_SKEW / 2  # another machine's clock a little ahead: the import takes it
    store.save_position(COURSE, "l", "v", 100.0, 600.0, [(0.0, 100.0)], at=soon)
    store.save_position(COURSE, "l", "v", 7.0, 600.0, [(0.0, 7.0)])  # the learner's own pause, now
    kept = store.positions()[(COURSE, "l", "v")]
    assert kept.position == 7.0 and kept.changed_at > soon


@pytest.mark.parametrize("content, says", [
    (lambda: {"format": "course-companion-progress", "version": 99, "ticks": []}, "version 99"),
    (lambda: {"format": "course-companion-progress", "version": 2, "ticks": [
        {"course": "no-such-course", "lesson": "l", "item": "i", "done": True, "changed_at": 1.0}]},
     '"no-such-course" is not a course of the catalog'),
    (lambda: {"format": "course-companion-progress", "version": 2, "ticks": [
        {"course": COURSE, "lesson": "l", "item": "a\x00b", "done": True, "changed_at": 1.0}]}, "control character"),
    (lambda: {"format": "course-companion-progress", "version": 2, "ticks": [], "notes": [
        {"id": "n", "course": COURSE, "lesson": "l", "item": "v", "at": 1.0, "text": "y" * 10_001,
         "changed_at": 1.0}]}, "longer than 10000"),
])
def test_an_import_of_an_unknown_version_or_course_or_a_bad_id_is_refused_clearly(tmp_path, monkeypatch, capsys,
                                                                                  content, says):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(content()))
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "p.sqlite"))
    assert main(["progress", "--import", str(source), "--catalog", str(ROOT / "catalog.json")]) == 2
    err = capsys.readouterr().err
    assert says in err and "nothing was imported" in err and "Traceback" not in err
    assert list(ProgressStore(tmp_path / "p.sqlite").all()) == []


def test_an_import_of_an_endless_or_huge_file_is_refused_by_its_size_without_reading_it_all(tmp_path, monkeypatch,
                                                                                          capsys):
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "p.sqlite"))
    assert main(["progress", "--import", "/dev/zero", "--catalog", str(ROOT / "catalog.json")]) == 2
    assert "larger than 64 MB" in capsys.readouterr().err
    huge = tmp_path / "huge.json"
    with huge.open("wb") as f:
        f.truncate(300 * 2**20)  # sparse: 300 MB that take no disk
    assert main(["progress", "--import", str(huge), "--catalog", str(ROOT / "catalog.json")]) == 2
    assert "larger than 64 MB" in capsys.readouterr().err


def test_no_csv_cell_of_the_class_export_starts_a_formula():
    import csv
    import io
    from dataclasses import replace

    from companion.course.catalog import load
    from companion.hub import report
    from companion.hub.db import Row
    from companion.learner.tally import lesson_items

    cat = load(ROOT / "catalog.json")
    course = next(iter(cat.courses.values()))
    lesson = course.ordered()[0]
    hostile = replace(course, id="-2+3", title="=cmd")
    cat = replace(cat, courses={"-2+3": hostile})
    item = lesson_items(cat, lesson)[0][0]
    text = report.csv_text(cat, [Row("@learner", "-2+3", lesson.id, item, True, 1.0, 1.0)])
    for row in csv.reader(io.StringIO(text)):
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), row


def test_a_flooded_log_keeps_at_most_its_lines_a_minute_and_says_how_many_it_dropped():
    import logging

    from companion.hub.limits import AtMost

    now = [0.0]
    limit = AtMost(per_minute=5, clock=lambda: now[0])
    shown = [limit.filter(logging.makeLogRecord({"msg": f"line {n}"})) for n in range(1000)]
    assert sum(shown) == 5
    now[0] = 61.0
    after = logging.makeLogRecord({"msg": "next"})
    assert limit.filter(after) and after.msg.startswith("(995 log lines dropped")
