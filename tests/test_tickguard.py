"""The checklist's guard, kernel side: a click from the page is saved before its box shows it, and a
message that names no box (or no tick) changes nothing but is still answered, so the page never
takes a live checklist for a dead one."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import small_catalog, write_catalog

from companion.kernel.tickguard import TickGuard
from companion.learner.store import ProgressStore
from companion.lesson import open_lesson


@pytest.fixture
def checklist(tmp_path, monkeypatch) -> tuple[Any, TickGuard, ProgressStore, list[Any]]:
    monkeypatch.setenv("COMPANION_CATALOG", str(write_catalog(tmp_path, small_catalog())))
    store = ProgressStore(tmp_path / "progress.sqlite")
    shown = open_lesson("c1", "l1", store=store).checklist()
    guard = next(c for c in shown.children if isinstance(c, TickGuard))
    answers: list[Any] = []
    monkeypatch.setattr(guard, "send", answers.append)
    return shown, guard, store, answers


def test_a_click_from_the_page_is_saved_before_its_box_shows_it(checklist, monkeypatch):
    shown, guard, store, answers = checklist
    box = shown.children[1]
    seen: list[dict] = []  # the store when the box's change is announced: ipywidgets tells the page first
    announce = box.notify_change

    def told(change: dict) -> None:
        if change["name"] == "value":
            seen.append(store.ticks("c1", "l1"))
        announce(change)

    monkeypatch.setattr(box, "notify_change", told)
    guard._received(guard, {"kind": "click", "click": 7, "index": 1, "value": True}, [])
    assert box.value is True
    assert seen == [{("c1", "l1", "IHZwWFHWa-w"): True}], "the page was told before the store had the tick"
    assert answers == [{"kind": "answered", "click": 7}]
    guard._received(guard, {"kind": "click", "click": 8, "index": 1, "value": False}, [])
    assert box.value is False and store.ticks("c1", "l1") == {("c1", "l1", "IHZwWFHWa-w"): False}


@pytest.mark.parametrize("message", [
    {"kind": "click", "click": 1, "index": 99, "value": True},
    {"kind": "click", "click": 1, "index": -1, "value": True},
    {"kind": "click", "click": 1, "index": True, "value": True},
    {"kind": "click", "click": 1, "index": "0", "value": True},
    {"kind": "click", "click": 1, "index": 0, "value": "yes"},
    {"kind": "click", "click": 1},
])
def test_a_click_that_names_no_box_or_no_tick_changes_nothing_and_is_answered(checklist, message):
    shown, guard, store, answers = checklist
    guard._received(guard, message, [])
    assert store.ticks() == {}
    assert [b.value for b in shown.children if hasattr(b, "indent")] == [False] * 4
    assert answers == [{"kind": "answered", "click": 1}]


@pytest.mark.parametrize("message", [None, "click", [1, 2], {"kind": "other"}])
def test_anything_else_is_ignored(checklist, message):
    _, guard, store, answers = checklist
    guard._received(guard, message, [])
    assert store.ticks() == {} and answers == []
