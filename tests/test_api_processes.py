"""`comments api --processes 2` under load: one process killed, the other keeps answering,
the supervisor starts a new one that serves, and SIGTERM stops them all warmly."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable

import aiohttp
import psutil
import redis

from service.core import keys
from service.core.settings import Settings
from service.entry.embedded_redis import free_port
from service.queueing.queues import queue
from tests.helpers import stored_comments, worker_env

Result = tuple[float, int | None, str | None]


def api_children(supervisor: asyncio.subprocess.Process) -> list[psutil.Process]:
    children: list[psutil.Process] = psutil.Process(supervisor.pid).children()
    return children


def listens(process: psutil.Process, port: int) -> bool:
    try:
        sockets = process.net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return False
    return any(s.status == psutil.CONN_LISTEN and s.laddr.port == port for s in sockets)


async def until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_a_killed_api_process_is_replaced_while_the_others_answer(
    rconn: redis.Redis, settings: Settings
) -> None:
    port = free_port()
    command = ["api", "--host", "127.0.0.1", "--port", str(port), "--processes", "2"]
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.entry.cli",
        *command,
        env=worker_env(settings) | {"COMMENTS_LOG_LEVEL": "WARNING"},
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1/comments"
    results: list[Result] = []
    try:
        await until(
            lambda: (
                len(first := api_children(supervisor)) == 2 and all(listens(p, port) for p in first)
            ),
            30,
            "two API processes did not start",
        )
        first = api_children(supervisor)

        # A new connection for every request: the kernel picks a process for each.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            stop = asyncio.Event()

            async def stream(worker: int) -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    body = {
                        "article": "a",
                        "name": "N",
                        "email": f"p{worker}-{n}@example.com",
                        "comment": f"Comment {worker}/{n}",
                    }
                    try:
                        async with session.post(url, json=body) as resp:
                            data = await resp.json()
                            results.append((time.monotonic(), resp.status, data.get("id")))
                    except aiohttp.ClientError:  # in flight on the process that was killed
                        results.append((time.monotonic(), None, None))
                    await asyncio.sleep(0.005)

            load = [asyncio.create_task(stream(w)) for w in range(4)]
            await asyncio.sleep(1.0)
            killed_at = time.monotonic()
            first[0].kill()
            await until(
                lambda: any(
                    p.pid not in {q.pid for q in first} and listens(p, port)
                    for p in api_children(supervisor)
                ),
                30,
                "the killed API process was not replaced",
            )
            replaced_at = time.monotonic()
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*load)

            # The survivor stops answering a moment: whatever is answered now, the
            # replacement answered. Requests the kernel gave the stopped one time out.
            survivor = first[1]
            replacement = next(p for p in api_children(supervisor) if p.pid != survivor.pid)
            survivor.send_signal(signal.SIGSTOP)
            probes: list[int | None] = []
            # Until the replacement answers (at most 10 s): each probe on a new connection,
            # which the kernel gives to either process, and time enough for a fresh
            # process's first request on a loaded machine.
            probe_until = time.monotonic() + 10.0
            while time.monotonic() < probe_until and 202 not in probes:
                body = {"article": "a", "name": "N", "email": "q@example.com", "comment": "Q"}
                try:
                    timeout = aiohttp.ClientTimeout(total=1.0)
                    async with (
                        aiohttp.ClientSession(
                            connector=aiohttp.TCPConnector(force_close=True)
                        ) as fresh,
                        fresh.post(url, json=body, timeout=timeout) as resp,
                    ):
                        probes.append(resp.status)
                except (TimeoutError, aiohttp.ClientError):
                    probes.append(None)
            survivor.send_signal(signal.SIGCONT)

        supervisor.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(supervisor.wait(), 60) == 0
        assert not replacement.is_running()
        assert not survivor.is_running()
    finally:
        if supervisor.returncode is None:
            supervisor.kill()
            await supervisor.wait()
        for child in psutil.Process().children(recursive=True):
            if "--reuse-port" in child.cmdline():
                child.kill()

    statuses = {status for _, status, _ in results}
    assert statuses <= {202, None}, statuses  # never an error answer
    after_kill = [r for r in results if r[0] > killed_at + 0.5]
    assert after_kill
    assert all(status == 202 for _, status, _ in after_kill), "the survivor stopped answering"
    assert 202 in probes, "the replacement process answered nothing"
    assert replaced_at - killed_at < 10

    accepted = [cid for _, status, cid in results if status == 202]
    stored = stored_comments(rconn)
    queued = set(queue(rconn, settings).get_job_ids())
    missing = [cid for cid in accepted if cid not in stored or keys.process_job(cid) not in queued]
    assert missing == []


async def test_processes_that_refuse_the_data_stop_the_supervisor_with_their_code(
    rconn: redis.Redis, settings: Settings
) -> None:
    """Data an older release wrote (no format mark): restarting would not help, so the
    supervisor stops at once and says why with the same exit code as a single process."""
    rconn.set(keys.flood("ip", "192.0.2.1"), "x")  # something of ours, but no format mark
    port = free_port()
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.entry.cli", "api", "--processes", "2",
        "--host", "127.0.0.1", "--port", str(port),
        env=worker_env(settings), stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(supervisor.communicate(), timeout=60)
    assert supervisor.returncode == 3
    assert b"comments migrate" in stderr
