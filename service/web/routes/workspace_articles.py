"""An article's settings in the workspace: every moderator sees them, admins change them.

Articles are named by the id the widget sends (any text up to MAX_ARTICLE), so the page takes
it as a query parameter: /moderation/article?article=<id>.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from aiohttp import web
from yarl import URL

from service.core.validation import MAX_ARTICLE
from service.store import articles
from service.web.appkeys import REDIS, SETTINGS, SYNC_REDIS
from service.web.workspace import (
    Signed,
    form_post,
    page_session,
    problem_page,
    see_other,
    workspace_page,
)

routes = web.RouteTableDef()

CLOSING = {"default": None, "closed": articles.CLOSED, "open": articles.OPEN}
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC).timestamp()  # before the web had news sites
NOTICES = {"saved": "Settings saved.", "unchanged": "Nothing changed."}


def _article(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if 0 < len(value) <= MAX_ARTICLE else None


@routes.get("/moderation/article")
async def article_page(request: web.Request) -> web.Response:
    signed = await page_session(request)
    if isinstance(signed, web.Response):
        return signed
    article = _article(request.query.get("article"))
    if article is None:
        return await _which_article(request, signed)
    notice = NOTICES.get(request.query.get("did", ""), "")
    return await _page(request, signed, article, notice)


async def _page(
    request: web.Request,
    signed: Signed,
    article: str,
    notice: str = "",
    error: str = "",
    *,
    field: str = "",
    draft: str | None = None,
) -> web.Response:
    days = request.app[SETTINGS].close_after_days
    found = await articles.state(request.app[REDIS], article, days, time.time())
    closing = {articles.CLOSED: "closed", articles.OPEN: "open"}.get(
        found.explicit or "", "default"
    )
    context = {
        "title": "Article",
        "article": article,
        "state": found,
        "closing": closing,
        "close_after_days": days,
        "published": draft if draft is not None else _day(found.published),
        "notice": notice,
        "error": error,
        "field": field,
    }
    status = 422 if error else 200
    return await workspace_page(request, signed, "workspace/article.html", context, status=status)


@routes.post("/moderation/article")
async def save(request: web.Request) -> web.Response:
    checked = await form_post(request, admin=True)
    if isinstance(checked, web.Response):
        return checked
    signed, fields = checked
    given = dict(reversed(fields))
    article = _article(given.get("article"))
    if article is None:
        return await _which_article(request, signed)
    closing = given.get("closing", "")
    if closing not in CLOSING:
        message = "Choose: the site's default, closed, or open."
        return await _page(request, signed, article, error=message)
    typed = given.get("published", "").strip()
    published = _published(typed, time.time())
    if isinstance(published, str):
        return await _page(
            request, signed, article, error=published, field="published", draft=typed
        )
    dated = "published" in given and await asyncio.to_thread(
        articles.set_published, request.app[SYNC_REDIS], article, signed.who.actor, published
    )
    done = await asyncio.to_thread(
        articles.update,
        request.app[SYNC_REDIS],
        article,
        signed.who.actor,
        closed=CLOSING[closing],
        premoderate=given.get("premoderate") == "on",
    )
    target = URL("/moderation/article").with_query(
        article=article, did="saved" if done or dated else "unchanged"
    )
    return see_other(str(target))


async def _which_article(request: web.Request, signed: Signed) -> web.Response:
    """Asked without an article id (or with one too long to be any): 422, and a form for it."""
    message = (
        f"This page shows one article's settings: give its id (1 to {MAX_ARTICLE} characters)."
    )
    return await problem_page(
        request, signed, "Which article?", message, status=422, ask_article=MAX_ARTICLE
    )


def _published(typed: str, now: float) -> float | str | None:
    """The publication date an admin typed (YYYY-MM-DD, the start of that day in UTC; empty:
    unknown), or what is wrong with it."""
    if not typed:
        return None
    try:
        day = datetime.strptime(typed, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return "Give the publication date as YYYY-MM-DD, or leave it empty if unknown."
    if not EARLIEST <= day <= now:
        return "The publication date must be between 1990-01-01 and today."
    return day


def _day(moment: float | None) -> str:
    return "" if moment is None else datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")
