"""What the widget needs from the service over HTTP: the script, CORS, counts, statuses, and the
page a no-JavaScript form post gets back."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer
from service.store import moderation
from service.web.app import create_app
from tests.helpers import (
    ALLOWED_ORIGIN,
    Client,
    approve,
    make_settings,
    stored_comments,
    submit,
)

# Gzipped budgets. What a reader downloads before the thread shows: embed.js, CSS included,
# with room for others' features (issue 14 allows 15 KB; Isso's widget: 20 KB).
FIRST_PAINT_BUDGET = 11 * 1024
# What it loads next, on demand: live updates, the form's actions, its language if not English.
PART_BUDGETS = {"live": 3 * 1024, "form": 6 * 1024} | {
    lang: 2 * 1024 for lang in ("de", "es", "fr", "ru", "zh")
}


async def test_embed_js_is_cacheable_embeddable_and_small(client: Client) -> None:
    resp = await client.get("/embed.js", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert resp.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert resp.headers["Content-Encoding"] == "gzip"
    assert "max-age=" in resp.headers["Cache-Control"]
    compressed = await resp.read()
    assert len(compressed) <= FIRST_PAINT_BUDGET
    source = gzip.decompress(compressed)
    assert b"adoptedStyleSheets" in source  # its CSS ships inside: one request

    etag = resp.headers["ETag"]
    again = await client.get("/embed.js", headers={"If-None-Match": etag})
    assert again.status == 304

    digest = etag.strip('"')
    pinned = await client.get(f"/embed.{digest}.js")
    assert pinned.status == 200
    assert await pinned.read() == source
    assert "immutable" in pinned.headers["Cache-Control"]
    stale = await client.get("/embed.000000000000.js")
    assert stale.status == 404
    assert (await stale.json())["error"]["code"] == "not_found"


async def test_the_parts_are_served_like_embed_js_by_their_pinned_names(client: Client) -> None:
    """embed.js imports its parts by the names pinned in it: cacheable for a year, CORS for any
    page (they are ES modules), each within its budget."""
    embed = await client.get("/embed.js")
    found = re.search(rb"const PARTS = (\{.*?\});", await embed.read())
    assert found is not None
    pinned = json.loads(found[1])
    assert set(pinned) == set(PART_BUDGETS)
    for part, name in pinned.items():
        resp = await client.get(
            f"/embed-{name}.js", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
        )
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert resp.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert "immutable" in resp.headers["Cache-Control"]
        assert len(await resp.read()) <= PART_BUDGETS[part], part
        stable = await client.get(
            f"/embed-{part}.js", headers={"If-None-Match": resp.headers["ETag"]}
        )
        assert stable.status == 304
    for missing in ("/embed-xx.js", f"/embed-form.{'0' * 12}.js", "/embed-../embed.js"):
        resp = await client.get(missing)
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"


async def test_allowed_origins_get_cors_and_preflights(client: Client) -> None:
    resp = await client.get("/api/v1/comments?article=a1", headers={"Origin": ALLOWED_ORIGIN})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in resp.headers.getall("Vary")
    assert "Access-Control-Allow-Credentials" not in resp.headers

    preflight = await client.options(
        "/api/v1/comments",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]

    # Error answers carry CORS too, so the widget can show 422 field errors.
    bad = await client.post(
        "/api/v1/comments", json={"article": "a1"}, headers={"Origin": ALLOWED_ORIGIN}
    )
    assert bad.status == 422
    assert bad.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Retry-After" in bad.headers["Access-Control-Expose-Headers"]


async def test_other_origins_are_refused_with_a_json_error(
    client: Client, rconn: redis.Redis
) -> None:
    for origin in ("https://evil.example", "https://news.example.org.evil.example", "null"):
        resp = await client.post(
            "/api/v1/comments",
            json={"article": "a1", "name": "Ada", "email": "ada@example.org", "comment": "Hi"},
            headers={"Origin": origin},
        )
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "origin_not_allowed"
        preflight = await client.options(
            "/api/v1/comments",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status == 403
    assert stored_comments(rconn) == {}


async def test_wildcard_subdomain_patterns(settings: Settings) -> None:
    app = create_app(settings.with_overrides(allowed_origins=("https://*.example.org",)))
    async with TestClient(TestServer(app)) as client:
        ok = await client.get(
            "/api/v1/counts?article=a", headers={"Origin": "https://m.example.org"}
        )
        assert ok.headers["Access-Control-Allow-Origin"] == "https://m.example.org"
        apex = await client.get(
            "/api/v1/counts?article=a", headers={"Origin": "https://example.org"}
        )
        assert apex.status == 403


async def test_counts_of_several_articles(
    client: Client, settings: Settings, rconn: redis.Redis
) -> None:
    for article in ("a1", "a1", "a2"):
        approve(rconn, settings, await submit(client, article=article))
    await submit(client, article="a2")  # pending: not counted
    resp = await client.get("/api/v1/counts?article=a1&article=a2&article=a3&article=a1")
    assert resp.status == 200
    assert await resp.json() == {"counts": {"a1": 2, "a2": 1, "a3": 0}}
    for query in ("", "?article=", "?" + "&".join(f"article=x{i}" for i in range(101))):
        bad = await client.get("/api/v1/counts" + query)
        assert bad.status == 422
        assert "article" in (await bad.json())["error"]["fields"]


async def test_comment_status_says_pending_approved_or_gone(
    client: Client, settings: Settings, rconn: redis.Redis
) -> None:
    waiting, published, rejected = [await submit(client) for _ in range(3)]
    approve(rconn, settings, published)
    moderation.apply(rconn, settings, rejected, "reject", "test")
    unknown = "0" * 16 + "-" + "1" * 16
    ids = (waiting, published, rejected, unknown)
    resp = await client.get("/api/v1/comment-status?" + "&".join(f"id={i}" for i in ids))
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert (await resp.json())["statuses"] == {
        waiting: "pending",
        published: "approved",
        rejected: "gone",
        unknown: "gone",
    }
    for query in ("", "?id=nope", "?" + "&".join(f"id={unknown[:-2]}{i:02}" for i in range(51))):
        bad = await client.get("/api/v1/comment-status" + query)
        assert bad.status == 422
        assert (await bad.json())["error"]["fields"]["id"]["code"] == "invalid"


async def test_form_token_tells_the_widget_the_limits(client: Client, settings: Settings) -> None:
    resp = await client.get("/api/v1/form-token?article=a1")
    limits = (await resp.json())["limits"]
    assert limits == {
        "comment": settings.max_comment_chars,
        "name": 100,
        "email": 254,
        "website": 200,
    }


async def test_no_javascript_error_page_keeps_the_text_but_not_the_address(
    client: Client, rconn: redis.Redis
) -> None:
    form = {
        "article": "a1",
        "article_url": ALLOWED_ORIGIN + "/story",
        "name": "<b>Ada</b>",
        "email": "ada@example.invalid",
        "comment": "My </textarea><script>alert(1)</script> words",
    }
    resp = await client.post("/api/v1/comments", data=form, headers={"Accept": "text/html"})
    assert resp.status == 422
    assert resp.headers["Content-Type"].startswith("text/html")
    html = await resp.text()
    assert "Enter a valid email address." in html
    assert "My &lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt; words" in html
    assert 'value="&lt;b&gt;Ada&lt;/b&gt;"' in html
    assert "<script>" not in html
    assert "ada@example.invalid" not in html
    assert f'href="{ALLOWED_ORIGIN}/story"' in html
    # Posting again is answered by a redirect back to the article: CSP must allow that hop.
    assert f"form-action 'self' {ALLOWED_ORIGIN};" in resp.headers["Content-Security-Policy"]
    assert re.search(r'name="form_token" value="[^"]+"', html)
    assert stored_comments(rconn) == {}
    # API clients posting forms still get the JSON error.
    api = await client.post("/api/v1/comments", data=form)
    assert api.status == 422
    assert (await api.json())["error"]["fields"]["email"]["code"] == "invalid_email"


async def test_demo_page_embeds_the_widget_under_a_strict_policy(settings: Settings) -> None:
    async with TestClient(TestServer(create_app(settings, demo_page=True))) as client:
        resp = await client.get("/")
        html = await resp.text()
    assert '<script src="/embed.js" data-article="lunar-station-2021" async>' in html
    policy = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "unsafe-eval" not in policy


async def test_no_javascript_error_page_says_when_to_retry(redis_server: RedisServer) -> None:
    """429 and 503 pages carry Retry-After as the JSON answers do."""
    form = {
        "article": "a1",
        "name": "Ada",
        "email": "ada@example.org",
        "comment": "Hi",
        "article_url": ALLOWED_ORIGIN + "/story",
    }
    html = {"Accept": "text/html"}
    limited = make_settings(redis_server.url, limit_ip=(1, 600))
    async with TestClient(TestServer(create_app(limited))) as client:
        first = await client.post(
            "/api/v1/comments", data=form, headers=html, allow_redirects=False
        )
        assert first.status == 303
        again = await client.post("/api/v1/comments", data=form, headers=html)
        assert again.status == 429
        assert again.headers["Content-Type"].startswith("text/html")
        assert 0 < int(again.headers["Retry-After"]) <= 601


async def test_no_javascript_error_page_during_an_outage_says_when_to_retry(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        async with TestClient(TestServer(create_app(make_settings(server.url)))) as client:
            server.stop()
            form = {"article": "a1", "name": "Ada", "email": "ada@example.org", "comment": "Hi"}
            resp = await client.post("/api/v1/comments", data=form, headers={"Accept": "text/html"})
            assert resp.status == 503
            assert resp.headers["Content-Type"].startswith("text/html")
            assert "nothing was saved" in await resp.text()
            assert int(resp.headers["Retry-After"]) > 0
    finally:
        server.stop()
