"""'Your email address will not be published': scan every output for the submitted addresses.

Responses (bodies and headers), the live event stream, log lines (the access log included),
worker output, every Redis key and value (job payloads included, and what RQ keeps compressed:
job data, failure tracebacks, results), and the files Redis persisted are searched for each
address in every form a leak takes: its case variants, its local part, IDNA, percent-encoded,
JSON-escaped, as a Python bytes repr, and the plain hashes (MD5/SHA) of the address.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from urllib.parse import quote

import redis
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from service.core.settings import Settings
from service.core.statuses import Status
from service.entry.embedded_redis import RedisServer
from service.web.app import create_app
from service.web.appkeys import LIVE
from service.web.routes.demo import ARTICLE_ID
from tests.helpers import (
    approve,
    data_files,
    forbidden,
    key_dump,
    redis_values,
    run_worker_burst,
    stored_comments,
)

# Distinctive local parts so a hit cannot be a coincidence.
ADDRESSES = [
    "Zq7.Reader+News@Example.COM",
    "xk-form-poster-93@mail.example.net",
    "idem-retry-5521@example.org",
    "reply-writer-8840@example.com",
    "rejected-7712@example.com",
]
# Internationalised: their domains are distinctive too, so those are searched for as well.
# Used by no other test: the session's Redis keeps every test's writes in its AOF.
IDN_ADDRESSES = ["読者.ゼット@秘密-検査.テスト", "idn-domain-6612@bücher-prüfung.example"]


async def test_no_output_contains_a_submitted_email(
    settings: Settings,
    rconn: redis.Redis,
    redis_server: RedisServer,
    captured_logs: io.StringIO,
    tmp_path: Path,
) -> None:
    outputs: list[bytes] = []

    async def record(resp: ClientResponse) -> ClientResponse:
        outputs.append(str(resp.status).encode())
        outputs.extend(f"{k}: {v}".encode() for k, v in resp.headers.items())
        outputs.append(await resp.read())
        return resp

    base = {"article": ARTICLE_ID, "name": "Reader", "comment": "Interesting piece."}
    async with TestClient(TestServer(create_app(settings, demo_page=True))) as client:
        api = "/api/v1/comments"
        # A reader watching the thread live hears every change below.
        await asyncio.wait_for(client.app[LIVE].ready.wait(), 20)
        stream = await client.get("/api/v1/stream", params={"article": ARTICLE_ID})
        outputs.extend(f"{k}: {v}".encode() for k, v in stream.headers.items())
        first = await record(await client.post(api, json={**base, "email": ADDRESSES[0]}))
        first_id = (await first.json())["id"]
        # The author's own edit and deletion, with the edit token of a 202.
        own = await (await client.post(api, json={**base, "email": ADDRESSES[0]})).json()
        bearer = {"Authorization": f"Bearer {own['edit_token']}"}
        edit = {"comment": "Edited by its author."}
        await record(await client.patch(f"{api}/{own['id']}", json=edit, headers=bearer))
        await record(await client.delete(f"{api}/{own['id']}", headers=bearer))
        await record(
            await client.post(
                api,
                data={**base, "email": ADDRESSES[1], "article_url": "http://127.0.0.1:8080/"},
                allow_redirects=False,
            )
        )
        for _ in range(2):
            await record(
                await client.post(
                    api, json={**base, "email": ADDRESSES[2]}, headers={"Idempotency-Key": "r1"}
                )
            )
        approve(rconn, settings, first_id)
        await record(
            await client.post(api, json={**base, "email": ADDRESSES[3], "parent_id": first_id})
        )
        # Rejected for another field: the address must not be stored or echoed either.
        await record(await client.post(api, json={**base, "email": ADDRESSES[4], "name": ""}))
        await record(await client.post(api, json={**base, "email": "not an address"}))
        # The no-JavaScript error page keeps what was typed, except the address.
        html_error = {**base, "email": ADDRESSES[4], "name": ""}
        page = await record(
            await client.post(api, data=html_error, headers={"Accept": "text/html"})
        )
        assert page.content_type == "text/html"
        for address in IDN_ADDRESSES:
            await record(await client.post(api, json={**base, "email": address}))
        # Addresses percent-encoded in a URL and a User-Agent reach the access log.
        for address in [*ADDRESSES, *IDN_ADDRESSES]:
            encoded = quote(address, safe="")
            await record(
                await client.get(
                    f"{api}?article={ARTICLE_ID}&email={encoded}&again={quote(encoded)}",
                    headers={"User-Agent": f"Mozilla/5.0 ({encoded}; {address})"},
                )
            )

        # The jobs as queued, unpacked: a decided comment's job is deleted once it has run.
        queued_jobs = redis_values(rconn)
        outbox = tmp_path / "outbox"
        # A real worker process: its own stdout and stderr are scanned too.
        notify = settings.with_overrides(outbox_dir=outbox, moderator_emails=("m@x.example",))
        worker = run_worker_burst(notify)
        outputs += [worker.stdout.encode(), worker.stderr.encode()]
        for cid, stored in stored_comments(rconn).items():
            if stored["status"] != Status.APPROVED:
                approve(rconn, settings, cid)

        await record(await client.get(api, params={"article": ARTICLE_ID}))
        # Pages of the thread, and the replies behind a comment's cursor.
        paged = await record(await client.get(api, params={"article": ARTICLE_ID, "limit": "1"}))
        body = await paged.json()
        for cursor in (body["next_cursor"], body["comments"][0]["replies_cursor"]):
            if cursor:
                await record(
                    await client.get(api, params={"article": ARTICLE_ID, "cursor": cursor})
                )
        # Votes, and the page that ranks by them.
        vote = f"{api}/{first_id}/vote"
        await record(await client.post(vote, json={"reader": "c" * 32}))
        report = {"reader": "c" * 32, "reason": "illegal", "statement": "Doxxing."}
        await record(await client.post(f"{api}/{first_id}/reports", json=report))
        await record(await client.get(api, params={"article": ARTICLE_ID, "sort": "top"}))
        await record(await client.get("/"))
        await record(await client.get("/api/v1/counts", params={"article": ARTICLE_ID}))
        ids = [("id", cid) for cid in stored_comments(rconn)]
        await record(await client.get("/api/v1/comment-status", params=ids))
        heard = await asyncio.wait_for(_until_voted(stream), 20)  # the vote was the last event
        assert b"event: published" in heard
        outputs.append(heard)

    assert b"Interesting piece." in b"".join(outputs)  # the scan sees real content
    assert b"process_comment" in worker.stderr.encode() + worker.stdout.encode()
    sources = {
        "responses": b"\n".join(outputs),
        "logs": captured_logs.getvalue().encode(),
        "redis keys and values": key_dump(rconn),
        "redis values unpacked": redis_values(rconn),
        "queued jobs unpacked": queued_jobs,
        "redis files on disk": data_files(redis_server),
        "moderator notifications": b"".join(p.read_bytes() for p in outbox.glob("*.eml")),
    }
    assert b"Held for moderation" in sources["moderator notifications"]
    assert b"GET /api/v1/comments?" in sources["logs"], "the access log wrote nothing"
    assert b"process_comment" in sources["queued jobs unpacked"]  # job data, unpacked
    needles = {address: forbidden(address) for address in ADDRESSES}
    needles |= {address: forbidden(address, domain=True) for address in IDN_ADDRESSES}
    for address, forms in needles.items():
        for needle in forms:
            for name, haystack in sources.items():
                assert needle not in haystack, f"{needle!r} (from {address}) found in {name}"


async def _until_voted(stream: ClientResponse) -> bytes:
    """The stream's bytes up to the end of its first `voted` event."""
    lines: list[bytes] = []
    while not (len(lines) > 2 and lines[-3].startswith(b"event: voted") and not lines[-1].strip()):
        line = await stream.content.readline()
        assert line, "the stream ended"
        lines.append(line)
    return b"".join(lines)
