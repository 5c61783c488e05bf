"""The first page of a thread as it grows: server time with no cache, and its size.

Threads of 10, 1,000 and 10,000 approved comments (a fifth top-level, each with four
replies; the text of a typical comment) in a real redis-server. For each, the first page
(`limit=20`, as the widget asks) is read over HTTP from the real app with its cache missed on
every request (the thread's version moves before each), and, beside it, the whole thread as
one response (what every reader got before pages), also uncached.

Then reads per second of a 100-comment thread (20 top-level comments with four replies each)
from one real `comments api` process under wrk, beside a bare aiohttp handler (its own
process, same event loop) that answers the same bytes: the whole thread (`?article=…`) and
its first page as the widget asks (`&limit=20`), measured one after the other in this run.

    python -m tests.bench.pages [--runs 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import re
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys
from service.entry.commands.processes import new_event_loop
from service.entry.embedded_redis import RedisServer, free_port
from service.store import migrations
from service.web.app import create_app
from tests.bench.intake import bench_env, running
from tests.helpers import make_settings, seed_thread

SIZES = (10, 1_000, 10_000)
READS_ARTICLE = "bench-reads"  # 100 comments
READS = {"whole thread": "", "first page (limit=20)": "&limit=20"}


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


def bare(port: int, body_file: Path) -> None:
    """The ceiling: an aiohttp handler that answers the thread's bytes, read from a file."""
    body = body_file.read_bytes()

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v1/comments", serve)
    web.run_app(
        app, host="127.0.0.1", port=port, loop=new_event_loop(), access_log=None, print=None
    )


def wrk(url: str, seconds: int) -> tuple[float, str]:
    """Requests per second (2xx only: wrk counts others apart) and the p99 latency."""
    command = ["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "Non-2xx" not in out, out
    assert "Socket errors" not in out, out
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out)[1])  # type: ignore[index]
    p99 = re.search(r"99%\s+(\S+)", out)[1]  # type: ignore[index]
    return rate, p99


def reads(url: str, tmp: Path, seconds: int) -> list[tuple[str, float, str, float, str, int]]:
    """Per read: the service's reads/s and p99, the bare handler's with the same bytes, size."""
    rows = []
    port, bare_port = free_port(), free_port()
    api = ["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port)]
    with running(api, bench_env(url), f"http://127.0.0.1:{port}/readyz"):
        for name, query in READS.items():
            path = f"/api/v1/comments?article={READS_ARTICLE}{query}"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as resp:
                body = resp.read()
            (tmp / "body").write_bytes(body)
            wrk(f"http://127.0.0.1:{port}{path}", 2)  # warm-up
            ours = wrk(f"http://127.0.0.1:{port}{path}", seconds)
            command = ["tests.bench.pages", "--bare", str(bare_port), str(tmp / "body")]
            with running(command, bench_env(url), f"http://127.0.0.1:{bare_port}{path}"):
                wrk(f"http://127.0.0.1:{bare_port}{path}", 2)
                ceiling = wrk(f"http://127.0.0.1:{bare_port}{path}", seconds)
            rows.append((name, *ours, *ceiling, len(body)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--bare", nargs=2, metavar=("PORT", "BODY_FILE"))
    args = parser.parse_args()
    if args.bare:
        bare(int(args.bare[0]), Path(args.bare[1]))
        return 0
    runs = args.runs
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        conn = redis.Redis.from_url(server.url)
        migrations.ensure_readable(conn)  # an empty Redis: marked as this release's format
        for size in SIZES:
            seed_thread(conn, f"bench-{size}", size // 5, replies=4)
            assert conn.zcard(keys.thread(f"bench-{size}")) == size
        seed_thread(conn, READS_ARTICLE, 20, replies=4)
        rows = asyncio.run(measure(server.url, conn, runs))
        conn.close()
        read_rows = reads(server.url, Path(tmp), args.seconds)
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
    print()
    print(f"reads of a 100-comment thread: wrk 1 thread, 64 connections, {args.seconds} s each;")
    print("one `comments api` process beside a bare aiohttp handler answering the same bytes")
    print()
    print("| read | size | service | bare aiohttp | service / bare |")
    print("|---|---:|---:|---:|---:|")
    for name, rate, p99, bare_rate, bare_p99, size in read_rows:
        print(
            f"| {name} | {size / 1024:.1f} KB | {rate:,.0f}/s (p99 {p99}) "
            f"| {bare_rate:,.0f}/s (p99 {bare_p99}) | {rate / bare_rate:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
