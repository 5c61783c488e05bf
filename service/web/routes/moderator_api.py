"""The moderator API under /api/v1/moderation/: bearer tokens, listings, actions, edits."""

from __future__ import annotations

import asyncio
import math
import re
import unicodedata
from collections.abc import Callable

from aiohttp import web

from service.core import keys, moderators
from service.core.records import decode_record
from service.core.validation import FieldError, validate_submission
from service.store import moderation, queues
from service.web.appkeys import ARTICLE_FOLDERS, REDIS, SETTINGS, SYNC_REDIS
from service.web.bodies import read_json
from service.web.errors import ApiError, validation_failed

# The API lists the folders that wait for a moderator (the workspace lists every status).
API_FOLDERS = ("held", "spam", "reported")
MAX_LIMIT, MAX_IDS = 100, 100
# The grounds of a decision on a report of illegal content (DSA art. 17): a short text, kept
# in the audit entry (the workspace's limit too).
GROUNDS_MAX = 500
# The cursors the listings hand out (ASCII digits only: Redis reads no other).
SCORE_CURSOR = re.compile(r"-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?")
ENTRY_CURSOR = re.compile(r"[0-9]{1,20}(-[0-9]{1,20})?")


def moderator(request: web.Request) -> str:
    """The authenticated moderator's name, or a 401/403 in the standard error shape."""
    settings = request.app[SETTINGS]
    if not settings.moderator_tokens:
        raise ApiError(403, "moderation_disabled", "No moderator tokens are configured.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    who = moderators.by_token(settings, given)
    if who is None or scheme != "Bearer":
        raise ApiError(
            401,
            "unauthorized",
            "A valid moderator bearer token is required.",
            headers={"WWW-Authenticate": 'Bearer realm="moderation"'},
        )
    return who.actor


routes = web.RouteTableDef()


@routes.get("/api/v1/moderation/queue")
async def queue(request: web.Request) -> web.Response:
    moderator(request)
    folder = request.query.get("status", "held")
    if folder not in API_FOLDERS:
        message = "Use held, spam or reported."
        raise validation_failed({"status": FieldError("invalid_choice", message)})
    limit = _limit(request)
    filters = queues.Filters(
        article=request.query.get("article"), reason=request.query.get("reason")
    )
    cursor = _cursor(request, score_cursor, "the next_cursor of a queue page")
    page = await queues.read(
        request.app[REDIS], folder, filters, limit, cursor, by_article=request.app[ARTICLE_FOLDERS]
    )
    return web.json_response({"items": page.items, "next_cursor": page.next_cursor})


@routes.get("/api/v1/moderation/decisions")
async def decisions(request: web.Request) -> web.Response:
    moderator(request)
    limit = _limit(request)
    end = _cursor(request, entry_cursor, "the next_cursor of a decisions page")
    if end is not None and _entry_id(end) == (0, 0):
        # Nothing is older than the first possible entry (and Redis refuses "(0-0").
        return web.json_response({"items": [], "next_cursor": None})
    entries = (
        await request.app[REDIS].xrevrange(
            keys.audit_log(), max="+" if end is None else f"({end}", count=limit
        )
        or []
    )
    items = [{"id": entry_id, **decode_record(fields or {})} for entry_id, fields in entries]
    next_cursor = entries[-1][0] if len(entries) == limit else None
    return web.json_response({"items": items, "next_cursor": next_cursor})


@routes.post("/api/v1/moderation/actions")
async def act(request: web.Request) -> web.Response:
    actor = moderator(request)
    body = await read_json(request)
    action, ids = body.get("action"), body.get("ids")
    errors = {}
    if not isinstance(action, str) or action not in moderation.ACTIONS:  # {} is unhashable
        errors["action"] = FieldError("invalid_choice", "Use approve, reject, spam or ham.")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS:
        errors["ids"] = FieldError("invalid_ids", f"Give 1-{MAX_IDS} comment ids.")
    elif not all(isinstance(i, str) and keys.is_comment_id(i) for i in ids):
        errors["ids"] = FieldError("invalid_ids", "Every id must be a comment id.")
    grounds = _grounds(body.get("grounds", ""))
    if isinstance(grounds, FieldError):
        errors["grounds"] = grounds
    if errors:
        raise validation_failed(errors)
    assert isinstance(action, str)
    assert isinstance(ids, list)
    assert isinstance(grounds, str)
    conn, settings = request.app[SYNC_REDIS], request.app[SETTINGS]
    outcomes = [
        await asyncio.to_thread(
            moderation.apply, conn, settings, cid, action, actor, grounds=grounds
        )
        for cid in ids
    ]
    return web.json_response(
        {
            "results": [
                {"id": o.comment_id, "result": o.result, "from": o.before, "to": o.after}
                for o in outcomes
            ]
        }
    )


@routes.patch("/api/v1/moderation/comments/{comment_id}")
async def edit(request: web.Request) -> web.Response:
    actor = moderator(request)
    comment_id = request.match_info["comment_id"]
    if not keys.is_comment_id(comment_id):
        raise ApiError(404, "not_found", "No such comment.")
    body = await read_json(request)
    text = edited_text(request.app[SETTINGS].max_comment_chars, body.get("text"))
    if isinstance(text, FieldError):
        raise validation_failed({"text": text})
    outcome = await asyncio.to_thread(
        moderation.edit_text, request.app[SYNC_REDIS], comment_id, text, actor
    )
    if outcome.result == moderation.MISSING:
        raise ApiError(404, "not_found", "No such comment.")
    return web.json_response({"id": comment_id, "result": outcome.result, "text": text})


def edited_text(max_chars: int, raw: object) -> str | FieldError:
    """A moderator's new text for a comment, cleaned by the rules of a submission's comment
    field, or what is wrong with it (the API and the workspace edit alike)."""
    probe = {"article": "x", "name": "x", "email": "a@example.com", "comment": raw}
    sub, errors = validate_submission(probe, max_chars)
    return sub.comment if sub is not None else errors["comment"]


def _grounds(raw: object) -> str | FieldError:
    """The grounds of a decision (DSA art. 17, for a report of illegal content), kept in each
    decision's audit entry as the workspace keeps them: one line, at most GROUNDS_MAX."""
    if not isinstance(raw, str):
        return FieldError("invalid_type", "grounds must be a string.")
    grounds = " ".join(raw.split())
    if any(unicodedata.category(c) == "Cc" for c in grounds):
        return FieldError("invalid_characters", "grounds contains control characters.")
    if len(grounds) > GROUNDS_MAX:
        return FieldError("too_long", f"grounds must be at most {GROUNDS_MAX} characters.")
    return grounds


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "20")
    # ASCII digits only: str.isdigit() also says yes to "²", which int() refuses.
    if not re.fullmatch("[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise validation_failed(
            {"limit": FieldError("invalid_limit", f"limit must be a whole number 1-{MAX_LIMIT}.")}
        )
    return int(raw)


def _cursor(request: web.Request, valid: Callable[[str], bool], what: str) -> str | None:
    """The page cursor as given, if it is one this API hands out; anything else is the
    client's mistake (422 naming the field), never an error from Redis (503)."""
    raw = request.query.get("cursor") or None  # empty: the first page, as when absent
    if raw is None:
        return None
    if not valid(raw):
        raise validation_failed(
            {"cursor": FieldError("invalid_cursor", f"cursor must be {what}, unchanged.")}
        )
    return raw


def score_cursor(raw: str) -> bool:
    """A held/spam folder score as a float's repr: finite, ASCII digits only."""
    return bool(SCORE_CURSOR.fullmatch(raw)) and math.isfinite(float(raw))


def entry_cursor(raw: str) -> bool:
    """An audit log entry id, "<ms>-<seq>" (or "<ms>" as Redis accepts), within 64 bits."""
    return bool(ENTRY_CURSOR.fullmatch(raw)) and all(n < 2**64 for n in _entry_id(raw))


def _entry_id(cursor: str) -> tuple[int, ...]:
    return tuple(int(part) for part in cursor.split("-"))
