"""Commenters asking for their own data: request by address, act through an emailed link.

The request answers the same whether or not the address has comments here (no enumeration)
and is rate limited. The worker mails the link to the address itself; the link names a
short-lived request, not the address. Following it offers a JSON download or erasure.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from service.core import keys, links, messages
from service.core.records import as_text
from service.core.signing import BadToken
from service.core.validation import FieldError, normalize_email
from service.store import privacy_data
from service.web.appkeys import REDIS, SETTINGS, SIGNER, SYNC_REDIS, VAULT
from service.web.bodies import read_json
from service.web.clients import client_address
from service.web.errors import language_of, validation_failed
from service.web.forms import posted, refuse_unconfirmed
from service.web.limits import limit
from service.web.pages import LINK_PAGE_HEADERS, message, render

routes = web.RouteTableDef()

REQUESTS_PER_ADDRESS_HOUR, REQUESTS_PER_IP_HOUR = 3, 10
SAME_ANSWER = {
    "status": "accepted",
    "message": "If this address has comments here, a link is on its way to it.",
}


# The "Your comments and data" page's form: its CSRF value is bound to this, not to a link.
REQUEST_PAGE = "privacy-request-page"
INVALID_EMAIL = "Enter a valid email address."


@routes.post("/api/v1/privacy/requests")
async def request_link(request: web.Request) -> web.Response:
    typed = (await read_json(request)).get("email")
    try:
        await _open_request(request, typed)
    except ValueError:
        raise validation_failed({"email": FieldError("invalid_email", INVALID_EMAIL)}) from None
    return web.json_response(SAME_ANSWER, status=202)


@routes.get("/privacy")
async def request_page(request: web.Request) -> web.Response:
    """Where the widget's "Your comments and data" link leads: a reader types their address."""
    return _request_form(request, "")


@routes.post("/privacy")
async def request_from_page(request: web.Request) -> web.Response:
    refused = await refuse_unconfirmed(request, REQUEST_PAGE, "Open the page again and retry.")
    if refused is not None:
        return refused
    typed = (await posted(request)).get("email", "")
    try:
        await _open_request(request, typed)
    except ValueError:
        # Not echoed: what was typed may be an address, and pages never show one back.
        return _request_form(request, "", invalid=True, status=422)
    language = language_of(request)
    texts = messages.texts(language, "privacy.")
    context = {"title": texts["sent_title"], "message": texts["sent"], "lang": language}
    return render(request, "base.html", context, headers=_in_language(language))


def _request_form(
    request: web.Request, email: str, *, invalid: bool = False, status: int = 200
) -> web.Response:
    """The page in the reader's language (Accept-Language): the widget links readers of any."""
    language = language_of(request)
    texts = messages.texts(language, "privacy.")
    error = messages.field_message(language, "invalid_email", INVALID_EMAIL) if invalid else ""
    csrf = links.csrf_value(request.app[SIGNER], REQUEST_PAGE, time.time())
    context = {"title": texts["title"], "t": texts, "lang": language}
    context |= {"csrf": csrf, "email": email, "error": error}
    return render(
        request, "privacy/request.html", context, status=status, headers=_in_language(language)
    )


def _in_language(language: str) -> dict[str, str]:
    return {**LINK_PAGE_HEADERS, "Content-Language": language, "Vary": "Accept-Language"}


async def _open_request(request: web.Request, typed: object) -> None:
    """Open a request for the typed address (ValueError: not an address), rate limited; the
    same whether or not it has comments here."""
    settings = request.app[SETTINGS]
    # The same key intake made: case, Unicode form, IDNA and spaces do not matter.
    email = normalize_email(typed if isinstance(typed, str) else "")
    email_hash = request.app[VAULT].email_hash(email)
    redis = request.app[REDIS]
    window = privacy_data.REQUEST_WINDOW_S
    await limit(redis, "privacy-ip", client_address(request), REQUESTS_PER_IP_HOUR, window)
    await limit(redis, "privacy-email", email_hash, REQUESTS_PER_ADDRESS_HOUR, window)
    conn = request.app[SYNC_REDIS]
    await asyncio.to_thread(privacy_data.open_request, conn, settings, email_hash)


@routes.get("/privacy/{token}")
async def show(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    email_hash = await _email_hash(request, token)
    if email_hash is None:
        return _expired(request)
    context = {
        "title": "Your comments",
        "count": await request.app[REDIS].scard(keys.by_email(email_hash)),
        "token": token,
        "csrf": links.csrf_value(request.app[SIGNER], token, time.time()),
    }
    return render(request, "privacy/show.html", context)


@routes.post("/privacy/{token}/export")
async def export(request: web.Request) -> web.Response:
    email_hash = await _authorised(request)
    if isinstance(email_hash, web.Response):
        return email_hash
    data = await asyncio.to_thread(privacy_data.export, request.app[SYNC_REDIS], email_hash)
    return web.json_response(
        {"comments": data},
        headers={
            "Content-Disposition": 'attachment; filename="my-comments.json"',
            "Cache-Control": "no-store",
        },
    )


@routes.post("/privacy/{token}/erase")
async def erase(request: web.Request) -> web.Response:
    email_hash = await _authorised(request)
    if isinstance(email_hash, web.Response):
        return email_hash
    settings = request.app[SETTINGS]
    conn = request.app[SYNC_REDIS]
    # Erasure deletes the commenter's open requests too: this link is spent with them.
    count = await asyncio.to_thread(privacy_data.erase, conn, settings, email_hash)
    done = "anonymised" if settings.erase_mode == "anonymise" else "removed"
    return message(request, "Erased", f"{count} comments {done}; your address is deleted.")


async def _authorised(request: web.Request) -> str | web.Response:
    """The commenter's key a confirmed form post acts for, or the page refusing it."""
    token = request.match_info["token"]
    refused = await refuse_unconfirmed(request, token, "Open the link from the email again.")
    if refused is not None:
        return refused
    return await _email_hash(request, token) or _expired(request)


async def _email_hash(request: web.Request, token: str) -> str | None:
    try:
        request_id = links.privacy_request_id(request.app[SIGNER], token, time.time())
    except BadToken:
        return None
    value = await request.app[REDIS].get(keys.privacy_request(request_id))
    return as_text(value) if value else None


def _expired(request: web.Request) -> web.Response:
    return message(
        request, "This link is not valid", "It expired or was used. Ask for a new one.", 410
    )
