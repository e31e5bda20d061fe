"""End to end: generated lesson notebooks in a real JupyterLab, driven by Playwright in Debian's chromium.

One JupyterLab (and one browser) serves the whole module. Everything it touches is a copy in a
pytest temp folder: the catalog, the notebooks the real `companion build` writes from it, the
Jupyter config/data/runtime dirs (so the build's trust signatures are the ones the server checks)
and the progress store. Screenshots go to `test-output/browser/` (git-ignored) for a person to see.

JupyterLab is loaded once (`/lab?reset`); each test opens its own lesson in it as a learner would
(docmanager:open, what the file browser and /lab/tree/PATH do), so no test depends on another's
order, kernel, ticks or edits; afterwards its tabs are closed unsaved and its kernels shut down.
The page only reaches the lab: YouTube embed requests get a local stub page (recorded, so the test
sees what each player asked for), YouTube's IFrame API script a stand-in (STUB_API) that the live
players drive, everything else is refused. Every wait is bounded by TIMEOUT_MS;
no sleep stands in for something Playwright can wait for.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from companion.course.catalog import Catalog, load
from companion.learner.store import ProgressStore
from companion.learner.tally import lesson_items

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = REPO / "test-output" / "browser"
TIMEOUT_MS = 60_000  # generous for a shared 2-core machine, but every wait ends
IFRAME = '.jp-OutputArea-output iframe[src*="youtube.com/embed/"]'
CHECKBOX = '.jp-OutputArea-output .jupyter-widgets input[type="checkbox"]'
NOTEBOOK_READY = """name => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    return !!(w && w.context && w.context.path === name && w.context.isReady && w.content.widgets.length);
}"""

# YouTube's IFrame Player API, as the page gets it: a stand-in whose players a test can drive
# (tests/test_player_browser.py): `_play(rate)`, `seekTo`, `pauseVideo`, `_end()`, and read.
STUB_DURATION = 600  # seconds: every stub video is ten minutes long
STUB_API = """(() => {
  const stub = window.__ytStub = window.__ytStub || {players: [], loads: 0};
  stub.loads += 1;
  class Player {
    constructor(el, opts) {
      this.iframe = typeof el === "string" ? document.getElementById(el) : el;
      const src = new URL(this.iframe.src);
      this.src = src.toString();
      this.videoId = src.pathname.split("/").pop();
      this.events = opts.events || {};
      this.t = Number(src.searchParams.get("start") || 0);
      this.duration = %(duration)d;
      this.state = -1; this.rate = 1; this.seeks = []; this.timer = null;
      stub.players.push(this);
      setTimeout(() => this.events.onReady && this.events.onReady({target: this}), 0);
    }
    fire(state) {
      this.state = state;
      if (this.events.onStateChange) this.events.onStateChange({target: this, data: state});
    }
    advance() {
      const now = performance.now();
      this.t = Math.min(this.duration, this.t + (now - this.last) / 1000 * this.rate);
      this.last = now;
      if (this.t >= this.duration) { this.halt(); this.fire(0); }
    }
    halt() { clearInterval(this.timer); this.timer = null; }
    getCurrentTime() { if (this.timer) this.advance(); return this.t; }
    getDuration() { return this.duration; }
    getPlayerState() { return this.state; }
    getPlaybackRate() { return this.rate; }
    getVideoData() { return {video_id: this.videoId}; }
    getIframe() { return this.iframe; }
    playVideo() {
      if (this.state === 1) return;
      this.last = performance.now();
      this.timer = setInterval(() => this.advance(), 50);
      this.fire(1);
    }
    pauseVideo() { if (this.state !== 1) return; this.advance(); this.halt(); this.fire(2); }
    seekTo(t) {
      this.seeks.push(t);
      if (this.state === 1) { this.advance(); this.t = t; this.last = performance.now(); this.fire(3); this.fire(1); }
      else { this.t = t; }
    }
    // the test's controls, what a learner does inside YouTube's own player
    _play(rate) { this.rate = rate; this.playVideo(); }
    _end() { this.halt(); this.t = this.duration; this.fire(0); }
  }
  window.YT = {Player, PlayerState: {ENDED: 0, PLAYING: 1, PAUSED: 2, BUFFERING: 3, CUED: 5}};
  if (typeof window.onYouTubeIframeAPIReady === "function") window.onYouTubeIframeAPIReady();
})();
""" % {"duration": STUB_DURATION}  # noqa: UP031 - braces in the JavaScript make %-formatting the readable one


# One lesson per test.
MANY_VIDEOS = ("math-for-ml", 13)  # eight videos
PLAYLIST = ("llms-asap", "prelude")  # its video plays inside a playlist (list=...)
CHECKLIST = ("deep-learning-3blue1brown", 1)
SVD_LESSON = ("ml-foundations", 8)  # Strang's lecture 29, which the source names by title only
NO_LINK = ("math-for-ml", 19)  # two Welch Labs videos the source names without a link
ANSWERS = ("intuition-3blue1brown", 1)


# --- the build, the server, the browser ---------------------------------------------------------------------------

@dataclass
class Lab:
    url: str
    token: str
    notebooks: Path  # the server's root: what `companion build` wrote
    catalog: Catalog  # the copy the build and the kernels read
    progress: Path  # the SQLite store the kernels write
    env: dict[str, str] = field(default_factory=dict)  # what the build and the server ran with (a rebuild uses it too)
    page: Any = None  # one JupyterLab page for the module: loading JupyterLab costs ~7 s, opening a notebook ~2 s
    players: list[tuple[str, str]] = field(default_factory=list)  # (URL, Referer) of each player the page loaded
    python: str = sys.executable  # the environment whose companion builds and whose JupyterLab serves
    log: Path | None = None  # the server's log

    def companion(self, *args: str) -> str:
        """Run the real `companion` CLI on this lab's catalog, store and trust database; its output."""
        done = subprocess.run([self.python, "-m", "companion", *args], env=self.env, cwd=self.notebooks.parent,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"companion {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def build(self) -> None:
        self.companion("build", "--catalog", self.env["COMPANION_CATALOG"], "--out", str(self.notebooks), "--text")

    def api(self, method: str, path: str) -> Any:
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def notebook(self, course: str, lesson_key: int | str) -> Path:
        """The built notebook of a lesson, found by the metadata the build writes (not by file name)."""
        lesson_id = self.catalog.course(course).lesson(lesson_key).id
        found = [p for p in (self.notebooks / course).glob("*.ipynb")
                 if json.loads(p.read_text(encoding="utf-8"))["metadata"]["companion"].get("lesson_id") == lesson_id]
        assert len(found) == 1, f"expected one notebook for {course}/{lesson_id}, found {found}"
        return found[0]

    def load(self) -> None:
        """(Re)load JupyterLab in the page, with no tabs restored from an earlier visit."""
        self.page.goto(f"{self.url}/lab?reset&token={self.token}")
        self.page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)")
        self.page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")

    def open(self, course: str, lesson_key: int | str) -> Path:
        """Open the lesson's notebook as a learner does (File Browser → open); nothing is run."""
        path = self.notebook(course, lesson_key)
        rel = path.relative_to(self.notebooks).as_posix()
        self.page.evaluate("async path => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", rel)
        self.page.wait_for_function(NOTEBOOK_READY, arg=rel)
        return path

    def close_all(self) -> None:
        """Close every tab without saving, shut every kernel down, forget the players seen."""
        self.players.clear()
        try:
            if self.page.locator(".jp-Dialog").count():
                raise RuntimeError("a test left a dialog up")
            self.page.evaluate("() => { for (const w of Array.from(window.jupyterapp.shell.widgets('main')))"
                               " w.dispose(); }")
        except Exception:  # whatever state a failed test left the page in: start the next one from a fresh load
            self.load()
        # a kernel still starting when the tab closed may get its session after the list was read:
        # end sessions, then any kernel left, until none is left (bounded)
        deadline = time.monotonic() + 30
        while (sessions := self.api("GET", "/api/sessions")) or (kernels := self.api("GET", "/api/kernels")):
            assert time.monotonic() < deadline, "kernels still running after their sessions were deleted"
            for path in ([f"/api/sessions/{s['id']}" for s in sessions] if sessions
                         else [f"/api/kernels/{k['id']}" for k in kernels]):
                try:
                    self.api("DELETE", path)
                except urllib.error.HTTPError as e:
                    if e.code != 404:  # ended meanwhile
                        raise
            time.sleep(0.2)

    def _player(self, route: Any) -> None:
        url = route.request.url
        self.players.append((url, route.request.all_headers().get("referer", "")))
        route.fulfill(status=200, content_type="text/html", body=(
            '<body style="margin:0;height:100vh;display:flex;align-items:center;justify-content:center;'
            'background:#202020;color:#eee;font:18px sans-serif;text-align:center">'
            f'<p>YouTube player stub (browser test)<br><code>{html.escape(url)}</code></p></body>'))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


