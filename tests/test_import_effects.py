"""What an import does beside storing: no scoring, no jobs, no mail; readers' caches follow;
moderators can act on imported comments; returning readers are known, not trusted."""

from __future__ import annotations

import json

import redis

from service.core import keys
from service.core.formats import READERS
from service.core.settings import Settings
from service.entry.commands import transfer
from service.store import moderation
from tests.helpers import (
    Client,
    Recorder,
    all_keys,
    drain,
    email_hash,
    make_settings,
    stored_comments,
    submit,
)
from tests.importing import ABOUT, LUNAR, WORDPRESS, by_import_id, run_import


async def test_no_job_no_score_no_notification_and_caches_follow(
    rconn: redis.Redis, settings: Settings, client: Client, smtp: tuple[int, Recorder]
) -> None:
    port, recorder = smtp
    mailing = settings.with_overrides(
        smtp_url=f"smtp://127.0.0.1:{port}", moderator_emails=("desk@example.org",), notify="all"
    )
    first = await client.get("/api/v1/comments", params={"article": LUNAR})
    assert (await first.json())["count"] == 0

    run_import(rconn, mailing, "wordpress", WORDPRESS)
    assert not [k for k in all_keys(rconn) if k.startswith((b"rq:", b"cm:pending", b"cm:stats"))]
    assert not any("score" in r for r in stored_comments(rconn).values())
    await drain(mailing)
    assert recorder.messages == []

    # One version bump per thread that gained public comments: ETags and caches move.
    assert rconn.get(keys.thread_version(LUNAR)) == b"1"
    after = await client.get(
        "/api/v1/comments",
        params={"article": LUNAR},
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert after.status == 200
    assert after.headers["ETag"] != first.headers["ETag"]


async def test_moderators_act_on_imported_comments(
    rconn: redis.Redis, settings: Settings, client: Client
) -> None:
    run_import(rconn, settings, "wordpress", WORDPRESS)
    records = by_import_id(stored_comments(rconn))
    for import_id, action in (("14", "approve"), ("30", "reject"), ("17", "spam"), ("15", "ham")):
        outcome = moderation.apply(rconn, settings, records[import_id]["id"], action, "desk")
        assert outcome.result == moderation.DONE, (import_id, outcome)
    counts = await client.get("/api/v1/counts", params=[("article", LUNAR), ("article", ABOUT)])
    # +14 and +15 (spam, now not), -17 on the lunar thread; the about page's one is rejected.
    assert (await counts.json())["counts"] == {LUNAR: 6, ABOUT: 0}
    held_author = email_hash("wxr-held-3308@import-fixture.example")
    assert rconn.hget(keys.email_reputation(held_author), "approved") == b"1"


async def test_a_returning_reader_is_known_but_must_prove_it(
    rconn: redis.Redis, settings: Settings, client: Client
) -> None:
    run_import(rconn, settings, "wordpress", WORDPRESS)
    returning = await submit(client, article=LUNAR, email="ZOE.WXR-7731@example.net")
    stranger = await submit(client, article=LUNAR, email="never-seen-6120@example.org")
    await drain(settings)
    stored = stored_comments(rconn)
    codes = {
        cid: {r["code"] for r in json.loads(stored[cid]["reasons"])}
        for cid in (returning, stranger)
    }
    # Imported approved comments made the address known; without the browser that earned
    # it (or a confirmation by mail) it is held as unproven, never trusted on the address.
    assert stored[returning]["status"] == "held"
    assert "unproven_address" in codes[returning]
    assert "unproven_address" not in codes[stranger]


def test_a_dry_run_reads_everything_and_writes_nothing(
    rconn: redis.Redis, redis_server: object
) -> None:
    settings = make_settings("redis://127.0.0.1:1/0")  # unreachable: a dry run never asks
    summary = run_import(None, settings, "wordpress", WORDPRESS, dry_run=True)
    assert dict(summary.added) == {"approved": 6, "held": 1, "spam": 1}
    assert summary.dry_run
    assert all_keys(rconn) == []


def test_the_command_offers_every_reader() -> None:
    assert set(transfer.SOURCES) == set(READERS)
