"""The first page of a thread as it grows: server time with no cache, and its size.

Threads of 10, 1,000 and 10,000 approved comments (a fifth top-level, each with four
replies; the text of a typical comment) in a real redis-server. For each, the first page
(`limit=20`, as the widget asks) is read over HTTP from the real app with its cache missed on
every request (the thread's version moves before each), and, beside it, the whole thread as
one response (what every reader got before pages), also uncached.

Then reads per second of a 100-comment thread (20 top-level comments with four replies each)
from one real `comments api` process under wrk, beside a bare aiohttp handler (its own
process, same event loop) that answers the same bytes: the whole thread (`?article=…`) and
its first page as the widget asks (`&limit=20`), in turns, with each server's CPU per answer.

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
from dataclasses import dataclass, field
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
from tests.bench.intake import bench_env, cpu_seconds, running
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


@dataclass
class Reads:
    rates: list[float] = field(default_factory=list)  # 2xx answers per second, per round
    cpu_us: list[float] = field(default_factory=list)  # the server's CPU time per answer
    p99: list[str] = field(default_factory=list)

    def add(self, url: str, pid: int, seconds: int, warm_up: bool = False) -> None:
        before = cpu_seconds([pid])
        command = ["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency", url]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        used = cpu_seconds([pid]) - before
        if warm_up:  # a cold cache may keep the first requests past wrk's 2 s timeout
            return
        assert "Non-2xx" not in out, out
        assert "Socket errors" not in out, out
        answered = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
        self.rates.append(float(re.search(r"Requests/sec:\s+([0-9.]+)", out)[1]))  # type: ignore[index]
        self.p99.append(re.search(r"^\s*99%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
        self.cpu_us.append(used / answered * 1e6)

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_us)


def reads(url: str, tmp: Path, seconds: int, rounds: int) -> list[tuple[str, int, Reads, Reads]]:
    """Per read: its size, then the service's and the bare handler's figures (with the same
    bytes), measured in turns so the machine's load hits both alike."""
    rows = []
    port = free_port()
    api = ["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port)]
    with running(api, bench_env(url), f"http://127.0.0.1:{port}/readyz") as proc:
        for name, query in READS.items():
            path = f"/api/v1/comments?article={READS_ARTICLE}{query}"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as resp:
                body = resp.read()
            (tmp / "body").write_bytes(body)
            bare_port = free_port()
            command = ["tests.bench.pages", "--bare", str(bare_port), str(tmp / "body")]
            with running(command, bench_env(url), f"http://127.0.0.1:{bare_port}{path}") as bare:
                ours, ceiling = Reads(), Reads()
                Reads().add(f"http://127.0.0.1:{port}{path}", proc.pid, 2, warm_up=True)
                Reads().add(f"http://127.0.0.1:{bare_port}{path}", bare.pid, 2, warm_up=True)
                for _ in range(rounds):
                    ours.add(f"http://127.0.0.1:{port}{path}", proc.pid, seconds)
                    ceiling.add(f"http://127.0.0.1:{bare_port}{path}", bare.pid, seconds)
            rows.append((name, len(body), ours, ceiling))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
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
        read_rows = reads(server.url, Path(tmp), args.seconds, args.rounds)
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
    print(f"reads of a 100-comment thread: wrk 1 thread, 64 connections, {args.rounds} rounds of")
    print(f"{args.seconds} s, taking turns with a bare aiohttp handler answering the same bytes;")
    print("medians. CPU per answer is the server process's own, which load disturbs less.")
    print()
    print(
        "| read | size | service | bare aiohttp | service / bare | CPU per answer (bare) "
        "| p99 per round (bare) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, size, ours, bare_reads in read_rows:
        print(
            f"| {name} | {size / 1024:.1f} KB | {ours.rate:,.0f}/s | {bare_reads.rate:,.0f}/s "
            f"| {ours.rate / bare_reads.rate:.2f} | {ours.cpu:.0f} µs ({bare_reads.cpu:.0f} µs) "
            f"| {' '.join(ours.p99)} ({' '.join(bare_reads.p99)}) |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
