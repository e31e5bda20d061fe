#!/usr/bin/env python3
"""Benchmarks: what a build, a rebuild, a lesson and the tests cost, as ratios against baselines
measured in the same run on the same machine.

    python bench/run.py              # a few minutes: build, papermill sample, no-op, scaling, lessons
    python bench/run.py --suite      # also nbval (serial, xdist) and `bash scripts/test`: many minutes

Run it after `bash scripts/setup`; it re-runs itself with .venv's Python. The papermill comparison
needs the `bench` extra: `.venv/bin/pip install -e '.[bench]'` (skipped, with that hint, without it).
Every timing is the median of --repeat runs (min–max shown): figures on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"
# as a command runs (companion.cli.quick_imports: rfc3987_syntax's grammar deferred, jupytext's contents managers out)
QUICK = "from companion import cli\nwith cli.quick_imports():\n    "


def _reexec_in_venv() -> None:
    if VENV_PY.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *sys.argv[1:]])


# ---------------------------------------------------------------- measuring


@dataclass
class Run:
    wall: float
    maxrss_kb: int
    code: int
    out: str
    cpu: float = 0.0  # user + system time: what the command costs, whatever else the machine runs


# Commands are started by this small process, not by the benchmark itself: Linux charges a child
# with the peak RSS of the process it was forked from (at exec), and the benchmark grows (nbclient,
# papermill) far past what a build uses. The spawner stays at ~10 MB, below any command measured.
SPAWNER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["out"], "w") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(job["cmd"], stdout=out, stderr=subprocess.STDOUT, env=job["env"], cwd=job["cwd"])
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    print(json.dumps({"wall": wall, "maxrss": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime,
                      "code": os.waitstatus_to_exitcode(status)}), flush=True)
"""
_spawner: subprocess.Popen | None = None


def run(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> Run:
    """Wall time of a command (interpreter start included) and its own peak RSS (wait4)."""
    global _spawner
    if _spawner is None:
        _spawner = subprocess.Popen([sys.executable, "-S", "-c", SPAWNER], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
    fd, out = tempfile.mkstemp(suffix=".out")
    os.close(fd)
    try:
        job = {"cmd": cmd, "env": dict(os.environ if env is None else env), "cwd": str(cwd or os.getcwd()), "out": out}
        _spawner.stdin.write(json.dumps(job) + "\n")
        _spawner.stdin.flush()
        result = json.loads(_spawner.stdout.readline())
        return Run(result["wall"], result["maxrss"], result["code"], Path(out).read_text(errors="replace"),
                   result["cpu"])
    finally:
        os.unlink(out)


@dataclass
class Stat:
    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def __str__(self) -> str:
        if len(self.values) == 1:
            return f"{fmt_s(self.values[0])} (1 run)"
        return f"{fmt_s(self.median)} ({fmt_s(min(self.values))}–{fmt_s(max(self.values))}, n={len(self.values)})"


def fmt_s(seconds: float) -> str:
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "–"


@dataclass
class Row:
    section: str
    measure: str
    value: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    def add(self, *args: str, **kwargs: str) -> None:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        print(f"  {row.measure}: {row.value}" + (f"  [{row.ratio} {row.baseline}]" if row.ratio else "")
              + (f"  target {row.target}: {row.met}" if row.target else ""), file=sys.stderr, flush=True)

    def table(self) -> str:
        lines = ["| | Measure | Median (min–max, runs) | Ratio | Against | Target | Met |",
                 "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            lines.append(f"| {r.section} | {r.measure} | {r.value} | {r.ratio} | {r.baseline} | {r.target} | {r.met} |")
        return "\n".join(lines)


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class kernels:
    """For kernels started in this process: `env` as the environment they inherit, and their
    stderr (a warning on every start: no encryption over TCP) in a file, shown if the block fails."""

    def __init__(self, env: dict, log_file: Path):
        self.env, self.log_file = env, log_file

    def __enter__(self) -> None:
        self.saved_env = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)
        sys.stderr.flush()
        self.saved_fd = os.dup(2)
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)

    def __exit__(self, kind, value, tb) -> None:
        sys.stderr.flush()
        os.dup2(self.saved_fd, 2)
        os.close(self.saved_fd)
        os.environ.clear()
        os.environ.update(self.saved_env)
        if kind is not None:
            log(self.log_file.read_text(errors="replace")[-3000:])


def isolated_env(tmp: Path, **extra: str) -> dict:
    """Fresh trust store, progress store, IPython profile and user cache (the parsed extras): nothing
    of the user's is touched, and two trees timed side by side don't evict each other's cache."""
    env = dict(os.environ)
    for name, sub in (("JUPYTER_DATA_DIR", "jupyter-data"), ("IPYTHONDIR", "ipython"),
                      ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("XDG_CACHE_HOME", "cache")):
        env[name] = str(tmp / sub)
    env["COMPANION_PROGRESS"] = str(tmp / "progress.sqlite")
    env.update(extra)
    return env


def snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
            for p in folder.rglob("*") if p.is_file()}


