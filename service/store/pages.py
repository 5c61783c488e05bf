"""Reading one page of a thread as range reads of its sorted sets, never the whole thread.

A page costs three pipelined round trips whatever the thread's size: the range of top-level
comments (or of one comment's replies), then their first replies and reply counts, then the
public fields of the comments shown.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from service.core import keys, markdown, pages
from service.core.pages import Cursor
from service.core.records import PUBLIC_FIELDS, as_text, public_view
from service.core.signing import Signer
from service.core.votes import wilson

# Beside its own fields a comment carries `,"replies":[…]`, a comma, and its replies cursor:
# signed (about 200 bytes, counted generously) or null.
CURSOR_ROOM = 280
NO_CURSOR = 48
# The public fields, the vote counts and whether the text was edited.
FIELDS = (*PUBLIC_FIELDS, "up", "down", "edited_at")
Ranked = list[tuple[str, float]]  # (comment id, creation time) in page order
# A comment's text and its HTML together, as JSON, stay within a page beside its other fields
# (name and website are at most 1.2 KB); a longer pair is sent with `"html": null` and
# readers see the text as plain paragraphs, so one comment still fits the 50 KB page.
HTML_ROOM = pages.PAGE_BYTES - 8 * 1024


@dataclass(frozen=True, slots=True)
class Page:
    count: int  # approved comments in the whole thread
    comments: list[dict[str, object]]
    next_cursor: Cursor | None


async def read_page(
    redis: aioredis.Redis, article: str, cursor: Cursor, limit: int, budget: int | None = None
) -> Page:
    """The page that starts after `cursor`: top-level comments, or one comment's replies."""
    await ensure_indexed(redis, article)
    if cursor.parent:
        index = keys.thread_replies(cursor.parent)
    elif cursor.sort == "top":
        index = keys.thread_top(article)
    else:
        index = keys.thread_roots(article)
    # Moderators' picks lead the first page of top-level comments, and are left out of the
    # ranges (read that much longer, so a page stays full and `more` stays true).
    picked = [] if cursor.parent else await _featured(redis, article, index)
    ids = {c for c, _ in picked}
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.thread(article))
        _after(pipe, index, cursor, limit + 1 + len(picked))
        if cursor.after:
            _ties(pipe, index, cursor)
        count, *found = await pipe.execute()
    ranked = [pair for pair in _merge(cursor, found) if pair[0] not in ids]
    shown, more = ranked[:limit], len(ranked) > limit
    range_last = shown[-1] if shown else None
    if picked and not cursor.after:
        shown = picked + shown

    # Each comment's first replies (oldest first) and how many it has in all.
    async with redis.pipeline(transaction=False) as pipe:
        for comment_id, _ in shown:
            pipe.zrange(
                keys.thread_replies(comment_id), 0, pages.REPLY_PREVIEW - 1, withscores=True
            )
            pipe.zcard(keys.thread_replies(comment_id))
        raw = await pipe.execute() if shown else []
    previews: list[Ranked] = [_ranked(r) for r in raw[0::2]]
    totals: list[int] = [int(n) for n in raw[1::2]]

    everyone = [c for c, _ in shown] + [c for p in previews for c, _ in p]
    async with redis.pipeline(transaction=False) as pipe:
        for comment_id in everyone:
            pipe.hmget(keys.comment(comment_id), FIELDS)
        for comment_id, _ in (r for p in previews for r in p):
            pipe.zcard(keys.thread_replies(comment_id))
        rows = await pipe.execute() if everyone else []
    views = {as_text(row[0]): _view(row) for row in rows[: len(everyone)] if row[0]}
    nested = dict(zip((c for p in previews for c, _ in p), rows[len(everyone) :], strict=True))

    def node(comment_id: str, replies: list[dict[str, object]], total: int) -> dict[str, object]:
        return {**views[comment_id], "replies": replies, "reply_count": int(total)}

    items: list[tuple[dict[str, object], float, list[dict[str, object]], Ranked]] = []
    for (comment_id, score), preview, total in zip(shown, previews, totals, strict=True):
        if comment_id not in views:  # erased since the range was read
            continue
        present = [(c, s) for c, s in preview if c in views]
        replies = [node(c, [], nested[c]) for c, _ in present]
        for reply, (c, _) in zip(replies, present, strict=True):
            reply["replies_cursor"] = pages.replies_from_start(c) if nested[c] else None
        items.append((node(comment_id, replies, total), score, replies, present))

    room = pages.room_for_comments(article) if budget is None else budget
    kept = pages.fit([(_size(i[0]), [_size(r) for r in i[2]]) for i in items], room)
    comments: list[dict[str, object]] = []
    for (item, _, replies, present), n in zip(items, kept, strict=False):
        item["replies"] = replies[:n]
        item["replies_cursor"] = _rest_of_replies(str(item["id"]), present[:n], item["reply_count"])
        comments.append(item)
    # The next page starts after the last comment shown, or after the range if all of it was
    # erased meanwhile.
    regular = [(str(i[0]["id"]), i[1]) for i in items[: len(kept)] if i[0]["id"] not in ids]
    last = regular[-1] if regular else None
    last = last or range_last
    next_cursor = None
    if (more or len(kept) < len(items)) and last is not None:
        next_cursor = Cursor(cursor.parent, cursor.sort, last[1], last[0])
    return Page(int(count), comments, next_cursor)


