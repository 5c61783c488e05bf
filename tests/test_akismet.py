"""The Akismet layer against an in-process server that speaks Akismet's documented API
(v1.1: comment-check answers "true" / "false" and may add `X-akismet-pro-tip: discard`;
verify-key answers "valid" / "invalid"; submit-spam and submit-ham thank you), and against
slow, failing and malicious ones."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from service.core.settings import Settings
from service.queueing.queues import Lane, queue
from service.store import moderation
from service.web.app import create_app
from tests import helpers
from tests.helpers import Client, drain, forbidden, redis_values, stored_comments
from workers import akismet

COMMENTER = "quiet.reader-2291@example.org"
COMMENTER_IP = "198.51.100.23"
KEY = "a1b2c3d4e5f6"
THANKS = "Thanks for making the web a better place."


@dataclass
class FakeAkismet:
    """Akismet as its documentation describes it, with a switch for misbehaving."""

    verdict: str = "ham"  # spam | ham | discard | slow | error | huge | garbage | invalid
    submit_fails: bool = False
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""
    # (set when comment-check arrives, awaited before answering): a rendezvous with another
    # server, which only requests made at the same time can keep.
    meet: tuple[asyncio.Event, asyncio.Event] | None = None

    def calls(self, endpoint: str) -> list[dict[str, str]]:
        return [fields for path, fields, _ in self.requests if path.endswith(endpoint)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        fields = dict(parse_qsl(raw.decode()))
        self.requests.append((request.path, fields, raw))
        endpoint = request.match_info["endpoint"]
        if endpoint == "verify-key":
            return web.Response(text="valid" if fields.get("api_key") == KEY else "invalid")
        if endpoint in ("submit-spam", "submit-ham"):
            if self.submit_fails:
                return web.Response(status=503, text="Service Unavailable")
            return web.Response(text=THANKS)
        return await self.comment_check(request, fields)

    async def comment_check(
        self, request: web.Request, fields: dict[str, str]
    ) -> web.StreamResponse:
        if fields.get("api_key") != KEY or self.verdict == "invalid":
            headers = {"X-akismet-debug-help": "Empty api_key, or an invalid one."}
            return web.Response(text="invalid", headers=headers)
        if self.meet is not None:
            asked, other = self.meet
            asked.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(other.wait(), 5)
        if self.verdict == "slow":
            await asyncio.sleep(5)
        if self.verdict == "error":
            return web.Response(status=500, text="<html>Internal error</html>")
        if self.verdict == "garbage":
            return web.Response(text="maybe? " + "\x00\xff" * 10)
        if self.verdict == "huge":  # "true" followed by 10 MB
            response = web.StreamResponse()
            await response.prepare(request)
            await response.write(b"true")
            for _ in range(160):
                await response.write(b"x" * 65536)
            return response
        headers = {"X-akismet-pro-tip": "discard"} if self.verdict == "discard" else {}
        return web.Response(text="false" if self.verdict == "ham" else "true", headers=headers)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAkismet]:
    server = FakeAkismet()
    app = web.Application()
    app.router.add_post("/1.1/{endpoint}", server.handle)
    async with TestServer(app, host="127.0.0.1") as running:
        server.url = str(running.make_url("/1.1"))
        yield server


@pytest.fixture
def on(settings: Settings, fake: FakeAkismet) -> Settings:
    return settings.with_overrides(
        akismet_key=KEY, akismet_url=fake.url, akismet_timeout_s=0.5, notify="none"
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    """The API behind a trusted proxy, so the commenter's address is COMMENTER_IP."""
    proxied = settings.with_overrides(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    async with TestClient(TestServer(create_app(proxied))) as test_client:
        yield test_client


async def submit(client: Client, **fields: Any) -> str:
    body = {"email": COMMENTER, "article_url": "https://news.example.org/lunar"} | fields
    return await helpers.submit(client, body, headers={"X-Forwarded-For": COMMENTER_IP})


async def test_off_by_default(
    client: Client, settings: Settings, rconn: redis.Redis, fake: FakeAkismet
) -> None:
    cid = await submit(client)
    await drain(settings, akismet_url=fake.url)
    assert "akismet" not in stored_comments(rconn)[cid]
    helpers.approve(rconn, settings, cid)
    await drain(settings, akismet_url=fake.url)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("answer", "verdict", "status"),
    # Akismet's "spam" is a soft signal (held); only its "discard" tip is conclusive.
    [("spam", "spam", "held"), ("discard", "discard", "spam"), ("ham", "ham", "held")],
)
async def test_its_verdict_reaches_the_decision(
    client: Client,
    on: Settings,
    rconn: redis.Redis,
    fake: FakeAkismet,
    answer: str,
    verdict: str,
    status: str,
) -> None:
    fake.verdict = answer
    cid = await submit(client, website="https://reader.example.net/")
    await drain(on)
    record = stored_comments(rconn)[cid]
    assert record["akismet"] == verdict
    assert record["status"] == status  # "ham" is a first comment: held once all the same
    [sent] = fake.calls("comment-check")
    assert sent["api_key"] == KEY
    assert sent["blog"] == on.public_url
    assert sent["comment_type"] == "comment"
    assert sent["comment_author"] == "Maria"
    assert sent["comment_author_url"] == "https://reader.example.net/"
    assert sent["comment_content"] == helpers.TEXT
    assert sent["permalink"] == "https://news.example.org/lunar"
    assert sent["blog_charset"] == "UTF-8"
    assert sent["comment_date_gmt"].endswith("+00:00")


