"""validate and build agree on what they refuse, and what the CLI prints is safe for a terminal
(issue 12, item 8): lone surrogates, numbers too long to read, huge values quoted in part,
control characters and ANSI escapes shown as escapes."""

from __future__ import annotations

import json

import pytest
from helpers import small_catalog, write_catalog

from companion.cli import main

RAW = ("\x1b", "\x07", "\r", "\x9b", "\u202e", "\x00")


def catalog_text(tmp_path, text: str):
    path = tmp_path / "catalog.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("edit, says", [
    (lambda t: t.replace('"Gradient descent"', '"Gradient \\ud800 descent"'),
     'videos[1].title: "Gradient \\ud800 descent" holds a lone surrogate'),
    (lambda t: t.replace('"number": 2', '"number": ' + "9" * 5000), "catalog.json: invalid JSON: a number too long"),
])
def test_validate_and_build_refuse_the_same_catalog_with_the_same_message(tmp_path, capsys, edit, says):
    path = catalog_text(tmp_path, edit(json.dumps(small_catalog(), indent=1)))
    assert main(["validate", "--catalog", str(path)]) == 2
    validate_err = capsys.readouterr().err
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 2
    build_err = capsys.readouterr().err
    assert says in validate_err and validate_err == build_err and "Traceback" not in build_err
    assert not (tmp_path / "notebooks").exists()


def test_a_message_quotes_at_most_a_couple_hundred_characters_of_a_huge_value(tmp_path, capsys):
    data = small_catalog()
    data["videos"][0]["title"] = "T" * 1_000_000
    data["courses"][0]["lessons"][0]["videos"][0] = "x" * 1_000_000
    assert main(["validate", "--catalog", str(write_catalog(tmp_path, data))]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 3 and all(len(line) < 400 for line in lines)
    assert any("(1000002 characters) is too long" in line for line in lines)


def test_control_characters_and_ansi_escapes_in_catalog_text_never_reach_the_terminal(tmp_path, capsys, monkeypatch):
    data = small_catalog()
    data["courses"][0]["title"] = "Course \x1b[31mred\x1b[0m\x07"
    data["courses"][0]["lessons"][0]["title"] = "First\rOVERWRITTEN \u202eevil\x9b2J"
    path = write_catalog(tmp_path, data)
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "p.sqlite"))
    assert main(["progress", "--catalog", str(path)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in RAW)
    assert "Course \\x1b[31mred\\x1b[0m\\x07" in out and "First\\rOVERWRITTEN \\u202eevil\\x9b2J" in out

    data["courses"][0]["lessons"][0]["id"] = "l1\x1b]0;pwned\x07"  # refused: the message quotes it
    assert main(["validate", "--catalog", str(write_catalog(tmp_path, data))]) == 2
    err = capsys.readouterr().err
    assert "courses[0].lessons[0].id" in err and not any(c in err for c in RAW)
