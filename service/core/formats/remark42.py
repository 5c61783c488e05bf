"""Remark42's backup (`backup-<site>-<date>.gz`, or the admin export), read line by line.

Gzip-compressed or plain. The first line describes the backup (`{"version": 1, "users": ...,
"posts": ...}`); every other line is one comment as JSON: `id`, `pid` (the parent's id, ""
for none), `text` (HTML rendered from Markdown), `orig` (the Markdown typed, when kept),
`user` (`name`, `id`, `ip` (a keyed hash of the IP, not an IP), `block`), `locator`
(`site`, `url`), `time` (RFC 3339, nanoseconds), `delete`, `imported`, `title`. Remark42
keeps no addresses with comments. Comments of one page need not be together in the file, so
the importer groups them before it writes.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

from service.core.formats import cleaning
from service.core.formats.html_text import to_text
from service.core.formats.model import (
    FormatError,
    Item,
    SourceComment,
    SourceThread,
    open_export,
)
from service.core.statuses import Status

GZIP_MAGIC = b"\x1f\x8b"
# One comment is a few KB; a line this long is not a comment (and would fill memory).
MAX_LINE = 16 * 1024 * 1024


def read(path: Path) -> Iterator[Item]:
    with open_export(path) as raw:
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        binary: BinaryIO = gzip.GzipFile(fileobj=raw) if compressed else raw  # type: ignore[assignment]
        lines = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline=None)
        try:
            yield from _read(lines)
        except (OSError, EOFError, zlib.error) as exc:  # a damaged or cut-off gzip stream
            raise FormatError(f"the compressed file is damaged or truncated ({exc})") from None


def _read(lines: IO[str]) -> Iterator[Item]:
    pages: set[str] = set()
    number = 0
    while True:
        number += 1
        try:
            line = lines.readline(MAX_LINE)
        except UnicodeDecodeError as exc:
            raise FormatError(f"not UTF-8 text ({exc.reason})", number) from None
        if not line:
            break
        if len(line) >= MAX_LINE:
            raise FormatError("a line longer than any comment: not a Remark42 backup", number)
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FormatError(f"not JSON ({exc.msg})", number, exc.colno) from None
        if not isinstance(value, dict):
            raise FormatError("not a Remark42 backup: a line that is not a JSON object", number)
        if "locator" not in value:
            if number == 1 or "version" in value:
                continue  # the backup's own description
            raise FormatError("not a Remark42 comment: no locator", number)
        comment = _comment(value, number)
        if comment.thread not in pages:
            pages.add(comment.thread)
            yield SourceThread(key=comment.thread, url=comment.thread, title=_text(value, "title"))
        yield comment


def _text(value: dict[str, Any], name: str) -> str:
    found = value.get(name)
    return found if isinstance(found, str) else ""


def _comment(value: dict[str, Any], number: int) -> SourceComment:
    locator = value.get("locator")
    user = value.get("user")
    if not isinstance(locator, dict) or not isinstance(user, dict):
        raise FormatError("not a Remark42 comment: locator and user must be objects", number)
    url, comment_id = _text(locator, "url"), _text(value, "id")
    if not url or not comment_id:
        raise FormatError("a comment without its id or its page URL", number)
    original = _text(value, "orig")
    if value.get("delete") is True:
        status = Status.DELETED
    elif user.get("block") is True:
        status = Status.HELD  # a blocked user's comments are hidden: a moderator decides again
    else:
        status = Status.APPROVED
    return SourceComment(
        thread=url,
        source_id=comment_id,
        parent=_text(value, "pid") or None,
        author=_text(user, "name"),
        email="",
        website="",
        ip="",  # Remark42 stores a keyed hash of the IP, not the IP
        created_at=cleaning.timestamp(_text(value, "time")),
        text=original if original else to_text(_text(value, "text"), keep_newlines=False),
        status=status,
    )
