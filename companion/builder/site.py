"""`companion site`: the built notebooks as a JupyterLite site, where every lesson runs in the browser.

Nothing is fetched from a CDN, at build or at run time: Pyodide's runtime comes from npm
(`npm pack pyodide@PYODIDE`), the pure-Python wheels its kernel needs from PyPI (pip), and the
companion's wheel with its kernel-side dependencies goes into Pyodide's own lock, so the kernel
loads them at start (`loadPyodideOptions.packages`): the committed notebooks run unchanged, with no
`%pip install` cell. Pyodide checks every file against the lock's sha256; PyPI's builds of the
same versions differ from Pyodide's, so the lock gets the hashes of the files supplied here.
Downloads are cached (`cache_dir`); a build is `jupyter lite build` into a clean folder (an
incremental one once dropped `pyodideUrl`, and the kernel then reached for the CDN).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from companion import settings
from companion.errors import BuildError, UsageError

PYODIDE = "314.0.6"  # what jupyterlite-pyodide-kernel 0.8.6 is built for (its PYODIDE_VERSION)
PYTHON = "3.14"  # Pyodide 314's Python
# Lock packages the kernel itself loads at start, at the lock's versions.
KERNEL = ["micropip", "packaging", "ipython", "asttokens", "decorator", "executing", "matplotlib-inline",
          "prompt-toolkit", "pure-eval", "pygments", "six", "stack-data", "wcwidth", "traitlets",
          "typing-extensions", "jedi", "parso", "attrs"]
# What the companion's kernel code imports beyond the lock, pinned as one set: name → (version, lock
# depends, import names). jsonschema 4.17 (attrs + pyrsistent) stands in for the lock's 4.26, whose
# rpds-py is a compiled wheel only Pyodide's CDN has; nbformat needs it (the review and answers
# notebooks read lesson notebooks, and updates merge with the build's merge).
ADDED: dict[str, tuple[str, list[str], list[str]]] = {
    "comm": ("0.2.3", [], ["comm"]),
    "ipywidgets": ("8.1.9", ["comm", "ipython", "traitlets"], ["ipywidgets"]),
    "psygnal": ("0.16.1", [], ["psygnal"]),
    "anywidget": ("0.11.0", ["ipywidgets", "psygnal", "typing-extensions"], ["anywidget"]),
    "fsrs": ("6.3.2", ["typing-extensions"], ["fsrs"]),
    "mdurl": ("0.1.2", [], ["mdurl"]),
    "markdown-it-py": ("4.3.0", ["mdurl"], ["markdown_it"]),
    "pyrsistent": ("0.20.0", [], ["pyrsistent"]),
    "jsonschema": ("4.17.3", ["attrs", "pyrsistent"], ["jsonschema"]),
    "fastjsonschema": ("2.22.3", [], ["fastjsonschema"]),
    "nbformat": ("5.11.1", ["fastjsonschema", "jsonschema", "traitlets"], ["nbformat"]),
}
# The kernel's own wheels, which jupyterlite-pyodide-kernel ships for piplite: in the lock too, so
# the kernel loads them with the rest instead of resolving them with micropip at every start.
SHIPPED: dict[str, tuple[list[str], list[str]]] = {
    "piplite": (["micropip"], ["piplite"]),
    "pyodide-kernel": (["comm", "ipython"], ["pyodide_kernel"]),
    "ipykernel": (["pyodide-kernel"], ["ipykernel"]),
}
COMPANION = "course-companion"
# Where the kernel keeps progress: under /drive, which JupyterLite keeps in the browser (IndexedDB).
PROGRESS = "/drive/.companion/progress.sqlite"


def cache_dir() -> Path:
    """Downloads kept between builds: $COMPANION_CACHE, else the user's cache folder."""
    return settings.site_cache() / f"site-pyodide-{PYODIDE}"


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BuildError(f"site: `{cmd[0]}` is not installed; it is needed to build the site") from None
    if done.returncode:
        raise BuildError(f"site: `{' '.join(cmd)}` failed:\n{(done.stderr or done.stdout).strip()[-2000:]}")
    return done.stdout


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pyodide_runtime(cache: Path) -> Path:
    """Pyodide's runtime (no packages) from npm, unpacked once into the cache."""
    runtime = cache / "pyodide"
    if (runtime / "pyodide-lock.json").is_file():
        return runtime
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        name = _run(["npm", "pack", f"pyodide@{PYODIDE}", "--silent"], cwd=Path(tmp)).strip().splitlines()[-1]
        with tarfile.open(Path(tmp) / name) as tar:
            tar.extractall(tmp, filter="data")
        (Path(tmp) / "package").rename(runtime)
    return runtime


