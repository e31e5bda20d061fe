"""The inline player: one object that a kernel displays and a build saves as the cell's output.

Both sides render through `Embed`, so the output a build writes is byte-for-byte what the
kernel shows (strict nbval compares them). No IPython import here: the build stays light, and
there is no `_repr_jpeg_`, so displaying a video never downloads a thumbnail.

A saved player says why it is not playing, one cause at a time, without the kernel. JupyterLab
strips the iframe and every script from the HTML of a notebook it does not trust, so the line
under the player reads UNTRUSTED as saved (its offline line stays hidden by its style: the sanitizer drops a
`hidden` attribute, measured, but keeps `display`); in a trusted notebook the saved script (`PROBE`, the
same in every output: it reads the address from the iframe) swaps it for NOT_RUN (or drops it
under a whole playlist, which has no notes to offer) and asks the
embed's own address for its headers: no answer puts OFFLINE, a "Try again" and the YouTube link in
the player's place, where chromium would show a grey box with a broken-page icon.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from companion.course.catalog import Assignment, Catalog

HOSTS = {False: "https://www.youtube.com", True: "https://www.youtube-nocookie.com"}
ALLOW = "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share"
RUN = "Run ▸ Run All Cells"
UNTRUSTED = (f"No player here: Jupyter hides the saved players of a notebook it does not trust. Run the lesson ({RUN}) "
             "and the player comes up.")
NOT_RUN = f"Notes at a moment and “Resume” come up when you run the lesson ({RUN})."
OFFLINE = "YouTube can't be reached from this computer (offline, or blocked on this network), so the player can't load."
PROBE_TIMEOUT_MS = 15000  # a blocked address may neither answer nor fail
# Runs only where the output is trusted; reads nothing but its own output's elements.
PROBE = ("(function (me) {"
         " var box = me.parentElement, frame = box.querySelector('iframe'), why = box.querySelector('.cc-why'),"
         " off = box.querySelector('.cc-offline'), src = frame.getAttribute('src');"
         # a whole playlist has no notes or resume: nothing for running to add
         " if (src.indexOf('/embed/videoseries') >= 0) why.remove();"
         f" else why.textContent = {json.dumps(NOT_RUN, ensure_ascii=False)};"
         " var retry = off.querySelector('button');"
         " function probe(again) {"
         "  var stop = new AbortController(), timer = setTimeout(function () { stop.abort(); }, "
         f"{PROBE_TIMEOUT_MS});"
         "  retry.disabled = true;"
         "  fetch(src, {method: 'HEAD', mode: 'no-cors', cache: 'no-store', credentials: 'omit', signal: stop.signal})"
         "   .then(function () { off.style.display = 'none'; frame.hidden = false; if (again) frame.src = src; },"
         "         function () { off.style.display = ''; frame.hidden = true; })"
         "   .then(function () { clearTimeout(timer); retry.disabled = false; });"
         " }"
         " retry.addEventListener('click', function () { probe(true); });"
         " probe(false);"
         "})(document.currentScript);")


@dataclass(frozen=True)
class Embed:
    """A YouTube video (optionally inside a playlist, from a start time) or a whole playlist."""

    title: str
    video: str = ""
    playlist: str = ""
    start: int | None = None
    end: int | None = None
    privacy_enhanced: bool = False
    width: int = 640
    height: int = 360

    @property
    def src(self) -> str:
        """The iframe's address: the video (`videoseries` for a bare playlist) on the chosen host, with list,
        start and end."""
        params: dict[str, str | int] = {}
        if self.playlist:
            params["list"] = self.playlist
        if self.start:
            params["start"] = self.start
        if self.end:
            params["end"] = self.end
        path = self.video or "videoseries"
        query = f"?{urlencode(params)}" if params else ""
        return f"{HOSTS[self.privacy_enhanced]}/embed/{path}{query}"

    @property
    def watch_url(self) -> str:
        """The youtube.com page of the same video or playlist, from `start`: the link printed for readers without
        the player (GitHub, VS Code, offline)."""
        if not self.video:
            return f"https://www.youtube.com/playlist?list={self.playlist}"
        url = f"https://www.youtube.com/watch?v={self.video}"
        if self.playlist:
            url += f"&list={self.playlist}"
        return url + (f"&t={self.start}s" if self.start else "")

    def _repr_html_(self) -> str:
        def q(s: object) -> str:
            return html.escape(str(s), quote=True)

        return (f'<div class="cc-saved-player">'
                f'<iframe src="{q(self.src)}" width="{self.width}" height="{self.height}" title="{q(self.title)}" '
                f'frameborder="0" allow="{ALLOW}" referrerpolicy="strict-origin-when-cross-origin" '
                f'loading="lazy" allowfullscreen></iframe>'
                f'<p class="cc-offline" style="display:none;color:#b00020">{q(OFFLINE)} <button>Try again</button> '
                f'<a href="{q(self.watch_url)}" target="_blank" rel="noopener">Watch on YouTube ↗</a></p>'
                f'<p class="cc-why" style="color:#555;margin:4px 0">{q(UNTRUSTED)}</p>'
                f'<script>{PROBE}</script></div>')

    def __repr__(self) -> str:
        kind = "YouTube video" if self.video else "YouTube playlist"
        return f"{kind}: {self.title} <{self.watch_url}>"

    def bundle(self) -> dict[str, str]:
        """The display data a kernel produces for this object."""
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}


def embed_for(catalog: Catalog, a: Assignment, privacy_enhanced: bool) -> Embed | None:
    """The player a lesson shows for an assigned video or playlist resource, if it has one."""
    if a.id in catalog.videos:
        v = catalog.videos[a.id]
        if not v.youtube:
            return None
        return Embed(a.title or v.title, video=v.youtube, playlist=a.playlist, start=a.start or v.start,
                     end=a.end or v.end, privacy_enhanced=privacy_enhanced)
    r = catalog.resources[a.id]
    if not r.playlist:
        return None
    return Embed(a.title or r.title, playlist=r.playlist, privacy_enhanced=privacy_enhanced)
