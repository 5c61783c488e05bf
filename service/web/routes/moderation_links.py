"""One-click moderation from a notification: GET confirms, POST acts.

Mail scanners and link previewers follow GET links, so GET only shows what would happen.
The POST needs the page's CSRF value (a MAC of the link only the server can make) and a
same-origin request. Every page is uncacheable and never sent as a referrer (the link is a
credential).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from html import escape

from aiohttp import web

from service import keys, moderation
from service.moderation_links import EXPIRED, VALID, Link
from service.origins import origin_of
from service.records import decode_record
from service.typedefs import LINK_SIGNER, SETTINGS, SYNC_REDIS

VERBS = {"approve": "Approve", "reject": "Reject", "spam": "Mark as spam", "ham": "Not spam"}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
    "blockquote{border-left:3px solid #888;margin:1rem 0;padding:.2rem 1rem;white-space:pre-wrap}"
    "button{font:600 1rem system-ui;padding:.6rem 1.2rem;border:0;border-radius:4px;"
    "background:#0a58ca;color:#fff}.muted{color:#555}.err{color:#b3261e;font-weight:600}"
    "label{display:block;font-weight:600;margin-top:.8rem}"
    "input:not([type=hidden]),textarea{display:block;width:100%;box-sizing:border-box;"
    "padding:.5rem;font:inherit;border:1px solid #767676}"
)


def page(title: str, body: str, status: int = 200) -> web.Response:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f'</title><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=html, content_type="text/html", status=status, headers=HEADERS)


async def confirm(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    link, record, problem = await _check(request, token)
    if problem is not None:
        return problem
    assert link is not None
    if record is None:
        return page("Comment not found", "<p>It may have been erased.</p>", 404)
    if record.get("status") == moderation.TARGET[link.action]:
        return page("Already done", _state(record), 409)
    csrf = request.app[LINK_SIGNER].csrf(token)
    form = (
        f'<form method="post"><input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<button type="submit">{escape(VERBS[link.action])}</button></form>'
    )
    return page(f"{VERBS[link.action]} this comment?", _details(record) + form)


async def act(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    if not same_origin(request):
        return page("Not allowed", "<p>This form must be sent from its own page.</p>", 403)
    sent = (await posted(request)).get("csrf")
    expected = request.app[LINK_SIGNER].csrf(token)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        return page("Not allowed", "<p>Open the link from the notification again.</p>", 403)
    link, _, problem = await _check(request, token)
    if problem is not None:
        return problem
    assert link is not None
    outcome = await asyncio.to_thread(
        moderation.apply,
        request.app[SYNC_REDIS],
        request.app[SETTINGS],
        link.comment_id,
        link.action,
        "email-link",
        link_nonce=link.nonce,
        link_ttl_s=max(link.expires - int(time.time()), 1),
    )
    record = await _record(request, link.comment_id) or {}
    titles = {
        moderation.DONE: (f"Done: {VERBS[link.action].lower()}", 200),
        moderation.ALREADY: ("Already done", 409),
        moderation.USED: ("This link was already used", 409),
        moderation.NOT_ALLOWED: ("Not possible from the comment's current state", 409),
        moderation.MISSING: ("Comment not found", 404),
    }
    title, status = titles[outcome.result]
    return page(title, _state(record) if record else "", status)


async def posted(request: web.Request) -> dict[str, str]:
    """The text fields of a form post; a body that does not parse counts as an empty form."""
    try:
        form = await request.post()
    except ValueError:  # e.g. multipart without its boundary, undecodable bytes
        return {}
    return {name: value for name, value in form.items() if isinstance(value, str)}


async def _check(
    request: web.Request, token: str
) -> tuple[Link | None, dict[str, str] | None, web.Response | None]:
    """The link, the comment as it is now (None if gone), or the page explaining a refusal."""
    check = request.app[LINK_SIGNER].check(token, time.time())
    if check.verdict not in (VALID, EXPIRED) or check.link is None:
        return None, None, page("This link is not valid", "<p>It may have been altered.</p>", 400)
    link = check.link
    record = await _record(request, link.comment_id)
    state = _state(record) if record else ""
    if check.verdict == EXPIRED:
        return None, record, page("This link has expired", state, 410)
    used = keys.link_used(link.nonce)
    if await asyncio.to_thread(request.app[SYNC_REDIS].exists, used):
        return None, record, page("This link was already used", state, 409)
    return link, record, None


async def _record(request: web.Request, comment_id: str) -> dict[str, str] | None:
    raw = await asyncio.to_thread(request.app[SYNC_REDIS].hgetall, keys.comment(comment_id))
    return decode_record(raw) or None


def _details(record: dict[str, str]) -> str:
    reasons = "".join(
        f"<li>{escape(r['text'])} ({r['points']:+g})</li>"
        for r in json.loads(record.get("reasons") or "[]")
    )
    website = f" ({escape(record['website'])})" if record.get("website") else ""
    return (
        f"<p><strong>{escape(record['name'])}</strong>{website} on "
        f"<em>{escape(record.get('title') or record['article'])}</em></p>"
        f"<blockquote>{escape(record['comment'])}</blockquote>"
        f'<p class="muted">Verdict: {escape(record.get("status", ""))}, '
        f"score {escape(record.get('score', '-'))}</p><ul>{reasons}</ul>"
    )


def _state(record: dict[str, str]) -> str:
    by = record.get("decided_by", "")
    return _details(record) + (f'<p class="muted">Decided by {escape(by)}.</p>' if by else "")


def same_origin(request: web.Request) -> bool:
    """Browsers send Origin on POSTs; a cross-site form post is refused outright."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    ours = origin_of(request.app[SETTINGS].public_url)
    return origin in (ours, origin_of(str(request.url)))