def _download(cache: Path, pins: list[str]) -> Path:
    """Pure-Python wheels for Pyodide's Python, from PyPI, into the cache."""
    wheels = cache / "wheels"
    _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
          "--python-version", PYTHON, "--implementation", "py", "--abi", "none", "--platform", "any",
          "-d", str(wheels), *pins])
    return wheels


def _wheel(wheels: Path, name: str, version: str) -> Path:
    stem = name.replace("-", "_").lower()
    found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(f"{stem}-{version}-")]
    if not found:
        raise BuildError(f"site: no wheel of {name} {version} in {wheels}")
    return found[0]


def companion_wheel(into: Path) -> Path:
    """The companion's own wheel, built from the checkout it runs from (no dependencies: the lock
    names them)."""
    source = Path(__file__).resolve().parents[2]
    if not (source / "pyproject.toml").is_file():
        raise UsageError(f"site: the companion at {source} is not a checkout; the site needs its source to build "
                         "the kernel's wheel")
    with tempfile.TemporaryDirectory(prefix="companion-wheel-") as tmp:
        # from a copy: setuptools leaves build/ in the tree it builds, and packs modules left there
        for part in ("pyproject.toml", "README.md", "LICENSE", "companion", "jupyter-config"):
            if (source / part).is_dir():
                shutil.copytree(source / part, Path(tmp) / part, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source / part, Path(tmp) / part)
        _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(into), tmp])
    return next(into.glob("course_companion-*.whl"))


def pyodide_folder(dest: Path, cache: Path) -> list[str]:
    """`dest` (the lite dir's static/pyodide): the runtime, the wheels, and a lock whose hashes
    are those of these files. Returns the packages the kernel loads at start."""
    runtime = pyodide_runtime(cache)
    shutil.copytree(runtime, dest, ignore=shutil.ignore_patterns("*.map", "*.d.ts", "*.html", "README.md"))
    lock = json.loads((runtime / "pyodide-lock.json").read_text(encoding="utf-8"))
    packages = lock["packages"]
    pins = [f"{n}=={packages[n]['version']}" for n in KERNEL]
    pins += [f"{n}=={v}" for n, (v, _, _) in ADDED.items()]
    wheels = _download(cache, pins)
    for name in KERNEL:  # PyPI's build of the version the lock names: the same entry with its own file
        wheel = _wheel(wheels, name, packages[name]["version"])
        packages[name].update(file_name=wheel.name, sha256=_sha256(wheel))
        shutil.copy2(wheel, dest / wheel.name)
    shipped = _shipped()
    added = {name: (_wheel(wheels, name, version), imports, depends)
             for name, (version, depends, imports) in ADDED.items()}
    added |= {name: (shipped[name], imports, depends) for name, (depends, imports) in SHIPPED.items()}
    added[COMPANION] = (companion_wheel(dest), ["companion"], sorted(ADDED))
    for name, (wheel, imports, depends) in added.items():
        packages[name] = {"name": name, "version": wheel.name.split("-")[1], "file_name": wheel.name,
                          "install_dir": "site", "sha256": _sha256(wheel), "package_type": "package",
                          "imports": imports, "depends": depends, "unvendored_tests": False}
        if wheel.parent != dest:
            shutil.copy2(wheel, dest / wheel.name)
    (dest / "pyodide-lock.json").write_text(json.dumps(lock, separators=(",", ":")), encoding="utf-8")
    return ["micropip", *SHIPPED, "comm", "ipython", "jedi", COMPANION]


def _shipped() -> dict[str, Path]:
    """The wheels of `SHIPPED` in the installed kernel extension, by lock name."""
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("labextensions"):
        pypi = Path(folder) / "@jupyterlite" / "pyodide-kernel-extension" / "static" / "pypi"
        found = {w.name.split("-")[0].replace("_", "-"): w for w in pypi.glob("*.whl")}
        if all(name in found for name in SHIPPED):
            return found
    raise BuildError("site: jupyterlite-pyodide-kernel's wheels (piplite, pyodide-kernel, ipykernel) are not "
                     "installed; install the site extra")


# What the site's kernel reports (jupyterlite-pyodide-kernel 0.8.6), written into the site's copies:
# with the local kernel's names JupyterLab rewrites them on open and shows an untouched lesson as changed.
KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "python", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3", "version": "3.8"}
# The site's front page sends a visitor to start-here, not to an empty launcher: JupyterLite's own
# root page (its config is read from it by every app page, so it stays) with this before its script.
START = '<script>location.replace("lab/index.html?path=start-here.ipynb")</script>\n    '
FRONT_SCRIPT = '<script type="module">'


def for_the_browser(path: Path) -> None:
    """A notebook as the site serves it: the site's kernel named, and every text whole. JupyterLite
    reads a file as stored, and shows an output kept as a list of lines (as nbformat writes them)
    with a comma between the lines; the content is the build's, unchanged."""
    import nbformat

    nb = nbformat.read(path, as_version=4)  # joins the lines of every text
    nb.metadata["kernelspec"], nb.metadata["language_info"] = dict(KERNELSPEC), dict(LANGUAGE_INFO)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")  # a staging copy


