"""Crashes: `companion build` and `companion import` killed with SIGKILL at many moments.

Each notebook on disk is then exactly its old bytes or its new bytes (never cut short, never a
mix, always JSON), no learner's answer is lost, and the next build finishes the job. Temp files
(`.NAME.XXXX.tmp`, hidden, not `*.ipynb`) may be left by a kill: a killed process cannot clean
up, and the build never reads them.

A build is killed at named points, the same on every machine (`FAULT`: the process kills itself
at the n-th call of `os.fsync`, `os.replace` or `os.unlink`), so no test depends on the machine's
speed. The import is killed with real timing that closes in on its one write; a "slow disk"
(every write of a file goes out in 1 KiB pieces with a pause between) lets kills land inside
single-file writes too, where a non-atomic write would leave a truncated file.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import PYTHON, snapshot, subprocess_env, synthetic_catalog, write_json

SEED = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))
TRIALS = 20
IMPORT_TRIALS = 10
ANSWER = "MY ANSWER {n}: keep this"

SLOW_DISK = r"""
import builtins, io, os, sys, time

class Slow:
    def __init__(self, f):
        self._f = f
    def write(self, s):
        for i in range(0, len(s), 1024):
            self._f.write(s[i:i + 1024])
            self._f.flush()
            time.sleep(0.0004)
        return len(s)
    def __getattr__(self, name):
        return getattr(self._f, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self._f.__exit__(*exc)

def slow(opener):
    def opened(*args, **kwargs):
        f = opener(*args, **kwargs)
        mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
        return Slow(f) if any(c in mode for c in "wax+") else f
    return opened

builtins.open = io.open = slow(io.open)
os.fdopen = slow(os.fdopen)
from companion.cli import main
sys.exit(main(sys.argv[1:]))
"""
FAST = "import sys\nfrom companion.cli import main\nsys.exit(main(sys.argv[1:]))\n"
# A kill at a named point, the same on any machine: the command kills itself (SIGKILL, as a
# power cut or `kill -9`) when it is about to make call number `at` of `os.<op>` (`fsync`: a
# staged temp file made durable; `replace`: a file renamed into place; `unlink`: a file removed).
# With `at` beyond the last call it runs to the end and says on stderr how many calls it made.
FAULT = r"""
import atexit, os, signal, sys, threading
op, at = sys.argv[1], int(sys.argv[2])
del sys.argv[1:3]
lock, seen, real = threading.Lock(), [0], getattr(os, op)
def counted(*args, **kwargs):
    with lock:
        seen[0] += 1
        if seen[0] > at:
            os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
setattr(os, op, counted)
atexit.register(lambda: sys.stderr.write(f"calls: {seen[0]}\n"))
from companion.cli import main
sys.exit(main(sys.argv[1:]))
"""


def command(slow: bool, *argv) -> list[str]:
    return [PYTHON, "-c", SLOW_DISK if slow else FAST, *map(str, argv)]


def run(slow: bool, *argv) -> subprocess.CompletedProcess:
    done = subprocess.run(command(slow, *argv), env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def killed_after(delay: float, slow: bool, *argv) -> bool:
    """Start the command, SIGKILL it after `delay` s; True if the kill landed before it ended."""
    proc = subprocess.Popen(command(slow, *argv), env=subprocess_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True
    err = proc.stderr.read().decode()
    assert proc.returncode == 0, err
    return False


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
    run(False, "build", "--catalog", old_cat, "--out", base)
    answers = add_learner_work(base)
    old = snapshot(base)
    windows = {}
    for slow in (False, True):  # the uninterrupted build: the new state, and when it writes
        done = folder / f"done-{slow}"
        shutil.copytree(base, done)
        start = time.time()
        run(slow, "build", "--catalog", new_cat, "--out", done)
        end = time.time() - start
        changed = [p.stat().st_mtime - start for p in done.rglob("*.ipynb")
                   if old.get(p.relative_to(done).as_posix()) != p.read_bytes()]
        windows[slow] = (min(changed), max(changed), end)
        new = snapshot(done)
    assert snapshot(folder / "done-False") == new
    return folder, new_cat, base, old, new, answers, windows


def faulted(op: str, at: int, *argv) -> tuple[bool, int]:
    """Run the command with a kill at call `at` of `os.<op>`: (killed, calls it made when not killed)."""
    done = subprocess.run([PYTHON, "-c", FAULT, op, str(at), *map(str, argv)], env=subprocess_env(),
                          capture_output=True, text=True, timeout=300)
    if done.returncode == -signal.SIGKILL:
        return True, at
    assert done.returncode == 0, done.stderr
    return False, int(re.findall(r"calls: (\d+)", done.stderr)[-1])


KILL_POINTS = 6  # kills per kind of call, spread over all the calls a build makes of it


def test_a_build_killed_while_staging_renaming_or_removing_leaves_each_notebook_old_or_new(build_setup):
    """Kills at named points of the write, the same on every machine: while new versions are
    staged (fsync), while they are renamed into place (replace) and while old files are removed
    (unlink). Every kill leaves each notebook its old or its new version with every answer kept,
    and the next build finishes the job."""
    folder, new_cat, base, old, new, answers, _ = build_setup
    outcomes: dict[str, set[str]] = {}
    for op in ("fsync", "replace", "unlink"):
        out = folder / f"count-{op}"
        shutil.copytree(base, out)
        killed, calls = faulted(op, 10**9, "build", "--catalog", new_cat, "--out", out)
        assert not killed and calls > 0, f"a build makes no {op} call"
        assert snapshot(out) == new
        shutil.rmtree(out)
        for at in sorted({calls * k // KILL_POINTS for k in range(KILL_POINTS)}):
            out = folder / f"kill-{op}-{at}"
            shutil.copytree(base, out)
            killed, _ = faulted(op, at, "build", "--catalog", new_cat, "--out", out)
            assert killed, f"the build was not killed at {op} call {at} of {calls}"
            where = f"killed at {op} call {at} of {calls}"
            outcomes.setdefault(op, set()).add(check_state(out, old, new, answers, where))
            run(False, "build", "--catalog", new_cat, "--out", out)  # the next build finishes what it began
            after = {r: b for r, b in snapshot(out).items() if not TEMP.match(r.rsplit("/", 1)[-1])}
            assert all(after[r] == new[r] for r in new), f"{where}: the next build did not finish the job"
            # a kill between writing a moved lesson and removing its old file leaves the old file
            # (with the learner's answer, which the new file has too): kept, never lost
            assert all(after[r] == old.get(r) for r in after.keys() - new.keys()), where
            shutil.rmtree(out)
    assert "staged" in outcomes["fsync"], outcomes  # killed with new versions staged, none renamed yet
    assert "mixed" in outcomes["replace"], outcomes  # killed with some files renamed, others not


def test_a_move_interrupted_before_its_old_file_was_removed_loses_nothing(build_setup, capsys):
    """The state a kill leaves between writing a moved lesson's new file and removing its old
    one, made on purpose: the next build keeps both files (it cannot tell a leftover from a copy
    the learner made) and the answer is in both."""
    folder, new_cat, base, old, new, answers, _ = build_setup
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
    start_catalog = write_json(tmp_path / "start.json", synthetic_catalog(60, 5))
    index = tmp_path / "index.md"
    index.write_text(index_text(200), encoding="utf-8")
    old = start_catalog.read_bytes()
    windows = {}
    for slow in (False, True):
        done = tmp_path / f"done-{slow}.json"
        shutil.copy(start_catalog, done)
        start = time.time()
        run(slow, "import", index, "--course", "crash", "--catalog", done)
        windows[slow] = done.stat().st_mtime - start  # when the catalog was written
        new = done.read_bytes()
    assert new != old
    rng = random.Random(SEED)
    kinds = []
    # the kill window per mode narrows like a bisection: a kill that left the old catalog moves its
    # start up, one that left the new catalog moves its end down, so kills close in on the moment
    # of the write however much slower or faster the machine is than during calibration
    bounds = {slow: [0.05, written + 0.2] for slow, written in windows.items()}
    trial = -1
    while (trial := trial + 1) < IMPORT_TRIALS or (trial < 3 * IMPORT_TRIALS and set(kinds) != {"old", "new"}):
        slow = trial % 2 == 1
        lo, hi = bounds[slow]
        delay = lo + (hi - lo) * rng.random()
        folder = tmp_path / f"trial-{trial}"
        folder.mkdir()
        catalog = folder / "catalog.json"
        shutil.copy(start_catalog, catalog)
        killed_after(delay, slow, "import", index, "--course", "crash", "--catalog", catalog)
        raw = catalog.read_bytes()
        assert raw in (old, new), f"trial {trial} (seed {SEED}, kill at {delay:.3f}s): catalog.json is cut or mixed"
        kind = "new" if raw == new else "old"
        kinds.append(kind)
        bounds[slow][0 if kind == "old" else 1] = delay
        if kind == "old" and bounds[slow][1] - delay < 0.05:  # slower than calibrated: look later
            bounds[slow][1] = delay + 0.5
        assert all(re.match(r"^\.catalog\.json\.[^/]+\.tmp$", p.name) or p.name == "catalog.json" for p in folder.iterdir())
        shutil.rmtree(folder)
    print(f"seed {SEED}: import kills left {kinds}")
    assert "old" in kinds, f"no kill landed before the catalog was written (seed {SEED})"
    assert "new" in kinds, f"no kill landed after the catalog was written (seed {SEED})"


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
