"""The moderators' workspace over HTTP: sign-in by mail and by token, sessions, CSRF, roles,
the queues and acting on them, the audit. Real Redis, a real SMTP server, real job code."""

from __future__ import annotations

import json
import re
from ipaddress import ip_network

import pytest
import redis
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from service.core import keys
from service.core.bans import parse_entry
from service.core.records import as_text, decode_record
from service.core.settings import Settings
from service.store import article_folders, bans, commenters, queues
from service.web.app import create_app
from service.web.appkeys import BANS, REDIS
from service.web.workspace import COOKIE
from tests.bench.workspace import seed
from tests.helpers import (
    ARTICLE,
    Client,
    Recorder,
    approve,
    drain,
    email_hash,
    form_token,
    stored_comments,
    submit,
)

TOKEN_ALICE = "a" * 40  # an admin (COMMENTS_MODERATOR_ADMINS names her)
TOKEN_BOB = "b" * 40  # a moderator
MODERATOR = "desk-7731@news.example.org"
ADMIN = "chief-7732@news.example.org"


def workspace_settings(settings: Settings, **overrides: object) -> Settings:
    return settings.with_overrides(
        moderator_tokens=(("alice", TOKEN_ALICE), ("bob", TOKEN_BOB)),
        moderator_emails=(MODERATOR, ADMIN),
        moderator_admins=(ADMIN, "alice"),
        **overrides,
    )


@pytest.fixture
def ws_settings(settings: Settings, smtp: tuple[int, Recorder]) -> Settings:
    return workspace_settings(settings, smtp_url=f"smtp://127.0.0.1:{smtp[0]}")


async def other_client(settings: Settings) -> Client:
    """A second browser (its own cookie jar) on the same service; the caller closes it."""
    c: Client = TestClient(TestServer(create_app(settings)))
    await c.start_server()
    return c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def session_of(client: Client) -> str:
    [cookie] = [c for c in client.session.cookie_jar if c.key == COOKIE]
    return cookie.value


