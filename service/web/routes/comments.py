"""HTTP handlers: parse, call pure code, store, answer. No business rules live here."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping

import orjson
import redis.asyncio as aioredis
from aiohttp import hdrs, web
from redis.exceptions import RedisError

from service.core import form_token as tokens
from service.core import keys, pages, pow
from service.core.records import RequestMeta, new_record
from service.core.settings import Settings
from service.core.statuses import AS_SEEN_BY_AUTHOR, Status
from service.core.validation import (
    MAX_ARTICLE,
    MAX_EMAIL,
    MAX_NAME,
    MAX_WEBSITE,
    FieldError,
    Submission,
    validate_submission,
)
from service.store import live
from service.store import pages as page_store
from service.store.intake import BANNED, CLOSED, RateLimited, Refused
from service.store.threads import RenderedThread, view_etag
from service.web import nojs
from service.web.appkeys import BANS, REDIS, SETTINGS, SIGNER, THREADS, VAULT, WRITER
from service.web.bodies import FORM, read_fields
from service.web.clients import client_address
from service.web.errors import ApiError, storage_unavailable, validation_failed
from service.web.routes import own_comments

MAX_IDEMPOTENCY_KEY = 255
MAX_COUNTS = 100
MAX_STATUS_IDS = 50
# Asking for any of these gets a page of the thread instead of all of it.
PAGE_PARAMS = frozenset({"limit", "cursor", "sort"})
PENDING_FRAGMENT = "#comment-pending"
# ASCII digits only: str.isdigit() also says yes to "²", which int() refuses.
_LIMIT = re.compile("[0-9]{1,3}")
# Most reads ask for a first page with a limit spelled plainly: both looked up, not parsed.
_LIMITS = {str(n): n for n in range(1, pages.MAX_LIMIT + 1)}
_FIRST_PAGES = {sort: pages.Cursor("", sort, 0.0, "") for sort in pages.SORTS}
routes = web.RouteTableDef()
# Why the intake refused a comment, in words for the reader; a banned commenter's are neutral
# (nothing of moderators or of why).
REFUSALS = {
    BANNED: ("commenter_banned", "Your comment cannot be accepted on this site."),
    CLOSED: ("comments_closed", "Comments on this article are closed."),
}
RATE_SCOPES = {
    "ip": "from this address",
    "email": "from this commenter",
    "article": "on this article",
    "site": "on this site",
}


@routes.post("/api/v1/comments")
async def post_comment(request: web.Request) -> web.Response:
    is_form = request.content_type == FORM
    data: Mapping[str, object] = {}
    try:
        data = await read_fields(request)
        # Worked out before the comment is stored: nothing that can fail may run between
        # storing and answering, or a retry after the error would store it twice.
        back = nojs.return_url(request, data.get("article_url")) if is_form else None
        comment_id, created_at = await _accept(request, data)
    except (ApiError, RedisError) as exc:
        if not (is_form and nojs.wants_html(request)):
            raise
        # A reader's plain form post: an HTML page that keeps what they typed.
        err = exc if isinstance(exc, ApiError) else storage_unavailable()
        return nojs.error_page(
            request, err, data, nojs.return_url(request, data.get("article_url"))
        )
    if back is not None:
        return web.Response(status=303, headers={"Location": back + PENDING_FRAGMENT})
    # The author's key to edit or delete it for a while; never stored, never logged.
    app = request.app
    window = app[SETTINGS].edit_window_s
    token = own_comments.issue(app[SIGNER], comment_id, created_at, window)
    body = {"id": comment_id, "status": "pending", "edit_token": token, "edit_expires_in": window}
    # orjson: the json module builds an encoder per call, 3 % of a comment's instructions.
    return web.json_bytes_response(body, status=202, dumps=orjson.dumps)


async def _accept(request: web.Request, data: Mapping[str, object]) -> tuple[str, float]:
    """Validate and store one submission; its id and creation time, or the ApiError saying
    why not."""
    app = request.app  # a property: looked up once
    settings, vault = app[SETTINGS], app[VAULT]
    sub, errors = validate_submission(data, settings.max_comment_chars)
    if sub is None:
        raise validation_failed(errors)
    idem_key = _idempotency_key(request)
    if sub.parent_id is not None:
        await _check_parent(request, sub)

    # Bans by IP range or website domain are checked in memory (service/store/bans.py); a
    # banned commenter and a closed thread are refused by the intake script. Either way the
    # message is neutral: it says nothing of moderators or of why.
    ip = client_address(request)
    if settings.banned_comments == "refuse" and await app[BANS].match(ip, sub.website):
        raise ApiError(403, *REFUSALS[BANNED])
    now = time.time()
    if idem_key is None:
        comment_id = keys.new_comment_id(sub.article)
    else:
        # The same key from the same commenter on the same article names the same comment.
        scope = f"{sub.article}\x00{vault.email_hash(sub.email)}"
        comment_id = keys.new_comment_id(sub.article, vault.idempotency_suffix(scope, idem_key))
    token = tokens.check(app[SIGNER], sub.form_token, sub.article, now)
    meta = RequestMeta(
        ip=ip,
        user_agent=request.headers.get("User-Agent", ""),
        referrer=request.headers.get("Referer", ""),
        received_at=now,
        token=token,
        pow=_proof_of_work(settings, sub, now),
    )
    record = new_record(comment_id, sub, meta, vault)
    try:
        # The intake script refuses a banned commenter's comment and one on a closed thread
        # before anything is stored, in that order, then finds an earlier attempt's.
        earlier = await app[WRITER].store(comment_id, record, may_exist=idem_key is not None)
    except Refused as refused:
        raise ApiError(403, *REFUSALS[refused.reason]) from None
    except RateLimited as limited:
        raise ApiError(
            429,
            "rate_limited",
            f"Too many comments ({RATE_SCOPES[limited.scope]}); try again later.",
            headers={"Retry-After": str(limited.retry_after)},
        ) from None
    if earlier is None:
        return comment_id, now
    # A retry: an identical one just gets the first answer.
    if earlier.fingerprint and earlier.fingerprint != record["fingerprint"]:
        raise ApiError(
            422, "idempotency_key_reused", "This Idempotency-Key was used for other content."
        )
    return comment_id, float(earlier.created_at) if earlier.created_at else now


@routes.get("/api/v1/form-token")
async def form_token(request: web.Request) -> web.Response:
    """A signed token the widget puts in the form it renders; proves when the form was shown."""
    article = article_param(request)
    settings = request.app[SETTINGS]
    now = time.time()
    token = tokens.issue(request.app[SIGNER], article, now, settings.form_token_max_age_s)
    # The limits let the widget check fields exactly as validation here will.
    limits = {
        "comment": settings.max_comment_chars,
        "name": MAX_NAME,
        "email": MAX_EMAIL,
        "website": MAX_WEBSITE,
    }
    body: dict[str, object] = {
        "token": token,
        "expires_in": settings.form_token_max_age_s,
        "limits": limits,
    }
    if settings.pow_max_number > 0:
        # The proof of work the widget solves while the reader types. Issuing it derives one
        # key (hashlib releases the GIL): off the event loop.
        issuer = pow.for_secrets(settings.secret_key, settings.old_secret_keys)
        body["altcha"] = await asyncio.to_thread(
            issuer.issue,
            article,
            now,
            cost=settings.pow_cost,
            max_number=settings.pow_max_number,
            max_age_s=settings.pow_max_age_s,
        )
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def _proof_of_work(settings: Settings, sub: Submission, now: float) -> pow.PowCheck:
    """The verdict on the widget's proof of work; the worker spends a valid one."""
    if settings.pow_max_number <= 0:  # off: nothing was asked of the widget
        return pow.NOT_CLAIMED
    checker = pow.for_secrets(settings.secret_key, settings.old_secret_keys)
    return checker.check(sub.pow_payload, sub.pow_claimed, sub.article, now)


