"""What tests do again and again: submit a comment, drain the queues, read what Redis holds.

Fixtures live in conftest.py; these are plain functions a test calls.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
import email.policy
import functools
import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient
from rq.serializers import JSONSerializer

from service.core import form_token as tokens
from service.core import keys
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.signing import Signer
from service.entry.embedded_redis import RedisServer
from service.queueing.queues import all_queues
from service.store import moderation, transitions
from workers.learning import ModelSource
from workers.runtime import EmbeddedWorker, Runtime
from workers.textmodel import TextModel

SECRET = "test-secret-" + "x" * 40
ALLOWED_ORIGIN = "https://news.example.org"
ARTICLE = "lunar-station-2021"
TEXT = (
    "Cooperation makes sense given how expensive landers are; a shared station at the south "
    "pole would let both programmes share data and spread the cost."
)

Client = TestClient[web.Request, web.Application]


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message it accepts."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


def make_settings(redis_url: str, **overrides: object) -> Settings:
    base = Settings(
        mode="dev",
        redis_url=redis_url,
        secret_key=SECRET,
        public_url="http://127.0.0.1:8080",
        allowed_origins=(ALLOWED_ORIGIN,),
        redis_timeout_s=1.0,
        # Tests check threads right after publishing; the micro-cache has a test of its own.
        thread_cache_s=0.0,
        # Tests send many comments from one address; the limits have tests of their own.
        limit_ip=(1_000_000, 60),
        limit_email=(1_000_000, 60),
        limit_article=(1_000_000, 60),
        limit_site=(1_000_000, 60),
    )
    return base.with_overrides(**overrides)


def form_token(article: str = ARTICLE, age_s: float = 90.0) -> str:
    """A token as the widget would have fetched it when the reader opened the form."""
    return tokens.issue(Signer(SECRET), article, time.time() - age_s, 24 * 3600)


async def submit(
    client: Client,
    extra: Mapping[str, Any] | None = None,
    /,
    *,
    headers: Mapping[str, str] | None = None,
    expect: int = 202,
    **fields: Any,
) -> str:
    """POST a comment (a valid, first-time one unless `fields` say otherwise); its id.

    `extra` takes fields whose names are not identifiers or come from constants
    (`{HONEYPOT_FIELD: "x"}`); `None` leaves a field out.
    """
    body: dict[str, Any] = {
        "article": ARTICLE,
        "name": "Maria",
        "email": "maria@example.com",
        "comment": TEXT,
    }
    body.update(extra or {}, **fields)
    body.setdefault("form_token", form_token(str(body["article"])))
    body = {name: value for name, value in body.items() if value is not None}
    resp = await client.post("/api/v1/comments", json=body, headers=headers)
    assert resp.status == expect, await resp.text()
    return str((await resp.json()).get("id")) if expect == 202 else ""


@functools.cache
def shipped_model() -> TextModel:
    return TextModel.load()


def drain_now(settings: Settings, **overrides: object) -> None:
    """Run every queued job, and every retry that is due, in this thread, as a burst worker
    does: the same job code with the test's settings."""
    settings = settings.with_overrides(**overrides)
    assert settings.redis_url
    conn = redis.Redis.from_url(settings.redis_url)
    runtime = Runtime(settings, ModelSource(shipped_model()), Signer(SECRET))
    worker = EmbeddedWorker(
        all_queues(conn, settings), connection=conn, serializer=JSONSerializer, runtime=runtime
    )
    try:
        worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
    finally:
        conn.close()


async def drain(settings: Settings, **overrides: object) -> None:
    """`drain_now` off the event loop, so in-process servers (a webhook receiver) answer."""
    await asyncio.to_thread(drain_now, settings, **overrides)


def approve(conn: redis.Redis, settings: Settings, comment_id: str) -> None:
    """Publish a comment the way a moderator does (thread, reputation, audit, reply notice)."""
    outcome = moderation.apply(conn, settings, comment_id, "approve", "tests")
    assert outcome.result == moderation.DONE, outcome


def email_hash(address: str) -> str:
    return EmailVault(SECRET).email_hash(address)


def worker_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings.to_env(), "COMMENTS_LOG_LEVEL": "DEBUG"}


