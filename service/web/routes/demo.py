"""The demo article page `comments dev` serves at `/`: the article, its thread, a reply form.

It embeds the widget the way any site would (one script tag). The server-rendered thread and
plain form inside the widget's element are what readers without JavaScript get: the form posts
to /api/v1/comments and the service redirects back here. With JavaScript the widget's Shadow
DOM takes the element's place on screen.
"""

from __future__ import annotations

import json
import time
from html import escape
from importlib import resources

from aiohttp import web

from service import form_token as tokens
from service.typedefs import REDIS, SETTINGS, THREADS, TOKEN_KEY
from service.validation import HONEYPOT_FIELD

ARTICLE_ID = "lunar-station-2021"
# The page runs the widget from this service; without scripts it is the plain form.
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'"
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 17px/1.6 Georgia, serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d1d1f; }}
h1 {{ font-size: 1.8rem; line-height: 1.25; }}
.reply label {{ display: block; font: 600 .9rem system-ui, sans-serif; margin-top: .8rem; }}
.reply input[type=text], .reply input[type=email], .reply input[type=url], .reply textarea {{
  width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; border: 1px solid #888; }}
.reply button {{ margin-top: 1rem; padding: .6rem 1.2rem; font: 600 1rem system-ui;
  background: #0a58ca; color: #fff; border: 0; border-radius: 4px; }}
.hp {{ position: absolute; left: -10000px; }}
.note {{ font: .9rem system-ui, sans-serif; color: #555; }}
#comment-pending {{ display: none; padding: .8rem; background: #e7f1e7; border: 1px solid #5a5; }}
#comment-pending:target {{ display: block; }}
.comment {{ border-top: 1px solid #ddd; padding: .6rem 0; }}
.comment .comment {{ margin-left: 1.5rem; }}
.who {{ font: 600 .9rem system-ui, sans-serif; }}
</style></head>
<body>
<article><h1>{title}</h1>
{body}
</article>
<section id="comments" aria-label="Comments"><h2>{count} Comments</h2>
<p id="comment-pending" role="status">Thank you. Your comment is awaiting moderation.</p>
{thread}
<h2 id="reply-title">Leave a Reply</h2>
<form class="reply" method="post" action="/api/v1/comments">
<p class="note">Your email address will not be published. Required fields are marked *</p>
<input type="hidden" name="article" value="{article}">
<input type="hidden" name="article_url" value="{article_url}">
<input type="hidden" name="form_token" value="{form_token}">
<label for="comment">Comment *</label>
<textarea id="comment" name="comment" rows="6" maxlength="{max_comment}" required></textarea>
<label for="name">Name *</label>
<input type="text" id="name" name="name" maxlength="100" required autocomplete="name">
<label for="email">Email *</label>
<input type="email" id="email" name="email" maxlength="254" required autocomplete="email">
<label for="website">Website</label>
<input type="url" id="website" name="website" maxlength="200" autocomplete="url">
<div class="hp" aria-hidden="true"><label for="{hp}">Leave this empty</label>
<input type="text" id="{hp}" name="{hp}" tabindex="-1" autocomplete="off"></div>
<button type="submit">Post Comment</button>
</form>
</section>
<script src="/embed.js" data-article="{article}" async></script>
</body></html>
"""


def _article() -> tuple[str, str]:
    """Title and HTML body from the Markdown-ish article text shipped with the package."""
    text = resources.files("service").joinpath("demo/article.md").read_text(encoding="utf-8")
    story = text.split("\n---\n", 1)[-1]
    lines = [ln.strip() for ln in story.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("Leave a Reply", "Your email"))]
    title, rest = lines[0], [ln for ln in lines[1:] if ln != lines[0]]
    html, items = [], []
    for line in rest:
        if line.startswith("•"):
            items.append(f"<li>{escape(line.lstrip('• '))}</li>")
            continue
        if items:
            html.append("<ul>" + "".join(items) + "</ul>")
            items = []
        html.append(f"<p>{escape(line)}</p>")
    if items:
        html.append("<ul>" + "".join(items) + "</ul>")
    return title, "\n".join(html)


def _render_comments(comments: list[dict[str, object]]) -> str:
    out = []
    for c in comments:
        name = escape(str(c["name"]))
        if c.get("website"):
            website = escape(str(c["website"]), quote=True)
            name = f'<a href="{website}" rel="nofollow ugc noopener">{name}</a>'
        paragraphs = "".join(
            f"<p>{escape(p)}</p>" for p in str(c["text"]).split("\n\n") if p.strip()
        )
        replies = c.get("replies")
        nested = _render_comments(replies) if isinstance(replies, list) else ""
        out.append(
            f'<div class="comment" id="c-{escape(str(c["id"]))}"><div class="who">{name} '
            f'<time datetime="{escape(str(c["created_at"]))}">{escape(str(c["created_at"]))}'
            f"</time></div>{paragraphs}{nested}</div>"
        )
    return "\n".join(out)


async def article_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    title, body = _article()
    thread = json.loads((await request.app[THREADS].get(request.app[REDIS], ARTICLE_ID)).body)
    page = PAGE.format(
        title=escape(title),
        body=body,
        count=thread["count"],
        thread=_render_comments(thread["comments"]),
        article=ARTICLE_ID,
        article_url=escape(settings.public_url + "/", quote=True),
        max_comment=settings.max_comment_chars,
        hp=HONEYPOT_FIELD,
        form_token=tokens.issue(request.app[TOKEN_KEY], ARTICLE_ID, time.time()),
    )
    return web.Response(
        text=page, content_type="text/html", headers={"Content-Security-Policy": CSP}
    )
