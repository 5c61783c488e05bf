"""Comment HTML from other systems as the plain text this service stores.

Readers see comments as text (any HTML in any field shows as text, as the README promises),
so an imported `<p>I <em>agree</em></p>` must become "I agree", not markup shown literally.
Paragraphs and line breaks stay, links keep their address when it differs from their label,
quotes are marked with "> ", entities are decoded, and scripts, styles and every attribute
other than a link's address are dropped. A small tokenizer (one regular expression) reads the
markup: it never fails on broken markup (a stray "<" is text, as in "a < b" and "<3"), and it
is several times faster than the standard library's HTMLParser, which matters at 100,000
comments.
"""

from __future__ import annotations

import html
import re

BLOCKS = frozenset(
    {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
     "table", "tr", "hr", "figure", "section", "article", "aside", "dl", "dt", "dd"}
)  # fmt: skip
DROPPED = frozenset({"script", "style", "head", "template", "noscript", "iframe", "object"})
_SPACES = re.compile(r"[ \t\r\f\v]+")
# A tag (its attributes may quote ">"), a comment or declaration, text, or a stray "<".
_TOKENS = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\"[^\"]*\"|'[^']*'|[^'\">])*)>"
    r"|<!--.*?(?:-->|$)|<![^>]*>|<\?[^>]*>"
    r"|([^<]+)"
    r"|<",
    re.DOTALL,
)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")


class _Text:
    def __init__(self, keep_newlines: bool) -> None:
        self.keep_newlines = keep_newlines
        self.out: list[str] = []
        self.quote_depth = 0
        self.dropped = 0
        self.pre = 0
        self.links: list[tuple[str, int]] = []  # href, position in out where its label starts

    def feed(self, markup: str) -> None:
        for match in _TOKENS.finditer(markup):
            closing, tag, attrs, text = match.groups()
            if text is not None:
                self.handle_data(html.unescape(text))
            elif tag is not None:
                tag = tag.lower()
                if closing:
                    self.handle_endtag(tag)
                else:
                    self.handle_starttag(tag, attrs)
                    if attrs.rstrip().endswith("/") and tag == "a":
                        self.handle_endtag(tag)
            elif match.group() == "<":
                self.handle_data("<")

    def handle_starttag(self, tag: str, attrs: str) -> None:
        if tag in DROPPED:
            self.dropped += 1
        elif tag == "br":
            self._newline()
        elif tag == "li":
            self._newline()
            self.out.append("- ")
        elif tag in BLOCKS:
            self.quote_depth += tag == "blockquote"
            self.pre += tag == "pre"
            self._paragraph()
        elif tag == "a":
            self.links.append((_attribute(_HREF, attrs), len(self.out)))
        elif tag == "img":
            alt = _attribute(_ALT, attrs).strip()
            if alt:
                self.out.append(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED:
            self.dropped = max(0, self.dropped - 1)
        elif tag == "li":
            pass
        elif tag in BLOCKS:
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self._paragraph()
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.out[start:]).strip()
            if href.startswith(("http://", "https://")) and _differs(href, label):
                self.out.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if self.dropped:
            return
        if not (self.keep_newlines or self.pre):
            data = " ".join(data.split("\n"))
        lines = data.split("\n")
        for i, line in enumerate(lines):
            if i:
                self._newline()
            self.out.append(line if self.pre else _SPACES.sub(" ", line))

    def _newline(self) -> None:
        self.out.append("\n" + "> " * self.quote_depth)

    def _paragraph(self) -> None:
        self.out.append("\n\n" + "> " * self.quote_depth)

    def text(self) -> str:
        raw = "".join(self.out)
        lines = [line.rstrip() for line in raw.split("\n")]
        lines = [line if line.strip(" >") else "" for line in lines]
        return _BLANK_LINES.sub("\n\n", "\n".join(line.lstrip(" ") for line in lines)).strip()


def _attribute(pattern: re.Pattern[str], attrs: str) -> str:
    found = pattern.search(attrs)
    if found is None:
        return ""
    return html.unescape(next(v for v in found.groups() if v is not None))


def _differs(href: str, label: str) -> bool:
    """A link whose label is its address (or the address without its scheme) says it already."""
    bare = href.split("://", 1)[1].rstrip("/")
    return label.rstrip("/") not in (href.rstrip("/"), bare, "www." + bare.removeprefix("www."))


def to_text(markup: str, *, keep_newlines: bool) -> str:
    """The plain text of a comment's HTML. `keep_newlines`: the source stores line breaks as
    typed and adds <p> only when it displays (WordPress); otherwise newlines in the markup
    are insignificant, as in a browser (Disqus, Remark42)."""
    if "<" not in markup and "&" not in markup:
        text = markup if keep_newlines else " ".join(markup.split())
        return text.strip()
    parser = _Text(keep_newlines)
    parser.feed(markup)
    return parser.text()
