"""A source list read from Markdown: the series it names and one row per video or resource, each
with the lessons it goes to and the line it came from.

Two shapes are read: "Video Series Index" tables (a `## Series` heading, then `| # | Title | Lesson |
Link |` rows) and annotated watch lists (lists of links, nested or not, and `**Label:** link` lines).
The whole document is read with a CommonMark parser (GFM tables on), as a reader sees it: reference
links and their definitions, HTML blocks and comments, lists in lists. Line numbers come from the
parser's map of each block. Whatever the catalog would refuse is refused here, at the line it comes from.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.rules_block.table import escapedSplit
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from companion.course import youtube
from companion.course.checks import schema
from companion.course.names import slug
from companion.errors import CatalogError

_MD = MarkdownIt("commonmark").enable("table")
_MD.normalizeLink = lambda url: url  # type: ignore[method-assign]  # the author's URL as written (escapes and entities decoded), not %-encoded
_A_OPEN = re.compile(r"""<a\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>""", re.I)
_A_CLOSE = re.compile(r"</a\s*>", re.I)
_IMG = re.compile(r"""<img\s[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>""", re.I)
_BARE_URL = re.compile(r"https?://[^\s<>\]|*\"]+")
_BULLET_LESSONS = re.compile(r"(?:\(|[—–-]\s*)[Ll]essons?:?\s+([^()]*?)\s*(?:\)|$)")  # (Lesson 4), — Lessons 3–5
_RANGE = re.compile(r"^(\d{1,5})\s*[-–—]\s*(\d{1,5})$")
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


@dataclass(frozen=True)
class _Link:
    text: str
    url: str


def _read(tokens: list[Token]) -> list[str | _Link]:
    """A line or cell of markdown (its inline tokens) as its words and links, in order, the way a reader sees it:
    [text](url) with balanced parentheses, <https://…> autolinks, <a href> anchors, HTML entities,
    images inside links (the link wins) and YouTube thumbnails (they name their video)."""
    parts: list[str | _Link] = []
    url: str | None = None  # the link being read
    words: list[str] = []  # and the words inside it
    for tok in tokens:
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


def _plain(tokens: list[Token]) -> str:
    """Markdown emphasis and links reduced to their words."""
    return _words("".join(p if isinstance(p, str) else p.text for p in _read(tokens)))


def _links(tokens: list[Token]) -> list[_Link]:
    """The links of a fragment; a bare https://… in its words counts as one."""
    parts = _read(tokens)
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


def _with_urls(tokens: list[Token]) -> str:
    """A note's words, each link kept as `text (url)` so no address is lost."""
    out = []
    for p in _read(tokens):
        out.append(p if isinstance(p, str) else (p.url if p.text in ("", p.url) else f"{p.text} ({p.url})"))
    return _words("".join(out))


def _column_roles(header: list[str], where: str) -> dict[str, int]:
    roles: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.lower()
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


def _series_from_heading(tokens: list[Token], parent: Series | None) -> Series:
    title = _plain(tokens)
    if parent is not None:
        channel = parent.channel
        full = title if parent.channel.lower() in title.lower() else f"{parent.channel} — {title}"
    else:
        channel = re.split(r"\s+[—–-]\s+", title, maxsplit=1)[0]
        full = title
    return Series(slug(full), full, channel)


def _inline(node: SyntaxTreeNode) -> Token:
    """The inline token of a heading, paragraph or table cell (its words, as a flat list of children)."""
    token = node.children[0].token
    assert token is not None and token.type == "inline"
    return token


def _lines(inline: Token) -> Iterator[tuple[int, list[Token]]]:
    """A paragraph's lines, each (its 0-based line, its tokens): `**Playlist:** link` lines are written
    one under another in one paragraph. A link broken over two lines stays whole, on its first."""
    assert inline.map is not None
    line = start = inline.map[0]
    tokens: list[Token] = []
    in_link = 0
    for tok in inline.children or []:
        in_link += {"link_open": 1, "link_close": -1}.get(tok.type, 0)
        breaks = tok.type in ("softbreak", "hardbreak")
        if breaks and not in_link:
            yield start, tokens
            tokens, start = [], line + 1
        else:
            tokens.append(tok)
        # a break is a new line; so is a newline inside an HTML tag or an image's alt text
        line += tok.content.count("\n") if tok.type in ("html_inline", "image") else breaks
    yield start, tokens


def _label(tokens: list[Token]) -> tuple[str, list[Token]] | None:
    """(label, the rest) of a line that opens with a bold label: `**Playlist:** link`, `**Book** link`."""
    toks = [t for t in tokens if t.type != "text" or t.content]  # (markdown-it leaves empty text at delimiters)
    if [t.type for t in toks[:3]] != ["strong_open", "text", "strong_close"]:
        return None
    label = toks[1].content.removesuffix(":").strip()
    return (label, toks[3:]) if label and ":" not in label else None


def parse_index(text: str, name: str) -> tuple[str, str, list[Series], list[Row]]:
    """(title, note, series, rows) of an index; every table and list of links is read or reported."""
    text = text.removeprefix("\ufeff")
    index = _Index(name, text)
    index.blocks(SyntaxTreeNode(_MD.parse(text)).children)
    if not index.rows:
        raise CatalogError([f"{name}: no video tables found (expected ## headings with | Title | Lesson | tables)"])
    return index.title, " ".join(index.note), index.series, index.rows


class _Index:
    """An index being read, block by block: what it has given so far and the series heading in force."""

    def __init__(self, name: str, text: str):
        self.name = name
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # as the parser counts them
        self.title = ""
        self.note: list[str] = []  # the index's own blurb: a quote before any series
        self.series: list[Series] = []
        self.rows: list[Row] = []
        self.current: Series | None = None
        self.top: Series | None = None  # the ## series a ### one belongs to

    def at(self, line: int) -> str:
        return f"{self.name}:{line + 1}"

    def blocks(self, nodes: list[SyntaxTreeNode]) -> None:
        for node in nodes:
            assert node.map is not None
            where = self.at(node.map[0])
            if node.type == "heading":
                self.heading(int(node.tag[1:]), _inline(node), where)
            elif node.type == "paragraph":
                self.paragraph(_inline(node))
            elif node.type == "blockquote":
                for inline in (n.token for n in node.walk() if n.type == "inline" and n.token):
                    self.prose(inline, quoted=True)
            elif node.type in ("bullet_list", "ordered_list"):
                self.items(node.children)
            elif node.type == "table":
                self.rows += self.table(node, where)
            elif node.type == "html_block" and not node.content.lstrip().startswith("<!--"):
                self.prose(_MD.parseInline(node.content.rstrip("\n"))[0].copy(map=list(node.map)))
            # thematic breaks, code and HTML comments are not the list's content

    def heading(self, level: int, inline: Token, where: str) -> None:
        tokens = inline.children or []
        if level == 1 and not self.title:
            self.title = _plain(tokens)
            _refuse(where, texts=(self.title,) if self.title else ())
            return
        if level == 2 or level == 3 and self.top is None:  # a ### with no ## above it is a series
            self.top = self.current = _series_from_heading(tokens, None)
        elif level == 3:
            self.current = _series_from_heading(tokens, self.top)
        else:
            self.prose(inline)
            return
        _refuse(where, texts=(self.current.title, self.current.channel))
        self.series.append(self.current)

    def paragraph(self, inline: Token) -> None:
        assert inline.map is not None
        for n, raw in enumerate(inline.content.split("\n")):
            if raw.lstrip().startswith("|"):  # a table the parser could not read as one
                where = self.at(inline.map[0] + n)
                if self.current is None:
                    raise CatalogError([f"{where}: table before any series heading (## Series name)"])
                raise CatalogError([f"{where}: cannot read the table: its second line must be the |---| "
                                    "separator, with a cell for each of the first line's"])
        self.prose(inline)

    def prose(self, inline: Token, *, quoted: bool = False) -> None:
        """Lines that are not a row: a series' `**Label:** link` lines, blurbs and plain text (links
        kept); a quote before any series is the index's own note; other text before any is not kept."""
        for line, tokens in _lines(inline):
            if self.current is None:
                if quoted and (text := _plain(tokens)):
                    self.note.append(text)
            elif (label := _label(tokens)) and (links := _links(label[1])):
                for link in links:
                    _refuse(self.at(line), texts=(f"{self.current.title}: {label[0]}",), url=link.url)
                    self.current.links.append((label[0], link.text or link.url, link.url))
            elif text := _with_urls(tokens):
                self.current.note.append(text)

    def items(self, items: list[SyntaxTreeNode]) -> None:
        """A list's items: one that opens with a link is a row (`- [Title](url): note (Lesson 4)`),
        the others are read as any other text; lists inside them are read the same way."""
        for item in items:
            first = item.children[0] if item.children else None
            if first is not None and first.type == "paragraph" and _links(_inline(first).children or []):
                self.rows.append(self.item_row(_inline(first)))
                self.blocks(item.children[1:])
            else:
                self.blocks(item.children)

    def table(self, node: SyntaxTreeNode, where: str) -> list[Row]:
        """The rows of a `| Title | Lesson | Link |` table under the series in force."""
        if self.current is None:
            raise CatalogError([f"{where}: table before any series heading (## Series name)"])
        series = self.current
        head, *body = node.children
        header = [_plain(_inline(cell).children or []) for cell in head.children[0].children]
        roles = _column_roles(header, where)
        rows = []
        for tr in (tr for part in body for tr in part.children):
            assert tr.map is not None
            at = self.at(tr.map[0])
            written = escapedSplit(self.lines[tr.map[0]].strip())  # the parser's own split of the row
            past = written[len(header) + (written[0] == ""):]  # cells past the header's: no reader sees them
            if any(cell.strip() for cell in past):
                raise CatalogError([f"{at}: row has {len(header) + len(past) - (past[-1] == '')} cells, "
                                    f"the table has {len(header)} columns"])
            cells = [_inline(cell).children or [] for cell in tr.children]
            title = _plain(cells[roles["title"]])
            if not title:
                raise CatalogError([f"{at}: row has no title"])
            try:
                lessons = parse_lessons(_plain(cells[roles["lesson"]]))
            except ValueError as e:
                raise CatalogError([f"{at}: {e}"]) from None
            link_cell = cells[roles["link"]] if "link" in roles else []
            # The Link column's link, else one in the title or any other cell: a link is never dropped.
            link = next(iter(_links(link_cell) or _links(cells[roles["title"]])
                             or [x for c in cells for x in _links(c)]), None)
            url, link_text = (link.url, link.text) if link else ("", "")
            notes = []
            number = _plain(cells[roles["number"]]) if "number" in roles else ""
            if "chapter" in roles and (chapter := _plain(cells[roles["chapter"]])):
                notes.append(f"Book chapter {number}: {chapter}" if number else f"Book chapter: {chapter}")
            if link_cell and not url:
                notes.append(f"{header[roles['link']]}: {_plain(link_cell)}")
            for i, cell in enumerate(cells):
                if i not in roles.values() and _plain(cell):
                    notes.append(f"{header[i]}: {_with_urls(cell)}")
            if number in ("—", "-", "–"):
                number = ""
            elif number and header[roles["number"]] != "#":
                number = f"{header[roles['number']]} {number}"
            _refuse(at, texts=(title,), number=number, url=url, note=" ".join(notes))
            rows.append(Row(tr.map[0] + 1, series, title, number, lessons, link_text, url, " ".join(notes)))
        return rows

    def item_row(self, inline: Token) -> Row:
        """`- [Title](url): note (Lesson 4)` under a series: its first link is the item; the lessons
        it names (`(Lesson 4)`, `— Lessons 3–5`), else the optional extras; the rest is its note."""
        assert inline.map is not None
        at = self.at(inline.map[0])
        if self.current is None:
            raise CatalogError([f"{at}: a list of links before any series heading (## Series name)"])
        body = inline.children or []
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
        return Row(inline.map[0] + 1, self.current, title, "", lessons, first.text, first.url, note)
