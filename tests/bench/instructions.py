"""Instructions per request (valgrind's callgrind): the service beside a bare aiohttp handler.

CPU time on a shared machine moves with whatever else runs; the instructions a server executes
for the same requests barely do (within 1 % between runs here), so a change of a few per cent
shows, loaded machine or not. Each server runs under callgrind with counting off until it is
warm, then counts exactly `--requests` requests, 16 at a time: a 100-comment thread's first
page and the whole thread (the bare handler answers the same bytes), and distinct comment
submissions (the bare handler reads the body and answers 202). Counted: the server process's
own instructions. Not counted: the kernel's work for it (socket reads and writes), Redis's.

    python -m tests.bench.instructions [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import redis

from service.entry.embedded_redis import RedisServer, free_port
from service.store import migrations
from tests.bench.intake import bench_env, stop, wait_ready
from tests.helpers import seed_thread

ARTICLE = "bench-reads"  # 100 comments
AT_ONCE = 16
Send = Callable[[aiohttp.ClientSession, str, int], Awaitable[int]]


async def read(session: aiohttp.ClientSession, url: str, n: int) -> int:
    async with session.get(url) as resp:
        await resp.read()
        return resp.status


async def submit(session: aiohttp.ClientSession, url: str, n: int) -> int:
    body = {
        "article": f"bench-article-{n % 100}",
        "name": f"Bench Reader {n}",
        "email": f"reader{n}@example.com",
        "comment": f"Benchmark comment {n}: the station at the lunar south pole is a fine idea.",
        "website": f"https://reader{n}.example.net",
    }
    async with session.post(url, json=body) as resp:
        await resp.read()
        return resp.status


async def drive(url: str, send: Send, first: int, count: int) -> None:
    """`count` requests, AT_ONCE at a time; every answer must be a 2xx."""
    numbers = iter(range(first, first + count))
    async with aiohttp.ClientSession() as session:

        async def one_after_another() -> None:
            for n in numbers:
                status = await send(session, url, n)
                assert 200 <= status < 300, (url, status)

        await asyncio.gather(*(one_after_another() for _ in range(AT_ONCE)))


def counted(
    argv: list[str], env: dict[str, str], ready: str, url: str, send: Send, n: int
) -> float:
    """Instructions per request of the server `argv` starts, over `n` requests to `url`."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}/cg.%p",
            sys.executable,
            "-m",
            *argv,
        ]
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_ready(ready, timeout=300)  # a Python starting under valgrind is slow
            asyncio.run(drive(url, send, 10**6, 200))  # warm: caches filled, code paths taken
            _control("--instr=on", proc.pid)
            asyncio.run(drive(url, send, 0, n))
            _control("--instr=off", proc.pid)
            _control("--dump", proc.pid)  # the counts so far, into a file of their own
        finally:
            stop(proc)
        total = 0
        for dump in glob.glob(f"{out}/cg.*"):
            for line in Path(dump).read_text(errors="replace").splitlines():
                if line.startswith("totals:"):
                    total += int(line.split()[1])
        return total / n


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    n = parser.parse_args().requests
    missing = [tool for tool in ("valgrind", "callgrind_control") if not shutil.which(tool)]
    if missing:
        print(f"needs {', '.join(missing)} (apt-get install valgrind)", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        conn = redis.Redis.from_url(server.url)
        migrations.ensure_readable(conn)
        seed_thread(conn, ARTICLE, 20, replies=4)
        env = bench_env(server.url)
        reads = {"first page (limit=20)": "&limit=20", "whole thread": ""}
        for name, query in reads.items():
            path = f"/api/v1/comments?article={ARTICLE}{query}"
            port, bare_port = free_port(), free_port()
            api = ["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port)]
            ours = counted(api, env, f"http://127.0.0.1:{port}/readyz",
                           f"http://127.0.0.1:{port}{path}", read, n)  # fmt: skip
            body = Path(tmp) / "body"
            body.write_bytes(_thread_bytes(env, path))
            bare = ["tests.bench.pages", "--bare", str(bare_port), str(body)]
            url = f"http://127.0.0.1:{bare_port}{path}"
            rows.append((f"GET {name}", ours, counted(bare, env, url, url, read, n)))
        port, bare_port = free_port(), free_port()
        api = ["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port)]
        ours = counted(api, env, f"http://127.0.0.1:{port}/readyz",
                       f"http://127.0.0.1:{port}/api/v1/comments", submit, n)  # fmt: skip
        bare = ["tests.bench.bare", "--port", str(bare_port)]
        url = f"http://127.0.0.1:{bare_port}/api/v1/comments"
        rows.append(("POST a comment", ours, counted(bare, env, url, url, submit, n)))
    print(f"instructions per request (callgrind), {n:,} requests {AT_ONCE} at a time, the")
    print("server process only; beside a bare aiohttp handler doing the same I/O")
    print()
    print("| request | service | bare aiohttp | bare / service |")
    print("|---|---:|---:|---:|")
    for name, ours, bare_count in rows:
        ratio = bare_count / ours
        print(f"| {name} | {ours / 1000:,.1f}k | {bare_count / 1000:,.1f}k | {ratio:.2f} |")
    return 0


def _control(what: str, pid: int) -> None:
    subprocess.run(["callgrind_control", what, str(pid)], check=True, capture_output=True)


def _thread_bytes(env: dict[str, str], path: str) -> bytes:
    """The bytes the service answers for `path`, from a process of its own (not counted)."""
    port = free_port()
    api = ["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen([sys.executable, "-m", *api], env=env, start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as resp:
            return bytes(resp.read())
    finally:
        stop(proc)


if __name__ == "__main__":
    raise SystemExit(main())
