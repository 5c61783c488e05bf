"""`make bench`: accepted comment submissions per second, beside the bare-aiohttp ceiling
and Isso, all measured in the same run.

Starts a real redis-server (AOF, fsync every second) and drives concurrent POSTs with wrk from
its own process at: a bare aiohttp handler that only reads the body (the ceiling), the
service with one API process, with one API process while a worker drains the queue beside
it, with two API processes (`comments api --processes 2`), and Isso 0.14 under gunicorn with
two workers (installed into its own venv in the temporary folder; skipped with a reason if
that fails). The ceiling and one API process, which the target compares, are measured in
turns for `--rounds` rounds (3) and the median printed. Beside throughput and latency it prints
the CPU time each server spent per request, which a busy machine disturbs far less than
throughput. Afterwards it checks that every 2xx answer left a stored comment (durability under
load).
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis

from service.entry.embedded_redis import RedisServer, free_port
from tests.bench import isso

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
    cpu_us: float = 0.0  # the server's CPU time per request (all its processes)
    warm_accepted: int = 0  # 2xx answers of the warm-up before it (they stored comments too)

    @property
    def rate(self) -> float:
        return (self.requests - self.non2xx) / self.seconds

    @property
    def accepted(self) -> int:
        return self.requests - self.non2xx


def bench_env(redis_url: str) -> dict[str, str]:
    """Settings for the processes under load. One load generator is one address: the abuse
    limits are lifted for the measurement. WARNING keeps the workers' line per job out of the
    output; the API writes no line per request at the default INFO either (no access log
    unless COMMENTS_ACCESS_LOG), so its figures are the default's."""
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


def wrk(name: str, url: str, seconds: int, connections: int, *args: str) -> Run:
    script = str(HERE / "post.lua")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script, url]
    command += ["--", *args] if args else []
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


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of these processes and their children so far."""
    total = 0.0
    for pid in pids:
        proc = psutil.Process(pid)
        for p in [proc, *proc.children(recursive=True)]:
            times = p.cpu_times()
            total += times.user + times.system
    return total


def measured(name: str, url: str, pids: list[int], opts: argparse.Namespace, *args: str) -> Run:
    """A warm-up, then the run, with the servers' CPU time per request."""
    warm = wrk("warm-up", url, 2, opts.connections, *args)
    before = cpu_seconds(pids)
    run = wrk(name, url, opts.seconds, opts.connections, *args)
    run.cpu_us = (cpu_seconds(pids) - before) / max(run.requests, 1) * 1e6
    run.warm_accepted = warm.accepted
    return run


