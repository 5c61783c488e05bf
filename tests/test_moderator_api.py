"""The moderator API: authentication, listings, actions and their effects, audit, edits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys
from service.core.settings import Settings
from service.web.app import create_app
from tests import helpers
from tests.helpers import Client, drain, stored_comments

ALICE, BOB = "a" * 40, "b" * 40
AS_ALICE = {"Authorization": f"Bearer {ALICE}"}
API = "/api/v1/moderation"


@pytest.fixture
async def mod(settings: Settings) -> AsyncIterator[Client]:
    configured = settings.with_overrides(moderator_tokens=(("alice", ALICE), ("bob", BOB)))
    async with TestClient(TestServer(create_app(configured))) as test_client:
        yield test_client


async def submit(client: Client, article: str = "story-1", **fields: str) -> str:
    body = {"article": article, "comment": f"A comment on {article}."} | fields
    return await helpers.submit(client, body)


def hold(conn: redis.Redis, cid: str, reasons: list[str], at: float) -> None:
    """As the worker leaves a held comment, with the given reason codes."""
    listed = [{"code": r, "points": 1, "text": r} for r in reasons]
    conn.hset(
        keys.comment(cid),
        mapping={"status": "held", "score": "2.00", "reasons": json.dumps(listed)},
    )
    conn.zadd(keys.held(), {cid: at})


async def body_of(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_authentication(mod: Client, client: Client) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {ALICE}"}):
        resp = await mod.get(f"{API}/queue", headers=headers)
        body = await body_of(resp, 401)
        assert body["error"]["code"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await mod.get(f"{API}/queue", headers={"Authorization": f"Bearer {BOB}"})).status == 200
    # Without configured tokens the API is closed, not open.
    body = await body_of(await client.get(f"{API}/queue", headers=AS_ALICE), 403)
    assert body["error"]["code"] == "moderation_disabled"


async def test_queue_pages_filters_and_privacy(mod: Client, rconn: redis.Redis) -> None:
    ids = []
    for i in range(5):
        cid = await submit(mod, article=f"story-{i % 2}")
        hold(rconn, cid, ["links"] if i == 3 else ["first_comment"], at=1000.0 + i)
        ids.append(cid)
    first = await body_of(await mod.get(f"{API}/queue", params={"limit": "2"}, headers=AS_ALICE))
    assert [i["id"] for i in first["items"]] == ids[:2]
    seen = [i["id"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = await body_of(
            await mod.get(f"{API}/queue", params={"limit": "2", "cursor": cursor}, headers=AS_ALICE)
        )
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ids
    item = first["items"][0]
    assert item["text"] == "A comment on story-0."
    assert item["reasons"][0]["code"] == "first_comment"
    assert item["commenter"] == {"known": False}
    raw = json.dumps(first)
    assert "maria@example.com" not in raw
    assert "email" not in raw
    assert "127.0.0.1" not in raw

    by_article = await body_of(
        await mod.get(f"{API}/queue", params={"article": "story-1"}, headers=AS_ALICE)
    )
    assert [i["id"] for i in by_article["items"]] == [ids[1], ids[3]]
    by_reason = await body_of(
        await mod.get(f"{API}/queue", params={"reason": "links"}, headers=AS_ALICE)
    )
    assert [i["id"] for i in by_reason["items"]] == [ids[3]]
    bad = await mod.get(f"{API}/queue", params={"limit": "0"}, headers=AS_ALICE)
    assert (await body_of(bad, 422))["error"]["fields"]["limit"]["code"] == "invalid_limit"


async def test_actions_take_effect_and_are_audited(mod: Client, rconn: redis.Redis) -> None:
    a, b, c = [await submit(mod, article="story-1", comment=f"Comment {n}") for n in "abc"]
    for n, cid in enumerate((a, b, c)):
        hold(rconn, cid, ["first_comment"], at=2000.0 + n)
    done = await body_of(
        await mod.post(
            f"{API}/actions", json={"action": "approve", "ids": [a, b]}, headers=AS_ALICE
        )
    )
    assert [r["result"] for r in done["results"]] == ["done", "done"]
    bob = {"Authorization": f"Bearer {BOB}"}
    spam = await body_of(
        await mod.post(f"{API}/actions", json={"action": "spam", "ids": [c, a]}, headers=bob)
    )
    assert [(r["result"], r["from"], r["to"]) for r in spam["results"]] == [
        ("done", "held", "spam"),
        ("done", "approved", "spam"),
    ]
    thread = await body_of(await mod.get("/api/v1/comments", params={"article": "story-1"}))
    assert [t["id"] for t in thread["comments"]] == [b]
    again = await body_of(
        await mod.post(f"{API}/actions", json={"action": "approve", "ids": [b]}, headers=AS_ALICE)
    )
    assert again["results"][0]["result"] == "already"

    log = await body_of(await mod.get(f"{API}/decisions", headers=AS_ALICE))
    assert [(e["actor"], e["action"], e["comment_id"], e["from"]) for e in log["items"]] == [
        ("bob", "spam", a, "approved"),
        ("bob", "spam", c, "held"),
        ("alice", "approve", b, "held"),
        ("alice", "approve", a, "held"),
    ]

    for body, field in (
        ({"action": "delete", "ids": [a]}, "action"),
        ({"action": "spam", "ids": ["../x"]}, "ids"),
        ({"action": "spam", "ids": []}, "ids"),
    ):
        bad = await body_of(await mod.post(f"{API}/actions", json=body, headers=AS_ALICE), 422)
        assert field in bad["error"]["fields"]


async def test_edit_keeps_the_original(mod: Client, rconn: redis.Redis) -> None:
    cid = await submit(mod, comment="Teh station is a good idea.")
    hold(rconn, cid, [], at=3000.0)
    await mod.post(f"{API}/actions", json={"action": "approve", "ids": [cid]}, headers=AS_ALICE)
    before = await mod.get("/api/v1/comments", params={"article": "story-1"})
    resp = await mod.patch(
        f"{API}/comments/{cid}", json={"text": " The station is a good idea. "}, headers=AS_ALICE
    )
    assert (await body_of(resp))["text"] == "The station is a good idea."
    after = await mod.get("/api/v1/comments", params={"article": "story-1"})
    assert after.headers["ETag"] != before.headers["ETag"]
    assert (await after.json())["comments"][0]["text"] == "The station is a good idea."
    record = stored_comments(rconn)[cid]
    assert record["original_comment"] == "Teh station is a good idea."
    assert record["edited_by"] == "alice"
    empty = await mod.patch(f"{API}/comments/{cid}", json={"text": ""}, headers=AS_ALICE)
    assert (await body_of(empty, 422))["error"]["fields"]["text"]["code"] == "required"
    missing = keys.new_comment_id("story-1")
    gone = await mod.patch(f"{API}/comments/{missing}", json={"text": "x"}, headers=AS_ALICE)
    assert (await body_of(gone, 404))["error"]["code"] == "not_found"


async def test_approval_trusts_the_commenter_for_the_next_comment(
    mod: Client, rconn: redis.Redis, settings: Settings
) -> None:
    text = "A careful piece; the docking standards matter more than the politics here."
    browser = "b" * 32  # the commenter key the widget keeps: trust belongs to this browser
    # With a form token and the commenter key, as the widget sends them.
    first = await submit(mod, comment=text, commenter_key=browser)
    await drain(settings)
    assert stored_comments(rconn)[first]["status"] == "held"  # first-time commenter
    await mod.post(f"{API}/actions", json={"action": "approve", "ids": [first]}, headers=AS_ALICE)

    second = await submit(mod, comment=text + " And the cost.", commenter_key=browser)
    await drain(settings)
    assert stored_comments(rconn)[second]["status"] == "approved"


@pytest.mark.parametrize(
    ("path", "query", "field", "code"),
    [
        ("decisions", {"cursor": "not-a-cursor"}, "cursor", "invalid_cursor"),
        ("decisions", {"cursor": "1-2-3"}, "cursor", "invalid_cursor"),
        ("decisions", {"cursor": "99999999999999999999-0"}, "cursor", "invalid_cursor"),
        ("decisions", {"cursor": "18446744073709551616"}, "cursor", "invalid_cursor"),  # 2**64
        ("decisions", {"cursor": "-"}, "cursor", "invalid_cursor"),
        ("decisions", {"cursor": "+"}, "cursor", "invalid_cursor"),
        ("decisions", {"cursor": "(1-0"}, "cursor", "invalid_cursor"),
        ("decisions", {"cursor": "\uff11-0"}, "cursor", "invalid_cursor"),  # fullwidth digit
        ("queue", {"cursor": "nan"}, "cursor", "invalid_cursor"),
        ("queue", {"cursor": "inf"}, "cursor", "invalid_cursor"),
        ("queue", {"cursor": "1e999"}, "cursor", "invalid_cursor"),
        ("queue", {"cursor": "1_000"}, "cursor", "invalid_cursor"),
        ("queue", {"cursor": "1000.0 "}, "cursor", "invalid_cursor"),
        (
            "queue",
            {"cursor": "\u0661\u0660\u0660\u0660"},
            "cursor",
            "invalid_cursor",
        ),  # Arabic-Indic
        ("queue", {"limit": "²"}, "limit", "invalid_limit"),
        ("decisions", {"limit": "²"}, "limit", "invalid_limit"),
        ("decisions", {"limit": "٣"}, "limit", "invalid_limit"),
        ("decisions", {"limit": "101"}, "limit", "invalid_limit"),
    ],
)
async def test_bad_cursors_and_limits_are_422_naming_the_field(
    mod: Client, rconn: redis.Redis, path: str, query: dict[str, str], field: str, code: str
) -> None:
    resp = await mod.get(f"{API}/{path}", params=query, headers=AS_ALICE)
    body = await body_of(resp, 422)
    assert body["error"]["code"] == "validation_failed"
    assert body["error"]["fields"][field]["code"] == code


async def test_decisions_page_to_the_oldest_and_stop(mod: Client, rconn: redis.Redis) -> None:
    ids = [await submit(mod, comment=f"Comment {n}") for n in range(3)]
    for n, cid in enumerate(ids):
        hold(rconn, cid, ["first_comment"], at=4000.0 + n)
    await mod.post(f"{API}/actions", json={"action": "approve", "ids": ids}, headers=AS_ALICE)
    seen, cursor = [], None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = await body_of(await mod.get(f"{API}/decisions", params=params, headers=AS_ALICE))
        seen += [item["comment_id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ids[::-1]
    # The oldest possible entry as a cursor: nothing is older; an empty page, not an error.
    oldest = await mod.get(f"{API}/decisions", params={"cursor": "0-0"}, headers=AS_ALICE)
    assert await body_of(oldest) == {"items": [], "next_cursor": None}
    # A cursor of only milliseconds, as Redis accepts it.
    plain = await mod.get(f"{API}/decisions", params={"cursor": "1"}, headers=AS_ALICE)
    assert (await body_of(plain))["items"] == []


async def test_a_decision_keeps_its_grounds_in_the_audit(mod: Client, rconn: redis.Redis) -> None:
    a, b = [await submit(mod, comment=f"Reported comment {n}.") for n in "ab"]
    for n, cid in enumerate((a, b)):
        hold(rconn, cid, ["reports"], at=3000.0 + n)
    for grounds, code in ((4, "invalid_type"), ("x" * 501, "too_long"),
                          ("Removed\x00", "invalid_characters")):  # fmt: skip
        body = {"action": "reject", "ids": [a], "grounds": grounds}
        bad = await body_of(await mod.post(f"{API}/actions", json=body, headers=AS_ALICE), 422)
        assert bad["error"]["fields"]["grounds"]["code"] == code
    assert {stored_comments(rconn)[i]["status"] for i in (a, b)} == {"held"}
    assert not rconn.xlen(keys.audit_log())

    grounds = "Defamation of a private person;\n removed under our policy §4."
    body = {"action": "reject", "ids": [a, b], "grounds": grounds}
    done = await body_of(await mod.post(f"{API}/actions", json=body, headers=AS_ALICE))
    assert [r["result"] for r in done["results"]] == ["done", "done"]
    log = await body_of(await mod.get(f"{API}/decisions", headers=AS_ALICE))
    kept = "Defamation of a private person; removed under our policy §4."  # one line
    assert [(e["comment_id"], e["grounds"]) for e in log["items"]] == [(b, kept), (a, kept)]
    # Without grounds, none are recorded (as in the workspace).
    body = {"action": "approve", "ids": [a]}
    await body_of(await mod.post(f"{API}/actions", json=body, headers=AS_ALICE))
    log = await body_of(await mod.get(f"{API}/decisions", headers=AS_ALICE, params={"limit": "1"}))
    assert "grounds" not in log["items"][0]
