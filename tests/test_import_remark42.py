"""Importing a Remark42 backup: gzip or plain, Markdown preferred to its HTML."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import redis

from service.core.formats.model import FormatError
from service.core.settings import Settings
from tests.helpers import Client, stored_comments
from tests.importing import LAUNCH, LUNAR, REMARK42, by_import_id, run_import


@pytest.mark.parametrize("compressed", [True, False])
async def test_backup_comments_arrive(
    rconn: redis.Redis, settings: Settings, client: Client, tmp_path: Path, compressed: bool
) -> None:
    path = REMARK42
    if compressed:
        path = tmp_path / "backup-news-20240701.gz"
        path.write_bytes(gzip.compress(REMARK42.read_bytes()))
    summary = run_import(rconn, settings.with_overrides(retention_days=100_000), "remark42", path)
    assert dict(summary.added) == {"approved": 4, "held": 1}
    assert dict(summary.skipped) == {"deleted": 1}
    assert summary.orphans == 1

    thread = await (await client.get("/api/v1/comments", params={"article": LUNAR})).json()
    [lena, mo] = thread["comments"]
    assert lena["text"] == "Rendered **HTML** from Markdown, with a [link](https://example.org/a)."
    assert lena["created_at"] == "2024-05-03T10:15:00+00:00"  # +02:00, nanoseconds
    assert [r["text"] for r in lena["replies"]] == ["A reply without its Markdown kept: only HTML."]
    assert mo["text"] == "Under a deleted comment."
    assert mo["parent_id"] is None
    launch = await (await client.get("/api/v1/comments", params={"article": LAUNCH})).json()
    assert [c["text"] for c in launch["comments"]] == ["Second page, unicode: Ünïcödé ✓"]

    records = by_import_id(stored_comments(rconn))
    assert records["3f1c6e2a-1d2b-4b8e-9c55-000000000005"]["status"] == "held"  # blocked user
    # Remark42 keeps a hash of the IP, never the IP: nothing to keep, whatever the retention.
    assert not any("ip" in r or "email_sealed" in r for r in records.values())


def test_a_cut_off_backup_is_refused(
    rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    data = gzip.compress(REMARK42.read_bytes())
    cut = tmp_path / "backup.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="truncated"):
        run_import(rconn, settings, "remark42", cut)
    assert stored_comments(rconn) == {}
