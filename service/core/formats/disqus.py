"""Disqus's XML export (Moderation > Export), read as a stream.

`<disqus>` holds every `<category>`, then every `<thread dsq:id>` (`link`, `title`,
`createdAt`, `isDeleted`), then every `<post dsq:id>`: `message` (HTML), `createdAt` (ISO
8601, UTC), `isDeleted`, `isSpam`, `author` (`name`, `email` when the export has it,
`username`, `isAnonymous`), `ipAddress`, `thread dsq:id` and, for a reply, `parent dsq:id`.
Posts of one thread are spread over the file, so the importer groups them before it writes.
Elements and attributes are matched by local name, whatever their namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from service.core.formats import cleaning, xmlstream
from service.core.formats.html_text import to_text
from service.core.formats.model import FormatError, Item, SourceComment, SourceThread
from service.core.statuses import Status

TRUE = frozenset({"true", "1"})


def read(path: Path) -> Iterator[Item]:
    for element in xmlstream.records(path, {"thread", "post"}, _check_root, depth=1):
        key = _dsq_id(element)
        fields = xmlstream.children(element)
        if xmlstream.local(element.tag) == "thread":
            deleted = _flag(fields, "isDeleted")
            yield SourceThread(
                key=key,
                url=xmlstream.text(fields.get("link")),
                title=xmlstream.text(fields.get("title")),
                deleted=deleted,
                # When Disqus first saw the page: the closest it has to a publication date.
                published=cleaning.timestamp(xmlstream.text(fields.get("createdAt"))),
            )
        else:
            yield _post(key, fields, element.sourceline)


def _check_root(root: etree._Element) -> None:
    name = xmlstream.local(root.tag)
    if name == "rss":
        raise FormatError(
            "this is a WordPress export (WXR), not Disqus's: use `comments import wordpress`"
        )
    if name != "disqus":
        raise FormatError(f"not a Disqus export: the document is <{name}>, not <disqus>")


def _dsq_id(element: etree._Element) -> str:
    found = _optional_id(element)
    if found:
        return found
    raise FormatError(f"<{xmlstream.local(element.tag)}> without a dsq:id", element.sourceline)


def _optional_id(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return next((str(v) for a, v in element.attrib.items() if xmlstream.local(a) == "id"), None)


def _flag(fields: dict[str, etree._Element], name: str) -> bool:
    return xmlstream.text(fields.get(name)).strip().lower() in TRUE


def _post(key: str, fields: dict[str, etree._Element], line: int | None) -> SourceComment:
    thread, parent = fields.get("thread"), fields.get("parent")
    if thread is None:
        raise FormatError("<post> without its <thread>", line)
    author = xmlstream.children(fields["author"]) if "author" in fields else {}
    if _flag(fields, "isDeleted"):
        status = Status.DELETED
    elif _flag(fields, "isSpam"):
        status = Status.SPAM
    elif "isApproved" in fields and not _flag(fields, "isApproved"):
        status = Status.HELD
    else:
        status = Status.APPROVED
    name = xmlstream.text(author.get("name")) or xmlstream.text(author.get("username"))
    return SourceComment(
        thread=_dsq_id(thread),
        source_id=key,
        parent=_optional_id(parent),
        author=name,
        email=xmlstream.text(author.get("email")),
        website="",
        ip=xmlstream.text(fields.get("ipAddress")),
        created_at=cleaning.timestamp(xmlstream.text(fields.get("createdAt"))),
        text=to_text(xmlstream.text(fields.get("message")), keep_newlines=False),
        status=status,
    )
