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
import ipaddress
import re
from pathlib import Path
from urllib.parse import quote

import redis
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from service.core.settings import Settings
from service.core.statuses import Status
from service.entry.embedded_redis import RedisServer
from service.web.app import create_app
from service.web.appkeys import LIVE
from service.web.routes.demo import ARTICLE_ID
from tests.helpers import (
    ARTICLE,
    Recorder,
    approve,
    data_files,
    drain,
    filled_paths,
    forbidden,
    key_dump,
    redis_values,
    route_paths,
    run_worker_burst,
    stored_comments,
    submit,
)
from tests.test_workspace import (
    ADMIN,
    COMMENTER_LINK,
    csrf_of,
    mailed_signin_link,
    session_of,
    workspace_settings,
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


# The workspace: every page its router serves, before and after every kind of action.
WS_COMMENTERS = ["Ws-Commenter.7781@Example.COM", "ws-replier-7782@mail.example.net"]
# Their IPs (documentation ranges), forwarded by a proxy the service trusts: stored with
# each comment, shown on no page.
WS_IPS = ["198.51.100.77", "2001:db8::7781"]


async def test_no_workspace_page_shows_an_address_or_an_ip_and_no_log_a_secret(
    settings: Settings,
    rconn: redis.Redis,
    smtp: tuple[int, Recorder],
    captured_logs: io.StringIO,
) -> None:
    proxied = (ipaddress.ip_network("127.0.0.1/32"),)
    ws_settings = workspace_settings(
        settings, smtp_url=f"smtp://127.0.0.1:{smtp[0]}", trusted_proxies=proxied
    )
    pages: list[bytes] = []
    secrets: list[str] = []

    async def record(resp: ClientResponse) -> ClientResponse:
        pages.append(f"{resp.url.path_qs} {resp.status}".encode())
        pages.extend(f"{k}: {v}".encode() for k, v in resp.headers.items())
        pages.append(await resp.read())
        secrets.extend(re.findall(r'name="csrf" value="([^"]+)"', await resp.text()))
        return resp

    async with TestClient(TestServer(create_app(ws_settings))) as ws:
        first = await submit(ws, email=WS_COMMENTERS[0], website="https://site.example.org",
                             headers={"X-Forwarded-For": WS_IPS[0]})  # fmt: skip
        approve(rconn, ws_settings, first)
        ids = [await submit(ws, email=WS_COMMENTERS[0], comment=f"Held comment {n}.",
                            headers={"X-Forwarded-For": WS_IPS[0]}) for n in range(2)]  # fmt: skip
        ids.append(await submit(ws, email=WS_COMMENTERS[1], parent_id=first,
                                headers={"X-Forwarded-For": WS_IPS[1]}))  # fmt: skip
        await drain(ws_settings)
        assert {stored_comments(rconn)[i]["ip"] for i in ids} == set(WS_IPS)  # stored, so

        # Signed in by the mailed link, as a person is.
        signin = await record(await ws.get("/moderation/"))
        csrf = secrets[0]
        await record(await ws.post("/moderation/signin", data={"csrf": csrf, "email": ADMIN}))
        link = URL(await mailed_signin_link(ws_settings, smtp[1], ADMIN)).path
        shown = await record(await ws.get(link))
        await record(await ws.post(link, data={"csrf": csrf_of(await shown.text())}))
        session = session_of(ws)
        assert signin.status == shown.status == 200

        async def every_page() -> None:
            listed = b"".join(pages).decode(errors="replace")
            samples = {
                "folder": ["held", "spam", "approved", "rejected", "all", "reported"],
                "comment_id": [first, *ids],
                "commenter_id": sorted(set(COMMENTER_LINK.findall(listed))),
                "token": [link.rsplit("/", 1)[1]],
                "unknown": ["no-such-page"],
            }
            assert len(samples["commenter_id"]) == 2, "both commenters' pages are scanned"
            query = {"/moderation/article": f"?article={ARTICLE}", "/moderation/queue/{folder}":
                     "?order=newest&q=comment"}  # fmt: skip
            for template in route_paths(ws.app, "GET", "/moderation/"):
                for path in filled_paths(template, samples):
                    await record(await ws.get(path))
                    if template in query:
                        await record(await ws.get(path + query[template]))

        await record(await ws.get("/moderation/queue/all"))  # links to the commenters' pages
        await every_page()
        # Every kind of action, so the pages show notes, a ban, edits, a staff reply, audits.
        commenter = COMMENTER_LINK.findall(b"".join(pages).decode(errors="replace"))[0]
        csrf = secrets[-1]
        on_comment = f"/moderation/comment/{first}"
        for path, fields in [
            ("/moderation/act", {"item": f"spam:{ids[0]}"}),
            (f"/moderation/commenter/{commenter}/note", {"note": "Watch this one."}),
            (f"/moderation/commenter/{commenter}/ban", {"duration": "7d"}),
            (f"{on_comment}/edit", {"text": "Edited by a moderator."}),
            (f"{on_comment}/feature", {"featured": "on"}),
            (f"{on_comment}/reply", {"name": "Staff", "reply": "Thanks for writing."}),
            ("/moderation/article", {"article": ARTICLE, "closing": "closed"}),
        ]:
            resp = await record(await ws.post(path, data={"csrf": csrf, **fields}))
            assert resp.status == 200, (path, resp.status)  # after its redirect
        await every_page()

    scanned = b"\n".join(pages)
    assert b"Held comment 1." in scanned  # the scan sees real content
    assert b"Watch this one." in scanned
    for address in WS_COMMENTERS:
        for needle in forbidden(address):
            assert needle not in scanned, (needle, address)
    for needle in forbidden(ADMIN):  # the moderator's own address: only in their mail
        assert needle not in scanned, needle
    for ip in WS_IPS:
        assert ip.encode() not in scanned, ip
    logs = captured_logs.getvalue()
    assert "/moderation/signin/[token]" in logs, "the access log wrote nothing"
    assert "/moderation/commenter/" in logs
    for secret in [session, *set(secrets), link.rsplit("/", 1)[1]]:
        assert secret not in logs
    for address in WS_COMMENTERS:
        assert address.casefold() not in logs.casefold()
