"""Backups: a consistent snapshot of everything the service stores, and its restore.

A backup holds every key of the service's Redis database as Redis serialises it (DUMP, which
RESTORE reads back exactly: every type and encoding, streams and their ids included) with its
absolute expiry time. Two ways to a consistent snapshot, where "consistent" means one moment
of the data: a comment is never there without its job, nor a job without its comment.

- replica (the default): an empty scratch Redis replicates the primary and is then detached
  (REPLICAOF NO ONE). The primary only forks, as for any replica; the copy is one moment of
  the primary (replication applies each MULTI/EXEC whole), and its keys are read at leisure.
  Needs a primary that accepts replicas (managed services often refuse SYNC) and a scratch
  Redis at least as new as the primary, with the dataset's size in memory.
- script: one Lua script DUMPs every key on the primary itself, atomically. Works wherever
  scripts run, but blocks the primary while it runs (tens of milliseconds per thousand keys,
  README "Backups") and holds the whole reply in its memory once more: for small datasets,
  or a managed Redis that refuses replicas.

Rather than Redis's RDB file (what BGSAVE or `redis-cli --rdb` give), whose loading needs
filesystem access to the target server (a managed Redis gives none), a restore RESTOREs key by
key over an ordinary connection, into any Redis at least as new as the one that dumped.

The file: a line `COMMENTS-BACKUP <version>`, a JSON header line, a zlib stream of records
(key, expiry, payload; then an end marker and a JSON footer with the count) and a final line
`SHA256 <hex>` over everything before it. It is written under a temporary name and renamed,
so a backup that fails leaves no truncated file; a restore checks the whole file first and
writes nothing from a damaged one. The file holds what Redis holds: addresses only sealed,
openable with COMMENTS_SECRET_KEY alone; keep the two apart.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import struct
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import redis
from rq import Queue
from rq.group import Group
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, SCHEDULER_LOCKING_KEY_TEMPLATE
from rq.worker import Worker
from rq.worker_registration import REDIS_WORKER_KEYS, WORKERS_BY_QUEUE_KEY

from service.core import keys
from service.core.records import as_text
from service.store import migrations

MAGIC = b"COMMENTS-BACKUP"
VERSION = 1
TRAILER = b"SHA256 "
TRAILER_SIZE = len(TRAILER) + 64 + 1
END = 0xFFFFFFFF  # a key length no key has: the records are over
BATCH = 1000
CHUNK = 1 << 20
# The script method blocks the primary about this long per key (README, "Backups"): past
# SCRIPT_MAX_KEYS that is seconds, beyond Redis's busy threshold (5 s) for other clients.
SCRIPT_US_PER_KEY = 25
SCRIPT_MAX_KEYS = 100_000
# Replies that take as long as the data is big (the script, a large key's DUMP).
SLOW_REPLY_S = 600.0

# Not backed up, and why: each is about processes or minutes that a restore does not bring back.
SKIPPED = {
    keys.rate("*", "*", "*"): "rate-limit windows (minutes): limits start afresh",
    keys.flood("*", "*"): "flood markers (seconds)",
    keys.sweep_lock(): "a lock of a process of the old deployment",
    keys.learn_lock(): "a lock of a process of the old deployment",
    Worker.redis_worker_namespace_prefix + "*": "RQ worker registrations: those processes are gone",
    REDIS_WORKER_KEYS: "RQ worker registrations",
    WORKERS_BY_QUEUE_KEY % "*": "RQ worker registrations",
    SCHEDULER_KEY_TEMPLATE % "*": "RQ scheduler registrations",
    SCHEDULER_LOCKING_KEY_TEMPLATE % "*": "RQ scheduler locks",
    Group.REDIS_GROUP_CLEANING_KEY: "RQ's lock on registry cleaning",
    # Only a name is asked for: the client never connects.
    Queue("*", connection=redis.Redis()).registry_cleaning_key: "RQ's locks on registry cleaning",
}

# Every key with its expiry, read in one atomic step (the `script` method). PEXPIRETIME (Redis
# 7+) is exact; before it, the TTL and the script's start time (frozen while a script runs).
DUMP_ALL = """
local now = redis.call('TIME')
local out = {now[1], now[2]}
for _, key in ipairs(redis.call('KEYS', '*')) do
  out[#out + 1] = key
  out[#out + 1] = redis.call(ARGV[1], key)
  out[#out + 1] = redis.call('DUMP', key)
end
return out
"""


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Entry:
    key: bytes
    expires_at_ms: int  # 0: no expiry
    payload: bytes


@dataclass(frozen=True, slots=True)
class Summary:
    path: Path
    keys: int
    skipped: int
    size: int
    seconds: float
    header: dict[str, Any]


def skipped(key: bytes) -> bool:
    name = key.decode("utf-8", "surrogateescape")
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in SKIPPED)


def version_of(conn: redis.Redis) -> tuple[int, ...]:
    raw = str(conn.info("server")["redis_version"])
    return tuple(int(part) for part in raw.split(".")[:2])


# --- taking the snapshot -------------------------------------------------------------------


def check_scratch(primary: redis.Redis, scratch: redis.Redis) -> None:
    """Refuse a scratch Redis that is the primary, holds anything, or cannot load the
    primary's snapshot, before anything is asked of either."""
    if scratch.info("server")["run_id"] == primary.info("server")["run_id"]:
        raise BackupError("The scratch Redis is the primary itself; give an empty, separate one.")
    if any(name.startswith("db") for name in scratch.info("keyspace")):
        raise BackupError("The scratch Redis holds data; it must be empty (it is overwritten).")
    if version_of(scratch) < version_of(primary):
        raise BackupError(
            f"The scratch Redis ({_dotted(version_of(scratch))}) is older than the primary "
            f"({_dotted(version_of(primary))}) and cannot load its snapshot; use a redis-server "
            "at least as new (COMMENTS_REDIS_SERVER) or --scratch."
        )


def replicate(primary: redis.Redis, scratch: redis.Redis, *, start_s: float = 30.0) -> float:
    """Make `scratch` (checked by check_scratch) a copy of `primary` as of one moment, then
    detach it; returns that moment (epoch seconds)."""
    host, port, username, password = _address(primary)
    if password:
        scratch.config_set("masterauth", password)
    if username:
        scratch.config_set("masteruser", username)
    scratch.replicaof(host, port)
    try:
        _wait_synced(scratch, f"{host}:{port}", start_s)
    finally:
        # Detached: nothing the primary does from now on reaches the copy. A transaction
        # half-received is discarded, never half-applied.
        scratch.replicaof("NO", "ONE")
    return time.time()


def _address(conn: redis.Redis) -> tuple[str, int, str | None, str | None]:
    """Where the primary is, as a replica would reach it (a Sentinel-managed client finds
    the current primary when it connects)."""
    pool = conn.connection_pool
    connection = pool.get_connection()
    try:
        host, port = getattr(connection, "host", None), getattr(connection, "port", None)
        username = getattr(connection, "username", None)
        password = getattr(connection, "password", None)
    finally:
        pool.release(connection)
    if not host or not port:
        raise BackupError("The primary is not reached over TCP; a replica cannot reach it.")
    return str(host), int(port), username, password


def _wait_synced(scratch: redis.Redis, primary: str, start_s: float) -> None:
    """Until the scratch holds the primary's snapshot and follows its stream. A sync that
    does not begin within `start_s`, or stops receiving for as long, is given up."""
    begun = time.monotonic()
    while True:
        info = scratch.info("replication")
        if info.get("master_link_status") == "up" and not info.get("master_sync_in_progress"):
            return
        if info.get("master_sync_in_progress"):
            # The primary sends a newline a second while it writes its snapshot: still alive.
            if int(info.get("master_sync_last_io_seconds_ago", 0)) > start_s:
                raise BackupError(f"The snapshot from {primary} stopped arriving.")
        elif time.monotonic() - begun > start_s:
            raise BackupError(
                f"The scratch Redis could not start replicating from {primary} within "
                f"{start_s:.0f} s: the primary may refuse replicas (SYNC/PSYNC; managed Redis "
                "often does), need other credentials, or be out of the scratch's reach. "
                "--method script needs none of that (it blocks the primary while it runs)."
            )
        time.sleep(0.05)


def frozen_entries(conn: redis.Redis, batch: int = BATCH) -> Iterator[Entry]:
    """Every key of a Redis nobody else writes to (a detached replica), batch by batch."""
    expiry = _expiry_command(conn)
    cursor = 0
    while True:
        cursor, raw = conn.scan(cursor, count=batch)
        found = [cast(bytes, key) for key in raw]
        with conn.pipeline(transaction=False) as pipe:
            pipe.time()
            read_expiry = pipe.pexpiretime if expiry == "PEXPIRETIME" else pipe.pttl
            for key in found:
                read_expiry(cast(str, key))  # redis-py takes bytes as well as str
                pipe.dump(key)
            now, *replies = pipe.execute()
        yield from _entries(found, replies, now, expiry)
        if cursor == 0:
            return


def atomic_entries(conn: redis.Redis) -> tuple[float, list[Entry]]:
    """Every key of a live Redis, read in one atomic script; and the moment it ran."""
    expiry = _expiry_command(conn)
    reply = cast(list[Any], conn.eval(DUMP_ALL, 0, expiry))
    now = (int(reply[0]), int(reply[1]))
    found: list[bytes] = reply[2::3]
    replies = [part for pair in zip(reply[3::3], reply[4::3], strict=True) for part in pair]
    return now[0] + now[1] / 1e6, list(_entries(found, replies, now, expiry))


def _expiry_command(conn: redis.Redis) -> str:
    """PEXPIRETIME, the absolute expiry (Redis 7+); before it, the TTL from `now`."""
    return "PEXPIRETIME" if version_of(conn) >= (7, 0) else "PTTL"


def _entries(
    found: list[bytes], replies: list[Any], now: tuple[int, int], expiry: str
) -> Iterator[Entry]:
    """Keys with their (expiry, DUMP) replies; a key gone meanwhile (expired) is left out."""
    now_ms = int(now[0]) * 1000 + int(now[1]) // 1000
    for key, when, payload in zip(found, replies[0::2], replies[1::2], strict=True):
        when = int(when)
        if payload is None or when == -2:
            continue
        if when < 0:
            yield Entry(key, 0, payload)
        else:
            yield Entry(key, when if expiry == "PEXPIRETIME" else now_ms + when, payload)


# --- the file --------------------------------------------------------------------------------


def header_for(
    conn: redis.Redis, method: str, source: redis.Redis, snapshot_at: float
) -> dict[str, Any]:
    """What a restore checks before it writes anything."""
    raw_format = conn.get(keys.data_format())
    return {
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "snapshot_at": datetime.fromtimestamp(snapshot_at, UTC).isoformat(timespec="milliseconds"),
        "method": method,
        "data_format": None if raw_format is None else int(as_text(raw_format)),
        "source_redis": str(source.info("server")["redis_version"]),
        # DUMP payloads restore into this version of Redis or newer.
        "dumped_by_redis": str(conn.info("server")["redis_version"]),
        "skipped": sorted(SKIPPED),
    }


def write(path: Path, header: dict[str, Any], entries: Iterable[Entry]) -> Summary:
    """The backup file, complete or not at all; keys in SKIPPED are left out."""
    started = time.monotonic()
    partial = path.with_name(path.name + ".partial")
    digest = hashlib.sha256()
    count = left_out = 0
    # The file holds sealed addresses and request metadata: its owner's eyes only.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:

            def emit(data: bytes) -> None:
                out.write(data)
                digest.update(data)

            emit(MAGIC + b" %d\n" % VERSION)
            emit(json.dumps(header, sort_keys=True).encode() + b"\n")
            packer = zlib.compressobj(3)
            for entry in entries:
                if skipped(entry.key):
                    left_out += 1
                    continue
                record = struct.pack(">I", len(entry.key)) + entry.key
                record += struct.pack(">qI", entry.expires_at_ms, len(entry.payload))
                emit(packer.compress(record + entry.payload))
                count += 1
            footer = json.dumps({"keys": count}).encode()
            emit(packer.compress(struct.pack(">II", END, len(footer)) + footer))
            emit(packer.flush())
            out.write(TRAILER + digest.hexdigest().encode() + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return Summary(path, count, left_out, path.stat().st_size, time.monotonic() - started, header)


def _fsync_dir(folder: Path) -> None:
    """The rename itself survives a crash only once the folder is synced."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_header(path: Path) -> dict[str, Any]:
    """The header of a backup whose every byte is as written; BackupError otherwise."""
    size = path.stat().st_size
    with path.open("rb") as src:
        magic = src.readline()
        name, _, version = magic.strip().partition(b" ")
        if name != MAGIC:
            raise BackupError(f"{path} is not a comments backup.")
        if not version.isdigit() or int(version) != VERSION:
            raise BackupError(
                f"{path} is a backup of version {version.decode(errors='replace')}; "
                f"this release reads version {VERSION}."
            )
        if size < TRAILER_SIZE + len(magic):
            raise BackupError(f"{path} is truncated.")
        digest = hashlib.sha256(magic)
        left = size - TRAILER_SIZE - len(magic)
        while left:
            chunk = src.read(min(CHUNK, left))
            if not chunk:
                raise BackupError(f"{path} is truncated.")
            digest.update(chunk)
            left -= len(chunk)
        if src.read() != TRAILER + digest.hexdigest().encode() + b"\n":
            raise BackupError(f"{path} is damaged or truncated: its checksum does not match.")
        src.seek(len(magic))
        header: dict[str, Any] = json.loads(src.readline())
    return header


def entries_of(path: Path) -> Iterator[Entry]:
    """The records of a backup already checked by read_header, streamed."""
    size = path.stat().st_size
    with path.open("rb") as src:
        src.readline()
        src.readline()
        body_left = size - TRAILER_SIZE - src.tell()
        unpacker = zlib.decompressobj()

        def chunks() -> Iterator[bytes]:
            nonlocal body_left
            while body_left > 0:
                raw = src.read(min(CHUNK, body_left))
                body_left -= len(raw)
                yield unpacker.decompress(raw)
            yield unpacker.flush()

        reader = _Reader(chunks())
        count = 0
        while True:
            (length,) = struct.unpack(">I", reader.take(4))
            if length == END:
                (footer_len,) = struct.unpack(">I", reader.take(4))
                footer = json.loads(reader.take(footer_len))
                if footer["keys"] != count:
                    raise BackupError(f"{path} lists {footer['keys']} keys but holds {count}.")
                return
            key = reader.take(length)
            expires_at_ms, payload_len = struct.unpack(">qI", reader.take(12))
            count += 1
            yield Entry(key, expires_at_ms, reader.take(payload_len))


class _Reader:
    """Exact-size reads from a stream of decompressed chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()

    def take(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise BackupError("The backup ends in the middle of a record.")
            self._buffer += chunk
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken


# --- backing up and restoring ----------------------------------------------------------------


def back_up_replica(
    primary: redis.Redis, scratch: redis.Redis, path: Path, *, start_s: float = 30.0
) -> Summary:
    """The `replica` method: `scratch` (empty, not the primary) becomes the frozen copy."""
    check_scratch(primary, scratch)
    try:
        snapshot_at = replicate(primary, scratch, start_s=start_s)
        header = header_for(scratch, "replica", primary, snapshot_at)
        return write(path, header, frozen_entries(scratch))
    finally:
        # Whole or partial, the copy holds what the primary holds: it does not linger (and
        # the scratch was checked above to be neither the primary nor holding anything).
        scratch.flushall()


def back_up_atomic(primary: redis.Redis, path: Path, *, max_keys: int = SCRIPT_MAX_KEYS) -> Summary:
    """The `script` method: one atomic read of the primary itself, which blocks it while it
    runs; refused beyond `max_keys` keys, where that would be an outage of seconds."""
    held = int(primary.dbsize())
    if held > max_keys:
        raise BackupError(
            f"Redis holds {held} keys; one script reading them all would block it for "
            f"seconds (about {SCRIPT_US_PER_KEY * held / 1e6:.0f} s). Use the replica method, "
            "or your provider's snapshots (raise --script-max-keys to accept the pause)."
        )
    snapshot_at, entries = atomic_entries(primary)
    header = header_for(primary, "script", primary, snapshot_at)
    return write(path, header, entries)


@dataclass(frozen=True, slots=True)
class Restored:
    keys: int
    expired: int
    header: dict[str, Any]


def restore(path: Path, conn: redis.Redis, batch: int = 500) -> Restored:
    """Load a backup into an empty Redis database, with each key's expiry as it was."""
    header = read_header(path)
    found = header.get("data_format")
    if found is not None and found > migrations.CURRENT:
        raise migrations.too_new(found)
    dumped_by = tuple(int(p) for p in str(header["dumped_by_redis"]).split(".")[:2])
    if version_of(conn) < dumped_by:
        raise BackupError(
            f"This backup was dumped by Redis {header['dumped_by_redis']}; this Redis "
            f"({_dotted(version_of(conn))}) is older and cannot read its payloads."
        )
    held = _holds_data(conn)
    if held:
        raise BackupError(
            f"This Redis database holds {held} keys; a backup is restored only into an empty "
            "one. Point COMMENTS_REDIS_URL at a new database, or empty this one yourself "
            "(FLUSHDB) if you mean to replace what it holds."
        )
    restored = expired = 0
    now_ms = _server_ms(conn)
    pending: list[Entry] = []
    for entry in entries_of(path):
        if entry.expires_at_ms and entry.expires_at_ms <= now_ms:
            expired += 1  # it would have expired by now anyway
            continue
        pending.append(entry)
        if len(pending) == batch:
            restored += _restore_batch(conn, pending)
            pending = []
    restored += _restore_batch(conn, pending)
    return Restored(restored, expired, header)


def _holds_data(conn: redis.Redis) -> int:
    """How many keys the database holds, or 0 if all it holds is what processes leave when
    they start on an empty Redis (the format mark, worker registrations, locks), which is
    then deleted: a pod restarted onto the new Redis before the restore is no obstacle."""
    mark, bookkeeping = keys.data_format().encode(), []
    for key in conn.scan_iter(count=1000):
        if key != mark and not skipped(key):
            return int(conn.dbsize())
        bookkeeping.append(key)
    if bookkeeping:
        conn.delete(*bookkeeping)
    return 0


def _restore_batch(conn: redis.Redis, entries: list[Entry]) -> int:
    if not entries:
        return 0
    with conn.pipeline(transaction=False) as pipe:
        for e in entries:
            pipe.restore(e.key, e.expires_at_ms, e.payload, absttl=bool(e.expires_at_ms))
        try:
            pipe.execute()
        except redis.ResponseError as exc:
            # BUSYKEY: something wrote here meanwhile; a bad payload: an older Redis.
            raise BackupError(
                f"Redis refused a key of the backup ({exc}); empty the database (FLUSHDB) "
                "before trying again."
            ) from None
    return len(entries)


def _server_ms(conn: redis.Redis) -> int:
    seconds, micros = conn.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)