def lite_config(packages: list[str]) -> dict[str, object]:
    """`jupyter-lite.json`: the kernel loads the companion at start, never looks on PyPI, and keeps
    progress under /drive; the app is reachable from the page (tests drive it)."""
    return {"jupyter-lite-schema-version": 0, "jupyter-config-data": {
        "appName": "Course companion",
        "exposeAppInBrowser": True,
        "litePluginSettings": {"@jupyterlite/pyodide-kernel-extension:kernel": {
            "disablePyPIFallback": True,
            "loadPyodideOptions": {"packages": packages, "env": {
                "COMPANION_PROGRESS": PROGRESS, "COMPANION_PROGRESS_WHOLE_FILE": "1", "COMPANION_SITE": "1"}},
        }},
    }}


def offline_worker(site: Path) -> str:
    """Make the built `site` work offline after one visit: its service-worker.js becomes ours, which
    runs `offline.js` (network first, the build's copy in Cache Storage when the network fails) and
    then JupyterLite's own worker (kept as service-worker-lite.js: the kernel's /drive needs it).
    The file list is named by a hash of the build, so a new build is a new worker that copies it
    again. Returns the list's name."""
    lite = site / "service-worker.js"
    if not lite.is_file():
        raise BuildError(f"site: `jupyter lite build` wrote no {lite}; the offline copy needs JupyterLite's worker")
    lite.rename(site / "service-worker-lite.js")
    shutil.copy2(Path(__file__).with_name("offline.js"), site / "offline.js")
    files = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    files = [f for f in files if f not in ("offline.js", "service-worker-lite.js")]
    digest = hashlib.sha256()
    for name in files:
        digest.update(f"{name}\0{_sha256(site / name)}\n".encode())
    manifest = f"offline-{digest.hexdigest()[:16]}.json"
    (site / manifest).write_text(json.dumps(files, separators=(",", ":")), encoding="utf-8")
    lite.write_text("// The site's service worker: the offline copy first, then JupyterLite's own worker.\n"
                    f"self.OFFLINE_MANIFEST = {json.dumps(manifest)};\n"
                    'importScripts("./offline.js", "./service-worker-lite.js");\n', encoding="utf-8")
    return manifest


def build_site(catalog: Path, out: Path) -> Path:
    """Build the site of the notebooks built from `catalog` (in `notebooks/` beside it) into `out`,
    which is replaced. The catalog goes beside them, where the kernel looks for it."""
    import importlib.util

    if importlib.util.find_spec("jupyterlite_core") is None:
        raise UsageError("site: needs the site extra (pip install 'course-companion[site]'); nothing was written")
    catalog = catalog.resolve()
    notebooks = catalog.parent / "notebooks"
    if not notebooks.is_dir() or not catalog.is_file():
        raise UsageError(f"site: no {catalog} or no notebooks/ beside it; run `companion build` first")
    out = out.resolve()
    with tempfile.TemporaryDirectory(prefix="companion-site-") as tmp:
        lite, contents = Path(tmp) / "lite", Path(tmp) / "contents"
        shutil.copytree(notebooks, contents, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "removed",
                                                                            "kept-aside"))
        shutil.copy2(catalog, contents / "catalog.json")
        for notebook in contents.rglob("*.ipynb"):
            for_the_browser(notebook)
        packages = pyodide_folder(lite / "static" / "pyodide", cache_dir())
        (lite / "jupyter-lite.json").write_text(json.dumps(lite_config(packages), indent=1), encoding="utf-8")
        staging = Path(tmp) / "site"
        _run([str(Path(sys.executable).with_name("jupyter")), "lite", "build", "--lite-dir", str(lite),
              "--contents", str(contents), "--output-dir", str(staging), "--no-sourcemaps"], cwd=lite)
        front = staging / "index.html"
        page = front.read_text(encoding="utf-8")
        if FRONT_SCRIPT not in page:
            raise BuildError(f"site: {front} is not the page this version of jupyterlite-core writes")
        front.write_text(page.replace(FRONT_SCRIPT, START + FRONT_SCRIPT, 1), encoding="utf-8")
        offline_worker(staging)  # last: its file list and hash are of the finished site
        if out.exists():
            shutil.rmtree(out)
        shutil.move(staging, out)
    return out


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the types browsers insist on for modules and WebAssembly, never cached
    by the browser (a new build must show at once)."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
                      ".json": "application/json"}

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(site: Path, port: int = 0) -> Iterator[str]:
    """Serve `site` on 127.0.0.1 in a thread; yields its URL."""
    import threading

    handler = functools.partial(_Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
