"""Trust needs proof: knowing a trusted commenter's address is not enough to be them.

A commenter earns trust when a comment of theirs is approved; that trust belongs to the
browser they posted from (a random commenter key the widget keeps) or to whoever can read
their mail (a confirmation link). Anyone else using the address is treated as new.
"""

from __future__ import annotations

import re

import pytest
import redis

from service.core import keys
from service.core.settings import Settings
from service.store import privacy_data
from tests.helpers import (
    Client,
    Recorder,
    approve,
    drain,
    email_hash,
    stored_comments,
    submit,
)

VICTIM = "trusted.reader@example.org"
BROWSER = "k" * 32  # the commenter key the victim's widget keeps in localStorage
OTHER_BROWSER = "x" * 32


def reasons(record: dict[str, str]) -> set[str]:
    return set(re.findall(r'"code": "([a-z_]+)"', record.get("reasons", "")))


@pytest.fixture
def mail(settings: Settings, smtp: tuple[int, Recorder]) -> tuple[Settings, Recorder]:
    port, recorder = smtp
    return settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{port}"), recorder


@pytest.fixture
def mail_and_moderators(mail: tuple[Settings, Recorder]) -> tuple[Settings, Recorder]:
    settings, recorder = mail
    return settings.with_overrides(moderator_emails=("mod@news.example",)), recorder


async def earn_trust(client: Client, rconn: redis.Redis, settings: Settings) -> str:
    """The victim's first comment, held as a first comment, then approved by a moderator."""
    first = await submit(client, email=VICTIM, name="Rosa", commenter_key=BROWSER)
    await drain(settings)
    assert stored_comments(rconn)[first]["status"] == "held"
    approve(rconn, settings, first)
    return first


async def test_an_impostor_with_a_trusted_address_is_treated_as_new(
    client: Client, rconn: redis.Redis, mail_and_moderators: tuple[Settings, Recorder]
) -> None:
    settings, recorder = mail_and_moderators
    await earn_trust(client, rconn, settings)
    impostor = await submit(
        client,
        email=VICTIM,
        name="Rosa (official)",
        comment="Everyone should read my site, it is much better than this one.",
        headers={"X-Forwarded-For": "203.0.113.66"},
        commenter_key=OTHER_BROWSER,
    )
    await drain(settings)
    record = stored_comments(rconn)[impostor]
    assert record["status"] == "held"
    assert "trusted" not in reasons(record)
    assert "unproven_address" in reasons(record)
    status = await (await client.get("/api/v1/comment-status", params={"id": impostor})).json()
    assert status == {"statuses": {impostor: "pending"}}  # says nothing about the address
    # The address's owner is asked; the impostor learns nothing and gets no mail.
    asked = [msg for to, msg in recorder.messages if to == [VICTIM]]
    assert len(asked) == 1
    body = asked[0].get_body(("plain",))
    assert body is not None
    assert "Everyone should read my site" in body.get_content()
    # Moderators are not told it is the known commenter's.
    [notice] = [
        msg
        for to, msg in recorder.messages
        if to == ["mod@news.example"] and impostor in str(msg["Message-ID"])
    ]
    text = notice.get_body(("plain",))
    assert text is not None
    assert "not proven to be the known commenter" in text.get_content()


async def test_the_browser_that_earned_trust_keeps_it(
    client: Client, rconn: redis.Redis, mail: tuple[Settings, Recorder]
) -> None:
    settings, recorder = mail
    await earn_trust(client, rconn, settings)
    again = await submit(
        client, email=VICTIM, name="Rosa", comment="Back again, with a second thought.",
        commenter_key=BROWSER,
    )  # fmt: skip
    await drain(settings)
    record = stored_comments(rconn)[again]
    assert record["status"] == "approved"
    assert "trusted" in reasons(record)
    assert recorder.messages == []  # nothing to confirm


async def test_a_new_browser_proves_the_address_by_email_and_is_published(
    client: Client, rconn: redis.Redis, mail: tuple[Settings, Recorder]
) -> None:
    settings, recorder = mail
    await earn_trust(client, rconn, settings)
    laptop = await submit(
        client, email=VICTIM, name="Rosa", comment="Written on my laptop this time.",
        commenter_key=OTHER_BROWSER,
    )  # fmt: skip
    await drain(settings)
    assert stored_comments(rconn)[laptop]["status"] == "held"
    [(_, msg)] = recorder.messages
    body = msg.get_body(("plain",))
    assert body is not None
    link = re.search(r"http://127\.0\.0\.1:8080(/confirm/\S+)", body.get_content())
    assert link is not None
    path = link.group(1)

    page = await (await client.get(path)).text()  # looking does not act
    assert "Written on my laptop this time." in page
    assert stored_comments(rconn)[laptop]["status"] == "held"
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    done = await client.post(path, data={"csrf": csrf.group(1)})
    assert done.status == 200
    await drain(settings)  # confirmed: scored again, now as the known commenter
    record = stored_comments(rconn)[laptop]
    assert record["status"] == "approved"
    assert "trusted" in reasons(record)

    # The laptop is now a browser of theirs; the link was single use.
    assert (await client.post(path, data={"csrf": csrf.group(1)})).status == 409
    later = await submit(
        client, email=VICTIM, name="Rosa", comment="And from the laptop once more.",
        commenter_key=OTHER_BROWSER,
    )  # fmt: skip
    await drain(settings)
    assert stored_comments(rconn)[later]["status"] == "approved"


async def test_confirmation_mails_are_limited_per_address(
    client: Client, rconn: redis.Redis, mail: tuple[Settings, Recorder]
) -> None:
    settings, recorder = mail
    await earn_trust(client, rconn, settings)
    for i in range(4):  # someone posting under the address, again and again
        await submit(client, email=VICTIM, name="Rosa", comment=f"Attempt number {i} here.")
    await drain(settings)
    assert len(recorder.messages) == 1  # one question an hour, not a mail bomb


async def test_erasure_forgets_the_trusted_browsers(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    await earn_trust(client, rconn, settings)
    hashed = email_hash(VICTIM)
    assert rconn.scard(keys.trusted_browsers(hashed)) == 1
    resp = await client.post("/api/v1/privacy/requests", json={"email": VICTIM})
    assert resp.status == 202
    privacy_data.erase(rconn, settings, hashed)
    assert not rconn.exists(keys.trusted_browsers(hashed))


async def test_a_malformed_commenter_key_is_refused(client: Client, rconn: redis.Redis) -> None:
    resp = await client.post(
        "/api/v1/comments",
        json={
            "article": "a",
            "name": "N",
            "email": "n@example.org",
            "comment": "Hello there.",
            "commenter_key": "short",
        },
    )
    assert resp.status == 422
    body = await resp.json()
    assert body["error"]["fields"]["commenter_key"]["code"] == "invalid_commenter_key"
    assert stored_comments(rconn) == {}
