"""SIGTERM under load: in-flight requests finish, and every 202 is stored with its job, for one
API process and for a supervised pool of them (`--processes 2`)."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import aiohttp
import pytest
import redis

from service.core import keys
from service.core.settings import Settings
from service.entry.embedded_redis import free_port
from service.queueing.queues import queue
from tests.helpers import api_ready, stored_comments, worker_env


@pytest.mark.parametrize("processes", [1, 2])
async def test_sigterm_under_load_loses_no_accepted_comment(
    rconn: redis.Redis, settings: Settings, processes: int
) -> None:
    port = free_port()
    env = worker_env(settings)  # make_settings lifts the abuse limits: this is one client
    api = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.entry.cli",
        "api",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--processes",
        str(processes),
        env=env,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        await api_ready(session, url)

        async def submit(i: int) -> tuple[int | None, str | None]:
            body = {
                "article": "a",
                "name": f"N{i}",
                "email": f"n{i}@example.com",
                "comment": f"Comment {i}",
            }
            try:
                async with session.post(f"{url}/api/v1/comments", json=body) as resp:
                    data = await resp.json()
                    return resp.status, data.get("id")
            except (TimeoutError, aiohttp.ClientError):
                return None, None  # refused or cut after shutdown began: not accepted

        # Submissions keep coming until the server refuses one: the signal lands under load.
        tasks: list[asyncio.Task[tuple[int | None, str | None]]] = []
        started = time.monotonic()
        signalled = False
        while not any(t.done() and t.result()[0] is None for t in tasks):
            tasks += [asyncio.create_task(submit(len(tasks) + i)) for i in range(20)]
            await asyncio.sleep(0.005)
            if not signalled and time.monotonic() - started > 0.15:
                api.send_signal(signal.SIGTERM)
                signalled = True
            assert time.monotonic() - started < 30, "the server never stopped accepting"
        results = await asyncio.gather(*tasks)
    assert await asyncio.wait_for(api.wait(), 60) == 0

    statuses = {status for status, _ in results}
    assert statuses <= {202, None}, statuses  # never a 5xx or a half answer
    accepted = [cid for status, cid in results if status == 202]
    assert accepted, "nothing was accepted before the signal"
    stored = stored_comments(rconn)
    queued = set(queue(rconn, settings).get_job_ids())
    missing = [cid for cid in accepted if cid not in stored or keys.process_job(cid) not in queued]
    assert missing == []


async def test_sigterm_ends_open_live_streams_and_the_api_exits_cleanly(
    rconn: redis.Redis, settings: Settings
) -> None:
    """Readers' event streams never end by themselves: the warm shutdown must end them, not
    wait for them (the browsers reconnect to another replica)."""
    port = free_port()
    api = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.entry.cli", "api", "--host", "127.0.0.1",
        "--port", str(port), env=worker_env(settings), stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await api_ready(session, url)
        streams = [
            await session.get(f"{url}/api/v1/stream", params={"article": f"a{i}"}) for i in range(5)
        ]
        for stream in streams:
            assert stream.status == 200
            assert (await stream.content.readline()).startswith(b"id: ")  # the `ready` event
        api.send_signal(signal.SIGTERM)
        for stream in streams:
            rest = await stream.content.read()  # returns once the server ended the stream
            assert b"event: published" not in rest
            stream.close()
    assert await asyncio.wait_for(api.wait(), 60) == 0
