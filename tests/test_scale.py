"""Scale: 10,000 videos in 1,000 lessons validate and build, and CPU time and peak memory grow
with the catalog, not faster.

Each command runs in its own process (peak RSS from getrusage is per process), at three sizes:
one lesson (the baseline: interpreter, imports), a tenth (100 lessons, 1,000 videos) and the
full catalog (1,000 lessons, 10,000 videos). Growth above the baseline must stay within ~10x
(a linear build) with some slack; a quadratic one would be ~100x.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from helpers import PYTHON, subprocess_env, synthetic_catalog, write_json

from companion.course.layout import TOP

# Peak RSS: VmHWM, the high-water mark of this process's own memory (getrusage's ru_maxrss
# starts at the parent's size on Linux: it survives exec, so it would measure pytest).
MEASURE = r"""
import json, resource, sys, time
start = time.process_time()
from companion.cli import main
code = main(sys.argv[2:])
seconds = time.process_time() - start  # CPU time: what other processes on a shared machine don't inflate
try:
    with open("/proc/self/status") as f:
        peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1 << 20)
with open(sys.argv[1], "w") as f:
    json.dump({"code": code, "seconds": seconds, "peak_mb": peak}, f)
"""
SIZES = {"one": 1, "tenth": 100, "full": 1000}
VIDEOS_PER_LESSON = 10
SLACK = 1.5  # x the linear 10x, for allocator noise
MEMORY_FLOOR_MB = 16  # growth below this is noise


def measure(tmp_path, name: str, *argv) -> dict:
    result = tmp_path / f"{name}.json"
    done = subprocess.run([PYTHON, "-c", MEASURE, str(result), *map(str, argv)], env=subprocess_env(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = json.loads(result.read_text())
    assert out["code"] == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scale")
    got: dict[str, dict] = {}
    for size, lessons in SIZES.items():
        catalog = write_json(tmp / f"{size}.json", synthetic_catalog(lessons, VIDEOS_PER_LESSON, courses=max(1, lessons // 500)))
        out = tmp / f"out-{size}"
        got[f"validate-{size}"] = measure(tmp, f"validate-{size}", "validate", "--catalog", catalog)
        got[f"build-{size}"] = measure(tmp, f"build-{size}", "build", "--catalog", catalog, "--out", out)
        got[f"rebuild-{size}"] = measure(tmp, f"rebuild-{size}", "build", "--catalog", catalog, "--out", out)
        got[f"files-{size}"] = sum(1 for _ in out.rglob("*.ipynb"))
    report = "\n".join(f"  {k:<16} {v['seconds']:6.2f} s  {v['peak_mb']:7.1f} MB" for k, v in got.items()
                       if isinstance(v, dict))
    print(f"\nscale (videos per lesson {VIDEOS_PER_LESSON}):\n{report}")
    return got


def test_ten_thousand_videos_validate_and_build(runs):
    assert runs["files-full"] == len(TOP) + 2 + SIZES["full"]  # the top notebooks, two course indexes, the lessons
    assert runs["files-tenth"] == len(TOP) + 1 + SIZES["tenth"]


@pytest.mark.parametrize("command", ["validate", "build", "rebuild"])
def test_peak_memory_grows_no_faster_than_the_catalog(runs, command):
    base = runs[f"{command}-one"]["peak_mb"]
    tenth = runs[f"{command}-tenth"]["peak_mb"] - base
    full = runs[f"{command}-full"]["peak_mb"] - base
    assert full <= 10 * SLACK * max(tenth, 0) + MEMORY_FLOOR_MB, \
        f"{command}: +{full:.0f} MB at full size vs +{tenth:.0f} MB at a tenth (baseline {base:.0f} MB)"


@pytest.mark.parametrize("command", ["validate", "build", "rebuild"])
def test_cpu_time_grows_no_faster_than_the_catalog(runs, command):
    base = runs[f"{command}-one"]["seconds"]
    tenth = runs[f"{command}-tenth"]["seconds"] - base
    full = runs[f"{command}-full"]["seconds"] - base
    assert full <= 10 * 2 * max(tenth, 0.05) + 2, f"{command}: +{full:.1f} CPU s at full size vs +{tenth:.2f} at a tenth"
    assert runs[f"{command}-full"]["seconds"] < 60
