"""One-click unsubscribe from reply notifications (RFC 8058).

The link names a comment, signed; following it stops reply emails to that comment's author
(for all their comments). Mail providers POST `List-Unsubscribe=One-Click` to the URL
directly, so the POST needs no form token: the signed URL is the credential, and the worst a
leaked link can do is stop some emails.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from service.core import keys, links
from service.core.records import as_text
from service.core.signing import BadToken
from service.web.appkeys import SIGNER, SYNC_REDIS
from service.web.pages import message, render

routes = web.RouteTableDef()


@routes.get("/unsubscribe/{token}")
async def confirm(request: web.Request) -> web.Response:
    if _comment_of(request) is None:
        return _invalid(request)
    return render(request, "unsubscribe/confirm.html", {"title": "Stop emails about replies?"})


@routes.post("/unsubscribe/{token}")
async def unsubscribe(request: web.Request) -> web.Response:
    comment_id = _comment_of(request)
    if comment_id is None:
        return _invalid(request)
    conn = request.app[SYNC_REDIS]
    email_hash = await asyncio.to_thread(conn.hget, keys.comment(comment_id), "email_hash")
    if email_hash:
        rep = keys.email_reputation(as_text(email_hash))
        await asyncio.to_thread(conn.hset, rep, "unsubscribed", "1")
    done = "You will get no more emails about replies to your comments."
    return message(request, "Unsubscribed", done)


def _comment_of(request: web.Request) -> str | None:
    try:
        return links.unsubscribe_comment(
            request.app[SIGNER], request.match_info["token"], time.time()
        )
    except BadToken:
        return None


def _invalid(request: web.Request) -> web.Response:
    return message(request, "This link is not valid", "It may have been altered.", 400)
