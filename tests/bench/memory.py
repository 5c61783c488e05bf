"""`make bench`: Redis memory per comment, queued, just after its decision, and steady.

Posts N realistic comments (form token, commenter key, page URL, title, a browser's
User-Agent) through the real API, then decides them with `comments worker --burst`, and
measures Redis at each step: INFO's used_memory (what the server really holds, allocator
overhead included) and MEMORY USAGE of every key, by kind. "Steady" leaves out the keys that
expire by themselves (rate-limit windows, markers). Runs once with Redis's default hash
encoding limits and once with `hash-max-listpack-value 1024` (deploy/redis.conf's
recommendation in the README): a hash with any value longer than the limit (64 bytes by
default; most comments are longer) is stored as a hash table at about 1.7 times the size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import redis

from service.entry.embedded_redis import RedisServer, free_port
from tests.bench.intake import bench_env, start, stop, wait_ready

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
TEXTS = [
    "Cooperation between the agencies makes sense given how expensive landers are; a shared "
    "station at the south pole would let both programmes share data and spread the cost.",
    "The 1960s comparison is overdone. The budgets are nothing alike, and neither is the "
    "political will behind them.",
    "I would like to see which docking standard they intend to use before anyone signs.",
]
# Redis 7 calls it hash-max-listpack-value; the older name works on 6.2 and 7 alike.
LISTPACK_1024 = ("--hash-max-ziplist-value", "1024")


@dataclass
class Snapshot:
    used_memory: int
    by_kind: Counter[str]
    expiring: int  # bytes in keys with a TTL
    patterns: Counter[str]  # bytes by key pattern (ids and numbers as *)


def kind_of(key: bytes) -> str:
    if key.startswith(b"cm:{") and b"}:c:" in key:
        return "comment records"
    if key.startswith(b"rq:job:"):
        return "RQ job hashes"
    if key.startswith(b"rq:results:"):
        return "RQ results"
    if key.startswith(b"rq:"):
        return "RQ queues, registries"
    return "indexes, reputation, limits"


def pattern_of(key: bytes) -> str:
    return re.sub(r"\{[0-9a-f]+\}|[0-9a-f]{16,}|\d+", "*", key.decode(errors="replace"))


def snapshot(conn: redis.Redis) -> Snapshot:
    by_kind: Counter[str] = Counter()
    patterns: Counter[str] = Counter()
    expiring = 0
    for key in conn.scan_iter(count=1000):
        size = int(conn.memory_usage(key, samples=0) or 0)
        by_kind[kind_of(key)] += size
        patterns[pattern_of(key)] += size
        if int(conn.pttl(key)) > 0:
            expiring += size
    used = int(conn.info("memory")["used_memory"])
    return Snapshot(used, by_kind, expiring, patterns)


def expire_now(conn: redis.Redis) -> None:
    """What the steady state holds: the keys that expire by themselves, gone."""
    for key in list(conn.scan_iter(count=1000)):
        if int(conn.pttl(key)) > 0:
            conn.delete(key)


async def post_comments(base: str, n: int, concurrency: int = 16) -> int:
    """n comments as the widget sends them; returns how many were accepted."""
    accepted = 0
    counter = iter(range(n))

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        for i in counter:
            article = f"bench-article-{i % 40}"
            async with session.get(f"{base}/api/v1/form-token", params={"article": article}) as r:
                token = (await r.json())["token"]
            body = {
                "article": article,
                "name": f"Reader {i}",
                "email": f"reader{i}@example.com",
                "comment": TEXTS[i % len(TEXTS)],
                "website": f"https://reader{i}.example.net" if i % 3 == 0 else None,
                "form_token": token,
                "commenter_key": f"{i:022d}-commenter-key-xxxxxxxx",
                "article_url": f"https://news.example.org/2026/{article}?utm_source=feed",
                "title": "Lunar station: who pays for it?",
            }
            headers = {
                "User-Agent": USER_AGENT,
                "Referer": f"https://news.example.org/2026/{article}",
            }
            payload = {k: v for k, v in body.items() if v is not None}
            async with session.post(f"{base}/api/v1/comments", json=payload, headers=headers) as r:
                accepted += r.status == 202

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session) for _ in range(concurrency)))
    return accepted


@dataclass
class Result:
    config: str
    n: int
    baseline: Snapshot
    queued: Snapshot
    decided: Snapshot
    steady: Snapshot

    def per_comment(self, snap: Snapshot) -> float:
        return (snap.used_memory - self.baseline.used_memory) / self.n


def measure(config: str, extra: tuple[str, ...], n: int) -> Result:
    with (
        tempfile.TemporaryDirectory() as tmp,
        RedisServer(Path(tmp) / "redis", extra_args=extra) as server,
    ):
        env = bench_env(server.url)
        conn = redis.Redis.from_url(server.url)
        port = free_port()
        api = start(["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port)], env)
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz")
            baseline = snapshot(conn)
            accepted = asyncio.run(post_comments(f"http://127.0.0.1:{port}", n))
            queued = snapshot(conn)
        finally:
            stop(api)
        command = [sys.executable, "-m", "service.entry.cli", "worker", "--burst"]
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
        decided = snapshot(conn)
        expire_now(conn)
        steady = snapshot(conn)
        conn.close()
    return Result(config, accepted, baseline, queued, decided, steady)


def report(results: list[Result]) -> None:
    print(f"\nRedis memory per comment ({results[0].n:,} comments, bytes)\n")
    print(f"{'':44}" + "".join(f"{r.config:>20}" for r in results))
    rows: list[tuple[str, Callable[[Result], float]]] = [
        ("queued (used_memory)", lambda r: r.per_comment(r.queued)),
        ("  of which comment records", lambda r: kind_share(r, r.queued, "comment records")),
        ("  of which RQ job hashes", lambda r: kind_share(r, r.queued, "RQ job hashes")),
        ("just after its decision (used_memory)", lambda r: r.per_comment(r.decided)),
        ("  of which comment records", lambda r: kind_share(r, r.decided, "comment records")),
        ("  of which RQ job hashes and results", lambda r: rq_share(r)),
        ("  of which keys that expire by themselves", lambda r: r.decided.expiring / r.n),
        ("steady: expiring keys gone (used_memory)", lambda r: r.per_comment(r.steady)),
        ("  of which comment records", lambda r: kind_share(r, r.steady, "comment records")),
    ]
    for name, value in rows:
        print(f"{name:44}" + "".join(f"{value(r):20,.0f}" for r in results))
    last = results[-1]
    print(f"\nSteady, by key ({last.config}; MEMORY USAGE per comment, largest first):")
    for pattern, size in last.steady.patterns.most_common(8):
        print(f"  {pattern:58}{size / last.n:10,.0f}")


def kind_share(result: Result, snap: Snapshot, kind: str) -> float:
    return (snap.by_kind[kind] - result.baseline.by_kind[kind]) / result.n


def rq_share(result: Result) -> float:
    return sum(kind_share(result, result.decided, kind) for kind in ("RQ job hashes", "RQ results"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=2000)
    opts = parser.parse_args()
    results = [
        # The embedded server sets 1024 (as deploy/redis.conf does): 64 is Redis's default.
        measure("Redis defaults", ("--hash-max-ziplist-value", "64"), opts.comments),
        measure("listpack <= 1024 B", LISTPACK_1024, opts.comments),
    ]
    report(results)
    print(f"\n{os.cpu_count()} cores; every comment decided by a real worker before 'decided'.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
