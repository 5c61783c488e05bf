"""The stored data's format, checked before any process starts, and the migrations that move
it forward (`comments migrate`).

`keys.data_format()` holds an integer. A process of this release starts only against data in
format CURRENT: newer data was written by a newer release (it refuses, rather than misread
it), older data needs `comments migrate` first. An empty Redis is marked CURRENT by whichever
process starts first; data without a mark predates the mark (format 0).

A migration is a list of steps, each a SCAN over one key pattern and a small function applied
to every batch of matching keys. The functions are idempotent (a key already in the new form
is left alone) and safe beside running processes (compare-and-set, never read-then-write), and
the runner stores its SCAN cursor after every batch, so an interrupted `comments migrate` goes
on where it stopped. The mark moves to a migration's number only once all of its steps ran.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass

import redis

from service.core import keys
from service.core.records import as_text, page_url
from service.core.signing import Purpose

CURRENT = 2  # the format this release reads and writes
BATCH = 500
log = logging.getLogger(__name__)


class DataFormatError(SystemExit):
    """Redis holds data this release must not serve: the process exits with `code`.

    A SystemExit, so a refusing process ends with its own exit code and message (logged
    before it is raised), not a traceback, wherever the check runs."""

    NEEDS_MIGRATION = 3
    TOO_NEW = 4

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code)
        self.message = message

    def __str__(self) -> str:
        return self.message


def needs_migration(found: int) -> DataFormatError:
    return DataFormatError(
        DataFormatError.NEEDS_MIGRATION,
        f"Redis holds data in format {found}; this release reads format {CURRENT}. "
        "Run `comments migrate` with this release first, then start the API and workers.",
    )


def too_new(found: int) -> DataFormatError:
    return DataFormatError(
        DataFormatError.TOO_NEW,
        f"Redis holds data in format {found}, written by a newer release; this one reads "
        f"format {CURRENT} and would misread it. Run the newer release (going back needs a "
        "backup taken before the upgrade).",
    )


def stored_format(conn: redis.Redis) -> int | None:
    raw = conn.get(keys.data_format())
    return None if raw is None else int(as_text(raw))


def holds_data(conn: redis.Redis) -> bool:
    """Whether anything of this service is stored (the format mark and migration progress
    aside). Scans until it finds a key: instant on a used Redis, one pass on an empty one."""
    own, progress = keys.data_format(), keys.migration_cursor("*")
    for key in conn.scan_iter(f"{keys.PREFIX}:*", count=1000):
        name = as_text(key)
        if name != own and not fnmatch.fnmatchcase(name, progress):
            return True
    return False


def ensure_readable(conn: redis.Redis) -> int:
    """The stored format, if this release may serve it; an empty Redis is marked CURRENT.
    Raises DataFormatError otherwise."""
    found = stored_format(conn)
    if found is None:
        if holds_data(conn):
            raise needs_migration(0)
        conn.set(keys.data_format(), CURRENT, nx=True)
        found = stored_format(conn)  # whoever marked it first
        assert found is not None
    if found > CURRENT:
        raise too_new(found)
    if found < CURRENT:
        raise needs_migration(found)
    return found


def require_readable(conn: redis.Redis, process: str) -> None:
    """The start-up check of a long-running process: logs why it refuses, then exits."""
    try:
        ensure_readable(conn)
    except DataFormatError as refused:
        log.critical("%s refuses to start: %s", process, refused)
        raise


# --- the migrations ------------------------------------------------------------------------

Fix = Callable[[redis.Redis, list[str]], int]


@dataclass(frozen=True, slots=True)
class Step:
    what: str
    pattern: str  # SCAN MATCH pattern, built from keys.py
    fix: Fix  # applied to each batch of matching keys; returns how many it changed


@dataclass(frozen=True, slots=True)
class Migration:
    number: int  # the format the data is in once every step ran
    summary: str
    steps: tuple[Step, ...]


# Sets hash fields only while they still hold what was read: a comment edited, retained or
# erased meanwhile (by a process still running the previous release) is left as it now is.
COMPARE_AND_SET = """
local changed = 0
for i = 1, #ARGV, 3 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    changed = 1
  end
end
return changed
"""

# Moves a spent-token marker to its new name with its TTL; if the new name is already taken
# (spent again since), the older marker is only dropped.
MOVE_OR_DROP = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('RENAMENX', KEYS[1], KEYS[2]) == 0 then redis.call('DEL', KEYS[1]) end
return 1
"""

PAGE_FIELDS = {"referrer": 2048, "article_url": 2048}


def _page_urls(conn: redis.Redis, found: list[str]) -> int:
    """Format 0 stored the reader's full page URLs; only the page is kept now (newsletters
    and login flows put addresses and tokens in query strings)."""
    cas = conn.register_script(COMPARE_AND_SET)
    with conn.pipeline(transaction=False) as pipe:
        for key in found:
            pipe.hmget(key, list(PAGE_FIELDS))
        rows = pipe.execute()
    with conn.pipeline(transaction=False) as pipe:
        for key, row in zip(found, rows, strict=True):
            args: list[str] = []
            for (name, limit), raw in zip(PAGE_FIELDS.items(), row, strict=True):
                old = None if raw is None else as_text(raw)
                if old is not None and (new := page_url(old)[:limit]) != old:
                    args += [name, old, new]
            if args:
                cas(keys=[key], args=args, client=pipe)
        return sum(pipe.execute())


