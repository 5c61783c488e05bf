"""Reading the moderators' queues: the moderator API and the workspace list the same way.

A queue is a status's folder (a sorted set by creation time, see transitions.FOLDERS), or all
of them merged by that time; filters apply after reading, so it reads in pages until a page
of matching items is full. The cursor is the last listed item's score, so a page follows on
exactly where the previous one stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from service.core import keys
from service.core.records import as_text
from service.core.statuses import Status, parse
from service.store.transitions import FOLDERS as BY_STATUS

# The queues by name: one status each, or all four.
STATUSES = {"held": Status.HELD, "spam": Status.SPAM, "approved": Status.APPROVED,
            "rejected": Status.REJECTED}  # fmt: skip
FOLDERS = (*STATUSES, "all")
LIST_FIELDS = (
    "id",
    "article",
    "title",
    "article_url",
    "name",
    "website",
    "comment",
    "status",
    "score",
    "reasons",
    "created_at",
    "email_hash",
    "original_comment",
    "parent_id",
)
READ_BATCH = 200


@dataclass(frozen=True, slots=True)
class Filters:
    article: str | None = None
    reason: str | None = None
    text: str | None = None  # case-insensitive, in the comment, the name or the website
    newest_first: bool = False

    def match(self, item: dict[str, object]) -> bool:
        if self.article and item["article"] != self.article:
            return False
        reasons = cast(list[dict[str, object]], item["reasons"])
        if self.reason and self.reason not in {r.get("code") for r in reasons}:
            return False
        if self.text:
            wanted = self.text.casefold()
            haystack = (item["text"], item["name"], item["website"] or "")
            return any(wanted in str(part).casefold() for part in haystack)
        return True


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, object]]
    next_cursor: str | None


async def read(
    redis: aioredis.Redis,
    folder: str,
    filters: Filters,
    limit: int,
    cursor: str | None = None,
    *,
    details: bool = False,
) -> Page:
    """One page of a folder; with `details` each item also has its parent and a fuller
    commenter summary (what the workspace shows)."""
    statuses = [STATUSES[folder]] if folder in STATUSES else list(STATUSES.values())
    folder_keys = [BY_STATUS[status]() for status in statuses]
    items: list[dict[str, object]] = []
    bound = None if cursor is None else f"({cursor}"
    while len(items) < limit:
        page = await _batch(redis, folder_keys, bound, filters.newest_first)
        if not page:
            break
        async with redis.pipeline(transaction=False) as pipe:
            for cid, _ in page:
                pipe.hmget(keys.comment(cid), LIST_FIELDS)
            rows = await pipe.execute()
        for (_, score), row in zip(page, rows, strict=True):
            bound = f"({score!r}"
            record = {k: v for k, v in zip(LIST_FIELDS, row, strict=True) if v is not None}
            # A comment listed in a folder it has just left (an erasure or a migration racing
            # a decision) is not shown there.
            if not record or parse(record.get("status")) not in statuses:
                continue
            item = await view(redis, record, details=details)
            if not filters.match(item):
                continue
            items.append(item)
            if len(items) == limit:
                break
    next_cursor = bound.lstrip("(") if bound is not None and len(items) == limit else None
    return Page(items, next_cursor)


async def _batch(
    redis: aioredis.Redis, folder_keys: list[str], bound: str | None, newest_first: bool
) -> list[tuple[str, float]]:
    """The next READ_BATCH ids past `bound`, in order, over every folder: each folder gives
    its next READ_BATCH, and the first READ_BATCH of them merged come before anything unread
    (each folder alone had READ_BATCH up to its last)."""
    found: list[tuple[str, float]] = []
    for key in folder_keys:
        if newest_first:
            got = await redis.zrevrangebyscore(
                key, bound or "+inf", "-inf", 0, READ_BATCH, withscores=True
            )
        else:
            got = await redis.zrangebyscore(
                key, bound or "-inf", "+inf", 0, READ_BATCH, withscores=True
            )
        found += cast(list[tuple[str, float]], got)
    found.sort(key=lambda pair: pair[1], reverse=newest_first)
    return found[:READ_BATCH]


async def counts(redis: aioredis.Redis) -> dict[str, int]:
    """How many comments each queue holds."""
    async with redis.pipeline(transaction=False) as pipe:
        for status in STATUSES.values():
            pipe.zcard(BY_STATUS[status]())
        sizes = [int(size) for size in await pipe.execute()]
    return {**dict(zip(STATUSES, sizes, strict=True)), "all": sum(sizes)}


async def view(
    redis: aioredis.Redis, record: dict[str, str], *, details: bool = False
) -> dict[str, object]:
    """A moderator's view: everything but the address and anything derived from it."""
    email_hash = record.pop("email_hash", "")
    reputation = await redis.hgetall(keys.email_reputation(email_hash))
    approved = int(reputation.get("approved") or 0)
    reasons = json.loads(record.get("reasons") or "[]")
    unproven = any(r.get("code") == "unproven_address" for r in reasons)
    # Known means trusted: an address used without proof is not its known commenter.
    known = approved > 0 and not unproven
    item: dict[str, object] = {
        "id": record["id"],
        "article": record["article"],
        "title": record.get("title") or None,
        "article_url": record.get("article_url") or None,
        "name": record["name"],
        "website": record.get("website") or None,
        "text": record["comment"],
        "original_text": record.get("original_comment"),
        "status": record.get("status"),
        "score": float(record["score"]) if record.get("score") else None,
        "reasons": reasons,
        "created_at": float(record.get("created_at") or 0),
        "commenter": {"known": known},
    }
    if details:
        comments = await redis.scard(keys.by_email(email_hash)) if email_hash else 0
        spam = int(reputation.get("spam") or 0)
        standing = "trusted" if known else ("returning" if comments > 1 else "new")
        item["commenter"] = {
            "known": known,
            "standing": standing,
            "comments": int(comments),
            "approved": approved,
            "spam": spam,
        }
        item["parent"] = await _parent(redis, record.get("parent_id"))
    return item


async def _parent(redis: aioredis.Redis, parent_id: str | None) -> dict[str, str] | None:
    if not parent_id or not keys.is_comment_id(parent_id):
        return None
    name, text = await redis.hmget(keys.comment(parent_id), ["name", "comment"])
    if name is None:
        return None
    return {"id": parent_id, "name": as_text(name), "text": as_text(text or "")}
