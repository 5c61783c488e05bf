"""A commenter edits or deletes their own comment over HTTP, with the edit token of its 202:
scored again after an edit, a clear 403 after the window, 401 for anything but the token."""

from __future__ import annotations

import io
import time
from typing import Any

import redis
from aiohttp import ClientResponse

from service.core import keys
from service.core.settings import Settings
from service.core.signing import Purpose, Signer
from service.store import moderation
from service.web.routes.own_comments import issue
from tests.helpers import (
    ARTICLE,
    SECRET,
    Client,
    approve,
    drain,
    form_token,
    redis_values,
    stored_comments,
)

NEW_TEXT = "Edited: the station would cost less if both agencies shared the lander design."
BROWSER = "b" * 32


async def post(client: Client, **fields: Any) -> dict[str, Any]:
    body = {
        "article": ARTICLE,
        "name": "Maria",
        "email": "maria@example.com",
        "comment": "Cooperation makes sense given how expensive landers are.",
        "form_token": form_token(),
        "commenter_key": BROWSER,
        **fields,
    }
    resp = await client.post("/api/v1/comments", json=body)
    assert resp.status == 202, await resp.text()
    return dict(await resp.json())


async def patch(
    client: Client, comment_id: str, token: str, text: str = NEW_TEXT
) -> ClientResponse:
    return await client.patch(
        f"/api/v1/comments/{comment_id}",
        json={"comment": text},
        headers={"Authorization": f"Bearer {token}"},
    )


async def delete(client: Client, comment_id: str, token: str) -> ClientResponse:
    return await client.delete(
        f"/api/v1/comments/{comment_id}", headers={"Authorization": f"Bearer {token}"}
    )


async def page_ids(client: Client) -> list[str]:
    resp = await client.get(f"/api/v1/comments?article={ARTICLE}&limit=50")
    return [c["id"] for c in (await resp.json())["comments"]]


async def test_the_202_carries_an_edit_token_for_the_window(
    client: Client, settings: Settings
) -> None:
    accepted = await post(client)
    assert accepted["edit_expires_in"] == settings.edit_window_s == 900
    claims = Signer(SECRET).verify(
        Purpose.EDIT, accepted["edit_token"], time.time(), bind=accepted["id"]
    )
    assert claims.expires - claims.issued == 900