def _spent_form_tokens(conn: redis.Redis, found: list[str]) -> int:
    """Format 0 marked a spent form token as cm:token:<nonce>; now keys.token_used. Moved, so
    a token spent before the upgrade is still a replay after it."""
    move = conn.register_script(MOVE_OR_DROP)
    prefix = keys.legacy_form_token_used("")
    with conn.pipeline(transaction=False) as pipe:
        for key in found:
            nonce = key.removeprefix(prefix)
            move(keys=[key, keys.token_used(Purpose.FORM, nonce)], client=pipe)
        return sum(pipe.execute())


def _used_link_markers(conn: redis.Redis, found: list[str]) -> int:
    """Format 0's one-click links have another token format, which no longer verifies: the
    markers of their use guard nothing and are deleted instead of waiting out their TTL."""
    return int(conn.delete(*found)) if found else 0


# Lists a comment in its status's site-wide folder, as the status is when the script runs: a
# comment decided again meanwhile by a process of the previous release is listed where it
# now belongs (and `--again-from 1` lists what such processes decided after the scan).
INDEX_BY_STATUS = """
local id, status, created = unpack(redis.call('HMGET', KEYS[1], 'id', 'status', 'created_at'))
if not id then return 0 end
created = tonumber(created or '0') or 0
if status == 'approved' then
  return redis.call('ZADD', KEYS[2], 'NX', created, id)
elseif status == 'rejected' then
  return redis.call('ZADD', KEYS[3], 'NX', created, id)
end
return 0
"""


def _status_folders(conn: redis.Redis, found: list[str]) -> int:
    """Format 1 listed held and spam comments site-wide, approved ones only per article and
    rejected ones nowhere; the workspace's Approved and Rejected queues read folders."""
    index = conn.register_script(INDEX_BY_STATUS)
    folders = [keys.approved_folder(), keys.rejected_folder()]
    with conn.pipeline(transaction=False) as pipe:
        for key in found:
            index(keys=[key, *folders], client=pipe)
        return sum(int(n) for n in pipe.execute())


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "page URLs without query strings; spent form tokens under keys.token_used",
        (
            Step("comment page URLs", keys.comment("*-*"), _page_urls),
            Step("spent form tokens", keys.legacy_form_token_used("*"), _spent_form_tokens),
            Step("used one-click link markers", keys.legacy_link_used("*"), _used_link_markers),
        ),
    ),
    Migration(
        2,
        "approved and rejected comments listed in site-wide folders (the workspace's queues)",
        (Step("approved and rejected comments", keys.comment("*-*"), _status_folders),),
    ),
)
assert [m.number for m in MIGRATIONS] == list(range(1, CURRENT + 1)), "one per format"


@dataclass(frozen=True, slots=True)
class Applied:
    number: int
    summary: str
    changed: dict[str, int]


def migrate(
    conn: redis.Redis, *, again_from: int | None = None, batch: int = BATCH
) -> list[Applied]:
    """Bring the data to CURRENT; with `again_from`, also run the migrations after that
    format once more (after a rolling upgrade: what old processes wrote meanwhile)."""
    found = stored_format(conn)
    if found is None:
        found = 0 if holds_data(conn) else CURRENT
    if found > CURRENT:
        raise too_new(found)
    start = found if again_from is None else min(again_from, found)
    applied = []
    for migration in MIGRATIONS:
        if migration.number > start:
            steps = enumerate(migration.steps)
            changed = {step.what: _run(conn, migration, i, batch) for i, step in steps}
            _mark(conn, migration.number)
            applied.append(Applied(migration.number, migration.summary, changed))
    if not applied:
        _mark(conn, CURRENT)  # an empty Redis: nothing to migrate, only to mark
    return applied


def _run(conn: redis.Redis, migration: Migration, index: int, batch: int) -> int:
    """One step, resumed from its stored cursor; returns how many keys it changed."""
    step, progress = migration.steps[index], keys.migration_cursor(migration.number)
    saved = as_text(conn.get(progress) or b"")
    at_step, _, saved_cursor = saved.partition(":")
    if saved and int(at_step) > index:
        return 0  # done before an interruption
    cursor = int(saved_cursor) if saved and int(at_step) == index else 0
    changed = 0
    while True:
        cursor, found = conn.scan(cursor, match=step.pattern, count=batch)
        changed += step.fix(conn, [as_text(k) for k in found]) if found else 0
        conn.set(progress, f"{index + 1 if cursor == 0 else index}:{cursor}")
        if cursor == 0:
            log.info("migration %d: %s: %d changed", migration.number, step.what, changed)
            return changed


def _mark(conn: redis.Redis, number: int) -> None:
    """The data is in format `number` (never lowered by a repeated run)."""
    with conn.pipeline(transaction=True) as pipe:
        pipe.delete(keys.migration_cursor(number))
        pipe.set(keys.data_format(), max(number, stored_format(conn) or 0))
        pipe.execute()
