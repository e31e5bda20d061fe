"""Crashes: `companion build` and `companion import` killed with SIGKILL at many moments.

Each notebook on disk is then exactly its old bytes or its new bytes (never cut short, never a
mix, always JSON), no learner's answer is lost, and the next build finishes the job. Temp files
(`.NAME.XXXX.tmp`, hidden, not `*.ipynb`) may be left by a kill: a killed process cannot clean
up, and the build never reads them.

Every kill is at a named point, the same on every machine (`FAULT`: the process kills itself at
the n-th call of `os.fsync`, `os.replace` or `os.unlink`, or at the n-th 1 KiB piece of a file
write, where a write that is not atomic would leave a file cut short), and the test asserts the
kill was reached, so no test depends on the machine's speed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from helpers import PYTHON, snapshot, subprocess_env, synthetic_catalog, write_json

ANSWER = "MY ANSWER {n}: keep this"

# A kill at a named point, the same on any machine: the command kills itself (SIGKILL, as a
# power cut or `kill -9`) when it is about to make call number `at` (from 0) of `op`: `fsync` (a
# staged temp file made durable), `replace` (a file renamed into place), `unlink` (a file removed)
# or `write` (a write to a file goes out in 1 KiB pieces, each flushed and each a call, so a kill
# can land inside the write of one file).
# With `at` beyond the last call it runs to the end and says on stderr how many calls it made.
FAULT = r"""
import atexit, builtins, io, os, signal, sys, threading
op, at = sys.argv[1], int(sys.argv[2])
del sys.argv[1:3]
lock, seen = threading.Lock(), [0]

def reached():
    with lock:
        seen[0] += 1
        if seen[0] > at:
            os.kill(os.getpid(), signal.SIGKILL)

