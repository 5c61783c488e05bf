"""A comment's text as safe HTML: a small Markdown subset, cleaned against an allow-list. Pure.

The subset (README: Formatting): emphasis, links to http(s) URLs (written `[text](url)`, as
`<url>`, or bare), block quotes, lists, inline code and code blocks, line breaks. Everything
else shows as the characters typed: raw HTML (markdown-it's `html` off), headings, images,
horizontal rules. Two defences in a row: the parser only produces the subset, and nh3 then
drops whatever is not on the allow-list, so a parser surprise never reaches a reader.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt

# Tags and attributes the subset produces; embed.js keeps the same list for its own check.
TAGS = frozenset({"p", "br", "em", "strong", "a", "blockquote", "ul", "ol", "li", "code", "pre"})
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
LINK_REL = "nofollow ugc noopener"
# markdown-it's bound on nested blocks and inlines (quotes in lists in quotes...), which also
# bounds its recursion. It drops blocks nested deeper, so a text that reaches it is shown as
# plain paragraphs instead, every word kept.
MAX_NESTING = 20
# Runs of "[*_" cost markdown-it time that grows faster than the text (10,000 "[" take
# ~150 ms), and nh3 spends ~4 µs on each character reference ("<>&\"" become one): a text with
# more of them than prose needs is shown as plain paragraphs.
COSTLY = re.compile(r"[\[*_<>&\"]")
MAX_COSTLY = 1000
PARAGRAPHS = re.compile(r"\n\s*\n")
# The widget's rule for bare URLs, kept: http(s) only, ending before spaces, quotes and angle
# brackets, trailing punctuation left out.
BARE_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
TRAILING = ".,;:!?)]*"
# Rendered texts kept per process (a thread's page is rendered again whenever the thread
# changes, its other comments unchanged). Only short texts, so the cache stays a few MB
# whatever is posted: typical comments are a few hundred characters.
CACHED_TEXTS = 4096
CACHED_CHARS = 1000


@dataclass(frozen=True, slots=True)
class _Link:
    url: str


class _BareUrls:
    """What markdown-it's linkify rule asks for, without the linkify-it dependency."""

    def match_at_start(self, text: str) -> _Link | None:
        found = BARE_URL.match(text)
        url = found.group(0).rstrip(TRAILING) if found else ""
        return _Link(url) if "://" in url and not url.endswith("://") else None


def _http_only(url: str) -> bool:
    return url[:8].lower().startswith(("http://", "https://"))


def _parser() -> MarkdownIt:
    options = {"html": False, "breaks": True, "linkify": True, "maxNesting": MAX_NESTING}
    md = MarkdownIt("commonmark", options)
    # Headings would let a comment shout over the article; images load from anywhere.
    md.disable(["heading", "lheading", "hr", "image", "html_block", "html_inline"])
    md.enable("linkify")
    md.core.ruler.disable("linkify")  # the inline rule (links typed in text) is enough
    md.linkify = _BareUrls()
    md.validateLink = _http_only  # type: ignore[method-assign]
    return md


_MD = _parser()
_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    # "*": no attribute on every tag (ammonia's defaults allow lang and title).
    attributes={"*": set()} | {tag: set(names) for tag, names in ATTRIBUTES.items()},
    url_schemes={"http", "https"},
    url_relative="deny",
    link_rel=LINK_REL,
    strip_comments=True,
)


def render(text: str) -> str:
    """The comment's text as HTML made only of the allowed tags and attributes."""
    return _cached(text) if len(text) <= CACHED_CHARS else _render(text)


def _render(text: str) -> str:
    tokens = [] if len(COSTLY.findall(text)) > MAX_COSTLY else _MD.parse(text)
    if tokens and max(t.level for t in tokens) < MAX_NESTING - 1:
        return _CLEANER.clean(_MD.renderer.render(tokens, _MD.options, {})).strip()
    return _plain(text)


_cached = functools.lru_cache(maxsize=CACHED_TEXTS)(_render)


def _plain(text: str) -> str:
    """Paragraphs, line breaks and bare links, in time linear in the text: how comments
    looked before Markdown. Safe by construction (every piece of the text is escaped, the
    links are http(s) by their pattern), so it skips nh3, whose time it exists to save."""

    def line(raw: str) -> str:
        out, last = [], 0
        for found in BARE_URL.finditer(raw):
            url = found.group(0).rstrip(TRAILING)
            if url.endswith("://"):
                continue
            link = html.escape(url)
            anchor = f'<a href="{link}" rel="{LINK_REL}">{link}</a>'
            out += [html.escape(raw[last : found.start()]), anchor]
            last = found.start() + len(url)
        return "".join([*out, html.escape(raw[last:])])

    paragraphs = (p for p in PARAGRAPHS.split(text.strip()) if p.strip())
    return "\n".join("<p>" + "<br>\n".join(map(line, p.split("\n"))) + "</p>" for p in paragraphs)
