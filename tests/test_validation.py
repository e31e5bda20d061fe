from __future__ import annotations

import json

import pytest
from helpers import small_catalog, write_catalog

from companion.cli import main


def problems_of(tmp_path, data, capsys) -> list[str]:
    path = write_catalog(tmp_path, data)
    code = main(["validate", "--catalog", str(path)])
    err = capsys.readouterr().err.splitlines()
    assert code == (2 if err else 0)
    return err[:-1]  # the last line counts the problems


def mutated(change) -> dict:
    data = small_catalog()
    change(data)
    return data


def test_the_project_catalog_is_valid(capsys):
    assert main(["validate"]) == 0
    assert "valid — 5 courses" in capsys.readouterr().out


@pytest.mark.parametrize("change, message", [
    (lambda d: d["courses"][0]["lessons"][1]["videos"].append("xyz"),
     'courses[0].lessons[1].videos[2]: unknown video "xyz"'),
    (lambda d: d["videos"].append(dict(d["videos"][0])),
     'videos[4].id: duplicate id "aircAruvnKk" (first used at videos[0])'),
    (lambda d: d["videos"][1].update(youtube="IHZwWFHWa"),
     'videos[1].youtube: malformed YouTube id "IHZwWFHWa" (11 characters of A-Z a-z 0-9 _ -)'),
    (lambda d: d["resources"][0].update(url="javascript:alert(1)"),
     "resources[0].url: link is not http(s): 'javascript:alert(1)'"),
    (lambda d: d["videos"][3].update(url="data:text/html,<b>x</b>"),
     "videos[3].url: link is not http(s): 'data:text/html,<b>x</b>'"),
    (lambda d: d["videos"][0].update(series="nope"), 'videos[0].series: unknown series "nope"'),
    (lambda d: d["courses"][0].update(series=[{"id": "s1", "note": "Ours."}, {"id": "nope"}]),
     'courses[0].series[1].id: unknown series "nope"'),
    (lambda d: d["courses"][0]["lessons"][1].update(videos=[{"id": "Ilg3gGewQ5U", "series": "nope"}]),
     'courses[0].lessons[1].videos[0].series: unknown series "nope"'),
    (lambda d: d["courses"][0]["lessons"][2].update(number=1),
     "courses[0].lessons[2].number: lesson number 1 is also used by courses[0].lessons[0]"),
    (lambda d: d["courses"][0]["lessons"][2].update(id="l1"),
     'courses[0].lessons[2].id: duplicate lesson id "l1" (first at courses[0].lessons[0])'),
    (lambda d: d["courses"][0]["lessons"][0]["resources"].append("nothing"),
     'courses[0].lessons[0].resources[1]: unknown resource "nothing"'),
    (lambda d: d["courses"][0]["lessons"][0].pop("title"), "courses[0].lessons[0]: 'title' is a required property"),
    (lambda d: d["courses"][0].update(id="../escape"),
     "courses[0].id: '../escape' is not allowed here (Lower-case letters, digits and -; used in file names.)"),
    (lambda d: d["videos"][0].update(colour="red"), "videos[0]: unknown field(s) ('colour' was unexpected)"),
])
def test_each_mistake_gets_one_line_naming_its_place(tmp_path, capsys, change, message):
    assert problems_of(tmp_path, mutated(change), capsys) == [message]


def test_all_mistakes_are_reported_at_once(tmp_path, capsys):
    def two(d):
        d["courses"][0]["lessons"][1]["videos"].append("xyz")
        d["videos"][1]["youtube"] = "bad"
    assert len(problems_of(tmp_path, mutated(two), capsys)) == 2


def test_broken_json_names_line_and_column(tmp_path, capsys):
    path = tmp_path / "catalog.json"
    path.write_text('{\n  "series": [,]\n}\n')
    assert main(["validate", "--catalog", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}:2:14: invalid JSON")


def test_a_missing_catalog_is_a_clear_error(tmp_path, capsys):
    assert main(["validate", "--catalog", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_build_refuses_an_invalid_catalog_and_writes_nothing(tmp_path, capsys):
    path = write_catalog(tmp_path, small_catalog())
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    before = {p: p.read_bytes() for p in (tmp_path / "notebooks").rglob("*")if p.is_file()}
    broken = small_catalog()
    broken["courses"][0]["lessons"][0]["title"] = "Renamed"
    broken["courses"][0]["lessons"][1]["videos"].append("xyz")
    write_catalog(tmp_path, broken)
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 2
    assert "nothing was written" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in (tmp_path / "notebooks").rglob("*") if p.is_file()} == before


def test_the_catalog_names_its_schema_for_editors():
    from helpers import ROOT

    data = json.loads((ROOT / "catalog.json").read_text())
    assert (ROOT / data["$schema"]).is_file()
