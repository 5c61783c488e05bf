"""One-click moderation from a notification: GET confirms, POST acts.

Mail scanners and link previewers follow GET links, so GET only shows what would happen.
The POST needs the page's CSRF value (signed, bound to the link) and a same-origin request.
Every page is uncacheable and its URL never sent to another site (the link is a credential).
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from service.core import keys, links
from service.core.records import decode_record
from service.core.signing import BadToken, ExpiredToken, Purpose
from service.store import moderation
from service.web.appkeys import SETTINGS, SIGNER, SYNC_REDIS
from service.web.forms import refuse_unconfirmed
from service.web.pages import message, render

routes = web.RouteTableDef()

VERBS = {"approve": "Approve", "reject": "Reject", "spam": "Mark as spam", "ham": "Not spam"}
RESULTS = {
    moderation.DONE: ("Done: {verb}", 200),
    moderation.ALREADY: ("Already done", 409),
    moderation.USED: ("This link was already used", 409),
    moderation.NOT_ALLOWED: ("Not possible from the comment's current state", 409),
    moderation.MISSING: ("Comment not found", 404),
}


@routes.get("/moderate/{token}")
async def confirm(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    link, record, problem = await _check(request, token)
    if problem is not None:
        return problem
    assert link is not None
    if record is None:
        return message(request, "Comment not found", "It may have been erased.", 404)
    if record.get("status") == moderation.ACTIONS[link.action].target:
        return _state(request, "Already done", record, 409)
    context = {
        "title": f"{VERBS[link.action]} this comment?",
        "verb": VERBS[link.action],
        "comment": comment_view(record),
        "csrf": links.csrf_value(request.app[SIGNER], token, time.time()),
    }
    return render(request, "moderate/confirm.html", context)


@routes.post("/moderate/{token}")
async def act(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    refused = await refuse_unconfirmed(request, token, "Open the link from the notification again.")
    if refused is not None:
        return refused
    link, _, problem = await _check(request, token)
    if problem is not None:
        return problem
    assert link is not None
    outcome = await asyncio.to_thread(
        moderation.apply,
        request.app[SYNC_REDIS],
        request.app[SETTINGS],
        link.comment_id,
        link.action,
        "email-link",
        link_nonce=link.claims.nonce,
        link_ttl_s=link.claims.seconds_left(time.time()),
    )
    record = await _record(request, link.comment_id)
    title, status = RESULTS[outcome.result]
    return _state(request, title.format(verb=VERBS[link.action].lower()), record, status)


async def _check(
    request: web.Request, token: str
) -> tuple[links.ModerationLink | None, dict[str, str] | None, web.Response | None]:
    """The link, the comment as it is now (None if gone), or the page explaining a refusal."""
    try:
        link = links.moderation_link(request.app[SIGNER], token, time.time())
    except ExpiredToken as expired:
        comment_id = expired.claims.fields[0] if expired.claims.fields else ""
        record = await _record(request, comment_id) if keys.is_comment_id(comment_id) else None
        return None, record, _state(request, "This link has expired", record, 410)
    except BadToken:
        return (
            None,
            None,
            message(request, "This link is not valid", "It may have been altered.", 400),
        )
    record = await _record(request, link.comment_id)
    used = keys.token_used(Purpose.MODERATION, link.claims.nonce)
    if await asyncio.to_thread(request.app[SYNC_REDIS].exists, used):
        return None, record, _state(request, "This link was already used", record, 409)
    return link, record, None


async def _record(request: web.Request, comment_id: str) -> dict[str, str] | None:
    raw = await asyncio.to_thread(request.app[SYNC_REDIS].hgetall, keys.comment(comment_id))
    return decode_record(raw) or None


def comment_view(record: dict[str, str]) -> dict[str, object]:
    """What a moderator's page shows of a comment: never the address, its hash or the IP."""
    return {
        "name": record.get("name", ""),
        "website": record.get("website", ""),
        "title": record.get("title", ""),
        "article": record.get("article", ""),
        "comment": record.get("comment", ""),
        "status": record.get("status", ""),
        "score": record.get("score", ""),
        "reasons": json.loads(record.get("reasons") or "[]"),
        "decided_by": record.get("decided_by", ""),
    }


def _state(
    request: web.Request, title: str, record: dict[str, str] | None, status: int
) -> web.Response:
    context = {"title": title, "message": "", "comment": comment_view(record) if record else None}
    return render(request, "moderate/state.html", context, status=status)
