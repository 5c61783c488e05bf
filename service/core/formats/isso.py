"""Isso's SQLite database (the file its `[general] dbpath` names), opened read-only.

`threads(id, uri, title)`: `uri` is the page's path only. `comments(tid, id, parent, created,
modified, mode, remote_addr, text, author, email, website, likes, dislikes, voters,
notification)`: `mode` 1 is accepted, 2 waiting for moderation, 4 deleted (kept as a
placeholder while it has replies); `text` is what the commenter typed (Markdown, with the
HTML Isso allows); `created` is Unix time; `remote_addr` is already anonymised by Isso (its
last octet zeroed); `notification` 1 asked for reply notifications. Columns that older
versions lack read as empty.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from service.core.formats.html_text import to_text
from service.core.formats.model import FormatError, Item, SourceComment, SourceThread
from service.core.statuses import Status

MODES = {1: Status.APPROVED, 2: Status.HELD, 4: Status.DELETED}
COLUMNS = (
    "id",
    "parent",
    "created",
    "mode",
    "remote_addr",
    "text",
    "author",
    "email",
    "website",
    "notification",
)


def read(path: Path) -> Iterator[Item]:
    if not path.is_file():
        raise FormatError("no such file")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise FormatError(f"cannot open the database ({exc})") from None
    try:
        yield from _read(db)
    except sqlite3.DatabaseError as exc:
        raise FormatError(f"not an Isso database: {exc}") from None
    finally:
        db.close()


def _read(db: sqlite3.Connection) -> Iterator[Item]:
    present = {row[1] for row in db.execute("PRAGMA table_info(comments)")}
    threads = {row[1] for row in db.execute("PRAGMA table_info(threads)")}
    if not {"id", "tid", "text"} <= present or not {"id", "uri"} <= threads:
        raise FormatError("not an Isso database: no threads and comments tables")
    select = ", ".join(c if c in present else "NULL" for c in COLUMNS)
    title = "title" if "title" in threads else "NULL"
    for tid, uri, page_title in db.execute(f"SELECT id, uri, {title} FROM threads ORDER BY id"):  # noqa: S608 -- column names from COLUMNS
        key = str(tid)
        yield SourceThread(key=key, url=str(uri or ""), title=str(page_title or ""))
        rows = db.execute(f"SELECT {select} FROM comments WHERE tid = ? ORDER BY id", (tid,))  # noqa: S608 -- as above
        for row in rows:
            yield _comment(key, dict(zip(COLUMNS, row, strict=True)))


def _comment(thread: str, row: dict[str, object]) -> SourceComment:
    created = row["created"]
    mode = row["mode"]
    return SourceComment(
        thread=thread,
        source_id=str(row["id"]),
        parent=str(row["parent"]) if row["parent"] is not None else None,
        author=str(row["author"] or ""),
        email=str(row["email"] or ""),
        website=str(row["website"] or ""),
        ip=str(row["remote_addr"] or ""),
        created_at=float(created) if isinstance(created, int | float) else None,
        text=to_text(str(row["text"] or ""), keep_newlines=True),
        # Isso added modes over time; one it did not have then is for a moderator to see.
        status=MODES.get(mode if isinstance(mode, int) else 1, Status.HELD),
        notify_replies=row["notification"] == 1,
    )
