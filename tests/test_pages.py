"""Pages of a thread over HTTP: cursors that hold while comments arrive, replies behind their
own cursors, the size budget, and the 422 every altered or foreign cursor gets."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys
from service.core.settings import Settings
from service.core.signing import Purpose, Signer
from service.entry.embedded_redis import RedisServer
from service.store import moderation
from service.web.app import create_app
from tests.helpers import (
    ARTICLE,
    SECRET,
    Client,
    approve,
    as_text,
    make_settings,
    seed_thread,
    submit,
)

PAGE_BYTES = 50 * 1024


async def page(client: Client, expect: int = 200, **params: Any) -> dict[str, Any]:
    resp = await client.get("/api/v1/comments?" + urlencode({"article": ARTICLE, **params}))
    assert resp.status == expect, await resp.text()
    return dict(await resp.json())


async def walk(client: Client, **params: Any) -> list[str]:
    """Every top-level id, page by page, following next_cursor to the end."""
    ids: list[str] = []
    body = await page(client, **params)
    while True:
        ids += [c["id"] for c in body["comments"]]
        if body["next_cursor"] is None:
            return ids
        body = await page(client, **{**params, "cursor": body["next_cursor"]})


async def publish(client: Client, conn: redis.Redis, settings: Settings, **fields: Any) -> str:
    comment_id = await submit(client, **fields)
    approve(conn, settings, comment_id)
    return comment_id


async def test_no_page_parameters_answer_the_whole_thread_as_before(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    first = await publish(client, rconn, settings)
    await publish(client, rconn, settings, parent_id=first)
    body = await page(client)
    # What pinned older widgets read, and `live`, which they ignore.
    assert set(body) == {"article", "count", "live", "comments"}
    assert body["count"] == 2
    assert [r["parent_id"] for r in body["comments"][0]["replies"]] == [first]


async def test_pages_follow_each_other_oldest_and_newest(
    client: Client, rconn: redis.Redis
) -> None:
    roots = seed_thread(rconn, ARTICLE, 7, replies=1)
    first = await page(client, limit=3)
    assert first["count"] == 14  # the thread's total: replies count too
    assert [c["id"] for c in first["comments"]] == roots[:3]
    assert all(c["reply_count"] == 1 and len(c["replies"]) == 1 for c in first["comments"])
    assert await walk(client, limit=3) == roots
    assert await walk(client, limit=3, sort="newest") == roots[::-1]
    assert await walk(client, limit=50) == roots


async def test_cursors_hold_while_comments_arrive_and_go(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    roots = seed_thread(rconn, ARTICLE, 6)
    oldest = await page(client, limit=2)
    newest = await page(client, limit=2, sort="newest")
    # Between pages: new comments arrive, and the last comment a page showed is removed.
    arrived = [await publish(client, rconn, settings) for _ in range(3)]
    moderation.apply(rconn, settings, roots[1], "reject", "tests")
    moderation.apply(rconn, settings, roots[-2], "reject", "tests")

    seen = [c["id"] for c in oldest["comments"]]
    seen += await walk(client, limit=2, cursor=oldest["next_cursor"])
    assert seen == roots[:2] + roots[2:4] + roots[5:] + arrived  # no duplicates, no gaps

    seen = [c["id"] for c in newest["comments"]]
    seen += await walk(client, limit=2, sort="newest", cursor=newest["next_cursor"])
    assert seen == [roots[5], roots[4], roots[3], roots[2], roots[0]]  # newer ones: above


async def test_comments_created_in_the_same_instant_are_neither_skipped_nor_repeated(
    client: Client, rconn: redis.Redis
) -> None:
    same = seed_thread(rconn, ARTICLE, 5, start=1_700_000_000.0)
    same += seed_thread(rconn, ARTICLE, 5, start=1_700_000_000.0)  # the same five instants
    by_rank = sorted(same, key=lambda c: (rconn.zscore(keys.thread(ARTICLE), c), c))
    assert await walk(client, limit=3) == by_rank
    assert await walk(client, limit=1, sort="newest") == by_rank[::-1]


async def test_replies_behind_their_own_cursor(client: Client, rconn: redis.Redis) -> None:
    [root] = seed_thread(rconn, ARTICLE, 1, replies=7)
    body = await page(client, limit=20)
    [item] = body["comments"]
    assert item["reply_count"] == 7
    assert len(item["replies"]) == 3
    replies = [r["id"] for r in item["replies"]]
    more = await page(client, limit=2, cursor=item["replies_cursor"])
    while True:
        replies += [r["id"] for r in more["comments"]]
        assert all(r["parent_id"] == root for r in more["comments"])
        if more["next_cursor"] is None:
            break
        more = await page(client, limit=2, cursor=more["next_cursor"])
    ordered = rconn.zrange(keys.thread_replies(root), 0, -1)
    assert replies == [as_text(i) for i in ordered]
    assert len(set(replies)) == 7


async def test_replies_of_replies_and_replies_of_hidden_comments(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    root = await publish(client, rconn, settings)
    reply = await publish(client, rconn, settings, parent_id=root)
    deep = await publish(client, rconn, settings, parent_id=reply)

    [item] = (await page(client, limit=20))["comments"]
    [shown] = item["replies"]
    assert (shown["id"], shown["reply_count"], shown["replies"]) == (reply, 1, [])
    nested = await page(client, cursor=shown["replies_cursor"])
    assert [c["id"] for c in nested["comments"]] == [deep]

    # A removed comment's replies are shown at the top level, and return when it does.
    moderation.apply(rconn, settings, reply, "reject", "tests")
    assert [c["id"] for c in (await page(client, limit=20))["comments"]] == [root, deep]
    moderation.apply(rconn, settings, reply, "approve", "tests")
    assert [c["id"] for c in (await page(client, limit=20))["comments"]] == [root]


async def test_a_thread_written_beside_transitions_is_indexed_on_first_read(
    client: Client, rconn: redis.Redis
) -> None:
    roots = seed_thread(rconn, ARTICLE, 4, replies=2)
    # As an import leaves it: the indexes stale, the marker gone.
    rconn.delete(keys.thread_indexed(ARTICLE), keys.thread_roots(ARTICLE))
    rconn.zadd(keys.thread_roots(ARTICLE), {"0000000000000000-0000000000000000": 1})
    assert await walk(client, limit=3) == roots
    assert all(c["reply_count"] == 2 for c in (await page(client, limit=20))["comments"])


async def test_the_first_page_stays_small_whatever_the_comments(
    client: Client, rconn: redis.Redis
) -> None:
    longest = "👍" * 10_000  # 40,000 bytes of UTF-8
    roots = seed_thread(rconn, ARTICLE, 30, replies=3, text=longest)
    resp = await client.get(f"/api/v1/comments?article={ARTICLE}&limit=50")
    assert len(await resp.read()) <= PAGE_BYTES
    assert await walk(client, limit=50) == roots  # what did not fit comes on later pages


async def test_bad_page_parameters_are_refused_with_their_field(
    client: Client, rconn: redis.Redis
) -> None:
    seed_thread(rconn, ARTICLE, 3, replies=1)
    good = (await page(client, limit=1))["next_cursor"]
    signer = Signer(SECRET)
    forged = signer.sign(Purpose.CURSOR, "", "oldest", "1.0", "x", now=0, max_age_s=None)
    other_purpose = signer.sign(Purpose.FORM, now=0, max_age_s=None, bind=ARTICLE)
    for cursor in (
        "",
        "nonsense",
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # altered
        forged,  # well signed, but not bound to this article
        other_purpose,
        good + ".x",
    ):
        body = await page(client, expect=422, cursor=cursor)
        assert body["error"]["fields"]["cursor"]["code"] == "invalid_cursor", cursor
    other = await client.get(
        "/api/v1/comments?" + urlencode({"article": "another", "cursor": good})
    )
    assert other.status == 422  # a cursor belongs to its article
    for limit in ("0", "51", "abc", "-1", "²", "1.5"):
        body = await page(client, expect=422, limit=limit)
        assert body["error"]["fields"]["limit"]["code"] == "invalid_limit"
    body = await page(client, expect=422, sort="best")
    assert body["error"]["fields"]["sort"]["code"] == "invalid"


async def test_pages_have_etags_that_follow_the_thread(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    seed_thread(rconn, ARTICLE, 3)
    url = f"/api/v1/comments?article={ARTICLE}&limit=2"
    first = await client.get(url)
    etag = first.headers["ETag"]
    assert etag != (await client.get(url + "&sort=newest")).headers["ETag"]
    assert (await client.get(url, headers={"If-None-Match": etag})).status == 304
    await publish(client, rconn, settings)
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status == 200
    assert json.loads(await again.read())["count"] == 4


@pytest.mark.parametrize("sort", ["oldest", "newest"])
async def test_an_empty_thread_has_an_empty_page(client: Client, sort: str) -> None:
    body = await page(client, sort=sort)
    assert body == {
        "article": ARTICLE,
        "count": 0,
        "live": "0-0",
        "comments": [],
        "next_cursor": None,
    }


@pytest.mark.parametrize("query", [{}, {"limit": "10"}])
async def test_concurrent_reads_of_a_stale_thread_render_it_once(
    redis_server: RedisServer, rconn: redis.Redis, query: dict[str, str]
) -> None:
    """One request checks and renders; the others share its render (counted by Redis)."""
    settings = make_settings(redis_server.url, thread_cache_s=60.0)
    async with TestClient(TestServer(create_app(settings))) as cached:
        seed_thread(rconn, ARTICLE, 5)
        params = {"article": ARTICLE, **query}
        rconn.config_resetstat()
        answers = await asyncio.gather(
            *(cached.get("/api/v1/comments", params=params) for _ in range(20))
        )
        bodies = {await resp.read() for resp in answers}
        assert [resp.status for resp in answers] == [200] * 20
        assert len(bodies) == 1
        stats = rconn.info("commandstats")
        # One version check (GET, and HMGET of the article's settings) and one render (an
        # HMGET per comment).
        assert stats["cmdstat_get"]["calls"] <= 2
        assert stats["cmdstat_hmget"]["calls"] == 1 + 5
