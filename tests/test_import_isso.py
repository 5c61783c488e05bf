"""Importing Isso's SQLite database: paths joined to the site, modes, Markdown kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import redis

from service.core.formats.model import FormatError
from service.core.settings import Settings
from tests.helpers import Client, stored_comments
from tests.importing import LAUNCH, LUNAR, SITE, by_import_id, isso_database, run_import


async def test_threads_modes_and_text(
    rconn: redis.Redis, settings: Settings, client: Client, tmp_path: Path
) -> None:
    summary = run_import(rconn, settings, "isso", isso_database(tmp_path), site=SITE)
    assert dict(summary.added) == {"approved": 4, "held": 1}
    assert dict(summary.skipped) == {"deleted": 1}  # the placeholder of a deleted comment
    assert summary.orphans == 1  # its reply

    thread = await (await client.get("/api/v1/comments", params={"article": LUNAR})).json()
    [asa, kai] = thread["comments"]
    # Markdown as typed; the HTML Isso allowed is read as text.
    assert asa["text"] == (
        "Markdown as typed: *emphasis* and a [link](https://example.org/).\n\nSecond paragraph."
    )
    assert asa["website"] == "https://asa.example.se"
    assert asa["created_at"] == "2024-05-03T10:15:00+00:00"
    assert [r["text"] for r in asa["replies"]] == ["A reply, with HTML Isso allows."]
    assert kai["text"] == "Replying to what was deleted. 🌙"

    launch = await (await client.get("/api/v1/comments", params={"article": LAUNCH})).json()
    assert [c["name"] for c in launch["comments"]] == ["Åsa Lind"]
    records = by_import_id(stored_comments(rconn))
    assert records["3"]["status"] == "held"
    # Åsa asked Isso for reply notifications; nobody else did.
    assert records["1"]["notify_replies"] == "1"
    assert records["6"]["notify_replies"] == "0"
    assert "title" not in records["6"]  # Isso had none for that page


def test_paths_need_the_site(rconn: redis.Redis, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="--site"):
        run_import(rconn, settings, "isso", isso_database(tmp_path))
    assert stored_comments(rconn) == {}


def test_older_schema_without_newer_columns(
    rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    path = isso_database(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE comments DROP COLUMN notification")
        db.execute("ALTER TABLE comments DROP COLUMN website")
    db.close()
    summary = run_import(rconn, settings, "isso", path, site=SITE)
    assert dict(summary.added) == {"approved": 4, "held": 1}
