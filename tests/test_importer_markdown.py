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


# The whole document is read with the parser (issue 20): what CommonMark gives a reader comes with it.

def test_reference_style_links_are_read_through_their_definitions():
    text = (HEAD + TABLE
            + "| 1 | Limits | 1 | [watch][calc1] |\n"
            + "| 2 | Derivatives | 2 | [Derivatives][] |\n\n"
            + "- [Integrals] (Lesson 3)\n\n"
            + "[calc1]: https://www.youtube.com/watch?v=kfF40MiS7zA\n"
            + "[derivatives]: <https://youtu.be/9vKqVkMQHKk?t=65> \"a title\"\n"
            + "[Integrals]: https://www.youtube.com/watch?v=rfG8ce4nNh0\n")
    lessons, _ = course(text)
    assert {n: [(a["id"], a.get("start")) for _, a in items] for n, items in lessons.items()} == {
        1: [("kfF40MiS7zA", None)], 2: [("9vKqVkMQHKk", 65)], 3: [("rfG8ce4nNh0", None)]}


def test_link_definitions_are_not_read_as_the_series_words():
    text = (HEAD + "*A blurb.*\n\n" + TABLE + "| 1 | A video | 1 | [Watch][v] |\n\n"
            + "[v]: https://youtu.be/aircAruvnKk\n[unused]: https://example.org/never-linked\n")
    lessons, data = course(text)
    assert lessons == {1: [("videos", {"id": "aircAruvnKk"})]}
    assert data["courses"][0]["series"][0]["note"] == "A blurb."
    assert "never-linked" not in str(data)


def test_a_nested_list_gives_a_row_for_each_item_with_a_link_at_every_depth():
    text = (HEAD + "- Linear algebra\n"
            + "  - [Vectors](https://youtu.be/fNk_zzaMoSs) (Lesson 2)\n"
            + "  - [Span](https://youtu.be/k7RM-ot2NWY) — Lessons 3–4\n"
            + "    1. [A deeper read](https://example.org/deeper) (Lesson 4)\n")
    lessons, data = course(text)
    assert {n: [a["id"] for _, a in items] for n, items in lessons.items()} == {
        2: ["fNk_zzaMoSs"], 3: ["k7RM-ot2NWY"], 4: ["k7RM-ot2NWY", data["resources"][0]["id"]]}
    assert data["resources"][0]["url"] == "https://example.org/deeper"
    assert data["courses"][0]["series"][0]["note"] == "Linear algebra"


def test_html_blocks_are_read_as_html_a_comment_is_skipped_whole_and_a_table_inside_details_is_read():
    text = (HEAD + "<!-- left out for now:\n\n| 9 | Old | 9 | [Watch](https://youtu.be/IHZwWFHWa-w) |\n-->\n\n"
            + '<p align="center">See <a href="https://example.org/course">the course page</a>.</p>\n\n'
            + "<details>\n<summary>The videos</summary>\n\n"
            + TABLE + "| 1 | A video | 1 | [Watch](https://youtu.be/aircAruvnKk) |\n\n</details>\n")
    lessons, data = course(text)
    assert lessons == {1: [("videos", {"id": "aircAruvnKk"})]}
    assert data["courses"][0]["series"][0]["note"] == (
        "See the course page (https://example.org/course). The videos")


@pytest.mark.parametrize("text, problem", [
    # after a multi-line HTML comment and a paragraph broken over lines: the table's own row
    (HEAD + "<!--\na note\n-->\nA blurb\nover two lines.\n\n" + TABLE
     + "| 1 | A video | 1 | [Watch](https://youtu.be/aircAruvnKk) |\n| 2 | Another | soon | |\n",
     "index.md:14: cannot read lesson 'soon'"),
    # an item two lists deep, after an item that spans two lines
    (HEAD + "- [A talk](https://youtu.be/aircAruvnKk)\n  goes on (Lesson 1)\n"
     + "  - [Another](https://youtu.be/IHZwWFHWa-w) (Lesson 1–x)\n",
     "index.md:7: cannot read lesson '1–x'"),
    # a cell past the header's, which no reader of the table would see
    (HEAD + TABLE + "| 1 | A video | 1 | [Watch](https://youtu.be/aircAruvnKk) | [x](https://example.org/x) |\n",
     "index.md:7: row has 5 cells, the table has 4 columns"),
    # a table whose separator the parser cannot read: reported, not taken as prose
    (HEAD + "| # | Title | Lesson |\n|---|---|\n| 1 | A video | 1 |\n",
     "index.md:5: cannot read the table: its second line must be the |---| separator"),
])
def test_a_row_that_cannot_be_read_is_reported_with_its_line(text, problem):
    with pytest.raises(CatalogError) as e:
        course(text)
    assert e.value.problems[0].startswith(problem), e.value.problems
