from __future__ import annotations

from pathlib import Path

import nbformat
from helpers import ROOT, small_catalog, write_catalog

from companion.builder.plan import plan
from companion.cli import main
from companion.course.catalog import from_data
from companion.course.markup import md


def built(tmp_path: Path, data: dict | None = None) -> Path:
    path = write_catalog(tmp_path, data or small_catalog())
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    return tmp_path / "notebooks"


def cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.id: c for c in nb.cells}


def test_one_notebook_per_lesson_plus_course_and_catalog_indexes_and_the_learners_answers(tmp_path):
    out = built(tmp_path)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.ipynb")) == [
        "c1/01-first.ipynb", "c1/02-second.ipynb", "c1/03-third.ipynb", "c1/index-c1.ipynb",
        "my-answers-and-notes.ipynb", "review.ipynb", "start-here.ipynb"]


def test_lesson_notebook_names_course_lesson_and_the_python3_kernel(tmp_path):
    nb = nbformat.read(built(tmp_path) / "c1" / "02-second.ipynb", as_version=4)
    sealed = nb.metadata.companion.pop("built")
    assert nb.metadata.companion == {"course": "c1", "lesson": 2, "lesson_id": "l2", "catalog": "../../catalog.json"}
    assert len(sealed) == 16, "the build's seal: a digest of what it generated"
    assert nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata


def test_header_links_previous_next_and_index(tmp_path):
    header = cells(nbformat.read(built(tmp_path) / "c1" / "02-second.ipynb", as_version=4))["header"].source
    assert "[← Lesson 1 — First](01-first.ipynb)" in header
    assert "[Lesson 3 — Third →](03-third.ipynb)" in header
    assert "[Course index](index-c1.ipynb)" in header


def test_each_video_has_text_a_player_cell_by_id_and_a_plain_link(tmp_path):
    c = cells(nbformat.read(built(tmp_path) / "c1" / "01-first.ipynb", as_version=4))
    assert c["embed-aircAruvnKk"].source == 'lesson.show_video("aircAruvnKk")'
    html = c["embed-IHZwWFHWa-w"].outputs[0].data["text/html"]
    assert 'src="https://www.youtube.com/embed/IHZwWFHWa-w?start=90"' in html
    assert 'referrerpolicy="strict-origin-when-cross-origin"' in html and 'loading="lazy"' in html
    assert "[Watch on YouTube](https://www.youtube.com/watch?v=IHZwWFHWa-w&t=90s)" in c["video-IHZwWFHWa-w"].source
    assert "About series one." in c["video-aircAruvnKk"].source
    assert c["embed-pl"].outputs[0].data["text/html"].count("embed/videoseries?list=PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi") == 1


def test_a_video_without_a_youtube_id_gets_a_search_link_and_no_player(tmp_path):
    c = cells(nbformat.read(built(tmp_path) / "c1" / "02-second.ipynb", as_version=4))
    text = c["video-no-link"].source
    assert "The source list names this video but gives no link to it" in text
    assert "[search for it on YouTube](https://www.youtube.com/results?search_query=x)" in text
    assert "embed-no-link" not in c


def test_prompts_are_written_for_the_lessons_videos_each_with_an_empty_answer_cell(tmp_path):
    out = built(tmp_path)
    first = nbformat.read(out / "c1" / "01-first.ipynb", as_version=4)
    third = nbformat.read(out / "c1" / "03-third.ipynb", as_version=4)
    prompts = [c.source for c in first.cells if c.id.startswith("prompt-")]
    assert any("But what is a neural network?" in p for p in prompts)
    assert any("Gradient descent" in p for p in prompts)
    assert prompts != [c.source for c in third.cells if c.id.startswith("prompt-")]
    for i, c in enumerate(first.cells):
        if c.id.startswith("prompt-"):
            answer = first.cells[i + 1]
            assert answer.id == "answer-" + c.id[len("prompt-"):]
            assert answer.source == "" and answer.metadata.tags == ["answer"]


def test_the_privacy_enhanced_host_is_a_build_option(tmp_path):
    path = write_catalog(tmp_path, small_catalog())
    assert main(["build", "--catalog", str(path), "--no-trust", "--nocookie"]) == 0
    nb = nbformat.read(tmp_path / "notebooks" / "c1" / "01-first.ipynb", as_version=4)
    assert "https://www.youtube-nocookie.com/embed/aircAruvnKk" in cells(nb)["embed-aircAruvnKk"].outputs[0].data["text/html"]
    assert "privacy_enhanced=True" in cells(nb)["setup"].source


def test_catalog_text_never_reaches_code_and_is_escaped_in_markdown(tmp_path):
    data = small_catalog()
    data["videos"][0]["title"] = 'Evil "); import os; os.system("x") # <script>alert(1)</script> $x$ [a](javascript:b)'
    data["courses"][0]["lessons"][0]["title"] = "'''\"\"\" {braces} \\ back"
    nbs = plan(from_data(data))
    code = " ".join(c.source for nb in nbs.values() for c in nb.cells if c.cell_type == "code")
    assert "Evil" not in code and "braces" not in code
    markdown = " ".join(c.source for nb in nbs.values() for c in nb.cells if c.cell_type == "markdown")
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "](javascript:" not in markdown and "\\$x\\$" in markdown
    assert md("<b>a</b> *b*") == "&lt;b&gt;a&lt;/b&gt; \\*b\\*"


def test_a_build_is_deterministic_and_a_rebuild_writes_nothing(tmp_path, capsys):
    out = built(tmp_path)
    first = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*.ipynb")}
    capsys.readouterr()
    assert main(["build", "--catalog", str(tmp_path / "catalog.json"), "--no-trust"]) == 0
    assert "0 added, 0 updated, 0 removed" in capsys.readouterr().out
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*.ipynb")} == first


