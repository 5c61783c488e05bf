"""Streaming XML for exports that can be gigabytes and come from anywhere.

lxml's iterparse, with every door closed: no entity is expanded, nothing is fetched (no
network, no external DTD or entity, not even from a local file), libxml2's limits on depth and
text size stay on (`huge_tree=False`), and a document that declares a DTD at all is refused:
WordPress and Disqus exports never have one, and a DTD is how entity bombs and external
entities arrive. Each top-level record is handed over whole and then freed, so memory stays
flat however long the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import BinaryIO, Literal

from lxml import etree

from service.core.formats.model import FormatError, open_export

# lxml appends the position to its messages; it is reported once, in front.
_POSITION = re.compile(r",? line \d+, column \d+\s*$")


def local(name: str | bytes | bytearray | etree.QName) -> str:
    """An element's name without its namespace (exports vary the version in the URI)."""
    text = (
        name
        if isinstance(name, str)
        else name.decode()
        if isinstance(name, bytes | bytearray)
        else str(name)
    )
    return text[text.rfind("}") + 1 :]


def namespace(element: etree._Element) -> str:
    text = str(element.tag)
    return text[1:].partition("}")[0] if text.startswith("{") else ""


def records(
    path: Path,
    names: Collection[str],
    check_root: Callable[[etree._Element], None],
    depth: int = 1,
) -> Iterator[etree._Element]:
    """Yield each element with one of `names` (any namespace) that sits `depth` levels below
    the root, complete, then free it. `check_root` sees the root element first and raises
    FormatError if the file is another kind of document."""
    with open_export(path) as source:
        yield from _parse(source, names, check_root, depth)


def _parse(
    source: BinaryIO,
    names: Collection[str],
    check_root: Callable[[etree._Element], None],
    depth: int,
) -> Iterator[etree._Element]:
    try:
        # The document's start alone first: a DTD or another kind of file is refused before
        # anything else is read.
        for _, root in _safe(source, "start"):
            _refuse_dtd(root)
            check_root(root)
            break
        source.seek(0)
        # Then only the records' ends reach Python: a million other elements cost nothing.
        tags = [f"{{*}}{name}" for name in names]
        parser = _safe(source, "end", tags)
        for _, element in parser:
            if _depth(element) == depth:
                yield element
                _free(element)
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc) from None
    if parser.root is None:
        raise FormatError("the file has no document")


def _safe(
    source: BinaryIO, event: Literal["start", "end"], tags: list[str] | None = None
) -> etree.iterparse[tuple[Literal["start", "end", "comment", "pi"], etree._Element]]:
    """The one way this module parses: no entity expanded, nothing fetched, libxml2's size
    limits on."""
    return etree.iterparse(
        source,
        events=(event,),
        tag=tags,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _depth(element: etree._Element) -> int:
    return sum(1 for _ in element.iterancestors())


def syntax_error(exc: etree.XMLSyntaxError) -> FormatError:
    line, column = exc.position if exc.position else (None, None)
    detail = _POSITION.sub("", exc.msg or "not well-formed XML").strip()
    return FormatError(f"not well-formed XML: {detail}", line, column)


def _refuse_dtd(root: etree._Element) -> None:
    info = root.getroottree().docinfo
    if info.internalDTD is not None or info.system_url or info.public_id:
        raise FormatError(
            "the file declares a DTD (<!DOCTYPE ...>); exports never do, and entities "
            "and external references are not read",
            root.sourceline,
        )


def _free(element: etree._Element) -> None:
    """Drop a finished element and the siblings before it: the tree never grows."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def text(element: etree._Element | None) -> str:
    """An element's text ("" when absent); CDATA reads as text."""
    if element is None or element.text is None:
        return ""
    return str(element.text)


def children(element: etree._Element) -> dict[str, etree._Element]:
    """Child elements by local name (the first of each), ignoring namespaces."""
    found: dict[str, etree._Element] = {}
    for child in element:
        if isinstance(child.tag, str):
            found.setdefault(local(child.tag), child)
    return found
