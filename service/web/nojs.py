"""The page a no-JavaScript form post gets when it cannot be accepted.

A reader who posted the plain HTML form sees what went wrong next to each field and a form
holding what they typed, except the email address, which the service never sends back.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from html import escape

from aiohttp import web

from service import form_token as tokens
from service.errors import ApiError
from service.moderation_pages import page
from service.typedefs import SETTINGS, TOKEN_KEY
from service.validation import field_label

FIELDS = ("comment", "name", "email", "website")
KEPT = ("article", "article_url", "parent_id", "title")  # hidden context of the original form


def wants_html(request: web.Request) -> bool:
    """A browser's plain form post (it asks for HTML) rather than an API client's."""
    return "text/html" in request.headers.get("Accept", "")


def error_page(
    request: web.Request, err: ApiError, typed: Mapping[str, object], back: str | None
) -> web.Response:
    settings = request.app[SETTINGS]

    def value(name: str) -> str:
        raw = typed.get(name)
        return escape(raw, quote=True) if isinstance(raw, str) else ""

    def problem(name: str) -> str:
        fe = err.fields.get(name)
        if fe is None:
            return ""
        return f'<p class="err" id="{name}-error">{escape(fe.message)}</p>'

    def field(name: str, control: str) -> str:
        star = " *" if name != "website" else ""
        return f'<label for="{name}">{field_label(name)}{star}</label>{problem(name)}{control}'

    article = typed.get("article")
    token = (
        tokens.issue(request.app[TOKEN_KEY], article, time.time())
        if isinstance(article, str) and article
        else ""
    )
    hidden = "".join(f'<input type="hidden" name="{name}" value="{value(name)}">' for name in KEPT)
    invalid = {name: ' aria-invalid="true"' if name in err.fields else "" for name in FIELDS}
    other = [fe.message for name, fe in err.fields.items() if name not in FIELDS]
    body = (
        f"<p>{escape(err.message)}</p>"
        + "".join(f'<p class="err">{escape(m)}</p>' for m in other)
        + '<form method="post" action="/api/v1/comments">'
        + hidden
        + f'<input type="hidden" name="form_token" value="{escape(token, quote=True)}">'
        + field(
            "comment",
            f'<textarea id="comment" name="comment" rows="6" required{invalid["comment"]}>'
            f"{value('comment')}</textarea>",
        )
        + field(
            "name",
            f'<input id="name" name="name" value="{value("name")}" required{invalid["name"]}>',
        )
        + field(
            "email",
            f'<input id="email" name="email" type="email" required{invalid["email"]}>'
            '<p class="muted">For your privacy the address is never sent back: please enter it'
            " again.</p>",
        )
        + field(
            "website",
            f'<input id="website" name="website" type="url" value="{value("website")}"'
            f"{invalid['website']}>",
        )
        + '<p><button type="submit">Post Comment</button></p></form>'
        + (f'<p><a href="{escape(back, quote=True)}">Back to the article</a></p>' if back else "")
        + f'<p class="muted">Comments may be up to {settings.max_comment_chars} characters.</p>'
    )
    title = "Your comment could not be posted"
    return page(title, body, err.status)
