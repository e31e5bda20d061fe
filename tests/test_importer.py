from __future__ import annotations

import json
import shutil

import pytest
from helpers import ROOT, SEEDS

from companion.authoring.importer import import_index
from companion.authoring.source_list import parse_index, parse_lessons
from companion.cli import main
from companion.course.catalog import CatalogError, from_data

INDEX = """# Video Series Index

> A blurb for the course.

## Teacher — Some Series

**Playlist:** [youtube.com/playlist?list=PLZHQObOWTQDPD3MizzM2xVFitgF8hE_ab](https://www.youtube.com/playlist?list=PLZHQObOWTQDPD3MizzM2xVFitgF8hE_ab)

*Series blurb.*

| # | Title | Lesson | Link |
|---|-------|--------|------|
| 1 | Plain watch link | 1 | [Watch](https://www.youtube.com/watch?v=aircAruvnKk) |
| 2 | Short link with start | 2 - 3 | [Watch](https://youtu.be/IHZwWFHWa-w?t=90) |
| 3 | Mobile link in a playlist | 2, 4 | [Watch](https://m.youtube.com/watch?v=Ilg3gGewQ5U&list=PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi&t=1m5s) |
| 4 | A \\| bar in the title | Optional | [Watch](https://www.youtube.com/watch?v=tIeHLnjs5U8) |
| 5 | General advice | General | [Watch](https://www.youtube.com/watch?v=czp0Gj3gYF8) |

## Other — Mixed

| Title / Type | Lesson | Link |
|-------------|--------|------|
| A podcast | 1 | [Listen](https://axrp.net/episode/x.html) |
| A playlist row | 3–4 | [Playlist](https://www.youtube.com/playlist?list=PLHXZ9OQGMqxc_CvEy7xBKRQr6I214QJcd) |
| No link at all | 4 | |
"""


def imported(text: str = INDEX, data: dict | None = None) -> dict:
    return import_index(data or {}, text, course_id="c", name="index.md")


@pytest.mark.parametrize("cell, lessons", [
    ("4", [4]), ("4–5", [4, 5]), ("4 - 6", [4, 5, 6]), ("13, 16", [13, 16]), ("14–15, 20", [14, 15, 20]),
    ("Optional", ["Optional"]), ("General", ["General"]), ("63–67", [63, 64, 65, 66, 67]),
])
def test_lesson_cells_are_numbers_ranges_lists_or_labels(cell, lessons):
    assert parse_lessons(cell) == lessons


@pytest.mark.parametrize("cell", ["", "soon", "5–3", "1-99999"])
def test_unreadable_lesson_cells_are_errors(cell):
    with pytest.raises(ValueError):
        parse_lessons(cell)


def test_an_escaped_bar_stays_inside_its_cell():
    _, _, _, rows = parse_index("## S\n\n| # | Title | Lesson |\n|---|---|---|\n| 4 | A \\| bar | 1 |\n", "index.md")
    assert [(r.number, r.title, r.lessons) for r in rows] == [("4", "A | bar", [1])]


def test_links_become_videos_with_start_times_and_playlists_and_resources_otherwise():
    data = imported()
    from_data(data)  # the result is a valid catalog
    lessons = {l["id"]: l for l in data["courses"][0]["lessons"]}
    assert lessons["lesson-1"]["videos"] == [{"id": "aircAruvnKk"}]
    assert lessons["lesson-2"]["videos"] == [{"id": "IHZwWFHWa-w", "start": 90},
                                             {"id": "Ilg3gGewQ5U", "start": 65, "playlist": "PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi"}]
    assert [a["id"] for a in lessons["lesson-4"]["videos"]] == ["Ilg3gGewQ5U", "other-no-link-at-all"]
    kinds = {r["title"]: r["kind"] for r in data["resources"]}
    assert kinds["A podcast"] == "podcast" and kinds["A playlist row"] == "playlist"
    assert kinds["Teacher — Some Series: Playlist"] == "playlist"
    extras = lessons["optional-extras"]
    assert [a["id"] for a in extras["videos"]] == ["tIeHLnjs5U8", "czp0Gj3gYF8"]
    assert extras["videos"][1]["note"].startswith("Listed as General")
    titles = {v["id"]: v["title"] for v in data["videos"]}
    assert titles["tIeHLnjs5U8"] == "A | bar in the title"
    no_link = next(v for v in data["videos"] if v["id"] == "other-no-link-at-all")
    assert "youtube" not in no_link and "search_query=" in no_link["url"]
    assert data["courses"][0]["series"] == [{"id": "teacher-some-series", "note": "Series blurb."},
                                            {"id": "other-mixed"}]
    assert all("note" not in s for s in data["series"])  # a series' blurb is its source's, kept with its course
    assert data["courses"][0]["note"] == "A blurb for the course."


