"""Redis restarted under load: 503 while it is down, recovery by itself, every 202 kept."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys
from service.entry.embedded_redis import RedisServer
from service.web.app import create_app
from tests.helpers import drain, make_settings, stored_comments


async def test_redis_restart_under_load(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    settings = make_settings(server.url, redis_timeout_s=0.5)
    results: list[tuple[int, str | None]] = []
    try:
        async with TestClient(TestServer(create_app(settings))) as client:

            async def stream(until: float, worker: int) -> None:
                n = 0
                while time.monotonic() < until:
                    n += 1
                    body = {
                        "article": "a",
                        "name": "N",
                        "email": f"w{worker}-{n}@example.com",
                        "comment": f"Comment {worker}/{n}",
                    }
                    resp = await client.post("/api/v1/comments", json=body)
                    data = await resp.json()
                    results.append((resp.status, data.get("id")))
                    await asyncio.sleep(0.01)  # a steady stream, a few hundred comments in all
                    if resp.status == 503:
                        assert data["error"]["code"] == "storage_unavailable"
                        assert resp.headers["Retry-After"]
                        await asyncio.sleep(0.05)

            until = time.monotonic() + 3.0
            load = [asyncio.create_task(stream(until, w)) for w in range(2)]
            await asyncio.sleep(0.8)
            await asyncio.to_thread(server.stop)  # clean shutdown: Redis flushes the AOF
            await asyncio.sleep(0.5)
            await asyncio.to_thread(server.start)  # same port, same data folder
            await asyncio.gather(*load)

        statuses = [status for status, _ in results]
        assert set(statuses) <= {202, 503}, set(statuses)
        assert 503 in statuses, "the outage was not seen"
        first_503 = statuses.index(503)
        assert 202 in statuses[:first_503], "nothing accepted before the outage"
        assert 202 in statuses[statuses.index(503) :], "no recovery after the restart"
        conn = redis.Redis.from_url(server.url)
        stored = stored_comments(conn)
        accepted = [cid for status, cid in results if status == 202]
        assert [cid for cid in accepted if cid not in stored] == []
        await drain(settings)
        assert conn.zcard(keys.pending()) == 0  # and every one of them was decided
        conn.close()
    finally:
        server.stop()
