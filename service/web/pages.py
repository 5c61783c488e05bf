"""Server-rendered pages: Jinja2 templates (autoescaped) on one base layout.

The pages reached from emailed links carry a credential in their URL, so they are never
cached, indexed or passed on as a referrer to another site.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup

from service.core import markdown

LINK_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # `same-origin`, not `no-referrer`: the URL still goes nowhere but back to this service
    # (which issued it), and the page's own form posts keep their real Origin. Under
    # `no-referrer` browsers send `Origin: null` with every POST, which forms.same_origin
    # cannot tell from a sandboxed frame or a data: URL on another site.
    "Referrer-Policy": "same-origin",
    "X-Robots-Tag": "noindex",
}


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("service.web", "templates"),
        autoescape=True,
        # A misspelt variable is an error in the tests, not an empty string in production.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown"] = as_html


def as_html(text: str) -> Markup:
    """`{{ text | markdown }}`: a comment's text as readers see it, safe only once nh3 has
    cleaned it (service.core.markdown)."""
    return Markup(markdown.render(text))  # noqa: S704 - the renderer's output is sanitised


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, object],
    *,
    status: int = 200,
    headers: Mapping[str, str] = LINK_PAGE_HEADERS,
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, dict(context), status=status)
    response.headers.update(headers)
    return response


def message(request: web.Request, title: str, text: str = "", status: int = 200) -> web.Response:
    """A page that only says something: a refused or spent link, a finished action."""
    return render(request, "base.html", {"title": title, "message": text}, status=status)
