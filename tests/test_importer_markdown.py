"""The importer reads markdown as people write it (issue 12, item 9): HTML anchors, autolinks,
links in any cell, image links, thumbnails, entities, parentheses in URLs, `#t=` fragments,
bullet lists of links, a BOM; and what it cannot place is reported with its line."""

from __future__ import annotations

import pytest

from companion.authoring.importer import import_index
from companion.course.catalog import CatalogError, from_data

HEAD = "# My index\n\n## Teacher — Series\n\n"
TABLE = "| # | Title | Lesson | Link |\n|---|---|---|---|\n"


def course(text: str) -> tuple[dict, dict]:
    """(lesson number → [(kind, assignment)], the catalog data) after importing `text`."""
    data = import_index({}, text, course_id="c", name="index.md")
    from_data(data)  # the result is a valid catalog
    lessons = {l.get("number", l["id"]): [(k, a) for k in ("videos", "resources") for a in l.get(k, [])]
               for l in data["courses"][0]["lessons"]}
    return lessons, data


def only_item(text: str) -> tuple[str, dict]:
    lessons, _ = course(text)
    assert list(lessons) == [1] and len(lessons[1]) == 1, lessons
    return lessons[1][0]


@pytest.mark.parametrize("cell", [
    '<a href="https://youtube.com/watch?v=aircAruvnKk">Watch</a>',
    "<a href='https://youtube.com/watch?v=aircAruvnKk' target=_blank>Watch</a>",
    "<https://www.youtube.com/watch?v=aircAruvnKk>",
    "[![thumbnail](https://img.youtube.com/vi/IHZwWFHWa-w/0.jpg)](https://www.youtube.com/watch?v=aircAruvnKk)",
    "![thumbnail](https://img.youtube.com/vi/aircAruvnKk/hqdefault.jpg)",
    '<img src="https://i.ytimg.com/vi/aircAruvnKk/0.jpg" width=120>',
    '<a href="https://youtu.be/aircAruvnKk"><img src="https://i.ytimg.com/vi/IHZwWFHWa-w/0.jpg"></a>',
    "https://youtu.be/aircAruvnKk",
])
def test_a_link_written_as_html_autolink_image_or_thumbnail_names_its_video(cell):
    assert only_item(HEAD + TABLE + f"| 1 | A video | 1 | {cell} |\n") == ("videos", {"id": "aircAruvnKk"})


@pytest.mark.parametrize("url", ["https://www.youtube.com/watch?v=aircAruvnKk&amp;t=65s",
                                 "https://youtu.be/aircAruvnKk#t=1m5s",
                                 "https://www.youtube.com/watch?v=aircAruvnKk#t=65"])
def test_entities_and_t_fragments_keep_the_start_time(url):
    assert only_item(HEAD + TABLE + f"| 1 | A video | 1 | [Watch]({url}) |\n") == (
        "videos", {"id": "aircAruvnKk", "start": 65})


def test_a_link_in_the_title_cell_is_read_when_there_is_no_link_column():
    text = HEAD + "| Title | Lesson |\n|---|---|\n| [A video](https://youtu.be/aircAruvnKk) | 1 |\n"
    assert only_item(text) == ("videos", {"id": "aircAruvnKk"})


def test_balanced_parentheses_stay_in_the_url():
    _, data = course(HEAD + TABLE + "| 1 | An article | 1 | [Read](https://en.wikipedia.org/wiki/Rank_(linear_algebra)) |\n")
    assert data["resources"][0]["url"] == "https://en.wikipedia.org/wiki/Rank_(linear_algebra)"


def test_a_utf8_bom_keeps_the_title():
    _, data = course("\ufeff" + HEAD + TABLE + "| 1 | A video | 1 | [Watch](https://youtu.be/aircAruvnKk) |\n")
    assert data["courses"][0]["title"] == "My index"


def test_bullet_links_under_a_series_next_to_a_table_are_imported_not_dropped():
    text = (HEAD + TABLE + "| 1 | A video | 1 | [Watch](https://youtu.be/aircAruvnKk) |\n\n"
            "- **Someone** [A talk](https://www.youtube.com/watch?v=IHZwWFHWa-w): worth it (Lesson 1)\n"
            "* https://distill.pub/ a journal\n")
    lessons, data = course(text)
    assert [a["id"] for _, a in lessons[1]] == ["aircAruvnKk", "IHZwWFHWa-w"]
    assert "worth it" in lessons[1][1][1]["note"]
    extras = lessons["optional-extras"]
    assert [(k, data["resources"][0]["url"]) for k, a in extras] == [("resources", "https://distill.pub/")]


def test_prose_with_a_link_under_a_series_keeps_its_address_in_the_series_note():
    _, data = course(HEAD + "See [the course page](https://example.org/course) first.\n\n"
                     + TABLE + "| 1 | A video | 1 | [Watch](https://youtu.be/aircAruvnKk) |\n")
    assert "the course page (https://example.org/course)" in data["courses"][0]["series"][0]["note"]


def test_links_that_cannot_be_placed_are_reported_with_their_line():
    with pytest.raises(CatalogError) as e:
        course("# Index\n\n- [A talk](https://youtu.be/aircAruvnKk)\n\n## S\n\n" + TABLE + "| 1 | x | 1 | |\n")
    assert e.value.problems[0].startswith("index.md:3: a list of links before any series heading")
    with pytest.raises(CatalogError) as e:
        course(HEAD + TABLE + "| 1 | A video | 1 | [Watch](https://youtu.be/aircAruvnKk) |\n"
               "\n- [A talk](https://youtu.be/IHZwWFHWa-w) (Lesson soon)\n")
    assert e.value.problems[0].startswith("index.md:9: cannot read lesson 'soon'")
