"""Per-article settings in the workspace: closing a thread (by an admin, or by the site's
default some days after its first comment) and pre-moderating it; what the API and the
worker do about them. Real Redis, real job code."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys
from service.core.records import decode_record
from service.core.settings import Settings
from service.web.app import create_app
from tests.helpers import ARTICLE, Client, approve, drain, form_token, stored_comments, submit
from tests.test_workspace import (
    TOKEN_ALICE,
    TOKEN_BOB,
    csrf_of,
    other_client,
    sign_in_with_token,
    workspace_settings,
)

PAGE = "/moderation/article"


@pytest.fixture
def ws_settings(settings: Settings) -> Settings:
    return workspace_settings(settings)


@pytest.fixture
async def ws(ws_settings: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(ws_settings))) as c:
        yield c


async def save(client: Client, csrf: str, **fields: str) -> int:
    data = {"csrf": csrf, "article": ARTICLE, **fields}
    resp = await client.post(PAGE, data=data, allow_redirects=False)
    return resp.status


async def thread(client: Client, **params: str) -> dict[str, object]:
    resp = await client.get("/api/v1/comments", params={"article": ARTICLE, **params})
    assert resp.status == 200
    return dict(await resp.json())


async def test_an_admin_closes_a_thread_and_the_api_refuses_new_comments(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    first = await submit(ws, comment="Said before the thread closed.")
    approve(rconn, ws_settings, first)
    open_etag = (await ws.get("/api/v1/comments", params={"article": ARTICLE})).headers["ETag"]
    assert "closed" not in await thread(ws)
    bob = await sign_in_with_token(ws, TOKEN_BOB)
    page = await ws.get(PAGE, params={"article": ARTICLE})
    assert page.status == 200
    assert "Only an admin" in await page.text()
    assert await save(ws, bob, closing="closed") == 403  # a moderator may not
    assert (await ws.get(PAGE)).status == 404
    admin = await other_client(ws_settings)
    try:
        alice = await sign_in_with_token(admin, TOKEN_ALICE)
        assert await save(admin, alice, closing="sometimes") == 422
        assert await save(admin, alice, closing="closed") == 303
        shown = await (await admin.get(PAGE, params={"article": ARTICLE, "did": "saved"})).text()
        assert '<strong id="article-state">closed</strong>' in shown
        # Readers see the thread, marked closed, whole or by pages; its ETag changes with it.
        whole = await ws.get("/api/v1/comments", params={"article": ARTICLE})
        assert whole.headers["ETag"] != open_etag
        body = await whole.json()
        assert body["closed"] is True
        assert [c["id"] for c in body["comments"]] == [first]
        assert (await thread(ws, limit="10"))["closed"] is True
        # New comments and replies are refused, clearly; nothing is stored.
        before = len(stored_comments(rconn))
        body = {"article": ARTICLE, "name": "Late", "email": "late-5501@example.org",
                "comment": "Too late?", "form_token": form_token(ARTICLE)}  # fmt: skip
        resp = await ws.post("/api/v1/comments", json=body)
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "comments_closed"
        page = await ws.post("/api/v1/comments", data=body, headers={"Accept": "text/html"})
        assert page.status == 403
        assert "Comments on this article are closed." in await page.text()
        assert len(stored_comments(rconn)) == before
        # Other articles are untouched; reopening lets comments in again.
        await submit(ws, article="another-article")
        assert await save(admin, alice, closing="open") == 303
        assert "closed" not in await thread(ws)
        await submit(ws, comment="After it reopened.")
        actions = [decode_record(e or {}) for _, e in rconn.xrange(keys.audit_log()) or []]
        assert [(a["action"], a["actor"]) for a in actions if a.get("article") == ARTICLE][-2:] == [
            ("close", "alice"),
            ("open", "alice"),
        ]
        audit = await (await admin.get("/moderation/audit", params={"action": "close"})).text()
        assert f'href="/moderation/article?article={ARTICLE}"' in audit
    finally:
        await admin.close()


async def test_the_site_default_closes_threads_some_days_after_the_first_comment(
    ws_settings: Settings, rconn: redis.Redis
) -> None:
    settings = ws_settings.with_overrides(close_after_days=2)
    async with TestClient(TestServer(create_app(settings))) as ws:
        first = await submit(ws, comment="The first word.")
        approve(rconn, settings, first)
        assert "closed" not in await thread(ws)
        # The first comment three days old: closed, though nobody closed it.
        rconn.zadd(keys.thread(ARTICLE), {first: time.time() - 3 * 86_400}, xx=True)
        assert (await thread(ws))["closed"] is True
        await submit(ws, expect=403)
        # An admin may keep it open anyway.
        alice = await sign_in_with_token(ws, TOKEN_ALICE)
        html = await (await ws.get(PAGE, params={"article": ARTICLE})).text()
        assert "close 2 days after the first comment" in html
        assert await save(ws, alice, closing="open") == 303
        assert "closed" not in await thread(ws)
        await submit(ws, comment="Still welcome here.")
        # Back to the default: closed again.
        assert await save(ws, alice, closing="default") == 303
        assert (await thread(ws))["closed"] is True


async def test_a_premoderated_article_holds_every_comment(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    # Maria had a comment approved and posts from the browser it was approved from: her
    # next comment is published at once...
    key = "k" * 32

    async def posted(text: str, article: str = ARTICLE) -> dict[str, str]:
        comment_id = await submit(ws, comment=text, commenter_key=key, article=article)
        await drain(ws_settings)
        return stored_comments(rconn)[comment_id]

    first = await posted("My first comment on the lunar station.")
    approve(rconn, ws_settings, first["id"])
    assert (await posted("A second thought, published at once."))["status"] == "approved"
    alice = await sign_in_with_token(ws, TOKEN_ALICE)
    assert await save(ws, alice, closing="default", premoderate="on") == 303
    # ... but on a pre-moderated article it is held, and moderators see why.
    stored = await posted("A third thought, on a pre-moderated article.")
    assert stored["status"] == "held"
    assert "premoderated" in {r["code"] for r in json.loads(stored["reasons"])}
    html = await (await ws.get("/moderation/queue/held")).text()
    assert "Every comment on this article is held for review" in html
    # Elsewhere, she is trusted as before.
    elsewhere = await posted("A thought on another article.", "another-article")
    assert elsewhere["status"] == "approved"
    assert await save(ws, alice, closing="default") == 303
    assert not rconn.hget(keys.article_settings(ARTICLE), "premoderate")


async def test_article_settings_refuse_without_a_session_and_cross_site(ws: Client) -> None:
    assert (await ws.get(PAGE, params={"article": ARTICLE})).status == 401
    assert await save(ws, "anything", closing="closed") == 401
    alice = await sign_in_with_token(ws, TOKEN_ALICE)
    resp = await ws.post(
        PAGE,
        data={"csrf": alice, "article": ARTICLE, "closing": "closed"},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert resp.status == 403
    assert await save(ws, "v1.00000000.e30.AAAAAAAAAAAAAAAAAAAAAAAA", closing="closed") == 403
    page = await ws.get(PAGE, params={"article": ARTICLE})
    assert csrf_of(await page.text())