async def test_an_edit_is_scored_again_and_shows_as_edited(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    # A returning commenter: one comment approved before, so the worker approves the next.
    earlier = await post(client)
    approve(rconn, settings, earlier["id"])
    accepted = await post(client, comment="A second thought about landers and shared costs.")
    await drain(settings)
    comment_id = accepted["id"]
    assert stored_comments(rconn)[comment_id]["status"] == "approved"

    resp = await patch(client, comment_id, accepted["edit_token"])
    assert resp.status == 202
    assert await resp.json() == {"id": comment_id, "status": "pending"}
    record = stored_comments(rconn)[comment_id]
    assert (record["status"], record["comment"]) == ("pending", NEW_TEXT)
    assert record["original_comment"].startswith("A second thought")
    assert comment_id not in await page_ids(client)  # never shown unscored

    await drain(settings)
    assert stored_comments(rconn)[comment_id]["status"] == "approved"
    resp = await client.get(f"/api/v1/comments?article={ARTICLE}&limit=50")
    shown = {c["id"]: c for c in (await resp.json())["comments"]}
    assert shown[comment_id]["text"] == NEW_TEXT
    assert shown[comment_id]["edited"] is True
    assert shown[earlier["id"]]["edited"] is False


async def test_fixing_a_typo_in_ones_only_approved_comment_publishes_it_again(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    """The comment's own approval still speaks for its author: no first-comment hold."""
    accepted = await post(client)
    approve(rconn, settings, accepted["id"])
    assert (await patch(client, accepted["id"], accepted["edit_token"])).status == 202
    await drain(settings)
    record = stored_comments(rconn)[accepted["id"]]
    assert (record["status"], record["comment"]) == ("approved", NEW_TEXT)
    assert accepted["id"] in await page_ids(client)
    reputation = rconn.hget(keys.email_reputation(record["email_hash"]), "approved")
    assert reputation == b"1"  # counted once, not twice


async def test_an_approved_comment_whose_edit_is_held_returns_to_pending(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    accepted = await post(client)
    approve(rconn, settings, accepted["id"])
    spam = "Cheap pills at http://spam.example/a http://spam.example/b http://bit.ly/c"
    assert (await patch(client, accepted["id"], accepted["edit_token"], spam)).status == 202
    await drain(settings)
    assert stored_comments(rconn)[accepted["id"]]["status"] in ("held", "spam")
    assert accepted["id"] not in await page_ids(client)
    status = await client.get("/api/v1/comment-status", params={"id": accepted["id"]})
    assert (await status.json())["statuses"][accepted["id"]] in ("pending", "gone")


async def test_the_author_deletes_and_replies_stay_readable(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    accepted = await post(client)
    approve(rconn, settings, accepted["id"])
    reply = await post(client, parent_id=accepted["id"], email="ola@example.com", name="Ola")
    approve(rconn, settings, reply["id"])
    resp = await delete(client, accepted["id"], accepted["edit_token"])
    assert resp.status == 204
    assert accepted["id"] not in stored_comments(rconn)
    assert await page_ids(client) == [reply["id"]]
    assert (await delete(client, accepted["id"], accepted["edit_token"])).status == 404
    assert (await patch(client, accepted["id"], accepted["edit_token"])).status == 404


async def test_after_the_window_a_clear_403(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    accepted = await post(client)
    comment_id = accepted["id"]
    # A token issued 16 minutes ago has expired.
    old = issue(Signer(SECRET), comment_id, time.time() - 960, settings.edit_window_s)
    for resp in (await patch(client, comment_id, old), await delete(client, comment_id, old)):
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "edit_window_closed"
    # A live token for a comment older than the window (the window was shortened since).
    rconn.hset(keys.comment(comment_id), "created_at", f"{time.time() - 901:.6f}")
    resp = await patch(client, comment_id, accepted["edit_token"])
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "edit_window_closed"
    assert stored_comments(rconn)[comment_id]["comment"].startswith("Cooperation")


async def test_anything_but_the_comments_own_token_is_401(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    accepted, other = await post(client), await post(client, email="ola@example.com")
    comment_id = accepted["id"]
    signer = Signer(SECRET)
    for header in (
        None,
        "",
        "Bearer",
        f"Basic {accepted['edit_token']}",
        f"bearer {accepted['edit_token']}",
        f"Bearer {other['edit_token']}",  # another comment's
        f"Bearer {accepted['edit_token']}x",
        f"Bearer {signer.sign(Purpose.FORM, now=time.time(), max_age_s=60, bind=comment_id)}",
    ):
        headers = {} if header is None else {"Authorization": header}
        for resp in (
            await client.patch(
                f"/api/v1/comments/{comment_id}", json={"comment": "x"}, headers=headers
            ),
            await client.delete(f"/api/v1/comments/{comment_id}", headers=headers),
        ):
            assert resp.status == 401, header
            assert (await resp.json())["error"]["code"] == "unauthorized"
            assert "WWW-Authenticate" in resp.headers
    record = stored_comments(rconn)[comment_id]
    assert "edited_at" not in record
    # A comment a moderator rejected is no longer its author's to change.
    moderation.apply(rconn, settings, comment_id, "reject", "tests")
    assert (await patch(client, comment_id, accepted["edit_token"])).status == 404
    bad = await patch(client, other["id"], other["edit_token"], "")
    assert bad.status == 422
    assert (await bad.json())["error"]["fields"]["comment"]["code"] == "required"


async def test_edit_tokens_are_never_logged_nor_stored(
    client: Client, rconn: redis.Redis, settings: Settings, captured_logs: io.StringIO
) -> None:
    accepted = await post(client)
    token = accepted["edit_token"]
    assert (await patch(client, accepted["id"], token)).status == 202
    await drain(settings)
    assert (await delete(client, accepted["id"], token)).status == 204
    assert "PATCH /api/v1/comments/" in captured_logs.getvalue()  # the access log wrote
    assert token not in captured_logs.getvalue()
    assert token.encode() not in redis_values(rconn)