async def sign_in_with_token(client: Client, token: str = TOKEN_ALICE) -> str:
    """Sign in as a script would; returns the session's CSRF value."""
    page = await client.get("/moderation/")
    resp = await client.post(
        "/moderation/token",
        data={"csrf": csrf_of(await page.text()), "token": token},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/moderation/queue/held"
    queue = await client.get("/moderation/queue/held")
    assert queue.status == 200
    return csrf_of(await queue.text())


async def held(client: Client, settings: Settings, count: int, **fields: str) -> list[str]:
    """First-time commenters' comments, decided by the real job code: held."""
    ids = [await submit(client, {**fields, "comment": f"Held comment number {n}, waiting."})
           for n in range(count)]  # fmt: skip
    await drain(settings)
    return ids


async def act(
    client: Client, csrf: str, *pairs: tuple[str, str], back: str = "/moderation/queue/held"
) -> ClientResponse:
    data = [("csrf", csrf), ("back", back), *pairs]
    return await client.post("/moderation/act", data=data, allow_redirects=False)


def statuses(conn: redis.Redis, ids: list[str]) -> list[str]:
    stored = stored_comments(conn)
    return [stored[i]["status"] for i in ids]


# --- signing in ---------------------------------------------------------------------------


async def mailed_signin_link(settings: Settings, recorder: Recorder, to: str) -> str:
    await drain(settings)
    [msg] = [m for r, m in recorder.messages if to in r and "Sign in" in str(m["Subject"])]
    body = msg.get_body(("plain",))
    assert body is not None
    found = re.search(r"http://\S+/moderation/signin/\S+", body.get_content())
    assert found, body.get_content()
    return found.group(0)


async def test_signin_by_mailed_link_works_once(
    ws: Client, ws_settings: Settings, smtp: tuple[int, Recorder], rconn: redis.Redis
) -> None:
    page = await ws.get("/moderation/")
    assert page.status == 200
    csrf = csrf_of(await page.text())
    known = await ws.post(
        "/moderation/signin", data={"csrf": csrf, "email": "Desk-7731@NEWS.example.org"}
    )
    unknown = await ws.post(
        "/moderation/signin", data={"csrf": csrf, "email": "reader@example.com"}
    )
    invalid = await ws.post("/moderation/signin", data={"csrf": csrf, "email": "no address"})
    answers = [(r.status, await r.text()) for r in (known, unknown, invalid)]
    assert answers[0][0] == 200
    assert answers[0] == answers[1] == answers[2]  # nothing tells a moderator's address apart
    assert "Desk-7731" not in answers[0][1]

    link = await mailed_signin_link(ws_settings, smtp[1], MODERATOR)
    assert [rcpt for rcpt, _ in smtp[1].messages] == [[MODERATOR]]  # only the moderator's
    path = URL(link).path
    # A mail scanner's GET does not sign in, nor spend the link.
    shown = await ws.get(path)
    assert shown.status == 200
    assert COOKIE not in {c.key for c in ws.session.cookie_jar}
    signed = await ws.post(path, data={"csrf": csrf_of(await shown.text())}, allow_redirects=False)
    assert signed.status == 303
    cookie = signed.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/moderation"
    assert not cookie["secure"]  # the public URL is http here
    queue = await ws.get("/moderation/queue/held")
    assert queue.status == 200
    html = await queue.text()
    assert "Signed in as mail-" in html
    assert "(moderator)" in html
    assert "desk-7731" not in html.lower()  # a moderator is named by a label, not the address
    # The link worked once.
    again = await ws.post(path, data={"csrf": csrf_of(await shown.text())}, allow_redirects=False)
    assert again.status == 410
    assert (await ws.get(path)).status == 410


async def test_admin_address_signs_in_as_admin(
    ws: Client, ws_settings: Settings, smtp: tuple[int, Recorder]
) -> None:
    csrf = csrf_of(await (await ws.get("/moderation/")).text())
    await ws.post("/moderation/signin", data={"csrf": csrf, "email": ADMIN})
    path = URL(await mailed_signin_link(ws_settings, smtp[1], ADMIN)).path
    shown = await ws.get(path)
    await ws.post(path, data={"csrf": csrf_of(await shown.text())})
    assert "(admin)" in await (await ws.get("/moderation/queue/held")).text()


async def test_signin_requests_are_rate_limited(
    ws: Client, ws_settings: Settings, smtp: tuple[int, Recorder]
) -> None:
    csrf = csrf_of(await (await ws.get("/moderation/")).text())
    typed = [MODERATOR, MODERATOR.upper(), f" {MODERATOR} ", MODERATOR]  # one address
    answers = [
        (await ws.post("/moderation/signin", data={"csrf": csrf, "email": t})).status for t in typed
    ]
    assert answers == [200, 200, 200, 429]
    await drain(ws_settings)
    assert len(smtp[1].messages) == 3


async def test_token_signin_refuses_a_wrong_token(ws: Client) -> None:
    csrf = csrf_of(await (await ws.get("/moderation/")).text())
    resp = await ws.post(
        "/moderation/token", data={"csrf": csrf, "token": "c" * 40}, allow_redirects=False
    )
    assert resp.status == 401
    html = await resp.text()
    assert "not a moderator" in html
    # The error is tied to both fields (a screen reader reads it on either), and the token
    # form is open to try again.
    assert html.count('aria-describedby="signin-note"') == 2
    assert "<details open>" in html
    assert COOKIE not in {c.key for c in ws.session.cookie_jar}
    # The sign-in forms need their own CSRF value too (no signing in someone else).
    forged = await ws.post("/moderation/token", data={"token": TOKEN_ALICE}, allow_redirects=False)
    assert forged.status == 403


async def test_the_cookie_is_secure_when_the_public_url_is_https(settings: Settings) -> None:
    secure = workspace_settings(settings, public_url="https://comments.example.org")
    async with TestClient(TestServer(create_app(secure))) as c:
        page = await c.get("/moderation/")
        resp = await c.post(
            "/moderation/token",
            data={"csrf": csrf_of(await page.text()), "token": TOKEN_BOB},
            allow_redirects=False,
        )
        assert resp.status == 303
        assert resp.cookies[COOKIE]["secure"] is True


# --- refusals: no session, ended session, wrong role, another site ------------------------
# (For every page and action, from the router: test_workspace_security.py.)


async def test_an_expired_session_is_refused(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    await sign_in_with_token(ws)
    [key] = list(rconn.scan_iter(keys.session("*")))
    # Idle expiry is Redis's own: the session's key lives no longer than the idle time.
    assert 0 < rconn.ttl(key) <= ws_settings.session_idle_s
    # Past the absolute maximum, however busy: refused, and the session deleted.
    rconn.hset(key, "created", "1000000000")
    assert (await ws.get("/moderation/queue/held")).status == 401
    assert not rconn.exists(key)
    # Idle past its time: Redis removed the key.
    await sign_in_with_token(ws)
    for stale in rconn.scan_iter(keys.session("*")):
        rconn.delete(stale)
    assert (await ws.get("/moderation/queue/held")).status == 401
    # The index of sessions (for "sign everyone out") forgets the expired ones.
    assert rconn.scard(keys.sessions()) == 1
    await sign_in_with_token(ws)
    assert rconn.scard(keys.sessions()) == 1


async def test_an_admin_action_refuses_a_moderator(ws: Client, ws_settings: Settings) -> None:
    admin = await other_client(ws_settings)
    try:
        admin_csrf = await sign_in_with_token(admin, TOKEN_ALICE)
        csrf = await sign_in_with_token(ws, TOKEN_BOB)
        refused = await ws.post(
            "/moderation/sessions/end-all", data={"csrf": csrf}, allow_redirects=False
        )
        assert refused.status == 403
        assert "Only an admin" in await refused.text()
        assert (await ws.get("/moderation/queue/held")).status == 200
        done = await admin.post(
            "/moderation/sessions/end-all", data={"csrf": admin_csrf}, allow_redirects=False
        )
        assert done.status == 303
        # Everyone is signed out: the moderator and the admin alike.
        assert (await ws.get("/moderation/queue/held")).status == 401
        assert (await admin.get("/moderation/queue/held")).status == 401
    finally:
        await admin.close()


async def test_the_settings_decide_who_stays_signed_in(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    signin_csrf = csrf_of(await (await ws.get("/moderation/")).text())
    await sign_in_with_token(ws, TOKEN_BOB)
    # Again in this browser (the sign-in form of before): replaces the session, never adds.
    again = await ws.post("/moderation/token", data={"csrf": signin_csrf, "token": TOKEN_ALICE})
    assert "Signed in as alice (admin)" in await again.text()
    assert len(list(rconn.scan_iter(keys.session("*")))) == 1
    session = session_of(ws)
    cookie = {"Cookie": f"{COOKIE}={session}"}
    # The service restarted with alice no longer an admin: her session is a moderator's now.
    demoted = ws_settings.with_overrides(moderator_admins=(ADMIN,))
    async with TestClient(TestServer(create_app(demoted))) as after:
        page = await after.get("/moderation/queue/held", headers=cookie)
        assert "Signed in as alice (moderator)" in await page.text()
        csrf = csrf_of(await page.text())
        refused = await after.post(
            "/moderation/sessions/end-all", data={"csrf": csrf}, headers=cookie
        )
        assert refused.status == 403
    # And with her token removed: her session ends at its next request.
    removed = ws_settings.with_overrides(moderator_tokens=(("bob", TOKEN_BOB),))
    async with TestClient(TestServer(create_app(removed))) as after:
        assert (await after.get("/moderation/queue/held", headers=cookie)).status == 401
    assert not list(rconn.scan_iter(keys.session("*")))


async def test_cross_site_and_csrf_less_posts_are_refused(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    ids = await held(ws, ws_settings, 1)
    csrf = await sign_in_with_token(ws)
    item = ("item", f"spam:{ids[0]}")
    no_csrf = await ws.post("/moderation/act", data=[item], allow_redirects=False)
    assert no_csrf.status == 403
    forged = await act(ws, "v1.00000000.e30.AAAAAAAAAAAAAAAAAAAAAAAA", item)
    assert forged.status == 403
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Sec-Fetch-Site": "cross-site"}):  # fmt: skip
        resp = await ws.post(
            "/moderation/act",
            data=[("csrf", csrf), item],
            headers=headers,
            allow_redirects=False,
        )
        assert resp.status == 403, headers
    # Another moderator's CSRF value belongs to their session, not this one.
    other = await other_client(ws_settings)
    try:
        other_csrf = await sign_in_with_token(other, TOKEN_BOB)
    finally:
        await other.close()
    assert (await act(ws, other_csrf, item)).status == 403
    # A JSON body is not the workspace's form.
    as_json = await ws.post("/moderation/act", json={"csrf": csrf, "item": item[1]})
    assert as_json.status == 403
    assert statuses(rconn, ids) == ["held"]
    # The genuine post acts.
    assert (await act(ws, csrf, item)).status == 303
    assert statuses(rconn, ids) == ["spam"]


# --- the queues and acting on them ---------------------------------------------------------


async def test_queue_shows_what_a_moderator_needs(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    parent = await submit(ws, comment="The original post about the lunar station.")
    approve(rconn, ws_settings, parent)
    await held(ws, ws_settings, 1, parent_id=parent, website="https://blog.example.net")
    csrf = await sign_in_with_token(ws)
    html = await (await ws.get("/moderation/queue/held")).text()
    assert "Held comment number 0, waiting." in html
    assert "In reply to <strong>Maria</strong>: The original post about the lunar station." in html
    assert "https://blog.example.net" in html
    assert "Score " in html
    assert "Known address, but not from a browser it was approved from" in html  # a reason
    # Maria had a comment approved, but this one came without proof it is her: not trusted.
    assert "Commenter: returning, 2 comments, 1 approved, 0 spam" in html
    assert "Pending review (1)" in html
    assert "Spam (0)" in html
    # Its checkbox says which comment it selects (not just "select").
    name = f"Select the comment by Maria on {ARTICLE}: Held comment number 0, waiting."
    assert f'aria-label="{name}"' in html
    assert csrf


async def test_filters_order_and_pages(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    ids = await held(ws, ws_settings, 27)
    other = await held(ws, ws_settings, 1, article="another-article")
    await sign_in_with_token(ws)

    first = await (await ws.get("/moderation/queue/held")).text()
    assert listed(first) == ids[:25]  # oldest first, 25 a page
    found = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert found
    second = await (await ws.get(found.group(1).replace("&amp;", "&"))).text()
    assert listed(second) == [*ids[25:], *other]
    assert 'rel="next"' not in second
    newest = await (await ws.get("/moderation/queue/held", params={"order": "newest"})).text()
    assert listed(newest)[:2] == [*other, ids[-1]]
    by_article = await ws.get("/moderation/queue/held", params={"article": "another-article"})
    assert listed(await by_article.text()) == other
    by_text = await ws.get("/moderation/queue/held", params={"q": "NUMBER 13,"})
    assert listed(await by_text.text()) == [ids[13]]
    by_reason = await ws.get("/moderation/queue/held", params={"reason": "no-such-reason"})
    assert listed(await by_reason.text()) == []
    bad_cursor = await ws.get("/moderation/queue/held", params={"cursor": "not-a-cursor"})
    assert listed(await bad_cursor.text()) == ids[:25]
    assert (await ws.get("/moderation/queue/elsewhere")).status == 404


async def test_a_rare_reason_reads_a_bounded_stretch_too(ws: Client, rconn: redis.Redis) -> None:
    """Filters judged comment by comment (a reason here) read at most SCAN_MAX comments a
    page, as a text search does, instead of the whole queue."""
    ids = seed(rconn, queues.SCAN_MAX + 600)
    rare = ids[queues.SCAN_MAX + 100]
    rconn.hset(
        keys.comment(rare),
        "reasons",
        json.dumps([{"code": "rare_reason", "text": "Rare.", "points": 1}]),
    )
    await sign_in_with_token(ws)
    first = await (await ws.get("/moderation/queue/held", params={"reason": "rare_reason"})).text()
    assert listed(first) == []
    assert f"Searched {queues.SCAN_MAX:,} comments and found 0 matches" in first
    found = re.search(r'<a href="([^"]+)" rel="next"[^>]*>Search further</a>', first)
    assert found
    assert listed(await (await ws.get(found.group(1).replace("&amp;", "&"))).text()) == [rare]


async def test_a_text_search_reads_a_bounded_stretch_and_searches_further(
    ws: Client, rconn: redis.Redis
) -> None:
    """A word found once in a long queue: each page reads at most SCAN_MAX comments, lists
    what it found there, and links on to search the rest."""
    ids = seed(rconn, queues.SCAN_MAX + 600)
    await sign_in_with_token(ws)

    def further(html: str) -> str | None:
        found = re.search(r'<a href="([^"]+)" rel="next"[^>]*>Search further</a>', html)
        return found.group(1).replace("&amp;", "&") if found else None

    # One match early on: listed at once, with the rest still to search.
    early = await (await ws.get("/moderation/queue/held", params={"q": "NUMBER 5 on"})).text()
    assert listed(early) == [ids[5]]
    assert f"Searched {queues.SCAN_MAX:,} comments and found 1 match" in early
    link = further(early)
    assert link
    rest = await (await ws.get(link)).text()
    assert listed(rest) == []
    assert further(rest) is None  # the queue's end: all searched
    assert "Searched" not in rest

    # One match past the bound: the first page says nothing matched yet, the next finds it.
    late = f"number {queues.SCAN_MAX + 555} on"
    first = await (await ws.get("/moderation/queue/held", params={"q": late})).text()
    assert listed(first) == []
    assert "found 0 matches" in first
    assert "No matches yet." in first
    link = further(first)
    assert link
    assert listed(await (await ws.get(link)).text()) == [ids[queues.SCAN_MAX + 555]]
    # Newest first searches from the other end.
    newest = await ws.get("/moderation/queue/held", params={"q": late, "order": "newest"})
    assert listed(await newest.text()) == [ids[queues.SCAN_MAX + 555]]
    # Case is folded as Python knows Unicode (ß is ss), in the name as in the text.
    rconn.hset(keys.comment(ids[7]), "name", "Jürgen Straße")
    folded = await ws.get("/moderation/queue/held", params={"q": "STRASSE"})
    assert listed(await folded.text()) == [ids[7]]


async def test_article_filters_read_the_articles_folders(
    ws_settings: Settings, rconn: redis.Redis
) -> None:
    app = create_app(ws_settings)
    async with TestClient(TestServer(app)) as ws:
        await _article_filters(ws, app, ws_settings, rconn)


async def _article_filters(
    ws: Client, app: web.Application, ws_settings: Settings, rconn: redis.Redis
) -> None:
    mine = await held(ws, ws_settings, 3, article="filtered-article")
    await held(ws, ws_settings, 2)
    csrf = await sign_in_with_token(ws)
    wanted = {"article": "filtered-article"}
    # Data from before the article folders: the filter reads the site-wide folder while the
    # first filtered read has them listed in the background.
    rconn.delete(keys.article_folders_built(), keys.article_folder("filtered-article", "held"))
    assert listed(await (await ws.get("/moderation/queue/held", params=wanted)).text()) == mine
    await article_folders.build(app[REDIS])  # what the background task does (again: harmless)
    assert rconn.exists(keys.article_folders_built())
    assert rconn.zcard(keys.article_folder("filtered-article", "held")) == 3
    assert listed(await (await ws.get("/moderation/queue/held", params=wanted)).text()) == mine
    # Decisions move a comment between the article's folders as between the site's.
    assert (await act(ws, csrf, ("item", f"spam:{mine[1]}"))).status == 303
    assert (await act(ws, csrf, ("item", f"approve:{mine[2]}"))).status == 303
    for folder, expected in [("held", [mine[0]]), ("spam", [mine[1]]),
                             ("approved", [mine[2]]), ("all", mine)]:  # fmt: skip
        page = await ws.get(f"/moderation/queue/{folder}", params={**wanted, "order": "newest"})
        assert listed(await page.text()) == expected[::-1], folder
    assert rconn.zcard(keys.article_folder("filtered-article", "held")) == 1


async def test_queues_filter_by_commenter_and_their_page_links_there(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    troll = "filtered-9201@example.net"
    theirs = await held(ws, ws_settings, 3, email=troll)
    await held(ws, ws_settings, 2, email="other-9202@example.net")  # never listed below
    theirs += await held(ws, ws_settings, 1, email=troll, article="elsewhere")
    csrf = await sign_in_with_token(ws)
    one = await (await ws.get(f"/moderation/comment/{theirs[0]}")).text()
    [troll_id] = set(COMMENTER_LINK.findall(one))
    mine = {"commenter": troll_id}
    assert listed(await (await ws.get("/moderation/queue/held", params=mine)).text()) == theirs
    newest = {**mine, "order": "newest", "article": ARTICLE}
    page = await (await ws.get("/moderation/queue/held", params=newest)).text()
    assert listed(page) == theirs[:3][::-1]
    assert f'name="commenter" value="{troll_id}"' in page
    assert (await act(ws, csrf, ("item", f"spam:{theirs[0]}"))).status == 303
    assert listed(await (await ws.get("/moderation/queue/spam", params=mine)).text()) == theirs[:1]
    assert listed(await (await ws.get("/moderation/queue/all", params=mine)).text()) == theirs
    # An id the workspace never showed names nobody: nothing listed, no error.
    for unknown in ("0123456789abcdef0123", "not-an-id"):
        resp = await ws.get("/moderation/queue/held", params={"commenter": unknown})
        assert resp.status == 200
        assert listed(await resp.text()) == []
    # Their page links to their comments in each queue.
    profile = await (await ws.get(f"/moderation/commenter/{troll_id}")).text()
    for folder in ("held", "spam", "approved", "rejected", "all", "reported"):
        assert f'href="/moderation/queue/{folder}?commenter={troll_id}"' in profile


async def test_bulk_and_single_actions_use_the_status_model(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    ids = await held(ws, ws_settings, 4)
    csrf = await sign_in_with_token(ws)
    bulk = await act(ws, csrf, ("action", "spam"), ("ids", ids[0]), ("ids", ids[1]))
    assert bulk.status == 303
    assert bulk.headers["Location"] == "/moderation/queue/held?did=spam&n=2&skipped=0"
    notice = await (await ws.get(bulk.headers["Location"])).text()
    assert "2 comments marked as spam." in notice
    assert "Pending review (2)" in notice
    assert "Spam (2)" in notice
    single = await act(ws, csrf, ("item", f"approve:{ids[2]}"), ("ids", ids[3]))
    assert single.status == 303
    assert statuses(rconn, ids) == ["spam", "spam", "approved", "held"]
    # From the spam folder: not spam restores (and publishes).
    restored = await act(ws, csrf, ("item", f"ham:{ids[0]}"), back="/moderation/queue/spam")
    assert restored.headers["Location"].startswith("/moderation/queue/spam?")
    # Already decided: said, not done twice.
    again = await act(ws, csrf, ("action", "approve"), ("ids", ids[2]))
    assert again.headers["Location"].endswith("did=approve&n=0&skipped=1")
    assert statuses(rconn, ids) == ["approved", "spam", "approved", "held"]
    # As the API and the one-click links do: audit, reputation, the text model's labels.
    audit = [e for _, e in rconn.xrange(keys.audit_log()) or []]
    assert [(e[b"actor"], e[b"action"]) for e in audit if e] == [
        (b"alice", b"spam"), (b"alice", b"spam"), (b"alice", b"approve"), (b"alice", b"ham")
    ]  # fmt: skip
    assert rconn.xlen(keys.labels()) == 4  # two spam, the approval of a held one, not spam
    # A back address elsewhere is not followed.
    away = await act(ws, csrf, ("item", f"reject:{ids[3]}"), back="https://evil.example/")
    assert away.headers["Location"].startswith("/moderation/queue/held?")
    nothing = await act(ws, csrf, ("action", "approve"))
    assert nothing.headers["Location"] == "/moderation/queue/held?did=nothing"


def listed(html: str) -> list[str]:
    return re.findall(r'<li id="c-([0-9a-f-]+)"', html)


async def test_every_status_has_its_queue(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    ids = await held(ws, ws_settings, 4)
    csrf = await sign_in_with_token(ws)
    for action, cid in zip(("approve", "reject", "spam"), ids, strict=False):
        await act(ws, csrf, ("item", f"{action}:{cid}"))
    pages = {
        name: await (await ws.get(f"/moderation/queue/{name}")).text()
        for name in ("held", "approved", "rejected", "spam", "all")
    }
    assert listed(pages["approved"]) == [ids[0]]
    assert listed(pages["rejected"]) == [ids[1]]
    assert listed(pages["spam"]) == [ids[2]]
    assert listed(pages["held"]) == [ids[3]]
    assert listed(pages["all"]) == ids  # oldest first, across the four
    for label in ("Pending review (1)", "Spam (1)", "Approved (1)", "Rejected (1)", "All (4)"):
        assert label in pages["all"], label
    assert '<span class="status">rejected</span>' in pages["all"]
    # Each queue offers what its comments can become: a rejected one, approval.
    back = "/moderation/queue/rejected"
    assert (await act(ws, csrf, ("item", f"approve:{ids[1]}"), back=back)).status == 303
    assert statuses(rconn, ids[:2]) == ["approved", "approved"]
    approved = await (await ws.get("/moderation/queue/approved")).text()
    assert listed(approved) == ids[:2]
    # A comment listed where it no longer belongs is not shown there.
    rconn.zadd(keys.approved_folder(), {ids[3]: 1.0})
    assert listed(await (await ws.get("/moderation/queue/approved")).text()) == ids[:2]


async def reader_report(client: Client, comment_id: str, n: int, reason: str, **more: str) -> None:
    body = {"reader": f"{n:032x}", "reason": reason, **more}
    resp = await client.post(f"/api/v1/comments/{comment_id}/reports", json=body)
    assert resp.status == 202, await resp.text()


async def test_reported_queue_groups_reports_and_keeps_the_grounds(
    ws_settings: Settings, rconn: redis.Redis
) -> None:
    settings = ws_settings.with_overrides(reports_flag=2, limit_reports=(100, 600))
    async with TestClient(TestServer(create_app(settings))) as ws:
        unlawful = await submit(ws, comment="A comment readers say breaks the law.")
        rude = await submit(ws, comment="A merely rude comment, readers say.")
        for cid in (unlawful, rude):
            approve(rconn, settings, cid)
        statement = "It repeats a defamatory claim about a named person."
        await reader_report(ws, unlawful, 1, "illegal", statement=statement)
        await reader_report(ws, unlawful, 2, "abuse")
        await reader_report(ws, unlawful, 3, "abuse")
        await reader_report(ws, rude, 4, "abuse")
        await reader_report(ws, rude, 5, "off-topic")
        csrf = await sign_in_with_token(ws, TOKEN_BOB)
        html = await (await ws.get("/moderation/queue/reported")).text()
        assert "Reported (2)" in html
        assert listed(html) == [unlawful, rude]
        assert "Reported 3 times: abuse (2), illegal (1)" in html
        assert "Reported 2 times: abuse (1), off-topic (1)" in html
        assert f"<q>{statement}</q>" in html
        assert html.count('name="grounds:') == 1  # only the illegal-content report asks why
        back = "/moderation/queue/reported"
        grounds = "Defamation of a private person; removed under our policy §4."
        done = await act(
            ws, csrf, ("item", f"reject:{unlawful}"), (f"grounds:{unlawful}", grounds), back=back
        )
        assert done.headers["Location"] == f"{back}?did=reject&n=1&skipped=0"
        # Approving the published rude one keeps it and dismisses the reports: done, audited.
        kept = await act(ws, csrf, ("item", f"approve:{rude}"), back=back)
        assert kept.headers["Location"] == f"{back}?did=approve&n=1&skipped=0"
        assert statuses(rconn, [unlawful, rude]) == ["rejected", "approved"]
        after = await (await ws.get(back)).text()
        assert "Reported (0)" in after
        assert "Nothing here." in after
        entries = [decode_record(e or {}) for _, e in rconn.xrange(keys.audit_log()) or []]
        decided = {e["comment_id"]: e for e in entries}
        assert decided[unlawful]["action"] == "reject"
        assert decided[unlawful]["grounds"] == grounds
        assert decided[rude]["action"] == "dismiss"
        assert "grounds" not in decided[rude]
        audit = await (await ws.get("/moderation/audit", params={"comment_id": unlawful})).text()
        assert grounds in audit


COMMENTER_LINK = re.compile(r'href="/moderation/commenter/([0-9a-f]{20})"')


async def test_a_commenter_page_keeps_history_and_notes_and_admins_ban(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    troll = "troll-8801@example.net"
    published = await submit(ws, email=troll, comment="A published remark, still up.")
    approve(rconn, ws_settings, published)
    pending = await held(ws, ws_settings, 1, email=troll)
    other = await held(ws, ws_settings, 1, email="bystander-8802@example.net")
    bob = await sign_in_with_token(ws, TOKEN_BOB)
    html = await (await ws.get("/moderation/queue/held")).text()
    ids = COMMENTER_LINK.findall(html)
    assert len(set(ids)) == 2
    page_id = ids[0]
    # Opaque: not the address, nor part of its stored keyed hash, nor in any key's name.
    assert page_id not in email_hash(troll)
    assert page_id not in " ".join(as_text(k) for k in rconn.keys("*"))
    page = await ws.get(f"/moderation/commenter/{page_id}")
    assert page.status == 200
    text = await page.text()
    assert "A published remark, still up." in text
    assert "Held comment number 0" in text
    assert other[0] not in text
    assert "Ban this commenter" not in text  # a moderator sees no ban form
    # Private notes: moderators write them; an empty one is refused, precisely.
    base = f"/moderation/commenter/{page_id}"
    empty = await ws.post(f"{base}/note", data={"csrf": bob, "note": "  "})
    assert empty.status == 422
    assert "A note is 1 to 2000 characters." in await empty.text()
    noted = await ws.post(
        f"{base}/note",
        data={"csrf": bob, "note": "Third warning this week."},
        allow_redirects=False,
    )
    assert noted.status == 303
    assert "bob: Third warning this week." in await (await ws.get(base)).text()
    # A moderator may not ban: only admins do.
    refused = await ws.post(
        f"{base}/ban", data={"csrf": bob, "duration": "forever"}, allow_redirects=False
    )
    assert refused.status == 403
    assert not rconn.exists(keys.ban(email_hash(troll)))
    assert (await ws.get("/moderation/commenter/0123456789abcdef0123")).status == 404
    admin = await other_client(ws_settings)
    try:
        alice = await sign_in_with_token(admin, TOKEN_ALICE)
        wrong = await admin.post(f"{base}/ban", data={"csrf": alice, "duration": "3 weeks"})
        assert wrong.status == 422
        assert "Choose how long" in await wrong.text()
        week = await admin.post(
            f"{base}/ban", data={"csrf": alice, "duration": "7d"}, allow_redirects=False
        )
        assert week.headers["Location"] == f"{base}?did=ban&rejected=0"
        assert 6 * 86_400 < rconn.ttl(keys.ban(email_hash(troll))) <= 7 * 86_400
        assert statuses(rconn, [published, *pending]) == ["approved", "held"]
        lifted = await admin.post(f"{base}/unban", data={"csrf": alice}, allow_redirects=False)
        assert lifted.status == 303
        assert not rconn.exists(keys.ban(email_hash(troll)))
        banned = await admin.post(
            f"{base}/ban",
            data={"csrf": alice, "duration": "forever", "reject_existing": "on"},
            allow_redirects=False,
        )
        assert banned.headers["Location"] == f"{base}?did=ban&rejected=2"
        assert rconn.ttl(keys.ban(email_hash(troll))) == -1  # for good
        assert statuses(rconn, [published, *pending, *other]) == ["rejected", "rejected", "held"]
        thread = await (await ws.get("/api/v1/comments", params={"article": ARTICLE})).text()
        assert published not in thread
        shown = await (await admin.get(base)).text()
        assert "for good" in shown
        assert "Lift the ban" in shown
        audit = await (await admin.get("/moderation/audit", params={"action": "ban"})).text()
        assert f"commenter <code>{page_id}</code>" in audit
    finally:
        await admin.close()
    # Their new comments are refused, neutrally: JSON for the widget, a page for a plain form.
    again = {"article": ARTICLE, "name": "T", "email": troll.upper(), "comment": "Again!",
             "form_token": form_token(ARTICLE)}  # fmt: skip
    resp = await ws.post("/api/v1/comments", json=again)
    assert resp.status == 403
    error = (await resp.json())["error"]
    assert error["code"] == "commenter_banned"
    assert "moderat" not in error["message"]
    assert "ban" not in error["message"]
    form = {"article": ARTICLE, "name": "T", "email": troll, "comment": "Again, by form.",
            "form_token": form_token(ARTICLE)}  # fmt: skip
    page = await ws.post("/api/v1/comments", data=form, headers={"Accept": "text/html"})
    assert page.status == 403
    assert "Your comment cannot be accepted on this site." in await page.text()
    theirs = [c for c in stored_comments(rconn).values() if c["email_hash"] == email_hash(troll)]
    assert len(theirs) == 2
    # Anyone else still comments.
    await submit(ws, email="bystander-8802@example.net")


async def test_a_featured_comment_comes_first_with_a_mark(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    ids = [await submit(ws, comment=f"Published comment number {n}.") for n in range(3)]
    for cid in ids:
        approve(rconn, ws_settings, cid)
    [waiting] = await held(ws, ws_settings, 1)
    csrf = await sign_in_with_token(ws, TOKEN_BOB)
    path = f"/moderation/comment/{ids[2]}"
    assert "Feature this comment" in await (await ws.get(path)).text()
    assert (
        "Feature this comment" not in await (await ws.get(f"/moderation/comment/{waiting}")).text()
    )
    done = await ws.post(
        f"{path}/feature", data={"csrf": csrf, "featured": "on"}, allow_redirects=False
    )
    assert done.headers["Location"] == f"{path}?did=feature"
    assert "Stop featuring" in await (await ws.get(path)).text()
    # Readers see it first, marked, whole or by pages; the others keep their order.
    whole = await (await ws.get("/api/v1/comments", params={"article": ARTICLE})).json()
    assert [c["id"] for c in whole["comments"]] == [ids[2], ids[0], ids[1]]
    assert [c.get("featured") for c in whole["comments"]] == [True, None, None]
    first = await (
        await ws.get("/api/v1/comments", params={"article": ARTICLE, "limit": "2"})
    ).json()
    assert [c["id"] for c in first["comments"]] == [ids[2], ids[0], ids[1]]
    assert first["next_cursor"] is None  # nothing is listed twice, nothing is skipped
    one = await (await ws.get("/api/v1/comments", params={"article": ARTICLE, "limit": "1"})).json()
    assert [c["id"] for c in one["comments"]] == [ids[2], ids[0]]
    rest = await (
        await ws.get(
            "/api/v1/comments",
            params={"article": ARTICLE, "limit": "1", "cursor": one["next_cursor"]},
        )
    ).json()
    assert [c["id"] for c in rest["comments"]] == [ids[1]]
    # A held comment cannot be featured; featuring is undone and audited.
    refused = await ws.post(
        f"/moderation/comment/{waiting}/feature", data={"csrf": csrf, "featured": "on"}
    )
    assert "Only a published comment can be featured." in await refused.text()
    undone = await ws.post(
        f"{path}/feature", data={"csrf": csrf, "featured": "off"}, allow_redirects=False
    )
    assert undone.headers["Location"] == f"{path}?did=unfeature"
    whole = await (await ws.get("/api/v1/comments", params={"article": ARTICLE})).json()
    assert [c["id"] for c in whole["comments"]] == ids
    actions = [decode_record(e or {}) for _, e in rconn.xrange(keys.audit_log()) or []]
    assert [a["action"] for a in actions if a.get("actor") == "bob"] == ["feature", "unfeature"]


async def test_a_staff_reply_is_published_and_marked(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    asked = await submit(ws, comment="Will the station have a crew all year?")
    approve(rconn, ws_settings, asked)
    [waiting] = await held(ws, ws_settings, 1)
    csrf = await sign_in_with_token(ws, TOKEN_BOB)
    path = f"/moderation/comment/{asked}"
    empty = await ws.post(f"{path}/reply", data={"csrf": csrf, "name": "Staff", "reply": " "})
    assert empty.status == 422
    unnamed = await ws.post(f"{path}/reply", data={"csrf": csrf, "name": "", "reply": "Yes."})
    assert "The name is 1 to 80 characters." in await unnamed.text()
    held_page = await ws.post(
        f"/moderation/comment/{waiting}/reply", data={"csrf": csrf, "name": "S", "reply": "Hi"}
    )
    assert held_page.status == 422
    answer = "Yes: a crew of four, rotating every six months. (The editors)"
    done = await ws.post(
        f"{path}/reply",
        data={"csrf": csrf, "name": "The Science Desk", "reply": answer},
        allow_redirects=False,
    )
    assert done.headers["Location"] == f"{path}?did=staff-reply"
    whole = await (await ws.get("/api/v1/comments", params={"article": ARTICLE})).json()
    [question] = whole["comments"]
    assert "staff" not in question
    [reply] = question["replies"]
    assert reply["name"] == "The Science Desk"
    assert reply["text"] == answer
    assert reply["staff"] is True
    paged = await (
        await ws.get("/api/v1/comments", params={"article": ARTICLE, "limit": "5"})
    ).json()
    assert paged["comments"][0]["replies"][0]["staff"] is True
    actions = [decode_record(e or {}) for _, e in rconn.xrange(keys.audit_log()) or []]
    assert [a["action"] for a in actions if a.get("actor") == "bob"] == ["staff-reply"]


async def test_banned_commenters_comments_can_be_held_instead(
    ws_settings: Settings, rconn: redis.Redis
) -> None:
    settings = ws_settings.with_overrides(banned_comments="hold")
    troll = "troll-8803@example.net"
    async with TestClient(TestServer(create_app(settings))) as ws:
        commenters.ban(rconn, settings, email_hash(troll), "0" * 20, "alice", None,
                       reject_existing=False)  # fmt: skip
        [kept] = await held(ws, settings, 1, email=troll)
    stored = stored_comments(rconn)[kept]
    assert stored["status"] == "held"
    assert "banned" in {r["code"] for r in json.loads(stored["reasons"])}


async def test_admins_ban_ip_ranges_and_website_domains(
    ws_settings: Settings, rconn: redis.Redis
) -> None:
    # The test client is 127.0.0.1; behind a trusted proxy it may speak for IPv6 clients too.
    settings = ws_settings.with_overrides(trusted_proxies=(ip_network("127.0.0.1/32"),))
    v6 = {"X-Forwarded-For": "2001:db8:77::5"}
    app = create_app(settings)
    async with TestClient(TestServer(app)) as ws:
        bob = await sign_in_with_token(ws, TOKEN_BOB)
        page = await (await ws.get("/moderation/bans")).text()
        assert "No bans by IP range or domain." in page
        assert 'name="entry"' not in page  # a moderator sees the list, not the form
        refused = await ws.post("/moderation/bans", data={"csrf": bob, "entry": "127.0.0.1",
                                "duration": "forever"}, allow_redirects=False)  # fmt: skip
        assert refused.status == 403
        assert not rconn.exists(keys.network_bans())
        admin = await other_client(settings)
        try:
            alice = await sign_in_with_token(admin, TOKEN_ALICE)

            async def ban(entry: str, duration: str = "forever") -> ClientResponse:
                data = {"csrf": alice, "entry": entry, "duration": duration}
                return await admin.post("/moderation/bans", data=data, allow_redirects=False)

            for typed, says in [
                ("", "Type an IP range or a website domain"),
                ("203.0.113.7/24", "did you mean 203.0.113.0/24?"),
                ("10.0.0.0/7", "too broad"),
                ("2000::/12", "too broad"),
                ("300.1.2.3", "is not an IP range"),
                ("localhost", "is not a website domain"),
                ("spam..example", "is not a website domain"),
            ]:
                wrong = await ban(typed)
                assert wrong.status == 422, typed
                assert says in await wrong.text(), typed
            assert (await ban("spam.example", "3 weeks")).status == 422
            for origin in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
                data = {"csrf": alice, "entry": "127.0.0.1", "duration": "forever"}
                assert (
                    await admin.post("/moderation/bans", data=data, headers=origin)
                ).status == 403
            assert not rconn.exists(keys.network_bans())

            await submit(ws, email="before-9101@example.net", website="https://shop.spam.example")
            assert (await ban("127.0.0.1")).headers["Location"] == "/moderation/bans?did=added"
            assert (await ban("2001:DB8::/32", "7d")).status == 303
            assert (await ban("https://Spam.Example/any/page")).status == 303
            listed = await (await admin.get("/moderation/bans?did=added")).text()
            assert "Banned." in listed
            for shown in ("127.0.0.1/32", "2001:db8::/32", "spam.example"):
                assert f"<code>{shown}</code>" in listed
            assert "for good" in listed
        finally:
            await admin.close()
        # The admin's process read the list again at once; this one would within bans.REFRESH_S.
        app[BANS].forget()
        before = len(stored_comments(rconn))
        # The API refuses them as it refuses a banned commenter: neutrally, nothing stored.
        for headers, website in [(None, None), (v6, None), (v6, "https://www.shop.spam.example")]:
            resp = await ws.post(
                "/api/v1/comments",
                json={"article": ARTICLE, "name": "T", "email": "t-9102@example.net",
                      "comment": "Again!", "website": website, "form_token": form_token()},
                headers={**(headers or {}), "X-Forwarded-For": (headers or {}).get(
                    "X-Forwarded-For", "127.0.0.1")},
            )  # fmt: skip
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "commenter_banned"
        assert len(stored_comments(rconn)) == before
        # Another address, another site: welcome (a domain bans its subdomains, not its likes).
        elsewhere = {"X-Forwarded-For": "2001:db9::5"}
        await submit(ws, headers=elsewhere, website="https://notspam.example")
        await submit(ws, headers=elsewhere, website="https://spam.example.org")
        page = await (await ws.get("/moderation/bans")).text()
        assert 'name="ban"' not in page  # no "Lift" for a moderator
        audit = await (await ws.get("/moderation/audit", params={"action": "ban"})).text()
        assert "range 2001:db8::/32" in audit
        assert "domain spam.example" in audit

        admin = await other_client(settings)
        try:
            alice = await sign_in_with_token(admin, TOKEN_ALICE)
            lift = {"csrf": alice, "ban": "range:127.0.0.1/32"}
            lifted = await admin.post("/moderation/bans/remove", data=lift, allow_redirects=False)
            assert lifted.headers["Location"] == "/moderation/bans?did=removed"
            again = await admin.post("/moderation/bans/remove", data=lift, allow_redirects=False)
            assert again.headers["Location"] == "/moderation/bans?did=removed-already"
            bad = await admin.post("/moderation/bans/remove", data={"csrf": alice, "ban": "x"})
            assert bad.status == 422
            refused = await ws.post("/moderation/bans/remove",
                                    data={"csrf": bob, "ban": "domain:spam.example"})  # fmt: skip
            assert refused.status == 403
        finally:
            await admin.close()
        app[BANS].forget()
        await submit(ws, email="after-9103@example.net")
        assert rconn.hlen(keys.network_bans()) == 2


async def test_comments_from_banned_ranges_and_domains_can_be_held_instead(
    ws_settings: Settings, rconn: redis.Redis
) -> None:
    settings = ws_settings.with_overrides(banned_comments="hold")
    async with TestClient(TestServer(create_app(settings))) as ws:
        bans.add(rconn, parse_entry("127.0.0.0/8"), "alice", None)  # the test client's address
        [by_ip] = await held(ws, settings, 1, email="held-9104@example.net")
        bans.remove(rconn, parse_entry("127.0.0.0/8"), "alice")
        bans.add(rconn, parse_entry("spam.example"), "alice", None)
        [by_site] = await held(ws, settings, 1, email="held-9105@example.net",
                               website="https://spam.example/shop")  # fmt: skip
    for cid in (by_ip, by_site):
        stored = stored_comments(rconn)[cid]
        assert stored["status"] == "held"
        assert "banned" in {r["code"] for r in json.loads(stored["reasons"])}


async def test_a_comment_has_a_page_that_notifications_link_to(
    ws: Client, ws_settings: Settings, rconn: redis.Redis, smtp: tuple[int, Recorder]
) -> None:
    [cid] = await held(ws, ws_settings, 1)
    [(_, mail)] = [(r, m) for r, m in smtp[1].messages if "Held" in str(m["Subject"])]
    body = mail.get_body(("plain",))
    assert body is not None
    path = f"/moderation/comment/{cid}"
    assert f"In the moderators' workspace: http://127.0.0.1:8080{path}" in body.get_content()
    assert (await ws.get(path)).status == 401  # a link in a mail is no way in by itself
    csrf = await sign_in_with_token(ws)
    page = await (await ws.get(path)).text()
    assert listed(page) == [cid]
    assert '<span class="status">held</span>' in page
    assert 'data-action="approve"' in page
    assert 'name="ids"' not in page  # one comment: nothing to select
    done = await act(ws, csrf, ("item", f"spam:{cid}"), back=path)
    assert done.headers["Location"] == f"{path}?did=spam&n=1&skipped=0"
    page = await (await ws.get(done.headers["Location"])).text()
    assert "1 comment marked as spam." in page
    assert 'data-action="ham"' in page  # what a spam comment can become
    audit = await (await ws.get("/moderation/audit", params={"comment_id": cid})).text()
    assert f'<a href="{path}"><code>{cid}</code></a>' in audit
    for missing in ("0123456789abcdef-0123456789abcdef", "not-an-id"):
        assert (await ws.get(f"/moderation/comment/{missing}")).status == 404


async def test_editing_keeps_the_original_and_reaches_readers(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    cid = await submit(ws, comment="A good point, but teh spelling.")
    approve(rconn, ws_settings, cid)
    csrf = await sign_in_with_token(ws)
    path = f"/moderation/comment/{cid}"
    done = await ws.post(
        f"{path}/edit", data={"csrf": csrf, "text": "A good point, but the spelling."},
        allow_redirects=False,
    )  # fmt: skip
    assert done.status == 303
    assert done.headers["Location"] == f"{path}?did=edit"
    page = await (await ws.get(done.headers["Location"])).text()
    assert "the commenter&#39;s original is kept." in page
    assert "As the commenter wrote it" in page
    assert "A good point, but teh spelling." in page
    thread = await (await ws.get("/api/v1/comments", params={"article": ARTICLE})).json()
    assert [c["text"] for c in thread["comments"]] == ["A good point, but the spelling."]
    [*_, entry] = [e for _, e in rconn.xrange(keys.audit_log()) or [] if e]
    assert (entry[b"actor"], entry[b"action"]) == (b"alice", b"edit")
    # What a submission may not hold, an edit may not either: the page again, text kept.
    bad = await ws.post(f"{path}/edit", data={"csrf": csrf, "text": "  "})
    assert bad.status == 422
    assert "Comment is required." in await bad.text()
    refused = await ws.post(f"{path}/edit", data={"text": "Forged."}, allow_redirects=False)
    assert refused.status == 403
    assert stored_comments(rconn)[cid]["comment"] == "A good point, but the spelling."


async def test_audit_page_lists_and_filters(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    ids = await held(ws, ws_settings, 2)
    approve(rconn, ws_settings, ids[0])  # by "tests"
    csrf = await sign_in_with_token(ws)
    await act(ws, csrf, ("item", f"reject:{ids[1]}"))
    html = await (await ws.get("/moderation/audit")).text()
    assert html.index("<td>alice</td><td>reject</td>") < html.index("<td>tests</td>")
    only = await (await ws.get("/moderation/audit", params={"actor": "tests"})).text()
    assert "<td>tests</td><td>approve</td>" in only
    assert "<td>alice</td>" not in only


async def test_overview_counts_the_desk(
    ws: Client, ws_settings: Settings, rconn: redis.Redis
) -> None:
    ids = await held(ws, ws_settings, 3)
    approve(rconn, ws_settings, ids[0])  # by "tests"
    csrf = await sign_in_with_token(ws, TOKEN_BOB)
    await act(ws, csrf, ("action", "spam"), ("ids", ids[1]), ("ids", ids[2]))
    await held(ws, ws_settings, 1)
    html = await (await ws.get("/moderation/overview")).text()
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th><td>([^<]+)</td>', html))
    assert rows["Held now"] == "1"
    assert rows["In the spam folder"] == "2"
    assert rows["Decisions today (UTC)"] == "3"
    assert rows["Oldest held comment waiting"].endswith("min")
    assert '<a href="/moderation/audit?actor=bob">bob</a></td><td>2</td>' in html
    assert '<a href="/moderation/audit?actor=tests">tests</a></td><td>1</td>' in html


async def test_a_moderators_browser_gets_pages_not_json_errors(
    ws: Client, ws_settings: Settings
) -> None:
    """Missing things and a page asked for without its article: an HTML page in the
    workspace's layout with the right status and a way back; the JSON API keeps its errors."""
    missing = keys.new_comment_id(ARTICLE)
    csrf = await sign_in_with_token(ws)

    async def page_of(resp: ClientResponse, status: int, title: str) -> str:
        assert resp.status == status
        assert resp.content_type == "text/html"
        html = await resp.text()
        assert f"<h1>{title}</h1>" in html
        assert "Pending review (" in html  # the workspace's layout: its queues, signed in
        assert '<a href="/moderation/queue/held">Back to Pending review</a>' in html
        return html

    for path in (f"/moderation/comment/{missing}", "/moderation/comment/not-an-id"):
        await page_of(await ws.get(path), 404, "No such comment")
    for path in ("edit", "reply", "feature"):
        form = {"csrf": csrf, "text": "x", "reply": "x", "name": "Staff", "featured": "on"}
        posted = await ws.post(f"/moderation/comment/{missing}/{path}", data=form)
        await page_of(posted, 404, "No such comment")
    nobody = "/moderation/commenter/0123456789abcdef0123"
    await page_of(await ws.get(nobody), 404, "No such commenter")
    await page_of(await ws.post(f"{nobody}/note", data={"csrf": csrf, "note": "x"}), 404,
                  "No such commenter")  # fmt: skip
    await page_of(await ws.get("/moderation/queue/elsewhere"), 404, "No such queue")
    for params in ({}, {"article": " "}, {"article": "x" * 1000}):
        html = await page_of(
            await ws.get("/moderation/article", params=params), 422, "Which article?"
        )
        assert '<input id="article" name="article"' in html  # and a way to give it
    posted = await ws.post("/moderation/article", data={"csrf": csrf, "closing": "closed"})
    await page_of(posted, 422, "Which article?")
    # Not signed in: the sign-in page, as for any page (nothing said about what exists).
    async with TestClient(TestServer(create_app(ws_settings))) as stranger:
        assert (await stranger.get(f"/moderation/comment/{missing}")).status == 401
    # The moderator API answers JSON, as before.
    api = await ws.patch(
        f"/api/v1/moderation/comments/{missing}",
        json={"text": "x"},
        headers={"Authorization": f"Bearer {TOKEN_ALICE}"},
    )
    assert api.status == 404
    assert (await api.json())["error"]["code"] == "not_found"
