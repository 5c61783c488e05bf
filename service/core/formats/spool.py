"""A whole export read once into a temporary SQLite file, then handed out thread by thread.

Two reasons. An export is read completely before anything is written, so a file that turns
out to be truncated, hostile or of another kind writes nothing at all. And Disqus and
Remark42 spread one page's comments over the whole file: grouping them on disk keeps memory
flat for files of any size (only one thread is in memory at a time).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import Any

from service.core.formats.model import Kind, SourceComment, SourceThread
from service.core.statuses import Status

BATCH = 2000
FIELDS = tuple(f.name for f in fields(SourceComment))


class Spool:
    def __init__(self, directory: str | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="comments-import-", dir=directory)
        self._db = sqlite3.connect(Path(self._dir.name) / "spool.sqlite3")
        # A scratch file: losing it to a crash costs a re-run, never data.
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE threads (seq INTEGER PRIMARY KEY, key TEXT UNIQUE, article TEXT,
                                  problem TEXT, title TEXT, deleted INTEGER, published REAL);
            CREATE TABLE comments (seq INTEGER PRIMARY KEY, thread TEXT, data TEXT);
            """
        )
        self._pending: list[tuple[str, str]] = []
        self.threads = 0
        self.comments = 0

    def add_thread(self, thread: SourceThread, article: str | None, problem: str | None) -> None:
        """A page and its article id, or the problem that leaves it without one."""
        row = (thread.key, article, problem, thread.title, int(thread.deleted), thread.published)
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO threads (key, article, problem, title, deleted, published) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
        self.threads += cursor.rowcount

    def add_comment(self, comment: SourceComment) -> None:
        fields = [getattr(comment, name) for name in FIELDS]
        self._pending.append((comment.thread, json.dumps(fields, ensure_ascii=False)))
        self.comments += 1
        if len(self._pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO comments (thread, data) VALUES (?, ?)", self._pending)
        self._pending.clear()

    def without_thread(self) -> int:
        """Comments that name a thread the file does not have."""
        self._flush()
        query = "SELECT COUNT(*) FROM comments WHERE thread NOT IN (SELECT key FROM threads)"
        return int(self._db.execute(query).fetchone()[0])

    def grouped(self) -> Iterator[tuple[Page, list[SourceComment]]]:
        """Each thread (in file order) with its comments (in file order)."""
        self._flush()
        self._db.execute("CREATE INDEX IF NOT EXISTS by_thread ON comments (thread, seq)")
        pages = self._db.execute(
            "SELECT key, article, problem, title, deleted, published FROM threads ORDER BY seq"
        )
        for key, article, problem, title, deleted, published in pages.fetchall():
            rows = self._db.execute(
                "SELECT data FROM comments WHERE thread = ? ORDER BY seq", (key,)
            )
            page = Page(key, article, problem, title, bool(deleted), published)
            yield page, [_comment(json.loads(data)) for (data,) in rows]

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Page:
    """A spooled thread: its article id, or why it has none."""

    key: str
    article: str | None
    problem: str | None
    title: str
    deleted: bool
    published: float | None = None


def _comment(values: list[Any]) -> SourceComment:
    fields = dict(zip(FIELDS, values, strict=True))
    # JSON gave back the enums' values; code compares them by type.
    fields["status"], fields["kind"] = Status(fields["status"]), Kind(fields["kind"])
    return SourceComment(**fields)
