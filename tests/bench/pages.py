"""The first page of a thread as it grows: server time with no cache, and its size.

Threads of 10, 1,000 and 10,000 approved comments (a fifth top-level, each with four
replies; the text of a typical comment) in a real redis-server. For each, the first page
(`limit=20`, as the widget asks) is read over HTTP from the real app with its cache missed on
every request (the thread's version moves before each), and, beside it, the whole thread as
one response (what every reader got before pages), also uncached.

    python -m tests.bench.pages [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys
from service.entry.embedded_redis import RedisServer
from service.store import migrations
from service.web.app import create_app
from tests.helpers import make_settings, seed_thread

SIZES = (10, 1_000, 10_000)


async def timed_get(
    client: TestClient[Any, Any], conn: redis.Redis, article: str, query: str
) -> tuple[float, bytes]:
    """One GET with the cache missed (the thread's version moves first): seconds, body."""
    conn.incr(keys.thread_version(article))
    started = time.perf_counter()
    resp = await client.get(f"/api/v1/comments?article={article}{query}")
    body = await resp.read()
    elapsed = time.perf_counter() - started
    assert resp.status == 200
    return elapsed, body


async def measure(url: str, conn: redis.Redis, runs: int) -> list[tuple[int, float, bytes, float]]:
    """Per thread size: median ms of an uncached first page, its body, and the median ms of
    the whole thread, uncached. The sizes take turns, so the machine's load hits all alike."""
    pages: dict[int, list[float]] = {size: [] for size in SIZES}
    whole: dict[int, list[float]] = {size: [] for size in SIZES}
    bodies: dict[int, bytes] = {}
    async with TestClient(TestServer(create_app(make_settings(url)))) as client:
        for run in range(runs):
            for size in SIZES:
                elapsed, bodies[size] = await timed_get(client, conn, f"bench-{size}", "&limit=20")
                pages[size].append(elapsed)
                if run % 20 == 0:
                    whole[size].append((await timed_get(client, conn, f"bench-{size}", ""))[0])
    return [
        (
            size,
            statistics.median(pages[size]) * 1000,
            bodies[size],
            statistics.median(whole[size]) * 1000,
        )
        for size in SIZES
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        conn = redis.Redis.from_url(server.url)
        migrations.ensure_readable(conn)  # an empty Redis: marked as this release's format
        for size in SIZES:
            seed_thread(conn, f"bench-{size}", size // 5, replies=4)
            assert conn.zcard(keys.thread(f"bench-{size}")) == size
        rows = asyncio.run(measure(server.url, conn, runs))
        conn.close()
    print("first page of a thread (limit=20, top-level comments with their first 3 replies),")
    print(f"uncached, over HTTP from the real app and a real redis-server; median of {runs}")
    print()
    print("| comments in thread | first page | page size (gzipped) | whole thread, uncached |")
    print("|---:|---:|---:|---:|")
    for size, page_ms, body, full_ms in rows:
        plain, zipped = len(body) / 1024, len(gzip.compress(body)) / 1024
        print(
            f"| {size:,} | {page_ms:.2f} ms | {plain:.1f} KB ({zipped:.1f} KB) | {full_ms:.1f} ms |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
