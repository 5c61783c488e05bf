"""Upgrades: the stored data's format, checked by every process before it starts, and
`comments migrate` from what the previous release stored.

tests/fixtures/format0.json is what release 48f7443 (before formats) wrote with its own API
and worker (tests/fixtures/make_format0.py): comments with full page URLs, spent form tokens
under their old names, a used one-click link, and comments still queued for a worker.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from service.core import keys
from service.core.settings import Settings
from service.core.signing import Purpose
from service.store import migrations
from tests.helpers import as_text, stored_comments, worker_env

FIXTURE = Path(__file__).parent / "fixtures" / "format0.json"
FORMAT0_SECRET = "format0-secret-" + "s" * 40
OLD_PAGE = "https://news.example.org/2021/lunar-station?utm_source=newsletter"
PAGE = "https://news.example.org/2021/lunar-station"


def load_format0(conn: redis.Redis) -> list[dict[str, Any]]:
    """The previous release's data, key by key, with its expiries."""

    def raw(value: dict[str, str]) -> bytes:
        return base64.b64decode(value["base64"]) if "base64" in value else value["text"].encode()

    found: list[dict[str, Any]] = json.loads(FIXTURE.read_text())
    for item in found:
        key, value = item["key"], item["value"]
        if item["type"] == "string":
            conn.set(key, raw(value))
        elif item["type"] == "hash":
            conn.hset(key, mapping={raw(k): raw(v) for k, v in value})
        elif item["type"] == "list":
            conn.rpush(key, *[raw(v) for v in value])
        elif item["type"] == "set":
            conn.sadd(key, *[raw(v) for v in value])
        elif item["type"] == "zset":
            conn.zadd(key, {raw(m): score for m, score in value})
        elif item["type"] == "stream":
            for entry_id, fields in value:
                conn.xadd(key, {raw(k): raw(v) for k, v in fields}, id=entry_id)
        if item["ttl"] > 0:
            conn.expire(key, item["ttl"])
    return found


@pytest.fixture
def upgraded(settings: Settings) -> Settings:
    """This release's settings with the secret the previous release sealed the addresses with."""
    return settings.with_overrides(secret_key=FORMAT0_SECRET)


