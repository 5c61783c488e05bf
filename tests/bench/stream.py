"""Live events at scale: many readers streaming one article from a real API process.

A real `comments api` process and redis-server; N readers (as many as the fd limit allows, up
to 5,000) each hold GET /api/v1/stream open over their own TCP connection, all on one article
(breaking news: the worst fan-out). Then comments are approved one after another, the way a
moderator does (store/moderation.apply), and the time from each approval to its `published`
event arriving at every reader is recorded. Printed: readers, the API process's RSS before and
with the streams open (per stream), the latency p50/p95/p99 over all readers and approvals,
and the CPU time the API and each client process spent meanwhile: a client that used most of
its core was measuring itself, not the server.

The readers live in --processes client processes (real sockets, raw asyncio protocols that
stamp each arrival with one clock read per received segment; CLOCK_MONOTONIC is shared by all
processes, so the approver's and the readers' stamps compare).

    python -m tests.bench.stream [--clients 5000] [--approvals 20] [--processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import psutil
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


MARK = b'event: published\r\ndata: {"id":"'
ID_LEN = len(keys.new_comment_id(ARTICLE))
IDLE_S = 3.0


class Reader(asyncio.Protocol):
    """One reader's stream over its own socket, read as bytes: the arrival of each
    `published` event is stamped with one clock read per received segment, so the client
    spends little CPU per event (an SSE parser per reader would be the bottleneck here)."""

    def __init__(self, heard: Callable[[bytes, float], None]) -> None:
        self.heard, self.rest = heard, b""
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(
            f"GET /api/v1/stream?article={ARTICLE} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
        buf = self.rest + data
        if not self.ready.done() and b"event: ready" in buf:
            self.ready.set_result(None)
        pos, whole = 0, len(MARK) + ID_LEN
        while (i := buf.find(MARK, pos)) >= 0 and i + whole <= len(buf):
            self.heard(buf[i + len(MARK) : i + whole], now)
            pos = i + whole
        self.rest = buf[max(pos, len(buf) - whole) :]  # an event split across segments


async def readers(port: int, clients: int, approvals: int, pipe: Connection) -> None:
    """One client process: `clients` streams; tells the parent when all are ready and when
    all of them heard each comment, then sends every arrival time and its own CPU time."""
    loop = asyncio.get_running_loop()
    times: dict[bytes, list[float]] = defaultdict(list)
    all_heard = asyncio.Event()
    streams: list[asyncio.BaseTransport] = []

    def heard(comment_id: bytes, at: float) -> None:
        got = times[comment_id]
        got.append(at)
        if len(got) == len(streams):
            pipe.send(("heard", comment_id.decode()))
            if sum(len(t) == len(got) for t in times.values()) == approvals:
                all_heard.set()

    async def connect() -> bool:
        # A connection the API's full accept queue dropped after the handshake never gets
        # an answer: given up on after a while and made again.
        for _ in range(5):
            try:
                transport, reader = await loop.create_connection(
                    lambda: Reader(heard), "127.0.0.1", port
                )
            except OSError:
                await asyncio.sleep(0.5)
                continue
            try:
                await asyncio.wait_for(reader.ready, 20)
            except TimeoutError:
                transport.abort()
                continue
            streams.append(transport)
            return True
        return False

    for i in range(0, clients, 100):  # in waves: the listen backlog is finite
        await asyncio.gather(*(connect() for _ in range(min(100, clients - i))))
    pipe.send(("ready", len(streams), clients - len(streams)))
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    await all_heard.wait()
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    pipe.send(("times", {k.decode(): v for k, v in times.items()}, used))


def reader_process(port: int, clients: int, approvals: int, pipe: Connection) -> None:
    asyncio.run(readers(port, clients, approvals, pipe))


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))]


def run(
    port: int, pid: int, conn: redis.Redis, settings: Settings, opts: argparse.Namespace
) -> None:
    api = psutil.Process(pid)
    base_rss = rss_mb(pid)
    ctx = multiprocessing.get_context("spawn")
    share = [opts.clients // opts.processes + (i < opts.clients % opts.processes)
             for i in range(opts.processes)]  # fmt: skip
    pipes, procs = [], []
    for n in share:
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=reader_process, args=(port, n, opts.approvals, theirs))
        proc.start()
        pipes.append(ours)
        procs.append(proc)
    try:
        readies = [pipe.recv() for pipe in pipes]
        streams = sum(r[1] for r in readies)
        failed = sum(r[2] for r in readies)
        time.sleep(1)
        streaming_rss = rss_mb(pid)
        cpu = api.cpu_times()
        time.sleep(IDLE_S)  # what the open streams cost with nothing to send (heartbeats)
        idle = api.cpu_times()
        idle_cpu = idle.user + idle.system - cpu.user - cpu.system
        cpu = idle
        wall = time.monotonic()
        started: dict[str, float] = {}
        for n in range(opts.approvals):
            comment_id = pending_comment(conn, n)
            started[comment_id] = time.monotonic()
            moderation.apply(conn, settings, comment_id, "approve", "b")
            for pipe in pipes:
                assert pipe.poll(60), f"not every reader heard {comment_id}"
                kind, heard_id = pipe.recv()
                assert (kind, heard_id) == ("heard", comment_id), (kind, heard_id)
        wall = time.monotonic() - wall
        after = api.cpu_times()
        api_cpu = after.user + after.system - cpu.user - cpu.system
        latencies: list[float] = []
        client_cpu = []
        arrivals: dict[str, list[float]] = defaultdict(list)
        for pipe in pipes:
            _, times, used = pipe.recv()
            client_cpu.append(used)
            for comment_id, at in times.items():
                latencies += [t - started[comment_id] for t in at]
                arrivals[comment_id] += at
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    latencies.sort()
    p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (0.5, 0.95, 0.99))
    print(f"live stream: {streams} readers on one article ({failed} could not connect), "
          f"{opts.approvals} approvals, {opts.processes} client process(es)")  # fmt: skip
    print(f"  API RSS: {base_rss:.0f} MB idle, {streaming_rss:.0f} MB with the streams open "
          f"({(streaming_rss - base_rss) * 1024 / max(streams, 1):.1f} KB per stream)")  # fmt: skip
    print(f"  approval -> arrival at every reader: p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
          f"p99 {p99:.0f} ms, max {latencies[-1] * 1000:.0f} ms")  # fmt: skip
    # The first reader's latency is the approval's own path (Redis, pub/sub, one write); the
    # spread from first to last reader is the fan-out.
    first = [min(at) - started[c] for c, at in arrivals.items()]
    spread = [max(at) - min(at) for at in arrivals.values()]
    print(f"  per approval, median: first reader {statistics.median(first) * 1000:.0f} ms, "
          f"first to last reader {statistics.median(spread) * 1000:.0f} ms")  # fmt: skip
    clients = ", ".join(f"{c:.2f} s" for c in client_cpu)
    print(f"  CPU over the {wall:.1f} s of approvals: API {api_cpu:.2f} s "
          f"({api_cpu / opts.approvals * 1000:.0f} ms per approval; idle with the streams "
          f"open: {idle_cpu / IDLE_S * 1000:.0f} ms per s), client processes {clients}; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--approvals", type=int, default=20)
    # Two: the streams' sockets are read on both cores, as a crowd of browsers would.
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    limit = raise_fd_limit(2 * args.clients + 200)  # the readers' ends and the API's (inherited)
    args.clients = min(args.clients, (limit - 200) // 2)
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
            run(port, api.pid, conn, settings, args)
        finally:
            api.terminate()
            api.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
