"""Live events at scale: many readers streaming one article from a real API process.

A real `comments api` process and redis-server; N readers (as many as the fd limit allows, up
to 5,000) each hold GET /api/v1/stream open over their own TCP connection, all on one article
(breaking news: the worst fan-out). Then comments are approved one after another, the way a
moderator does (store/moderation.apply), and the time from each approval to its `published`
event arriving at every reader is recorded. Printed: readers, the API process's RSS before and
with the streams open (per stream), and the latency p50/p99 over all readers and approvals.

    python -m tests.bench.stream [--clients 5000] [--approvals 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import redis

from service.core import keys
from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer, free_port
from service.store import migrations, moderation
from tests.helpers import make_settings, worker_env

ARTICLE = "breaking-news"


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pending_comment(conn: redis.Redis, n: int) -> str:
    """A held comment, stored as intake would leave it, ready for a moderator's approval."""
    comment_id = keys.new_comment_id(ARTICLE)
    now = time.time()
    conn.hset(
        keys.comment(comment_id),
        mapping={
            "id": comment_id,
            "article": ARTICLE,
            "name": f"Reader {n}",
            "comment": "A comment for the live benchmark.",
            "status": "held",
            "created_at": f"{now:.6f}",
            "email_hash": "bench",
        },
    )
    conn.zadd(keys.held(), {comment_id: now})
    return comment_id


class Arrivals:
    """When each reader heard each comment; an event per comment once all of them have."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.times: dict[str, list[float]] = defaultdict(list)
        self.complete: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def heard(self, comment_id: str) -> None:
        self.times[comment_id].append(time.perf_counter())
        if len(self.times[comment_id]) == self.clients:
            self.complete[comment_id].set()


async def reader(port: int, arrivals: Arrivals, ready: asyncio.Event) -> None:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(
        f"GET /api/v1/stream?article={ARTICLE} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await w.drain()
    while line := await r.readline():
        if line.startswith(b"event: ready"):
            ready.set()
        elif line.startswith(b'data: {"id":"'):
            arrivals.heard(line[13:46].decode())
    w.close()


async def run(
    port: int, pid: int, conn: redis.Redis, settings: Settings, clients: int, approvals: int
) -> None:
    base_rss = rss_mb(pid)
    arrivals = Arrivals(clients)
    readies = [asyncio.Event() for _ in range(clients)]
    tasks = []
    for i, ready in enumerate(readies):
        tasks.append(asyncio.create_task(reader(port, arrivals, ready)))
        if i % 200 == 199:
            await asyncio.sleep(0.05)  # connect in waves: the listen backlog is finite
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 120)
    await asyncio.sleep(1)
    streaming_rss = rss_mb(pid)
    latencies: list[float] = []
    for n in range(approvals):
        comment_id = pending_comment(conn, n)
        started = time.perf_counter()
        await asyncio.to_thread(moderation.apply, conn, settings, comment_id, "approve", "b")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrivals.complete[comment_id].wait(), 30)
        got = arrivals.times[comment_id]
        assert len(got) == clients, f"{len(got)} of {clients} readers heard {comment_id}"
        latencies += [t - started for t in got]
    for task in tasks:
        task.cancel()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"live stream: {clients} readers on one article, {approvals} approvals")
    print(f"  API RSS: {base_rss:.0f} MB idle, {streaming_rss:.0f} MB with the streams open "
          f"({(streaming_rss - base_rss) * 1024 / clients:.1f} KB per stream)")  # fmt: skip
    print(f"  approval -> arrival at every reader: p50 {p50:.0f} ms, p99 {p99:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--approvals", type=int, default=20)
    args = parser.parse_args()
    limit = raise_fd_limit(2 * args.clients + 200)  # the readers' ends and the API's (inherited)
    clients = min(args.clients, (limit - 200) // 2)
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        conn = redis.Redis.from_url(server.url)
        migrations.ensure_readable(conn)
        settings = make_settings(server.url)
        port = free_port()
        api = subprocess.Popen(
            [sys.executable, "-m", "service.entry.cli", "api", "--host", "127.0.0.1",
             "--port", str(port)],
            env=worker_env(settings) | {"COMMENTS_LOG_LEVEL": "WARNING"},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                        break
                except OSError:
                    assert time.monotonic() < deadline, "the API did not start"
                    time.sleep(0.1)
            asyncio.run(run(port, api.pid, conn, settings, clients, args.approvals))
        finally:
            api.terminate()
            api.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
