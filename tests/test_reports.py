"""Reports over HTTP: reasons and the illegal-content statement, one per reader, the flagging
and hiding thresholds, the rate limit, and nothing that names a reader."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys
from service.core.settings import Settings
from service.store import moderation, privacy_data
from service.web.app import create_app
from tests.helpers import (
    ARTICLE,
    Client,
    approve,
    email_hash,
    redis_values,
    seed_thread,
    stored_comments,
    submit,
)

MODERATOR = "mod-token-" + "m" * 32


def reader(n: int) -> str:
    return f"{n:032x}"


async def report(
    client: Client, comment_id: str, n: int = 1, expect: int = 202, **fields: Any
) -> dict[str, Any]:
    body = {"reader": reader(n), "reason": "abuse", **fields}
    resp = await client.post(f"/api/v1/comments/{comment_id}/reports", json=body)
    assert resp.status == expect, await resp.text()
    return dict(await resp.json())


@pytest.fixture
def thresholds(settings: Settings) -> Settings:
    return settings.with_overrides(
        reports_flag=2,
        reports_hide=4,
        limit_reports=(3, 600),
        moderator_tokens=(("mod", MODERATOR),),
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )


@pytest.fixture
async def reporting(thresholds: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(thresholds))) as test_client:
        yield test_client


async def reported_queue(client: Client) -> list[dict[str, Any]]:
    resp = await client.get(
        "/api/v1/moderation/queue?status=reported",
        headers={"Authorization": f"Bearer {MODERATOR}"},
    )
    assert resp.status == 200, await resp.text()
    return list((await resp.json())["items"])


async def test_reports_flag_then_hide_a_comment_until_a_moderator_decides(
    reporting: Client, rconn: redis.Redis, thresholds: Settings
) -> None:
    [comment] = seed_thread(rconn, ARTICLE, 1)
    # Each reader from an address of their own (the per-IP limit is 3 here).
    for n in range(1, 5):
        headers = {"X-Forwarded-For": f"203.0.113.{n}"}
        resp = await reporting.post(
            f"/api/v1/comments/{comment}/reports",
            json={"reader": reader(n), "reason": "spam"},
            headers=headers,
        )
        assert resp.status == 202
        queue = [i["id"] for i in await reported_queue(reporting)]
        status = stored_comments(rconn)[comment]["status"]
        if n == 1:
            assert (queue, status) == ([], "approved")
        elif n < 4:
            assert (queue, status) == ([comment], "approved")  # flagged for moderators
        else:
            assert (queue, status) == ([comment], "held")  # hidden until they decide
    [item] = await reported_queue(reporting)
    assert [r["reason"] for r in item["reports"]] == ["spam"] * 4
    page = await reporting.get(f"/api/v1/comments?article={ARTICLE}&limit=20")
    assert (await page.json())["comments"] == []

    # The moderator publishes it again: it leaves the queue, and later reports do not hide it.
    moderation.apply(rconn, thresholds, comment, "approve", "mod")
    assert await reported_queue(reporting) == []
    await report(reporting, comment, 9)
    assert stored_comments(rconn)[comment]["status"] == "approved"


async def test_a_moderator_dismisses_the_reports_of_a_published_comment(
    reporting: Client, rconn: redis.Redis, thresholds: Settings
) -> None:
    [comment] = seed_thread(rconn, ARTICLE, 1)
    await report(reporting, comment, 1)
    await report(reporting, comment, 2)
    assert [i["id"] for i in await reported_queue(reporting)] == [comment]
    outcome = moderation.apply(rconn, thresholds, comment, "approve", "mod")
    assert outcome.result == moderation.ALREADY
    assert await reported_queue(reporting) == []


async def test_one_report_per_reader_and_the_same_answer_twice(
    reporting: Client, rconn: redis.Redis
) -> None:
    [comment] = seed_thread(rconn, ARTICLE, 1)
    first = await report(reporting, comment, 1)
    again = await report(reporting, comment, 1, reason="spam")
    assert first == again == {"id": comment, "status": "received"}
    assert stored_comments(rconn)[comment]["reports"] == "1"
    assert await reported_queue(reporting) == []


async def test_illegal_content_needs_a_statement(reporting: Client, rconn: redis.Redis) -> None:
    [comment] = seed_thread(rconn, ARTICLE, 1)
    for statement in (None, "", "   "):
        fields: dict[str, Any] = {} if statement is None else {"statement": statement}
        body = await report(reporting, comment, expect=422, reason="illegal", **fields)
        assert body["error"]["fields"]["statement"]["code"] == "required"
    statement = "This names a private person's home address (doxxing), illegal under § 126a StGB."
    await report(reporting, comment, reason="illegal", statement=statement)
    [stored] = rconn.hvals(keys.reports(comment))
    assert json.loads(stored)["statement"] == statement
    assert json.loads(stored)["reason"] == "illegal"


async def test_bad_reports_are_refused_with_their_field(
    reporting: Client, rconn: redis.Redis, thresholds: Settings
) -> None:
    [comment] = seed_thread(rconn, ARTICLE, 1)
    body = await report(reporting, comment, expect=422, reason="boring")
    assert body["error"]["fields"]["reason"]["code"] == "invalid"
    body = await report(reporting, comment, expect=422, reader="x")
    assert body["error"]["fields"]["reader"]["code"] == "invalid_reader_key"
    body = await report(reporting, comment, expect=422, statement="x" * 2001)
    assert body["error"]["fields"]["statement"]["code"] == "too_long"
    body = await report(reporting, comment, expect=422, statement=5)
    assert body["error"]["fields"]["statement"]["code"] == "invalid_type"
    assert not rconn.exists(keys.reports(comment))
    moderation.apply(rconn, thresholds, comment, "reject", "mod")
    await report(reporting, comment, expect=404)
    await report(reporting, "nope", expect=404)


async def test_reports_are_rate_limited_per_ip(reporting: Client, rconn: redis.Redis) -> None:
    comments = seed_thread(rconn, ARTICLE, 4)
    for comment in comments[:3]:
        await report(reporting, comment)
    resp = await reporting.post(
        f"/api/v1/comments/{comments[3]}/reports", json={"reader": reader(1), "reason": "spam"}
    )
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert not rconn.exists(keys.reports(comments[3]))


async def test_erasing_a_commenter_removes_the_votes_and_reports_on_their_words(
    reporting: Client, rconn: redis.Redis, thresholds: Settings
) -> None:
    comment_id = await submit(reporting)
    approve(rconn, thresholds, comment_id)
    await report(reporting, comment_id)
    vote = {"reader": reader(1)}
    assert (await reporting.post(f"/api/v1/comments/{comment_id}/vote", json=vote)).status == 200
    removing = thresholds.with_overrides(erase_mode="remove")
    assert privacy_data.erase(rconn, removing, email_hash("maria@example.com")) == 1
    for key in (keys.comment(comment_id), keys.votes(comment_id), keys.reports(comment_id)):
        assert not rconn.exists(key)


async def test_reports_never_name_their_reader(reporting: Client, rconn: redis.Redis) -> None:
    [comment] = seed_thread(rconn, ARTICLE, 1)
    key = "0123456789abcdef" * 2
    body = {"reader": key, "reason": "abuse"}
    await reporting.post(f"/api/v1/comments/{comment}/reports", json=body)
    assert rconn.hlen(keys.reports(comment)) == 1
    assert key.encode() not in redis_values(rconn)
