"""Importing again: the same file adds nothing, a newer export adds only what is new, two
imports at once add each comment once, and an import stopped part way goes on when re-run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from service.core import keys
from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer
from service.store import privacy_data
from service.store.imports import ImportStopped, Summary
from tests.helpers import (
    Client,
    all_keys,
    approve,
    email_hash,
    redis_values,
    stored_comments,
    submit,
)
from tests.importing import ABOUT, LUNAR, WORDPRESS, by_import_id, run_import

NEW_REPLY = """
		<wp:comment>
			<wp:comment_id>40</wp:comment_id>
			<wp:comment_author><![CDATA[Late Reader]]></wp:comment_author>
			<wp:comment_author_email><![CDATA[]]></wp:comment_author_email>
			<wp:comment_date_gmt><![CDATA[2024-08-01 10:00:00]]></wp:comment_date_gmt>
			<wp:comment_content><![CDATA[Arrived after the first export.]]></wp:comment_content>
			<wp:comment_approved><![CDATA[1]]></wp:comment_approved>
			<wp:comment_parent>11</wp:comment_parent>
		</wp:comment>
	</item>"""


def snapshot(conn: redis.Redis) -> dict[bytes, list[bytes]]:
    """Every key's values, in a stable order (DUMP's order moves while Redis rehashes)."""
    return {key: sorted(redis_values(conn, [key]).split(b"\n")) for key in all_keys(conn)}


def test_importing_the_same_file_again_changes_nothing(
    rconn: redis.Redis, settings: Settings
) -> None:
    run_import(rconn, settings, "wordpress", WORDPRESS)
    before = snapshot(rconn)
    again = run_import(rconn, settings, "wordpress", WORDPRESS)
    assert not again.added
    assert again.present == 8
    assert again.threads == 2
    assert snapshot(rconn) == before  # not a version bump, not a reputation count


async def test_a_newer_export_merges_with_what_arrived_meanwhile(
    rconn: redis.Redis, settings: Settings, client: Client, tmp_path: Path
) -> None:
    run_import(rconn, settings, "wordpress", WORDPRESS)
    records = by_import_id(stored_comments(rconn))
    live = await submit(client, article=LUNAR, parent_id=records["11"]["id"])
    approve(rconn, settings, live)

    newer = tmp_path / "newer.xml"
    text = WORDPRESS.read_text(encoding="utf-8")
    newer.write_text(text.replace("\n\t</item>", NEW_REPLY, 1), encoding="utf-8")
    summary = run_import(rconn, settings, "wordpress", newer)
    assert dict(summary.added) == {"approved": 1}
    assert summary.present == 8

    thread = await (await client.get("/api/v1/comments", params={"article": LUNAR})).json()
    replies = thread["comments"][0]["replies"]
    # By date: the late reply (August 2024) before the live one (today).
    assert [r["name"] for r in replies] == ["山田 健二", "Late Reader", "Maria"]
    assert thread["count"] == 7


def test_two_imports_at_once_write_each_comment_once(
    redis_server: RedisServer, rconn: redis.Redis, settings: Settings
) -> None:
    results: list[Summary] = []

    def one() -> None:
        conn = redis.Redis.from_url(redis_server.url)
        results.append(run_import(conn, settings, "wordpress", WORDPRESS))
        conn.close()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(sum(r.added.values()) for r in results) == 8
    assert len(stored_comments(rconn)) == 8
    zoe = email_hash("zoe.wxr-7731@example.net")
    assert rconn.hget(keys.email_reputation(zoe), "approved") == b"2"
    assert rconn.zcard(keys.thread(LUNAR)) == 5


def test_an_erased_commenter_stays_erased(rconn: redis.Redis, settings: Settings) -> None:
    removing = settings.with_overrides(erase_mode="remove")
    run_import(rconn, removing, "wordpress", WORDPRESS)
    zoe = email_hash("zoe.wxr-7731@example.net")
    assert privacy_data.erase(rconn, removing, zoe) == 2
    again = run_import(rconn, removing, "wordpress", WORDPRESS)
    assert not again.added
    assert again.present == 8
    assert not any(r["email_hash"] == zoe for r in stored_comments(rconn).values())


@pytest.fixture
def lunar_only(redis_server: RedisServer, rconn: redis.Redis) -> Iterator[redis.Redis]:
    """A Redis user that may write the lunar article's keys and the site-wide indexes, but
    not the about page's: its import fails part way with a real Redis error."""
    tag = keys.article_tag(LUNAR)
    patterns = [f"cm:{{{tag}}}:*", "cm:rep:*", "cm:by-email:*", "cm:moderation:*"]
    # It may publish the live events of what it imports (keys.live_channel), as any writer.
    rconn.acl_setuser("importer", enabled=True, passwords=["+import-pass"], commands=["+@all"],
                      keys=patterns, channels=[keys.live_channel()])  # fmt: skip
    conn = redis.Redis(host="127.0.0.1", port=redis_server.port, username="importer",
                       password="import-pass")  # fmt: skip
    yield conn
    conn.close()
    rconn.acl_deluser("importer")


def test_a_stopped_import_says_where_and_goes_on_when_run_again(
    rconn: redis.Redis, settings: Settings, lunar_only: redis.Redis
) -> None:
    with pytest.raises(ImportStopped) as stopped:
        run_import(lunar_only, settings, "wordpress", WORDPRESS)
    assert stopped.value.summary.stopped_at == ABOUT
    assert stopped.value.summary.threads == 1
    assert dict(stopped.value.summary.added) == {"approved": 5, "held": 1, "spam": 1}
    assert {r["article"] for r in stored_comments(rconn).values()} == {LUNAR}  # whole

    summary = run_import(rconn, settings, "wordpress", WORDPRESS)
    assert dict(summary.added) == {"approved": 1}
    assert summary.present == 7
