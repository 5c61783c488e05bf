"""The page a no-JavaScript form post gets when it cannot be accepted.

A reader who posted the plain HTML form sees what went wrong next to each field and a form
holding what they typed, except the email address, which the service never sends back.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from aiohttp import web

from service.core import form_token as tokens
from service.web.appkeys import SETTINGS, SIGNER
from service.web.errors import ApiError
from service.web.pages import render

FIELDS = ("comment", "name", "email", "website")
KEPT = ("article", "article_url", "parent_id", "title")  # hidden context of the original form


def wants_html(request: web.Request) -> bool:
    """A browser's plain form post (it asks for HTML) rather than an API client's."""
    return "text/html" in request.headers.get("Accept", "")


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
    context = {
        "title": "Your comment could not be posted",
        "error": err,
        "fields": err.fields,
        "other_problems": [fe.message for name, fe in err.fields.items() if name not in FIELDS],
        "kept": KEPT,
        # Only text comes back, and never the address.
        "typed": {
            name: value if isinstance(value := typed.get(name), str) else ""
            for name in (*KEPT, "comment", "name", "website")
        },
        "form_token": token,
        "back": back,
        "max_comment": settings.max_comment_chars,
    }
    return render(request, "reply_error.html", context, status=err.status)