async def test_no_address_and_no_ip_unless_enabled(
    client: Client, on: Settings, rconn: redis.Redis, fake: FakeAkismet
) -> None:
    await submit(client)
    await drain(on)
    [(_, sent, raw)] = fake.requests
    assert "comment_author_email" not in sent
    assert "user_ip" not in sent
    for needle in forbidden(COMMENTER) | {COMMENTER_IP.encode()}:
        assert needle not in raw

    await submit(client, comment="Second thoughts on the landers.")
    await drain(on, akismet_send_email=True, akismet_send_ip=True)
    sent = fake.calls("comment-check")[-1]
    assert sent["comment_author_email"] == COMMENTER
    assert sent["user_ip"] == COMMENTER_IP


@pytest.mark.parametrize("answer", ["slow", "error", "huge", "garbage", "invalid"])
async def test_a_bad_server_means_unavailable_within_the_deadline(
    client: Client, on: Settings, rconn: redis.Redis, fake: FakeAkismet, answer: str
) -> None:
    fake.verdict = answer
    cid = await submit(client)
    started = time.monotonic()
    await drain(on)
    took = time.monotonic() - started
    record = stored_comments(rconn)[cid]
    assert record["akismet"] == "unavailable"
    assert record["status"] == "held"  # decided all the same, and not published
    assert took < on.akismet_timeout_s + 2.0


async def test_unreachable_is_unavailable(
    client: Client, settings: Settings, rconn: redis.Redis
) -> None:
    from service.entry.embedded_redis import free_port

    cid = await submit(client)
    dead = f"http://127.0.0.1:{free_port()}/1.1"
    await drain(settings, akismet_key=KEY, akismet_url=dead, akismet_timeout_s=0.5)
    assert stored_comments(rconn)[cid]["akismet"] == "unavailable"


async def test_verify_key(on: Settings) -> None:
    assert await asyncio.to_thread(akismet.verify_key, on) is True
    wrong = on.with_overrides(akismet_key="not-the-key")
    assert await asyncio.to_thread(akismet.verify_key, wrong) is False
    from service.entry.embedded_redis import free_port

    down = on.with_overrides(akismet_url=f"http://127.0.0.1:{free_port()}/1.1")
    assert await asyncio.to_thread(akismet.verify_key, down) is None


