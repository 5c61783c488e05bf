"""Who may see and do what in the moderators' workspace, for every page and every action.

The lists come from the app's router (every GET and POST route under /moderation/), so a
page or an action added later is covered without a change here. A route reachable before a
session exists is listed below with the reason; an admin's action is listed as one (a
moderator's refusal proves the list complete). Every page and action refuses without a
session, with an ended one (signed out, past its maximum age, idle), with a moderator's on
an admin action, and cross-site: no CSRF value, a wrong one, another session's, a foreign
Origin. Nothing a refused post asked for happens.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import redis
from aiohttp import ClientResponse

from service.core import keys
from service.core.settings import Settings
from service.web.appkeys import SETTINGS
from service.web.workspace import COOKIE
from tests.helpers import ARTICLE, Client, filled_paths, route_paths, stored_comments
from tests.test_workspace import (
    TOKEN_ALICE,
    TOKEN_BOB,
    csrf_of,
    held,
    other_client,
    session_of,
    sign_in_with_token,
    workspace_settings,
)

# Reached without a session, by design: the sign-in page, a mailed link's page (its GET only
# shows a button: mail scanners follow links), and the workspace's static script.
# What the workspace's catch-all route (an unknown page) is visited as.
MISSING_PAGE = "no-such-page"
PUBLIC_PAGES = {"/moderation/", "/moderation/signin/{token}", "/moderation/workspace.js"}
# The forms that start a session; test_workspace.py checks their own CSRF values and limits.
SIGNIN_FORMS = {"/moderation/signin", "/moderation/signin/{token}", "/moderation/token"}
ADMIN_ACTIONS = {
    "/moderation/sessions/end-all",
    "/moderation/commenter/{commenter_id}/ban",
    "/moderation/commenter/{commenter_id}/unban",
    "/moderation/article",
    "/moderation/bans",
    "/moderation/bans/remove",
}
# What each action's genuine form sends (besides its CSRF value): refused, none of it happens.
FIELDS = {
    "/moderation/act": [("item", "spam:{comment_id}")],
    "/moderation/comment/{comment_id}/edit": [("text", "Rewritten by a forger.")],
    "/moderation/comment/{comment_id}/feature": [("featured", "on")],
    "/moderation/comment/{comment_id}/reply": [("name", "Staff"), ("reply", "Forged reply.")],
    "/moderation/commenter/{commenter_id}/note": [("note", "Forged note.")],
    "/moderation/commenter/{commenter_id}/ban": [("duration", "forever"),
                                                 ("reject_existing", "on")],
    "/moderation/article": [("article", ARTICLE), ("closing", "closed")],
    "/moderation/bans": [("entry", "203.0.113.0/24"), ("duration", "forever")],
}  # fmt: skip
FOREIGN = ({"Origin": "https://evil.example"}, {"Origin": "null"},
           {"Sec-Fetch-Site": "cross-site"})  # fmt: skip


@pytest.fixture
def ws_settings(settings: Settings) -> Settings:
    return workspace_settings(settings)


@dataclass
class Desk:
    """The workspace's routes filled with real samples: a held comment, its commenter."""

    comment_id: str
    samples: dict[str, list[str]]

    def pages(self, client: Client) -> list[str]:
        paths = route_paths(client.app, "GET", "/moderation/")
        query = {"/moderation/article": f"?article={ARTICLE}"}
        return [path + query.get(template, "") for template in paths
                if template not in PUBLIC_PAGES
                for path in filled_paths(template, self.samples)]  # fmt: skip

    def actions(self, client: Client) -> list[tuple[str, str]]:
        """(template, path) of every action; sign-out and end-all last (they end sessions)."""
        paths = route_paths(client.app, "POST", "/moderation/")
        last = ("/moderation/signout", "/moderation/sessions/end-all")
        ordered = sorted(set(paths) - SIGNIN_FORMS, key=lambda t: (t in last, t))
        return [(t, path) for t in ordered for path in filled_paths(t, self.samples)]

    def fields(self, template: str, csrf: str | None) -> list[tuple[str, str]]:
        given = [(n, v.format(comment_id=self.comment_id)) for n, v in FIELDS.get(template, [])]
        return given if csrf is None else [("csrf", csrf), *given]


