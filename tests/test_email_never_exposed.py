"""'Your email address will not be published': scan every output for the submitted addresses.

Responses (bodies and headers), log lines, worker output, every Redis key and value (job
payloads included), and the files Redis persisted are searched for each address, its case
variants, its local part and the plain hashes a leak usually takes (MD5/SHA of the address).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import redis
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from service.core.settings import Settings
from service.core.statuses import Status
from service.entry.embedded_redis import RedisServer
from service.web.app import create_app
from service.web.routes.demo import ARTICLE_ID
from tests.helpers import approve, data_files, key_dump, run_worker_burst, stored_comments

# Distinctive local parts so a hit cannot be a coincidence.
ADDRESSES = [
    "Zq7.Reader+News@Example.COM",
    "xk-form-poster-93@mail.example.net",
    "idem-retry-5521@example.org",
    "reply-writer-8840@example.com",
    "rejected-7712@example.com",
]


def forbidden(address: str) -> set[bytes]:
    local = address.split("@")[0]
    forms = {address, address.lower(), address.casefold(), local, local.lower()}
    normalized = address.split("@")[0] + "@" + address.split("@")[1].lower()
    forms.add(normalized)
    for text in list(forms):
        for algo in (hashlib.md5, hashlib.sha1, hashlib.sha256):
            forms.add(algo(text.encode()).hexdigest())
    return {f.encode() for f in forms}


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
        first = await record(await client.post(api, json={**base, "email": ADDRESSES[0]}))
        first_id = (await first.json())["id"]
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

        outbox = tmp_path / "outbox"
        # A real worker process: its own stdout and stderr are scanned too.
        notify = settings.with_overrides(outbox_dir=outbox, moderator_emails=("m@x.example",))
        worker = run_worker_burst(notify)
        outputs += [worker.stdout.encode(), worker.stderr.encode()]
        for cid, stored in stored_comments(rconn).items():
            if stored["status"] != Status.APPROVED:
                approve(rconn, settings, cid)

        await record(await client.get(api, params={"article": ARTICLE_ID}))
        await record(await client.get("/"))
        await record(await client.get("/api/v1/counts", params={"article": ARTICLE_ID}))
        ids = [("id", cid) for cid in stored_comments(rconn)]
        await record(await client.get("/api/v1/comment-status", params=ids))

    assert b"Interesting piece." in b"".join(outputs)  # the scan sees real content
    assert b"process_comment" in worker.stderr.encode() + worker.stdout.encode()
    sources = {
        "responses": b"\n".join(outputs),
        "logs": captured_logs.getvalue().encode(),
        "redis keys and values": key_dump(rconn),
        "redis files on disk": data_files(redis_server),
        "moderator notifications": b"".join(p.read_bytes() for p in outbox.glob("*.eml")),
    }
    assert b"Held for moderation" in sources["moderator notifications"]
    assert sources["logs"], "logging produced nothing to scan"
    for address in ADDRESSES:
        for needle in forbidden(address):
            for name, haystack in sources.items():
                assert needle not in haystack, f"{needle!r} (from {address}) found in {name}"
