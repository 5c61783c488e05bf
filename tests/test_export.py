"""`comments export`: JSON lines and WXR, streamed; addresses only on request, only to a file."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from lxml import etree

from service.core import keys
from service.core.settings import Settings
from service.core.validation import normalize_email
from service.store import privacy_data
from tests.helpers import (
    Client,
    approve,
    email_hash,
    run_cli,
    stored_comments,
    submit,
    worker_env,
)
from tests.importing import ABOUT, LUNAR, WORDPRESS, by_import_id, run_import

WP = "{http://wordpress.org/export/1.2/}"


def jsonl(settings: Settings, *args: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in run_cli(settings, "export", *args).splitlines()]


async def test_jsonl_has_every_comment_and_no_address(
    rconn: redis.Redis, settings: Settings, client: Client
) -> None:
    run_import(rconn, settings.with_overrides(retention_days=100_000), "wordpress", WORDPRESS)
    live = await submit(client, article=LUNAR, name="Live Reader")
    approve(rconn, settings, live)
    rows = jsonl(settings)
    assert len(rows) == 9
    assert {tuple(sorted(row)) for row in rows} == {
        ("article", "created_at", "id", "name", "parent_id", "status", "text", "title", "website")
    }
    by_name = {row["name"]: row for row in rows}
    [zoe] = [row for row in rows if str(row["text"]).startswith("Sharing the landers")]
    assert zoe["article"] == LUNAR
    assert zoe["status"] == "approved"
    assert zoe["created_at"] == "2024-05-03T10:15:00Z"
    assert by_name["山田 健二"]["parent_id"] == zoe["id"]
    assert {row["status"] for row in rows} == {"approved", "held", "spam"}
    # Article by article, oldest first.
    lunar = [row for row in rows if row["article"] == LUNAR]
    dates = [str(row["created_at"]) for row in lunar]
    assert dates == sorted(dates)
    assert by_name["Live Reader"] == lunar[-1]

    only = jsonl(settings, "--article", ABOUT)
    assert [row["text"] for row in only] == ["An anonymous note on the about page."]


def test_erased_comments_are_exported_as_they_are_now(
    rconn: redis.Redis, settings: Settings
) -> None:
    run_import(rconn, settings, "wordpress", WORDPRESS)
    privacy_data.erase(rconn, settings, email_hash("zoe.wxr-7731@example.net"))
    names = [row["name"] for row in jsonl(settings, "--article", LUNAR)]
    assert "Zoë Harlow" not in names
    assert names.count("Anonymous") == 2


def test_wxr_goes_back_in_unchanged(rconn: redis.Redis, settings: Settings, tmp_path: Path) -> None:
    run_import(rconn, settings, "wordpress", WORDPRESS)
    before = stored_comments(rconn)
    out = tmp_path / "export.xml"
    run_cli(settings, "export", "--format", "wxr", "--output", str(out))
    tree = etree.parse(str(out))
    comments = tree.findall(f"channel/item/{WP}comment")
    assert len(comments) == 8
    approved = {c.findtext(f"{WP}comment_approved") for c in comments}
    assert approved == {"1", "0", "spam"}
    assert all(c.findtext(f"{WP}comment_author_email") == "" for c in comments)

    # Into the same service: the same articles, the same ids, nothing added.
    again = run_import(rconn, settings, "wordpress", out)
    assert not again.added
    assert again.present == 8
    # Into an empty one: every comment as it was, thread structure included.
    rconn.flushall()
    summary = run_import(rconn, settings, "wordpress", out)
    assert dict(summary.added) == {"approved": 6, "held": 1, "spam": 1}
    after = stored_comments(rconn)
    assert set(after) == set(before)
    for cid, record in after.items():
        for field in ("article", "parent_id", "name", "comment", "status", "created_at", "title"):
            assert record.get(field) == before[cid].get(field), (cid, field)


def test_addresses_only_to_a_named_private_file(
    rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    run_import(rconn, settings, "wordpress", WORDPRESS)
    with pytest.raises(Exception, match="exit status 2"):
        run_cli(settings, "export", "--include-emails")
    out = tmp_path / "move.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "service.entry.cli", "export", "--include-emails",
         "--output", str(out)],
        env=worker_env(settings), capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert done.stdout == ""
    assert "WITH commenters' email addresses in clear" in done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    emails = {row["name"]: row.get("email") for row in rows}
    assert emails["Zoë Harlow"] == normalize_email("zoe.wxr-7731@example.net")
    assert emails["山田 健二"] == normalize_email("wxr-idn-5512@bücher-import.example")
    assert emails["Anonymous"] is None  # no address, no key
    records = by_import_id(stored_comments(rconn))
    assert rconn.exists(keys.comment(records["11"]["id"]))
