"""The external moderation hook against real receivers: a good one (signed requests, every
verdict), and slow, failing and malicious ones (the deadline holds however they misbehave)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from service.core.settings import Settings, SettingsError
from service.entry.embedded_redis import free_port
from service.web.app import create_app
from tests import helpers
from tests.helpers import Client, drain, email_hash, forbidden, stored_comments
from workers import moderation_hook

COMMENTER = "hook.reader-5521@example.org"
COMMENTER_IP = "198.51.100.88"
SECRET = "h" * 40
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    proxied = settings.with_overrides(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    async with TestClient(TestServer(create_app(proxied))) as test_client:
        yield test_client


@contextlib.asynccontextmanager
async def receiver(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/moderate", handler)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("/moderate"))


def hooked(settings: Settings, url: str) -> Settings:
    return settings.with_overrides(
        moderation_hook_url=url, moderation_hook_secret=SECRET, moderation_hook_timeout_s=0.5
    )


async def submit(client: Client, **fields: Any) -> str:
    body = {"email": COMMENTER, "website": "https://reader.example.net/"} | fields
    return await helpers.submit(client, body, headers={"X-Forwarded-For": COMMENTER_IP})


def answering(payload: object, status: int = 200) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        return web.json_response(payload, status=status)

    return handler


@pytest.mark.parametrize(
    ("verdict", "status"),
    # "approve" still meets the first-comment hold; "spam" from the site's own model decides.
    [("approve", "held"), ("hold", "held"), ("spam", "spam")],
)
async def test_the_hook_is_signed_private_and_heard(
    client: Client, settings: Settings, rconn: redis.Redis, verdict: str, status: str
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        received.append((dict(request.headers), await request.read()))
        return web.json_response({"verdict": verdict, "reasons": ["toxicity 0.02", "lang en"]})

    async with receiver(handler) as url:
        cid = await submit(client)
        await drain(hooked(settings, url))
    [(headers, body)] = received
    timestamp = headers["X-Comments-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(headers["X-Comments-Signature"], "sha256=" + expected.hexdigest())
    assert abs(time.time() - int(timestamp)) < 60
    assert headers["X-Comments-Event"] == "comment.moderate"
    payload = json.loads(body)
    assert payload["comment"]["id"] == cid
    assert payload["comment"]["text"] == helpers.TEXT
    assert payload["comment"]["author_name"] == "Maria"
    assert payload["commenter"] == {"known": False}
    for needle in forbidden(COMMENTER) | {COMMENTER_IP.encode(), email_hash(COMMENTER).encode()}:
        assert needle not in body
    record = stored_comments(rconn)[cid]
    assert record["hook"] == verdict
    assert record["status"] == status
    assert json.loads(record["hook_reasons"]) == ["toxicity 0.02", "lang en"]


async def slow(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(5)
    return web.json_response({"verdict": "approve"})


async def dripping(request: web.Request) -> web.StreamResponse:
    """A valid answer, one byte every 0.2 s: every read is quick, the whole is too slow."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    for byte in json.dumps({"verdict": "approve", "reasons": ["x" * 40]}).encode():
        await response.write(bytes([byte]))
        await asyncio.sleep(0.2)
    return response


async def huge(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(b'{"verdict": "approve", "reasons": ["')
    for _ in range(200):
        await response.write(b"a" * 65536)
    await response.write(b'"]}')
    return response


async def nested(request: web.Request) -> web.StreamResponse:
    """Valid JSON nested deeper than any parser's recursion (40 KB)."""
    deep = "[" * 20_000 + "]" * 20_000
    return web.Response(text=f'{{"verdict": "approve", "x": {deep}}}')


HOSTILE: dict[str, Handler] = {
    "slow": slow,
    "dripping": dripping,
    "huge": huge,
    "server error": answering({"verdict": "approve"}, status=500),
    "redirect": answering({"verdict": "approve"}, status=302),
    "not json": answering("approve"),
    "unknown verdict": answering({"verdict": "publish-everything"}),
    "verdict of another type": answering({"verdict": ["approve"]}),
    "reasons not a list": answering({"verdict": "approve", "reasons": "fine"}),
    "reasons not strings": answering({"verdict": "approve", "reasons": [{"a": 1}]}),
    "a list": answering([{"verdict": "approve"}]),
    "deeply nested": nested,
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_a_bad_hook_means_unavailable_within_the_deadline(
    client: Client, settings: Settings, rconn: redis.Redis, name: str
) -> None:
    async with receiver(HOSTILE[name]) as url:
        cid = await submit(client)
        started = time.monotonic()
        await drain(hooked(settings, url))
        took = time.monotonic() - started
    record = stored_comments(rconn)[cid]
    assert record["hook"] == "unavailable"
    assert record["status"] == "held"
    assert took < 0.5 + 2.0


async def test_headers_dripped_one_byte_at_a_time(
    client: Client, settings: Settings, rconn: redis.Redis
) -> None:
    """A raw TCP server that never finishes its status line: the deadline still holds."""

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.read(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.1)
        writer.close()

    port = free_port()
    server = await asyncio.start_server(drip, "127.0.0.1", port)
    async with server:
        cid = await submit(client)
        started = time.monotonic()
        await drain(hooked(settings, f"http://127.0.0.1:{port}/moderate"))
        took = time.monotonic() - started
    assert stored_comments(rconn)[cid]["hook"] == "unavailable"
    assert took < 0.5 + 2.0


async def test_unreachable_is_unavailable(
    client: Client, settings: Settings, rconn: redis.Redis
) -> None:
    cid = await submit(client)
    await drain(hooked(settings, f"http://127.0.0.1:{free_port()}/moderate"))
    assert stored_comments(rconn)[cid]["hook"] == "unavailable"


def test_reasons_are_cleaned_for_moderators() -> None:
    raw = {
        "verdict": "hold",
        "reasons": ["a\x00b\u202ec\n\nd", "x" * 500, "", "   ", "3", "4", "5", "6", "7"],
    }
    parsed = moderation_hook.parse(json.dumps(raw).encode())
    assert parsed is not None
    assert parsed.verdict == "hold"
    assert parsed.reasons[0] == "a b c d"
    assert parsed.reasons[1] == "x" * 200
    assert len(parsed.reasons) == 5
    assert moderation_hook.parse(b"\xff\xfe") is None


def test_a_hook_needs_a_secret(settings: Settings) -> None:
    production = settings.with_overrides(
        mode="production", moderation_hook_url="https://m.example/"
    )
    with pytest.raises(SettingsError, match="MODERATION_HOOK_SECRET"):
        production.check()
    with pytest.raises(SettingsError, match="http"):
        production.with_overrides(
            moderation_hook_url="ftp://m.example/", moderation_hook_secret=SECRET
        ).check()
