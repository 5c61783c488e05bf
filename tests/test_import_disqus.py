"""Importing a Disqus XML export: threads first, posts after, parents in any order."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from service.core import keys
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.validation import normalize_email
from tests.helpers import SECRET, Client, stored_comments
from tests.importing import DISQUS, LAUNCH, LUNAR, by_import_id, run_import


async def test_posts_find_their_threads_and_parents(
    rconn: redis.Redis, settings: Settings, client: Client
) -> None:
    summary = run_import(rconn, settings, "disqus", DISQUS)
    assert summary.read == 9
    assert dict(summary.added) == {"approved": 5, "spam": 1}
    # 9005 (deleted by its author), 9020 (on a deleted thread); 9030 names no thread here.
    assert dict(summary.skipped) == {"deleted": 2, "no such thread": 1}
    assert summary.orphans == 1  # 9006: its parent was deleted
    assert summary.threads == 2

    thread = await (await client.get("/api/v1/comments", params={"article": LUNAR})).json()
    assert thread["count"] == 4
    [ingrid, orphan] = thread["comments"]
    assert ingrid["name"] == "Ingrid Ölund"
    assert ingrid["text"] == "Finally some good news — the landers are shared.\n\nSecond paragraph."
    assert ingrid["created_at"] == "2024-05-03T10:15:00+00:00"
    [tomas] = ingrid["replies"]
    assert tomas["text"] == "Agreed, with a source (https://example.org/source)."
    # Listed before its parent in the file, nested under it all the same.
    assert [r["name"] for r in tomas["replies"]] == ["Guest Writer"]
    assert orphan["name"] == "Left Behind"
    assert orphan["parent_id"] is None

    # The thread's link had http, a campaign query, no trailing slash and a fragment.
    launch = await (await client.get("/api/v1/comments", params={"article": LAUNCH})).json()
    assert [c["text"] for c in launch["comments"]] == ["Launch news, 日本語 too."]
    # Each thread's createdAt: what closing N days after publication counts from.
    published = rconn.hget(keys.article_settings(LUNAR), "published")
    assert published == f"{datetime(2024, 5, 3, 9, 0, tzinfo=UTC).timestamp():.3f}".encode()


def test_spam_and_addresses(rconn: redis.Redis, settings: Settings) -> None:
    run_import(rconn, settings, "disqus", DISQUS)
    records = by_import_id(stored_comments(rconn))
    assert records["9004"]["status"] == "spam"
    vault = EmailVault(SECRET)
    tomas = records["9002"]
    address = normalize_email("DSQ-Second-4471@Import-Fixture.example")
    assert vault.open(tomas["email_sealed"], tomas["id"]) == address
    assert tomas["email_hash"] == vault.email_hash(address)
    # One commenter on two threads is one commenter.
    assert records["9001"]["email_hash"] == records["9010"]["email_hash"]
    assert records["9001"]["title"] == "A station at the lunar south pole"
    assert "email_sealed" not in records["9003"]  # an anonymous guest
