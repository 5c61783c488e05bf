"""What every workspace page and action shares: the session cookie, the checks before a page
is shown or a form acts, and the headers of the pages.

Pages answer 401 (the sign-in page) without a live session. A POST acts only from our own
origin, with a live session, and with the CSRF value of that session's pages (signed, bound
to the session's cookie value, which the page never shows); an admin's action also needs the
admin role (403 otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from service.core import links
from service.core.moderators import Identity
from service.store import queues, sessions
from service.web.appkeys import REDIS, SETTINGS, SIGNER
from service.web.bodies import FORM, read_form_pairs
from service.web.errors import ApiError
from service.web.forms import same_origin
from service.web.headers import PAGE_POLICY
from service.web.pages import LINK_PAGE_HEADERS, render

COOKIE = "cm_workspace"
COOKIE_PATH = "/moderation"
# The one script the workspace pages load is our own, from this origin.
HEADERS = {**LINK_PAGE_HEADERS, "Content-Security-Policy": f"{PAGE_POLICY}; script-src 'self'"}
# Bound into the CSRF value of the sign-in forms, shown before any session exists.
SIGNIN_FORMS = "moderation-signin"


@dataclass(frozen=True, slots=True)
class Signed:
    """A request's live session: who, and the cookie value its CSRF values are bound to."""

    who: Identity
    token: str

    def csrf(self, request: web.Request) -> str:
        return links.csrf_value(request.app[SIGNER], self.token, time.time())


async def signed_in(request: web.Request) -> Signed | None:
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 100:
        return None
    who = await sessions.current(request.app[REDIS], request.app[SETTINGS], token)
    return Signed(who, token) if who else None


async def page_session(request: web.Request) -> Signed | web.Response:
    """The live session a page is shown to, or the sign-in page (401)."""
    signed = await signed_in(request)
    return signed if signed is not None else signin_page(request, status=401)


async def form_post(
    request: web.Request, *, admin: bool = False
) -> tuple[Signed, list[tuple[str, str]]] | web.Response:
    """The session and fields of a genuine workspace form post, or the page refusing it."""
    if not same_origin(request):
        return refusal(request, "This form must be sent from its own page.", 403)
    signed = await signed_in(request)
    if signed is None:
        return signin_page(request, status=401)
    fields = await posted_pairs(request)
    sent = next((value for name, value in fields if name == "csrf"), None)
    if not links.csrf_valid(request.app[SIGNER], signed.token, sent, time.time()):
        return refusal(request, "The form was not sent from this workspace; reload the page.", 403)
    if admin and not signed.who.is_admin:
        return refusal(request, "Only an admin can do this.", 403)
    return signed, fields


async def posted_pairs(request: web.Request) -> list[tuple[str, str]]:
    """A form's fields; anything but a urlencoded UTF-8 form counts as an empty one, which
    the CSRF check then refuses."""
    if request.content_type != FORM:
        return []
    try:
        return await read_form_pairs(request)
    except ApiError:
        return []


def format_time(ts: object) -> str:
    """A stored time stamp (seconds, as text or number) as the workspace shows times."""
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(str(ts))))
    except (TypeError, ValueError, OverflowError):
        return ""


async def workspace_page(
    request: web.Request,
    signed: Signed,
    template: str,
    context: Mapping[str, object],
    *,
    status: int = 200,
) -> web.Response:
    """A page of the workspace: the queue counts, who is signed in, the sign-out form."""
    full = {
        "who": signed.who,
        "csrf": signed.csrf(request),
        "counts": await queues.counts(request.app[REDIS]),
        "format_time": format_time,
        **context,
    }
    return render(request, template, full, status=status, headers=HEADERS)


async def problem_page(
    request: web.Request,
    signed: Signed,
    title: str,
    message: str,
    *,
    status: int = 404,
    ask_article: int = 0,
) -> web.Response:
    """A missing comment, commenter or queue, or a page asked for without what it needs: a
    page in the workspace's layout with a way back (the error middleware answers JSON, which
    is for the API, never for a moderator's browser)."""
    context = {"title": title, "message": message, "ask_article": ask_article}
    return await workspace_page(request, signed, "workspace/problem.html", context, status=status)


def signin_page(request: web.Request, *, status: int = 200, note: str = "") -> web.Response:
    context = {
        "title": "Sign in to moderate",
        "note": note,
        "csrf": links.csrf_value(request.app[SIGNER], SIGNIN_FORMS, time.time()),
        "by_mail": bool(request.app[SETTINGS].moderator_emails),
    }
    return render(request, "workspace/signin.html", context, status=status, headers=HEADERS)


def refusal(request: web.Request, text: str, status: int) -> web.Response:
    context = {"title": "Not allowed" if status == 403 else "Sign in", "message": text}
    return render(request, "base.html", context, status=status, headers=HEADERS)


def start_session(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        COOKIE,
        token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=settings.public_url.startswith("https://"),
        # The browser forgets it when the session could live no longer anyway.
        max_age=settings.session_max_age_s,
    )


def end_session(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=COOKIE_PATH)


def see_other(location: str) -> web.Response:
    """After a form post: the browser loads `location` with a GET (POST/redirect/GET)."""
    return web.Response(status=303, headers={"Location": location, **HEADERS})
