"""One-click moderation links over real HTTP: GET never acts, POST acts once."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import AsyncIterator

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys, links
from service.core.records import decode_record
from service.core.settings import Settings
from service.core.signing import Signer
from service.web.app import create_app
from tests import helpers
from tests.helpers import ARTICLE, SECRET, Client, email_hash, stored_comments

WEEK = 7 * 24 * 3600
# What the workers build links with: the service's public URL and how long a link works.
LINKS = Settings(public_url="http://127.0.0.1:8080", link_max_age_s=WEEK)


async def submit(client: Client, **fields: str) -> str:
    body = {"comment": "Reply <b>bold</b> & careful.", "website": "https://maria.example"}
    return await helpers.submit(client, body | fields)


def stream(conn: redis.Redis, key: str) -> list[dict[str, str]]:
    entries = conn.xrange(key) or []
    return [decode_record(fields or {}) for _, fields in entries]


def hold(conn: redis.Redis, cid: str) -> None:
    """As the worker leaves a held comment."""
    conn.hset(keys.comment(cid), mapping={"status": "held", "score": "1.50", "reasons": "[]"})
    conn.zadd(keys.held(), {cid: time.time()})


def link(cid: str, action: str, *, now: float | None = None, secret: str = SECRET) -> str:
    url = links.moderation_url(Signer(secret), LINKS, cid, action, now or time.time())
    return url.removeprefix(LINKS.public_url)


def with_action(path: str, action: str) -> str:
    """The link with another action written into its payload, its signature left as it was."""
    version, kid, payload, mac = path.removeprefix("/moderate/").split(".")
    issued, expires, nonce, cid, _ = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    raw = json.dumps([issued, expires, nonce, cid, action]).encode()
    forged = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"/moderate/{version}.{kid}.{forged}.{mac}"


async def csrf_of(client: Client, path: str) -> str:
    page = await (await client.get(path)).text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def thread_ids(client: Client) -> list[str]:
    body = await (await client.get("/api/v1/comments", params={"article": ARTICLE})).json()
    return [c["id"] for c in body["comments"]]


async def test_get_confirms_without_acting_and_escapes(client: Client, rconn: redis.Redis) -> None:
    cid = await submit(client)
    hold(rconn, cid)
    resp = await client.get(link(cid, "approve"))
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    # The link is a credential: it is never sent to another site (but the page's own form
    # posts carry their real Origin, which no-referrer would turn into "null").
    assert resp.headers["Referrer-Policy"] == "same-origin"
    page = await resp.text()
    assert "Approve this comment?" in page
    assert "Reply &lt;b&gt;bold&lt;/b&gt; &amp; careful." in page
    assert "<b>bold</b>" not in page
    assert "maria@example.com" not in page
    assert stored_comments(rconn)[cid]["status"] == "held"


async def test_post_acts_once_and_takes_effect(client: Client, rconn: redis.Redis) -> None:
    cid = await submit(client)
    hold(rconn, cid)
    path = link(cid, "approve")
    csrf = await csrf_of(client, path)
    resp = await client.post(path, data={"csrf": csrf})
    assert resp.status == 200
    assert "Done: approve" in await resp.text()
    assert stored_comments(rconn)[cid]["status"] == "approved"
    assert await thread_ids(client) == [cid]
    rep = keys.email_reputation(email_hash("maria@example.com"))
    assert rconn.hget(rep, "approved") == b"1"  # the commenter is trusted from now on
    [entry] = stream(rconn, keys.audit_log())
    assert (entry["action"], entry["from"], entry["to"]) == ("approve", "held", "approved")
    assert entry["actor"] == "email-link"
    assert stream(rconn, keys.labels()) == [{"comment_id": cid, "label": "ham"}]

    again = await client.post(path, data={"csrf": csrf})
    assert again.status == 409
    assert "already used" in await again.text()
    assert len(stream(rconn, keys.audit_log())) == 1


async def test_forgery_is_refused(client: Client, rconn: redis.Redis) -> None:
    cid = await submit(client)
    hold(rconn, cid)
    path = link(cid, "spam")
    csrf = await csrf_of(client, path)
    assert (await client.post(path, data={})).status == 403
    assert (await client.post(path, data={"csrf": "x" + csrf[1:]})).status == 403
    cross = {"Origin": "https://evil.example"}
    assert (await client.post(path, data={"csrf": csrf}, headers=cross)).status == 403
    site = {"Sec-Fetch-Site": "cross-site"}
    assert (await client.post(path, data={"csrf": csrf}, headers=site)).status == 403
    assert stored_comments(rconn)[cid]["status"] == "held"


async def test_expired_and_tampered_links(client: Client, rconn: redis.Redis) -> None:
    cid = await submit(client)
    hold(rconn, cid)
    expired = link(cid, "approve", now=time.time() - WEEK - 10)
    resp = await client.get(expired)
    assert resp.status == 410
    assert "expired" in await resp.text()
    assert "Reply &lt;b&gt;" in await resp.text()  # with the comment's current state
    csrf = links.csrf_value(Signer(SECRET), expired.removeprefix("/moderate/"), time.time())
    assert (await client.post(expired, data={"csrf": csrf})).status == 410
    tampered = with_action(link(cid, "approve"), "reject")
    assert (await client.get(tampered)).status == 400
    assert stored_comments(rconn)[cid]["status"] == "held"


async def test_already_decided_link_says_so(client: Client, rconn: redis.Redis) -> None:
    cid = await submit(client)
    hold(rconn, cid)
    first, second = link(cid, "approve"), link(cid, "approve")
    await client.post(first, data={"csrf": await csrf_of(client, first)})
    resp = await client.get(second)
    assert resp.status == 409
    assert "Already done" in await resp.text()


async def test_spam_and_reject_take_effect_for_readers(client: Client, rconn: redis.Redis) -> None:
    parent = await submit(client)
    hold(rconn, parent)
    approve = link(parent, "approve")
    await client.post(approve, data={"csrf": await csrf_of(client, approve)})
    reply = await submit(client, parent_id=parent, comment="A reply", email="bob@example.com")
    hold(rconn, reply)
    approve_reply = link(reply, "approve")
    await client.post(approve_reply, data={"csrf": await csrf_of(client, approve_reply)})

    spam = link(parent, "spam")
    resp = await client.post(spam, data={"csrf": await csrf_of(client, spam)})
    assert resp.status == 200
    assert await thread_ids(client) == [reply]  # the reply stays readable, at top level
    assert rconn.zscore(keys.spam_folder(), parent) is not None
    assert rconn.get(keys.ip_reputation("127.0.0.1")) == b"1"
    assert rconn.get(keys.domain_reputation("maria.example")) == b"1"

    restore = link(parent, "ham")
    await client.post(restore, data={"csrf": await csrf_of(client, restore)})
    assert sorted(await thread_ids(client)) == sorted([parent])  # reply nests under it again
    reject = link(reply, "reject")
    await client.post(reject, data={"csrf": await csrf_of(client, reject)})
    assert stored_comments(rconn)[reply]["status"] == "rejected"


@pytest.fixture
async def rotated(settings: Settings) -> AsyncIterator[Client]:
    new = settings.with_overrides(secret_key="new-" + "n" * 40, old_secret_keys=(SECRET,))
    async with TestClient(TestServer(create_app(new))) as test_client:
        yield test_client


async def test_links_survive_a_key_rotation(
    client: Client, rotated: Client, rconn: redis.Redis
) -> None:
    cid = await submit(client)
    hold(rconn, cid)
    old = link(cid, "approve")  # signed before the rotation
    resp = await rotated.post(old, data={"csrf": await csrf_of(rotated, old)})
    assert resp.status == 200
    assert stored_comments(rconn)[cid]["status"] == "approved"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=x-unknown",
        "application/x-www-form-urlencoded; charset=utf-16",
        "multipart/form-data",  # no boundary
        "text/plain",
    ],
)
async def test_unreadable_form_posts_are_refused_not_crashed(
    client: Client, rconn: redis.Redis, content_type: str
) -> None:
    cid = await submit(client)
    hold(rconn, cid)
    path = link(cid, "approve")
    for url in (path, "/privacy/v1.x.y.z/erase", "/privacy/v1.x.y.z/export"):
        resp = await client.post(url, data=b"csrf=\xff\xfe", headers={"Content-Type": content_type})
        assert resp.status == 403, (url, resp.status, await resp.text())
        assert resp.content_type == "text/html"
    assert stored_comments(rconn)[cid]["status"] == "held"
