"""The demo article page `comments dev` serves at `/`: the article, its thread, a reply form.

It embeds the widget the way any site would (one script tag). The server-rendered thread and
plain form inside the widget's element are what readers without JavaScript get: the form posts
to /api/v1/comments and the service redirects back here. With JavaScript the widget's Shadow
DOM takes the element's place on screen.
"""

from __future__ import annotations

import json
import time
from importlib import resources

from aiohttp import web

from service.core import form_token as tokens
from service.core.validation import HONEYPOT_FIELD, MAX_EMAIL, MAX_NAME, MAX_WEBSITE
from service.web.appkeys import REDIS, SETTINGS, SIGNER, THREADS
from service.web.pages import render

routes = web.RouteTableDef()

ARTICLE_ID = "lunar-station-2021"
# The page runs the widget from this service; without scripts it is the plain form.
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'"
)

Block = str | list[str]  # a paragraph, or the items of a list


def story() -> tuple[str, list[Block]]:
    """Title and body of the Markdown-ish article text shipped with the package."""
    text = resources.files("service.web").joinpath("demo/article.md").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.split("\n---\n", 1)[-1].splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("Leave a Reply", "Your email"))]
    title, blocks = lines[0], list[Block]()
    for line in (ln for ln in lines[1:] if ln != title):
        if not line.startswith("•"):
            blocks.append(line)
        elif blocks and isinstance(blocks[-1], list):
            blocks[-1].append(line.lstrip("• "))
        else:
            blocks.append([line.lstrip("• ")])
    return title, blocks


async def article_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    title, blocks = story()
    thread = json.loads((await request.app[THREADS].get(request.app[REDIS], ARTICLE_ID)).body)
    now = time.time()
    context = {
        "title": title,
        "story": blocks,
        "count": thread["count"],
        "comments": thread["comments"],
        "article": ARTICLE_ID,
        "article_url": settings.public_url + "/",
        "limits": {
            "comment": settings.max_comment_chars,
            "name": MAX_NAME,
            "email": MAX_EMAIL,
            "website": MAX_WEBSITE,
        },
        "honeypot": HONEYPOT_FIELD,
        "form_token": tokens.issue(
            request.app[SIGNER], ARTICLE_ID, now, settings.form_token_max_age_s
        ),
    }
    return render(request, "article.html", context, headers={"Content-Security-Policy": CSP})
