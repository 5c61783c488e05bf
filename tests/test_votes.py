"""Votes over HTTP: one per reader, idempotent, rate-limited per IP, anonymous, and `sort=top`
by the Wilson lower bound."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys
from service.core.settings import Settings
from service.core.votes import wilson
from service.store import moderation
from service.web.app import create_app
from tests.helpers import ARTICLE, Client, make_settings, redis_values, seed_thread

READER = "a" * 32


async def vote(
    client: Client, comment_id: str, reader: str = READER, expect: int = 200, **extra: Any
) -> dict[str, Any]:
    resp = await client.post(
        f"/api/v1/comments/{comment_id}/vote", json={"reader": reader, **extra}
    )
    assert resp.status == expect, await resp.text()
    return dict(await resp.json())


async def top(client: Client) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/v1/comments?article={ARTICLE}&sort=top&limit=50")
    assert resp.status == 200
    return list((await resp.json())["comments"])


@pytest.fixture
async def downvotes(settings: Settings) -> AsyncIterator[Client]:
    with_down = settings.with_overrides(votes_down=True)
    async with TestClient(TestServer(create_app(with_down))) as test_client:
        yield test_client


def test_wilson_ranks_confidence_above_raw_ratio() -> None:
    assert wilson(0, 0) == 0.0
    assert wilson(1, 0) < wilson(40, 5)  # one of one is not better than 40 of 45
    assert wilson(3, 0) > wilson(5, 5)
    assert 0.0 < wilson(10, 10) < 0.5 < wilson(10, 0) < 1.0


async def test_a_reader_votes_once_however_often_they_click(
    client: Client, rconn: redis.Redis
) -> None:
    [comment] = seed_thread(rconn, ARTICLE, 1)
    first = await vote(client, comment)
    assert first == {"id": comment, "votes": {"up": 1, "down": 0}, "voted": "up"}
    assert await vote(client, comment) == first  # idempotent
    other = await vote(client, comment, reader="b" * 32)
    assert other["votes"] == {"up": 2, "down": 0}
    [shown] = await top(client)
    assert shown["votes"] == {"up": 2, "down": 0}


async def test_votes_never_say_who_voted(client: Client, rconn: redis.Redis) -> None:
    first, second = seed_thread(rconn, ARTICLE, 2)
    reader = secrets.token_hex(16)
    await vote(client, first, reader=reader)
    await vote(client, second, reader=reader)
    stored = redis_values(rconn)
    assert reader.encode() not in stored
    # Bound to the comment: the same reader's votes on two comments do not share a name.
    one, two = (set(rconn.hkeys(keys.votes(c))) for c in (first, second))
    assert one
    assert two
    assert not one & two
    for resp_body in (await top(client), await vote(client, first, reader=reader)):
        assert reader not in str(resp_body)


async def test_only_published_comments_take_votes(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    [comment] = seed_thread(rconn, ARTICLE, 1)
    moderation.apply(rconn, settings, comment, "reject", "tests")
    assert (await vote(client, comment, expect=404))["error"]["code"] == "not_found"
    missing = keys.new_comment_id(ARTICLE)
    await vote(client, missing, expect=404)
    assert not rconn.exists(keys.votes(missing))
    await vote(client, "not-an-id", expect=404)


async def test_bad_votes_are_refused_with_their_field(client: Client, rconn: redis.Redis) -> None:
    [comment] = seed_thread(rconn, ARTICLE, 1)
    for reader in ("", "A" * 32, "a" * 31, "a" * 33, 5, None):
        body = await vote(client, comment, reader=reader, expect=422)  # type: ignore[arg-type]
        assert body["error"]["fields"]["reader"]["code"] == "invalid_reader_key"
    body = await vote(client, comment, expect=422, value="down")  # down-votes are off
    assert body["error"]["fields"]["value"]["code"] == "invalid"
    assert not rconn.exists(keys.votes(comment))


async def test_votes_are_rate_limited_per_ip(redis_server: Any, rconn: redis.Redis) -> None:
    settings = make_settings(redis_server.url, limit_votes=(3, 600))
    async with TestClient(TestServer(create_app(settings))) as client:
        comments = seed_thread(rconn, ARTICLE, 5)
        for comment in comments[:3]:
            await vote(client, comment)
        resp = await client.post(f"/api/v1/comments/{comments[3]}/vote", json={"reader": READER})
        assert resp.status == 429
        assert int(resp.headers["Retry-After"]) > 0
        assert (await resp.json())["error"]["code"] == "rate_limited"
    assert not rconn.exists(keys.votes(comments[3]))


async def test_top_sorts_by_wilson_not_by_raw_counts(downvotes: Client, rconn: redis.Redis) -> None:
    plain, loved, split, single = seed_thread(rconn, ARTICLE, 4)
    readers = [secrets.token_hex(16) for _ in range(10)]
    for reader in readers[:3]:
        await vote(downvotes, loved, reader=reader)
    for reader in readers[:5]:
        await vote(downvotes, split, reader=reader)
    for reader in readers[5:]:
        await vote(downvotes, split, reader=reader, value="down")
    await vote(downvotes, single, reader=readers[0])
    order = [c["id"] for c in await top(downvotes)]
    # 3 of 3 above 5 of 10 (though 5 up-votes are more than 3), and 5 of 10 above 1 of 1.
    assert order == [loved, split, single, plain]

    # A reader changes their mind: the counts follow, once.
    changed = await vote(downvotes, loved, reader=readers[0], value="down")
    assert changed["votes"] == {"up": 2, "down": 1}
    stored = rconn.zscore(keys.thread_top(ARTICLE), loved)
    assert stored == pytest.approx(wilson(2, 1))


async def test_top_pages_follow_their_cursor(client: Client, rconn: redis.Redis) -> None:
    comments = seed_thread(rconn, ARTICLE, 7)
    for n, comment in enumerate(comments):
        for i in range(n % 3):
            await vote(client, comment, reader=f"{i:032x}")
    seen: list[str] = []
    url = f"/api/v1/comments?article={ARTICLE}&sort=top&limit=2"
    body = await (await client.get(url)).json()
    while True:
        seen += [c["id"] for c in body["comments"]]
        if body["next_cursor"] is None:
            break
        body = await (await client.get(url + "&cursor=" + body["next_cursor"])).json()
    assert sorted(seen) == sorted(comments)
    ups = [rconn.hget(keys.comment(c), "up") for c in seen]
    assert [int(u or 0) for u in ups] == sorted((int(u or 0) for u in ups), reverse=True)
