"""What a reader makes of an export: threads and comments as the source had them.

Readers only read: they turn one file into these records, in file order, and raise
FormatError (with the position) for anything they cannot read. Everything the service decides
(article ids, cleaned fields, comment ids, which comments are kept) happens afterwards, in
`service/core/formats/plan.py`, the same way for every source.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from service.core.statuses import Status


class Kind(StrEnum):
    COMMENT = "comment"
    PINGBACK = "pingback"
    TRACKBACK = "trackback"
    OTHER = "other"  # plugins' own types (order notes, reviews...): never imported


@dataclass(frozen=True, slots=True)
class SourceThread:
    key: str  # the source's own id for the page (WordPress post id, Disqus dsq:id, ...)
    url: str  # the page's URL as the source has it (Isso: only its path)
    title: str = ""
    # An article id to use as it is: files this service exported carry the original one.
    article: str | None = None
    # A page removed in the old system: its comments count as deleted.
    deleted: bool = False
    # When the page was published (Unix time), if the source says: what closing a thread
    # some days after publication (COMMENTS_CLOSE_AFTER_DAYS) counts from.
    published: float | None = None


@dataclass(frozen=True, slots=True)
class SourceComment:
    thread: str  # SourceThread.key
    source_id: str
    parent: str | None  # the parent's source_id
    author: str
    email: str
    website: str
    ip: str
    created_at: float | None  # Unix time; None when the source has no usable date
    text: str  # plain text (readers turn HTML into text)
    # APPROVED, HELD, SPAM, or DELETED (deleted comments are counted, never imported).
    status: Status
    kind: Kind = Kind.COMMENT
    notify_replies: bool = False
    # The comment's id in this service: files this service exported carry it.
    comment_id: str | None = None


Item = SourceThread | SourceComment


class FormatError(ValueError):
    """A file a reader cannot read: one line, with the position when the parser knows it.

    Never quotes the file's content (it holds addresses)."""

    def __init__(self, detail: str, line: int | None = None, column: int | None = None) -> None:
        self.detail, self.line, self.column = detail, line, column
        where = ""
        if line is not None:
            where = f"line {line}" + (f", column {column}" if column is not None else "") + ": "
        super().__init__(where + detail)


def open_export(path: Path) -> BinaryIO:
    """The export file, open for reading, or the FormatError that says why it is not."""
    try:
        return path.open("rb")
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise FormatError(f"cannot read the file ({reason})") from None


@dataclass(frozen=True, slots=True)
class ArticleComments:
    """One article's comments as stored (service/store/exports.py's fields), oldest first:
    what the export writers write."""

    article: str
    title: str
    comments: list[dict[str, str]]