def test_a_table_without_a_lesson_column_is_reported_with_its_line():
    text = "## S\n\n| Title | Link |\n|---|---|\n| x | y |\n"
    with pytest.raises(CatalogError) as e:
        imported(text)
    assert e.value.problems == ["index.md:3: cannot read a table with columns Title | Link: no lesson column"]


def test_a_row_with_an_unreadable_lesson_is_reported_with_its_line():
    text = "## S\n\n| Title | Lesson |\n|---|---|\n| x | 1 |\n| y | soon |\n"
    with pytest.raises(CatalogError) as e:
        imported(text)
    assert e.value.problems[0].startswith("index.md:6: cannot read lesson 'soon'")


def test_reimport_reuses_catalog_videos_and_keeps_the_authors_lesson_edits():
    data = imported()
    data["courses"][0]["lessons"][0]["title"] = "My own title"
    before_videos = json.dumps(data["videos"])
    imported(data=data)
    assert data["courses"][0]["lessons"][0]["title"] == "My own title"
    assert json.dumps(data["videos"]) == before_videos


def test_reimport_keeps_the_authors_order_of_a_lessons_items_and_appends_new_ones():
    data = imported()
    lesson = data["courses"][0]["lessons"][1]  # lesson 2: rows 2 and 3 of the index
    lesson["videos"].reverse()
    authors_order = [a["id"] for a in lesson["videos"]]
    row = "| 6 | A new video | 2 | [Watch](https://www.youtube.com/watch?v=fNk_zzaMoSs) |\n"
    imported(INDEX.replace("\n## Other", row + "\n## Other"), data=data)
    lesson = data["courses"][0]["lessons"][1]
    assert [a["id"] for a in lesson["videos"]] == authors_order + ["fNk_zzaMoSs"]


def test_an_item_listed_under_another_series_than_its_own_keeps_that_series_in_this_course_only():
    data = imported()
    text = "## Else — Another\n\n*Another blurb.*\n\n| Title | Lesson | Link |\n|---|---|---|\n| X | 1 | [Watch](https://www.youtube.com/watch?v=aircAruvnKk) |\n"
    import_index(data, text, course_id="d", name="other.md")
    first, second = data["courses"]
    assert second["lessons"][0]["videos"] == [{"id": "aircAruvnKk", "series": "else-another"}]
    assert second["series"] == [{"id": "else-another", "note": "Another blurb."}]
    assert first["lessons"][0]["videos"] == [{"id": "aircAruvnKk"}]
    assert "Another blurb." not in json.dumps(first) + json.dumps(data["series"])


def test_titles_without_links_are_resolved_against_videos_other_seeds_link():
    data = imported()
    text = "## Teacher — Some Series\n\n| Title | Lesson |\n|---|---|\n| Plain Watch Link [Part 1] | 7 |\n"
    import_index(data, text, course_id="d", name="other.md")
    assert data["courses"][1]["lessons"][0]["videos"] == [{"id": "aircAruvnKk"}]
    assert "Plain Watch Link [Part 1]" in next(v for v in data["videos"] if v["id"] == "aircAruvnKk")["aliases"]


@pytest.mark.parametrize("seed, course", [("000_68aef646c0788ccf.txt", "math-for-ml"),
                                          ("001_d1d7603f62d58559.txt", "ml-foundations")])
def test_reimporting_a_seed_into_the_project_catalog_changes_nothing(tmp_path, capsys, seed, course):
    catalog = tmp_path / "catalog.json"
    shutil.copy(ROOT / "catalog.json", catalog)
    assert main(["import", str(SEEDS / seed), "--course", course, "--catalog", str(catalog)]) == 0
    assert catalog.read_bytes() == (ROOT / "catalog.json").read_bytes()
    assert "unchanged" in capsys.readouterr().out


def test_cli_import_of_a_broken_index_exits_2_and_leaves_the_catalog_alone(tmp_path, capsys):
    catalog = tmp_path / "catalog.json"
    shutil.copy(ROOT / "catalog.json", catalog)
    index = tmp_path / "bad.md"
    index.write_text("## S\n\n| Title | Link |\n|---|---|\n| x | y |\n")
    assert main(["import", str(index), "--course", "new", "--catalog", str(catalog)]) == 2
    assert "bad.md:3: cannot read a table" in capsys.readouterr().err
    assert catalog.read_bytes() == (ROOT / "catalog.json").read_bytes()


def test_cli_import_creates_a_catalog_that_builds(tmp_path):
    index = tmp_path / "index.md"
    index.write_text(INDEX)
    catalog = tmp_path / "catalog.json"
    assert main(["import", str(index), "--course", "c", "--catalog", str(catalog)]) == 0
    assert main(["build", "--catalog", str(catalog), "--no-trust"]) == 0
    assert sorted(p.name for p in (tmp_path / "notebooks" / "c").glob("*.ipynb"))[:3] == [
        "01-plain-watch-link-a-podcast.ipynb", "02-short-link-with-start-mobile-link-in-a.ipynb", "03-short-link-with-start-a-playlist-row.ipynb"]
