"""Shared fixtures: a real redis-server for the session, the app on a real socket, real workers."""

from __future__ import annotations

import email
import email.policy
import io
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller

from service.app import create_app
from service.embedded_redis import RedisServer, free_port
from service.logs import configure_logging
from service.settings import Settings

SECRET = "test-secret-" + "x" * 40
ALLOWED_ORIGIN = "https://news.example.org"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    # rdbcompression off: DUMP output is then plain bytes the privacy tests can search.
    server = RedisServer(
        tmp_path_factory.mktemp("redis"), extra_args=("--rdbcompression", "no")
    ).start()
    yield server
    server.stop()


@pytest.fixture
def rconn(redis_server: RedisServer) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_server.url)
    conn.flushall()
    yield conn
    conn.close()


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


@pytest.fixture
def settings(redis_server: RedisServer, rconn: redis.Redis) -> Settings:
    return make_settings(redis_server.url)


Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(settings))) as test_client:
        yield test_client


def worker_env(settings: Settings) -> dict[str, str]:
    assert settings.redis_url
    return {
        **os.environ,
        "COMMENTS_MODE": "dev",
        "COMMENTS_REDIS_URL": settings.redis_url,
        "COMMENTS_SECRET_KEY": settings.secret_key,
        "COMMENTS_QUEUE": settings.queue_name,
        "COMMENTS_LOG_LEVEL": "DEBUG",
    }


def run_worker_burst(
    settings: Settings, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A real `comments worker --burst` process; returns once the queues are drained."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "worker", "--burst", *extra],
        env={**worker_env(settings), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def as_text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def stored_comments(conn: redis.Redis) -> dict[str, dict[str, str]]:
    """Every comment record in Redis by id, decoded."""
    out = {}
    for key in conn.scan_iter("cm:*:c:*"):
        record = {as_text(k): as_text(v) for k, v in conn.hgetall(key).items()}
        out[record["id"]] = record
    return out


def run_cli(
    settings: Settings | None, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> str:
    """`comments <args>` as a real process with the test's settings; returns its stdout."""
    base = worker_env(settings) if settings is not None else dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        input=stdin,
        env=base | (env or {}),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """What the project's configured logging writes (JSON lines), during one test."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("DEBUG", "json", stream)
    yield stream
    root.handlers[:], root.level = saved[0], saved[1]


def all_keys(conn: redis.Redis) -> list[bytes]:
    return sorted(conn.scan_iter(count=1000))


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


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message it accepts."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Recorder]]:
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, recorder
    controller.stop()
