"""Bodies built to break a parser: nesting that exhausts the stack, text that is not what its
charset says. Each gets its exact 400 (JSON, or the HTML page for a browser's form post), and
nothing is stored or enqueued."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core.settings import Settings
from service.web.app import create_app
from service.web.bodies import MAX_JSON_DEPTH
from tests.helpers import ARTICLE, Client, all_keys, stored_comments
from tests.test_api import assert_error

TOKEN = "m" * 40
AS_MODERATOR = {"Authorization": f"Bearer {TOKEN}"}
JSON_ENDPOINTS = [
    ("POST", "/api/v1/comments"),
    ("POST", "/api/v1/privacy/requests"),
    ("POST", "/api/v1/moderation/actions"),
    ("PATCH", "/api/v1/moderation/comments/0123456789abcdef-0123456789abcdef"),
]
NESTED = {
    "arrays, 50,000 deep": b"[" * 50_000,
    "objects, 8,000 deep": b'{"a":' * 8_000,
    "inside one field": b'{"comment": ' + b"[" * 50_000,
    "closed, just over the limit": b'{"ids": '
    + b"[" * MAX_JSON_DEPTH
    + b"]" * MAX_JSON_DEPTH
    + b', "action": "spam", "text": "x", "email": "a@example.org"}',
    "objects only, closed, just over the limit": b'{"a": ' * (MAX_JSON_DEPTH + 1)
    + b"1"
    + b"}" * (MAX_JSON_DEPTH + 1),
}
FORM = "application/x-www-form-urlencoded"
UNDECODABLE_FORMS = {
    "invalid UTF-8 bytes": (FORM, b"article=a&name=\xff\xfe&comment=hi"),
    "percent-encoded invalid UTF-8": (FORM, b"article=a&name=%FF&comment=hi"),
    "unknown charset": (f"{FORM}; charset=x-unknown", b"article=a&comment=hi"),
    "truncated UTF-16": (f"{FORM}; charset=utf-16", "article=a&comment=hi".encode("utf-16")[:-1]),
    "a charset that is not UTF-8": (f"{FORM}; charset=iso-8859-1", b"article=a&name=Jos%E9"),
    "a codec that is not a charset": (f"{FORM}; charset=rot13", b"article=a"),
}


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[Client]:
    """The app with the moderator API open, so its JSON endpoints parse bodies too."""
    configured = settings.with_overrides(moderator_tokens=(("mia", TOKEN),))
    async with TestClient(TestServer(create_app(configured))) as test_client:
        yield test_client


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
async def test_deep_json_is_400_on_every_json_endpoint(
    app_client: Client, rconn: redis.Redis, method: str, path: str, body: bytes
) -> None:
    resp = await app_client.request(
        method,
        path,
        data=body,
        headers={"Content-Type": "application/json", **AS_MODERATOR},
    )
    error = await assert_error(resp, 400, "malformed_json")
    assert f"{MAX_JSON_DEPTH} levels" in error["error"]["message"]
    assert all_keys(rconn) == []


async def test_json_as_deep_as_allowed_is_read(app_client: Client, rconn: redis.Redis) -> None:
    """The limit refuses only what no endpoint could want: at the limit, fields are judged."""
    inner = b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1)
    resp = await app_client.post(
        "/api/v1/comments",
        data=b'{"comment": ' + inner + b"}",
        headers={"Content-Type": "application/json"},
    )
    await assert_error(resp, 422, "validation_failed")
    assert all_keys(rconn) == []


@pytest.mark.parametrize(
    ("content_type", "body"), UNDECODABLE_FORMS.values(), ids=UNDECODABLE_FORMS
)
async def test_undecodable_form_is_400_in_json(
    client: Client, rconn: redis.Redis, content_type: str, body: bytes
) -> None:
    resp = await client.post("/api/v1/comments", data=body, headers={"Content-Type": content_type})
    error = await assert_error(resp, 400, "malformed_form")
    assert "UTF-8" in error["error"]["message"]
    assert all_keys(rconn) == []


@pytest.mark.parametrize(
    ("content_type", "body"), UNDECODABLE_FORMS.values(), ids=UNDECODABLE_FORMS
)
async def test_undecodable_form_from_a_browser_gets_the_html_page(
    client: Client, rconn: redis.Redis, content_type: str, body: bytes
) -> None:
    resp = await client.post(
        "/api/v1/comments",
        data=body,
        headers={"Content-Type": content_type, "Accept": "text/html"},
    )
    assert resp.status == 400
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "UTF-8" in await resp.text()
    assert all_keys(rconn) == []


@pytest.mark.parametrize("charset", ["", "; charset=utf-8", '; charset="UTF-8"', "; charset=utf8"])
async def test_utf8_forms_are_read(client: Client, rconn: redis.Redis, charset: str) -> None:
    body = "article=a&name=Jos%C3%A9&email=jose%40example.org&comment=Ol%C3%A1+%E2%9C%93"
    resp = await client.post(
        "/api/v1/comments", data=body.encode(), headers={"Content-Type": FORM + charset}
    )
    assert resp.status == 202, await resp.text()
    [record] = stored_comments(rconn).values()
    assert (record["name"], record["comment"]) == ("José", "Olá ✓")


async def test_too_many_form_fields_is_413(client: Client, rconn: redis.Redis) -> None:
    body = "&".join(f"f{i}=x" for i in range(2000)) + f"&article={ARTICLE}"
    resp = await client.post("/api/v1/comments", data=body, headers={"Content-Type": FORM})
    await assert_error(resp, 413, "payload_too_large")
    assert all_keys(rconn) == []
