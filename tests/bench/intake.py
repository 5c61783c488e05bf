"""`make bench`: accepted comment submissions per second, beside the bare-aiohttp ceiling.

Starts a real redis-server (AOF, fsync every second), the API and one worker as separate
processes, drives concurrent POSTs with wrk from its own process, and prints throughput and
latency for the service and for a bare handler measured in the same run. Afterwards it checks
that every 2xx answer left a stored comment (durability under load).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from service.entry.embedded_redis import RedisServer, free_port

HERE = Path(__file__).resolve().parent
SECRET = "bench-secret-" + "b" * 40


@dataclass
class Run:
    name: str
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return (self.requests - self.non2xx) / self.seconds


def bench_env(redis_url: str) -> dict[str, str]:
    """Settings for the processes under load. One load generator is one address: the abuse
    limits are lifted for the measurement."""
    unlimited = {f"COMMENTS_LIMIT_{s}": "100000000/60" for s in ("IP", "EMAIL", "ARTICLE", "SITE")}
    return {
        **os.environ,
        "COMMENTS_MODE": "production",
        "COMMENTS_REDIS_URL": redis_url,
        "COMMENTS_SECRET_KEY": SECRET,
        "COMMENTS_LOG_LEVEL": "WARNING",
        **unlimited,
    }


def wait_ready(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answered: it is up
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def wrk(name: str, url: str, seconds: int, connections: int) -> Run:
    script = str(HERE / "post.lua")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script, url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    r = json.loads(line.removeprefix("RESULT "))
    return Run(
        name,
        r["requests"],
        r["duration_us"] / 1e6,
        r["non2xx"],
        r["socket_errors"],
        r["p50_us"] / 1000,
        r["p99_us"] / 1000,
        r["max_us"] / 1000,
    )


def rq_enqueue_ceiling(url: str, seconds: float = 3.0, batch: int = 32) -> float:
    """RQ's own batched enqueue rate (Queue.enqueue_many in one pipeline), one thread, same
    Redis: what the intake writer pays per comment for the job alone."""
    conn = redis.Redis.from_url(url)
    queue = Queue("bench-ceiling", connection=conn, serializer=JSONSerializer)
    retry = Retry(max=5, interval=[5, 30, 120, 600, 1800])
    done, deadline = 0, time.perf_counter() + seconds
    start_at = time.perf_counter()
    while time.perf_counter() < deadline:
        with conn.pipeline(transaction=True) as pipe:
            jobs = [
                Queue.prepare_data(
                    "workers.jobs.process_comment",
                    args=(f"c{done + i}",),
                    job_id=f"ceiling-{done + i}",
                    timeout=60,
                    retry=retry,
                )
                for i in range(batch)
            ]
            queue.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()
        done += batch
    rate = done / (time.perf_counter() - start_at)
    conn.close()
    return rate


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", *args], env=env, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def rss_mb(proc: subprocess.Popen[bytes]) -> float:
    return float(psutil.Process(proc.pid).memory_info().rss) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        env = bench_env(server.url)
        bare_port, api_port = free_port(), free_port()
        runs: list[Run] = []

        bare = start(["tests.bench.bare", "--port", str(bare_port)], env)
        try:
            url = f"http://127.0.0.1:{bare_port}/api/v1/comments"
            wait_ready(f"http://127.0.0.1:{bare_port}/nothing-here")
            wrk("warm-up", url, 2, opts.connections)
            runs.append(wrk("bare aiohttp (ceiling)", url, opts.seconds, opts.connections))
        finally:
            stop(bare)

        api = start(
            ["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(api_port)], env
        )
        worker = start(["service.entry.cli", "worker"], env)
        try:
            wait_ready(f"http://127.0.0.1:{api_port}/readyz")
            rss_start = rss_mb(api)
            url = f"http://127.0.0.1:{api_port}/api/v1/comments"
            warm = wrk("warm-up", url, 2, opts.connections)
            runs.append(wrk("comment service", url, opts.seconds, opts.connections))
            rss_end = rss_mb(api)
        finally:
            stop(api)
            stop(worker)

        enqueue_rate = rq_enqueue_ceiling(server.url)
        conn = redis.Redis.from_url(server.url)
        stored = sum(1 for _ in conn.scan_iter("cm:*:c:*", count=10_000))
        queued = int(conn.llen("rq:queue:comments"))
        conn.close()

    bare_run, svc = runs
    # wrk counts completed responses; requests in flight when it stops may still be stored.
    accepted = (warm.requests - warm.non2xx) + (svc.requests - svc.non2xx)
    print(
        f"\nIntake benchmark: wrk 1 thread, {opts.connections} connections, {opts.seconds} s, "
        f"{os.cpu_count()} cores, Redis AOF appendfsync everysec\n"
    )
    print(f"{'':26}{'accepted/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'non-2xx':>9}")
    for r in runs:
        print(
            f"{r.name:26}{r.rate:12,.0f}{r.p50_ms:9.2f}{r.p99_ms:9.2f}{r.max_ms:9.1f}"
            f"{r.non2xx + r.socket_errors:9d}"
        )
    ratio = svc.rate / bare_run.rate
    print(
        f"\nservice / ceiling: {ratio:.1%} (target >= 20%)   p99: {svc.p99_ms:.1f} ms "
        f"(target < 50 ms)"
    )
    print(
        f"reference: RQ enqueue_many alone, one thread, batches of 32: {enqueue_rate:,.0f} jobs/s"
    )
    print(f"API RSS: {rss_start:.0f} MiB at start, {rss_end:.0f} MiB at end")
    slack = 2 * opts.connections
    print(f"comments stored: {stored}; answered 202: {accepted} (+ up to {slack} in flight")
    print(f"when wrk stopped); still queued when the worker stopped: {queued}")
    durable = accepted <= stored <= accepted + slack and svc.non2xx == 0
    print("every accepted submission stored: " + ("yes" if durable else "NO"))
    return 0 if durable else 1


if __name__ == "__main__":
    sys.exit(main())
