"""The page a no-JavaScript form post gets when it cannot be accepted.

A reader who posted the plain HTML form sees what went wrong next to each field and a form
holding what they typed, except the email address, which the service never sends back.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from aiohttp import web
from yarl import URL

from service.core import form_token as tokens
from service.core import messages
from service.core.origins import origin_allowed, origin_of
from service.web.appkeys import SETTINGS, SIGNER
from service.web.errors import ApiError, language_of
from service.web.headers import PAGE_POLICY
from service.web.pages import LINK_PAGE_HEADERS, render

FIELDS = ("comment", "name", "email", "website")
KEPT = ("article", "article_url", "parent_id", "title")  # hidden context of the original form
FORM_ACTION = "form-action 'self'"


def wants_html(request: web.Request) -> bool:
    """A browser's plain form post (it asks for HTML) rather than an API client's."""
    return "text/html" in request.headers.get("Accept", "")


def return_url(request: web.Request, article_url: object) -> str | None:
    """Where a no-JavaScript form post goes back to: the article page (`article_url`, else the
    Referer) if its origin is ours or allowed; never an open redirect.

    The URL comes back as browsers send it (IDNA host, percent-encoded, no fragment) and is
    checked in that form, so it is a valid Location header and lands where it was checked."""
    settings = request.app[SETTINGS]
    ours = origin_of(settings.public_url) or ""
    allowed = (*settings.allowed_origins, ours)
    for candidate in (article_url, request.headers.get("Referer")):
        if not isinstance(candidate, str) or origin_of(candidate) is None:
            continue
        try:
            url = URL(candidate).with_fragment(None)
        except ValueError:  # yarl refuses what it cannot encode (e.g. an invalid IDN host)
            continue
        origin = origin_of(str(url))
        if origin == ours and url.path.startswith("/api/"):
            continue  # this service's API is no article (the error page's own Referer)
        if str(url).isascii() and origin is not None and origin_allowed(origin, allowed):
            return str(url)
    return None


def error_page(
    request: web.Request, err: ApiError, typed: Mapping[str, object], back: str | None
) -> web.Response:
    settings = request.app[SETTINGS]
    article = typed.get("article")
    token = (
        tokens.issue(request.app[SIGNER], article, time.time(), settings.form_token_max_age_s)
        if isinstance(article, str) and article
        else ""
    )
    # Only text comes back, and never the address.
    kept = {
        name: value if isinstance(value := typed.get(name), str) else ""
        for name in (*KEPT, "comment", "name", "website")
    }
    kept["article_url"] = _article_url_to_keep(kept["article_url"], err, back)
    language = language_of(request)
    texts = messages.texts(language, "reply.")
    problems = {
        name: messages.field_message(language, fe.code, fe.message, fe.limit)
        for name, fe in err.fields.items()
    }
    context = {
        "lang": language,
        "title": texts["title"],
        "t": texts,
        "message": messages.error_message(language, err.code, err.message),
        "problems": problems,
        "other_problems": [text for name, text in problems.items() if name not in FIELDS],
        "kept": KEPT,
        "typed": kept,
        "form_token": token,
        "back": back,
        "max_comment": settings.max_comment_chars,
    }
    headers = {
        **LINK_PAGE_HEADERS,
        "Content-Security-Policy": _policy(back),
        "Content-Language": language,
        "Vary": "Accept-Language",
        # The error's own headers too: Retry-After tells a browser (and a proxy) when to retry.
        **err.headers,
    }
    return render(request, "reply_error.html", context, status=err.status, headers=headers)


def _article_url_to_keep(typed: str, err: ApiError, back: str | None) -> str:
    """The hidden article_url of the form posted again: as typed, unless it was missing or
    refused (a field the reader can neither see nor fix would refuse every post again), in
    which case the return address found (the Referer's), so the post lands on the article."""
    return typed if typed and "article_url" not in err.fields else back or ""


def _policy(back: str | None) -> str:
    """The page policy, with the article's origin as a form target: CSP's form-action also
    governs the redirect that answers the form, and that goes back to the article."""
    back_origin = origin_of(back) if back else None
    if back_origin is None:
        return PAGE_POLICY
    return PAGE_POLICY.replace(FORM_ACTION, f"{FORM_ACTION} {back_origin}")