def _wait_for_server(proc: subprocess.Popen, runtime: Path, token: str, log: Path) -> str:
    """The server's URL once it answers. Read from its runtime file, so a port taken meanwhile
    (the server then tries another) cannot send the test to the wrong place."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{_log_tail(log)}")
        info = runtime / f"jpserver-{proc.pid}.json"
        try:
            url = json.loads(info.read_text())["url"].rstrip("/")
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                return url
        except (ValueError, KeyError, OSError):
            time.sleep(0.2)  # another process: nothing to wait_for but its file and its port
    pytest.fail(f"jupyter lab did not answer within {TIMEOUT_MS // 1000} s:\n{_log_tail(log)}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()  # the server shuts its kernels down on SIGTERM
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # its own process group: the server and any kernel left behind
        proc.wait(timeout=10)


@contextlib.contextmanager
def serve_lab(tmp: Path, python: str = sys.executable, *, this_checkout: bool = True) -> Iterator[Lab]:
    """Build the notebooks from a copy of the catalog with `python`'s companion, serve them with that
    environment's plain JupyterLab (no option naming the companion), load it in chromium.
    `this_checkout`: the build and the kernels import the companion of this checkout (PYTHONPATH);
    otherwise the one installed in `python`'s environment."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium) for browser tests")
    from playwright.sync_api import sync_playwright

    catalog_path = tmp / "catalog.json"
    shutil.copy(REPO / "catalog.json", catalog_path)
    notebooks = tmp / "notebooks"
    progress = tmp / "progress.sqlite"
    token = os.urandom(16).hex()
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),
           "JUPYTER_DATA_DIR": str(tmp / "jupyter-data"),
           "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter-runtime"),
           "IPYTHONDIR": str(tmp / "ipython"),
           "COMPANION_PROGRESS": str(progress),
           "COMPANION_CATALOG": str(catalog_path)}
    if this_checkout:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    else:
        env.pop("PYTHONPATH", None)
    # No "get notified about Jupyter news?" toast over the screenshots.
    settings = Path(env["JUPYTER_CONFIG_DIR"]) / "lab/user-settings/@jupyterlab/apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')

    Lab("", token, notebooks, load(catalog_path), progress, env=env, python=python).build()
    assert (Path(env["JUPYTER_DATA_DIR"]) / "nbsignatures.db").is_file(), "the build trusted nothing"

    log = tmp / "jupyter-lab.log"
    cmd = [python, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={_free_port()}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # as root it exits at once without it
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(cmd, env=env, cwd=tmp, stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        lab = Lab(_wait_for_server(proc, Path(env["JUPYTER_RUNTIME_DIR"]), token, log), token, notebooks,
                  load(catalog_path), progress, env=env, python=python, log=log)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.set_default_timeout(TIMEOUT_MS)
                # Routes match last-registered first: embeds get the stub, anything else off this machine fails.
                context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/])[a-z-]+://"), lambda route: route.abort())
                context.route(re.compile(r"^https://www\.youtube(-nocookie)?\.com/embed/"), lab._player)
                context.route("https://www.youtube.com/iframe_api", lambda route: route.fulfill(
                    status=200, content_type="text/javascript", body=STUB_API))
                lab.page = context.new_page()
                lab.load()
                yield lab
            finally:
                browser.close()
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One JupyterLab of this environment on notebooks built from this checkout, for a test module."""
    with serve_lab(tmp_path_factory.mktemp("browser")) as lab:
        yield lab


@pytest.fixture
def lab(server: Lab) -> Iterator[Lab]:
    """The module's lab, left with no tab open and no kernel running after each test."""
    try:
        yield server
    finally:
        server.close_all()


