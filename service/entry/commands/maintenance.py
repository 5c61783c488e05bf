"""Keeping the data: backups, restores, and upgrades of its format (`comments migrate`)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import redis

from service.core.settings import Settings
from service.entry.commands import Command, connect

# Exit code of a backup or restore that could not be made (the message says why).
FAILED = 1


def _backup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", help="where to write it; {time} in the name becomes the UTC time, 20261125T101116Z"
    )
    parser.add_argument(
        "--method",
        choices=("replica", "script"),
        default="replica",
        help="replica: a scratch Redis copies the primary and is detached (the primary only "
        "forks); script: one atomic script on the primary (blocks it while it runs)",
    )
    parser.add_argument(
        "--scratch",
        metavar="URL",
        help="an empty Redis the replica method may overwrite (default: a redis-server it "
        "starts itself, found as `comments dev` finds one)",
    )
    parser.add_argument(
        "--script-max-keys",
        type=int,
        default=None,
        metavar="N",
        help="the script method refuses a Redis of more keys (default 100000: it blocks "
        "Redis for about 25 µs a key)",
    )
    parser.add_argument(
        "--keep",
        type=int,
        metavar="N",
        help="with {time} in FILE: afterwards, delete all but the N newest backups so named",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="give up if replication has not begun (or stops receiving) for S seconds",
    )


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from service.store import backups

    if args.keep is not None and ("{time}" not in Path(args.file).name or args.keep < 1):
        print("comments: --keep N needs N >= 1 and {time} in the file name", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(args.file.replace("{time}", stamp))
    # Replies as long as the data is big: the script, a large key's DUMP.
    primary = connect(settings.with_overrides(redis_timeout_s=backups.SLOW_REPLY_S))
    try:
        if args.method == "script":
            limit = args.script_max_keys or backups.SCRIPT_MAX_KEYS
            summary = backups.back_up_atomic(primary, path, max_keys=limit)
        else:
            db = int(primary.connection_pool.connection_kwargs.get("db") or 0)
            with _scratch(args.scratch, db) as scratch:
                summary = backups.back_up_replica(
                    primary, scratch, path, start_s=args.start_timeout
                )
    except backups.BackupError as exc:
        print(f"comments: backup failed: {exc}", file=sys.stderr)
        return FAILED
    header = summary.header
    pruned = _prune(args.file, args.keep) if args.keep else []
    print(
        f"backed up {summary.keys} keys ({summary.skipped} left out: rate limits, locks, "
        f"worker registrations) as of {header['snapshot_at']} by {header['method']} "
        f"to {summary.path} ({summary.size / 1e6:.1f} MB, {summary.seconds:.1f} s)"
    )
    for old in pruned:
        print(f"deleted the older backup {old}")
    return 0


def _prune(pattern: str, keep: int) -> list[Path]:
    """Backups named by `pattern` beyond the `keep` newest ({time} sorts by age)."""
    template = Path(pattern)
    found = sorted(template.parent.glob(template.name.replace("{time}", "*")))
    for old in found[:-keep]:
        old.unlink()
    return found[:-keep]


@contextlib.contextmanager
def _scratch(url: str | None, db: int) -> Iterator[redis.Redis]:
    """The scratch Redis for the replica method: the one given, or a private redis-server
    without persistence in a temporary folder, stopped and deleted afterwards."""
    if url is not None:
        pool = redis.ConnectionPool.from_url(url)
        pool.connection_kwargs["db"] = db  # the primary's database number, whatever the URL says
        client = redis.Redis(connection_pool=pool)
        try:
            yield client
        finally:
            client.close()
        return
    from service.entry.embedded_redis import RedisNotFound, RedisServer
    from service.store.backups import BackupError

    with tempfile.TemporaryDirectory(prefix="comments-backup-") as folder:
        server = RedisServer(Path(folder), extra_args=("--appendonly", "no", "--save", ""))
        try:
            server.start()
        except RedisNotFound as exc:
            raise BackupError(f"{exc}; or give --scratch URL, or use --method script") from None
        client = redis.Redis(port=server.port, db=db)
        try:
            yield client
        finally:
            client.close()
            server.stop()


def _restore_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a file written by `comments backup`")


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from service.store import backups, migrations

    conn = connect(settings.with_overrides(redis_timeout_s=backups.SLOW_REPLY_S))
    try:
        done = backups.restore(Path(args.file), conn)
    except backups.BackupError as exc:
        print(f"comments: restore refused: {exc}", file=sys.stderr)
        return FAILED
    except migrations.DataFormatError as exc:
        print(f"comments: restore refused: {exc}", file=sys.stderr)
        return int(exc.code or FAILED)
    header = done.header
    print(
        f"restored {done.keys} keys ({done.expired} had expired since) from {args.file}, "
        f"a snapshot of {header['snapshot_at']}"
    )
    if (header.get("data_format") or 0) < migrations.CURRENT:
        print("the data predates this release: run `comments migrate` before starting it")
    return 0


def _migrate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--again-from",
        type=int,
        metavar="FORMAT",
        help="also run again the migrations after FORMAT (after a rolling upgrade from it: "
        "what processes of the previous release wrote while they still ran)",
    )


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from service.store import migrations

    conn = connect(settings)
    try:
        applied = migrations.migrate(conn, again_from=args.again_from)
    except migrations.DataFormatError as exc:
        print(f"comments: {exc}", file=sys.stderr)
        return int(exc.code or FAILED)
    for migration in applied:
        changes = ", ".join(f"{what}: {n} changed" for what, n in migration.changed.items())
        print(f"format {migration.number} ({migration.summary}): {changes}")
    print(f"the data is in format {migrations.stored_format(conn)}")
    return 0


COMMANDS = [
    Command(
        "backup", "write a consistent snapshot of everything stored", _backup, _backup_arguments
    ),
    Command("restore", "load a backup into an empty Redis", _restore, _restore_arguments),
    Command(
        "migrate",
        "bring the stored data to this release's format (before starting it)",
        _migrate,
        _migrate_arguments,
    ),
]