def test_the_project_notebooks_match_the_catalog_byte_for_byte():
    from companion.builder import extras
    from companion.course.catalog import load
    from companion.notebook.nodes import dumps

    cat = load(ROOT / "catalog.json")
    planned = plan(cat, extras=extras.load(cat), folder=ROOT / "notebooks")  # as `companion build` plans them
    for rel, nb in planned.items():
        assert (ROOT / "notebooks" / rel).read_text(encoding="utf-8") == dumps(nb), rel
    on_disk = {p.relative_to(ROOT / "notebooks").as_posix() for p in (ROOT / "notebooks").rglob("*.ipynb")}
    assert on_disk == {str(p) for p in planned}


def test_check_names_stale_notebooks_and_exits_1(tmp_path, capsys):
    built(tmp_path)
    data = small_catalog()
    data["videos"][0]["title"] = "A new title"
    write_catalog(tmp_path, data)
    capsys.readouterr()
    assert main(["build", "--check", "--catalog", str(tmp_path / "catalog.json")]) == 1
    out = capsys.readouterr().out
    assert "01-first.ipynb: does not match the catalog" in out and "03-third.ipynb" in out
    assert "02-second.ipynb" not in out


def test_a_build_trusts_what_it_wrote_on_this_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    path = write_catalog(tmp_path, small_catalog())
    assert main(["build", "--catalog", str(path)]) == 0
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary(data_dir=str(tmp_path / "data"))
    nb = nbformat.read(tmp_path / "notebooks" / "c1" / "01-first.ipynb", as_version=4)
    assert notary.check_signature(nb)
    nb.cells[0].source += " changed"
    assert not notary.check_signature(nb)


def _saved_unsigned(path: Path, answer: str, output: dict | None = None) -> None:
    """A learner's save that lost the lesson's trust (as the server extension's save path once did):
    an answer written, maybe a cell of their own with an output, the file not signed."""
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if c.metadata.get("tags") == ["answer"]).source = answer
    if output is not None:
        nb.cells.append(nbformat.v4.new_code_cell("mine()", outputs=[nbformat.from_dict(output)], execution_count=1))
    nbformat.write(nb, path)


def test_a_build_trusts_again_a_lesson_whose_save_lost_its_trust_and_keeps_the_answer(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    from nbformat.sign import NotebookNotary

    path = write_catalog(tmp_path, small_catalog())
    assert main(["build", "--catalog", str(path)]) == 0
    notary = NotebookNotary(data_dir=str(tmp_path / "data"))
    lesson = tmp_path / "notebooks" / "c1" / "01-first.ipynb"
    _saved_unsigned(lesson, "my answer", {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                          "data": {"text/plain": "42"}})
    assert not notary.check_signature(nbformat.read(lesson, as_version=4))
    capsys.readouterr()
    assert main(["build", "--catalog", str(path)]) == 0
    assert "trusted again" in capsys.readouterr().out
    nb = nbformat.read(lesson, as_version=4)
    assert notary.check_signature(nb), "the build left the lesson untrusted: its players stay hidden"
    assert "my answer" in [c.source for c in nb.cells] and "mine()" in [c.source for c in nb.cells]
    before = lesson.read_bytes()
    assert main(["build", "--catalog", str(path)]) == 0
    assert lesson.read_bytes() == before, "a second build changes nothing"


def test_a_build_never_signs_rich_output_of_the_learners_own_code(tmp_path, monkeypatch):
    """Trust is for what the build made: HTML a learner's own cell printed elsewhere waits for a run."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    from nbformat.sign import NotebookNotary

    path = write_catalog(tmp_path, small_catalog())
    assert main(["build", "--catalog", str(path)]) == 0
    lesson = tmp_path / "notebooks" / "c1" / "01-first.ipynb"
    _saved_unsigned(lesson, "my answer", {"output_type": "display_data", "metadata": {},
                                          "data": {"text/html": "<script>alert(1)</script>", "text/plain": "x"}})
    before = lesson.read_bytes()
    assert main(["build", "--catalog", str(path)]) == 0
    assert lesson.read_bytes() == before
    assert not NotebookNotary(data_dir=str(tmp_path / "data")).check_signature(nbformat.read(lesson, as_version=4))


def test_two_lessons_that_would_share_a_file_are_refused(tmp_path, capsys):
    data = small_catalog()
    data["courses"][0]["lessons"].append({"id": "index-c1", "title": "Index"})
    path = write_catalog(tmp_path, data)
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 2
    assert "c1/index-c1.ipynb" in capsys.readouterr().err
    assert not (tmp_path / "notebooks").exists()


def test_symbols_shown_to_a_learner_need_no_emoji_font():
    """Debian's chromium has no emoji font: 📄 and 🔎 rendered as empty boxes. Emoji live outside the
    Basic Multilingual Plane; the symbols used instead (▶ ☰ ✎ ☑ ☐ ↗) are in DejaVu Sans."""
    from companion.course.catalog import load
    from companion.learner.tally import lesson_items

    catalog = load(ROOT / "catalog.json")
    labels = [label for course in catalog.courses.values() for lesson in course.lessons
              for _, label in lesson_items(catalog, lesson)]
    texts = labels + [p.read_text(encoding="utf-8") for p in (ROOT / "notebooks").rglob("*.ipynb")]
    astral = {ch for text in texts for ch in text if ord(ch) > 0xFFFF}
    assert not astral, f"characters that need an emoji font: {sorted(astral)}"
