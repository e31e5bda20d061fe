"""The inline player: one object that a kernel displays and a build saves as the cell's output.

Both sides render through `Embed`, so the output a build writes is byte-for-byte what the
kernel shows (strict nbval compares them). No IPython import here: the build stays light, and
there is no `_repr_jpeg_`, so displaying a video never downloads a thumbnail.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import urlencode

from .catalog import Assignment, Catalog

HOSTS = {False: "https://www.youtube.com", True: "https://www.youtube-nocookie.com"}
ALLOW = "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share"


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

        return (f'<iframe src="{q(self.src)}" width="{self.width}" height="{self.height}" title="{q(self.title)}" '
                f'frameborder="0" allow="{ALLOW}" referrerpolicy="strict-origin-when-cross-origin" '
                f'loading="lazy" allowfullscreen></iframe>')

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
