"""Backups: `comments backup` and `comments restore` with real processes and real Redis servers.

A restore into a fresh redis-server holds every key the service keeps (threads, queues and
RQ's job data, reputation, trusted browsers, the learned model, the audit log) with the same
type, value and expiry; a backup taken while comments arrive is one moment (no comment without
its job, no job without its comment); damaged files and non-empty targets are refused.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from service.core import keys
from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer
from service.queueing.queues import queue
from service.store import backups, migrations, moderation
from tests.helpers import (
    ARTICLE,
    Client,
    approve,
    as_text,
    drain,
    forbidden,
    run_cli,
    shipped_model,
    stored_comments,
    submit,
    worker_env,
)
from workers import learning

METHODS = ["replica", "script"]
ADDRESSES = ["olga.backup@example.org", "ZOË@bücher.example", "pending.reader@example.net"]


@pytest.fixture
def fast_sync(rconn: redis.Redis) -> Iterator[None]:
    """The test's primary starts a replica's sync at once (Redis waits 5 s for more replicas
    by default: real, but slow for a test suite)."""
    before = str(rconn.config_get("repl-diskless-sync-delay")["repl-diskless-sync-delay"])
    rconn.config_set("repl-diskless-sync-delay", 0)
    yield
    rconn.config_set("repl-diskless-sync-delay", before)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh, empty redis-server to restore into."""
    server = RedisServer(tmp_path / "target").start()
    yield server
    server.stop()


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`comments <args>` as a real process; its result, whatever the exit code."""
    return subprocess.run(
        [sys.executable, "-m", "service.entry.cli", *args],
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def contents(conn: redis.Redis) -> dict[bytes, tuple[str, Any, int]]:
    """Every key but those backups leave out: its type, its value read by type, and its
    absolute expiry in ms (-1: none)."""
    found: dict[bytes, tuple[str, Any, int]] = {}
    for key in conn.scan_iter(count=1000):
        if backups.skipped(key):
            continue
        kind = as_text(conn.type(key))
        value: Any
        if kind == "string":
            value = conn.get(key)
        elif kind == "hash":
            value = conn.hgetall(key)
        elif kind == "list":
            value = conn.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(conn.smembers(key))
        elif kind == "zset":
            value = conn.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            info = conn.xinfo_stream(key)
            value = (conn.xrange(key), info["last-generated-id"], conn.xinfo_groups(key))
        else:
            raise AssertionError(f"unexpected type {kind} of {key!r}")
        found[key] = (kind, value, int(conn.pexpiretime(key)))
    return found


def assert_identical(source: redis.Redis, restored: redis.Redis) -> None:
    before, after = contents(source), contents(restored)
    assert sorted(after) == sorted(before)
    for key, (kind, value, expires) in before.items():
        kind_after, value_after, expires_after = after[key]
        assert (kind_after, value_after) == (kind, value), key
        assert expires_after == expires, (key, expires, expires_after)


async def a_site_with_history(client: Client, rconn: redis.Redis, settings: Settings) -> None:
    """Threads, held and spam folders, reputation with trusted browsers, the audit log, the
    learned model, a privacy request, and comments still queued for the workers."""
    first = await submit(client, email=ADDRESSES[0], name="Olga", commenter_key="k" * 32)
    second = await submit(client, email=ADDRESSES[1], name="Zoë", comment="Links: buy now")
    await drain(settings)
    approve(rconn, settings, first)
    outcome = moderation.apply(rconn, settings, second, "spam", "tests")
    assert outcome.result == moderation.DONE
    reply = "Thanks, and the landers could share one relay satellite as well."
    await submit(
        client,
        email=ADDRESSES[0],
        name="Olga",
        parent_id=first,
        comment=reply,
        commenter_key="k" * 32,
    )
    await drain(settings)
    assert learning.learn(rconn, shipped_model(), learning.replay_examples()) >= 1
    resp = await client.post("/api/v1/privacy/requests", json={"email": ADDRESSES[0]})
    assert resp.status == 202
    for n in range(3):  # accepted, not decided yet: their jobs wait in the queue
        await submit(client, email=ADDRESSES[2], comment=f"Still waiting, number {n}.")
    for key in (keys.thread(ARTICLE), keys.audit_log(), keys.labels(), keys.model_weights()):
        assert rconn.exists(key), key
    assert rconn.exists(keys.trusted_browsers(stored_comments(rconn)[first]["email_hash"]))
    assert rconn.llen(queue(rconn, settings).key) == 3


@pytest.mark.parametrize("method", METHODS)
async def test_a_restore_holds_every_key_as_it_was(
    client: Client,
    rconn: redis.Redis,
    settings: Settings,
    target: RedisServer,
    tmp_path: Path,
    fast_sync: None,
    method: str,
) -> None:
    await a_site_with_history(client, rconn, settings)
    assert any(rconn.scan_iter(keys.rate("*", "*", "*"))), "no rate limit key to leave out"
    path = tmp_path / "site.cmbk"

    made = await asyncio.to_thread(cli, settings, "backup", str(path), "--method", method)
    assert made.returncode == 0, made.stderr
    assert f"by {method}" in made.stdout
    assert path.stat().st_mode & 0o077 == 0  # its owner's eyes only
    restored_settings = settings.with_overrides(redis_url=target.url)
    done = await asyncio.to_thread(cli, restored_settings, "restore", str(path))
    assert done.returncode == 0, done.stderr

    restored = redis.Redis.from_url(target.url)
    assert_identical(rconn, restored)
    assert not any(restored.scan_iter(keys.rate("*", "*", "*")))
    # The restored service carries on: queued comments are decided, the thread is served,
    # and the sealed addresses open with the same secret (a commenter's export finds them).
    await drain(restored_settings)
    assert restored.zcard(keys.pending()) == 0
    export = await asyncio.to_thread(
        run_cli, restored_settings, "privacy", "export", "--email", ADDRESSES[0]
    )
    assert len(json.loads(export)["comments"]) == 2
    restored.close()


async def write_while(client: Client, stop: asyncio.Event, accepted: list[str]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        body = {"article": f"busy-{n % 7}", "name": "N", "email": f"w{n}@example.com"}
        resp = await client.post("/api/v1/comments", json={**body, "comment": f"Comment {n}"})
        assert resp.status == 202, await resp.text()
        accepted.append((await resp.json())["id"])


def one_moment(conn: redis.Redis, settings: Settings) -> set[str]:
    """The comments stored; asserts each undecided one has its queued job and each job its
    comment, as the intake writes them (one transaction)."""
    comments = stored_comments(conn)
    pending = {as_text(c) for c in conn.zrange(keys.pending(), 0, -1)}
    queued = {as_text(j) for j in conn.lrange(queue(conn, settings).key, 0, -1)}
    jobs = {as_text(k).removeprefix("rq:job:") for k in conn.scan_iter("rq:job:process-*")}
    assert pending == {cid for cid, r in comments.items() if r["status"] == "pending"}
    assert queued == jobs == {keys.process_job(cid) for cid in pending}
    return set(comments)


@pytest.mark.parametrize("method", METHODS)
async def test_a_backup_under_load_is_one_moment(
    client: Client,
    rconn: redis.Redis,
    settings: Settings,
    target: RedisServer,
    tmp_path: Path,
    method: str,
) -> None:
    accepted: list[str] = []
    stop = asyncio.Event()
    writers = [asyncio.create_task(write_while(client, stop, accepted)) for _ in range(4)]
    await asyncio.sleep(0.3)
    before = len(accepted)
    path = tmp_path / "busy.cmbk"
    try:
        # The replica method here with Redis's default 5 s sync delay: thousands of writes
        # arrive while the snapshot is being taken.
        made = await asyncio.to_thread(cli, settings, "backup", str(path), "--method", method)
        assert made.returncode == 0, made.stderr
    finally:
        stop.set()
        await asyncio.gather(*writers)
    after = len(accepted)

    restored_settings = settings.with_overrides(redis_url=target.url)
    done = await asyncio.to_thread(cli, restored_settings, "restore", str(path))
    assert done.returncode == 0, done.stderr
    restored = redis.Redis.from_url(target.url)
    held = one_moment(restored, settings)
    assert before < len(held) < after, (before, len(held), after)
    # Everything answered 202 before the backup began is in it; nothing else is.
    assert set(accepted[:before]) <= held <= set(accepted)
    restored.close()


async def test_what_a_backup_holds_keeps_addresses_sealed(
    client: Client, rconn: redis.Redis, settings: Settings, tmp_path: Path, fast_sync: None
) -> None:
    """The file holds Redis's values as they are (addresses only sealed); scanned unpacked,
    with a scratch Redis that does not compress its payloads, so the scan sees all."""
    await a_site_with_history(client, rconn, settings)
    scratch = RedisServer(tmp_path / "scratch", extra_args=("--rdbcompression", "no")).start()
    try:
        for method, extra in (("script", []), ("replica", ["--scratch", scratch.url])):
            path = tmp_path / f"{method}.cmbk"
            made = await asyncio.to_thread(
                cli, settings, "backup", str(path), "--method", method, *extra
            )
            assert made.returncode == 0, made.stderr
            body = zlib.decompress(path.read_bytes().split(b"\n", 2)[2][: -backups.TRAILER_SIZE])
            assert b"Olga" in body  # the scan reads the values in clear
            for address in ADDRESSES:
                for form in forbidden(address):
                    assert form not in body, (method, form)
        # The scratch copy is emptied once the backup is written.
        assert redis.Redis.from_url(scratch.url).dbsize() == 0
    finally:
        scratch.stop()


async def test_a_restore_refuses_a_database_that_holds_anything(
    client: Client, settings: Settings, target: RedisServer, tmp_path: Path
) -> None:
    await submit(client)
    path = tmp_path / "one.cmbk"
    assert (
        await asyncio.to_thread(cli, settings, "backup", str(path), "--method", "script")
    ).returncode == 0
    occupied = redis.Redis.from_url(target.url)
    occupied.set("someone-else", "data")
    refused = await asyncio.to_thread(
        cli, settings.with_overrides(redis_url=target.url), "restore", str(path)
    )
    assert refused.returncode == 1
    assert "holds 1 keys" in refused.stderr
    assert "empty" in refused.stderr
    assert occupied.keys("*") == [b"someone-else"]


async def test_the_mark_of_a_process_started_too_early_is_no_obstacle(
    client: Client, rconn: redis.Redis, settings: Settings, target: RedisServer, tmp_path: Path
) -> None:
    """Processes restarted onto the new, empty Redis before the restore leave the data-format
    mark and RQ's bookkeeping there: no data, so no obstacle (the backup's mark is taken)."""
    await submit(client)
    path = tmp_path / "one.cmbk"
    made = await asyncio.to_thread(cli, settings, "backup", str(path), "--method", "script")
    assert made.returncode == 0, made.stderr
    restoring = settings.with_overrides(redis_url=target.url)
    assert (await asyncio.to_thread(cli, restoring, "worker", "--burst")).returncode == 0
    restored = redis.Redis.from_url(target.url)
    assert keys.data_format().encode() in restored.keys("*")
    done = await asyncio.to_thread(cli, restoring, "restore", str(path))
    assert done.returncode == 0, done.stderr
    assert stored_comments(restored) == stored_comments(rconn)


async def test_scheduled_backups_are_named_by_time_and_the_newest_kept(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    await submit(client)
    for old in ("site-20240101T031700Z.cmbk", "site-20250101T031700Z.cmbk"):
        (tmp_path / old).write_bytes(b"an older backup")
    (tmp_path / "unrelated.cmbk").write_bytes(b"not one of these")
    pattern = str(tmp_path / "site-{time}.cmbk")
    made = await asyncio.to_thread(
        cli, settings, "backup", pattern, "--method", "script", "--keep", "2"
    )
    assert made.returncode == 0, made.stderr
    names = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.iterdir()))
    assert names[0] == "site-20250101T031700Z.cmbk"
    assert names[1].startswith("site-20")
    assert names[1] > names[0]
    assert names[2:] == ["unrelated.cmbk"]
    assert "deleted the older backup" in made.stdout
    backups.read_header(tmp_path / names[1])  # the new one, whole


async def test_a_damaged_or_foreign_file_writes_nothing(
    client: Client, settings: Settings, target: RedisServer, tmp_path: Path
) -> None:
    for n in range(3):
        await submit(client, comment=f"Comment {n} for the damaged backup.")
    path = tmp_path / "good.cmbk"
    assert (
        await asyncio.to_thread(cli, settings, "backup", str(path), "--method", "script")
    ).returncode == 0
    good = path.read_bytes()
    middle = len(good) // 2
    cases = {
        "flipped": good[:middle] + bytes([good[middle] ^ 1]) + good[middle + 1 :],
        "truncated": good[: len(good) - 100],
        "newer": good.replace(b"COMMENTS-BACKUP 1", b"COMMENTS-BACKUP 9", 1),
        "foreign": b"REDIS0011" + good[9:],
    }
    restoring = settings.with_overrides(redis_url=target.url)
    for name, data in cases.items():
        bad = tmp_path / f"{name}.cmbk"
        bad.write_bytes(data)
        refused = await asyncio.to_thread(cli, restoring, "restore", str(bad))
        assert refused.returncode == 1, name
        assert "restore refused" in refused.stderr, name
        assert redis.Redis.from_url(target.url).dbsize() == 0, name


async def test_a_backup_of_newer_data_is_not_restored(
    rconn: redis.Redis, settings: Settings, target: RedisServer, tmp_path: Path
) -> None:
    rconn.set(keys.data_format(), migrations.CURRENT + 1)
    rconn.set(keys.held(), "x")
    path = tmp_path / "newer.cmbk"
    assert (
        await asyncio.to_thread(cli, settings, "backup", str(path), "--method", "script")
    ).returncode == 0
    refused = await asyncio.to_thread(
        cli, settings.with_overrides(redis_url=target.url), "restore", str(path)
    )
    assert refused.returncode == migrations.DataFormatError.TOO_NEW
    assert "newer release" in refused.stderr
    assert redis.Redis.from_url(target.url).dbsize() == 0


def test_the_replica_method_never_touches_the_primary_as_its_scratch(
    rconn: redis.Redis, settings: Settings, redis_server: RedisServer, tmp_path: Path
) -> None:
    rconn.set("kept", "1")
    refused = cli(settings, "backup", str(tmp_path / "x.cmbk"), "--scratch", redis_server.url)
    assert refused.returncode == 1
    assert "primary itself" in refused.stderr
    assert rconn.info("replication")["role"] == "master"
    assert rconn.get("kept") == b"1"
    assert not list(tmp_path.iterdir())  # no file, not even a partial one


def test_a_primary_that_refuses_replicas_is_reported(settings: Settings, tmp_path: Path) -> None:
    """Managed Redis often refuses SYNC; here a primary with SYNC and PSYNC renamed away, as
    some providers do. The message says what to do instead, and no file is left behind."""
    renamed = ("--rename-command", "SYNC", "", "--rename-command", "PSYNC", "")
    locked = RedisServer(tmp_path / "locked", extra_args=renamed).start()
    try:
        result = cli(
            settings.with_overrides(redis_url=locked.url),
            "backup",
            str(tmp_path / "y.cmbk"),
            "--start-timeout",
            "2",
        )
    finally:
        locked.stop()
    assert result.returncode == 1
    assert "could not start replicating" in result.stderr
    assert "--method script" in result.stderr
    assert not list(tmp_path.glob("*.cmbk*"))
