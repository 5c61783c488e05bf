"""`make bench`: what COMMENTS_REDIS_MIN_REPLICAS=1 costs, in the same run.

A primary (AOF, fsync every second) and one replica on this machine; one API process answers
wrk's 64 connections for 10 s, first without waiting for the replica, then with
`COMMENTS_REDIS_MIN_REPLICAS=1` (each batch is answered after the replica acknowledged it:
WAIT). Prints throughput and latency of both. On one machine the replica is a loopback round
trip away; across machines add the network's round trip to every batch.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import redis

from service.entry.embedded_redis import RedisServer, free_port
from tests.bench.intake import Run, bench_env, running, wrk


def in_sync(replica: RedisServer) -> bool:
    with redis.Redis(port=replica.port) as client:
        return bool(client.info("replication").get("master_link_status") == "up")


def run(server: RedisServer, min_replicas: int, opts: argparse.Namespace) -> Run:
    env = bench_env(server.url) | {
        "COMMENTS_REDIS_MIN_REPLICAS": str(min_replicas),
        "COMMENTS_REDIS_REPLICA_TIMEOUT": "1",
    }
    port = free_port()
    command = ["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, env, f"http://127.0.0.1:{port}/readyz"):
        url = f"http://127.0.0.1:{port}/api/v1/comments"
        wrk("warm-up", url, 2, opts.connections)
        name = "no wait" if not min_replicas else f"WAIT {min_replicas} replica"
        return wrk(name, url, opts.seconds, opts.connections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    opts = parser.parse_args()
    sync_now = ("--repl-diskless-sync-delay", "0")
    with (
        tempfile.TemporaryDirectory() as tmp,
        RedisServer(Path(tmp) / "primary", extra_args=sync_now) as primary,
    ):
        replica_args = (*sync_now, "--replicaof", "127.0.0.1", str(primary.port))
        with RedisServer(Path(tmp) / "replica", extra_args=replica_args) as replica:
            deadline = time.monotonic() + 30
            while not in_sync(replica):
                assert time.monotonic() < deadline, "the replica did not sync"
                time.sleep(0.1)
            runs = [run(primary, 0, opts), run(primary, 1, opts)]
    print(
        f"\nDurability against latency: one API process, wrk {opts.connections} connections, "
        f"{opts.seconds} s each, a primary and a replica on this machine ({os.cpu_count()} cores)\n"
    )
    print(f"{'':22}{'accepted/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'non-2xx':>9}")
    for r in runs:
        print(
            f"{r.name:22}{r.rate:11,.0f}{r.p50_ms:9.2f}{r.p99_ms:9.2f}{r.max_ms:9.1f}"
            f"{r.non2xx + r.socket_errors:9d}"
        )
    plain, waited = runs
    print(
        f"\nWAIT costs {1 - waited.rate / plain.rate:.0%} of the throughput and "
        f"{waited.p50_ms - plain.p50_ms:+.1f} ms at p50"
    )
    return 0 if waited.non2xx == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
