"""Shared fixtures: a real redis-server for the session, the app on a real socket, real workers."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller

from service.core.logs import configure_logging
from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer, free_port
from service.web.app import create_app
from tests.helpers import Client, Recorder, make_settings


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


@pytest.fixture
def settings(redis_server: RedisServer, rconn: redis.Redis) -> Settings:
    return make_settings(redis_server.url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(settings))) as test_client:
        yield test_client


@pytest.fixture
async def ws(ws_settings: Settings) -> AsyncIterator[Client]:
    """The app with the moderators' workspace set up: a module that uses it says how, with a
    `ws_settings` fixture of its own."""
    async with TestClient(TestServer(create_app(ws_settings))) as c:
        yield c


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """What the project's configured logging writes (JSON lines), during one test."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("DEBUG", "json", stream)
    yield stream
    root.handlers[:], root.level = saved[0], saved[1]


@pytest.fixture
def smtp() -> Iterator[tuple[int, Recorder]]:
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, recorder
    controller.stop()
