"""What the import and export tests share: the fixture files, an in-process import, reading
what it wrote back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import redis

from service.core.settings import Settings
from service.store import imports

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
WORDPRESS = FIXTURES / "wordpress.xml"
DISQUS = FIXTURES / "disqus.xml"
REMARK42 = FIXTURES / "remark42.txt"
SITE = "https://news.example.org"
# The article ids the fixtures' pages get with the default settings.
LUNAR = "https://news.example.org/2024/05/lunar-station/"
LAUNCH = "https://news.example.org/2024/06/launch-window/"
ABOUT = "https://news.example.org/about/"


class Quiet:
    """Progress that goes nowhere."""

    def start(self, phase: str, total: int | None) -> None:
        pass

    def advance(self, comments: int) -> None:
        pass


def run_import(
    conn: redis.Redis | None,
    settings: Settings,
    source: str,
    path: Path,
    *,
    site: str | None = None,
    dry_run: bool = False,
) -> imports.Summary:
    request = imports.Request(source, path, site, dry_run)
    return imports.run(conn, settings, request, Quiet())


def isso_database(directory: Path) -> Path:
    """The Isso fixture as the SQLite file Isso keeps."""
    path = directory / "comments.db"
    with sqlite3.connect(path) as db:
        db.executescript((FIXTURES / "isso.sql").read_text(encoding="utf-8"))
    db.close()
    return path


def by_import_id(records: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Stored comments by the id they had in the source."""
    return {r["import_id"]: r for r in records.values() if "import_id" in r}
