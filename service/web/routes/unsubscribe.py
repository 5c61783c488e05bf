"""One-click unsubscribe from reply notifications (RFC 8058).

The link names a comment, signed; following it stops reply emails to that comment's author
(for all their comments). Mail providers POST `List-Unsubscribe=One-Click` to the URL
directly, so the POST needs no form token: the signed URL is the credential, and the worst a
leaked link can do is stop some emails.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from html import escape

from aiohttp import web

from service import keys
from service.moderation_pages import page
from service.privacy import derive_key
from service.records import as_text
from service.typedefs import SETTINGS, SYNC_REDIS


def token_for(secret: str, comment_id: str) -> str:
    mac = hmac.new(derive_key(secret, "unsubscribe"), comment_id.encode(), hashlib.sha256)
    return f"{comment_id}.{base64.urlsafe_b64encode(mac.digest()[:18]).decode()}"


def comment_of(secret: str, token: str) -> str | None:
    comment_id = token.split(".", 1)[0]
    valid = keys.is_comment_id(comment_id) and hmac.compare_digest(
        token_for(secret, comment_id), token
    )
    return comment_id if valid else None


async def confirm(request: web.Request) -> web.Response:
    if comment_of(request.app[SETTINGS].secret_key, request.match_info["token"]) is None:
        return page("This link is not valid", "<p>It may have been altered.</p>", 400)
    form = '<form method="post"><button type="submit">Stop reply notifications</button></form>'
    return page("Stop emails about replies?", form)


async def unsubscribe(request: web.Request) -> web.Response:
    comment_id = comment_of(request.app[SETTINGS].secret_key, request.match_info["token"])
    if comment_id is None:
        return page("This link is not valid", "<p>It may have been altered.</p>", 400)
    conn = request.app[SYNC_REDIS]
    email_hash = await asyncio.to_thread(conn.hget, keys.comment(comment_id), "email_hash")
    if email_hash:
        rep = keys.email_reputation(as_text(email_hash))
        await asyncio.to_thread(conn.hset, rep, "unsubscribed", "1")
    done = "You will get no more emails about replies to your comments."
    return page("Unsubscribed", f"<p>{escape(done)}</p>")
