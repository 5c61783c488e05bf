"""Moderator notifications through a real SMTP server and a real webhook receiver."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import ipaddress
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller

from service.core import keys
from service.core.settings import Settings
from service.core.validation import HONEYPOT_FIELD
from service.entry.embedded_redis import free_port
from service.queueing import jobs
from service.store import privacy_data
from service.web.app import create_app
from tests import helpers
from tests.helpers import Client, Recorder, drain, email_hash, stored_comments

COMMENTER = "private.person-4417@example.org"
COMMENTER_IP = "198.51.100.77"  # arrives via a trusted proxy, so it is distinctive
WEBHOOK_SECRET = "w" * 40


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app) as server:
        yield str(server.make_url("/hook")), received


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    """The API behind a trusted proxy, so the commenter's address is COMMENTER_IP."""
    proxied = settings.with_overrides(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    async with TestClient(TestServer(create_app(proxied))) as test_client:
        yield test_client


async def submit(client: Client, ip: str = COMMENTER_IP, **fields: Any) -> str:
    body = {
        "email": COMMENTER,
        "comment": "A careful piece on the lunar station; the 1960s comparison is overdone.",
        "title": "A lunar discovery cooperation",
        "article_url": "https://news.example.org/lunar",
    } | fields
    return await helpers.submit(client, body, headers={"X-Forwarded-For": ip})


def assert_private(blob: bytes) -> None:
    digest = email_hash(COMMENTER).encode()
    for needle in (COMMENTER.encode(), b"private.person", COMMENTER_IP.encode(), digest):
        assert needle not in blob


async def test_held_comment_emails_the_moderators_once_and_privately(
    client: Client, rconn: redis.Redis, settings: Settings, smtp: tuple[int, Recorder]
) -> None:
    port, recorder = smtp
    cid = await submit(client)
    config: dict[str, Any] = {
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "moderator_emails": ("mod@news.example",),
    }
    await drain(settings, **config)
    assert stored_comments(rconn)[cid]["status"] == "held"
    [(recipients, msg)] = recorder.messages
    assert recipients == ["mod@news.example"]
    assert (
        msg["Subject"] == "[Comments] Held for moderation: Maria on A lunar discovery cooperation"
    )
    assert msg["Message-ID"] == f"<{cid}.held@127.0.0.1>"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None
    assert html is not None
    text = plain.get_content()
    for expected in ("Maria", "first-time commenter", "A careful piece", "Why:", "spam-like",
                     "https://news.example.org/lunar", "Verdict: held"):  # fmt: skip
        assert expected in text
    assert_private(msg.as_bytes())

    # The moderator clicks "Approve" in the mail: a confirmation page, then the comment is out.
    lines = text.replace("\r\n", "\n")
    links = dict(re.findall(r"^(Approve|Reject|Mark as spam): (\S+)$", lines, re.MULTILINE))
    assert set(links) == {"Approve", "Reject", "Mark as spam"}
    path = links["Approve"].removeprefix("http://127.0.0.1:8080")
    page = await (await client.get(path)).text()
    assert stored_comments(rconn)[cid]["status"] == "held"  # looking does not act
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    assert (await client.post(path, data={"csrf": csrf.group(1)})).status == 200
    assert stored_comments(rconn)[cid]["status"] == "approved"

    # The same job again (a retry after a crash) sends nothing new.
    jobs.enqueue(rconn, settings, jobs.NOTIFY_EMAIL, [cid])
    await drain(settings, **config)
    assert len(recorder.messages) == 1


async def test_webhook_is_signed_and_private(
    client: Client,
    settings: Settings,
    webhook: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, received = webhook
    cid = await submit(client, website="https://maria.example.net")
    await drain(settings, webhook_url=url, webhook_secret=WEBHOOK_SECRET)
    [(headers, body)] = received
    timestamp = headers["X-Comments-Timestamp"]
    expected = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(headers["X-Comments-Signature"], "sha256=" + expected.hexdigest())
    assert abs(time.time() - int(timestamp)) < 60
    assert headers["X-Comments-Delivery"] == cid
    payload = json.loads(body)
    assert payload["event"] == "comment.held"
    assert payload["comment"]["author_name"] == "Maria"
    assert payload["comment"]["website"] == "https://maria.example.net"
    assert payload["commenter"] == {"known": False, "approved": 0}
    assert "Maria" in payload["text"]
    assert set(payload["actions"]) == {"approve", "reject", "spam"}
    assert all(
        url.startswith("http://127.0.0.1:8080/moderate/") for url in payload["actions"].values()
    )
    assert_private(body)


async def test_which_decisions_notify(
    client: Client, rconn: redis.Redis, settings: Settings, smtp: tuple[int, Recorder]
) -> None:
    port, recorder = smtp
    mail: dict[str, Any] = {
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "moderator_emails": ("mod@news.example",),
    }
    # A trusted commenter: a first comment from this browser, approved by a moderator.
    browser = {"commenter_key": "b" * 32}
    first = await submit(client, comment="My first thoughts on the station.", **browser)
    await drain(settings)
    helpers.approve(rconn, settings, first)
    approved = await submit(client, **browser)
    await drain(settings, **mail)  # notify=held by default: an approval is not news
    assert stored_comments(rconn)[approved]["status"] == "approved"
    assert recorder.messages == []

    bot = {"ip": "203.0.113.9", "email": "b@x.example", HONEYPOT_FIELD: "x"}
    trap = await submit(client, comment="Buy now", **bot)
    await drain(settings, notify="all", **mail)
    assert stored_comments(rconn)[trap]["status"] == "spam"
    assert recorder.messages == []  # spam is never notified one by one

    second = await submit(
        client, comment="Another thought on the landers and their cost.", **browser
    )
    await drain(settings, notify="all", **mail)
    assert [m["Message-ID"] for _, m in recorder.messages] == [f"<{second}.approved@127.0.0.1>"]
    [(_, msg)] = recorder.messages
    assert "known commenter, 2 approved comments" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_smtp_down_then_up_delivers_exactly_once(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    port = free_port()
    config: dict[str, Any] = {
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "moderator_emails": ("mod@news.example",),
        "notify_retry_intervals_s": (1, 1, 1),
    }
    cid = await submit(client)
    await drain(settings, **config)  # nobody listens on the port: delivery fails, retry scheduled
    assert rconn.exists(keys.notified("email", cid)) == 0
    assert stored_comments(rconn)[cid]["status"] == "held"

    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await asyncio.sleep(1.5)  # the retry's backoff
        await drain(settings, **config)
        await drain(settings, **config)  # nothing left to send
    finally:
        controller.stop()
    assert [m["Message-ID"] for _, m in recorder.messages] == [f"<{cid}.held@127.0.0.1>"]
    assert rconn.exists(keys.notified("email", cid)) == 1


async def test_webhook_down_then_up_delivers_exactly_once(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    port = free_port()
    config: dict[str, Any] = {
        "webhook_url": f"http://127.0.0.1:{port}/hook",
        "webhook_secret": WEBHOOK_SECRET,
        "notify_retry_intervals_s": (1, 1, 1),
    }
    cid = await submit(client)
    await drain(settings, **config)  # connection refused: the delivery waits for a retry
    assert rconn.exists(keys.notified("webhook", cid)) == 0

    received: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app, host="127.0.0.1", port=port):
        await asyncio.sleep(1.5)  # the retry's backoff
        await drain(settings, **config)
        await drain(settings, **config)  # nothing left to send
    assert [json.loads(body)["comment"]["id"] for body in received] == [cid]
    assert rconn.exists(keys.notified("webhook", cid)) == 1


async def test_outbox_folder_receives_eml_files(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    cid = await submit(client)
    await drain(settings, outbox_dir=tmp_path, moderator_emails=("moderator@localhost",))
    [eml] = await asyncio.to_thread(lambda: list(tmp_path.glob("*.eml")))
    assert eml.name == f"{cid}.held@127.0.0.1.eml"
    assert b"Held for moderation" in eml.read_bytes()
    assert_private(eml.read_bytes())


async def test_webhook_text_escapes_what_the_commenter_wrote(
    client: Client,
    settings: Settings,
    webhook: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    """Slack reads `<!channel>` as a mention and `<url|label>` as a disguised link; in `text`
    they must show as typed. The structured fields stay raw."""
    url, received = webhook
    name = "<!channel>"
    title = "<https://evil.example/login|Approve all held comments>"
    comment = "Fish & chips <@U024BE7LH> <!here|here> <https://evil.example|news.example.org>"
    article_url = "https://news.example.org/lunar|Approve"
    await submit(client, name=name, title=title, comment=comment, article_url=article_url)
    await drain(settings, webhook_url=url, webhook_secret=WEBHOOK_SECRET)
    [(_, body)] = received
    payload = json.loads(body)
    text = payload["text"]
    # The only link syntax left is the one the service writes, with `|` unable to add a label.
    assert re.findall(r"<([^>]*)>", text) == ["https://news.example.org/lunar%7CApprove"]
    assert "&lt;!channel&gt;" in text
    assert "&lt;https://evil.example/login|Approve all held comments&gt;" in text
    assert "Fish &amp; chips &lt;@U024BE7LH&gt; &lt;!here|here&gt;" in text
    assert payload["comment"]["author_name"] == name
    assert payload["comment"]["title"] == title
    assert payload["comment"]["text"] == comment
    assert payload["comment"]["article_url"] == article_url


# Every email: a deterministic Message-ID, an outbox that keeps each one, and recipients
# with internationalised addresses written as servers take them.

IDN_LOCAL = "用户x@例子.广告"  # a non-ASCII local part: only SMTPUTF8 servers take it
IDN_DOMAIN = "x.reader@例子.广告"  # ASCII local part: the domain goes as IDNA


@dataclass
class Utf8Recorder:
    """Keeps what arrives as sent: MAIL options, recipients, and the message parsed as UTF-8.
    With `drop_first`, the first message is read and then the connection dropped."""

    received: list[tuple[list[str], list[str], EmailMessage]] = field(default_factory=list)
    drop_first: bool = False

    async def handle_DATA(self, server: Any, session: object, envelope: Any) -> str:
        text = envelope.content.decode("utf-8")
        msg = email.message_from_string(text, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append((list(envelope.mail_options), list(envelope.rcpt_tos), msg))
        if self.drop_first and len(self.received) == 1:
            server.transport.close()
        return "250 OK"


@pytest.fixture
def utf8_smtp() -> Iterator[tuple[int, Utf8Recorder]]:
    recorder, port = Utf8Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    yield port, recorder
    controller.stop()


async def privacy_requests(client: Client, rconn: redis.Redis, settings: Settings) -> list[str]:
    """A comment by each address, then a privacy request for each; the request ids."""
    addresses = [IDN_LOCAL, IDN_DOMAIN]
    for address in addresses:
        await submit(client, email=address)
    await drain(settings)
    return [privacy_data.open_request(rconn, settings, email_hash(a)) for a in addresses]


async def test_internationalised_recipients_are_written_as_servers_take_them(
    client: Client,
    rconn: redis.Redis,
    settings: Settings,
    utf8_smtp: tuple[int, Utf8Recorder],
) -> None:
    port, recorder = utf8_smtp
    ids = await privacy_requests(client, rconn, settings)
    await drain(settings, smtp_url=f"smtp://127.0.0.1:{port}")
    by_recipient = {tuple(rcpt): (options, msg) for options, rcpt, msg in recorder.received}
    assert set(by_recipient) == {(IDN_LOCAL,), ("x.reader@xn--fsqu00a.xn--4rr70v",)}

    options, msg = by_recipient[(IDN_LOCAL,)]
    assert "SMTPUTF8" in options
    [to] = msg["To"].addresses
    assert (to.username, to.domain) == ("用户x", "例子.广告")
    assert msg["Message-ID"] == f"<{ids[0]}.privacy@127.0.0.1>"

    options, msg = by_recipient[("x.reader@xn--fsqu00a.xn--4rr70v",)]
    assert "SMTPUTF8" not in options  # any server takes it
    assert str(msg["To"]) == "x.reader@xn--fsqu00a.xn--4rr70v"
    assert msg["Message-ID"] == f"<{ids[1]}.privacy@127.0.0.1>"
    for _, _, received in recorder.received:
        assert not received.defects
        assert "/privacy/" in received.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_a_retried_email_keeps_its_message_id(
    client: Client,
    rconn: redis.Redis,
    settings: Settings,
    utf8_smtp: tuple[int, Utf8Recorder],
) -> None:
    port, recorder = utf8_smtp
    recorder.drop_first = True
    retrying = settings.with_overrides(
        smtp_url=f"smtp://127.0.0.1:{port}", notify_retry_intervals_s=(1,)
    )
    await submit(client, email=IDN_DOMAIN)
    await drain(settings)
    request_id = privacy_data.open_request(rconn, retrying, email_hash(IDN_DOMAIN))
    await drain(retrying)  # read, then dropped: the job waits for its retry
    await asyncio.sleep(1.5)
    await drain(retrying)
    ids = [msg["Message-ID"] for _, _, msg in recorder.received]
    assert ids == [f"<{request_id}.privacy@127.0.0.1>"] * 2


async def test_the_outbox_keeps_every_email(
    client: Client, rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    ids = await privacy_requests(client, rconn, settings)
    await drain(settings, outbox_dir=tmp_path)
    # The same job once more (a retry after a crash): a second copy, not a replacement.
    jobs.enqueue(rconn, settings, jobs.SEND_PRIVACY_LINK, [ids[0]])
    await drain(settings, outbox_dir=tmp_path)
    files = await asyncio.to_thread(lambda: sorted(tmp_path.glob("*.eml")))
    first, second = (f"{request_id}.privacy@127.0.0.1" for request_id in ids)
    assert [f.name for f in files] == sorted([f"{first}.eml", f"{first}.2.eml", f"{second}.eml"])
    recipients = set()
    for path in files:
        msg = email.message_from_string(path.read_bytes().decode(), policy=email.policy.default)
        assert msg["Message-ID"] in (f"<{first}>", f"<{second}>")
        recipients |= {(a.username, a.domain) for a in msg["To"].addresses}
    assert recipients == {("用户x", "例子.广告"), ("x.reader", "xn--fsqu00a.xn--4rr70v")}
