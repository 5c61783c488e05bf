"""Live events over Server-Sent Events: what readers hear when a thread changes, a reconnect
that resumes where it left off, two API instances sharing events through Redis, bad input,
CORS, and streams that end when the API shuts down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core.settings import Settings
from service.store import live, moderation
from service.web.app import create_app
from service.web.appkeys import LIVE
from tests.helpers import ALLOWED_ORIGIN, ARTICLE, Client, approve, seed_thread, submit

# Generous: only a broken stream waits this long (no timing is asserted).
WAIT_S = 20


@dataclass
class Sse:
    event: str
    id: str | None
    data: dict[str, Any]


class Reader:
    """One EventSource, read by hand: events as the browser would dispatch them."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp

    async def next(self) -> Sse:
        return await asyncio.wait_for(self._next(), WAIT_S)

    async def _next(self) -> Sse:
        event, eid, data = "message", None, list[str]()
        while True:
            line = (await self.resp.content.readline()).decode()
            if line == "":
                raise EOFError("stream ended")
            line = line.rstrip("\r\n")
            if line == "":
                if data:
                    return Sse(event, eid, json.loads("\n".join(data)))
                event, eid = "message", None
                continue
            if line.startswith(":"):  # a heartbeat
                continue
            name, _, value = line.partition(": ")
            if name == "event":
                event = value
            elif name == "id":
                eid = value
            elif name == "data":
                data.append(value)

    async def until(self, event: str) -> Sse:
        while True:
            got = await self.next()
            if got.event == event:
                return got