def run_worker_burst(
    settings: Settings, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A real `comments worker --burst` process, for what needs one (forking, crashes,
    signals, the worker's own logging); returns once the queues are drained."""
    return subprocess.run(
        [sys.executable, "-m", "service.entry.cli", "worker", "--burst", *extra],
        env={**worker_env(settings), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def run_cli(
    settings: Settings | None, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> str:
    """`comments <args>` as a real process with the test's settings; returns its stdout."""
    base = worker_env(settings) if settings is not None else dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "service.entry.cli", *args],
        input=stdin,
        env=base | (env or {}),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def as_text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def stored_comments(conn: redis.Redis) -> dict[str, dict[str, str]]:
    """Every comment record in Redis by id, decoded."""
    out = {}
    for key in conn.scan_iter("cm:*:c:*"):
        record = {as_text(k): as_text(v) for k, v in conn.hgetall(key).items()}
        out[record["id"]] = record
    return out


def all_keys(conn: redis.Redis) -> list[bytes]:
    """Every key but the data-format mark, which a process writes when it starts on an empty
    Redis (service/store/migrations.py), not anything a request stores."""
    mark = keys.data_format().encode()
    return sorted(key for key in conn.scan_iter(count=1000) if key != mark)


def key_dump(conn: redis.Redis) -> bytes:
    """Every key and value in Redis, in raw form, for privacy scans."""
    parts = []
    for key in all_keys(conn):
        parts.append(key)
        parts.append(conn.dump(key) or b"")
    return b"\n".join(parts)


def data_files(server: RedisServer) -> bytes:
    """The AOF and anything else Redis wrote to disk."""
    return b"".join(p.read_bytes() for p in Path(server.data_dir).rglob("*") if p.is_file())


# --- scanning for leaks: every form an address could take, every value Redis holds -------


def forbidden(address: str, *, domain: bool = False) -> set[bytes]:
    """Every form in which `address` (and, with `domain`, its domain alone) could leak."""
    local, _, host = address.rpartition("@")
    ascii_host = host.encode("idna").decode()
    texts = {address, local, f"{local}@{host.lower()}", f"{local}@{ascii_host}"}
    if domain:
        texts |= {host, ascii_host}
    forms: set[str] = set()
    for text in texts:
        for variant in {text, text.lower(), text.upper(), text.casefold()}:
            encoded = quote(variant, safe="")
            escaped = (json.dumps(variant)[1:-1], repr(variant.encode())[2:-1])
            forms |= {variant, encoded, quote(encoded, safe=""), *escaped}
    for text in list(forms):
        for algo in (hashlib.md5, hashlib.sha1, hashlib.sha256):
            forms.add(algo(text.encode()).hexdigest())
    return {f.encode() for f in forms}


def redis_values(conn: redis.Redis, keys: Iterable[bytes] | None = None) -> bytes:
    """Every key (or those given) and its values, read by type, each value also as RQ stored
    it unpacked: zlib for a job's data and exc_info, base64 then zlib for a result's
    exc_string."""
    parts: list[bytes] = []
    for key in all_keys(conn) if keys is None else keys:
        parts.append(key)
        for value in _values(conn, key):
            parts.extend(unpacked(value))
    return b"\n".join(parts)


def _values(conn: redis.Redis, key: bytes) -> list[bytes]:
    kind = as_text(conn.type(key))
    if kind == "string":
        found: list[Any] = [conn.get(key)]
    elif kind == "hash":
        found = [part for item in conn.hgetall(key).items() for part in item]
    elif kind == "list":
        found = conn.lrange(key, 0, -1)
    elif kind == "set":
        found = list(conn.smembers(key))
    elif kind == "zset":
        found = conn.zrange(key, 0, -1)
    elif kind == "stream":
        entries: list[Any] = conn.xrange(key) or []
        found = [part for _, entry in entries for item in entry.items() for part in item]
    else:
        raise AssertionError(f"unexpected Redis type {kind} for {key!r}")
    return [value if isinstance(value, bytes) else str(value).encode() for value in found]


def unpacked(value: bytes) -> list[bytes]:
    found = [value]
    for unpack in (zlib.decompress, lambda v: zlib.decompress(base64.b64decode(v))):
        with contextlib.suppress(zlib.error, ValueError):
            found.append(unpack(value))
    return found


def seed_thread(
    conn: redis.Redis,
    article: str,
    roots: int,
    *,
    replies: int = 0,
    text: str = TEXT,
    start: float = 1_700_000_000.0,
) -> list[str]:
    """Publish `roots` top-level comments, each with `replies` replies, straight into Redis
    through the same transition that approval uses (thousands in a blink); the root ids in
    creation order. The records carry only what readers and moderators look at."""
    root_ids: list[str] = []
    with conn.pipeline(transaction=False) as pipe:
        for i in range(roots):
            created = start + i * 10
            root = _seed_one(pipe, article, f"Reader {i}", text, "", created)
            root_ids.append(root)
            for j in range(replies):
                _seed_one(pipe, article, f"Replier {i}.{j}", text, root, created + 1 + j / 100)
        pipe.execute()
    return root_ids


def _seed_one(
    pipe: redis.client.Pipeline, article: str, name: str, text: str, parent: str, created: float
) -> str:
    comment_id = keys.new_comment_id(article)
    record = {
        "id": comment_id,
        "article": article,
        "name": name,
        "comment": text,
        "parent_id": parent,
        "status": "approved",
        "created_at": f"{created:.6f}",
        "email_hash": "seeded",
    }
    pipe.hset(keys.comment(comment_id), mapping={k: v for k, v in record.items() if v})
    transitions.show(pipe, record, created)
    return comment_id


def route_paths(app: web.Application, method: str, prefix: str) -> list[str]:
    """The path templates (`/moderation/comment/{comment_id}`) the app's router answers for
    `method` under `prefix`: a test driven by this list covers a route added later."""
    paths = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = str(info.get("path") or info.get("formatter") or "")
        if route.method == method and path.startswith(prefix) and path not in paths:
            paths.append(path)
    return paths


def filled_paths(template: str, samples: Mapping[str, Sequence[str]]) -> list[str]:
    """`template` with each `{name}` (or `{name:regex}`) replaced by each of `samples[name]`,
    in every combination."""
    names = re.findall(r"\{(\w+)", template)
    missing = [name for name in names if name not in samples]
    assert not missing, f"{template}: give the path parameters {missing} samples"
    parts = re.split(r"\{\w+(?::[^}]*)?\}", template)  # the text between the parameters
    return [
        "".join(p + v for p, v in zip(parts, (*values, ""), strict=True))
        for values in itertools.product(*(samples[name] for name in names))
    ]


# `comments api` on 127.0.0.1: add "--port", str(port) and any other arguments.
API = [sys.executable, "-m", "service.entry.cli", "api", "--host", "127.0.0.1"]


def api_ready_sync(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Wait until the API process at `url` answers /readyz with 200 (failing if it exits)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the API exited"
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the API did not become ready")


async def api_ready(session: aiohttp.ClientSession, url: str, seconds: float = 20) -> None:
    """Wait until the API process at `url` answers /readyz with 200."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            async with session.get(f"{url}/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        assert time.monotonic() < deadline, "API did not start"
        await asyncio.sleep(0.1)
