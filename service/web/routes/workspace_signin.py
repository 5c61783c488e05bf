"""Signing in to the moderators' workspace, and out.

By mail: the form answers the same for every address (no enumeration) and is rate limited;
a moderator's address gets a one-time link (15 minutes). The link's GET only shows a button
(mail scanners follow links); its POST spends the link and starts the session. By token: a
COMMENTS_MODERATOR_TOKENS token, for scripts. Sign-out ends the session in Redis.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from service.core import keys, links, moderators
from service.core.signing import BadToken
from service.core.validation import normalize_email
from service.store import sessions
from service.web.appkeys import REDIS, SETTINGS, SIGNER, SYNC_REDIS, VAULT
from service.web.clients import client_address
from service.web.errors import ApiError
from service.web.forms import refuse_unconfirmed, same_origin
from service.web.limits import limit
from service.web.pages import render
from service.web.workspace import (
    HEADERS,
    SIGNIN_FORMS,
    end_session,
    form_post,
    posted_pairs,
    refusal,
    see_other,
    signed_in,
    signin_page,
    start_session,
)

routes = web.RouteTableDef()

HOME = "/moderation/queue/held"
SIGNINS_PER_IP_HOUR, SIGNINS_PER_ADDRESS_WINDOW, ADDRESS_WINDOW_S = 10, 3, 15 * 60
TOKEN_TRIES_PER_IP_HOUR = 20
SAME_ANSWER = (
    "If this address belongs to a moderator, a sign-in link is on its way to it. "
    f"It works once, within {links.SIGNIN_MAX_AGE_S // 60} minutes."
)


@routes.get("/moderation/")
async def home(request: web.Request) -> web.Response:
    if await signed_in(request) is not None:
        return see_other(HOME)
    return signin_page(request)


@routes.post("/moderation/signin")
async def request_link(request: web.Request) -> web.Response:
    fields = await _signin_form(request)
    if isinstance(fields, web.Response):
        return fields
    settings, redis = request.app[SETTINGS], request.app[REDIS]
    typed = fields.get("email", "")[:320]
    try:
        await limit(redis, "signin-ip", client_address(request), SIGNINS_PER_IP_HOUR, 3600)
        typed_key = request.app[VAULT].email_hash(_as_address(typed))
        await limit(redis, "signin-email", typed_key, SIGNINS_PER_ADDRESS_WINDOW, ADDRESS_WINDOW_S)
    except ApiError as err:
        return _too_many(request, err)
    address = moderators.moderator_address(settings, typed)
    if address is not None:
        who = moderators.by_address(settings, address)
        mail_to = request.app[VAULT].email_hash(address)
        await asyncio.to_thread(
            sessions.open_signin,
            request.app[SYNC_REDIS],
            settings,
            who,
            links.SIGNIN_MAX_AGE_S,
            mail_to,
        )
    context = {"title": "Check your email", "message": SAME_ANSWER}
    return render(request, "base.html", context, headers=HEADERS)


@routes.get("/moderation/signin/{token}")
async def confirm(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    if not await _link_open(request, token):
        return _spent(request)
    context = {
        "title": "Sign in to moderate",
        "csrf": links.csrf_value(request.app[SIGNER], token, time.time()),
    }
    return render(request, "workspace/confirm.html", context, headers=HEADERS)


@routes.post("/moderation/signin/{token}")
async def use_link(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    refused = await refuse_unconfirmed(request, token, "Open the link from the email again.")
    if refused is not None:
        return refused
    try:
        request_id = links.signin_request_id(request.app[SIGNER], token, time.time())
    except BadToken:
        return _spent(request)
    who = await sessions.claim_signin(request.app[REDIS], request_id)
    if who is None:
        return _spent(request)
    return await _start(request, who)


@routes.post("/moderation/token")
async def with_token(request: web.Request) -> web.Response:
    fields = await _signin_form(request)
    if isinstance(fields, web.Response):
        return fields
    try:
        await limit(
            request.app[REDIS],
            "signin-token",
            client_address(request),
            TOKEN_TRIES_PER_IP_HOUR,
            3600,
        )
    except ApiError as err:
        return _too_many(request, err)
    who = moderators.by_token(request.app[SETTINGS], fields.get("token", ""))
    if who is None:
        return signin_page(request, status=401, note="That token is not a moderator's.")
    return await _start(request, who)


@routes.post("/moderation/signout")
async def sign_out(request: web.Request) -> web.Response:
    checked = await form_post(request)
    if isinstance(checked, web.Response):
        return checked
    signed, _ = checked
    await sessions.end(request.app[REDIS], signed.token)
    response = see_other("/moderation/")
    end_session(response)
    return response


@routes.post("/moderation/sessions/end-all")
async def end_all(request: web.Request) -> web.Response:
    """An admin signs every moderator out (a lost laptop, a departure), themselves included."""
    checked = await form_post(request, admin=True)
    if isinstance(checked, web.Response):
        return checked
    await sessions.end_all(request.app[REDIS])
    response = see_other("/moderation/")
    end_session(response)
    return response


async def _start(request: web.Request, who: moderators.Identity) -> web.Response:
    previous = await signed_in(request)
    if previous is not None:  # a sign-in replaces this browser's session, never adds one
        await sessions.end(request.app[REDIS], previous.token)
    token = await sessions.create(request.app[REDIS], request.app[SETTINGS], who)
    response = see_other(HOME)
    start_session(request, response, token)
    return response


async def _signin_form(request: web.Request) -> dict[str, str] | web.Response:
    """The fields of a genuine post of the sign-in page's forms, or the refusal."""
    if not same_origin(request):
        return refusal(request, "This form must be sent from its own page.", 403)
    fields: dict[str, str] = {}
    for name, value in await posted_pairs(request):
        fields.setdefault(name, value)
    if not links.csrf_valid(request.app[SIGNER], SIGNIN_FORMS, fields.get("csrf"), time.time()):
        return refusal(request, "Open the sign-in page again.", 403)
    return fields


async def _link_open(request: web.Request, token: str) -> bool:
    try:
        request_id = links.signin_request_id(request.app[SIGNER], token, time.time())
    except BadToken:
        return False
    return bool(await request.app[REDIS].exists(keys.signin_request(request_id)))


def _as_address(typed: str) -> str:
    """The one form of a typed address (so its variants share one rate limit), or the text."""
    try:
        return normalize_email(typed)
    except ValueError:
        return typed.strip()


def _spent(request: web.Request) -> web.Response:
    context = {
        "title": "This sign-in link is not valid",
        "message": "It expired or was used. Ask for a new one on the sign-in page.",
    }
    return render(request, "base.html", context, status=410, headers=HEADERS)


def _too_many(request: web.Request, err: ApiError) -> web.Response:
    context = {"title": "Too many attempts", "message": "Try again later."}
    return render(request, "base.html", context, status=429, headers={**HEADERS, **err.headers})