@contextmanager
def running(args: list[str], env: dict[str, str], ready: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = start(args, env)
    try:
        wait_ready(ready)
        yield proc
    finally:
        stop(proc)


def stored(url: str) -> int:
    conn = redis.Redis.from_url(url)
    try:
        return sum(1 for _ in conn.scan_iter("cm:*:c:*", count=10_000))
    finally:
        conn.close()


@dataclass
class Durability:
    """Comments stored against 2xx answers, over the service's runs."""

    answered: int = 0
    stored: int = 0
    runs: int = 0

    def add(self, warm_and_run: int, before: int, after: int) -> None:
        self.answered += warm_and_run
        self.stored += after - before
        self.runs += 1


def service_run(
    name: str,
    args: list[str],
    env: dict[str, str],
    server: RedisServer,
    opts: argparse.Namespace,
    durability: Durability,
    with_worker: bool = False,
) -> Run:
    port = free_port()
    command = ["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port), *args]
    before = stored(server.url)
    with running(command, env, f"http://127.0.0.1:{port}/readyz") as api:
        worker = start(["service.entry.cli", "worker"], env) if with_worker else None
        try:
            url = f"http://127.0.0.1:{port}/api/v1/comments"
            run = measured(name, url, [api.pid], opts)
        finally:
            if worker is not None:
                stop(worker)
    # Without a worker nothing is decided, so every stored comment is still a record.
    durability.add(run.warm_accepted + run.accepted, before, stored(server.url))
    return run


def ceiling_and_one(
    env: dict[str, str], server: RedisServer, opts: argparse.Namespace, durability: Durability
) -> tuple[list[Run], list[Run]]:
    """The bare handler and one API process, both running, measured in turns for
    `opts.rounds` rounds: on a machine whose CPU the host shares (here a VM: the same code
    measured 3,300-4,900 comments/s from one minute to the next), a single pair of runs says
    more about that minute than about the code."""
    bare_port, port = free_port(), free_port()
    bare_args = ["tests.bench.bare", "--port", str(bare_port)]
    api_args = ["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port)]
    ceiling, ours = [], []
    with (
        running(bare_args, env, f"http://127.0.0.1:{bare_port}/nothing-here") as bare,
        running(api_args, env, f"http://127.0.0.1:{port}/readyz") as api,
    ):
        for _ in range(opts.rounds):
            url = f"http://127.0.0.1:{bare_port}/api/v1/comments"
            ceiling.append(measured("bare aiohttp (ceiling)", url, [bare.pid], opts))
            before = stored(server.url)
            url = f"http://127.0.0.1:{port}/api/v1/comments"
            run = measured("service, 1 API process", url, [api.pid], opts)
            ours.append(run)
            durability.add(run.warm_accepted + run.accepted, before, stored(server.url))
    return ceiling, ours


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.rate)[len(runs) // 2]


def isso_run(tmp: Path, opts: argparse.Namespace) -> Run | str:
    """Isso's run, or why there is none."""
    folder = tmp / "isso"
    try:
        bin_dir = isso.install(folder)
    except (isso.IssoUnavailable, OSError, subprocess.SubprocessError) as exc:
        return f"Isso not measured: {exc}"
    port = free_port()
    proc = isso.start(bin_dir, folder, port)
    try:
        wait_ready(f"http://127.0.0.1:{port}/info", timeout=60)
        url = f"http://127.0.0.1:{port}"
        return measured("Isso 0.14, gunicorn -w 2", url, [proc.pid], opts, "isso")
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Isso not measured: {exc}"
    finally:
        stop(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-isso", action="store_true", help="skip installing Isso")
    parser.add_argument("--rounds", type=int, default=3, help="turns of ceiling and service")
    opts = parser.parse_args()

    durability = Durability()
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        env = bench_env(server.url)
        ceiling, ours = ceiling_and_one(env, server, opts, durability)
        bare_run, one = median_run(ceiling), median_run(ours)
        runs: list[Run] = [bare_run, one]
        runs.append(
            service_run(
                "  + a worker beside it", [], env, server, opts, durability, with_worker=True
            )
        )
        two = service_run(
            "service, 2 API processes", ["--processes", "2"], env, server, opts, durability
        )
        runs.append(two)
        other = isso_run(Path(tmp), opts) if not opts.no_isso else "Isso not measured (--no-isso)"
        if isinstance(other, Run):
            runs.append(other)

    print(
        f"\nIntake benchmark: wrk 1 thread, {opts.connections} connections, {opts.seconds} s "
        f"each, {os.cpu_count()} cores, Redis AOF appendfsync everysec; the ceiling and one API "
        f"process: the median of {opts.rounds} rounds in turns\n"
    )
    print(
        f"{'':28}{'accepted/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'non-2xx':>9}"
        f"{'CPU us/req':>12}"
    )
    for r in runs:
        print(
            f"{r.name:28}{r.rate:11,.0f}{r.p50_ms:9.2f}{r.p99_ms:9.2f}{r.max_ms:9.1f}"
            f"{r.non2xx + r.socket_errors:9d}{r.cpu_us:12,.0f}"
        )
    shares = sorted(o.rate / c.rate for c, o in zip(ceiling, ours, strict=True))
    cpu = sorted(c.cpu_us / o.cpu_us for c, o in zip(ceiling, ours, strict=True))
    print(
        f"\n1 API process / ceiling, median of the rounds: {shares[len(shares) // 2]:.1%} of the "
        f"requests (target >= 20%), {cpu[len(cpu) // 2]:.1%} of the CPU time per request"
    )
    print(
        "  per round: "
        + ", ".join(f"{o.rate:,.0f}/{c.rate:,.0f}/s" for c, o in zip(ceiling, ours, strict=True))
    )
    print(f"p99 of 1 API process: {one.p99_ms:.1f} ms (target <= 50 ms)")
    print(f"2 API processes / 1: {two.rate / one.rate:.2f}x")
    if isinstance(other, Run):
        print(
            f"1 API process / Isso: {one.rate / other.rate:.1f}x (target >= 10x), "
            f"{other.cpu_us / one.cpu_us:.1f}x less CPU per request"
        )
    else:
        print(other)
    slack = 2 * opts.connections * durability.runs
    print(
        f"comments stored: {durability.stored}; answered 202: {durability.answered} "
        f"(+ up to {slack} in flight when wrk stopped)"
    )
    durable = durability.answered <= durability.stored <= durability.answered + slack
    durable = durable and all(r.non2xx == 0 for r in [*ours, *runs[2:4]])
    print("every accepted submission stored: " + ("yes" if durable else "NO"))
    return 0 if durable else 1


if __name__ == "__main__":
    sys.exit(main())
