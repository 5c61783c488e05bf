"""Header limits from settings, enforced by the real `comments api` process's HTTP parser."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator

import pytest

from service.core.settings import Settings
from service.entry.embedded_redis import free_port
from tests.helpers import worker_env


@pytest.fixture
async def api_port(settings: Settings) -> AsyncIterator[int]:
    port = free_port()
    env = worker_env(settings.with_overrides(max_header_bytes=1024, max_headers=20))
    api = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port)),
        env=env,
        stderr=asyncio.subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while (await raw_request(port, b""))[:12] != b"HTTP/1.1 200":
        assert time.monotonic() < deadline, "API did not start"
        await asyncio.sleep(0.1)
    yield port
    api.terminate()
    await api.wait()


async def raw_request(port: int, extra_headers: bytes) -> bytes:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return b""
    writer.write(
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra_headers + b"\r\n"
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_oversized_and_too_many_headers_are_refused(api_port: int) -> None:
    assert (await raw_request(api_port, b"X-Fine: " + b"a" * 900 + b"\r\n"))[:12] == b"HTTP/1.1 200"
    long_line = await raw_request(api_port, b"X-Long: " + b"a" * 1100 + b"\r\n")
    assert long_line.startswith(b"HTTP/1.0 400")
    many = await raw_request(api_port, b"".join(b"X-%d: 1\r\n" % i for i in range(25)))
    assert many.startswith(b"HTTP/1.0 400")
    # Refusals cost nothing: the next client is served.
    assert (await raw_request(api_port, b""))[:12] == b"HTTP/1.1 200"
