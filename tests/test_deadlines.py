"""The request time limit: one timer for every request in flight (service/web/deadlines.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

from service.web.deadlines import Deadlines

LIMIT_S = 0.2


async def _request(deadlines: Deadlines, work: Awaitable[None], lift: bool = False) -> str:
    with deadlines.start() as deadline:
        if lift:
            deadline.reschedule(None)
        await work
    return "answered"


async def test_each_request_ends_at_its_own_deadline_and_not_before() -> None:
    deadlines = Deadlines(LIMIT_S)
    loop = asyncio.get_running_loop()
    never: asyncio.Future[None] = loop.create_future()
    quick = asyncio.create_task(_request(deadlines, asyncio.sleep(0)))
    stuck = asyncio.create_task(_request(deadlines, never))
    stream_ends: asyncio.Future[None] = loop.create_future()
    streaming = asyncio.create_task(_request(deadlines, stream_ends, lift=True))
    assert await quick == "answered"
    with pytest.raises(TimeoutError):
        await stuck
    # A later request is not cut short by the earlier one's deadline passing.
    later_done: asyncio.Future[None] = loop.create_future()
    later = asyncio.create_task(_request(deadlines, later_done))
    await asyncio.sleep(0)
    later_done.set_result(None)
    assert await later == "answered"
    # A lifted limit (a live stream) outlasts every deadline.
    await asyncio.sleep(LIMIT_S * 2)
    assert not streaming.done()
    stream_ends.set_result(None)
    assert await streaming == "answered"


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = Deadlines(60)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(_request(deadlines, never))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_an_app_served_again_in_another_loop_still_times_out() -> None:
    deadlines = Deadlines(LIMIT_S)

    async def answered() -> str:
        return await _request(deadlines, asyncio.sleep(0))  # arms the timer in this loop

    async def stuck() -> None:
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with pytest.raises(TimeoutError):
            await _request(deadlines, never)

    assert asyncio.run(answered()) == "answered"  # the loop ends before the timer fires
    asyncio.run(stuck())