@asynccontextmanager
async def an_admin(settings: Settings) -> AsyncIterator[Client]:
    """An admin in another browser, signed in for a look and signed out after."""
    admin = await other_client(settings)
    try:
        csrf = await sign_in_with_token(admin, TOKEN_ALICE)
        yield admin
        assert (await post(admin, "/moderation/signout", [("csrf", csrf)])).status == 303
    finally:
        await admin.close()


@pytest.fixture
async def desk(ws: Client, ws_settings: Settings) -> Desk:
    [comment_id] = await held(ws, ws_settings, 1)
    async with an_admin(ws_settings) as admin:
        page = await (await admin.get(f"/moderation/comment/{comment_id}")).text()
    [commenter_id] = set(re.findall(r"/moderation/commenter/([0-9a-f]{20})", page))
    samples = {
        "folder": ["held", "spam", "approved", "rejected", "all", "reported"],
        "comment_id": [comment_id],
        "commenter_id": [commenter_id],
        "token": ["unused"],
        "unknown": [MISSING_PAGE],
    }
    return Desk(comment_id, samples)


async def post(
    client: Client, path: str, fields: list[tuple[str, str]], headers: dict[str, str] | None = None
) -> ClientResponse:
    return await client.post(path, data=fields, headers=headers, allow_redirects=False)


async def nothing_happened(settings: Settings, desk: Desk, conn: redis.Redis) -> None:
    """What the actions' forms ask for, undone: checked in Redis and on a fresh admin's pages."""
    comment = stored_comments(conn)[desk.comment_id]
    assert comment["status"] == "held"
    assert comment["comment"].startswith("Held comment number 0")
    assert not list(conn.scan_iter(keys.ban("*")))
    assert not conn.hlen(keys.network_bans())
    assert conn.xlen(keys.audit_log()) == 0
    async with an_admin(settings) as admin:
        [commenter] = desk.samples["commenter_id"]
        page = await (await admin.get(f"/moderation/commenter/{commenter}")).text()
        assert "No notes." in page
        article = await (await admin.get("/moderation/article", params={"article": ARTICLE})).text()
        assert '<strong id="article-state">open</strong>' in article


async def refused_everywhere(
    ws: Client, desk: Desk, cookie: str | None, csrf: str, conn: redis.Redis
) -> None:
    sent = {"Cookie": f"{COOKIE}={cookie}"} if cookie else None
    ws.session.cookie_jar.clear()  # only the cookie given here is sent
    for path in desk.pages(ws):
        resp = await ws.get(path, headers=sent)
        assert resp.status == 401, path
        assert "Sign in to moderate" in await resp.text(), path
    for template, path in desk.actions(ws):
        resp = await post(ws, path, desk.fields(template, csrf), sent)
        assert resp.status == 401, path
    await nothing_happened(ws.app[SETTINGS], desk, conn)


@pytest.mark.parametrize("ended", ["never signed in", "signed out", "past its maximum age",
                                   "idle past its time", "a cookie we never issued"])  # fmt: skip
async def test_every_page_and_action_needs_a_live_session(
    ws: Client, desk: Desk, rconn: redis.Redis, ended: str
) -> None:
    signin_csrf = csrf_of(await (await ws.get("/moderation/")).text())
    csrf = await sign_in_with_token(ws, TOKEN_ALICE)
    for path in desk.pages(ws):  # the samples are real: signed in, every page opens
        assert (await ws.get(path)).status == (404 if MISSING_PAGE in path else 200), path
    cookie: str | None = session_of(ws)
    key = keys.session(hashlib.sha256(session_of(ws).encode()).hexdigest())
    assert rconn.exists(key)
    if ended == "never signed in":
        cookie, csrf = None, signin_csrf
    elif ended == "signed out":
        out = await post(ws, "/moderation/signout", [("csrf", csrf)])
        assert out.status == 303
        assert out.cookies[COOKIE].value == ""  # the browser forgets it; a copy opens nothing
    elif ended == "past its maximum age":
        rconn.hset(key, "created", "1000000000")
    elif ended == "idle past its time":
        rconn.delete(key)  # what Redis does when the idle time (the key's TTL) runs out
    else:
        cookie = "f" * 43
    await refused_everywhere(ws, desk, cookie, csrf, rconn)
    if ended in ("signed out", "past its maximum age", "idle past its time"):
        assert not rconn.exists(key)  # ended for good, not just refused


