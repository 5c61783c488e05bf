"""Reading the moderators' queues: the moderator API and the workspace list the same way.

A queue is a status's folder (a sorted set by creation time, see transitions.FOLDERS), or all
of them merged by that time; filters apply after reading, so it reads in pages until a page
of matching items is full. The cursor is the last listed item's score, so a page follows on
exactly where the previous one stopped.

A text filter can only skip, so its work is bounded, as large mail and moderation tools
bound a search: a page reads the comment, name and website of at most SCAN_MAX comments (a
batch's in one round trip, by a Lua script), and the rest only of those that match. A page
that stopped there before it was full says so (`bounded`), with a cursor to search further.

Two filters choose what is read instead of skipping what is not wanted: an article reads that
article's own folders (keys.article_folder, see store/article_folders.py), and a commenter
reads their comments (the set keys.by_email, which export and erasure keep). Either costs
reads in proportion to what it lists, not to the folder's size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from service.core import keys
from service.core.records import as_text
from service.core.statuses import Status, parse
from service.store.article_folders import ArticleFolders
from service.store.transitions import FOLDERS as BY_STATUS

# The queues by name: one status each, all four, or what readers reported (any status,
# listed by the time the comment crossed the reports threshold).
STATUSES = {"held": Status.HELD, "spam": Status.SPAM, "approved": Status.APPROVED,
            "rejected": Status.REJECTED}  # fmt: skip
REPORTED = "reported"
FOLDERS = (*STATUSES, "all", REPORTED)
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
    "reports",
    "featured",
)
READ_BATCH = 200
# A page filtered comment by comment (a text, a reason, an article before its own folders
# are listed) reads at most this many comments (about 10 ms of Redis time here), so a rare
# word or reason costs a bounded page, not a scan of the whole folder.
SCAN_MAX = 2000
TEXT_BATCH = 500
TEXT_FIELDS = ("comment", "name", "website")


@dataclass(frozen=True, slots=True)
class Filters:
    article: str | None = None
    reason: str | None = None
    text: str | None = None  # case-insensitive, in the comment, the name or the website
    newest_first: bool = False
    email_hash: str | None = None  # one commenter's (the caller resolves their opaque id)

    def match(self, record: dict[str, str]) -> bool:
        """Whether a stored comment passes, judged on the record alone (before anything else
        is read for it: a filter that skips most of a folder costs one read per comment)."""
        if self.article and record.get("article") != self.article:
            return False
        if self.reason:
            reasons = json.loads(record.get("reasons") or "[]")
            if self.reason not in {r.get("code") for r in reasons}:
                return False
        return self.text_match(record.get(f) for f in TEXT_FIELDS)

    def text_match(self, parts: Iterable[str | bytes | None]) -> bool:
        """Whether the text filter (if any) is in the comment, the name or the website."""
        if not self.text:
            return True
        wanted = self.text.casefold()
        return any(wanted in as_text(part or "").casefold() for part in parts)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, object]]
    next_cursor: str | None
    scanned: int = 0  # comments a text search read for this page
    # A text search stopped at SCAN_MAX before the page was full: next_cursor searches on.
    bounded: bool = False


async def read(
    redis: aioredis.Redis,
    folder: str,
    filters: Filters,
    limit: int,
    cursor: str | None = None,
    *,
    details: bool = False,
    name: Callable[[str], str] | None = None,
    by_article: ArticleFolders | None = None,
) -> Page:
    """One page of a folder; with `details` each item also has its parent and a fuller
    commenter summary (what the workspace shows). With `by_article`, an article filter reads
    that article's folders once they are complete."""
    statuses = [STATUSES[folder]] if folder in STATUSES else list(STATUSES.values())
    folder_keys = [BY_STATUS[status]() for status in statuses]
    per_article = False
    if folder == REPORTED:
        folder_keys = [keys.reported()]
    elif filters.article and not filters.email_hash and by_article and await by_article.ready():
        folder_keys = [keys.article_folder(filters.article, s.value) for s in statuses]
        per_article = True
    # Whether each comment read is judged by a filter: then the scan is bounded.
    judged = bool(filters.text or filters.reason or (filters.article and not per_article))
    theirs = None
    if filters.email_hash:
        theirs = await _commenter_scores(redis, filters.email_hash, folder)
    records: list[dict[str, str]] = []
    bound = None if cursor is None else f"({cursor}"
    scanned, bounded = 0, False
    while len(records) < limit:
        if judged and scanned >= SCAN_MAX:
            bounded = True
            break
        count = min(TEXT_BATCH, SCAN_MAX - scanned) if judged else READ_BATCH
        if theirs is None:
            page = await _batch(redis, folder_keys, bound, filters.newest_first, count)
        else:
            page = _past(theirs, bound, filters.newest_first, count)
        if not page:
            break
        last_batch = len(page) < count  # nothing lies past it
        scanned += len(page)
        # Past the whole batch unless the page fills up inside it (then: its last item).
        bound = f"({page[-1][1]!r}"
        if filters.text:
            page = await _text_matches(redis, page, filters)
        async with redis.pipeline(transaction=False) as pipe:
            for cid, _ in page:
                pipe.hmget(keys.comment(cid), LIST_FIELDS)
            rows = await pipe.execute()
        for (_, score), row in zip(page, rows, strict=True):
            record = {k: v for k, v in zip(LIST_FIELDS, row, strict=True) if v is not None}
            # A comment listed in a folder it has just left (an erasure or a migration racing
            # a decision) is not shown there.
            if not record or (folder != REPORTED and parse(record.get("status")) not in statuses):
                continue
            if not filters.match(record):
                continue
            records.append(record)
            if len(records) == limit:
                bound = f"({score!r}"
                break
        if last_batch:
            break
    more = len(records) == limit or bounded
    next_cursor = bound.lstrip("(") if bound is not None and more else None
    items = await views(redis, records, details=details, name=name)
    return Page(items, next_cursor, scanned if judged else 0, bounded)


