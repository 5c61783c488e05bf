"""Importing another system's comments: read the whole file, then write it thread by thread.

Pass one reads the export into a spool (service/core/formats/spool.py): a file that is
truncated, hostile or of another kind stops the import there, before anything is written.
Pass two plans each thread (service/core/formats/plan.py) and writes it in one WATCH/MULTI
transaction: a thread lands whole or not at all, and a failure (Redis gone) stops the import
with the threads before it written; running it again skips them and goes on.

Comment ids come from the HMAC of the source's ids, so importing a file again adds nothing,
and importing a newer export adds only what is new. An import writes what a decision would:
the record (the address sealed and keyed as on intake), the status's index (thread, held
list, spam folder), the commenter's index, approved comments counted in the commenter's
reputation (known, not trusted: trust needs a browser's or a mailbox's proof, and importing
gives neither), and the thread version that readers' caches follow. It scores nothing,
enqueues no job and notifies nobody.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import redis
from redis.exceptions import WatchError

from service.core import keys
from service.core.formats import NAMES, READERS
from service.core.formats.articles import (
    ArticleError,
    ArticleForm,
    NeedsSite,
    article_id,
    explicit,
)
from service.core.formats.model import FormatError, SourceComment, SourceThread
from service.core.formats.plan import KEPT, Options, Planned, PlannedThread, plan_thread
from service.core.formats.spool import Page, Spool
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.statuses import Status
from service.store import articles, transitions

log = logging.getLogger(__name__)
# Comments without an address still need a commenter key (moderation reads one): the keyed
# hash of "", which no submitted address can have. It is in no commenter's index, and no
# reputation is counted for it.
NO_ADDRESS = ""
PROGRESS_EVERY = 1000


class Progress(Protocol):
    """Where the import reports how far it is (a progress bar, or log lines)."""

    def start(self, phase: str, total: int | None) -> None: ...

    def advance(self, comments: int) -> None: ...


class ImportStopped(Exception):
    """The import stopped part way (Redis failed): what was written stays, a re-run goes on."""

    def __init__(self, summary: Summary, cause: Exception) -> None:
        super().__init__(str(cause))
        self.summary, self.cause = summary, cause


@dataclass(slots=True)
class Summary:
    source: str
    dry_run: bool
    threads: int = 0  # articles with comments to import (written, or there already)
    read: int = 0  # comments in the file
    added: Counter[str] = field(default_factory=Counter)  # by status
    present: int = 0  # already imported before
    skipped: Counter[str] = field(default_factory=Counter)  # by reason
    orphans: int = 0
    seconds: float = 0.0
    stopped_at: str | None = None  # the article being written when it stopped

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "threads": self.threads,
            "comments_read": self.read,
            "added": dict(self.added),
            "already_present": self.present,
            "skipped": dict(self.skipped),
            "orphans": self.orphans,
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True, slots=True)
class Request:
    source: str  # a key of READERS
    path: Path
    site: str | None = None  # base URL for page paths (Isso)
    dry_run: bool = False


def run(
    conn: redis.Redis | None, settings: Settings, request: Request, progress: Progress
) -> Summary:
    """Import one file; the summary of what happened. Raises FormatError (nothing written)
    or ImportStopped (the threads before it written). A dry run reads and plans only."""
    started = time.monotonic()
    now = time.time()
    summary = Summary(request.source, request.dry_run)
    form = ArticleForm(settings.import_scheme, settings.import_trailing_slash, request.site)
    vault = EmailVault(settings.secret_key)
    options = Options(
        max_comment_chars=settings.max_comment_chars,
        pingbacks=settings.import_pingbacks,
        ip_since=now - settings.retention_days * 86400,
        now=now,
    )
    with Spool() as spool:
        progress.start("reading", None)
        _spool(spool, READERS[request.source](request.path), form, progress)
        summary.read = spool.comments
        summary.skipped["no such thread"] += spool.without_thread()
        progress.start("writing" if not request.dry_run else "planning", spool.comments)
        articles: set[str] = set()

        def id_for(article: str, source_id: str) -> str:
            scope = f"import\x00{request.source}\x00{article}"
            return keys.new_comment_id(article, vault.idempotency_suffix(scope, source_id))

        for page, comments in spool.grouped():
            planned = _plan(page, comments, options, id_for, summary)
            if planned is not None and planned.comments:
                summary.stopped_at = planned.article
                articles.add(planned.article)
                try:
                    written = (
                        Counter(c.status.value for c in planned.comments)
                        if conn is None or request.dry_run
                        else write_thread(conn, vault, planned, request.source, now)
                    )
                except redis.RedisError as exc:
                    summary.threads = len(articles) - 1
                    summary.seconds = time.monotonic() - started
                    raise ImportStopped(summary, exc) from exc
                summary.present += written.pop("present", 0)
                summary.added.update(written)
            progress.advance(len(comments))
    summary.stopped_at = None
    summary.threads = len(articles)
    summary.skipped = +summary.skipped
    summary.seconds = time.monotonic() - started
    log.info("import finished: %s", json.dumps(summary.as_dict()))
    return summary


def _spool(
    spool: Spool,
    items: Iterable[SourceThread | SourceComment],
    form: ArticleForm,
    progress: Progress,
) -> None:
    for item in items:
        if isinstance(item, SourceComment):
            spool.add_comment(item)
            if spool.comments % PROGRESS_EVERY == 0:
                progress.advance(PROGRESS_EVERY)
            continue
        try:
            article = explicit(item.article) if item.article else article_id(item.url, form)
        except NeedsSite as exc:  # every page would fail alike: say so before writing
            raise FormatError(str(exc)) from None
        except ArticleError as exc:
            spool.add_thread(item, None, str(exc))
        else:
            spool.add_thread(item, article, None)
    progress.advance(spool.comments % PROGRESS_EVERY)


def _plan(
    page: Page,
    comments: list[SourceComment],
    options: Options,
    id_for: Callable[[str, str], str],
    summary: Summary,
) -> PlannedThread | None:
    if page.article is None:
        summary.skipped[f"on pages without a usable URL ({page.problem})"] += len(comments)
        return None
    if page.deleted:
        summary.skipped["deleted"] += len(comments)
        return None
    planned = plan_thread(page.article, page.title, comments, options, id_for, page.published)
    summary.orphans += planned.tally.pop("orphans", 0)
    summary.skipped.update(planned.tally)
    return planned


def write_thread(
    conn: redis.Redis, vault: EmailVault, thread: PlannedThread, source: str, now: float
) -> Counter[str]:
    """Write the thread's comments that are not there yet, in one transaction; counts of
    those written by status, and "present" for the others."""
    seen = keys.imported(thread.article)
    # Ids derived from source ids exist only if an import wrote them, which lists them in
    # `seen`; only ids carried by the file (this service's own export) may name a comment
    # that intake wrote, so only those are looked up one by one.
    own = [keys.comment(c.comment_id) for c in thread.comments if c.own_id]
    with conn.pipeline(transaction=True) as pipe:
        while True:
            try:
                # A concurrent import of the same thread changes `seen`: this one then
                # reads again and skips what the other wrote.
                pipe.watch(seen, *own)  # type: ignore[no-untyped-call]
                present = _present(conn, seen, thread.comments)
                fresh = [c for c in thread.comments if c.comment_id not in present]
                pipe.multi()
                _write(pipe, vault, thread, fresh, source, now)
                pipe.execute()
            except WatchError:
                continue
            counts = Counter(c.status.value for c in fresh)
            counts["present"] = len(present)
            return +counts


def _present(conn: redis.Redis, seen: str, comments: list[Planned]) -> set[str]:
    ids = [c.comment_id for c in comments]
    own = [c.comment_id for c in comments if c.own_id]
    with conn.pipeline(transaction=False) as check:
        check.smismember(seen, ids)
        for comment_id in own:
            check.exists(keys.comment(comment_id))
        listed, *stored = check.execute()
    found = {i for i, hit in zip(ids, listed, strict=True) if hit}
    return found | {i for i, hit in zip(own, stored, strict=True) if hit}


def _write(
    pipe: redis.client.Pipeline,
    vault: EmailVault,
    thread: PlannedThread,
    fresh: list[Planned],
    source: str,
    now: float,
) -> None:
    if not fresh:
        return
    anonymous = vault.email_hash(NO_ADDRESS)
    folders: dict[Status, dict[str, float]] = {status: {} for status in KEPT}
    retained: dict[str, float] = {}
    commenters: dict[str, list[str]] = defaultdict(list)
    known: Counter[str] = Counter()
    for c in fresh:
        email_hash = vault.email_hash(c.email) if c.email else anonymous
        record = imported_record(vault, thread, c, email_hash, source, now)
        pipe.hset(keys.comment(c.comment_id), mapping=record)  # type: ignore[arg-type]
        folders[c.status][c.comment_id] = c.created_at
        if c.ip:
            retained[c.comment_id] = c.created_at
        if c.email:
            commenters[email_hash].append(c.comment_id)
            # Known, so a returning reader who proves it is recognised (not trusted).
            known[email_hash] += c.status is Status.APPROVED
    for email_hash, ids in commenters.items():
        pipe.sadd(keys.by_email(email_hash), *ids)
        if known[email_hash]:
            pipe.hincrby(keys.email_reputation(email_hash), "approved", known[email_hash])
    for status, members in folders.items():
        if members:
            pipe.zadd(transitions.FOLDERS[status](), members)
            pipe.zadd(keys.article_folder(thread.article, status.value), members)
    if folders[Status.APPROVED]:  # and into the article's public thread
        pipe.zadd(keys.thread(thread.article), folders[Status.APPROVED])
    if retained:  # IPs go when the retention period ends, as intake's do
        pipe.zadd(keys.retention(), retained)
    pipe.sadd(keys.imported(thread.article), *(c.comment_id for c in fresh))
    # The article's age for COMMENTS_CLOSE_AFTER_DAYS, if nothing knew it: its first comment.
    articles.seen(pipe, thread.article, min(c.created_at for c in fresh))
    # The page's publication date, as the source has it, unless an admin gave one (or an
    # earlier import did); a date in the future (a scheduled post) is none yet.
    if thread.published is not None and 0 < thread.published <= now:
        articles.imported_published(pipe, thread.article, thread.published)
    if folders[Status.APPROVED]:
        transitions.refresh(pipe, thread.article)  # public thread, counts and caches
        # Written beside transitions: the next read builds the thread's page indexes whole.
        pipe.delete(keys.thread_indexed(thread.article))


def imported_record(
    vault: EmailVault,
    thread: PlannedThread,
    c: Planned,
    email_hash: str,
    source: str,
    now: float,
) -> dict[str, str]:
    """The Redis hash of an imported comment: intake's fields (the address only sealed),
    decided by the import, with where it came from."""
    record = {
        "id": c.comment_id,
        "article": thread.article,
        "name": c.name,
        "comment": c.text,
        "website": c.website,
        "parent_id": c.parent_id,
        "notify_replies": "1" if c.notify_replies else "0",
        "status": c.status.value,
        "created_at": f"{c.created_at:.6f}",
        "email_sealed": vault.seal(c.email, c.comment_id) if c.email else "",
        "email_hash": email_hash,
        "ip": c.ip,
        "title": thread.title,
        "article_url": thread.article if thread.article.startswith(("http://", "https://")) else "",
        "decided_at": f"{now:.6f}",
        "decided_by": f"import:{source}",
        "imported_from": source,
        "import_id": c.source_id[:200],
    }
    if c.status is not Status.APPROVED:  # what a moderator sees beside it
        said = "marked as spam" if c.status is Status.SPAM else "waiting for moderation"
        reason = {"code": "imported", "points": 0, "text": f"{said} in {NAMES[source]}"}
        record["reasons"] = json.dumps([reason])
    return {k: v for k, v in record.items() if v}
