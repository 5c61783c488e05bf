"""No notification flood in a spam wave, and the spam folder's digest with "Not spam" links:
a real SMTP server and a real webhook receiver count what moderators get."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import re
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys
from service.core.settings import Settings
from service.core.validation import HONEYPOT_FIELD
from service.queueing import jobs
from service.web.app import create_app
from tests import helpers
from tests.helpers import Client, Recorder, drain, forbidden, stored_comments
from workers import decisions, digests

WEBHOOK_SECRET = "w" * 40


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    proxied = settings.with_overrides(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    async with TestClient(TestServer(create_app(proxied))) as test_client:
        yield test_client


def spelled(number: int) -> str:
    """A number in letters, so that no two comments of a wave are near duplicates."""
    return "".join("abcdefghij"[int(digit)] for digit in str(number))


async def wave(client: Client, count: int, start: int = 0) -> list[str]:
    """`count` first comments from different people and places: each is held."""
    return [
        await helpers.submit(
            client,
            {"email": f"reader{i}@example.org"},
            comment=f"My view, as reader {spelled(i)}: the station is worth it if data is shared.",
            headers={"X-Forwarded-For": f"198.51.{i // 200}.{i % 200 + 1}"},
        )
        for i in range(start, start + count)
    ]


async def schedule(rconn: redis.Redis, settings: Settings, now: float | None = None) -> list[str]:
    return await asyncio.to_thread(
        digests.schedule, rconn, settings, time.time() if now is None else now
    )


def body_of(msg: EmailMessage) -> str:
    plain = msg.get_body(("plain",))
    assert plain is not None
    return str(plain.get_content()).replace("\r\n", "\n")


def test_the_rate_slides_across_window_boundaries() -> None:
    # Just after a boundary the previous window still counts almost whole: a wave that began
    # before it gets no fresh allowance (a fixed window would give a second one at once).
    assert decisions.notified_lately(b"0", b"5", 0.0) == 5
    assert decisions.notified_lately(None, b"5", 0.1) == pytest.approx(4.5)
    assert decisions.notified_lately(b"2", b"4", 0.5) == pytest.approx(4)
    assert decisions.notified_lately(b"3", None, 0.99) == 3


async def test_a_wave_that_began_in_the_window_before_is_not_mailed_afresh(
    client: Client, rconn: redis.Redis, settings: Settings, smtp: tuple[int, Recorder]
) -> None:
    port, recorder = smtp
    day = 86_400
    mail = settings.with_overrides(
        smtp_url=f"smtp://127.0.0.1:{port}",
        moderator_emails=("mod@news.example",),
        notify_rate=(5, day),
    )
    # A huge wave yesterday: whatever the hour now, its share still inside the last day is over
    # the rate (except in the day's last half second).
    rconn.set(keys.notify_count(int(time.time() // day) - 1), 10**6)
    await wave(client, 3)
    await drain(mail)
    assert recorder.messages == []
    assert rconn.zcard(keys.digest_queue("email")) == 3


async def test_a_wave_of_500_held_comments_is_a_handful_of_mails(
    client: Client, rconn: redis.Redis, settings: Settings, smtp: tuple[int, Recorder]
) -> None:
    port, recorder = smtp
    mail = settings.with_overrides(
        smtp_url=f"smtp://127.0.0.1:{port}",
        moderator_emails=("mod@news.example",),
        notify_rate=(5, 600),
    )
    await wave(client, 500)
    await drain(mail)
    assert {r["status"] for r in stored_comments(rconn).values()} == {"held"}
    assert len(recorder.messages) == 5  # one by one up to the rate
    assert rconn.zcard(keys.digest_queue("email")) == 495

    assert len(await schedule(rconn, mail)) == 1
    await drain(mail)
    assert len(recorder.messages) == 6  # a handful, not 500
    _, digest = recorder.messages[-1]
    assert digest["Subject"] == (
        "[Comments] 495 comments to moderate (notifications collapsed during a wave)"
    )
    text = body_of(digest)
    assert len(re.findall(r"^   Approve: http://127\.0\.0\.1:8080/moderate/\S+$", text, re.M)) == 50
    # Each item also links to its page in the workspace, as a single notification does.
    workspace = re.findall(
        r"^   In the moderators' workspace: http://127\.0\.0\.1:8080/moderation/comment/(\S+)$",
        text,
        re.M,
    )
    assert len(workspace) == 50
    assert set(workspace) <= set(stored_comments(rconn))
    html = digest.get_body(("html",))
    assert html is not None
    assert str(html.get_content()).count(">Open in the moderators' workspace</a>") == 50
    assert "...and 445 more, in the moderation queue." in text
    assert rconn.zcard(keys.digest_queue("email")) == 0
    raw = digest.as_bytes()
    for i in (0, 7, 499):
        for needle in forbidden(f"reader{i}@example.org"):
            assert needle not in raw
    assert b"198.51." not in raw

    # The wave goes on: nothing more until the interval has passed, then one digest.
    await wave(client, 20, start=500)
    await drain(mail)
    assert await schedule(rconn, mail) == []
    assert len(recorder.messages) == 6
    rconn.delete(keys.digest_due("email"))  # as when the interval (10 minutes) has passed
    assert len(await schedule(rconn, mail)) == 1
    await drain(mail)
    assert len(recorder.messages) == 7
    assert "20 comments to moderate" in recorder.messages[-1][1]["Subject"]


async def test_the_webhook_gets_one_signed_digest(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app, host="127.0.0.1") as server:
        config = settings.with_overrides(
            webhook_url=str(server.make_url("/hook")),
            webhook_secret=WEBHOOK_SECRET,
            notify_rate=(2, 600),
        )
        ids = await wave(client, 12)
        await drain(config)
        await schedule(rconn, config)
        await drain(config)
    assert len(received) == 3
    headers, body = received[-1]
    timestamp = headers["X-Comments-Timestamp"]
    expected = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert headers["X-Comments-Signature"] == "sha256=" + expected.hexdigest()
    payload = json.loads(body)
    assert payload["event"] == "digest.held"
    assert sorted(c["id"] for c in payload["comments"]) == sorted(ids[2:])
    assert all(set(c["actions"]) == {"approve", "reject", "spam"} for c in payload["comments"])
    assert payload["more"] == 0
    assert b"@example.org" not in body
    assert b"198.51." not in body


async def test_the_spam_folder_digest_has_one_click_not_spam_links(
    client: Client, rconn: redis.Redis, settings: Settings, smtp: tuple[int, Recorder]
) -> None:
    port, recorder = smtp
    mail = settings.with_overrides(
        smtp_url=f"smtp://127.0.0.1:{port}", moderator_emails=("mod@news.example",)
    )
    started = time.time()
    assert await schedule(rconn, mail, started) == []  # the first run starts the clock
    bot = {HONEYPOT_FIELD: "555-0100", "email": "spammer-7731@spam.example"}
    spam = [
        await helpers.submit(client, bot, comment=f"Cheap watches number {i}") for i in range(3)
    ]
    real = await helpers.submit(
        client, comment="A real reader, held as usual.", headers={"X-Forwarded-For": "203.0.113.5"}
    )
    await drain(mail)
    records = stored_comments(rconn)
    assert [records[c]["status"] for c in spam] == ["spam"] * 3
    assert records[real]["status"] == "held"
    recorder.messages.clear()  # the held comment's own notification

    assert await schedule(rconn, mail, started + 3600) == []  # not a day yet
    day_later = started + mail.spam_digest_interval_s + digests.SPAM_LAG_S + 1
    assert len(await schedule(rconn, mail, day_later)) == 1
    await drain(mail)
    [(recipients, msg)] = recorder.messages
    assert recipients == ["mod@news.example"]
    assert msg["Subject"] == "[Comments] Spam folder: 3 comments marked as spam"
    text = body_of(msg)
    not_spam = re.findall(r"^   Not spam: (\S+)$", text, re.M)
    assert len(not_spam) == 3
    assert sorted(re.findall(r"/moderation/comment/(\S+)$", text, re.M)) == sorted(spam)
    assert "Approve" not in text
    for needle in forbidden("spammer-7731@spam.example"):
        assert needle not in msg.as_bytes()

    # One click (and the confirmation page's button) publishes a wrongly caught comment.
    path = not_spam[0].removeprefix("http://127.0.0.1:8080")
    page = await (await client.get(path)).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    assert (await client.post(path, data={"csrf": csrf.group(1)})).status == 200
    assert sorted(r["status"] for r in stored_comments(rconn).values()) == [
        "approved",
        "held",
        "spam",
        "spam",
    ]

    # The next day's digest starts where this one ended: nothing new, no mail.
    await schedule(rconn, mail, day_later + mail.spam_digest_interval_s + 1)
    await drain(mail)
    assert len(recorder.messages) == 1


async def test_digests_follow_the_channels(
    client: Client, rconn: redis.Redis, settings: Settings, smtp: tuple[int, Recorder]
) -> None:
    """A channel turned off loses its queue instead of mailing it later; a retried digest
    job sends nothing twice."""
    port, recorder = smtp
    mail: dict[str, Any] = {
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "moderator_emails": ("mod@news.example",),
        "notify_rate": (0, 600),
    }
    await wave(client, 3)
    await drain(settings, **mail)
    assert recorder.messages == []
    [job_id] = await schedule(rconn, settings.with_overrides(**mail))
    await drain(settings, **mail)
    assert len(recorder.messages) == 1
    batch = job_id.removeprefix("digest-email-")
    jobs.enqueue(rconn, settings, jobs.DIGEST_EMAIL, [batch])
    await drain(settings, **mail)
    assert len(recorder.messages) == 1

    await wave(client, 2, start=3)
    await drain(settings, **mail)
    assert rconn.zcard(keys.digest_queue("email")) == 2
    assert await schedule(rconn, settings) == []  # no mail configured any more
    assert rconn.exists(keys.digest_queue("email")) == 0
