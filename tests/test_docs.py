"""The documentation stays true to the tree: the README is one screen and opens with the two commands
CI runs the second of, every file path the docs name exists, and every link between them lands on a
file and a heading that exist. Reads files only: fast."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = [README, REPO / "bench" / "README.md", REPO / "sources" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
COMMANDS = ["bash scripts/lab", "bash scripts/test"]  # the main job, and every test
# a path in the repository, named in backticks or prose: not one under another folder (`<data dir>/companion/…`,
# `/services/companion/`), nor a placeholder (`lessons/<course-id>/…` stops at the `<`)
PATH = re.compile(r"(?<![\w/>.$-])((?:companion|tests|bench|docs|scripts|sources|lessons)/[\w./-]*)")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _commands(text: str) -> list[str]:
    """The commands of the first code block, without their comments."""
    block = re.search(r"^```\w*\n(.*?)^```", text, re.S | re.M)
    assert block, "README.md has no code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.split("#")[0].strip()]


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.S | re.M)  # no headings in code
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def test_readme_is_one_screen():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_opens_with_the_two_commands_and_ci_runs_its_test_command():
    text = README.read_text(encoding="utf-8")
    first_section = text.split("\n## ", 1)[0]
    assert _commands(first_section) == COMMANDS
    for command in COMMANDS:
        assert (REPO / command.split()[1]).is_file(), command
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert COMMANDS[1] in ci, ".ci/run must run the README's test command as written"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_path_a_doc_names_exists(doc: Path):
    named = {m.rstrip(".") for m in PATH.findall(doc.read_text(encoding="utf-8"))}
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert missing == [], f"{doc.relative_to(REPO)} names paths that don't exist"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_between_docs_lands(doc: Path):
    broken = []
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.S | re.M)
    for target in LINK.findall(re.sub(r"`[^`\n]*`", "", text)):  # links in code are examples
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(target)
    assert broken == [], f"{doc.relative_to(REPO)} links nowhere"


def test_the_paths_check_sees_a_missing_path():
    assert PATH.findall("see `companion/notebook/cells.py` and companion/hub/, not <dir>/companion/x") == [
        "companion/notebook/cells.py", "companion/hub/"]
    assert not (REPO / "companion/no-such-module.py").exists()
