"""Per-article settings in the workspace: closing a thread (by an admin, or by the site's
default some days after the article's publication) and pre-moderating it; what the API and
the worker do about them. Real Redis, real job code."""

from __future__ import annotations

import json
import time

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
    assert (await ws.get(PAGE)).status == 422  # which article? (a page asking for it)
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
        assert "close 2 days after publication" in html
        assert await save(ws, alice, closing="open") == 303
        assert "closed" not in await thread(ws)
        await submit(ws, comment="Still welcome here.")
        # Back to the default: closed again.
        assert await save(ws, alice, closing="default") == 303
        assert (await thread(ws))["closed"] is True


def days_ago(days: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - days * 86_400))


async def test_the_site_default_counts_from_the_publication_date_else_first_seen(
    ws_settings: Settings, rconn: redis.Redis
) -> None:
    settings = ws_settings.with_overrides(close_after_days=7)
    async with TestClient(TestServer(create_app(settings))) as ws:
        # Never seen: no age, open.
        assert "closed" not in await thread(ws)
        # First seen with its first comment (decided: held, not published).
        [first] = [await submit(ws, comment="The first word, held for review.")]
        await drain(settings)
        seen = float(rconn.hget(keys.article_settings(ARTICLE), "first_seen") or 0)
        assert seen == pytest.approx(float(stored_comments(rconn)[first]["created_at"]), abs=0.01)
        assert "closed" not in await thread(ws)
        alice = await sign_in_with_token(ws, TOKEN_ALICE)
        html = await (await ws.get(PAGE, params={"article": ARTICLE})).text()
        assert "its publication date is unknown" in html
        # Published ten days ago, an admin says: seven days after that, it closed.
        for typed, says in [("10/11/2026", "YYYY-MM-DD"), ("2026-02-30", "YYYY-MM-DD"),
                            (days_ago(-2), "between 1990-01-01 and today"),
                            ("1989-12-31", "between 1990-01-01 and today")]:  # fmt: skip
            data = {"csrf": alice, "article": ARTICLE, "closing": "default", "published": typed}
            wrong = await ws.post(PAGE, data=data)
            assert wrong.status == 422, typed
            text = await wrong.text()
            assert says in text, typed
            assert 'aria-invalid="true"' in text
        assert not rconn.hexists(keys.article_settings(ARTICLE), "published")
        assert await save(ws, alice, closing="default", published=days_ago(10)) == 303
        assert (await thread(ws))["closed"] is True
        refused = await ws.post(
            "/api/v1/comments",
            json={"article": ARTICLE, "name": "N", "email": "n-7701@example.net",
                  "comment": "Too late?", "form_token": form_token()},
        )  # fmt: skip
        assert refused.status == 403
        assert (await refused.json())["error"]["code"] == "comments_closed"
        html = await (await ws.get(PAGE, params={"article": ARTICLE})).text()
        assert f'name="published" type="date" value="{days_ago(10)}"' in html
        # Saving the other settings leaves the date; an empty date forgets it.
        assert await save(ws, alice, closing="default") == 303
        assert rconn.hexists(keys.article_settings(ARTICLE), "published")
        assert await save(ws, alice, closing="default", published="") == 303
        assert "closed" not in await thread(ws)
        # A moderator may not date an article.
        bob_client = await other_client(settings)
        try:
            bob = await sign_in_with_token(bob_client, TOKEN_BOB)
            data = {"csrf": bob, "article": ARTICLE, "closing": "default",
                    "published": days_ago(30)}  # fmt: skip
            assert (await bob_client.post(PAGE, data=data)).status == 403
        finally:
            await bob_client.close()
        assert "closed" not in await thread(ws)
        entries = [decode_record(e or {}) for _, e in rconn.xrange(keys.audit_log()) or []]
        dated = [(e["actor"], e["to"]) for e in entries if e["action"] == "published-date"]
        assert dated == [("alice", f"{days_ago(10)} 00:00 UTC"), ("alice", "unknown")]


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
