"""Failed deliveries keep the address sealed: in what RQ stores, in `comments status`, in logs.

Privacy links and reply notices go to the commenter's own address, so anyone can make them
fail. Real aiosmtpd servers refuse the recipient as Postfix does (quoting the address back) or
drop the connection before answering the message; the jobs run in-process and in real worker
processes (simple, forking, a pool). Then every value in Redis (unpacked as RQ compressed it),
the status command and the worker's output are searched for every form of the addresses.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from rq.job import Job
from rq.serializers import JSONSerializer

from service.core.settings import Settings
from service.core.statuses import Status
from service.entry.embedded_redis import RedisServer, free_port
from service.queueing.queues import Lane, queue
from tests.helpers import (
    Client,
    approve,
    drain,
    forbidden,
    key_dump,
    make_settings,
    redis_values,
    run_cli,
    run_worker_burst,
    stored_comments,
    submit,
    unpacked,
)

ADDRESSES = ["用户x@例子.广告", "Refused.Reader-4242@bounce-test-7731.example"]
REPLIER = "replier-5150@example.net"
# How each kind of worker is started: in this process, or as `comments worker --burst ...`.
RUNNERS: dict[str, tuple[str, ...] | None] = {
    "in-process": None,
    "simple": (),
    "fork": ("--worker-class", "fork"),
    "pool": ("--processes", "2"),
}


class RefuseRecipients:
    """Refuses every recipient as Postfix does, quoting the address back."""

    async def handle_RCPT(
        self, server: object, session: object, envelope: Any, address: str, options: list[str]
    ) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected"


class DropDuringData:
    """Reads the whole message, then closes the connection instead of answering it."""

    async def handle_DATA(self, server: Any, session: object, envelope: Any) -> str:
        server.transport.close()
        return "250 OK"  # never reaches the client


@pytest.fixture
def settings(redis_server: RedisServer, rconn: redis.Redis) -> Settings:
    # No retries: the first failure is final, which is when RQ stores the exception.
    return make_settings(redis_server.url, notify_retry_intervals_s=())


def smtp_server(handler: object) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def refusing_smtp() -> Iterator[int]:
    yield from smtp_server(RefuseRecipients())


@pytest.fixture
def dropping_smtp() -> Iterator[int]:
    yield from smtp_server(DropDuringData())


async def mails_to_commenters(client: Client, rconn: redis.Redis, settings: Settings) -> int:
    """Queue a reply notice and a privacy link for each address; the number of jobs."""
    parents = [
        await submit(client, email=address, notify_replies=True, name="Ana")
        for address in ADDRESSES
    ]
    await publish(rconn, settings)
    for parent in parents:
        await submit(client, email=REPLIER, parent_id=parent, comment="Agreed on that.")
    await publish(rconn, settings)
    for address in ADDRESSES:
        resp = await client.post("/api/v1/privacy/requests", json={"email": address})
        assert resp.status == 202, await resp.text()
    notify = queue(rconn, settings, Lane.NOTIFY)
    assert notify.count == 2 * len(ADDRESSES), notify.get_job_ids()
    return notify.count


async def publish(rconn: redis.Redis, settings: Settings) -> None:
    """Decide every new comment, then approve it as a moderator would."""
    await drain(settings)
    for cid, record in stored_comments(rconn).items():
        if record["status"] != Status.APPROVED:
            approve(rconn, settings, cid)


async def run_jobs(settings: Settings, runner: str) -> str:
    """Run the queued jobs with `runner`; what the worker printed (nothing in-process)."""
    args = RUNNERS[runner]
    if args is None:
        await drain(settings)
        return ""
    worker = await asyncio.to_thread(run_worker_burst, settings, *args)
    return worker.stdout + worker.stderr


def failures(rconn: redis.Redis, settings: Settings) -> list[str]:
    registry = queue(rconn, settings, Lane.NOTIFY).failed_job_registry
    jobs = Job.fetch_many(registry.get_job_ids(), connection=rconn, serializer=JSONSerializer)
    results = [job.latest_result() for job in jobs if job is not None]
    return [result.exc_string or "" for result in results if result is not None]


async def assert_nothing_leaked(
    rconn: redis.Redis,
    settings: Settings,
    worker_output: str,
    logs: io.StringIO,
    failed: int = 2 * len(ADDRESSES),
    stored: bytes | None = None,
) -> None:
    """Search what Redis holds (or only `stored`), the status command's output, the worker's
    output and the logs for every form of every address."""
    status_json = await asyncio.to_thread(run_cli, settings, "status", "--json")
    status_text = await asyncio.to_thread(run_cli, settings, "status")
    sources = {
        "redis": redis_values(rconn) + key_dump(rconn) if stored is None else stored,
        "comments status --json": status_json.encode(),
        "comments status": status_text.encode(),
        "worker output": worker_output.encode(),
        "logs": logs.getvalue().encode(),
    }
    for address in ADDRESSES:
        for needle in forbidden(address, domain=True):
            for name, haystack in sources.items():
                assert needle not in haystack, f"{needle!r} (from {address}) found in {name}"
    reasons = json.loads(status_json)["queues"][f"{settings.queue_name}-notify"]
    assert sum(reasons["failed_by_reason"].values()) == failed, reasons


@pytest.mark.parametrize("runner", RUNNERS)
async def test_a_refused_recipient_is_stored_without_its_address(
    client: Client,
    rconn: redis.Redis,
    settings: Settings,
    refusing_smtp: int,
    captured_logs: io.StringIO,
    runner: str,
) -> None:
    count = await mails_to_commenters(client, rconn, settings)
    smtp = settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{refusing_smtp}")
    output = await run_jobs(smtp, runner)
    await assert_nothing_leaked(rconn, settings, output, captured_logs)

    stored = failures(rconn, settings)
    assert len(stored) == count
    for exc_info in stored:
        # A fixed description and the code; no chained traceback of the original error.
        assert exc_info.strip().splitlines()[-1] == (
            "workers.delivery.DeliveryError: SMTP refused the recipient (550)"
        ), exc_info
        assert "During handling" not in exc_info
        assert "direct cause" not in exc_info


@pytest.mark.parametrize("runner", ["in-process", "simple"])
async def test_a_connection_dropped_during_data_is_stored_sanitised(
    client: Client,
    rconn: redis.Redis,
    settings: Settings,
    dropping_smtp: int,
    captured_logs: io.StringIO,
    runner: str,
) -> None:
    count = await mails_to_commenters(client, rconn, settings)
    smtp = settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{dropping_smtp}")
    output = await run_jobs(smtp, runner)
    await assert_nothing_leaked(rconn, settings, output, captured_logs)

    stored = failures(rconn, settings)
    assert len(stored) == count
    for exc_info in stored:
        assert exc_info.strip().splitlines()[-1] == (
            "workers.delivery.DeliveryError: the SMTP server closed the connection"
        ), exc_info
        assert "During handling" not in exc_info


@pytest.fixture
async def refusing_webhook() -> AsyncIterator[str]:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=503, reason="Rejected for leak-marker@receiver.example")

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app) as server:
        yield str(server.make_url("/hook"))


async def test_a_failed_webhook_stores_the_status_code_only(
    client: Client, rconn: redis.Redis, settings: Settings, refusing_webhook: str
) -> None:
    await submit(client, email=ADDRESSES[0])
    await drain(settings, webhook_url=refusing_webhook, webhook_secret="w" * 40)
    [exc_info] = failures(rconn, settings)
    assert exc_info.strip().splitlines()[-1] == (
        "workers.delivery.DeliveryError: the webhook answered HTTP 503"
    ), exc_info
    assert "leak-marker" not in exc_info
    assert "During handling" not in exc_info


@pytest.mark.parametrize("runner", RUNNERS)
async def test_any_stored_failure_is_redacted(
    rconn: redis.Redis, settings: Settings, captured_logs: io.StringIO, runner: str
) -> None:
    """Defence in depth: whatever a job raises, RQ stores it redacted. `int(address)` is a
    real job that fails quoting its argument."""
    for address in ADDRESSES:
        queue(rconn, settings).enqueue("builtins.int", address)
    output = await run_jobs(settings, runner)
    registry = queue(rconn, settings).failed_job_registry
    assert registry.count == len(ADDRESSES)
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=rconn, serializer=JSONSerializer)
        result = job.latest_result()
        assert result is not None
        assert "ValueError: invalid literal for int()" in (result.exc_string or "")
    # Its arguments are the test's own doing (jobs carry ids only); what it raised is searched
    # where RQ keeps it: the job's results stream and (older RQ) the job's exc_info.
    ids = registry.get_job_ids()
    results = redis_values(rconn, [f"rq:results:{job_id}".encode() for job_id in ids])
    exc_infos = [rconn.hget(f"rq:job:{job_id}", "exc_info") for job_id in ids]
    raw = [value for value in exc_infos if isinstance(value, bytes)]
    stored = results + b"".join(part for value in raw for part in unpacked(value))
    assert b"invalid literal for int()" in stored
    await assert_nothing_leaked(rconn, settings, output, captured_logs, failed=0, stored=stored)


async def test_a_server_without_smtputf8_gets_a_clear_error(
    client: Client, rconn: redis.Redis, settings: Settings, captured_logs: io.StringIO
) -> None:
    """A non-ASCII local part needs SMTPUTF8; a server without it cannot take the mail."""
    port = free_port()
    # aiosmtpd's Controller offers SMTPUTF8 unless told not to.
    controller = Controller(
        RefuseRecipients(), hostname="127.0.0.1", port=port, enable_SMTPUTF8=False
    )
    controller.start()
    try:
        await submit(client, email=ADDRESSES[0])
        await drain(settings)
        resp = await client.post("/api/v1/privacy/requests", json={"email": ADDRESSES[0]})
        assert resp.status == 202
        await drain(settings, smtp_url=f"smtp://127.0.0.1:{port}")
    finally:
        controller.stop()
    [exc_info] = failures(rconn, settings)
    assert exc_info.strip().splitlines()[-1] == (
        "workers.delivery.DeliveryError: the SMTP server does not offer SMTPUTF8, which the "
        "recipient's internationalised address needs"
    ), exc_info
    await assert_nothing_leaked(rconn, settings, "", captured_logs, failed=1)


class RefuseSender:
    async def handle_MAIL(
        self, server: object, session: object, envelope: Any, address: str, options: list[str]
    ) -> str:
        return f"553 5.7.1 <{address}>: Sender address rejected for {ADDRESSES[0]}"


class RefuseMessage:
    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        return f"554 5.7.1 <{envelope.rcpt_tos[0]}>: Message refused"


@pytest.mark.parametrize(
    ("handler", "url", "reason"),
    [
        (RefuseSender(), "smtp://127.0.0.1:{port}", "SMTP refused the sender (553)"),
        (RefuseMessage(), "smtp://127.0.0.1:{port}", "SMTP refused the message (554)"),
        (
            RefuseMessage(),
            "smtp://127.0.0.1:{port}?starttls=1",
            "the SMTP server lacks an extension this delivery needs (STARTTLS or AUTH)",
        ),
        (RefuseMessage(), "smtps://127.0.0.1:{port}", "TLS with the SMTP server failed"),
        (
            None,
            "smtp://127.0.0.1:{port}",
            "could not talk to the SMTP server (ConnectionRefusedError ECONNREFUSED)",
        ),
    ],
    ids=["sender refused", "message refused", "no STARTTLS", "TLS to a plain server", "down"],
)
async def test_every_smtp_failure_is_described_without_the_server_text(
    client: Client,
    rconn: redis.Redis,
    settings: Settings,
    captured_logs: io.StringIO,
    handler: object | None,
    url: str,
    reason: str,
) -> None:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port) if handler else None
    if controller:
        controller.start()
    try:
        await submit(client, email=ADDRESSES[0])
        await drain(settings)
        resp = await client.post("/api/v1/privacy/requests", json={"email": ADDRESSES[0]})
        assert resp.status == 202
        await drain(settings, smtp_url=url.format(port=port))
    finally:
        if controller:
            controller.stop()
    [exc_info] = failures(rconn, settings)
    assert (
        exc_info.strip().splitlines()[-1].startswith(f"workers.delivery.DeliveryError: {reason}")
    ), exc_info
    assert "During handling" not in exc_info
    await assert_nothing_leaked(rconn, settings, "", captured_logs, failed=1)