class Pieces:
    def __init__(self, f):
        self._f = f
    def write(self, s):
        for i in range(0, len(s), 1024):
            reached()
            self._f.write(s[i:i + 1024])
            self._f.flush()
        return len(s)
    def __getattr__(self, name):
        return getattr(self._f, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self._f.__exit__(*exc)

def in_pieces(opener):
    def opened(*args, **kwargs):
        f = opener(*args, **kwargs)
        mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
        return Pieces(f) if any(c in mode for c in "wax+") else f
    return opened

if op == "write":
    builtins.open = io.open = in_pieces(io.open)  # os.fdopen opens with io.open too
else:
    real = getattr(os, op)
    def counted(*args, **kwargs):
        reached()
        return real(*args, **kwargs)
    setattr(os, op, counted)
atexit.register(lambda: sys.stderr.write(f"calls: {seen[0]}\n"))
from companion.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run(*argv) -> subprocess.CompletedProcess:
    done = subprocess.run([PYTHON, "-m", "companion", *map(str, argv)], env=subprocess_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def faulted(op: str, at: int, *argv) -> tuple[bool, int]:
    """Run the command with a kill at call `at` of `op`: (killed, calls it made when not killed)."""
    done = subprocess.run([PYTHON, "-c", FAULT, op, str(at), *map(str, argv)], env=subprocess_env(),
                          capture_output=True, text=True, timeout=300)
    if done.returncode == -signal.SIGKILL:
        return True, at
    assert done.returncode == 0, done.stderr
    return False, int(re.findall(r"calls: (\d+)", done.stderr)[-1])


# --------------------------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------------------------

def catalogs(folder: Path) -> tuple[Path, Path]:
    """Old and new catalogs: the new one changes every lesson's note (same files, new bytes),
    retitles every 7th lesson (its file moves), drops one lesson and adds one."""
    old = synthetic_catalog(100, 6, courses=2)
    new = synthetic_catalog(100, 6, courses=2, tag="v2")
    for c in new["courses"]:
        for i, lesson in enumerate(c["lessons"]):
            if i % 7 == 3:
                lesson["title"] += " (retitled)"
    dropped = new["courses"][0]["lessons"].pop(5)
    new["courses"][1]["lessons"].append({**dropped, "id": "lesson-new", "number": 999, "title": "A new lesson"})
    return write_json(folder / "old.json", old), write_json(folder / "new.json", new)


def add_learner_work(out: Path) -> dict[str, str]:
    """An answer in every 5th lesson (including retitled and dropped ones); {file: answer}."""
    answers = {}
    for n, path in enumerate(sorted(out.rglob("[0-9]*.ipynb"))):
        if n % 5:
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if c["metadata"].get("companion", {}).get("role") == "answer")
        cell["source"] = ANSWER.format(n=n)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        answers[path.relative_to(out).as_posix()] = ANSWER.format(n=n)
    return answers


MID_WRITE = ("mixed", "staged")  # the kill landed while the build was writing
TEMP = re.compile(r"^\.(?P<name>.+)\.[^/.]+\.tmp$")  # a notebook's, or the build stamp's (written last)


def check_state(out: Path, old: dict[str, bytes], new: dict[str, bytes], answers: dict[str, str], where: str) -> str:
    """Every file is the old or the new version of itself; no answer is lost. Returns
    "old", "new", "mixed" (both kinds of file present) or "staged" (all old, with new versions
    staged in temp files: the build stages every file before it renames any)."""
    now = snapshot(out)
    kinds = set()
    staged = False
    for rel, raw in now.items():
        name = rel.rsplit("/", 1)[-1]
        if TEMP.match(name):
            staged = True
            continue  # left by the kill: hidden, never read
        assert rel.endswith(".ipynb"), f"{where}: unexpected file {rel}"
        try:
            json.loads(raw)
        except ValueError as e:
            raise AssertionError(f"{where}: {rel} is cut short or garbled ({e})") from None
        if raw == new.get(rel):
            kinds.add("new")
        elif raw == old.get(rel):
            kinds.add("old")
        else:
            raise AssertionError(f"{where}: {rel} is neither its old nor its new version ({len(raw)} bytes)")
    everything = "\n".join(raw.decode("utf-8") for rel, raw in now.items() if rel.endswith(".ipynb"))
    for rel, answer in answers.items():
        assert answer in everything, f"{where}: the answer written in {rel} is gone"
    assert kinds, f"{where}: no notebooks left"
    if kinds == {"old", "new"}:
        return "mixed"
    return "staged" if staged and kinds == {"old"} else kinds.pop()


@pytest.fixture(scope="module")
def build_setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash")
    old_cat, new_cat = catalogs(folder)
    base = folder / "base"
    run("build", "--catalog", old_cat, "--out", base)
    answers = add_learner_work(base)
    old = snapshot(base)
    done = folder / "done"  # the uninterrupted build: the new state
    shutil.copytree(base, done)
    run("build", "--catalog", new_cat, "--out", done)
    return folder, new_cat, base, old, snapshot(done), answers


KILL_POINTS = {"write": 4, "fsync": 6, "replace": 6, "unlink": 6}  # spread over all the calls a build makes


def test_a_build_killed_while_staging_renaming_or_removing_leaves_each_notebook_old_or_new(build_setup):
    """Kills at named points of the write, the same on every machine: while new versions are
    written to temp files (write) and made durable (fsync), while they are renamed into place
    (replace) and while old files are removed (unlink). Every kill leaves each notebook its old or
    its new version with every answer kept, and the next build finishes the job."""
    folder, new_cat, base, old, new, answers = build_setup
    outcomes: dict[str, set[str]] = {}
    for op, points in KILL_POINTS.items():
        out = folder / f"count-{op}"
        shutil.copytree(base, out)
        killed, calls = faulted(op, 10**9, "build", "--catalog", new_cat, "--out", out)
        assert not killed and calls > 0, f"a build makes no {op} call"
        assert snapshot(out) == new
        shutil.rmtree(out)
        for at in sorted({calls * k // points for k in range(points)}):
            out = folder / f"kill-{op}-{at}"
            shutil.copytree(base, out)
            killed, _ = faulted(op, at, "build", "--catalog", new_cat, "--out", out)
            assert killed, f"the build was not killed at {op} call {at} of {calls}"
            where = f"killed at {op} call {at} of {calls}"
            outcomes.setdefault(op, set()).add(check_state(out, old, new, answers, where))
            run("build", "--catalog", new_cat, "--out", out)  # the next build finishes what it began
            after = {r: b for r, b in snapshot(out).items() if not TEMP.match(r.rsplit("/", 1)[-1])}
            assert all(after[r] == new[r] for r in new), f"{where}: the next build did not finish the job"
            # a kill between writing a moved lesson and removing its old file leaves the old file
            # (with the learner's answer, which the new file has too): kept, never lost
            assert all(after[r] == old.get(r) for r in after.keys() - new.keys()), where
            shutil.rmtree(out)
    assert outcomes["write"] == {"staged"}, outcomes  # killed inside a temp file's write: no notebook touched
    assert "staged" in outcomes["fsync"], outcomes  # killed with new versions staged, none renamed yet
    assert "mixed" in outcomes["replace"], outcomes  # killed with some files renamed, others not


def test_a_move_interrupted_before_its_old_file_was_removed_loses_nothing(build_setup, capsys):
    """The state a kill leaves between writing a moved lesson's new file and removing its old
    one, made on purpose: the next build keeps both files (it cannot tell a leftover from a copy
    the learner made) and the answer is in both."""
    folder, new_cat, base, old, new, answers = build_setup
    out = folder / "half-moved"
    shutil.copytree(base, out)
    def lesson_of(rel: str) -> tuple[str, int] | None:
        folder, _, name = rel.rpartition("/")
        number = name.split("-")[0]
        return (folder, int(number)) if number.isdigit() else None

    new_by_lesson = {lesson_of(r): r for r in new if lesson_of(r)}
    renamed = {r: new_by_lesson[lesson_of(r)] for r in answers if r not in new and lesson_of(r) in new_by_lesson}
    moved = list(renamed)
    assert moved
    from companion.cli import main

    assert main(["build", "--catalog", str(new_cat), "--out", str(out), "--no-trust"]) == 0
    for rel in moved:
        assert answers[rel] in (out / renamed[rel]).read_text(encoding="utf-8")
        (out / rel).write_bytes(old[rel])  # as if the kill came before the old file was removed
    assert main(["build", "--catalog", str(new_cat), "--out", str(out), "--no-trust"]) == 0
    for rel in moved:
        assert (out / rel).read_bytes() == old[rel]
        assert answers[rel] in (out / renamed[rel]).read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# The importer
# --------------------------------------------------------------------------------------------

def index_text(rows: int) -> str:
    lines = ["# Crash course", "", "## Channel — Series", "", "| # | Title | Lesson | Link |", "|---|---|---|---|"]
    for i in range(rows):
        lines.append(f"| {i + 1} | Video number {i} | {i // 3 + 1} | [Watch](https://www.youtube.com/watch?v=v{i:010d}) |")
    return "\n".join(lines) + "\n"


def test_a_killed_import_leaves_the_catalog_old_or_new(tmp_path):
    """Kills at every named point of an import's one write: inside the write of the new catalog's
    temp file (write), before the temp file is made durable (fsync), before it is renamed over the
    catalog (replace), and before the folder is synced (fsync). Before the rename the catalog is
    its old bytes, after it its new bytes: never cut short or mixed, and only a temp file is left
    beside it."""
    start_catalog = write_json(tmp_path / "start.json", synthetic_catalog(60, 5))
    index = tmp_path / "index.md"
    index.write_text(index_text(200), encoding="utf-8")
    old = start_catalog.read_bytes()

    def import_killed_at(op: str, at: int) -> tuple[bool, int, bytes, list[bytes]]:
        """(killed, calls made, the catalog's bytes, the bytes of each temp file left beside it)."""
        folder = tmp_path / f"{op}-{at}"
        folder.mkdir()
        catalog = shutil.copy(start_catalog, folder / "catalog.json")
        killed, calls = faulted(op, at, "import", index, "--course", "crash", "--catalog", catalog)
        left = sorted(p.name for p in folder.iterdir() if p.name != "catalog.json")
        assert all(re.match(r"^\.catalog\.json\.[^/]+\.tmp$", name) for name in left), left
        return killed, calls, catalog.read_bytes(), [(folder / name).read_bytes() for name in left]

    calls = {}
    for op in ("write", "fsync", "replace"):
        killed, calls[op], new, temps = import_killed_at(op, 10**9)
        assert not killed and new != old and temps == []
    pieces = -(-len(new.decode("utf-8")) // 1024)
    assert calls == {"write": pieces, "fsync": 2, "replace": 1}, calls  # the one write, nothing else

    for at in (0, pieces // 2, pieces - 1):
        killed, _, raw, temps = import_killed_at("write", at)
        assert killed, f"the import was not killed at write piece {at}"
        assert raw == old, f"killed at write piece {at} of {pieces}: catalog.json is not its old bytes"
        assert len(temps) == 1 and len(temps[0]) < len(new) and new.startswith(temps[0]), \
            f"killed at write piece {at} of {pieces}: not inside the write of the new catalog"
    for op, at, catalog, staged in [("fsync", 0, old, [new]),  # the new catalog written, not yet durable
                                    ("replace", 0, old, [new]),  # durable, not yet renamed
                                    ("fsync", 1, new, [])]:  # renamed, the folder not yet synced
        killed, _, raw, temps = import_killed_at(op, at)
        assert killed, f"the import was not killed at {op} call {at}"
        assert (raw, temps) == (catalog, staged), f"killed at {op} call {at}: catalog.json is cut short or mixed"


def test_a_write_that_fails_midway_leaves_the_old_file(tmp_path, monkeypatch):
    """The same promise in process, without timing: a write that dies halfway (a full disk, an
    interrupt) leaves the old file and no temp file."""
    from companion.notebook import atomic

    target = tmp_path / "note.ipynb"
    target.write_text("old", encoding="utf-8")

    class Died(BaseException):
        pass

    real_fdopen, real_open = os.fdopen, open

    class Half:
        def __init__(self, f):
            self.f = f

        def write(self, s):
            self.f.write(s[: len(s) // 2])
            self.f.flush()
            raise Died()

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.f.__exit__(*exc)

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: Half(real_fdopen(*a, **k)))
    monkeypatch.setattr("builtins.open", lambda *a, **k: Half(real_open(*a, **k)) if "w" in (a[1:2] or [k.get("mode", "r")])[0] else real_open(*a, **k))
    with pytest.raises(Died):
        atomic.write_text(target, "new text " * 1000)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["note.ipynb"]
