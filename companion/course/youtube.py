"""YouTube links: what a catalog may hold and what an index may contain."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote_plus, urlsplit

VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}\Z")
PLAYLIST_ID = re.compile(r"^[A-Za-z0-9_-]{10,64}\Z")
_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtube-nocookie.com",
          "www.youtube-nocookie.com"}
_THUMB_HOSTS = {"img.youtube.com", "i.ytimg.com", "i1.ytimg.com", "i2.ytimg.com", "i3.ytimg.com", "i4.ytimg.com",
                "i9.ytimg.com"}
_TIME = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")


@dataclass(frozen=True)
class Link:
    """What a URL points at on YouTube: a video (maybe in a playlist, maybe from a start time),
    a playlist, a channel, or nothing YouTube knows (kind "other")."""

    kind: str  # "video" | "playlist" | "channel" | "other"
    video: str | None = None
    playlist: str | None = None
    start: int | None = None


def is_http_url(url: str) -> bool:
    """Whether a catalog or index may hold this link: http(s) with a host, no space or control character."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1"
        return False
    # urlsplit drops leading control characters (as browsers do): a link must not have any
    return (parts.scheme in ("http", "https") and bool(parts.netloc)
            and not any(c.isspace() or c < " " or c == "\x7f" for c in url))


def parse_time(text: str) -> int | None:
    """`90`, `90s`, `1m30s`, `1h2m3s` → seconds; anything else → None."""
    m = _TIME.match(text.strip())
    if not m or not any(m.groups()):
        return None
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    return h * 3600 + mi * 60 + s


def parse(url: str) -> Link:
    """Classify a link the way a learner clicking it would experience it."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return Link("other")
    host = (parts.hostname or "").lower()
    query = parse_qs(parts.query)
    first = {k: v[0] for k, v in query.items() if v}
    playlist = first.get("list") if PLAYLIST_ID.match(first.get("list", "")) else None
    fragment = {k: v[0] for k, v in parse_qs(parts.fragment).items() if v}  # `#t=1m5s`, as YouTube shares it
    start = next((parse_time(d[k]) for d in (first, fragment) for k in ("t", "start") if k in d), None)
    path = parts.path.rstrip("/")
    video = None
    if host in ("youtu.be", "www.youtu.be"):
        video = path.lstrip("/")
    elif host in _HOSTS:
        if path == "/watch":
            video = first.get("v")
        elif path.startswith(("/embed/", "/shorts/", "/live/", "/v/")):
            video = path.split("/")[2]
        elif path == "/playlist" and playlist:
            return Link("playlist", playlist=playlist)
        elif path.startswith(("/@", "/c/", "/channel/", "/user/")):
            return Link("channel")
    if video and VIDEO_ID.match(video):
        return Link("video", video=video, playlist=playlist, start=start)
    return Link("other")


def thumbnail_video(url: str) -> str | None:
    """The video a thumbnail image shows (`img.youtube.com/vi/ID/0.jpg`): a picture that names it."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    segments = parts.path.split("/")
    if (parts.hostname or "").lower() in _THUMB_HOSTS and len(segments) > 2 and segments[1] in ("vi", "vi_webp"):
        return segments[2] if VIDEO_ID.match(segments[2]) else None
    return None


def search_url(query: str) -> str:
    """Where to look for a video no seed links to: never guess an id."""
    return "https://www.youtube.com/results?search_query=" + quote_plus(" ".join(query.split()))


def watch_url(video: str, start: int | None = None, playlist: str | None = None) -> str:
    """A video's youtube.com page, in `playlist` and from `start` seconds when given."""
    url = f"https://www.youtube.com/watch?v={video}"
    if playlist:
        url += f"&list={playlist}"
    if start:
        url += f"&t={start}s"
    return url