def written(before: dict, after: dict) -> int:
    """Files added, removed or rewritten (new inode, mtime or size)."""
    return len(before.keys() ^ after.keys()) + sum(1 for k in before.keys() & after.keys() if before[k] != after[k])


def lessons_of(catalog: Path) -> list[tuple[str, str]]:
    data = json.loads(catalog.read_text(encoding="utf-8"))
    return [(c["id"], l["id"]) for c in data["courses"] for l in c["lessons"]]


# ---------------------------------------------------------------- the sections


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path):
        self.args = args
        self.tmp = tmp
        self.report = Report()
        self.n = args.repeat
        self.py = sys.executable
        script = Path(self.py).parent / "companion"  # the console script, as a user runs it
        self.companion = [str(script)] if script.exists() else [self.py, "-m", "companion"]
        self.catalog = tmp / "catalog.json"  # a copy: the repo's may change while this runs
        shutil.copy(ROOT / args.catalog, self.catalog)
        if (ROOT / args.catalog).parent.joinpath("lessons").is_dir():
            shutil.copytree((ROOT / args.catalog).parent / "lessons", tmp / "lessons")
        self.lessons = lessons_of(self.catalog)
        self.r = self.report.raw
        self._k = 0
        self.before: Path | None = None  # companion/ as it was at --before, to time beside this one
        if args.before:
            self.before = tmp / "before"
            self.before.mkdir()
            archive = subprocess.run(["git", "archive", args.before, "companion"], cwd=ROOT, capture_output=True,
                                     check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(self.before)], input=archive, check=True)

    def fresh(self, name: str) -> Path:
        self._k += 1
        d = self.tmp / f"{name}-{self._k}"
        d.mkdir()
        return d

    def times(self, cmd: list[str], env: dict | None = None, n: int | None = None) -> tuple[Stat, list[Run]]:
        runs = [run(cmd, env) for _ in range(n or self.n)]
        for r in runs:
            if r.code:
                raise SystemExit(f"failed ({r.code}): {' '.join(cmd)}\n{r.out[-3000:]}")
        return Stat([r.wall for r in runs]), runs

    def build_cmd(self, out: Path, catalog: Path | None = None) -> list[str]:
        return [*self.companion, "build", "--out", str(out), "--catalog", str(catalog or self.catalog)]

    # 0 -------------------------------------------------------------------------------------
    def correctness(self) -> None:
        """The build skips nbformat's schema checks (companion/notebook/nodes.py): its output must not change,
        and the copies of nbformat's work it keeps must pay."""
        log("\n[0] the build's notebooks are nbformat's, byte for byte (tests/test_nodes_identity.py); "
            "what the copies save")
        r = run([self.py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "tests/test_nodes_identity.py"],
                cwd=ROOT)
        summary = (r.out.strip().splitlines() or ["no output"])[-1]
        self.report.add("0 output", "tests/test_nodes_identity.py (nodes, every planned notebook valid and written as "
                        "`nbformat.writes` writes it, every committed notebook rewritten to its own bytes)", summary,
                        target="pass", met=yes(r.code == 0))
        args = [self.py, str(ROOT / "bench" / "rewrites.py"), str(self.catalog)]
        r = run(args + ([str(self.before)] if self.before else []))
        if r.code:
            self.report.add("0 output", "bench/rewrites.py", f"error: {r.out.strip()[-300:]}")
            return
        f = json.loads(r.out.strip().splitlines()[-1])
        self.r["rewrites"] = f
        n = f["notebooks"]
        self.report.add("0 output", f"serialize {n} notebooks: `nodes.writes` (kept)", f"{f['nodes.writes']:.0f} ms",
                        "`nbformat.v4.writes`", ratio(f["nodes.writes"], f["nbformat.v4.writes"]))
        self.report.add("0 output", f"serialize {n} notebooks: `nbformat.v4.writes` / `nbformat.writes`",
                        f"{f['nbformat.v4.writes']:.0f} ms / {f['nbformat.writes']:.0f} ms")
        self.report.add("0 output", f"validate {n} notebooks one by one (not done by the build)",
                        f"{f['validate each']:.0f} ms")
        (nn, na), (wn, wa) = f["NotebookNotary.sign"], f["trust.sign"]
        self.report.add("0 output", f"sign {n} notebooks, new trust db / all signed already: `trust.sign` (kept)",
                        f"{wn:.0f} ms / {wa:.0f} ms", "`NotebookNotary.sign` each", f"{nn:.0f} ms / {na:.0f} ms")

    # 1 -------------------------------------------------------------------------------------
    def full_build(self) -> None:
        extras = (self.tmp / "lessons").is_dir()
        log(f"\n[1] full build of {self.catalog.name} ({len(self.lessons)} lessons"
            f"{', with its lessons/ extras' if extras else ''}) into an empty folder")
        bare = self.fresh("bare") / "catalog.json"  # the same catalog without lessons/ beside it
        shutil.copy(self.catalog, bare)
        imports = (QUICK + "import companion.builder.plan, companion.builder.writer, companion.builder.trust, "
                   "nbformat.sign" + ("; import jupytext" if extras else ""))
        cmds = {"pass": [self.py, "-c", "pass"], "nbformat": [self.py, "-c", QUICK + "import nbformat"],
                "imports": [self.py, "-c", imports]}
        runs: dict[str, list[Run]] = {k: [] for k in ("pass", "nbformat", "imports", "build", "bare")}
        for _ in range(self.n):  # interleaved, so drift in machine load hits all alike
            for name, cmd in cmds.items():
                runs[name].append(run(cmd))
            for name, cat in (("build", self.catalog), ("bare", bare)):
                t = self.fresh(name)
                runs[name].append(run(self.build_cmd(t / "nb", cat), isolated_env(t)))
        for name, rs in runs.items():
            if any(r.code for r in rs):
                raise SystemExit(f"{name} failed:\n{next(r for r in rs if r.code).out[-3000:]}")
        st = {name: Stat([r.wall for r in rs]) for name, rs in runs.items()}
        m = re.search(r"(\d+) added", runs["build"][-1].out)
        notebooks = int(m.group(1)) if m else 0
        self.build, self.notebooks, self.base_nbf = st["build"], notebooks, st["nbformat"]
        self.nbf_rss = statistics.median(r.maxrss_kb for r in runs["nbformat"])
        self.r.update({f"1 {k}": v.values for k, v in st.items()}, notebooks=notebooks, lessons=len(self.lessons),
                      full_build_rss_kb=[r.maxrss_kb for r in runs["build"]])
        build = st["build"]
        self.report.add("1 build", "`python -c pass`", str(st["pass"]))
        self.report.add("1 build", "`python -c 'import nbformat'` (rfc3987_syntax deferred, as the CLI does)",
                        str(st["nbformat"]))
        self.report.add("1 build", "imports alone, as a command makes them (`cli.quick_imports()`): builder.plan, "
                        f"builder.writer, builder.trust, nbformat.sign{', jupytext' if extras else ''}",
                        str(st["imports"]), "`import nbformat`", ratio(st["imports"].median, st["nbformat"].median))
        self.report.add("1 build", f"**full build**, {len(self.lessons)} lessons → {notebooks} notebooks, signed "
                        "(`companion build --out EMPTY`, interpreter start included)", str(build),
                        "`python -c pass`", ratio(build.median, st["pass"].median), "≤ 0.5 s",
                        yes(build.median <= 0.5))
        self.report.add("1 build", "full build", str(build), "`import nbformat`",
                        ratio(build.median, st["nbformat"].median))
        rss = statistics.median(r.maxrss_kb for r in runs["build"])
        self.report.add("1 build", "full build: peak RSS", f"{rss / 1024:.0f} MB", "`import nbformat`",
                        ratio(rss, self.nbf_rss))
        if extras:
            self.report.add("1 build", "full build of the same catalog without its lessons/ extras", str(st["bare"]),
                            "full build", ratio(st["bare"].median, build.median), "≤ 0.5 s",
                            yes(st["bare"].median <= 0.5))

    # 2 -------------------------------------------------------------------------------------
    def papermill(self) -> None:
        k = self.args.papermill_sample
        log(f"\n[2] papermill: a parameterized template executed per lesson ({k} sampled lessons)")
        try:
            import papermill as pm
        except ImportError:
            log("    papermill is not installed: run `.venv/bin/pip install -e '.[bench]'`; skipped")
            self.report.add("2 papermill", "papermill per lesson", "not run: `pip install -e '.[bench]'`")
            return
        import nbformat
        from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

        work = self.fresh("papermill")
        template = new_notebook(cells=[
            new_markdown_cell("# Lesson\n\nRendered by papermill from this template, once per lesson."),
            new_code_cell('course_id = "course"\nlesson_id = "lesson"', metadata={"tags": ["parameters"]}),
            new_code_cell("from IPython.display import Markdown, display\nfrom companion.lesson import open_lesson\n\n"
                          "lesson = open_lesson(course_id, lesson_id)\ndisplay(Markdown(f'# {lesson.lesson.title}'))"),
            new_code_cell("for a in lesson.lesson.videos:\n    lesson.show_video(a.id)"),
            new_code_cell("for a in lesson.lesson.resources:\n    lesson.show_resource(a.id)"),
            new_code_cell("lesson.checklist()"),
        ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        nbformat.write(template, work / "template.ipynb")
        step = max(1, len(self.lessons) // k)
        sample = self.lessons[::step][:k]
        walls = []
        with kernels(isolated_env(work, COMPANION_CATALOG=str(self.catalog)), work / "kernels.log"):
            for course, lesson in sample:
                t0 = time.perf_counter()
                pm.execute_notebook(str(work / "template.ipynb"), str(work / f"{course}-{lesson}.ipynb"),
                                    parameters={"course_id": course, "lesson_id": lesson}, kernel_name="python3",
                                    progress_bar=False, cwd=str(work))
                walls.append(time.perf_counter() - t0)
        pm_stat = Stat(walls)
        per_lesson = self.build.median / len(self.lessons)
        self.r.update(papermill_per_lesson=walls, papermill_sample=sample)
        self.report.add("2 papermill", f"papermill.execute_notebook, one lesson (in-process, import excluded; "
                        f"{len(sample)} lessons sampled)", str(pm_stat))
        self.report.add("2 papermill", "companion, per lesson (median full build ÷ lessons, interpreter start "
                        "and signing included)", fmt_s(per_lesson))
        self.report.add("2 papermill", "papermill ÷ companion, per lesson", f"{pm_stat.median / per_lesson:.0f}×",
                        "companion per lesson", f"{pm_stat.median / per_lesson:.0f}×", "≥ 100×",
                        yes(pm_stat.median / per_lesson >= 100))

    # 3 -------------------------------------------------------------------------------------
    def noop(self) -> None:
        log("\n[3] no-op rebuild (same catalog, same output folder, same trust store)")
        t = self.fresh("noop")
        env = isolated_env(t)
        first = run(self.build_cmd(t / "nb"), env)
        if first.code:
            raise SystemExit(first.out)
        walls, writes, db_writes, reports = [], [], [], []  # reports: the build's summary lines
        db = Path(env["JUPYTER_DATA_DIR"])
        for _ in range(self.n):
            before, db_before = snapshot(t / "nb"), snapshot(db)
            r = run(self.build_cmd(t / "nb"), env)
            walls.append(r.wall)
            writes.append(written(before, snapshot(t / "nb")))
            db_writes.append(written(db_before, snapshot(db)))
            reports.append(r.out.strip().splitlines()[-1])
        s = Stat(walls)
        self.r.update(noop=walls, noop_files_written=writes, noop_trust_files_written=db_writes, noop_reports=reports)
        self.report.add("3 no-op", "no-op rebuild", str(s), "full build", ratio(s.median, self.build.median))
        self.report.add("3 no-op", "no-op rebuild", str(s), "`import nbformat`", ratio(s.median, self.base_nbf.median))
        self.report.add("3 no-op", "notebooks written by a no-op rebuild (inode/mtime/size)", f"{max(writes)}",
                        target="0", met=yes(max(writes) == 0))
        self.report.add("3 no-op", "trust-store files written by a no-op rebuild", f"{max(db_writes)}",
                        target="0", met=yes(max(db_writes) == 0))

    # 4 -------------------------------------------------------------------------------------
    def scaling(self) -> None:
        sizes = [int(x) for x in self.args.scale.split(",") if x]
        per = self.args.per_course
        shape = "one course" if per >= max(sizes) else f"{per} lessons a course"
        log(f"\n[4] scaling: synthetic catalogs of {', '.join(map(str, sizes))} lessons ({shape})")
        results = {}
        for size in sizes:
            cat = self.fresh(f"synthetic-{size}") / "catalog.json"  # alone: no lessons/ extras beside it
            cat.write_text(json.dumps(synthetic(size, per)), encoding="utf-8")
            n = self.n if size <= 1000 else max(1, min(self.n, self.args.big_repeat))
            walls, rss = [], []
            for _ in range(n):
                t = self.fresh(f"scale{size}")
                r = run(self.build_cmd(t / "nb", cat), isolated_env(t))
                if r.code:
                    raise SystemExit(f"build of {size} lessons failed:\n{r.out[-3000:]}")
                walls.append(r.wall)
                rss.append(r.maxrss_kb)
                shutil.rmtree(t)
            results[size] = (Stat(walls), statistics.median(rss))
            self.report.add("4 scaling", f"build {size:,} lessons ({shape}): time", str(results[size][0]))
            self.report.add("4 scaling", f"build {size:,} lessons ({shape}): peak RSS",
                            f"{results[size][1] / 1024:.0f} MB ({(results[size][1] - self.nbf_rss) / 1024:.0f} MB "
                            "above `import nbformat`)")
        self.r["scaling"] = {s: {"wall": st.values, "maxrss_kb": m} for s, (st, m) in results.items()}
        for a, b in itertools.pairwise(sizes):
            (ta, ma), (tb, mb) = results[a], results[b]
            grow = b / a
            self.report.add("4 scaling", f"time {b:,} ÷ {a:,} lessons", ratio(tb.median, ta.median),
                            f"{grow:.0f}× lessons", ratio(tb.median, ta.median), f"≤ {grow:.0f}×",
                            yes(tb.median <= grow * ta.median))
            self.report.add("4 scaling", f"peak RSS {b:,} ÷ {a:,} lessons (above `import nbformat`: "
                            f"{ratio(mb - self.nbf_rss, ma - self.nbf_rss)})", ratio(mb, ma),
                            f"{grow:.0f}× lessons", ratio(mb, ma), f"≤ {grow:.0f}×", yes(mb <= grow * ma))

    # 5 -------------------------------------------------------------------------------------
    def lesson_run(self) -> None:
        log("\n[5] running a lesson with nbclient vs an empty notebook (kernel start alone)")
        import nbformat
        from nbclient import NotebookClient

        t = self.fresh("lesson")
        env = isolated_env(t, COMPANION_CATALOG=str(self.catalog))
        r = run(self.build_cmd(t / "nb"), env)
        if r.code:
            raise SystemExit(r.out)
        course, lesson = self.lessons[0]
        path = next(p for p in sorted((t / "nb" / course).glob("*.ipynb"))
                    if json.loads(p.read_text())["metadata"]["companion"].get("lesson_id") == lesson)
        lesson_nb = nbformat.read(path, as_version=4)
        empty = nbformat.v4.new_notebook(metadata=lesson_nb.metadata)
        walls: dict[str, list[float]] = {"empty": [], "lesson": []}
        with kernels(env, t / "kernels.log"):
            for i in range(self.n + 1):  # alternate, so drift in machine load hits both alike
                for name, nb in (("empty", empty), ("lesson", lesson_nb)):
                    t0 = time.perf_counter()
                    NotebookClient(nbformat.from_dict(nb), timeout=120, kernel_name="python3",
                                   resources={"metadata": {"path": str(path.parent)}}).execute()
                    if i:  # the first round warms the disk cache and is not counted
                        walls[name].append(time.perf_counter() - t0)
        e, l = Stat(walls["empty"]), Stat(walls["lesson"])
        self.kernel_start = e
        self.r.update(run_empty=e.values, run_lesson=l.values, run_lesson_path=str(path.relative_to(t / "nb")))
        self.report.add("5 lesson", "nbclient: empty notebook (kernel start and shutdown)", str(e))
        self.report.add("5 lesson", f"nbclient: lesson notebook `{path.relative_to(t / 'nb')}` (all cells)", str(l),
                        "empty notebook", ratio(l.median, e.median), "≤ 1.3×", yes(l.median <= 1.3 * e.median))
        code = ("import time; t0 = time.perf_counter(); import IPython.display; t1 = time.perf_counter(); "
                "import companion.lesson; t2 = time.perf_counter(); import ipywidgets; t3 = time.perf_counter(); "
                "print(t1 - t0, t2 - t1, t3 - t2)")
        cols: list[list[float]] = [[], [], []]
        alone = []
        for _ in range(self.n):
            out = run([self.py, "-c", code], env)
            for c, v in zip(cols, map(float, out.out.split()), strict=True):
                c.append(v)
            out = run([self.py, "-c", "import time; t0 = time.perf_counter(); import companion.lesson; "
                                      "print(time.perf_counter() - t0)"], env)
            alone.append(float(out.out.split()[-1]))
        ipy, kern, widgets, alone_s = Stat(cols[0]), Stat(cols[1]), Stat(cols[2]), Stat(alone)
        self.r.update(import_ipython_display=ipy.values, import_companion_kernel_after=kern.values,
                      import_ipywidgets_after=widgets.values, import_companion_kernel_alone=alone_s.values)
        self.report.add("5 lesson", "`import IPython.display`, fresh interpreter (a kernel has it already)", str(ipy))
        self.report.add("5 lesson", "`import companion.lesson` alone, fresh interpreter", str(alone_s),
                        "`import IPython.display`", ratio(alone_s.median, ipy.median))
        self.report.add("5 lesson", "`import companion.lesson` after IPython.display (what a kernel pays)", str(kern),
                        "`import IPython.display`", ratio(kern.median, ipy.median))
        self.report.add("5 lesson", "`import ipywidgets` after those (the checklist's import)", str(widgets),
                        "`import IPython.display`", ratio(widgets.median, ipy.median))

    # 6 -------------------------------------------------------------------------------------
    def suite(self) -> None:
        log("\n[6] test suite (once each; slow)")
        pytest = [self.py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env"]
        count = sum(1 for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        results = {}
        for name, cmd in (("nbval serial", [*pytest, "notebooks"]),
                          ("nbval xdist -n 2 --dist loadfile", [*pytest, "-n", "2", "--dist", "loadfile", "notebooks"]),
                          ("`bash scripts/test` (README's test command)", ["bash", "scripts/test"])):
            log(f"    {name} …")
            r = run(cmd, cwd=ROOT)
            tail = [l for l in r.out.strip().splitlines() if re.search(r"passed|failed|error", l)]
            results[name] = r
            failed = re.findall(r"^FAILED (\S+)", r.out, re.M)
            self.r[f"suite: {name}"] = {"wall": r.wall, "exit": r.code, "summary": tail[-1] if tail else "",
                                        "failed": failed, "errors": re.findall(r"^E .*$", r.out, re.M)[:60]}
            summary = re.sub(r"=+", "", tail[-1]).strip() if tail else f"exit {r.code}"
            if failed:
                summary += " — failed: " + ", ".join(f"`{f}`" for f in failed)
            self.report.add("6 suite", f"{name}: {summary}", fmt_s(r.wall))
        serial, xdist = results["nbval serial"], results["nbval xdist -n 2 --dist loadfile"]
        self.report.add("6 suite", "nbval xdist ÷ serial", ratio(xdist.wall, serial.wall), "nbval serial",
                        ratio(xdist.wall, serial.wall))
        floor = count * self.kernel_start.median if hasattr(self, "kernel_start") else 0
        if floor:
            self.report.add("6 suite", f"nbval serial ÷ ({count} notebooks × empty-notebook run)",
                            ratio(serial.wall, floor), "kernel starts alone", ratio(serial.wall, floor))


    # 7 -------------------------------------------------------------------------------------
    def before_after(self) -> None:
        """The figures this change is about, this tree beside --before (old companion/ on PYTHONPATH),
        runs interleaved so the machine's load hits both alike."""
        if self.before is None:
            log("\n[7] before/after: no --before given; skipped")
            return
        log(f"\n[7] before ({self.args.before}) and after: full build, rebuild after a catalog edit, no-op, --check")
        pass_stat, pass_runs = self.times([self.py, "-c", "pass"])
        pass_cpu = statistics.median(r.cpu for r in pass_runs)
        srcs = {"after": None, "before": self.before}
        prepared = {}
        for name, src in srcs.items():
            folder = self.fresh(f"ba-{name}")
            shutil.copy(self.catalog, folder / "catalog.json")
            if (self.tmp / "lessons").is_dir():
                shutil.copytree(self.tmp / "lessons", folder / "lessons")
            env = isolated_env(folder, **({"PYTHONPATH": str(src)} if src else {}))
            if src is None:
                env.pop("PYTHONPATH", None)
            first = run(self.build_cmd(folder / "nb", folder / "catalog.json"), env)
            if first.code:
                log(f"  {name} ({self.args.before if src else 'this tree'}) cannot build {self.catalog.name}; "
                    f"section 7 skipped (a --before older than the catalog's schema? pick a later one):\n"
                    + first.out[-1500:])
                return
            prepared[name] = (folder, env)
        walls: dict[tuple[str, str], list[float]] = {}
        cpus: dict[tuple[str, str], list[float]] = {}
        for _ in range(self.n):
            for name, (folder, env) in prepared.items():
                cat = folder / "catalog.json"
                empty = self.fresh(f"ba-full-{name}")
                cases = {"full": self.build_cmd(empty / "nb", cat), "noop": self.build_cmd(folder / "nb", cat),
                         "check": [*self.build_cmd(folder / "nb", cat), "--check"]}
                cold = self.fresh(f"ba-cold-{name}")  # a machine that never parsed the extras
                cases["cold"] = self.build_cmd(cold / "nb", cat)
                for case, cmd in cases.items():
                    r = run(cmd, {**env, "XDG_CACHE_HOME": str(cold / "cache")} if case == "cold" else env)
                    if r.code:
                        raise SystemExit(f"{name} {case} failed:\n{r.out[-2000:]}")
                    walls.setdefault((case, name), []).append(r.wall)
                    cpus.setdefault((case, name), []).append(r.cpu)
                with cat.open("a", encoding="utf-8") as f:
                    f.write(" ")  # another catalog file, the same catalog: every input read again
                r = run(self.build_cmd(folder / "nb", cat), env)
                walls.setdefault(("edit", name), []).append(r.wall)
                cpus.setdefault(("edit", name), []).append(r.cpu)
        self.r["before_after"] = {f"{c} {n}": v for (c, n), v in walls.items()}
        self.r["before_after_cpu"] = {f"{c} {n}": v for (c, n), v in cpus.items()}
        self.r["pass"] = pass_stat.values
        labels = {"full": ("full build into an empty folder (interpreter start included)", 0.5),
                  "cold": ("full build into an empty folder, extras never parsed on this machine", 0.5),
                  "edit": ("full build after a catalog edit, extras unchanged", 0.5),
                  "noop": ("**no-op rebuild**", 0.15), "check": ("**`build --check`**, unchanged tree", 0.3)}
        for case, (label, target) in labels.items():
            after, before = Stat(walls[(case, "after")]), Stat(walls[(case, "before")])
            self.report.add("7 before/after", label, str(after), f"before {fmt_s(before.median)}; "
                            f"`python -c pass` {fmt_s(pass_stat.median)}", ratio(after.median, pass_stat.median)
                            + " `pass`", f"≤ {fmt_s(target)}", yes(after.median <= target))
            cpu_after, cpu_before = statistics.median(cpus[(case, "after")]), statistics.median(cpus[(case, "before")])
            self.report.add("7 before/after", f"{label}: CPU time (user + system)", fmt_s(cpu_after),
                            f"before {fmt_s(cpu_before)}; `python -c pass` {fmt_s(pass_cpu)}",
                            ratio(cpu_after, pass_cpu) + " `pass`")
        size = self.args.big
        if not size:
            return
        log(f"\n[7] no-op rebuild of {size:,} lessons, before and after (the first build of each takes minutes)")
        folder = self.fresh("ba-big")
        cat = folder / "catalog.json"
        cat.write_text(json.dumps(synthetic(size, self.args.per_course)), encoding="utf-8")
        big: dict[str, list[Run]] = {}
        for name, src in srcs.items():
            env = isolated_env(folder / name, **({"PYTHONPATH": str(src)} if src else {}))
            if src is None:
                env.pop("PYTHONPATH", None)
            out = folder / name / "nb"
            first = run(self.build_cmd(out, cat), env)
            if first.code:
                raise SystemExit(first.out[-2000:])
            big[name] = [run(self.build_cmd(out, cat), env) for _ in range(1 if src else max(1, self.args.big_repeat))]
        after, before = Stat([r.wall for r in big["after"]]), Stat([r.wall for r in big["before"]])
        rss = {k: max(r.maxrss_kb for r in v) / 1024 for k, v in big.items()}
        self.r["big_noop"] = {k: [(r.wall, r.maxrss_kb) for r in v] for k, v in big.items()}
        self.report.add("7 before/after", f"**no-op rebuild, {size:,} lessons**", str(after),
                        f"before {fmt_s(before.median)}", ratio(after.median, before.median) + " before", "≤ 2 s",
                        yes(after.median <= 2))
        self.report.add("7 before/after", f"no-op rebuild, {size:,} lessons: peak RSS", f"{rss['after']:.0f} MB",
                        f"before {rss['before']:.0f} MB; `import nbformat` {self.nbf_rss / 1024:.0f} MB"
                        if hasattr(self, "nbf_rss") else f"before {rss['before']:.0f} MB",
                        ratio(rss["after"], rss["before"]) + " before")


def synthetic(lessons: int, per_course: int) -> dict:
    """A valid catalog: `lessons` lessons of two videos each (one series per course), one playlist
    resource per course, in courses of `per_course` lessons."""
    data: dict = {"series": [], "videos": [], "resources": [], "courses": []}
    v = 0
    for c in range((lessons + per_course - 1) // per_course):
        n = min(per_course, lessons - c * per_course)
        sid, rid = f"series-{c}", f"playlist-{c}"
        data["series"].append({"id": sid, "title": f"Series {c}", "channel": "Bench", "resources": [rid]})
        data["resources"].append({"id": rid, "title": f"Series {c}: playlist", "kind": "playlist",
                                  "url": f"https://www.youtube.com/playlist?list=PLbench{c:08d}",
                                  "playlist": f"PLbench{c:08d}", "series": sid})
        course = {"id": f"course-{c}", "title": f"Synthetic course {c}", "lessons": []}
        for i in range(1, n + 1):
            vids = []
            for part in ("a", "b"):
                vid = f"v{v:010d}"
                v += 1
                data["videos"].append({"id": vid, "title": f"Video {vid}: idea {i}{part}", "series": sid,
                                       "number": str(i), "youtube": vid})
                vids.append({"id": vid})
            course["lessons"].append({"id": f"lesson-{i}", "number": i, "title": f"Lesson {i} of course {c}",
                                      "videos": vids, "resources": [{"id": rid}]})
        data["courses"].append(course)
    return data


def machine() -> dict:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    versions = {}
    for pkg in ("nbformat", "nbclient", "papermill", "ipykernel", "jsonschema"):
        try:
            from importlib.metadata import version
            versions[pkg] = version(pkg)
        except Exception:
            versions[pkg] = "—"
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "companion"], cwd=ROOT, capture_output=True,
                               text=True).stdout.strip()
    except OSError:
        rev, dirty = "", ""
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "packages": versions,
            "git": rev + (" + uncommitted changes in companion/" if dirty else ""), "load_start": os.getloadavg()}


def main() -> int:
    _reexec_in_venv()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="runs per timing; the median is reported (default 5)")
    p.add_argument("--suite", action="store_true", help="also time nbval and `bash scripts/test` (many minutes)")
    p.add_argument("--catalog", default="catalog.json", help="catalog for sections 1–3 and 5 (default catalog.json)")
    p.add_argument("--papermill-sample", type=int, default=5, help="lessons papermill renders (default 5)")
    p.add_argument("--scale", default="100,1000,10000", help="synthetic catalog sizes (default 100,1000,10000)")
    p.add_argument("--per-course", type=int, default=50, help="lessons per synthetic course (default 50)")
    p.add_argument("--big-repeat", type=int, default=3, help="runs for catalogs over 1,000 lessons (default 3)")
    p.add_argument("--only", default="01234567", help="sections to run, e.g. 13 (default all but 6 unless --suite)")
    p.add_argument("--before", metavar="REV", help="also time companion/ as it was at git REV beside this tree "
                   "(section 7; e.g. main)")
    p.add_argument("--big", type=int, default=20000, help="lessons for section 7's big no-op (0: skip; default 20000)")
    p.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    p.add_argument("--src", metavar="DIR", help="import `companion` from DIR/companion instead of this checkout "
                   "(to time an older version with the same benchmark; not for --suite, which tests the checkout)")
    args = p.parse_args()
    sections = set(args.only) - (set() if args.suite else {"6"})
    env = machine()
    log(f"machine: {env['nproc']} cores, {env['cpu']}, Python {env['python']}, load {env['load_start']}")
    if args.src:
        os.environ["PYTHONPATH"] = str(Path(args.src).resolve())  # builds and kernels import it from there
        env["src"] = os.environ["PYTHONPATH"]
    with tempfile.TemporaryDirectory(prefix="companion-bench-") as tmp:
        os.chdir(tmp)  # commands run outside the checkout, so nothing finds ./companion by accident
        b = Bench(args, Path(tmp))
        steps = [("0", b.correctness), ("1", b.full_build), ("2", b.papermill), ("3", b.noop), ("4", b.scaling),
                 ("5", b.lesson_run), ("6", b.suite), ("7", b.before_after)]
        if sections & {"2", "3", "4"}:
            sections.add("1")  # their ratios use the full build and its baselines
        for key, step in steps:
            if key in sections:
                step()
        env["load_end"] = os.getloadavg()
        b.report.raw["machine"] = env
        print(f"\nMachine: {env['nproc']} cores ({env['cpu']}), Python {env['python']}, "
              + ", ".join(f"{k} {v}" for k, v in env["packages"].items())
              + f"; load average {env['load_start'][0]:.2f} at start, {env['load_end'][0]:.2f} at end"
              + (f"; git {env['git']}" if env["git"] else "") + (f"; companion from {env['src']}" if args.src else ""))
        print(f"Each timing: median of {args.repeat} runs (min–max); "
              "other work on the machine makes single runs noisy.\n")
        print(b.report.table())
        if args.json:
            Path(args.json).write_text(json.dumps(b.report.raw, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
