"""Commenters' own data: request a link, export, erase (leaving no trace), retention."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import time
from pathlib import Path

import redis

from service.core import keys
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.queueing.queues import Lane, queue
from service.store import commenters, privacy_data
from tests import helpers
from tests.helpers import (
    ARTICLE,
    Client,
    approve,
    drain,
    email_hash,
    key_dump,
    run_cli,
    stored_comments,
)

ADDRESS = "Erase.Me-5531@Example.org"
PUBLIC = "http://127.0.0.1:8080"


async def submit(client: Client, address: str = ADDRESS, **fields: str) -> str:
    body = {
        "name": "Erin",
        "email": address,
        "comment": "My words on the station.",
        "website": "https://erin.example",
    } | fields
    return await helpers.submit(client, body)


async def ask(client: Client, address: str) -> tuple[int, dict[str, str]]:
    resp = await client.post("/api/v1/privacy/requests", json={"email": address})
    return resp.status, await resp.json()


async def mailed_link(settings: Settings, outbox: Path) -> str:
    await drain(settings, outbox_dir=outbox)
    files = await asyncio.to_thread(lambda: sorted(outbox.glob("*.eml")))
    assert len(files) == 1
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["To"] == "Erase.Me-5531@example.org"  # to the address itself, normalized
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"{re.escape(PUBLIC)}(/privacy/\S+)", body)
    assert found is not None
    return found.group(1)


async def csrf_of(client: Client, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', await (await client.get(path)).text())
    assert found is not None
    return found.group(1)


async def test_same_answer_for_known_and_unknown_addresses_and_rate_limit(
    client: Client, rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    await submit(client)
    known = await ask(client, ADDRESS)
    unknown = await ask(client, "nobody-here@example.org")
    assert known == unknown
    assert known[0] == 202
    # Jobs carry a random request id, never the address or its HMAC.
    digest = email_hash(ADDRESS)
    for job in queue(rconn, settings, Lane.NOTIFY).get_jobs():
        assert "example.org" not in str(job.args)
        assert digest not in str(job.args)
    await mailed_link(settings, tmp_path)  # exactly one mail: none for the unknown address

    for _ in range(2):
        assert (await ask(client, ADDRESS))[0] == 202
    resp = await client.post("/api/v1/privacy/requests", json={"email": ADDRESS})
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) > 0
    bad = await client.post("/api/v1/privacy/requests", json={"email": "nope"})
    assert bad.status == 422


async def test_export_then_erase_leaves_no_trace(
    client: Client, rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    first = await submit(client)
    second = await submit(client, comment="A second thought.")
    other = await submit(client, address="keep.me@example.net", comment="Not mine.")
    for cid in (first, second, other):
        approve(rconn, settings, cid)  # which also gives the commenter a reputation
    assert rconn.hget(keys.email_reputation(email_hash(ADDRESS)), "approved") == b"2"
    # Moderators have seen the commenter in the workspace and banned them.
    digest = email_hash(ADDRESS)
    commenter = EmailVault(settings.secret_key).commenter_id(digest)
    rconn.hset(keys.commenter_ids(), commenter, digest)
    commenters.ban(rconn, settings, digest, commenter, "desk", None, reject_existing=False)
    await ask(client, ADDRESS)
    path = await mailed_link(settings, tmp_path)
    page = await (await client.get(path)).text()
    assert "2 comments are stored" in page

    csrf = await csrf_of(client, path)
    download = await client.post(f"{path}/export", data={"csrf": csrf})
    assert download.status == 200
    assert "attachment" in download.headers["Content-Disposition"]
    exported = (await download.json())["comments"]
    assert sorted(c["comment"] for c in exported) == [
        "A second thought.",
        "My words on the station.",
    ]
    assert "example.org" not in await download.text()

    assert (await client.post(f"{path}/erase", data={"csrf": "forged"})).status == 403
    erased = await client.post(f"{path}/erase", data={"csrf": csrf})
    assert erased.status == 200
    assert "2 comments anonymised" in await erased.text()

    dump = key_dump(rconn)
    for trace in (ADDRESS.encode(), b"Erase.Me-5531", b"erase.me-5531", digest.encode()):
        assert trace not in dump
    records = stored_comments(rconn)
    assert records[first]["name"] == "Anonymous"
    assert "website" not in records[first]
    assert records[other]["name"] == "Erin"  # someone else's comment is untouched
    thread = await (await client.get("/api/v1/comments", params={"article": ARTICLE})).json()
    assert {c["name"] for c in thread["comments"]} == {"Anonymous", "Erin"}
    assert (await client.get(path)).status == 410  # the link is spent


async def test_remove_mode_and_operator_cli(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    cid = await submit(client)
    approve(rconn, settings, cid)
    exported = await asyncio.to_thread(run_cli, settings, "privacy", "export", "--email", ADDRESS)
    assert "My words on the station." in exported
    assert "example.org" not in exported.lower()
    remove = settings.with_overrides(erase_mode="remove")
    await asyncio.to_thread(run_cli, remove, "privacy", "erase", "--email", ADDRESS)
    assert cid not in stored_comments(rconn)
    assert rconn.zcard(keys.thread(ARTICLE)) == 0


async def test_request_metadata_expires(client: Client, rconn: redis.Redis) -> None:
    old, new = await submit(client), await submit(client, comment="Fresh")
    rconn.zadd(keys.retention(), {old: time.time() - 31 * 86400})
    assert privacy_data.forget_request_metadata(rconn, time.time() - 30 * 86400) == 1
    records = stored_comments(rconn)
    assert "ip" not in records[old]
    assert "user_agent" not in records[old]
    assert records[new]["ip"] == "127.0.0.1"


async def test_the_request_page_opens_the_same_request_as_the_api(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    """The form on the service's own page that the widget links to ("Your comments and data")."""
    await submit(client)
    page = await client.get("/privacy")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    csrf = await csrf_of(client, "/privacy")
    refused = await client.post("/privacy", data={"email": ADDRESS})  # no CSRF value
    assert refused.status == 403
    bad = await client.post("/privacy", data={"email": "no address", "csrf": csrf})
    assert bad.status == 422
    assert "no address" not in await bad.text()
    for typed in ("nobody-7781@example.org", f"  {ADDRESS.upper()} "):
        sent = await client.post("/privacy", data={"email": typed, "csrf": csrf})
        assert sent.status == 200
        assert "If this address has comments here" in await sent.text()
        assert typed.strip().lower() not in (await sent.text()).lower()
    path = await mailed_link(settings, tmp_path / "outbox")  # one mail: the known address's
    assert (await client.get(path)).status == 200
