"""Importing a WordPress export (WXR): threads, statuses, addresses, the public thread."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from service.core import keys
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.validation import normalize_email
from service.store import articles, privacy_data
from tests.helpers import SECRET, Client, stored_comments, worker_env
from tests.importing import ABOUT, LUNAR, WORDPRESS, by_import_id, run_import


async def test_threads_statuses_and_text_arrive_as_the_site_had_them(
    rconn: redis.Redis, settings: Settings, client: Client
) -> None:
    summary = run_import(rconn, settings, "wordpress", WORDPRESS)

    assert summary.read == 14
    assert dict(summary.added) == {"approved": 6, "held": 1, "spam": 1}
    # 16 (trash) and 21 (post-trashed); 18 and 19; 22 (a shop's order note); 31 (no words).
    assert dict(summary.skipped) == {
        "deleted": 2,
        "pingbacks": 2,
        "other types": 1,
        "empty": 1,
        "addresses not valid": 1,
    }
    assert summary.orphans == 2  # 17 (its parent is in the bin) and 20 (parent 999)
    assert summary.threads == 2

    resp = await client.get("/api/v1/comments", params={"article": LUNAR})
    thread = await resp.json()
    assert thread["count"] == 5
    [zoe, binned, lost] = thread["comments"]
    assert zoe["name"] == "Zoë Harlow"
    assert zoe["website"] == "https://zoe.example.net/"
    assert zoe["text"] == (
        "Sharing the landers makes sense: they cost a fortune.\n\n"
        "Second paragraph, with a link (https://nasa.example.gov/artemis) & an ampersand."
    )
    assert zoe["created_at"] == "2024-05-03T10:15:00+00:00"
    [kenji] = zoe["replies"]
    assert kenji["name"] == "山田 健二"
    assert kenji["text"] == "> they cost a fortune\n\n月面基地は素晴らしい 🚀 — agreed."
    assert [r["text"] for r in kenji["replies"]] == ["Thank you, Kenji. Nested three deep."]
    assert binned["parent_id"] is None
    assert binned["name"] == "Reply To The Bin"
    # Its GMT date was zero: the local one is used. A javascript: "website" is dropped.
    assert lost["created_at"] == "2024-05-05T10:00:00+00:00"
    assert lost["website"] is None

    about = await (await client.get("/api/v1/comments", params={"article": ABOUT})).json()
    assert [(c["name"], c["text"]) for c in about["comments"]] == [
        ("Anonymous", "An anonymous note on the about page.")
    ]
    counts = await client.get("/api/v1/counts", params=[("article", LUNAR), ("article", ABOUT)])
    assert (await counts.json())["counts"] == {LUNAR: 5, ABOUT: 1}


def test_held_and_spam_wait_for_moderators_with_a_reason(
    rconn: redis.Redis, settings: Settings
) -> None:
    run_import(rconn, settings, "wordpress", WORDPRESS)
    records = by_import_id(stored_comments(rconn))
    held, spam = records["14"], records["15"]
    assert held["status"] == "held"
    assert spam["status"] == "spam"
    assert rconn.zscore(keys.held(), held["id"]) == float(held["created_at"])
    assert rconn.zscore(keys.spam_folder(), spam["id"]) is not None
    assert "waiting for moderation in WordPress" in held["reasons"]
    assert "marked as spam in WordPress" in spam["reasons"]
    assert held["decided_by"] == "import:wordpress"
    # Old spam marks no IP or website as a spam source today.
    assert not list(rconn.scan_iter("cm:rep:ip:*"))
    assert not list(rconn.scan_iter("cm:rep:domain:*"))


def test_addresses_are_sealed_and_keyed_exactly_as_intake_does(
    rconn: redis.Redis, settings: Settings
) -> None:
    run_import(rconn, settings, "wordpress", WORDPRESS)
    vault = EmailVault(SECRET)
    records = by_import_id(stored_comments(rconn))
    zoe_hash = vault.email_hash(normalize_email("zoe.wxr-7731@example.net"))
    # Two spellings of one address are one commenter, with two approved comments.
    assert records["11"]["email_hash"] == records["13"]["email_hash"] == zoe_hash
    assert vault.open(records["11"]["email_sealed"], records["11"]["id"]) == normalize_email(
        "Zoe.Wxr-7731@Example.NET"
    )
    assert rconn.hget(keys.email_reputation(zoe_hash), "approved") == b"2"
    assert not rconn.exists(keys.trusted_browsers(zoe_hash))  # known is not trusted
    idn = normalize_email("wxr-idn-5512@bücher-import.example")
    assert records["12"]["email_hash"] == vault.email_hash(idn)
    # The commenter's own data request finds the imported comments.
    exported = privacy_data.export(rconn, zoe_hash)
    assert {c["id"] for c in exported} == {records["11"]["id"], records["13"]["id"]}
    assert all("email" not in field for c in exported for field in c)
    # No address, or none that is one: nothing sealed, no commenter index.
    assert "email_sealed" not in records["17"]
    assert "email_sealed" not in records["20"]
    assert records["17"]["email_hash"] == records["20"]["email_hash"]
    assert not rconn.exists(keys.by_email(records["17"]["email_hash"]))


def test_ips_are_kept_only_within_the_retention_period(
    rconn: redis.Redis, settings: Settings
) -> None:
    run_import(rconn, settings, "wordpress", WORDPRESS)
    assert not any("ip" in r for r in stored_comments(rconn).values())  # from 2024: too old
    rconn.flushall()

    run_import(rconn, settings.with_overrides(retention_days=100_000), "wordpress", WORDPRESS)
    records = by_import_id(stored_comments(rconn))
    assert records["11"]["ip"] == "203.0.113.7"
    assert records["12"]["ip"] == "2001:db8::7"
    # Listed for the retention sweep, by creation time, as intake's are.
    assert rconn.zscore(keys.retention(), records["11"]["id"]) == float(records["11"]["created_at"])


def test_pingbacks_are_imported_when_the_setting_asks(
    rconn: redis.Redis, settings: Settings
) -> None:
    summary = run_import(
        rconn, settings.with_overrides(import_pingbacks=True), "wordpress", WORDPRESS
    )
    assert summary.added["approved"] == 8
    assert "pingbacks" not in summary.skipped
    records = by_import_id(stored_comments(rconn))
    assert records["18"]["name"] == "Space Blog"
    assert records["18"]["comment"] == "[…] a station at the south pole […]"
    assert records["18"]["website"] == "https://space-blog.example/2024/05/moon/"


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_older_wxr_versions_with_bom_and_crlf_read_the_same(
    rconn: redis.Redis, settings: Settings, tmp_path: Path, version: str
) -> None:
    text = WORDPRESS.read_text(encoding="utf-8").replace("/export/1.2/", f"/export/{version}/")
    older = tmp_path / "older.xml"
    older.write_bytes(codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode())
    summary = run_import(rconn, settings, "wordpress", older)
    assert dict(summary.added) == {"approved": 6, "held": 1, "spam": 1}
    records = by_import_id(stored_comments(rconn))
    assert "\r" not in records["11"]["comment"]
    assert "\n\n" in records["11"]["comment"]


def test_article_ids_follow_the_url_settings(rconn: redis.Redis, settings: Settings) -> None:
    as_is = settings.with_overrides(import_scheme="keep", import_trailing_slash="keep")
    run_import(rconn, as_is, "wordpress", WORDPRESS)
    articles = {r["article"] for r in stored_comments(rconn).values()}
    # Host case is always normalised (browsers do it); scheme and slash as in the file.
    assert articles == {"http://news.example.org/2024/05/lunar-station", ABOUT}


def test_the_command_logs_progress_and_prints_a_summary(settings: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.entry.cli", "import", "wordpress", str(WORDPRESS)],
        env=worker_env(settings) | {"COMMENTS_LOG_LEVEL": "INFO"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    summary = done.stdout.splitlines()
    assert summary[0].startswith("Imported from WordPress in ")
    assert "  added            approved 6, held 1, spam 1" in summary
    assert "  orphans          2 (their parent is not imported: top level)" in summary
    # Not a terminal: plain log lines (JSON here), not a progress bar.
    messages = [json.loads(line)["msg"] for line in done.stderr.splitlines()]
    assert "import wordpress, reading: 14 comments" in messages[0]
    assert any("import wordpress, writing: 14 of 14 comments" in m for m in messages)


def test_a_pages_publication_date_comes_along_unless_an_admin_gave_one(
    rconn: redis.Redis, settings: Settings
) -> None:
    """What COMMENTS_CLOSE_AFTER_DAYS counts from: the post's date (post_date_gmt), not the
    first imported comment's; an admin's date stays."""
    chosen = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    articles.set_published(rconn, ABOUT, "admin", chosen)
    run_import(rconn, settings, "wordpress", WORDPRESS)

    def state(article: str) -> articles.ArticleState:
        found = [
            rconn.hmget(keys.article_settings(article), articles.FIELDS),
            rconn.zrange(keys.thread(article), 0, 0, withscores=True),
        ]
        return articles.state_of(found, 30, time.time())

    assert state(LUNAR).published == datetime(2024, 5, 3, 9, 0, tzinfo=UTC).timestamp()
    assert state(LUNAR).closed  # thirty days after May 2024 have passed
    assert state(ABOUT).published == chosen
