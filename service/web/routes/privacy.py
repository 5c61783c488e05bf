"""Commenters asking for their own data: request by address, act through an emailed link.

The request answers the same whether or not the address has comments here (no enumeration)
and is rate limited. The worker mails the link to the address itself; the link names a
short-lived request, not the address. Following it offers a JSON download or erasure.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from html import escape

from aiohttp import web
from email_validator import EmailNotValidError, validate_email

from service import keys, privacy_data
from service.errors import validation_failed
from service.intake import notification_queue
from service.limits import limit
from service.moderation_pages import page, posted, same_origin
from service.privacy import derive_key
from service.records import as_text
from service.typedefs import REDIS, SETTINGS, SYNC_REDIS, VAULT
from service.validation import FieldError

REQUESTS_PER_ADDRESS_HOUR, REQUESTS_PER_IP_HOUR = 3, 10
SAME_ANSWER = {
    "status": "accepted",
    "message": "If this address has comments here, a link is on its way to it.",
}


def sign(secret: str, request_id: str) -> str:
    mac = hmac.new(derive_key(secret, "privacy-link"), request_id.encode(), hashlib.sha256)
    return f"{request_id}.{base64.urlsafe_b64encode(mac.digest()[:18]).decode()}"


def verify(secret: str, token: str) -> str | None:
    request_id = token.split(".", 1)[0]
    return request_id if hmac.compare_digest(sign(secret, request_id), token) else None


async def request_link(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    try:
        body = json.loads(await request.read())
        email = validate_email(str(body["email"]), check_deliverability=False).normalized
    except (ValueError, KeyError, TypeError, EmailNotValidError):
        raise validation_failed(
            {"email": FieldError("invalid_email", "Enter a valid email address.")}
        ) from None
    email_hash = request.app[VAULT].email_hash(email)
    redis = request.app[REDIS]
    window = privacy_data.REQUEST_WINDOW_S
    await limit(redis, "privacy-ip", request.remote or "unknown", REQUESTS_PER_IP_HOUR, window)
    await limit(redis, "privacy-email", email_hash, REQUESTS_PER_ADDRESS_HOUR, window)
    request_id, ttl = secrets.token_urlsafe(16), settings.privacy_link_max_age_s
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(keys.privacy_request(request_id), email_hash, ex=ttl)
        pipe.sadd(keys.privacy_requests_of(email_hash), request_id)
        pipe.expire(keys.privacy_requests_of(email_hash), ttl)
        await pipe.execute()
    # The job learns only the request id; it finds the sealed address itself.
    queue = notification_queue(request.app[SYNC_REDIS], settings)
    await asyncio.to_thread(
        queue.enqueue, "workers.jobs.send_privacy_link", request_id, job_timeout=60
    )
    return web.json_response(SAME_ANSWER, status=202)


async def show(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    email_hash = await _email_hash(request, token)
    if email_hash is None:
        return _expired()
    count = await request.app[REDIS].scard(keys.by_email(email_hash))
    csrf = escape(_csrf(request, token))
    forms = (
        f"<p>{count} comments are stored for your address.</p>"
        f'<form method="post" action="{escape(token)}/export"><input type="hidden" name="csrf" '
        f'value="{csrf}"><button type="submit">Download my comments (JSON)</button></form><p></p>'
        f'<form method="post" action="{escape(token)}/erase"><input type="hidden" name="csrf" '
        f'value="{csrf}"><button type="submit">Erase my comments</button></form>'
    )
    return page("Your comments", forms)


async def export(request: web.Request) -> web.Response:
    email_hash, problem = await _authorised(request)
    if problem is not None:
        return problem
    assert email_hash is not None
    data = await asyncio.to_thread(privacy_data.export, request.app[SYNC_REDIS], email_hash)
    return web.json_response(
        {"comments": data},
        headers={
            "Content-Disposition": 'attachment; filename="my-comments.json"',
            "Cache-Control": "no-store",
        },
    )


async def erase(request: web.Request) -> web.Response:
    email_hash, problem = await _authorised(request)
    if problem is not None:
        return problem
    assert email_hash is not None
    mode = request.app[SETTINGS].erase_mode
    count = await asyncio.to_thread(privacy_data.erase, request.app[SYNC_REDIS], email_hash, mode)
    await request.app[REDIS].delete(keys.privacy_request(request.match_info["token"].split(".")[0]))
    done = "anonymised" if mode == "anonymise" else "removed"
    return page("Erased", f"<p>{count} comments {done}; your address is deleted.</p>")


async def _authorised(request: web.Request) -> tuple[str | None, web.Response | None]:
    token = request.match_info["token"]
    if not same_origin(request):
        return None, page("Not allowed", "<p>This form must be sent from its own page.</p>", 403)
    sent = (await posted(request)).get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, _csrf(request, token)):
        return None, page("Not allowed", "<p>Open the link from the email again.</p>", 403)
    email_hash = await _email_hash(request, token)
    return (email_hash, None) if email_hash else (None, _expired())


async def _email_hash(request: web.Request, token: str) -> str | None:
    request_id = verify(request.app[SETTINGS].secret_key, token)
    if request_id is None:
        return None
    value = await request.app[REDIS].get(keys.privacy_request(request_id))
    return as_text(value) if value else None


def _csrf(request: web.Request, token: str) -> str:
    return sign(request.app[SETTINGS].secret_key, f"csrf:{token}")


def _expired() -> web.Response:
    return page("This link is not valid", "<p>It expired or was used. Ask for a new one.</p>", 410)