# Some fields (ARGV) of each comment named in KEYS: a batch's text fields in one round trip,
# ~3x faster than as many pipelined HMGETs (fewer commands to pack and replies to parse).
# Matching stays in Python, where casefold() knows Unicode (Lua's lower() knows ASCII).
FIELDS_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('HMGET', key, unpack(ARGV))
end
return out
"""


async def _text_matches(
    redis: aioredis.Redis, page: list[tuple[str, float]], filters: Filters
) -> list[tuple[str, float]]:
    """The ids of `page` whose text matches, judged on the text fields alone (one trip)."""
    read_fields = redis.register_script(FIELDS_SCRIPT)
    rows = await read_fields(keys=[keys.comment(cid) for cid, _ in page], args=TEXT_FIELDS)
    return [pair for pair, row in zip(page, rows, strict=True) if filters.text_match(row)]


async def one(
    redis: aioredis.Redis, comment_id: str, name: Callable[[str], str] | None = None
) -> dict[str, object] | None:
    """One comment as the workspace shows it (any status), or None if there is none."""
    row = await redis.hmget(keys.comment(comment_id), LIST_FIELDS)
    record = {k: as_text(v) for k, v in zip(LIST_FIELDS, row, strict=True) if v is not None}
    if not record.get("id"):
        return None
    [item] = await views(redis, [record], details=True, name=name)
    return item


async def many(
    redis: aioredis.Redis, comment_ids: list[str], name: Callable[[str], str] | None = None
) -> list[dict[str, object]]:
    """These comments as the workspace shows them, in this order (gone ones left out)."""
    async with redis.pipeline(transaction=False) as pipe:
        for cid in comment_ids:
            pipe.hmget(keys.comment(cid), LIST_FIELDS)
        rows = await pipe.execute()
    records = [
        {k: as_text(v) for k, v in zip(LIST_FIELDS, row, strict=True) if v is not None}
        for row in rows
    ]
    return await views(redis, [r for r in records if r.get("id")], details=True, name=name)


async def _batch(
    redis: aioredis.Redis,
    folder_keys: list[str],
    bound: str | None,
    newest_first: bool,
    count: int,
) -> list[tuple[str, float]]:
    """The next `count` ids past `bound`, in order, over every folder: each folder gives
    its next `count`, and the first `count` of them merged come before anything unread
    (each folder alone had `count` up to its last)."""
    found: list[tuple[str, float]] = []
    for key in folder_keys:
        if newest_first:
            got = await redis.zrevrangebyscore(
                key, bound or "+inf", "-inf", 0, count, withscores=True
            )
        else:
            got = await redis.zrangebyscore(key, bound or "-inf", "+inf", 0, count, withscores=True)
        found += cast(list[tuple[str, float]], got)
    found.sort(key=lambda pair: pair[1], reverse=newest_first)
    return found[:count]


def _past(
    scored: list[tuple[str, float]], bound: str | None, newest_first: bool, count: int
) -> list[tuple[str, float]]:
    """What _batch gives, from a list already read (sorted oldest first)."""
    if bound is not None:
        limit = float(bound.lstrip("("))
        scored = [p for p in scored if (p[1] < limit if newest_first else p[1] > limit)]
    return (scored[::-1] if newest_first else scored)[:count]


async def _commenter_scores(
    redis: aioredis.Redis, email_hash: str, folder: str
) -> list[tuple[str, float]]:
    """A commenter's comments with their score in `folder`'s order (the time they were
    reported, in the Reported queue; else their creation time), oldest first. Their status is
    judged later, on the records read for the page, as for any folder."""
    ids = [as_text(v) for v in await redis.smembers(keys.by_email(email_hash))]
    if not ids:
        return []
    if folder == REPORTED:
        scores = await redis.zmscore(keys.reported(), ids)
    else:
        async with redis.pipeline(transaction=False) as pipe:
            for cid in ids:
                pipe.hget(keys.comment(cid), "created_at")
            scores = await pipe.execute()
    found = [(cid, float(s)) for cid, s in zip(ids, scores, strict=True) if s is not None]
    return sorted(found, key=lambda pair: pair[1])


async def counts(redis: aioredis.Redis) -> dict[str, int]:
    """How many comments each queue holds."""
    async with redis.pipeline(transaction=False) as pipe:
        for status in STATUSES.values():
            pipe.zcard(BY_STATUS[status]())
        pipe.zcard(keys.reported())
        *sizes, reported = [int(size) for size in await pipe.execute()]
    return {**dict(zip(STATUSES, sizes, strict=True)), "all": sum(sizes), REPORTED: reported}


async def views(
    redis: aioredis.Redis,
    records: list[dict[str, str]],
    *,
    details: bool = False,
    name: Callable[[str], str] | None = None,
) -> list[dict[str, object]]:
    """Moderators' views of stored comments, their commenters' standing read in one trip.
    With `name` (EmailVault.commenter_id), each commenter also gets their opaque id, which
    is remembered so their page can find them, and whether they are banned."""
    parents = [_parent_id(record) if details else None for record in records]
    reported = [int(record.get("reports") or 0) > 0 for record in records]
    async with redis.pipeline(transaction=False) as pipe:
        for record, parent_id, has_reports in zip(records, parents, reported, strict=True):
            email_hash = record.get("email_hash", "")
            pipe.hgetall(keys.email_reputation(email_hash))
            if details:
                pipe.scard(keys.by_email(email_hash))
            if name is not None:
                pipe.exists(keys.ban(email_hash))
                pipe.hset(keys.commenter_ids(), name(email_hash), email_hash)
            if parent_id:
                pipe.hmget(keys.comment(parent_id), PARENT_FIELDS)
            if has_reports:
                pipe.hvals(keys.reports(record["id"]))
        found = iter(await pipe.execute())
    out = []
    for record, parent_id, has_reports in zip(records, parents, reported, strict=True):
        reputation = next(found)
        comments = int(next(found)) if details else 0
        banned = False
        if name is not None:
            banned, _ = bool(next(found)), next(found)
        parent = next(found) if parent_id else None
        item = view(record, reputation, comments, parent, details=details)
        if name is not None and isinstance(item["commenter"], dict):
            item["commenter"]["id"] = name(record.get("email_hash", ""))
            if banned:
                item["commenter"]["standing"] = "banned"
        # What readers reported (reason, statement, when), oldest first; never who.
        found_reports = [json.loads(v) for v in next(found)] if has_reports else []
        item["reports"] = sorted(found_reports, key=lambda r: r.get("at", 0))
        out.append(item)
    return out


def _parent_id(record: dict[str, str]) -> str | None:
    parent_id = record.get("parent_id") or ""
    return parent_id if keys.is_comment_id(parent_id) else None


PARENT_FIELDS = ("id", "name", "comment")


def view(
    record: dict[str, str],
    reputation: dict[str, str],
    comments: int = 0,
    parent: list[str | None] | None = None,
    *,
    details: bool = False,
) -> dict[str, object]:
    """A moderator's view: everything but the address and anything derived from it."""
    record = {k: v for k, v in record.items() if k != "email_hash"}
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
        item["featured"] = record.get("featured") == "1"
        standing = "trusted" if known else ("returning" if comments > 1 else "new")
        item["commenter"] = {
            "known": known,
            "standing": standing,
            "comments": comments,
            "approved": approved,
            "spam": int(reputation.get("spam") or 0),
        }
        parent_id, name, text = parent or (None, None, None)
        item["parent"] = (
            {"id": as_text(parent_id), "name": as_text(name), "text": as_text(text or "")}
            if parent_id and name is not None
            else None
        )
    return item
