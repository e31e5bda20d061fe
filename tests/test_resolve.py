"""`companion resolve`: ids for videos the sources name by title only, proposed only with the pages
that confirm them, from a local evidence file (no network), and written only on --accept."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT

import companion
from companion.api import problems_of
from companion.authoring.evidence import EvidenceFile, Page, propose
from companion.authoring.importer import import_index
from companion.cli import main

SEARCH = "https://www.youtube.com/results?search_query=MIT+OCW+Singular+Value+Decomposition"
SVD = "TX_vooSnhm8"
CATALOG = {
    "$schema": "companion/course/catalog.schema.json",
    "series": [{"id": "strang", "title": "Strang, 18.06", "channel": "MIT OCW", "kind": "lecture"},
               {"id": "other", "title": "Another channel", "channel": "Somebody Else"}],
    "videos": [
        {"id": "svd", "title": "Singular Value Decomposition", "series": "strang", "number": "Lecture 29",
         "url": SEARCH},
        {"id": "eig", "title": "Eigenvalues and Eigenvectors", "series": "strang", "url": SEARCH},
        {"id": "known", "title": "Already linked", "series": "other", "youtube": "aircAruvnKk"},
    ],
    "resources": [],
    "courses": [{"id": "c", "title": "C", "lessons": [
        {"id": "lesson-1", "number": 1, "title": "SVD", "videos": ["svd", "eig", "known"]}]}],
}
OCW = Page("https://ocw.mit.edu/courses/18-06/resources/lecture-29-singular-value-decomposition/", SVD,
           "Lecture 29: Singular value decomposition", "MIT OpenCourseWare")
MITODL = Page("https://github.com/mitodl/hugo-course-publisher/blob/abc/lecture-29.md", SVD,
              "Lecture 29: Singular value decomposition", "MIT OpenCourseWare")
STUDENT = Page("https://github.com/someone/notes/blob/abc/week8.md", SVD, "Lecture 29: Singular value decomposition")


def write(tmp_path: Path, pages: list[Page], catalog: dict | None = None) -> tuple[Path, Path]:
    cat = tmp_path / "catalog.json"
    cat.write_text(json.dumps(catalog or CATALOG, indent=2) + "\n", encoding="utf-8")
    evidence = tmp_path / "evidence.json"
    evidence.write_text(json.dumps({"pages": [p.__dict__ for p in pages]}), encoding="utf-8")
    return cat, evidence


def test_an_id_two_independent_places_name_is_proposed_with_their_pages_and_nothing_is_written(tmp_path):
    cat, evidence = write(tmp_path, [OCW, MITODL, STUDENT])
    before = cat.read_bytes()
    done = companion.resolve(evidence, catalog=cat)
    assert [(p.video, p.youtube, p.evidence) for p in done.proposals] == [("svd", SVD, (OCW.url, MITODL.url, STUDENT.url))]
    assert [(u.video, u.why) for u in done.left] == [("eig", "no page names this video")]
    assert done.written == 0 and cat.read_bytes() == before


def test_pages_of_one_place_are_one_source_and_not_enough(tmp_path):
    same_account = Page("https://github.com/mitodl/other-repo/blob/abc/x.md", SVD, OCW.title)
    cat, evidence = write(tmp_path, [MITODL, same_account])
    done = companion.resolve(evidence, catalog=cat)
    assert done.proposals == []
    assert done.left[0].why == f"only 1 independent source names {SVD}; 2 are needed"


def test_pages_that_disagree_on_the_id_propose_none(tmp_path):
    other = Page("https://example.org/svd", "mBcLRGuAFUk", "Singular Value Decomposition (the SVD)", "MIT OpenCourseWare")
    cat, evidence = write(tmp_path, [OCW, MITODL, other])
    done = companion.resolve(evidence, catalog=cat)
    assert done.proposals == []
    assert done.left[0].why == f"the pages disagree: {SVD} (2 pages), mBcLRGuAFUk (1 pages)"


def test_a_page_naming_the_title_on_another_channel_or_a_longer_word_is_not_about_the_video(tmp_path):
    elsewhere = Page("https://example.org/a", "mBcLRGuAFUk", "Singular Value Decomposition", "Steve Brunton")
    partial = [Page(f"https://example.{tld}/b", "mBcLRGuAFUk", "Eigenvalues and Eigenvectorsss", "MIT OpenCourseWare")
               for tld in ("net", "com")]
    cat, evidence = write(tmp_path, [OCW, MITODL, elsewhere, *partial])
    done = companion.resolve(evidence, catalog=cat)
    assert [(p.video, p.youtube) for p in done.proposals] == [("svd", SVD)]
    assert [u.video for u in done.left] == ["eig"]


def test_an_id_another_video_already_has_is_not_proposed(tmp_path):
    taken = [Page("https://example.org/a", "aircAruvnKk", "Eigenvalues and eigenvectors"),
             Page("https://example.net/b", "aircAruvnKk", "Eigenvalues and eigenvectors")]
    cat, evidence = write(tmp_path, taken)
    done = companion.resolve(evidence, catalog=cat)
    assert done.left[1].why == 'aircAruvnKk is already the id of video "known"'


def test_any_source_of_pages_will_do_not_only_a_file(tmp_path):
    class InMemory:
        def pages(self) -> list[Page]:
            return [OCW, STUDENT]

    cat, _ = write(tmp_path, [])
    assert [p.youtube for p in companion.resolve(InMemory(), catalog=cat).proposals] == [SVD]


def test_accept_writes_the_id_and_its_pages_in_place_of_the_search_link_and_the_lesson_plays_it(tmp_path):
    cat, evidence = write(tmp_path, [OCW, MITODL])
    assert main(["resolve", "--evidence", str(evidence), "--catalog", str(cat), "--accept"]) == 0
    svd = json.loads(cat.read_text())["videos"][0]
    assert svd == {"id": "svd", "title": "Singular Value Decomposition", "series": "strang", "number": "Lecture 29",
                   "youtube": SVD, "evidence": [OCW.url, MITODL.url]}
    report = companion.build(cat, tmp_path / "out", trust=False)
    assert report.notebooks > 0
    nb = nbformat.read(next((tmp_path / "out" / "c").glob("01-*.ipynb")), as_version=4)
    html = " ".join(str(o.get("data", {}).get("text/html", "")) for c in nb.cells for o in c.get("outputs", []))
    assert f"youtube.com/embed/{SVD}" in html
    again = companion.resolve(evidence, catalog=cat, accept=True)
    assert again.written == 0 and again.proposals == []


def test_the_cli_lists_each_proposal_with_its_pages_and_each_video_left_with_why(tmp_path, capsys):
    cat, evidence = write(tmp_path, [OCW, MITODL])
    assert main(["resolve", "--evidence", str(evidence), "--catalog", str(cat)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [f'svd: "Singular Value Decomposition" is {SVD}, named by', f"    {OCW.url}", f"    {MITODL.url}"]
    assert out[3] == 'eig: "Eigenvalues and Eigenvectors" keeps its search link: no page names this video'
    assert out[4].startswith("1 id(s) proposed, 1 video(s) left; nothing was written")


@pytest.mark.parametrize("entry, problem", [
    ({"url": "ftp://x.org/a", "youtube": SVD, "title": "T"}, "pages[1].url: not an http(s) address: 'ftp://x.org/a'"),
    ({"url": "https://x.org/a", "youtube": "short", "title": "T"}, "pages[1].youtube: malformed YouTube id 'short'"),
    ({"url": "https://x.org/a", "youtube": SVD}, "pages[1].title: missing or not text"),
    ("https://x.org/a", "pages[1]: expected an object with url, youtube and title"),
])
def test_a_malformed_evidence_file_is_refused_by_place_and_the_catalog_is_left_alone(tmp_path, capsys, entry, problem):
    cat, evidence = write(tmp_path, [])
    evidence.write_text(json.dumps({"pages": [OCW.__dict__, entry]}), encoding="utf-8")
    before = cat.read_bytes()
    assert main(["resolve", "--evidence", str(evidence), "--catalog", str(cat), "--accept"]) == 2
    err = capsys.readouterr().err
    assert f"{evidence}: {problem}" in err and "Traceback" not in err
    assert cat.read_bytes() == before


def test_evidence_that_is_not_a_link_or_confirms_no_id_is_a_catalog_problem():
    data = copy.deepcopy(CATALOG)
    data["videos"][0]["evidence"] = ["https://example.org/ok", "javascript:alert(1)"]
    data["videos"][1]["evidence"] = ["https://example.org/ok"]
    problems = problems_of(data)
    assert "videos[0].evidence[1]: link is not http(s): 'javascript:alert(1)'" in problems
    assert any(p.startswith('videos[1].evidence: the pages confirm a YouTube id, and video "eig" has none') for p in problems)


def test_a_title_only_row_an_author_made_the_resource_it_is_stays_that_resource_on_reimport():
    index = ("# Index\n\n## Neel Nanda — Interp\n\n**Channel:** [youtube.com/@neelnanda2469](https://www.youtube.com/@neelnanda2469)\n\n"
             "| Title / Type | Lesson | Link |\n|---|---|---|\n"
             "| 200 Open Problems in Mechanistic Interpretability | 1 | [Channel](https://www.youtube.com/@neelnanda2469) |\n")
    data = import_index({"series": [], "videos": [], "resources": [], "courses": []}, index, course_id="c", name="i.md")
    video = data["videos"].pop()
    assert "search?query=" in video["url"]  # what the importer makes of a title: a search, never an id
    data["resources"].append({"id": video["id"], "title": video["title"], "kind": "article",
                              "url": "https://www.alignmentforum.org/posts/LbrPTJ4fmABEdEnLf", "series": video["series"]})
    lesson = data["courses"][0]["lessons"][0]
    lesson["resources"] = lesson.pop("videos")
    before = json.dumps(data)
    import_index(data, index, course_id="c", name="i.md")
    assert json.dumps(data) == before


def test_every_id_the_catalog_holds_with_evidence_is_what_the_project_evidence_file_proposes():
    """Strip each evidenced id from the project catalog: resolving again from docs/resolve-evidence.json
    gives back the same id with the same pages, so the catalog and its evidence file agree."""
    data = json.loads((ROOT / "catalog.json").read_text(encoding="utf-8"))
    evidenced = {v["id"]: (v["youtube"], tuple(v["evidence"])) for v in data["videos"] if "evidence" in v}
    assert len(evidenced) >= 18
    for v in data["videos"]:
        if v["id"] in evidenced:
            del v["youtube"], v["evidence"]
            v["url"] = SEARCH
    proposals, _ = propose(data, EvidenceFile(ROOT / "docs" / "resolve-evidence.json"))
    assert {p.video: (p.youtube, p.evidence) for p in proposals} == evidenced
    assert all(len({Page(u, "", "").place for u in pages}) >= 2 for _, pages in evidenced.values())
