"""Catalog text made safe where the build puts it: inert markdown, link targets, Python literals.

Catalog text only ever reaches markdown (escaped here) and the saved HTML outputs (escaped by
`Embed`); code cells name catalog entries by id, and `py` lets only plain tokens through.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote

from companion.errors import BuildError

TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,80}\Z")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|~$<>])")


def md(text: str) -> str:
    """Catalog text as inert inline markdown: no markup, no HTML, no math, one line."""
    # a backslash becomes an entity: `\\(` (an escaped backslash before a bracket) opens math in JupyterLab
    return _MD_SPECIAL.sub(lambda m: "&#92;" if m[1] == "\\" else "\\" + m[1],
                           html.escape(" ".join(text.split()), quote=False))


_BOLD = re.compile(r"\\\*\\\*(.+?)\\\*\\\*")


def md_bold(text: str) -> str:
    """Catalog text as `md` makes it, except that `**bold**` stays bold (a self-check's "**second**")."""
    return _BOLD.sub(r"**\1**", md(text))


def html_bold(text: str) -> str:
    """Catalog text as escaped HTML on one line, `**bold**` in bold: for a widget's feedback."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(" ".join(text.split())))


def md_block(text: str, prefix: str = "") -> str:
    """Paragraphs of catalog text, each escaped; `prefix="> "` makes a quote."""
    paragraphs = [md(p) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return f"\n{prefix}\n".join(prefix + p for p in paragraphs)


def url(href: str) -> str:
    """A link target that cannot break out of `(...)` in markdown."""
    return quote(href, safe=":/?#[]@!$&'*+,;=%~-._")


def link(text: str, href: str) -> str:
    """A markdown link with escaped text and a target that stays inside its brackets."""
    return f"[{md(text)}]({url(href)})"


def py(token: str) -> str:
    """An id as a Python literal; ids are plain tokens, so nothing else can reach the source."""
    if not TOKEN.match(token):
        raise BuildError(f"refusing to put {token!r} into code: ids are letters, digits, - and _")
    return json.dumps(token)
