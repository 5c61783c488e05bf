"""A commenter confirming that a held comment posted with their address is theirs.

GET shows the comment and asks (mail scanners follow links, so looking never acts); POST,
from that page with its CSRF value, confirms. See service/store/confirmations.py.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from service.core import keys, links
from service.core.records import decode_record
from service.core.signing import BadToken, ExpiredToken
from service.store import confirmations
from service.web.appkeys import SETTINGS, SIGNER, SYNC_REDIS
from service.web.forms import refuse_unconfirmed
from service.web.pages import message, render

routes = web.RouteTableDef()

RESULTS = {
    confirmations.DONE: (
        "Thank you",
        "Your comment will be published once it passes our usual checks.",
        200,
    ),
    confirmations.DECIDED: ("Already decided", "The moderators decided on this comment.", 409),
    confirmations.USED: ("This link was already used", "Your confirmation was received.", 409),
    confirmations.MISSING: ("Comment not found", "It may have been erased.", 404),
}


@routes.get("/confirm/{token}")
async def ask(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    comment_id = _comment_id(request, token)
    if isinstance(comment_id, web.Response):
        return comment_id
    conn = request.app[SYNC_REDIS]
    record = decode_record(await asyncio.to_thread(conn.hgetall, keys.comment(comment_id)))
    if not record:
        return message(request, "Comment not found", "It may have been erased.", 404)
    context = {
        "title": "Did you write this comment?",
        "comment": {
            "name": record.get("name", ""),
            "comment": record.get("comment", ""),
            "title": record.get("title", ""),
            "article": record.get("article", ""),
        },
        "csrf": links.csrf_value(request.app[SIGNER], token, time.time()),
    }
    return render(request, "confirm/confirm.html", context)


@routes.post("/confirm/{token}")
async def confirm(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    refused = await refuse_unconfirmed(request, token, "Open the link from the email again.")
    if refused is not None:
        return refused
    try:
        comment_id, claims = links.confirmed_comment(request.app[SIGNER], token, time.time())
    except ExpiredToken:
        return _expired(request)
    except BadToken:
        return _invalid(request)
    result = await asyncio.to_thread(
        confirmations.confirm,
        request.app[SYNC_REDIS],
        request.app[SETTINGS],
        comment_id,
        claims.nonce,
        claims.seconds_left(time.time()),
    )
    title, text, status = RESULTS[result]
    return message(request, title, text, status)


def _comment_id(request: web.Request, token: str) -> str | web.Response:
    try:
        return links.confirmed_comment(request.app[SIGNER], token, time.time())[0]
    except ExpiredToken:
        return _expired(request)
    except BadToken:
        return _invalid(request)


def _expired(request: web.Request) -> web.Response:
    text = "Your comment stays with the moderators, who will decide on it."
    return message(request, "This link has expired", text, 410)


def _invalid(request: web.Request) -> web.Response:
    return message(request, "This link is not valid", "It may have been altered.", 400)
