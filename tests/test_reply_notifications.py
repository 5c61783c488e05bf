"""Reply notifications: to the parent's author only, when asked, with one-click unsubscribe."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import redis
from aiosmtpd.controller import Controller

from service.core.settings import Settings
from service.entry.embedded_redis import free_port
from tests import helpers
from tests.helpers import Client, Recorder, approve, drain

PARENT = "Parent.Writer-7@Example.com"
REPLIER = "replier-3391@example.net"


async def submit(client: Client, address: str, **fields: Any) -> str:
    body = {
        "name": "Someone",
        "email": address,
        "comment": "The station needs a docking standard.",
        "title": "Lunar station",
        "article_url": "https://news.example.org/lunar",
    } | fields
    return await helpers.submit(client, body)


async def deliver(settings: Settings, port: int) -> None:
    await drain(settings, smtp_url=f"smtp://127.0.0.1:{port}")


async def test_reply_is_emailed_once_and_unsubscribe_stops_it(
    client: Client,
    rconn: redis.Redis,
    settings: Settings,
    smtp: tuple[int, Recorder],
) -> None:
    port, recorder = smtp
    parent = await submit(client, PARENT, name="Paula", notify_replies=True)
    approve(rconn, settings, parent)
    reply = await submit(
        client, REPLIER, name="Rafael", parent_id=parent, comment="Agreed, and the landers too."
    )
    approve(rconn, settings, reply)
    await deliver(settings, port)
    await deliver(settings, port)  # nothing new: sent once

    [(recipients, msg)] = recorder.messages
    assert recipients == ["Parent.Writer-7@example.com"]
    assert msg["Subject"] == "[Comments] Rafael replied to your comment on Lunar station"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = msg["List-Unsubscribe"].strip("<>")
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Agreed, and the landers too." in text
    assert "https://news.example.org/lunar" in text
    assert REPLIER not in msg.as_string()

    path = url.removeprefix("http://127.0.0.1:8080")
    assert "Stop emails" in await (await client.get(path)).text()  # GET only asks
    resp = await client.post(path, data={"List-Unsubscribe": "One-Click"})  # RFC 8058
    assert resp.status == 200
    tampered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    assert (await client.post(tampered, data={"List-Unsubscribe": "One-Click"})).status == 400

    second = await submit(client, REPLIER, name="Rafael", parent_id=parent, comment="One more.")
    approve(rconn, settings, second)
    await deliver(settings, port)
    assert len(recorder.messages) == 1


async def test_no_email_without_opt_in_or_for_own_replies(
    client: Client,
    rconn: redis.Redis,
    settings: Settings,
    smtp: tuple[int, Recorder],
) -> None:
    port, recorder = smtp
    quiet = await submit(client, PARENT)  # did not tick "notify me"
    approve(rconn, settings, quiet)
    approve(rconn, settings, await submit(client, REPLIER, parent_id=quiet, comment="Hi"))
    asked = await submit(client, "asker@example.com", notify_replies=True, comment="Q?")
    approve(rconn, settings, asked)
    own = await submit(client, "asker@example.com", parent_id=asked, comment="Self-reply")
    approve(rconn, settings, own)
    await deliver(settings, port)
    assert recorder.messages == []


async def test_a_reply_reaches_an_internationalised_domain(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    """An ASCII local part at an internationalised domain goes as IDNA (`xn--`), which every
    server takes: no SMTPUTF8 needed, and the message names the recipient exactly."""
    received: list[tuple[list[str], list[str], bytes]] = []

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            received.append((envelope.mail_options, envelope.rcpt_tos, envelope.content))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        parent = await submit(client, "Leser.7@Bücher.example", notify_replies=True)
        approve(rconn, settings, parent)
        reply = await submit(client, REPLIER, name="Rafael", parent_id=parent, comment="Ja.")
        approve(rconn, settings, reply)
        await deliver(settings, port)
    finally:
        controller.stop()
    [(options, recipients, content)] = received
    assert "SMTPUTF8" not in options
    assert recipients == ["Leser.7@xn--bcher-kva.example"]
    assert content.isascii()
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert msg["To"] == "Leser.7@xn--bcher-kva.example"
    assert msg["Message-ID"] == f"<{reply}.reply@127.0.0.1>"
    assert not msg.defects