# --- helpers ------------------------------------------------------------------------------------------------------

def expected_embeds(catalog: Catalog, course: str, lesson_key: int | str) -> list[tuple[str, dict]]:
    """(embed URL without query, query) of each player the lesson should show, from the catalog alone."""
    lesson = catalog.course(course).lesson(lesson_key)
    out = []
    for a in lesson.videos:
        v = catalog.videos[a.id]
        if not v.youtube:
            continue
        query = {}
        if a.playlist:
            query["list"] = [a.playlist]
        if a.start or v.start:
            query["start"] = [str(a.start or v.start)]
        if a.end or v.end:
            query["end"] = [str(a.end or v.end)]
        out.append((f"https://www.youtube.com/embed/{v.youtube}", query))
    for a in lesson.resources:
        r = catalog.resources[a.id]
        if r.playlist:
            out.append(("https://www.youtube.com/embed/videoseries", {"list": [r.playlist]}))
    return out


def split_src(src: str) -> tuple[str, dict]:
    parts = urlsplit(src)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


def expect(*args: Any, **kwargs: Any) -> Any:
    """Playwright's expect, with TIMEOUT_MS instead of its 5 s default (the context's timeout is not its)."""
    from playwright.sync_api import expect as _expect

    _expect.set_options(timeout=TIMEOUT_MS)
    return _expect(*args, **kwargs)


