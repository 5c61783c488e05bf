"""One source thread made into the comments this service will store: pure, for every source.

Decides what is kept (approved, held and spam; deleted comments, pingbacks unless asked for,
and plugins' own comment types are counted and left out), cleans every field, names each
comment with an id derived from its source id (so importing the same file again finds the
same ids), and maps parents: a reply whose parent is not imported (deleted, missing, in
another thread, or a loop) goes to the top level and is counted as an orphan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from service.core import keys
from service.core.formats import cleaning
from service.core.formats.model import Kind, SourceComment
from service.core.statuses import Status

KEPT = frozenset({Status.APPROVED, Status.HELD, Status.SPAM})
NO_PARENT = frozenset({"", "0"})


@dataclass(frozen=True, slots=True)
class Options:
    max_comment_chars: int
    pingbacks: bool  # import pingbacks and trackbacks as comments
    ip_since: float  # IPs of comments older than this are not kept (retention)
    now: float  # the date of comments that have none


@dataclass(frozen=True, slots=True)
class Planned:
    """One comment as it will be stored."""

    comment_id: str
    parent_id: str
    name: str
    email: str  # normalised; "" when the source had no valid address
    website: str
    ip: str  # "" unless within the retention period
    text: str
    created_at: float
    status: Status
    source_id: str
    notify_replies: bool
    own_id: bool = False  # the file carried this service's id (its own export)


@dataclass(slots=True)
class PlannedThread:
    article: str
    title: str
    comments: list[Planned]
    # What was left out or repaired, by reason: "deleted", "pingbacks", "orphans", ...
    tally: Counter[str] = field(default_factory=Counter)
    published: float | None = None  # SourceThread.published


def plan_thread(
    article: str,
    title: str,
    sources: Iterable[SourceComment],
    options: Options,
    id_for: Callable[[str, str], str],
    published: float | None = None,
) -> PlannedThread:
    """`id_for(article, source_id)` names a comment (the HMAC of its source id)."""
    tally: Counter[str] = Counter()
    kept: list[SourceComment] = []
    texts: dict[str, str] = {}
    ids: dict[str, str] = {}
    for source in sources:
        text, reason = "", _left_out(source, options)
        if reason is None and source.source_id in ids:
            reason = "duplicates"
        if reason is None:
            text, shortened = cleaning.text(source.text, options.max_comment_chars)
            reason = None if text else "empty"
            tally["shortened"] += shortened
        if reason is not None:
            tally[reason] += 1
            continue
        kept.append(source)
        texts[source.source_id] = text
        ids[source.source_id] = _comment_id(article, source, id_for)
    parents = _parents(kept, tally)
    comments = [_planned(c, texts[c.source_id], ids, parents, options, tally) for c in kept]
    return PlannedThread(article, cleaning.title(title), comments, +tally, published)


def _left_out(source: SourceComment, options: Options) -> str | None:
    if source.status not in KEPT:
        return "deleted"
    if source.kind in (Kind.PINGBACK, Kind.TRACKBACK) and not options.pingbacks:
        return "pingbacks"
    if source.kind is Kind.OTHER:
        return "other types"
    return None


def _comment_id(article: str, source: SourceComment, id_for: Callable[[str, str], str]) -> str:
    own = source.comment_id
    if own and keys.is_comment_id(own) and own.startswith(keys.article_tag(article) + "-"):
        return own  # exported by this service: the same comment again
    return id_for(article, source.source_id)


def _parents(kept: list[SourceComment], tally: Counter[str]) -> dict[str, str]:
    """Each kept comment's parent among the kept ones (source ids); orphans are left out."""
    known = {c.source_id for c in kept}
    parents = {}
    for c in kept:
        parent = c.parent or ""
        if parent in NO_PARENT:
            continue
        if parent in known and parent != c.source_id:
            parents[c.source_id] = parent
        else:
            tally["orphans"] += 1
    # A chain of parents that loops (a broken export) would hide every comment in it:
    # the comment where the loop is found goes to the top level.
    for start in list(parents):
        seen = {start}
        node = parents.get(start)
        while node is not None:
            if node in seen:
                parents.pop(start, None)
                tally["orphans"] += 1
                break
            seen.add(node)
            node = parents.get(node)
    return parents


def _planned(
    source: SourceComment,
    text: str,
    ids: dict[str, str],
    parents: dict[str, str],
    options: Options,
    tally: Counter[str],
) -> Planned:
    email = cleaning.email(source.email)
    tally["addresses not valid"] += bool(source.email.strip()) and not email
    created = source.created_at
    if created is None:
        tally["undated"] += 1
        created = options.now
    parent = parents.get(source.source_id)
    return Planned(
        comment_id=ids[source.source_id],
        parent_id=ids[parent] if parent else "",
        name=cleaning.name(source.author),
        email=email,
        website=cleaning.website(source.website),
        ip=cleaning.ip(source.ip) if created >= options.ip_since else "",
        text=text,
        created_at=created,
        status=source.status,
        source_id=source.source_id,
        notify_replies=source.notify_replies and bool(email),
        own_id=ids[source.source_id] == source.comment_id,
    )