@routes.get("/api/v1/counts")
async def counts(request: web.Request) -> web.Response:
    """Approved comments per article, for "N comments" links on article lists."""
    articles = list(dict.fromkeys(request.query.getall("article", [])))
    if not articles:
        raise validation_failed({"article": FieldError("required", "article is required.")})
    if len(articles) > MAX_COUNTS or any(not 0 < len(a) <= MAX_ARTICLE for a in articles):
        message = f"Up to {MAX_COUNTS} articles of 1-{MAX_ARTICLE} characters."
        raise validation_failed({"article": FieldError("invalid", message)})
    async with request.app[REDIS].pipeline(transaction=False) as pipe:
        for article in articles:
            pipe.zcard(keys.thread(article))
        numbers = await pipe.execute()
    return web.json_response(
        {"counts": dict(zip(articles, numbers, strict=True))},
        headers={"Cache-Control": "public, max-age=30"},
    )


@routes.get("/api/v1/comment-status")
async def comment_status(request: web.Request) -> web.Response:
    """Whether the reader's own recent comments are still pending, published, or gone.

    The widget keeps its pending comments in the reader's browser and asks this to know when
    to stop showing them. Only ids (unguessable) are accepted, and the answer never says why a
    comment is gone (rejected, spam, erased and never existed look alike).
    """
    ids = list(dict.fromkeys(request.query.getall("id", [])))
    if not 0 < len(ids) <= MAX_STATUS_IDS or not all(keys.is_comment_id(i) for i in ids):
        message = f"1-{MAX_STATUS_IDS} comment ids."
        raise validation_failed({"id": FieldError("invalid", message)})
    async with request.app[REDIS].pipeline(transaction=False) as pipe:
        for comment_id in ids:
            pipe.hget(keys.comment(comment_id), "status")
        found = await pipe.execute()
    statuses = {i: AS_SEEN_BY_AUTHOR.get(s or "", "gone") for i, s in zip(ids, found, strict=True)}
    return web.json_response({"statuses": statuses}, headers={"Cache-Control": "no-store"})