async def open_stream(
    client: Client, article: str = ARTICLE, headers: dict[str, str] | None = None
) -> Reader:
    resp = await client.get("/api/v1/stream", params={"article": article}, headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    return Reader(resp)


async def ready(client: Client) -> None:
    await asyncio.wait_for(client.app[LIVE].ready.wait(), WAIT_S)


async def test_readers_hear_published_edited_voted_and_removed_comments(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    await ready(client)
    reader = await open_stream(client)
    hello = await reader.next()
    assert hello.event == "ready"
    assert hello.id == live.START
    other = await open_stream(client, "another-story")
    assert (await other.next()).event == "ready"

    cid = await submit(client)
    await asyncio.to_thread(approve, rconn, settings, cid)
    published = await reader.next()
    assert published.event == "published"
    assert published.id
    assert published.data == {"id": cid, "count": 1}

    outcome = await asyncio.to_thread(moderation.edit_text, rconn, cid, "Fixed text.", "tests")
    assert outcome.result == moderation.DONE
    edited = await reader.next()
    assert edited.event == "edited"
    assert edited.data == {"id": cid, "count": 1}

    resp = await client.post(f"/api/v1/comments/{cid}/vote", json={"reader": "a" * 32})
    assert resp.status == 200
    voted = await reader.next()
    assert voted.event == "voted"
    assert voted.data == {"id": cid, "count": 1, "up": 1, "down": 0}

    outcome = await asyncio.to_thread(moderation.apply, rconn, settings, cid, "reject", "tests")
    assert outcome.result == moderation.DONE
    removed = await reader.next()
    assert removed.event == "removed"
    assert removed.data == {"id": cid, "count": 0}
    ids = [published.id, edited.id, voted.id, removed.id]
    assert ids == sorted(ids, key=lambda i: live.parse_id(i or "") or (0, 0))
    # The other article's reader heard nothing of it: its next event is a later one of its own.
    [theirs] = await asyncio.to_thread(seed_thread, rconn, "another-story", 1)
    assert (await other.next()).data == {"id": theirs, "count": 1}


async def test_a_reconnect_with_last_event_id_gets_what_it_missed(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    await ready(client)
    reader = await open_stream(client)
    assert (await reader.next()).event == "ready"
    first = await asyncio.to_thread(seed_thread, rconn, ARTICLE, 1)
    seen = await reader.next()
    reader.resp.close()  # the reader goes away; two comments appear meanwhile
    missed = await asyncio.to_thread(seed_thread, rconn, ARTICLE, 2, start=1_800_000_000.0)

    assert seen.id
    back = await open_stream(client, headers={"Last-Event-ID": seen.id})
    hello = await back.next()
    assert hello.event == "ready"
    assert hello.id == seen.id
    got = [await back.next(), await back.next()]
    assert [e.data["id"] for e in got] == missed
    assert [e.event for e in got] == ["published"] * 2
    assert got[-1].data["count"] == 3
    assert first[0] not in [e.data["id"] for e in got]

    # An id the buffer cannot vouch for (never issued, or trimmed): reload, then carry on.
    lost = await open_stream(client, headers={"Last-Event-ID": "1-0"})
    refetch = await lost.next()
    assert refetch.event == "refetch"
    assert refetch.id == got[-1].id


async def test_a_stream_opened_from_a_pages_live_position_hears_what_followed_it(
    client: Client, rconn: redis.Redis
) -> None:
    await ready(client)
    empty = await (await client.get("/api/v1/comments", params={"article": ARTICLE})).json()
    assert empty["live"] == live.START
    first = await asyncio.to_thread(seed_thread, rconn, ARTICLE, 1)
    params = {"article": ARTICLE, "limit": "20"}
    body = await (await client.get("/api/v1/comments", params=params)).json()
    assert [c["id"] for c in body["comments"]] == first
    # Published after the page was read and before its reader's stream opened.
    later = await asyncio.to_thread(seed_thread, rconn, ARTICLE, 1, start=1_800_000_000.0)
    resp = await client.get(
        "/api/v1/stream", params={"article": ARTICLE, "last_event_id": body["live"]}
    )
    reader = Reader(resp)
    hello = await reader.next()
    assert (hello.event, hello.id) == ("ready", body["live"])
    heard = await reader.next()
    assert (heard.event, heard.data["id"]) == ("published", later[0])


async def test_a_reader_returning_to_a_quiet_article_resumes_from_its_start(
    client: Client, rconn: redis.Redis
) -> None:
    await ready(client)
    reader = await open_stream(client)
    assert (await reader.next()).id == live.START
    reader.resp.close()
    [cid] = await asyncio.to_thread(seed_thread, rconn, ARTICLE, 1)
    back = await open_stream(client, headers={"Last-Event-ID": live.START})
    assert (await back.next()).event == "ready"
    assert (await back.next()).data == {"id": cid, "count": 1}


@pytest.fixture
async def second(settings: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(settings))) as test_client:
        yield test_client


async def test_two_api_instances_share_events_through_redis(
    client: Client, second: Client, rconn: redis.Redis
) -> None:
    await ready(client)
    await ready(second)
    here, there = await open_stream(client), await open_stream(second)
    await here.next(), await there.next()
    [cid] = await asyncio.to_thread(seed_thread, rconn, ARTICLE, 1)
    resp = await client.post(f"/api/v1/comments/{cid}/vote", json={"reader": "b" * 32})
    assert resp.status == 200
    for reader in (here, there):
        assert (await reader.next()).event == "published"
        voted = await reader.next()
        assert voted.event == "voted"
        assert voted.data["id"] == cid
    # One subscription per process, however many readers: the hub fans out.
    assert client.app[LIVE].streams() == 1
    assert second.app[LIVE].streams() == 1
    channels = rconn.pubsub_numsub("cm:live")
    assert channels == [(b"cm:live", 2)]


async def test_bad_stream_requests_get_precise_errors(client: Client) -> None:
    for params, code in (({}, "required"), ({"article": "x" * 1000}, "too_long")):
        resp = await client.get("/api/v1/stream", params=params)
        assert resp.status == 422
        body = await resp.json()
        assert body["error"]["code"] == "validation_failed", body
        assert body["error"]["fields"]["article"]["code"] == code, body
    resp = await client.get(
        "/api/v1/stream", params={"article": "a"}, headers={"Last-Event-ID": "nonsense"}
    )
    assert resp.status == 200  # an id it never issued: a fresh start, not an error
    assert (await Reader(resp).next()).event == "ready"
    resp.close()


async def test_streams_answer_allowed_origins_only(client: Client) -> None:
    origin = ALLOWED_ORIGIN
    resp = await client.get(
        "/api/v1/stream", params={"article": ARTICLE}, headers={"Origin": origin}
    )
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == origin
    resp.close()
    resp = await client.get(
        "/api/v1/stream", params={"article": ARTICLE}, headers={"Origin": "https://evil.example"}
    )
    assert resp.status == 403


async def test_open_streams_end_when_the_api_shuts_down(settings: Settings) -> None:
    test_client = TestClient(TestServer(create_app(settings)))
    await test_client.start_server()
    try:
        await ready(test_client)
        readers = [await open_stream(test_client) for _ in range(3)]
        for reader in readers:
            assert (await reader.next()).event == "ready"
    finally:
        await asyncio.wait_for(test_client.close(), WAIT_S)
    for reader in readers:
        with pytest.raises((EOFError, aiohttp.ClientError)):
            await reader.next()


async def test_a_stream_outlives_the_request_time_limit(
    settings: Settings, rconn: redis.Redis
) -> None:
    """COMMENTS_REQUEST_TIMEOUT bounds a stream's setup, not the stream: a reader still hears
    a comment published after the limit has passed."""
    brief = settings.with_overrides(request_timeout_s=0.5)
    async with TestClient(TestServer(create_app(brief))) as test_client:
        await ready(test_client)
        reader = await open_stream(test_client)
        assert (await reader.next()).event == "ready"
        await asyncio.sleep(1.0)  # past the limit
        [cid] = await asyncio.to_thread(seed_thread, rconn, ARTICLE, 1)
        assert (await reader.next()).data == {"id": cid, "count": 1}