def comments(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.entry.cli", *args],
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_migrate_up_from_the_previous_release(rconn: redis.Redis, upgraded: Settings) -> None:
    old = load_format0(rconn)
    nonces = {k["key"].rsplit(":", 1)[1] for k in old if k["key"].startswith("cm:token:")}
    assert len(nonces) == 4
    assert {r["referrer"] for r in stored_comments(rconn).values()} == {
        f"{OLD_PAGE}&email=reader%40example.org#comments"
    }

    # Nothing of this release starts against it: the worker, and the API (exit code 3).
    for process in (["worker", "--burst"], ["api", "--port", "1"]):
        refused = comments(upgraded, *process)
        assert refused.returncode == migrations.DataFormatError.NEEDS_MIGRATION, refused.stderr
        assert "format 0" in refused.stderr
        assert "comments migrate" in refused.stderr

    migrated = comments(upgraded, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "comment page URLs: 6 changed" in migrated.stdout
    assert "spent form tokens: 4 changed" in migrated.stdout
    assert "used one-click link markers: 1 changed" in migrated.stdout
    assert "approved and rejected comments: 1 changed" in migrated.stdout
    assert rconn.get(keys.data_format()) == str(migrations.CURRENT).encode()

    records = stored_comments(rconn)
    assert {(r["referrer"], r["article_url"]) for r in records.values()} == {(PAGE, PAGE)}
    assert b"reader%40example.org" not in b"".join(rconn.dump(k) or b"" for k in rconn.scan_iter())
    assert not list(rconn.scan_iter(keys.legacy_form_token_used("*")))
    assert not list(rconn.scan_iter(keys.legacy_link_used("*")))
    for nonce in nonces:  # moved with their owner and their expiry
        moved = keys.token_used(Purpose.FORM, nonce)
        assert as_text(rconn.get(moved)) in records
        assert 0 < rconn.ttl(moved) <= 86400

    # This release's worker now starts and decides what the previous one left queued.
    worker = comments(upgraded, "worker", "--burst")
    assert worker.returncode == 0, worker.stderr
    assert rconn.zcard(keys.pending()) == 0
    assert all(r["status"] != "pending" for r in stored_comments(rconn).values())
    # Every approved comment is in the site-wide folder, those the migration found and those
    # decided since (the workspace's Approved queue).
    approved = {i for i, r in stored_comments(rconn).items() if r["status"] == "approved"}
    assert approved
    assert {as_text(i) for i in rconn.zrange(keys.approved_folder(), 0, -1)} == approved

    again = comments(upgraded, "migrate")  # idempotent: nothing left to do
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"the data is in format {migrations.CURRENT}"


def test_an_interrupted_migration_resumes_where_it_stopped(rconn: redis.Redis) -> None:
    load_format0(rconn)
    # As if a run had finished the first step (page URLs) and then died.
    rconn.set(keys.migration_cursor(1), "1:0")
    applied, folders = migrations.migrate(rconn, batch=2)
    assert folders.changed == {"approved and rejected comments": 1}
    assert applied.changed == {
        "comment page URLs": 0,
        "spent form tokens": 4,
        "used one-click link markers": 1,
    }
    assert not rconn.exists(keys.migration_cursor(1))
    assert migrations.stored_format(rconn) == migrations.CURRENT
    # After a rolling upgrade, everything again: here it finds the step the "crash" skipped.
    again, folders_again = migrations.migrate(rconn, again_from=0, batch=2)
    assert folders_again.changed == {"approved and rejected comments": 0}  # already listed
    assert again.changed["comment page URLs"] == 6
    assert all("?" not in r["referrer"] for r in stored_comments(rconn).values())


def test_migration_writes_never_undo_what_changed_meanwhile(rconn: redis.Redis) -> None:
    """Processes of the previous release keep running while `comments migrate` does (the
    rolling upgrade): a comment erased or changed between its read and its write stays as
    it is now, because the write is a compare-and-set."""
    load_format0(rconn)
    key = next(iter(rconn.scan_iter(keys.comment("*-*"))))
    old = as_text(rconn.hget(key, "referrer"))
    cas = rconn.register_script(migrations.COMPARE_AND_SET)
    rconn.hset(key, "referrer", "changed meanwhile")
    assert cas(keys=[key], args=["referrer", old, PAGE]) == 0
    assert rconn.hget(key, "referrer") == b"changed meanwhile"
    rconn.delete(key)  # erased meanwhile
    assert cas(keys=[key], args=["referrer", old, PAGE]) == 0
    assert not rconn.exists(key)  # not brought back as a record of one field
    assert migrations.MIGRATIONS[0].steps[0].fix(rconn, [as_text(key)]) == 0
    assert not rconn.exists(key)


def test_a_fresh_redis_is_marked_by_the_first_process(
    rconn: redis.Redis, settings: Settings
) -> None:
    assert rconn.dbsize() == 0
    started = comments(settings, "worker", "--burst")
    assert started.returncode == 0, started.stderr
    assert migrations.stored_format(rconn) == migrations.CURRENT
    # And then it is simply readable, by anyone.
    assert migrations.ensure_readable(rconn) == migrations.CURRENT


@pytest.mark.parametrize(
    ("stored", "code", "says"),
    [
        (str(migrations.CURRENT + 1), migrations.DataFormatError.TOO_NEW, "newer release"),
        ("0", migrations.DataFormatError.NEEDS_MIGRATION, "comments migrate"),
    ],
)
def test_processes_refuse_data_they_cannot_read(
    rconn: redis.Redis, settings: Settings, stored: str, code: int, says: str
) -> None:
    rconn.set(keys.data_format(), stored)
    rconn.hset(keys.comment("0123456789abcdef-0123456789abcdef"), "status", "pending")
    for process in (["api", "--port", "1"], ["worker", "--burst"]):
        refused = comments(settings, *process)
        assert refused.returncode == code, refused.stderr
        assert says in refused.stderr
        assert "Traceback" not in refused.stderr
    if code == migrations.DataFormatError.TOO_NEW:
        # Nor does this release "migrate" data it does not know back into its own format.
        migrate = comments(settings, "migrate")
        assert migrate.returncode == code
        assert rconn.get(keys.data_format()) == stored.encode()
    with pytest.raises(migrations.DataFormatError) as refused_here:
        migrations.ensure_readable(rconn)
    assert refused_here.value.code == code
