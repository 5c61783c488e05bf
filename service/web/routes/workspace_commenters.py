"""A commenter's page in the workspace: their history, standing, moderators' private notes,
and (admins) a ban for a duration or for good, optionally rejecting what they already wrote.

The page is found by the opaque id the queues link to (never the address, nor its stored
HMAC); an id the workspace never showed finds nobody.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from service.store import commenters, queues
from service.web.appkeys import REDIS, SETTINGS, SYNC_REDIS, VAULT
from service.web.routes.workspace import COMMENTER_ID, NAMES
from service.web.workspace import (
    Signed,
    form_post,
    page_session,
    problem_page,
    see_other,
    workspace_page,
)

routes = web.RouteTableDef()

NOTE_MAX = 2000
DAY = 86_400
# The ban form's choices: seconds, or None for good.
DURATIONS: dict[str, int | None] = {
    "1d": DAY,
    "7d": 7 * DAY,
    "30d": 30 * DAY,
    "365d": 365 * DAY,
    "forever": None,
}
DURATION_NAMES = {"1d": "1 day", "7d": "7 days", "30d": "30 days", "365d": "1 year",
                  "forever": "for good"}  # fmt: skip
NOTICES = {
    "note": "Note saved.",
    "ban": "Banned.",
    "unban": "Ban lifted.",
    "unbanned-already": "There was no ban to lift.",
}


async def _commenter(request: web.Request, signed: Signed) -> tuple[str, str] | web.Response:
    """The page's commenter id and their address's HMAC, or the page saying there is no such
    commenter (404)."""
    commenter_id = request.match_info["commenter_id"]
    email_hash = None
    if COMMENTER_ID.fullmatch(commenter_id):
        email_hash = await commenters.email_hash_of(request.app[REDIS], commenter_id)
    if email_hash is None:
        message = (
            "There is no commenter with this id: the link may be mistyped, or their data "
            "was erased at their request."
        )
        return await problem_page(request, signed, "No such commenter", message)
    return commenter_id, email_hash


async def _commenter_post(
    request: web.Request, *, admin: bool = False
) -> tuple[Signed, list[tuple[str, str]], str, str] | web.Response:
    """A genuine form post about the path's commenter: the session, the fields, the
    commenter's id and address HMAC; or the page refusing it or saying there is nobody."""
    checked = await form_post(request, admin=admin)
    if isinstance(checked, web.Response):
        return checked
    signed, fields = checked
    found = await _commenter(request, signed)
    if isinstance(found, web.Response):
        return found
    return signed, fields, *found


@routes.get("/moderation/commenter/{commenter_id}")
async def commenter(request: web.Request) -> web.Response:
    signed = await page_session(request)
    if isinstance(signed, web.Response):
        return signed
    found = await _commenter(request, signed)
    if isinstance(found, web.Response):
        return found
    commenter_id, email_hash = found
    rejected = request.query.get("rejected", "")
    notice = NOTICES.get(request.query.get("did", ""), "")
    if notice == "Banned." and rejected.isdigit():
        notice += f" {rejected} of their comments rejected."
    return await _page(request, signed, commenter_id, email_hash, notice)


async def _page(
    request: web.Request,
    signed: Signed,
    commenter_id: str,
    email_hash: str,
    notice: str = "",
    *,
    error: str = "",
    field: str = "",
    draft: str = "",
) -> web.Response:
    redis = request.app[REDIS]
    ids = await commenters.comment_ids(redis, email_hash)
    items = await queues.many(redis, ids, request.app[VAULT].commenter_id)
    ban = await commenters.ban_of(redis, email_hash)
    summary = items[0]["commenter"] if items else None
    context = {
        "title": "Commenter",
        "commenter_id": commenter_id,
        "summary": summary,
        "items": items,
        "ban": ban,
        "notes": await commenters.notes(redis, email_hash),
        "queues": NAMES,
        "durations": DURATION_NAMES,
        "notice": notice,
        "error": error,
        "field": field,
        "draft": draft,
        "selectable": False,
        "show_status": True,
        "actions": [],
        "back": f"/moderation/commenter/{commenter_id}",
    }
    status = 422 if error else 200
    return await workspace_page(request, signed, "workspace/commenter.html", context, status=status)


@routes.post("/moderation/commenter/{commenter_id}/note")
async def note(request: web.Request) -> web.Response:
    posted = await _commenter_post(request)
    if isinstance(posted, web.Response):
        return posted
    signed, fields, commenter_id, email_hash = posted
    text = next((v for n, v in fields if n == "note"), "").strip()
    if not text or len(text) > NOTE_MAX:
        message = f"A note is 1 to {NOTE_MAX} characters."
        return await _page(
            request, signed, commenter_id, email_hash, error=message, field="note", draft=text
        )
    await commenters.add_note(request.app[REDIS], email_hash, signed.who.actor, text)
    return see_other(f"/moderation/commenter/{commenter_id}?did=note")


@routes.post("/moderation/commenter/{commenter_id}/ban")
async def ban(request: web.Request) -> web.Response:
    posted = await _commenter_post(request, admin=True)
    if isinstance(posted, web.Response):
        return posted
    signed, fields, commenter_id, email_hash = posted
    given = dict(reversed(fields))
    duration = given.get("duration", "")
    if duration not in DURATIONS:
        message = "Choose how long: " + ", ".join(DURATION_NAMES.values()) + "."
        return await _page(request, signed, commenter_id, email_hash, error=message, field="ban")
    rejected = await asyncio.to_thread(
        commenters.ban,
        request.app[SYNC_REDIS],
        request.app[SETTINGS],
        email_hash,
        commenter_id,
        signed.who.actor,
        DURATIONS[duration],
        reject_existing=given.get("reject_existing") == "on",
    )
    return see_other(f"/moderation/commenter/{commenter_id}?did=ban&rejected={rejected}")


@routes.post("/moderation/commenter/{commenter_id}/unban")
async def unban(request: web.Request) -> web.Response:
    posted = await _commenter_post(request, admin=True)
    if isinstance(posted, web.Response):
        return posted
    signed, _, commenter_id, email_hash = posted
    lifted = await asyncio.to_thread(
        commenters.unban, request.app[SYNC_REDIS], email_hash, commenter_id, signed.who.actor
    )
    did = "unban" if lifted else "unbanned-already"
    return see_other(f"/moderation/commenter/{commenter_id}?did={did}")