async def test_admin_actions_refuse_a_moderator(ws: Client, desk: Desk, rconn: redis.Redis) -> None:
    csrf = await sign_in_with_token(ws, TOKEN_BOB)
    actions = desk.actions(ws)
    assert {t for t, _ in actions} >= ADMIN_ACTIONS, "an admin action is no longer routed"
    for template, path in actions:
        if template in ADMIN_ACTIONS:
            resp = await post(ws, path, desk.fields(template, csrf))
            assert resp.status == 403, path
            assert "Only an admin can do this." in await resp.text(), path
    await nothing_happened(ws.app[SETTINGS], desk, rconn)
    # Every other action is a moderator's: none answers a moderator with "only an admin".
    for template, path in actions:
        if template not in ADMIN_ACTIONS:
            resp = await post(ws, path, [("csrf", csrf)])
            assert "Only an admin" not in await resp.text(), f"{template}: add to ADMIN_ACTIONS"


async def test_cross_site_and_forged_posts_are_refused_by_every_action(
    ws: Client, ws_settings: Settings, desk: Desk, rconn: redis.Redis
) -> None:
    other = await other_client(ws_settings)
    try:
        their_csrf = await sign_in_with_token(other, TOKEN_BOB)
    finally:
        await other.close()
    csrf = await sign_in_with_token(ws, TOKEN_ALICE)
    forged = "v1.00000000.e30.AAAAAAAAAAAAAAAAAAAAAAAA"
    for template, path in desk.actions(ws):
        attempts = [
            ("no CSRF value", desk.fields(template, None), {}),
            ("a wrong CSRF value", desk.fields(template, forged), {}),
            ("another session's CSRF value", desk.fields(template, their_csrf), {}),
            *((f"from {h}", desk.fields(template, csrf), h) for h in FOREIGN),
        ]
        for what, fields, headers in attempts:
            resp = await post(ws, path, fields, headers)
            assert resp.status == 403, (path, what)
    # Still signed in (sign-out and end-all were refused too), and nothing happened.
    assert (await ws.get("/moderation/queue/held")).status == 200
    await nothing_happened(ws.app[SETTINGS], desk, rconn)
    # The same form, genuine, acts: the refusals were the checks', not the fields'.
    act = await post(ws, "/moderation/act", desk.fields("/moderation/act", csrf))
    assert act.status == 303
    assert stored_comments(rconn)[desk.comment_id]["status"] == "spam"


async def test_every_page_sends_its_policy_and_is_not_cached(ws: Client, desk: Desk) -> None:
    """Signed out (the sign-in page answers) and signed in: only the workspace's own script
    runs, nothing is cached, and no URL reaches another site as a referrer."""
    public = [p for t in sorted(PUBLIC_PAGES - {"/moderation/workspace.js"})
              for p in filled_paths(t, desk.samples)]  # fmt: skip
    answers = [await ws.get(path) for path in [*public, *desk.pages(ws)]]
    await sign_in_with_token(ws, TOKEN_ALICE)
    answers += [await ws.get(path) for path in desk.pages(ws)]
    # 410: a spent sign-in link; 404: the workspace's page for a page it does not have.
    assert {r.status for r in answers} == {200, 401, 404, 410}
    for resp in answers:
        policy = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy, resp.url
        assert "default-src 'none'" in policy, resp.url
        assert resp.headers["Referrer-Policy"] == "same-origin", resp.url
        assert resp.headers["Cache-Control"] == "no-store", resp.url
    script = await ws.get("/moderation/workspace.js")
    assert script.status == 200
    assert script.content_type == "text/javascript"
