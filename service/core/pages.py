"""Pages of a public thread: the sorts, the signed cursors and the size budget. Pure.

A page lists top-level comments (or one comment's replies), each with its first replies. A
cursor names the last comment a page showed (its score and id in the sorted set), so the
next page starts right after it whatever arrived meanwhile: no duplicates, no gaps. Cursors
are signed (Purpose.CURSOR) and bound to their article; they do not expire, because a reader
may keep a tab open for days.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.core import keys
from service.core.signing import BadToken, Purpose, Signer

SORTS = ("oldest", "newest", "top")
# Sorts that read their index from the highest score down.
DESCENDING = frozenset({"newest", "top"})
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
# The first replies a page shows under each comment; the rest are behind its replies cursor.
REPLY_PREVIEW = 3
# A page's size, whatever its comments: a single comment of the longest text (10,000
# characters of 4-byte UTF-8) is about 41 KB, so even a page of one such comment fits.
PAGE_BYTES = 50 * 1024
# The page's own fields around its comments: count, next_cursor (about 170 bytes), keys.
ENVELOPE = 400


class BadCursor(ValueError):
    """Not a cursor this service issued for this article."""


@dataclass(frozen=True, slots=True)
class Cursor:
    parent: str  # "": top-level comments; else the comment whose replies these are
    sort: str
    score: float  # creation time of `after`
    after: str  # the last comment already shown; "": start from the first

    def issue(self, signer: Signer, article: str, now: float) -> str:
        fields = (self.parent, self.sort, repr(self.score), self.after)
        return signer.sign(Purpose.CURSOR, *fields, now=now, max_age_s=None, bind=article)


def read_cursor(signer: Signer, article: str, token: str, now: float) -> Cursor:
    """The cursor a token carries; BadCursor if it is forged, altered or for another article."""
    try:
        fields = signer.verify(Purpose.CURSOR, token, now, bind=article).fields
    except BadToken:
        raise BadCursor(token) from None
    if len(fields) != 4:
        raise BadCursor(token)
    parent, sort, raw_score, after = fields
    try:
        score = float(raw_score)
    except ValueError:
        raise BadCursor(token) from None
    valid = (
        sort in SORTS
        and math.isfinite(score)
        and (parent == "" or keys.is_comment_id(parent))
        and (after == "" or keys.is_comment_id(after))
    )
    if not valid:
        raise BadCursor(token)
    return Cursor(parent, sort, score, after)


def replies_from_start(parent: str) -> Cursor:
    return Cursor(parent, "oldest", 0.0, "")


def room_for_comments(article: str) -> int:
    """Bytes a page of the article's thread has for its comments."""
    return PAGE_BYTES - ENVELOPE - len(json.dumps(article, ensure_ascii=False).encode())


def fit(items: Sequence[tuple[int, Sequence[int]]], budget: int) -> list[int]:
    """Which comments of a page fit its budget: `items` are (size, sizes of first replies);
    the answer has one entry per comment kept (at least one), how many of its replies stay."""
    kept: list[int] = []
    total = 0
    for own, replies in items:
        if kept and total + own > budget:
            break
        total += own
        shown = 0
        for size in replies:
            if total + size > budget:
                break
            total += size
            shown += 1
        kept.append(shown)
    return kept