def run_all(page: Any) -> None:
    """Run All once the kernel is really there (the execution indicator reads idle before it is)."""
    page.evaluate("""async () => {
        const w = window.jupyterapp.shell.currentWidget;
        await w.context.ready;
        await w.sessionContext.ready;
        await window.jupyterapp.commands.execute('notebook:run-all-cells');
    }""")
    expect(page.locator("#jp-main-statusbar")).to_contain_text(re.compile(r"\| Idle"))


def tick(box: Any) -> None:
    """What Playwright's check() does, for a checklist box that shows ☑ only once the kernel has
    saved the tick (check() wants it at once): click it unless it is ticked, then wait for ☑."""
    if not box.is_checked():
        box.click()
    expect(box).to_be_checked()


def execution_counts(page: Any) -> list[int | None]:
    return page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets
        .filter(c => c.model.type === 'code').map(c => c.model.executionCount)""")


def scroll_to_cell(page: Any, cell_id: str) -> Any:
    """The cell's DOM node, scrolled into view; found through the model's (stable) cell id."""
    index = page.evaluate("""async id => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        const i = nb.widgets.findIndex(c => c.model.id === id);
        if (i >= 0) { await nb.scrollToItem(i, 'start'); }
        return i;
    }""", cell_id)
    assert index >= 0, f"no cell with id {cell_id} in the open notebook"
    cell = page.locator(f'.jp-Notebook .jp-Cell[data-windowed-list-index="{index}"]')
    cell.scroll_into_view_if_needed()
    return cell


def screenshot(page: Any, name: str, folder: Path = SCREENSHOTS) -> Path:
    page.evaluate("window.jupyterapp.shell.collapseLeft()")  # the notebook, not the file browser
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000, f"{path} is suspiciously small"
    return path


# --- the tests ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("course, lesson_key", [MANY_VIDEOS, PLAYLIST, SVD_LESSON],
                         ids=["many-videos", "playlist", "svd-lesson"])
def test_saved_players_show_on_open_without_running(lab: Lab, course: str, lesson_key: int | str):
    expected = expected_embeds(lab.catalog, course, lesson_key)
    assert not lab.catalog.privacy_enhanced, "this test expects www.youtube.com embeds"
    if (course, lesson_key) == MANY_VIDEOS:
        assert len(expected) >= 3, "pick a lesson with several videos"
    elif (course, lesson_key) == PLAYLIST:
        assert any("list" in q for _, q in expected), "pick a lesson whose video plays inside a playlist"
    else:
        assert [src for src, _ in expected] == ["https://www.youtube.com/embed/TX_vooSnhm8"], "Strang's lecture 29"

    page, path = lab.page, lab.open(course, lesson_key)
    frames = page.locator(IFRAME)
    expect(frames).to_have_count(len(expected))
    srcs = frames.evaluate_all("els => els.map(e => e.getAttribute('src'))")
    assert [split_src(s) for s in srcs] == expected

    # Nothing ran: the code cells show the counts the build saved, and no checklist exists.
    saved = [c.get("execution_count") for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
             if c["cell_type"] == "code"]
    assert execution_counts(page) == saved
    assert page.locator(".jp-OutputArea-output .jupyter-widgets").count() == 0

    # The first player is on screen at the build's size, and the browser loaded it with a referrer
    # (YouTube refuses embeds that send none).
    first = frames.first
    first.scroll_into_view_if_needed()
    expect(first).to_be_visible()
    box = first.bounding_box()
    assert box and box["width"] >= 600 and box["height"] >= 300, f"player box {box}"
    expect(page.frame_locator(IFRAME).first.locator("body")).to_contain_text(srcs[0])
    referers = [ref for url, ref in lab.players if url == srcs[0]]
    assert referers and all(ref.startswith(lab.url) for ref in referers), lab.players
    screenshot(page, f"{course}-{lesson_key}-on-open.png")


def test_a_video_the_source_names_without_a_link_says_so_and_links_a_search(lab: Lab):
    course, lesson_key = NO_LINK
    lesson = lab.catalog.course(course).lesson(lesson_key)
    linkless = [a.id for a in lesson.videos if not lab.catalog.videos[a.id].youtube]
    assert linkless, "pick a lesson with a video the source names without a link"
    page = lab.page
    lab.open(course, lesson_key)
    lines = page.locator(".jp-MarkdownOutput", has_text="gives no link to it")
    expect(lines).to_have_count(len(linkless))
    line = lines.first
    line.scroll_into_view_if_needed()
    expect(line).to_contain_text("The source list names this video but gives no link to it, so it can't play here")
    href = line.locator("a", has_text="search for it on YouTube").get_attribute("href")
    assert href == lab.catalog.videos[linkless[0]].url
    screenshot(page, f"{course}-{lesson_key}-no-link.png")


def test_checklist_ticks_survive_a_kernel_restart(lab: Lab):
    course, lesson_key = CHECKLIST
    lesson = lab.catalog.course(course).lesson(lesson_key)
    key = (course, lesson.id, lesson.videos[0].id)
    n_items = len(lesson_items(lab.catalog, lesson))  # videos, resources, "reflections written", self-checks
    store = ProgressStore(lab.progress)
    try:
        assert store.ticks(course, lesson.id) == {}, "the store must start without ticks for this lesson"

        page = lab.page
        lab.open(course, lesson_key)
        run_all(page)
        boxes = page.locator(CHECKBOX)
        expect(boxes).to_have_count(n_items)
        for i in range(n_items):
            expect(boxes.nth(i)).not_to_be_checked()

        boxes.first.scroll_into_view_if_needed()
        tick(boxes.first)
        # The kernel took the click: the checklist's own summary counts it, and the store has it.
        expect(page.locator(".jp-OutputArea-output .jupyter-widgets")
               .get_by_text(re.compile(rf"^1 of {n_items} items done in this lesson"))).to_be_visible()
        assert store.ticks(course, lesson.id) == {key: True}

        # A new kernel runs the notebook again: the checklist it builds shows the tick from the store.
        page.evaluate("""async () => {
            const w = window.jupyterapp.shell.currentWidget;
            await w.sessionContext.restartKernel();
            await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
        }""")
        expect(boxes).to_have_count(0)
        run_all(page)
        counts = [c for c in execution_counts(page) if c is not None]
        assert counts == list(range(1, len(counts) + 1)), f"not a fresh kernel: execution counts {counts}"
        expect(boxes).to_have_count(n_items)
        expect(boxes.first).to_be_checked()
        for i in range(1, n_items):
            expect(boxes.nth(i)).not_to_be_checked()
        assert store.ticks(course, lesson.id) == {key: True}
    finally:
        store.close()

    # What a learner sees after Run All: the player, then the checklist.
    frame = page.locator(IFRAME).first
    frame.evaluate("e => e.scrollIntoView({block: 'center'})")
    expect(frame).to_be_in_viewport(ratio=1)
    expect(page.frame_locator(IFRAME).first.locator("body")).to_contain_text("YouTube player stub")
    screenshot(page, f"{course}-{lesson_key}-player-after-run.png")
    scroll_to_cell(page, "checklist")
    expect(boxes.last).to_be_in_viewport()
    screenshot(page, f"{course}-{lesson_key}-checklist-after-restart.png")


def test_answer_cell_is_edited_and_saved_to_disk(lab: Lab):
    course, lesson_key = ANSWERS
    path = lab.notebook(course, lesson_key)
    answers = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
               if c["cell_type"] == "markdown" and c["metadata"].get("tags") == ["answer"]]
    assert answers and all(c["id"].startswith("answer-") for c in answers)
    answer_id = answers[0]["id"]
    assert "".join(answers[0]["source"]) == "", "a fresh build leaves answer cells empty"
    text = f"My answer, typed in the browser {os.urandom(4).hex()}"

    page = lab.page
    lab.open(course, lesson_key)
    cell = scroll_to_cell(page, answer_id)
    cell.dblclick()  # an empty rendered markdown cell opens its editor on double-click
    editor = cell.locator(".cm-content")
    expect(editor).to_be_focused()
    page.keyboard.type(text)
    expect(editor).to_contain_text(text)
    page.keyboard.press("Control+s")
    saved: dict = {}
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:  # read the file until the saved bytes hold the answer
        saved = {c["id"]: c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]}
        if text in "".join(saved[answer_id]["source"]):
            break
        # the kernel connecting may mark the notebook changed again (language_info) right as it
        # saves: save once more through the command rather than trusting one key press
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")
        time.sleep(0.5)
    assert "".join(saved[answer_id]["source"]) == text
    assert saved[answer_id]["metadata"].get("tags") == ["answer"], "saving must keep the answer tag"
    elsewhere = [i for i, c in saved.items() if i != answer_id and text in "".join(c["source"])]
    assert not elsewhere, f"the text also landed in {elsewhere}"
