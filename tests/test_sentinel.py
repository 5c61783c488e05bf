"""Redis failover with Sentinel: real processes, a primary killed under load.

A primary, a replica and three Sentinels, started here. The API (with
COMMENTS_REDIS_MIN_REPLICAS=1) and a worker run as real processes with a redis+sentinel://
URL. Killing the primary gives 503s with Retry-After while the Sentinels promote the replica;
the old primary comes back as a replica (as a restarted node does), and the API carries on by
itself, with no restart. Every comment answered 202 exists afterwards, and the worker decides
all of them.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import redis

from service.core import keys
from service.core.settings import SettingsError
from service.entry.embedded_redis import RedisServer, find_redis_server, free_port
from service.store import connections
from tests.helpers import api_ready, make_settings, run_cli, worker_env

SERVICE = "comments-primary"


def data_node(folder: Path, replica_of: int | None = None, port: int | None = None) -> RedisServer:
    """A Redis server for the primary's role, or a replica's. A replica's first sync starts at
    once (Redis waits 5 s by default, for more replicas to share one snapshot)."""
    extra: tuple[str, ...] = ("--repl-diskless-sync-delay", "0")
    if replica_of is not None:
        extra += ("--replicaof", "127.0.0.1", str(replica_of))
    return RedisServer(folder, port=port, extra_args=extra)


def in_sync(replica: RedisServer) -> bool:
    with redis.Redis(port=replica.port, socket_timeout=0.5) as client:
        return bool(client.info("replication").get("master_link_status") == "up")


@dataclass
class SentinelSetup:
    """A primary, a replica and three Sentinels watching them on 127.0.0.1."""

    root: Path
    primary: RedisServer = field(init=False)
    replica: RedisServer = field(init=False)
    sentinel_ports: list[int] = field(default_factory=list)
    sentinels: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> SentinelSetup:
        self.primary = data_node(self.root / "primary").start()
        self.replica = data_node(self.root / "replica", self.primary.port).start()
        self.wait(lambda: in_sync(self.replica), "the replica did not sync")
        for n in range(3):
            port, folder = free_port(), self.root / f"sentinel{n}"
            folder.mkdir()
            config = folder / "sentinel.conf"  # a Sentinel rewrites its own config file
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {folder}\nlogfile {folder / 'log'}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
            )
            self.sentinel_ports.append(port)
            self.sentinels.append(
                subprocess.Popen([find_redis_server(), str(config), "--sentinel"])
            )
        self.wait(self._watching, "the Sentinels did not find the replica and each other")
        return self

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def primary_port(self) -> int | None:
        """The primary the Sentinels name now (None while none answers)."""
        for port in self.sentinel_ports:
            with redis.Redis(port=port, socket_timeout=0.5) as sentinel:
                try:
                    address = sentinel.sentinel_get_master_addr_by_name(SERVICE)
                except redis.RedisError:
                    continue
                if address:
                    return int(address[1])
        return None

    def _watching(self) -> bool:
        for port in self.sentinel_ports:
            with redis.Redis(port=port, socket_timeout=0.5) as sentinel:
                try:
                    state = sentinel.sentinel_master(SERVICE)
                except redis.RedisError:
                    return False
                if state["num-slaves"] < 1 or state["num-other-sentinels"] < 2:
                    return False
        return True

    @staticmethod
    def wait(check: object, what: str, timeout: float = 30.0) -> None:
        assert callable(check)
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, what
            time.sleep(0.1)

    def stop(self) -> None:
        for process in self.sentinels:
            process.terminate()
        for process in self.sentinels:
            process.wait(10)
        self.replica.stop()
        self.primary.stop()


@pytest.fixture
def sentinel_setup(tmp_path: Path) -> Iterator[SentinelSetup]:
    setup = SentinelSetup(tmp_path).start()
    yield setup
    setup.stop()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://127.0.0.1:26379", "name the Sentinel service"),
        ("redis+sentinel://127.0.0.1:26379/", "name the Sentinel service"),
        ("redis+sentinel://127.0.0.1:port/main", "bad Sentinel port"),
        ("redis+sentinel://127.0.0.1:26379/main/zero", "database number"),
        ("redis+sentinel://127.0.0.1:26379,:26380/main", "needs a host"),
        ("redis+sentinel://127.0.0.1:26379/main?ssl=1", "no query string"),
        ("sentinel://127.0.0.1:26379/main", "use one of"),
    ],
)
def test_bad_redis_urls_are_refused_with_the_reason(url: str, says: str) -> None:
    settings = make_settings(url)
    with pytest.raises(SettingsError, match=says):
        settings.check()
    with pytest.raises(SettingsError, match=says):
        settings.with_overrides(mode="production").check()


def test_the_cli_finds_the_primary_through_the_sentinels(
    sentinel_setup: SentinelSetup,
) -> None:
    settings = make_settings(sentinel_setup.url)
    assert '"held": 0' in run_cli(settings, "status", "--json")
    client = connections.sync_client(settings)
    try:
        assert client.connection_pool.connection_kwargs["db"] == 0
        assert client.set("probe", "1")
    finally:
        connections.close(client)
    with redis.Redis(port=sentinel_setup.primary.port) as primary:
        assert primary.get("probe") == b"1"


async def test_failover_under_load_loses_no_accepted_comment(
    sentinel_setup: SentinelSetup,
) -> None:
    settings = make_settings(
        sentinel_setup.url, redis_timeout_s=0.5, redis_min_replicas=1, redis_replica_timeout_s=0.5
    )
    env = worker_env(settings) | {"COMMENTS_LOG_LEVEL": "WARNING"}
    port = free_port()
    cli = (sys.executable, "-m", "service.entry.cli")
    api = await asyncio.create_subprocess_exec(
        *cli, "api", "--host", "127.0.0.1", "--port", str(port), env=env
    )
    worker = await asyncio.create_subprocess_exec(*cli, "worker", env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        results: list[tuple[float, int, str | None]] = []
        old_primary = sentinel_setup.primary
        try:
            async with aiohttp.ClientSession() as session:
                await api_ready(session, url, 30)

                stop = asyncio.Event()

                async def stream(writer: int) -> None:
                    n = 0
                    while not stop.is_set():
                        n += 1
                        body = {
                            "article": f"article-{n % 3}",
                            "name": "N",
                            "email": f"s{writer}-{n}@example.com",
                            "comment": f"Comment {writer}/{n}",
                        }
                        async with session.post(f"{url}/api/v1/comments", json=body) as resp:
                            data = await resp.json()
                            if resp.status == 503:
                                assert data["error"]["code"] == "storage_unavailable"
                                assert int(resp.headers["Retry-After"]) > 0
                                await asyncio.sleep(0.1)
                            results.append((time.monotonic(), resp.status, data.get("id")))
                        await asyncio.sleep(0.01)

                load = [asyncio.create_task(stream(w)) for w in range(3)]
                await asyncio.sleep(1.0)
                killed_at = time.monotonic()
                assert old_primary.process is not None
                old_primary.process.send_signal(signal.SIGKILL)
                old_primary.process.wait()
                await asyncio.to_thread(
                    sentinel_setup.wait,
                    lambda: sentinel_setup.primary_port() == sentinel_setup.replica.port,
                    "the Sentinels did not promote the replica",
                )
                promoted_at = time.monotonic()
                # The old primary comes back, as the promoted one's replica: with
                # MIN_REPLICAS=1, batches are acknowledged again only from then on.
                revived = data_node(
                    old_primary.data_dir, sentinel_setup.replica.port, port=old_primary.port
                )
                await asyncio.to_thread(revived.start)
                sentinel_setup.primary = revived
                await asyncio.to_thread(sentinel_setup.wait, lambda: in_sync(revived), "no resync")
                # Keep the load on until the last five answers after the settling time were
                # accepted: a condition, not a sleep, so a slow machine (whose API may take
                # longer than the settling time to find the promoted replica) still passes,
                # and an API that never carries on fails at the deadline.
                settled = promoted_at + 2.0
                deadline = time.monotonic() + 60
                while [s for at, s, _ in results if at > settled][-5:] != [202] * 5:
                    assert time.monotonic() < deadline, "no run of 202s after the failover"
                    await asyncio.sleep(0.1)
                stop.set()
                await asyncio.gather(*load)
        finally:
            api.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(api.wait(), 60) == 0

        statuses = [status for _, status, _ in results]
        assert set(statuses) <= {202, 503}, set(statuses)
        before = [s for at, s, _ in results if at < killed_at]
        during = [s for at, s, _ in results if killed_at + 0.2 < at < promoted_at]
        after = [s for at, s, _ in results if at > promoted_at + 2.0]
        assert before, "nothing was sent before the primary died"
        assert set(before) == {202}
        assert during, "nothing was sent during the failover"
        assert set(during) == {503}
        assert after, "nothing was sent after the failover"
        assert 202 in after, "the API did not carry on against the promoted replica"
        assert after[-5:] == [202] * 5

        # Every comment answered 202 is on the promoted primary, and the worker, reconnected by
        # itself, decides every one of them.
        client = connections.sync_client(make_settings(sentinel_setup.url))
        try:
            accepted = [cid for _, status, cid in results if status == 202 and cid]
            assert accepted
            with client.pipeline(transaction=False) as pipe:
                for cid in accepted:
                    pipe.exists(keys.comment(cid))
                found = pipe.execute()
            assert [cid for cid, hit in zip(accepted, found, strict=True) if not hit] == []

            # A job a worker had taken when the primary died may be lost with it (the dequeue was
            # replicated, its end was not): the sweep re-enqueues what is still undecided, here
            # at once rather than after COMMENTS_SWEEP_AFTER. It runs through the Sentinels too.
            run_cli(settings, "sweep", "--older-than", "0")
            deadline = time.monotonic() + 60
            while client.zcard(keys.pending()) > 0:
                assert worker.returncode is None, "the worker died"
                assert time.monotonic() < deadline, "the worker did not decide every comment"
                await asyncio.sleep(0.2)
            decided = [client.hget(keys.comment(cid), "status") for cid in accepted]
            assert b"pending" not in decided
        finally:
            connections.close(client)
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(worker.wait(), 60) == 0, "no warm shutdown"
    finally:
        for proc in (api, worker):  # never leave one behind, whatever failed
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