async def _featured(redis: aioredis.Redis, article: str, index: str) -> Ranked:
    """The featured comments still among the top-level ones, oldest first."""
    chosen = await redis.zrange(keys.featured(article), 0, -1, withscores=True)
    if not chosen:
        return []
    ranked = _ranked(chosen)
    present = await redis.zmscore(index, [c for c, _ in ranked])
    return [pair for pair, there in zip(ranked, present, strict=True) if there is not None]


def _rest_of_replies(parent: str, shown: Ranked, total: object) -> Cursor | None:
    if int(str(total)) <= len(shown):
        return None
    if not shown:
        return pages.replies_from_start(parent)
    return Cursor(parent, "oldest", shown[-1][1], shown[-1][0])


def render(page: Page, article: str, live: str, signer: Signer, now: float) -> bytes:
    """The page as the API sends it, its cursors signed for the article; `live` is the id
    of the article's newest event read before the page, where the reader's stream starts."""

    def sign(value: object) -> object:
        return value.issue(signer, article, now) if isinstance(value, Cursor) else value

    def out(c: dict[str, object]) -> dict[str, object]:
        replies = c["replies"]
        assert isinstance(replies, list)
        return {
            **c,
            "replies": [out(r) for r in replies],
            "replies_cursor": sign(c["replies_cursor"]),
        }

    body = {
        "article": article,
        "count": page.count,
        "live": live,
        "comments": [out(c) for c in page.comments],
        "next_cursor": sign(page.next_cursor),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _view(row: list[object]) -> dict[str, object]:
    values = dict(zip(FIELDS, map(_text, row), strict=True))
    votes = {"up": int(values["up"] or 0), "down": int(values["down"] or 0)}
    edited = bool(values["edited_at"])
    html = _html(values["comment"] or "")
    return {**public_view(values), "html": html, "votes": votes, "edited": edited}


def _html(text: str) -> str | None:
    """The text as safe HTML (rendered per process, cached), or None if the pair is too big."""
    html = markdown.render(text)
    if len(text) + len(html) < HTML_ROOM // 6:  # a character is at most 6 bytes of JSON
        return html
    fits = len(json.dumps([text, html], ensure_ascii=False).encode()) <= HTML_ROOM
    return html if fits else None


def _after(pipe: aioredis.client.Pipeline, index: str, cursor: Cursor, count: int) -> None:
    if not cursor.after:
        if cursor.sort in pages.DESCENDING:
            pipe.zrevrange(index, 0, count - 1, withscores=True)
        else:
            pipe.zrange(index, 0, count - 1, withscores=True)
    elif cursor.sort in pages.DESCENDING:
        pipe.zrevrangebyscore(index, f"({cursor.score!r}", "-inf", 0, count, withscores=True)
    else:
        pipe.zrangebyscore(index, f"({cursor.score!r}", "+inf", 0, count, withscores=True)


def _ties(pipe: aioredis.client.Pipeline, index: str, cursor: Cursor) -> None:
    """Comments created in the same microsecond as the cursor's: Redis orders them by id."""
    pipe.zrangebyscore(index, repr(cursor.score), repr(cursor.score), withscores=True)


def _merge(cursor: Cursor, found: Sequence[object]) -> Ranked:
    rest = _ranked(found[0])
    if not cursor.after:
        return rest
    ties = _ranked(found[1])
    if cursor.sort in pages.DESCENDING:
        return sorted((t for t in ties if t[0] < cursor.after), reverse=True) + rest
    return [t for t in ties if t[0] > cursor.after] + rest


def _ranked(raw: object) -> Ranked:
    assert isinstance(raw, list)
    return [(as_text(member), float(score)) for member, score in raw]


def _text(value: object) -> str | None:
    return None if value is None else as_text(value)


def _size(item: dict[str, object]) -> int:
    """A comment's bytes in the page, its replies aside; room for a signed cursor if it may
    get one."""
    own = {k: v for k, v in item.items() if k not in ("replies", "replies_cursor")}
    may_have_cursor = bool(item["reply_count"])
    size = len(json.dumps(own, ensure_ascii=False, separators=(",", ":")).encode())
    return size + (CURSOR_ROOM if may_have_cursor else NO_CURSOR)


async def ensure_indexed(redis: aioredis.Redis, article: str) -> None:
    """Build the thread's page indexes if a writer that bypasses transitions left them stale."""
    marker = keys.thread_indexed(article)
    if await redis.exists(marker):
        return
    thread = keys.thread(article)
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(thread, marker)
                if await pipe.exists(marker):
                    return
                members = _ranked(await pipe.zrange(thread, 0, -1, withscores=True))
                parents: list[object] = []
                if members:
                    async with redis.pipeline(transaction=False) as read:
                        for comment_id, _ in members:
                            read.hmget(keys.comment(comment_id), "parent_id", "up", "down")
                        parents = await read.execute()
                pipe.multi()  # type: ignore[no-untyped-call]
                _rebuild(pipe, article, members, [_facts(row) for row in parents])
                await pipe.execute()
                return
            except WatchError:
                continue


def _facts(row: object) -> tuple[str, float]:
    """A comment's parent and its score for `sort=top`, from HMGET parent_id up down."""
    assert isinstance(row, list)
    parent, up, down = (_text(v) for v in row)
    return parent or "", wilson(int(up or 0), int(down or 0))


def _rebuild(
    pipe: aioredis.client.Pipeline,
    article: str,
    members: Ranked,
    facts: list[tuple[str, float]],
) -> None:
    public = {c for c, _ in members}
    roots: dict[str, float] = {}
    top: dict[str, float] = {}
    replies: dict[str, dict[str, float]] = {}
    for (comment_id, score), (parent, rank) in zip(members, facts, strict=True):
        if parent:
            replies.setdefault(parent, {})[comment_id] = score
        if not parent or parent not in public:
            roots[comment_id] = score
            top[comment_id] = rank
    stale = {keys.thread_replies(c) for c in public | set(replies)}
    pipe.delete(keys.thread_roots(article), keys.thread_top(article), *stale)
    if roots:
        pipe.zadd(keys.thread_roots(article), roots)
        pipe.zadd(keys.thread_top(article), top)
    for parent, children in replies.items():
        pipe.zadd(keys.thread_replies(parent), children)
    pipe.set(keys.thread_indexed(article), "1")