@routes.get("/api/v1/comments")
async def get_comments(request: web.Request) -> web.Response:
    article = article_param(request)
    if PAGE_PARAMS.isdisjoint(request.query):
        # The whole thread, as before pages existed: what widgets pinned to an older
        # version (/embed.<hash>.js) still ask for.
        thread = await request.app[THREADS].get(request.app[REDIS], article)
    else:
        thread = await _page(request, article)
    # Decided per request from what the cache read beside the thread's version: a thread
    # closes by time too.
    if thread.state.closed_at(time.time()):
        body, etag = thread.as_closed()
    else:
        body, etag = thread.body, thread.etag
    headers = {hdrs.ETAG: etag, hdrs.CACHE_CONTROL: "no-cache"}
    if (match := request.headers.get(hdrs.IF_NONE_MATCH)) and etag in _etags(match):
        # Returned, not raised: an exception would unwind through every middleware.
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    await request.app[REDIS].ping()  # a RedisError becomes the standard 503
    return web.json_response({"status": "ready"})


async def _page(request: web.Request, article: str) -> RenderedThread:
    """One page of the thread: top-level comments, or a comment's replies (the cursor says)."""
    sort = request.query.get("sort", "oldest")
    if sort not in pages.SORTS:
        message = "sort must be " + " or ".join(pages.SORTS) + "."
        raise validation_failed({"sort": FieldError("invalid", message)})
    raw_limit = request.query.get("limit")
    if raw_limit is None:
        limit = pages.DEFAULT_LIMIT
    else:
        limit = _LIMITS.get(raw_limit) or _limit(raw_limit)
    token = request.query.get("cursor")
    signer = request.app[SIGNER]
    if token is None:
        cursor = _FIRST_PAGES[sort]
    else:
        try:
            cursor = pages.read_cursor(signer, article, token, time.time())
        except pages.BadCursor:
            message = "cursor must be a next_cursor or replies_cursor of this thread, unchanged."
            raise validation_failed({"cursor": FieldError("invalid_cursor", message)}) from None
    view = f"{cursor.parent}\x00{cursor.sort}\x00{cursor.score!r}\x00{cursor.after}\x00{limit}"

    async def render(redis: aioredis.Redis, article: str) -> RenderedThread:
        # The version and the live position first: the ETag and the live position may name
        # older data than served, never newer.
        async with redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.thread_version(article))
            live.queue_latest(pipe, article)
            raw_version, newest = await pipe.execute()
        version = int(raw_version or 0)
        page = await page_store.read_page(redis, article, cursor, limit)
        body = page_store.render(page, article, live.newest(newest), signer, time.time())
        return RenderedThread(version, view_etag(article, version, view), body)

    return await request.app[THREADS].get(request.app[REDIS], article, view, render)


def _limit(raw: str) -> int:
    """A limit not in its usual spelling ("07"), or the error saying what it must be."""
    if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= pages.MAX_LIMIT:
        message = f"limit must be a whole number 1-{pages.MAX_LIMIT}."
        raise validation_failed({"limit": FieldError("invalid_limit", message)})
    return int(raw)


def article_param(request: web.Request) -> str:
    article = request.query.get("article", "").strip()
    if not article or len(article) > MAX_ARTICLE:
        code = "required" if not article else "too_long"
        raise validation_failed(
            {"article": FieldError(code, f"article is required (1-{MAX_ARTICLE}).")}
        )
    return article


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
        raise ApiError(
            400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 printable ASCII."
        )
    return key


async def _check_parent(request: web.Request, sub: Submission) -> None:
    assert sub.parent_id is not None
    article, status = await request.app[REDIS].hmget(
        keys.comment(sub.parent_id), ["article", "status"]
    )
    if article != sub.article or status != Status.APPROVED:
        raise validation_failed(
            {"parent_id": FieldError("parent_not_found", "No such comment on this article.")}
        )


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
