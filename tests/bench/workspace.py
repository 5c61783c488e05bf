"""The moderators' workspace under a backlog: a queue page and a bulk action.

Targets (issue 13): with 10,000 held comments a queue page answers in <= 50 ms at p95, and a
bulk action on 100 comments in <= 500 ms; a text search too (it reads at most
queues.SCAN_MAX comments a page: "text found nowhere" is its worst case). The comments are
written straight into a private redis-server (as intake and the scorer would leave them);
the app runs in this process on a real socket and is asked over HTTP by a signed-in
moderator, the way a browser asks.

    python -m tests.bench.workspace [--held 10000] [--runs 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import redis
from aiohttp.test_utils import TestServer

from service.core import keys
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer
from service.store import migrations
from service.web.app import create_app

SECRET = "bench-secret-" + "x" * 40
TOKEN = "m" * 40
ARTICLES = 50
REASONS = json.dumps(
    [
        {"code": "first_time", "points": 3, "text": "First comment from this commenter."},
        {"code": "text_model", "points": -0.5, "text": "Text looks 20% spam-like."},
    ]
)


def seed(conn: redis.Redis, count: int) -> list[str]:
    """`count` held comments over ARTICLES articles, every tenth from a returning commenter."""
    ids, start = [], time.time() - count
    with conn.pipeline(transaction=False) as pipe:
        for n in range(count):
            article = f"article-{n % ARTICLES}"
            comment_id = keys.new_comment_id(article)
            email_hash = f"{n % (count // 10 + 1):064x}"
            pipe.hset(
                keys.comment(comment_id),
                mapping={
                    "id": comment_id,
                    "article": article,
                    "title": f"Article {n % ARTICLES}",
                    "article_url": f"https://news.example.org/{article}",
                    "name": f"Reader {n}",
                    "comment": f"Comment number {n} on the article, held for a moderator. " * 3,
                    "status": "held",
                    "score": "3.5",
                    "reasons": REASONS,
                    "created_at": f"{start + n:.6f}",
                    "email_hash": email_hash,
                },
            )
            pipe.zadd(keys.held(), {comment_id: start + n})
            pipe.sadd(keys.by_email(email_hash), comment_id)
            ids.append(comment_id)
            if n % 1000 == 999:
                pipe.execute()
        pipe.execute()
    return ids


def wait_for(conn: redis.Redis, key: str) -> None:
    while not conn.exists(key):
        time.sleep(0.01)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return f"p50 {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms"


async def run(url: str, held: int, runs: int) -> None:
    settings = Settings(
        mode="dev",
        redis_url=url,
        secret_key=SECRET,
        moderator_tokens=(("bench", TOKEN),),
        thread_cache_s=0.0,
    )
    conn = redis.Redis.from_url(url)
    conn.flushall()
    migrations.migrate(conn)
    ids = seed(conn, held)
    server = TestServer(create_app(settings))
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/moderation/") as page:
            csrf = re.findall(r'name="csrf" value="([^"]+)"', await page.text())[0]
        async with http.post(
            f"{base}/moderation/token", data={"csrf": csrf, "token": TOKEN}
        ) as signed:
            html = await signed.text()
            csrf = re.findall(r'name="csrf" value="([^"]+)"', html)[0]

        async def timed_get(path: str, params: dict[str, str]) -> float:
            started = time.perf_counter()
            async with http.get(base + path, params=params) as resp:
                await resp.read()
                assert resp.status == 200
            return (time.perf_counter() - started) * 1000

        print(f"{held} held comments; {runs} requests each, one at a time")
        # The seed wrote the site-wide folder only, as data from before the article folders:
        # the first request filtered by article has them listed, in the background.
        started = time.perf_counter()
        await timed_get("/moderation/queue/held", {"article": "article-3"})
        await asyncio.to_thread(wait_for, conn, keys.article_folders_built())
        built = (time.perf_counter() - started) * 1000
        print(f"  {'article folders listed (once)':<32} {built:6.0f} ms in the background")
        commenter = EmailVault(SECRET).commenter_id(f"{7:064x}")
        conn.hset(keys.commenter_ids(), commenter, f"{7:064x}")  # as the workspace showed it
        cases = {
            "queue page (oldest first)": {},
            "queue page (newest first)": {"order": "newest"},
            "queue page, one article": {"article": "article-7"},
            "queue page, text in 1 of 10": {"q": "number 12"},
            # Found nowhere: the worst case, a page reads its SCAN_MAX comments and stops.
            "queue page, text found nowhere": {"q": "no such words"},
            "queue page, one commenter": {"commenter": commenter},
        }
        reference = None  # the unfiltered page's p50: each filter's cost beside it
        for name, params in cases.items():
            samples = [await timed_get("/moderation/queue/held", params) for _ in range(runs)]
            reference = reference or statistics.median(samples)
            ratio = statistics.median(samples) / reference
            print(f"  {name:<32} {percentiles(samples)}   {ratio:4.1f}x the unfiltered p50")

        bulk: list[float] = []
        for n in range(min(10, held // 100)):
            batch = ids[n * 100 : (n + 1) * 100]
            form = [("csrf", csrf), ("back", "/moderation/queue/held"), ("action", "spam")]
            form += [("ids", cid) for cid in batch]
            started = time.perf_counter()
            async with http.post(f"{base}/moderation/act", data=form) as resp:
                await resp.read()
                assert resp.status == 200
            bulk.append((time.perf_counter() - started) * 1000)
        print(f"  {'bulk spam, 100 comments':<32} {percentiles(bulk)}  ({len(bulk)} runs)")
    await server.close()
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--held", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        asyncio.run(run(server.url, args.held, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
