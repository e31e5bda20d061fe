"""A source list read from Markdown: the series it names and one row per video or resource, each
with the lessons it goes to and the line it came from.

Two shapes are read: "Video Series Index" tables (a `## Series` heading, then `| # | Title | Lesson |
Link |` rows) and annotated watch lists (bullets of links, `**Label:** text` lines). Links are read
with a CommonMark parser, as a reader sees them. Whatever the catalog would refuse is refused here,
at the line it comes from.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

from companion.course import youtube
from companion.course.checks import schema
from companion.course.names import slug
from companion.errors import CatalogError

_MD = MarkdownIt("commonmark")
_MD.normalizeLink = lambda url: url  # type: ignore[method-assign]  # the author's URL as written (escapes and entities decoded), not %-encoded
_A_OPEN = re.compile(r"""<a\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>""", re.I)
_A_CLOSE = re.compile(r"</a\s*>", re.I)
_IMG = re.compile(r"""<img\s[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>""", re.I)
_BARE_URL = re.compile(r"https?://[^\s<>\]|*\"]+")
_BULLET = re.compile(r"^[-*+]\s+")
_THEMATIC_BREAK = re.compile(r"^([-*_])(\s*\1){2,}\s*$")
_BULLET_LESSONS = re.compile(r"(?:\(|[—–-]\s*)[Ll]essons?:?\s+([^()]*?)\s*(?:\)|$)")  # (Lesson 4), — Lessons 3–5
_RANGE = re.compile(r"^(\d{1,5})\s*[-–—]\s*(\d{1,5})$")
_LABEL_LINE = re.compile(r"^\*\*([^*:]+):?\*\*:?\s*(.+)$")
_COLUMNS = {
    "number": {"#", "no", "no.", "ch", "chapter no", "lecture", "ep", "episode", "part"},
    "title": {"title", "video", "topic", "playlist", "title / type", "name", "video title"},
    "chapter": {"book chapter", "chapter"},
    "lesson": {"lesson", "lessons"},
    "link": {"link", "key videos", "watch", "url", "links"},
}
MAX_LESSON_SPAN = 500
# What catalog.schema.json accepts (read from it): more is refused here, at the line it comes from.
_DEFS = schema()["$defs"]
MAX_TEXT, MAX_NOTE, MAX_URL = (int(_DEFS[name]["maxLength"]) for name in ("text", "note", "url"))
MAX_NUMBER = int(_DEFS["video"]["properties"]["number"]["maxLength"])
MAX_SECONDS = int(_DEFS["seconds"]["maximum"])


@dataclass
class Series:
    """A series heading: its channel, what the list says of it, and the links it gives."""

    id: str
    title: str
    channel: str
    note: list[str] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (label, text, url)


@dataclass
class Row:
    """One video or resource of the list: its title, number, lessons, link and note."""

    line: int
    series: Series
    title: str
    number: str
    lessons: list[int | str]
    link_text: str
    url: str
    note: str


def _refuse(where: str, *, texts: tuple[str, ...] = (), number: str = "", url: str = "", note: str = "") -> None:
    """Raise at `where` for what the catalog would refuse after the import, where no line is known."""
    problems = [f"{where}: {t[:40]!r}... is longer than {MAX_TEXT} characters" for t in texts if len(t) > MAX_TEXT]
    if not all(texts):
        problems.append(f"{where}: a heading or title without any text")
    if len(number) > MAX_NUMBER:
        problems.append(f"{where}: number {number[:40]!r} is longer than {MAX_NUMBER} characters")
    if url and (len(url) > MAX_URL or not youtube.is_http_url(url)):
        problems.append(f"{where}: link {url[:80]!r} is not an http(s) link of at most {MAX_URL} characters")
    elif url and (youtube.parse(url).start or 0) > MAX_SECONDS:
        problems.append(f"{where}: link {url!r} starts more than {MAX_SECONDS} s in")
    if len(note) > MAX_NOTE - 40:  # room for "Listed as General in the index."
        problems.append(f"{where}: the row's notes are longer than {MAX_NOTE - 40} characters")
    if problems:
        raise CatalogError(problems)


def parse_lessons(cell: str) -> list[int | str]:
    """`4–5`, `13, 16`, `14–15, 20`, `Optional`, `General` → lesson numbers or labels."""
    out: list[int | str] = []
    for part in cell.replace(";", ",").split(","):
        part = part.strip().strip("*_ ")
        if not part:
            continue
        if part.lower() in ("optional", "general"):
            out.append(part.capitalize())
        elif part.isdigit() and len(part) <= 5:
            out.append(int(part))
        elif m := _RANGE.match(part):
            a, b = int(m.group(1)), int(m.group(2))
            if a > b or b - a > MAX_LESSON_SPAN:
                raise ValueError(f"lesson range {part!r} runs backwards or is too long")
            out.extend(range(a, b + 1))
        else:
            raise ValueError(f"cannot read lesson {part!r} "
                             "(expected a number, a range like 4–5, a list, Optional or General)")
    if not out:
        raise ValueError("no lesson given")
    return list(dict.fromkeys(out))


def split_row(line: str) -> list[str]:
    """Cells of a markdown table row; `\\|` is a literal bar inside a cell."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells = re.split(r"(?<!\\)\|", body)
    return [c.strip().replace("\\|", "|") for c in cells]


@dataclass(frozen=True)
class _Link:
    text: str
    url: str


def _read(fragment: str) -> list[str | _Link]:
    """A line or cell of markdown as its words and links, in order, the way a reader sees it:
    [text](url) with balanced parentheses, <https://…> autolinks, <a href> anchors, HTML entities,
    images inside links (the link wins) and YouTube thumbnails (they name their video)."""
    parts: list[str | _Link] = []
    url: str | None = None  # the link being read
    words: list[str] = []  # and the words inside it
    for tok in _MD.parseInline(fragment)[0].children or []:
        anchor = _A_OPEN.match(tok.content) if tok.type == "html_inline" else None
        closes = tok.type == "link_close" or tok.type == "html_inline" and _A_CLOSE.match(tok.content)
        if tok.type == "link_open" or anchor:
            href = str(tok.attrs["href"]) if not anchor else next(filter(None, anchor.groups()), "")
            url, words = html.unescape(href), []
        elif closes and url is not None:
            parts.append(_Link(_words("".join(words)), url.strip()))
            url = None
        elif tok.type in ("text", "code_inline", "image", "softbreak", "hardbreak") or _IMG.match(tok.content):
            text = tok.content if tok.type in ("text", "code_inline", "image") else " "
            img = _IMG.match(tok.content) if tok.type == "html_inline" else None
            src = html.unescape(next(filter(None, img.groups()), "")) if img else str(tok.attrs.get("src", ""))
            video = youtube.thumbnail_video(src) if tok.type == "image" or img else None
            if video and url is None:
                parts.append(_Link(_words(text), youtube.watch_url(video)))
            else:
                (words if url is not None else parts).append(text)
    if url is not None:  # an <a> never closed
        parts.append(_Link(_words("".join(words)), url.strip()))
    return parts


def _words(text: str) -> str:
    return " ".join(re.sub(r"(\*\*|__|(?<!\w)[*_]|[*_](?!\w))", "", text).split())


def _plain(text: str) -> str:
    """Markdown emphasis and links reduced to their words."""
    return _words("".join(p if isinstance(p, str) else p.text for p in _read(text)))


def _links(text: str) -> list[_Link]:
    """The links of a fragment; a bare https://… in its words counts as one."""
    parts = _read(text)
    links = [p for p in parts if isinstance(p, _Link)]
    for words in (p for p in parts if isinstance(p, str)):
        links += [_Link(url, url) for url in map(_balanced, _BARE_URL.findall(words))]
    return links


def _balanced(url: str) -> str:
    """A bare URL without the closing parenthesis or punctuation that ends the sentence around it."""
    url = url.rstrip(".,;:!?'")
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(".,;:!?'")
    return url


def _with_urls(text: str) -> str:
    """A note's words, each link kept as `text (url)` so no address is lost."""
    out = []
    for p in _read(text):
        out.append(p if isinstance(p, str) else (p.url if p.text in ("", p.url) else f"{p.text} ({p.url})"))
    return _words("".join(out))


def _column_roles(header: list[str], where: str) -> dict[str, int]:
    roles: dict[str, int] = {}
    for i, name in enumerate(header):
        key = _plain(name).lower()
        for role, names in _COLUMNS.items():
            if key in names and role not in roles:
                roles[role] = i
                break
    if "title" not in roles and "chapter" in roles:
        roles["title"] = roles.pop("chapter")
    missing = [r for r in ("title", "lesson") if r not in roles]
    if missing:
        raise CatalogError([f"{where}: cannot read a table with columns {' | '.join(header)}: "
                            f"no {' and no '.join(missing)} column"])
    return roles


def _series_from_heading(text: str, parent: Series | None) -> Series:
    title = _plain(text)
    if parent is not None:
        channel = parent.channel
        full = title if parent.channel.lower() in title.lower() else f"{parent.channel} — {title}"
    else:
        channel = re.split(r"\s+[—–-]\s+", title, maxsplit=1)[0]
        full = title
    return Series(slug(full), full, channel)


def parse_index(text: str, name: str) -> tuple[str, str, list[Series], list[Row]]:
    """(title, note, series, rows) of an index; every table is read or reported."""
    lines = text.removeprefix("\ufeff").splitlines()
    title, note_lines = "", []
    series: list[Series] = []
    rows: list[Row] = []
    current: Series | None = None
    top: Series | None = None
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        where = f"{name}:{i + 1}"
        if line.startswith("# ") and not title:
            title = _plain(line[2:])
            _refuse(where, texts=(title,) if title else ())
        elif line.startswith("## "):
            top = current = _series_from_heading(line[3:], None)
            _refuse(where, texts=(current.title, current.channel))
            series.append(current)
        elif line.startswith("### ") and top is None:  # a sub-heading with no ## above it is a series
            top = current = _series_from_heading(line[4:], None)
            _refuse(where, texts=(current.title, current.channel))
            series.append(current)
        elif line.startswith("### "):
            current = _series_from_heading(line[4:], top)
            _refuse(where, texts=(current.title, current.channel))
            series.append(current)
        elif line.startswith(">") and current is None:
            note_lines.append(_plain(line.lstrip("> ")))
        elif line.startswith("|"):
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append((i + 1, lines[i]))
                i += 1
            if current is None:
                raise CatalogError([f"{where}: table before any series heading (## Series name)"])
            rows += _table_rows(block, current, name)
            continue
        elif current is not None and (m := _LABEL_LINE.match(line)):
            label = m.group(1).strip()
            for link in _links(m.group(2)):
                _refuse(where, texts=(f"{current.title}: {label}",), url=link.url)
                current.links.append((label, link.text or link.url, link.url))
            if not _links(m.group(2)):
                current.note.append(_plain(line))
        elif _BULLET.match(line) and _links(line):
            if current is None:
                raise CatalogError([f"{where}: a list of links before any series heading (## Series name)"])
            rows.append(_bullet_row(i + 1, _BULLET.sub("", line), current, name))
        elif current is not None and line and not _THEMATIC_BREAK.match(line) and not line.startswith("<!--"):
            current.note.append(_with_urls(line))  # the series' prose: blurbs, plain lines, links kept
        i += 1
    if not rows:
        raise CatalogError([f"{name}: no video tables found (expected ## headings with | Title | Lesson | tables)"])
    return title, " ".join(note_lines), series, rows


def _table_rows(block: list[tuple[int, str]], series: Series, name: str) -> list[Row]:
    first_line, header_line = block[0]
    header = split_row(header_line)
    where = f"{name}:{first_line}"
    if len(block) < 2 or not re.fullmatch(r"\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*", block[1][1]):
        raise CatalogError([f"{where}: cannot read the table: its second line must be the |---| separator"])
    roles = _column_roles(header, where)
    rows = []
    for line_no, raw in block[2:]:
        cells = split_row(raw)
        at = f"{name}:{line_no}"
        if len(cells) != len(header):
            raise CatalogError([f"{at}: row has {len(cells)} cells, the table has {len(header)} columns"])
        title = _plain(cells[roles["title"]])
        if not title:
            raise CatalogError([f"{at}: row has no title"])
        try:
            lessons = parse_lessons(_plain(cells[roles["lesson"]]))
        except ValueError as e:
            raise CatalogError([f"{at}: {e}"]) from None
        link_cell = cells[roles["link"]] if "link" in roles else ""
        # The Link column's link, else one in the title or any other cell: a link is never dropped.
        link = next(iter(_links(link_cell) or _links(cells[roles["title"]])
                         or [x for c in cells for x in _links(c)]), None)
        url, link_text = (link.url, link.text) if link else ("", "")
        notes = []
        if "chapter" in roles and cells[roles["chapter"]]:
            chapter = _plain(cells[roles["chapter"]])
            number = _plain(cells[roles["number"]]) if "number" in roles else ""
            notes.append(f"Book chapter {number}: {chapter}" if number else f"Book chapter: {chapter}")
        if link_cell and not url:
            notes.append(f"{_plain(header[roles['link']])}: {_plain(link_cell)}")
        for i, cell in enumerate(cells):
            if i not in roles.values() and _plain(cell):
                notes.append(f"{_plain(header[i])}: {_with_urls(cell)}")
        number = _plain(cells[roles["number"]]) if "number" in roles else ""
        if number in ("—", "-", "–"):
            number = ""
        elif number and _plain(header[roles["number"]]) != "#":
            number = f"{_plain(header[roles['number']])} {number}"
        _refuse(at, texts=(title,), number=number, url=url, note=" ".join(notes))
        rows.append(Row(line_no, series, title, number, lessons,
                         link_text, url, " ".join(notes)))
    return rows


def _bullet_row(line_no: int, body: str, series: Series, name: str) -> Row:
    """`- [Title](url): note (Lesson 4)` under a series: its first link is the item; the lessons
    it names (`(Lesson 4)`, `— Lessons 3–5`), else the optional extras; the rest is its note."""
    at = f"{name}:{line_no}"
    parts = _read(body)
    first = _links(body)[0]
    rest = [p if isinstance(p, str) else (f"{p.text} ({p.url})" if p.text != p.url else p.url)
            for p in parts if p != first]
    if first not in parts:  # a bare URL: keep the words around it
        rest = ["".join(rest).replace(first.url, "", 1)]
    note = re.sub(r"\s+(?=[:;,.)])", "", _words("".join(rest))).strip(" :–—-")
    lessons_named = _BULLET_LESSONS.search(_plain(body))
    try:
        lessons: list[int | str] = parse_lessons(lessons_named.group(1)) if lessons_named else ["Optional"]
    except ValueError as e:
        raise CatalogError([f"{at}: {e}"]) from None
    title = first.text or first.url
    _refuse(at, texts=(title,), url=first.url, note=note)
    return Row(line_no, series, title, "", lessons, first.text, first.url, note)
