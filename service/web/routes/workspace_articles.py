"""An article's settings in the workspace: every moderator sees them, admins change them.

Articles are named by the id the widget sends (any text up to MAX_ARTICLE), so the page takes
it as a query parameter: /moderation/article?article=<id>.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from yarl import URL

from service.core.validation import MAX_ARTICLE
from service.store import articles
from service.web.appkeys import REDIS, SETTINGS, SYNC_REDIS
from service.web.routes.workspace import _format_time
from service.web.workspace import Signed, form_post, page_session, see_other, workspace_page

routes = web.RouteTableDef()

CLOSING = {"default": None, "closed": articles.CLOSED, "open": articles.OPEN}
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
        raise web.HTTPNotFound()
    notice = NOTICES.get(request.query.get("did", ""), "")
    return await _page(request, signed, article, notice)


async def _page(
    request: web.Request, signed: Signed, article: str, notice: str = "", error: str = ""
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
        "notice": notice,
        "error": error,
        "format_time": _format_time,
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
        raise web.HTTPNotFound()
    closing = given.get("closing", "")
    if closing not in CLOSING:
        message = "Choose: the site's default, closed, or open."
        return await _page(request, signed, article, error=message)
    done = await asyncio.to_thread(
        articles.update,
        request.app[SYNC_REDIS],
        article,
        signed.who.actor,
        closed=CLOSING[closing],
        premoderate=given.get("premoderate") == "on",
    )
    target = URL("/moderation/article").with_query(
        article=article, did="saved" if done else "unchanged"
    )
    return see_other(str(target))
