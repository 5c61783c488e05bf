"""Thousands of malformed and hostile requests: never a 5xx, always the JSON error shape,
and nothing stored for what was refused."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest
import redis
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.core import keys
from service.core.origins import origin_of
from service.entry.embedded_redis import RedisServer, free_port
from service.web.app import create_app
from tests.helpers import ALLOWED_ORIGIN, make_settings

TOKEN = "t" * 40
FORM = "application/x-www-form-urlencoded"
REDIRECT_ORIGINS = {ALLOWED_ORIGIN, "http://127.0.0.1:8080"}  # allowed, and the service's own
PATHS = [
    "/api/v1/comments",
    "/api/v1/form-token",
    "/api/v1/counts",
    "/api/v1/comment-status",
    "/embed.js",
    "/api/v1/privacy/requests",
    "/api/v1/moderation/queue",
    "/api/v1/moderation/decisions",
    "/api/v1/moderation/actions",
    "/api/v1/moderation/comments/0123456789abcdef-0123456789abcdef",
    "/healthz",
    "/readyz",
    "/moderate/v1.x.y.approve.1.n.m",
    "/privacy/abc.def",
    "/privacy/abc.def/erase",
    "/unsubscribe/abc.def",
    "/api/v1/nope",
    "/",
]
FIELDS = [
    "article",
    "name",
    "email",
    "comment",
    "website",
    "parent_id",
    "notify_replies",
    "form_token",
    "contact_phone",
    "article_url",
    "title",
    "action",
    "ids",
    "text",
    "csrf",
]
ASCII = st.characters(min_codepoint=32, max_codepoint=126)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
# URLs browsers and Python read differently (backslash, userinfo, whitespace), IDN hosts,
# and addresses hidden in them, percent-encoded: for article_url, website and the Referer.
HOSTILE_URLS = [
    "https://evil.example\\@news.example.org/",
    "https://news.example.org\\@evil.example/",
    "https://evil.example@news.example.org/",
    "https://news.example.org/a b",
    "https://news.exa\tmple.org/",
    "https://news.example.org/\r\nSet-Cookie: x=1",
    "https://nëws.example.org/störy",
    "https://xn--nws-jma.example.org/",
    "https://news.example.org/?email=ann%40example.org",
    "https://news.example.org/?email=ann%2540example.org#ann@example.org",
    "https://news%2Eexample.org/",
    "https://news.example.org:99999/",
    "https://news.example.org/story",
]
urls = st.sampled_from(HOSTILE_URLS) | st.text(max_size=40).map(
    lambda s: "https://news.example.org/" + s
)
FIELD_VALUES = {"article_url": urls, "website": urls, "email": st.just("ann%40example.org")}
json_bodies = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=10), json_values, max_size=8
)
# Nesting that exhausts a recursive parser (the whole body, or inside one field), and nesting
# around the service's own limit.
NESTED_BODIES = [
    b"[" * 50_000,
    b'{"a":' * 8_000,
    b'{"comment": ' + b"[" * 50_000,
    b'{"ids": ' + b"[" * 40 + b"]" * 40 + b', "action": "spam"}',
    b'{"comment": ' + b"[" * 31 + b"]" * 31 + b"}",
]
form_fields = st.dictionaries(
    st.sampled_from(FIELDS), st.text(max_size=40) | st.sampled_from(HOSTILE_URLS), max_size=6
)
bodies = st.one_of(
    json_bodies.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=300),
    form_fields.map(lambda d: urlencode(d).encode()),
    st.sampled_from(NESTED_BODIES),
    st.fixed_dictionaries({}, optional=FIELD_VALUES).map(lambda d: json.dumps(d).encode()),
    form_fields.map(lambda d: urlencode(d).encode("utf-16")),
)
requests = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "HEAD"]),
        "path": st.sampled_from(PATHS)
        | st.text(ASCII, max_size=30).map(lambda s: "/api/v1/" + quote(s)),
        "query": st.dictionaries(
            st.sampled_from(["article", "id", "status", "limit", "cursor", "reason", "x"]),
            st.text(max_size=20),
            max_size=3,
        ),
        "content_type": st.sampled_from(
            [
                "application/json",
                "application/x-www-form-urlencoded",
                "text/plain",
                "",
                "multipart/form-data; boundary=x",
                "application/json; charset=latin-1",
                "application/x-www-form-urlencoded; charset=x-unknown",
                "application/x-www-form-urlencoded; charset=utf-16",
                "application/x-www-form-urlencoded; charset=iso-8859-1",
            ]
        ),
        "body": bodies,
        "headers": st.dictionaries(
            st.sampled_from(
                [
                    "Idempotency-Key",
                    "Authorization",
                    "Origin",
                    "X-Forwarded-For",
                    "If-None-Match",
                    "Sec-Fetch-Site",
                    "Accept",
                    "Access-Control-Request-Method",
                    "Referer",
                ]
            ),
            st.text(ASCII, max_size=60)
            | st.sampled_from([f"Bearer {TOKEN}", "text/html", "https://news.example.org"])
            # What an HTTP client can put in a header: no CR/LF, Latin-1 only.
            | st.sampled_from([u for u in HOSTILE_URLS if u.isprintable() and u.isascii()]),
            max_size=3,
        ),
    }
)


def hostile(
    method: str, path: str, content_type: str, body: bytes, headers: dict[str, str] | None = None
) -> dict[str, object]:
    """One request in the shape the `requests` strategy draws."""
    return {
        "method": method,
        "path": path,
        "query": {},
        "content_type": content_type,
        "body": body,
        "headers": headers or {},
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, redis.Redis]]:
    """The app on a real socket in its own thread, so plain blocking HTTP can hit it."""
    store = RedisServer(tmp_path_factory.mktemp("fuzz-redis")).start()
    app = create_app(make_settings(store.url, moderator_tokens=(("alice", TOKEN),)))
    port, loop = free_port(), asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    conn = redis.Redis.from_url(store.url)
    yield port, conn
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
    conn.close()
    store.stop()


@settings(
    max_examples=1500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests)
# The classes that once answered 500, always tried first.
@example(request=hostile("POST", "/api/v1/privacy/requests", "application/json", b"[" * 50_000))
@example(
    request=hostile(
        "PATCH",
        PATHS[9],
        "application/json",
        b'{"a":' * 8_000,
        {"Authorization": f"Bearer {TOKEN}"},
    )
)
@example(request=hostile("POST", PATHS[0], f"{FORM}; charset=x-unknown", b"article=a"))
@example(
    request=hostile(
        "POST",
        PATHS[0],
        FORM,
        urlencode(
            {"article": "a", "name": "N", "email": "n@example.org", "comment": "Hi"}
        ).encode(),
        {"Referer": HOSTILE_URLS[0], "Accept": "text/html"},
    )
)
def test_hostile_requests_never_break_the_service(
    server: tuple[int, redis.Redis], request: dict[str, object]
) -> None:
    port, conn = server
    stored_before = conn.zcard(keys.pending())
    headers = dict(request["headers"])  # type: ignore[call-overload]
    if request["content_type"]:
        headers["Content-Type"] = request["content_type"]
    query = urlencode(request["query"])  # type: ignore[arg-type]
    path = str(request["path"]) + (f"?{query}" if query else "")
    client = http_connection(port)
    try:
        client.request(str(request["method"]), path, body=request["body"], headers=headers)  # type: ignore[arg-type]
        resp = client.getresponse()
        body = resp.read()
    finally:
        client.close()
    assert resp.status < 500, (resp.status, path, body[:300])
    # A browser's plain form post (it asks for HTML) gets the HTML error page instead; so do
    # the pages people open from a link (moderation, privacy, unsubscribe), whatever was sent.
    html_page = (
        "text/html" in headers.get("Accept", "")
        and str(request["content_type"]).startswith(FORM)
        and resp.getheader("Content-Type", "").startswith("text/html")
    )
    if resp.status >= 400 and html_page:
        assert request["path"] == "/api/v1/comments" or not path.startswith("/api/")
        assert b"<script" not in body.lower()
    elif resp.status >= 400 and path.startswith("/api/") and request["method"] != "HEAD":
        assert resp.getheader("Content-Type", "").startswith("application/json"), body[:200]
        error = json.loads(body)["error"]
        assert isinstance(error["code"], str)
        assert isinstance(error["message"], str)
    if resp.status >= 400:
        assert conn.zcard(keys.pending()) == stored_before  # refused means nothing stored
    if resp.status == 303 and request["path"] == "/api/v1/comments":
        # Back to the article only, read as a browser reads it: never an open redirect.
        location = resp.getheader("Location", "")
        assert origin_of(location) in REDIRECT_ORIGINS, location


def http_connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)