async def test_moderators_report_its_mistakes_back(
    client: Client, on: Settings, rconn: redis.Redis, fake: FakeAkismet
) -> None:
    decided = []
    for answer, text in (
        ("ham", helpers.TEXT),
        ("spam", "A thoughtful remark wrongly called spam."),
        ("ham", "Fine words, Akismet agreed."),
    ):
        fake.verdict = answer
        decided.append(await submit(client, comment=text))
        await drain(on)
    missed, wrong, agreed = decided
    assert [stored_comments(rconn)[c]["akismet"] for c in (missed, wrong, agreed)] == [
        "ham",
        "spam",
        "ham",
    ]
    moderation.apply(rconn, on, missed, "spam", "tests")  # Akismet missed this spam
    restore = "ham" if stored_comments(rconn)[wrong]["status"] == "spam" else "approve"
    moderation.apply(rconn, on, wrong, restore, "tests")  # Akismet was wrong here
    moderation.apply(rconn, on, agreed, "approve", "tests")  # Akismet was right
    await drain(on)
    [spam_report] = fake.calls("submit-spam")
    [ham_report] = fake.calls("submit-ham")
    assert spam_report["comment_content"] == helpers.TEXT
    assert ham_report["comment_content"] == "A thoughtful remark wrongly called spam."
    for report in (spam_report, ham_report):
        assert "comment_author_email" not in report
        assert "user_ip" not in report
    # A retried job does not report twice.
    moderation.apply(rconn, on, missed, "ham", "tests")
    moderation.apply(rconn, on, missed, "spam", "tests")
    await drain(on)
    assert len(fake.calls("submit-spam")) == 1


async def test_a_refused_report_is_retried_and_stored_without_the_address(
    client: Client, on: Settings, rconn: redis.Redis, fake: FakeAkismet
) -> None:
    cid = await submit(client)
    await drain(on)
    fake.submit_fails = True
    settings = on.with_overrides(akismet_send_email=True, notify_retry_intervals_s=(1,))
    moderation.apply(rconn, settings, cid, "spam", "tests")
    await drain(settings)
    notify = queue(rconn, settings, Lane.NOTIFY)
    assert notify.scheduled_job_registry.get_job_ids() == [f"akismet-spam-{cid}"]
    await asyncio.sleep(1.2)
    await drain(settings)  # the one retry fails too
    assert notify.failed_job_registry.get_job_ids() == [f"akismet-spam-{cid}"]
    assert len(fake.calls("submit-spam")) == 2
    assert fake.calls("submit-spam")[0]["comment_author_email"] == COMMENTER  # opted in
    stored = redis_values(rconn)
    for needle in forbidden(COMMENTER):
        assert needle not in stored


async def test_asked_beside_the_moderation_hook(
    client: Client, on: Settings, rconn: redis.Redis, fake: FakeAkismet
) -> None:
    """Both on: asked at the same time, so two slow services cost one deadline, not two.
    Each server answers only once the other was asked: asked one after the other, the first
    would wait past its deadline and both would be unavailable."""
    akismet_asked, hook_asked = asyncio.Event(), asyncio.Event()
    fake.meet = (akismet_asked, hook_asked)

    async def meeting_hook(request: web.Request) -> web.Response:
        await request.read()
        hook_asked.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(akismet_asked.wait(), 5)
        return web.json_response({"verdict": "approve"})

    app = web.Application()
    app.router.add_post("/moderate", meeting_hook)
    async with TestServer(app, host="127.0.0.1") as hook:
        both = on.with_overrides(
            akismet_timeout_s=2.0,
            moderation_hook_url=str(hook.make_url("/moderate")),
            moderation_hook_secret="h" * 40,
            moderation_hook_timeout_s=2.0,
        )
        cid = await submit(client)
        await drain(both)
    record = stored_comments(rconn)[cid]
    assert (record["akismet"], record["hook"]) == ("ham", "approve")
