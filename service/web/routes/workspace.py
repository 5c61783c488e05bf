"""The moderators' workspace: the queues, acting on one comment or many, the audit.

Every action is a plain form post (it works without JavaScript) through the same
`moderation.apply` as the API and the one-click links, so reputation, the audit log and the
text model's labels follow as they do there. workspace.js adds keyboard shortcuts.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping

from aiohttp import web
from yarl import URL

from service.core import keys
from service.core.records import as_text, decode_record
from service.core.validation import FieldError
from service.store import commenters, moderation, overview, queues
from service.web.appkeys import ARTICLE_FOLDERS, REDIS, SETTINGS, SYNC_REDIS, VAULT, WORKSPACE_JS
from service.web.routes.moderator_api import (
    GROUNDS_MAX,
    MAX_IDS,
    edited_text,
    entry_cursor,
    score_cursor,
)
from service.web.workspace import (
    Signed,
    form_post,
    page_session,
    problem_page,
    see_other,
    workspace_page,
)

routes = web.RouteTableDef()

PAGE_SIZE = 25
AUDIT_PAGE = 50
NAMES = {
    "held": "Pending review",
    "spam": "Spam",
    "approved": "Approved",
    "rejected": "Rejected",
    "all": "All",
    "reported": "Reported",
}
VERBS = {"approve": "Approve", "reject": "Reject", "spam": "Spam", "ham": "Not spam"}
DONE = {"approve": "approved", "reject": "rejected", "spam": "marked as spam", "ham": "restored"}
# What each queue offers: "not spam" only restores from the spam folder.
ACTIONS = {
    "held": ("approve", "reject", "spam"),
    "spam": ("ham", "reject"),
    "approved": ("reject", "spam"),
    "rejected": ("approve", "spam"),
    "all": ("approve", "reject", "spam"),
    # Approving a published comment readers reported keeps it and dismisses their reports.
    "reported": ("approve", "reject", "spam"),
}
BACK = re.compile(
    r"/moderation/(queue/(held|spam|approved|rejected|all|reported)|comment/[0-9a-f]{16}-[0-9a-f]{16})"
    r"(\?[^\s\\#]*)?"
)
FILTER_MAX = 200
COMMENTER_PAGE = re.compile(r"/moderation/commenter/[0-9a-f]{20}")
COMMENTER_ID = re.compile(r"[0-9a-f]{20}")
NOBODY = "-"  # no address hashes to it: a commenter filter that lists nothing


@routes.get("/moderation/queue/{folder}")
async def queue(request: web.Request) -> web.Response:
    signed = await page_session(request)
    if isinstance(signed, web.Response):
        return signed
    folder = request.match_info["folder"]
    if folder not in queues.FOLDERS:
        return await problem_page(request, signed, "No such queue", "There is no such queue.")
    query = request.query
    commenter = query.get("commenter", "")[:FILTER_MAX] or None
    filters = queues.Filters(
        article=query.get("article", "")[:FILTER_MAX] or None,
        reason=query.get("reason", "")[:FILTER_MAX] or None,
        text=query.get("q", "")[:FILTER_MAX] or None,
        newest_first=query.get("order") == "newest",
        email_hash=await _commenter_filter(request, commenter),
    )
    cursor = query.get("cursor") or None
    if cursor is not None and not score_cursor(cursor):
        cursor = None  # a cursor we did not hand out: the first page
    name = request.app[VAULT].commenter_id
    page = await queues.read(
        request.app[REDIS],
        folder,
        filters,
        PAGE_SIZE,
        cursor,
        details=True,
        name=name,
        by_article=request.app[ARTICLE_FOLDERS],
    )
    here = request.rel_url
    context = {
        "title": NAMES[folder],
        "folder": folder,
        "names": NAMES,
        "filters": filters,
        "commenter": commenter,
        "items": page.items,
        "actions": [(a, VERBS[a]) for a in ACTIONS[folder]],
        "next": str(here.update_query(cursor=page.next_cursor)) if page.next_cursor else None,
        "first": str(_without(here, "cursor")) if cursor else None,
        # A text search read its SCAN_MAX comments without filling the page: say so.
        "searched": page.scanned if page.bounded else 0,
        "back": str(here),
        "notice": _notice(query),
        "selectable": True,
        "show_status": folder == "all",
    }
    return await workspace_page(request, signed, "workspace/queue.html", context)


@routes.get("/moderation/comment/{comment_id}")
async def comment(request: web.Request) -> web.Response:
    """One comment, whatever its status, with what it can become: where notifications and
    the audit link to."""
    signed = await page_session(request)
    if isinstance(signed, web.Response):
        return signed
    item = await _requested_comment(request, signed)
    if isinstance(item, web.Response):
        return item
    return await _comment_page(request, signed, item, _notice(request.query))


async def _requested_comment(
    request: web.Request, signed: Signed
) -> dict[str, object] | web.Response:
    """The comment the path names, as the workspace shows it, or the page saying there is
    none (404)."""
    comment_id = request.match_info["comment_id"]
    item = None
    if keys.is_comment_id(comment_id):
        item = await queues.one(request.app[REDIS], comment_id, request.app[VAULT].commenter_id)
    if item is None:
        return await _no_comment(request, signed)
    return item


async def _comment_post(
    request: web.Request,
) -> tuple[Signed, list[tuple[str, str]], dict[str, object]] | web.Response:
    """A genuine form post about the path's comment: the session, the fields and the comment
    as the workspace shows it; or the page refusing it or saying there is none."""
    checked = await form_post(request)
    if isinstance(checked, web.Response):
        return checked
    signed, fields = checked
    item = await _requested_comment(request, signed)
    if isinstance(item, web.Response):
        return item
    return signed, fields, item


async def _no_comment(request: web.Request, signed: Signed) -> web.Response:
    message = (
        "There is no comment with this id: the link may be mistyped, or the comment was erased."
    )
    return await problem_page(request, signed, "No such comment", message)


@routes.post("/moderation/comment/{comment_id}/edit")
async def edit(request: web.Request) -> web.Response:
    """Fix a comment's text (a typo, a slur in a good comment); the commenter's original is
    kept and shown beside it, and the audit records the edit."""
    posted = await _comment_post(request)
    if isinstance(posted, web.Response):
        return posted
    signed, fields, item = posted
    comment_id = request.match_info["comment_id"]
    typed = next((value for name, value in fields if name == "text"), "")
    text = edited_text(request.app[SETTINGS].max_comment_chars, typed)
    if isinstance(text, FieldError):
        return await _comment_page(request, signed, item, "", draft=typed, error=text.message)
    conn = request.app[SYNC_REDIS]
    await asyncio.to_thread(moderation.edit_text, conn, comment_id, text, signed.who.actor)
    return see_other(f"/moderation/comment/{comment_id}?did=edit")


@routes.post("/moderation/comment/{comment_id}/feature")
async def feature(request: web.Request) -> web.Response:
    """Feature a published comment (first in the thread, with a badge), or stop."""
    checked = await form_post(request)
    if isinstance(checked, web.Response):
        return checked
    signed, fields = checked
    comment_id = request.match_info["comment_id"]
    if not keys.is_comment_id(comment_id):
        return await _no_comment(request, signed)
    on = dict(fields).get("featured") == "on"
    conn = request.app[SYNC_REDIS]
    done = await asyncio.to_thread(moderation.feature, conn, comment_id, signed.who.actor, on=on)
    if done.result == moderation.MISSING:
        return await _no_comment(request, signed)
    did = done.action if done.result in (moderation.DONE, moderation.ALREADY) else "not-featured"
    return see_other(f"/moderation/comment/{comment_id}?did={did}")


STAFF_NAME_MAX = 80


@routes.post("/moderation/comment/{comment_id}/reply")
async def staff_reply(request: web.Request) -> web.Response:
    """Answer a published comment as the site's staff: published at once, marked in the
    thread."""
    posted = await _comment_post(request)
    if isinstance(posted, web.Response):
        return posted
    signed, fields, item = posted
    comment_id = request.match_info["comment_id"]
    given = dict(reversed(fields))
    typed, name = given.get("reply", ""), " ".join(given.get("name", "").split())
    text = edited_text(request.app[SETTINGS].max_comment_chars, typed)
    problem = text.message if isinstance(text, FieldError) else ""
    if not 0 < len(name) <= STAFF_NAME_MAX:
        problem = f"The name is 1 to {STAFF_NAME_MAX} characters."
    if item["status"] != "approved":
        problem = "Only a published comment can be answered."
    if problem or isinstance(text, FieldError):
        return await _comment_page(
            request, signed, item, "", reply_draft=typed, reply_error=problem
        )
    conn, settings = request.app[SYNC_REDIS], request.app[SETTINGS]
    await asyncio.to_thread(
        moderation.staff_reply, conn, settings, comment_id, name, text, signed.who.actor
    )
    return see_other(f"/moderation/comment/{comment_id}?did=staff-reply")


async def _comment_page(
    request: web.Request,
    signed: Signed,
    item: dict[str, object],
    notice: str,
    *,
    draft: str | None = None,
    error: str = "",
    reply_draft: str = "",
    reply_error: str = "",
) -> web.Response:
    status = str(item["status"] or "pending")
    offered = ACTIONS.get(status, ACTIONS["held"])  # pending: as if held
    context = {
        "title": "Comment",
        "item": item,
        "actions": [(a, VERBS[a]) for a in offered],
        "back": f"/moderation/comment/{item['id']}",
        "notice": notice,
        "selectable": False,
        "show_status": True,
        "draft": item["text"] if draft is None else draft,
        "error": error,
        "reply_draft": reply_draft,
        "reply_error": reply_error,
    }
    code = 422 if error or reply_error else 200
    return await workspace_page(request, signed, "workspace/comment.html", context, status=code)


@routes.post("/moderation/act")
async def act(request: web.Request) -> web.Response:
    """One comment (a button on it: `item=action:id`) or the selected ones (`action`, `ids`)."""
    checked = await form_post(request)
    if isinstance(checked, web.Response):
        return checked
    signed, fields = checked
    first = {name: value for name, value in reversed(fields)}
    back = first.get("back", "")
    if not (BACK.fullmatch(back) or COMMENTER_PAGE.fullmatch(back)):
        back = "/moderation/queue/held"
    if first.get("item"):
        action, _, one = first["item"].partition(":")
        ids = [one]
    else:
        action, ids = first.get("action", ""), [v for n, v in fields if n == "ids"]
    ids = list(dict.fromkeys(i for i in ids if keys.is_comment_id(i)))[:MAX_IDS]
    if action not in moderation.ACTIONS or not ids:
        return see_other(str(URL(back).update_query(did="nothing")))
    conn, settings = request.app[SYNC_REDIS], request.app[SETTINGS]
    # Approving a published comment readers reported dismisses their reports: that is done.
    listed = await request.app[REDIS].zmscore(keys.reported(), ids)
    dismissing = {i for i, s in zip(ids, listed, strict=True) if s is not None}
    outcomes = [
        await asyncio.to_thread(
            moderation.apply,
            conn,
            settings,
            cid,
            action,
            signed.who.actor,
            grounds=_grounds(first, cid),
        )
        for cid in ids
    ]
    done = sum(
        o.result == moderation.DONE
        or (o.result == moderation.ALREADY and action == "approve" and o.comment_id in dismissing)
        for o in outcomes
    )
    target = _without(URL(back), "did", "n", "skipped", "cursor")
    target = target.update_query(did=action, n=done, skipped=len(outcomes) - done)
    return see_other(str(target))


@routes.get("/moderation/audit")
async def audit(request: web.Request) -> web.Response:
    """Every moderation action, newest first; filtered by moderator, action or article."""
    signed = await page_session(request)
    if isinstance(signed, web.Response):
        return signed
    query = request.query
    wanted = {
        field: query.get(field, "")[:FILTER_MAX]
        for field in ("actor", "action", "article", "comment_id")
        if query.get(field)
    }
    end = query.get("cursor") or None
    if end is not None and (not entry_cursor(end) or end.startswith("0")):
        end = None
    entries: list[dict[str, str]] = []
    last = end
    redis = request.app[REDIS]
    while len(entries) < AUDIT_PAGE:
        batch = await redis.xrevrange(
            keys.audit_log(), max="+" if last is None else f"({last}", count=200
        )
        if not batch:
            last = None
            break
        for raw_id, raw in batch:
            last = entry_id = as_text(raw_id)
            entry = decode_record(raw or {})
            if all(entry.get(f) == v for f, v in wanted.items()):
                entries.append({"id": entry_id, **entry})
                if len(entries) == AUDIT_PAGE:
                    break
        if len(batch) < 200 and len(entries) < AUDIT_PAGE:
            last = None
            break
    here = request.rel_url
    context = {
        "title": "Audit",
        "entries": entries,
        "wanted": wanted,
        "next": str(here.update_query(cursor=last)) if last else None,
    }
    return await workspace_page(request, signed, "workspace/audit.html", context)


@routes.get("/moderation/overview")
async def overview_page(request: web.Request) -> web.Response:
    """Held now, the oldest held comment's wait, today's decisions and who made them."""
    signed = await page_session(request)
    if isinstance(signed, web.Response):
        return signed
    now = time.time()
    found = await overview.read(request.app[REDIS], now)
    context = {"title": "Overview", "overview": found, "waited": _waited(found.oldest_held_s)}
    return await workspace_page(request, signed, "workspace/overview.html", context)


@routes.get("/moderation/workspace.js")
async def script(request: web.Request) -> web.Response:
    asset = request.app[WORKSPACE_JS]
    return web.Response(
        body=asset.body,
        content_type="text/javascript",
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "ETag": f'"{asset.digest}"'},
    )


def _grounds(fields: Mapping[str, str], comment_id: str) -> str:
    """What a moderator wrote as the grounds of a decision on this comment (its own field,
    so a bulk action keeps each comment's), one line, at most GROUNDS_MAX characters."""
    typed = fields.get(f"grounds:{comment_id}", "")
    return " ".join(typed.split())[:GROUNDS_MAX]


async def _commenter_filter(request: web.Request, commenter: str | None) -> str | None:
    """The commenter a queue is filtered by, named by the opaque id the workspace shows; an
    id it never showed names nobody, so nothing is listed."""
    if commenter is None:
        return None
    found = None
    if COMMENTER_ID.fullmatch(commenter):
        found = await commenters.email_hash_of(request.app[REDIS], commenter)
    return found or NOBODY


def _without(url: URL, *names: str) -> URL:
    return url.with_query([(k, v) for k, v in url.query.items() if k not in names])


def _notice(query: Mapping[str, str]) -> str:
    did = query.get("did", "")
    if did == "nothing":
        return "Nothing selected."
    if did == "edit":
        return "Text saved; the commenter's original is kept."
    if did == "staff-reply":
        return "Your reply is published, marked as the staff's."
    if did == "feature":
        return "Featured: readers see it first, with a badge."
    if did == "unfeature":
        return "No longer featured."
    if did == "not-featured":
        return "Only a published comment can be featured."
    if did not in DONE:
        return ""
    n, skipped = query.get("n", "0"), query.get("skipped", "0")
    text = f"{n} {'comment' if n == '1' else 'comments'} {DONE[did]}."
    if skipped not in ("", "0"):
        text += f" {skipped} could not be (already decided, or gone)."
    return text


def _waited(seconds: float | None) -> str:
    if seconds is None:
        return "nothing is held"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} days"


# Matched only when no other workspace route is (the router tries the longest path prefix
# first): an unknown page under /moderation/ answers in the workspace's layout, with a way
# back, not with the API's JSON.
@routes.get("/moderation/{unknown:.+}")
async def no_such_page(request: web.Request) -> web.Response:
    signed = await page_session(request)
    if isinstance(signed, web.Response):
        return signed
    message = "There is no such page in the workspace."
    return await problem_page(request, signed, "No such page", message)
