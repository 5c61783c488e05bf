"""The HTTP API against a real Redis: what a site and its readers rely on."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from rq.job import Job
from rq.serializers import JSONSerializer

from service.core import keys
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.validation import validate_submission
from service.entry.embedded_redis import RedisServer
from service.queueing import jobs
from service.queueing.queues import queue
from service.web.app import create_app
from tests.helpers import (
    ARTICLE,
    SECRET,
    Client,
    all_keys,
    approve,
    drain,
    email_hash,
    make_settings,
    run_worker_burst,
    stored_comments,
    submit,
)

JSON = "application/json"
VALID = {
    "article": ARTICLE,
    "name": "Ann Reader",
    "email": "ann@example.com",
    "comment": "Cooperation on a lunar station would be a big deal.",
}


async def post(client: Client, body: dict[str, Any] | None = None, **kw: Any) -> ClientResponse:
    return await client.post("/api/v1/comments", json=VALID if body is None else body, **kw)


async def assert_error(
    resp: ClientResponse, status: int, code: str, fields: dict[str, str] | None = None
) -> dict[str, Any]:
    assert resp.status == status
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    if fields is not None:
        got = {name: f["code"] for name, f in body["error"].get("fields", {}).items()}
        assert got == fields
    return dict(body)


def queued_ids(conn: redis.Redis, settings: Settings) -> list[str]:
    return list(queue(conn, settings).get_job_ids())


# --- accepting comments -------------------------------------------------------------------


async def test_accepted_comment_is_stored_sealed_and_queued(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    resp = await post(client, {**VALID, "email": "Ann@Example.COM", "website": "https://a.test"})
    assert resp.status == 202
    body = await resp.json()
    assert body["status"] == "pending"
    cid = body["id"]
    assert keys.is_comment_id(cid)

    record = stored_comments(rconn)[cid]
    assert record["status"] == "pending"
    assert record["article"] == VALID["article"]
    assert record["website"] == "https://a.test"
    assert "email" not in record
    vault = EmailVault(SECRET)
    assert vault.open(record["email_sealed"], cid) == "Ann@example.com"  # normalized
    assert record["email_hash"] == vault.email_hash("ann@example.com")
    assert record["ip"] == "127.0.0.1"

    assert queued_ids(rconn, settings) == [keys.process_job(cid)]
    job = Job.fetch(keys.process_job(cid), connection=rconn, serializer=JSONSerializer)
    assert job.func_name == "workers.jobs.process_comment"
    assert job.args == [cid]  # the id only: RQ keeps job payloads in clear
    assert job.kwargs == {}
    assert job.timeout == settings.job_timeout_s
    assert job.retries_left == len(settings.job_retry_intervals_s)
    assert rconn.ttl(job.key) == -1  # a queued job never expires


async def test_form_post_redirects_back_to_the_article(client: Client, rconn: redis.Redis) -> None:
    form = {
        **VALID,
        "article_url": "https://news.example.org/lunar#comments",
        "notify_replies": "on",
    }
    resp = await client.post("/api/v1/comments", data=form, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "https://news.example.org/lunar#comment-pending"
    [record] = stored_comments(rconn).values()
    assert record["notify_replies"] == "1"


async def test_form_post_falls_back_to_allowed_referer(client: Client) -> None:
    resp = await client.post(
        "/api/v1/comments",
        data=VALID,
        headers={"Referer": "https://news.example.org/story"},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "https://news.example.org/story#comment-pending"


async def test_form_post_never_redirects_to_a_foreign_origin(client: Client) -> None:
    form = {**VALID, "article_url": "https://evil.example/phish"}
    resp = await client.post(
        "/api/v1/comments",
        data=form,
        headers={"Referer": "https://evil.example/"},
        allow_redirects=False,
    )
    assert resp.status == 202  # stored, answered in JSON, no redirect off-site
    assert "Location" not in resp.headers


# Browsers read "\\" as "/": this URL leads to evil.example, whatever Python's urlsplit says.
BACKSLASHED = "https://evil.example\\@news.example.org/"


async def test_form_post_never_follows_a_backslashed_referer(
    client: Client, rconn: redis.Redis
) -> None:
    headers = {"Referer": BACKSLASHED, "Accept": "text/html"}
    for attempt in (1, 2):  # a reader who retries gets an answer each time, not a 500
        resp = await client.post(
            "/api/v1/comments", data=VALID, headers=headers, allow_redirects=False
        )
        assert resp.status == 202  # stored; no return address a browser would follow safely
        assert "Location" not in resp.headers
        assert len(stored_comments(rconn)) == attempt


async def test_form_post_never_follows_a_backslashed_article_url(
    client: Client, rconn: redis.Redis
) -> None:
    form = {**VALID, "article_url": BACKSLASHED}
    # Whether the field itself is refused is validation's rule; either way the answer is
    # exact, nothing is stored twice and nothing leads to evil.example.
    refused = "article_url" in validate_submission(form, 10_000)[1]
    resp = await client.post(
        "/api/v1/comments",
        data=form,
        headers={"Referer": "https://news.example.org/story", "Accept": "text/html"},
        allow_redirects=False,
    )
    if refused:
        assert resp.status == 422
        page = await resp.text()
        assert 'href="https://news.example.org/story"' in page  # back by the Referer
        # Posting again must not be refused for a field the reader cannot see or fix.
        assert 'name="article_url" value="https://news.example.org/story"' in page
        assert 'href="https://evil' not in page
        assert stored_comments(rconn) == {}
    else:
        assert resp.status == 303
        assert resp.headers["Location"] == "https://news.example.org/story#comment-pending"
        assert len(stored_comments(rconn)) == 1


async def test_form_post_redirects_to_an_idn_article_in_the_form_browsers_use(
    settings: Settings, rconn: redis.Redis
) -> None:
    allowed = settings.with_overrides(allowed_origins=("https://xn--nws-jma.example.org",))
    form = {**VALID, "article_url": "https://nëws.example.org/störy?p=ü&email=a%40b.org#c"}
    async with TestClient(TestServer(create_app(allowed))) as client:
        resp = await client.post("/api/v1/comments", data=form, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == (
        "https://xn--nws-jma.example.org/st%C3%B6ry?p=%C3%BC&email=a@b.org#comment-pending"
    )
    assert len(stored_comments(rconn)) == 1


async def test_many_concurrent_submissions_are_all_stored_once(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    bodies = [{**VALID, "comment": f"comment number {i}"} for i in range(300)]
    responses = await asyncio.gather(*(post(client, b) for b in bodies))
    assert [r.status for r in responses] == [202] * 300
    ids = [(await r.json())["id"] for r in responses]
    assert len(set(ids)) == 300
    texts = {rconn.hget(keys.comment(i), "comment").decode() for i in ids}  # type: ignore[union-attr]
    assert texts == {b["comment"] for b in bodies}
    assert sorted(queued_ids(rconn, settings)) == sorted(keys.process_job(i) for i in ids)


# --- errors: exact status and code, nothing stored ----------------------------------------


async def test_validation_errors_store_nothing(client: Client, rconn: redis.Redis) -> None:
    resp = await post(client, {**VALID, "email": "not-an-address", "name": "", "website": "x"})
    await assert_error(
        resp,
        422,
        "validation_failed",
        {"email": "invalid_email", "name": "required", "website": "invalid_url"},
    )
    assert all_keys(rconn) == []


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b'{"article": ', "application/json", 400, "malformed_json"),
        (b"\xff\xfe{}", "application/json", 400, "malformed_json"),
        (b'["a", "list"]', "application/json", 400, "invalid_body"),
        (b"null", "application/json", 400, "invalid_body"),
        # Text that is not UTF-8 is refused, not stored with U+FFFD in place of what was typed.
        (b"article=a&name=%FF", "application/x-www-form-urlencoded", 400, "malformed_form"),
        (b"<comment/>", "application/xml", 415, "unsupported_media_type"),
        (b"hello", "text/plain", 415, "unsupported_media_type"),
        (b"", "", 415, "unsupported_media_type"),
    ],
)
async def test_malformed_bodies(
    client: Client, rconn: redis.Redis, data: bytes, content_type: str, status: int, code: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    resp = await client.post("/api/v1/comments", data=data, headers=headers)
    await assert_error(resp, status, code)
    assert all_keys(rconn) == []


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversized_body_is_413_json(
    client: Client, rconn: redis.Redis, chunked: bool
) -> None:
    body = b'{"comment": "' + b"x" * (70 * 1024) + b'"}'

    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    resp = await client.post(
        "/api/v1/comments",
        data=stream() if chunked else body,
        headers={"Content-Type": "application/json"},
    )
    await assert_error(resp, 413, "payload_too_large")
    assert all_keys(rconn) == []


async def test_unknown_route_and_wrong_method(client: Client) -> None:
    await assert_error(await client.get("/api/v1/nope"), 404, "not_found")
    resp = await client.delete("/api/v1/comments")
    await assert_error(resp, 405, "method_not_allowed")
    assert "POST" in resp.headers["Allow"]


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
async def test_invalid_idempotency_key(client: Client, rconn: redis.Redis, key: str) -> None:
    resp = await post(client, headers={"Idempotency-Key": key})
    await assert_error(resp, 400, "invalid_idempotency_key")
    assert all_keys(rconn) == []


# --- idempotency --------------------------------------------------------------------------


async def test_idempotent_retry_returns_first_answer(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    headers = {"Idempotency-Key": "retry-1"}
    first = await post(client, headers=headers)
    again = await post(client, headers=headers)
    assert first.status == again.status == 202
    assert await first.json() == await again.json()
    assert len(queued_ids(rconn, settings)) == 1
    assert len(stored_comments(rconn)) == 1


async def test_concurrent_retries_with_one_key_create_one_comment(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    headers = {"Idempotency-Key": "double-click"}
    responses = await asyncio.gather(*(post(client, headers=headers) for _ in range(10)))
    assert {(await r.json())["id"] for r in responses} != set()
    assert len({(await r.json())["id"] for r in responses}) == 1
    assert len(queued_ids(rconn, settings)) == 1


async def test_same_key_from_another_commenter_is_independent(client: Client) -> None:
    headers = {"Idempotency-Key": "1"}
    a = await (await post(client, headers=headers)).json()
    b = await (await post(client, {**VALID, "email": "bo@example.com"}, headers=headers)).json()
    assert a["id"] != b["id"]


async def test_idempotency_key_reused_for_other_content(client: Client) -> None:
    headers = {"Idempotency-Key": "k"}
    assert (await post(client, headers=headers)).status == 202
    resp = await post(client, {**VALID, "comment": "something else"}, headers=headers)
    await assert_error(resp, 422, "idempotency_key_reused")


async def test_a_ban_or_a_closed_thread_comes_before_an_earlier_attempt(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    """The intake script checks in the order the API always did: banned, closed, then the
    earlier attempt's answer; a refused comment writes nothing and counts against no limit."""
    headers = {"Idempotency-Key": "retry-after-ban"}
    assert (await post(client, headers=headers)).status == 202
    before = sorted(all_keys(rconn))
    rconn.set(keys.ban(email_hash(VALID["email"])), "1")
    await assert_error(await post(client, headers=headers), 403, "commenter_banned")
    await assert_error(await post(client), 403, "commenter_banned")
    rconn.delete(keys.ban(email_hash(VALID["email"])))
    rconn.hset(keys.article_settings(ARTICLE), "closed", "1")
    await assert_error(await post(client, headers=headers), 403, "comments_closed")
    rconn.hdel(keys.article_settings(ARTICLE), "closed")
    assert sorted(all_keys(rconn)) == before
    assert len(queued_ids(rconn, settings)) == 1


# --- replies ------------------------------------------------------------------------------


async def test_reply_needs_an_approved_parent_on_the_same_article(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    pending = await submit(client)
    missing = keys.new_comment_id(VALID["article"])
    other_article = await submit(client, article="another-story")
    approve(rconn, settings, other_article)
    for parent in (pending, missing, other_article):
        resp = await post(client, {**VALID, "parent_id": parent})
        await assert_error(resp, 422, "validation_failed", {"parent_id": "parent_not_found"})
    approve(rconn, settings, pending)
    assert (await post(client, {**VALID, "parent_id": pending})).status == 202


# --- reading threads ----------------------------------------------------------------------


async def test_thread_is_threaded_oldest_first_with_public_fields_only(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    first = await submit(client, name="First", website="https://first.example")
    second = await submit(client, name="Second")
    approve(rconn, settings, first)
    approve(rconn, settings, second)
    reply = await submit(client, name="Replier", parent_id=first, comment="I agree\n\nfully")
    approve(rconn, settings, reply)
    await submit(client, name="Still pending")

    resp = await client.get("/api/v1/comments", params={"article": VALID["article"]})
    assert resp.status == 200
    body = await resp.json()
    assert body["count"] == 3
    assert [c["name"] for c in body["comments"]] == ["First", "Second"]
    top = body["comments"][0]
    assert set(top) == {"id", "parent_id", "name", "website", "text", "created_at", "replies"}
    assert top["website"] == "https://first.example"
    assert top["created_at"].endswith("+00:00")
    [nested] = top["replies"]
    assert nested["id"] == reply
    assert nested["parent_id"] == first
    assert nested["text"] == "I agree\n\nfully"
    assert body["comments"][1]["replies"] == []


async def test_thread_etag_and_304(client: Client, rconn: redis.Redis, settings: Settings) -> None:
    params = {"article": VALID["article"]}
    empty = await client.get("/api/v1/comments", params=params)
    assert (await empty.json())["count"] == 0
    etag = empty.headers["ETag"]
    not_modified = await client.get(
        "/api/v1/comments", params=params, headers={"If-None-Match": etag}
    )
    assert not_modified.status == 304
    assert not_modified.headers["ETag"] == etag

    approve(rconn, settings, await submit(client))
    changed = await client.get("/api/v1/comments", params=params, headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert (await changed.json())["count"] == 1


async def test_thread_micro_cache_serves_for_its_window_then_refreshes(
    redis_server: RedisServer, rconn: redis.Redis
) -> None:
    settings = make_settings(redis_server.url, thread_cache_s=0.3)
    async with TestClient(TestServer(create_app(settings))) as cached:
        params = {"article": VALID["article"]}
        first = await cached.get("/api/v1/comments", params=params)
        approve(rconn, settings, await submit(cached))
        within = await cached.get("/api/v1/comments", params=params)
        assert within.headers["ETag"] == first.headers["ETag"]  # up to 0.3 s late
        await asyncio.sleep(0.35)
        after = await cached.get("/api/v1/comments", params=params)
        assert after.headers["ETag"] != first.headers["ETag"]
        assert (await after.json())["count"] == 1


async def test_thread_needs_an_article(client: Client) -> None:
    resp = await client.get("/api/v1/comments")
    await assert_error(resp, 422, "validation_failed", {"article": "required"})


async def test_security_headers_on_answers_and_errors(client: Client) -> None:
    thread = await client.get("/api/v1/comments", params={"article": "a"})
    unchanged = await client.get(
        "/api/v1/comments",
        params={"article": "a"},
        headers={"If-None-Match": thread.headers["ETag"]},
    )
    assert unchanged.status == 304
    form = {**VALID, "article_url": "https://news.example.org/lunar"}
    redirect = await client.post("/api/v1/comments", data=form, allow_redirects=False)
    assert redirect.status == 303
    stream = await client.get("/api/v1/stream", params={"article": "a"})
    assert stream.status == 200
    for resp in (
        thread,
        unchanged,
        redirect,
        stream,  # sends its headers itself, before the request stack sees its answer
        await client.get("/healthz"),
        await client.get("/api/v1/nope"),
        await client.post("/api/v1/comments", data=b"{", headers={"Content-Type": JSON}),
    ):
        assert resp.headers["X-Content-Type-Options"] == "nosniff", resp.url
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert "Referrer-Policy" in resp.headers
    stream.close()


async def test_health_and_readiness(client: Client) -> None:
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    assert (await (await client.get("/readyz")).json()) == {"status": "ready"}


# --- client address -----------------------------------------------------------------------


async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    redis_server: RedisServer, rconn: redis.Redis
) -> None:
    headers = {"X-Forwarded-For": "198.51.100.7"}
    for trusted, expected in (((), b"127.0.0.1"), (("127.0.0.1/32",), b"198.51.100.7")):
        proxies = tuple(ipaddress.ip_network(net) for net in trusted)
        settings = make_settings(redis_server.url, trusted_proxies=proxies)
        async with TestClient(TestServer(create_app(settings))) as client:
            cid = (await (await post(client, headers=headers)).json())["id"]
        assert rconn.hget(keys.comment(cid), "ip") == expected


# --- Redis outage -------------------------------------------------------------------------


async def test_redis_down_means_503_and_nothing_half_written(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    settings = make_settings(server.url)
    conn = redis.Redis.from_url(server.url)
    try:
        async with TestClient(TestServer(create_app(settings))) as client:
            ok = await submit(client, comment="before the outage")
            server.stop()
            down = await post(client, {**VALID, "comment": "during the outage"})
            body = await assert_error(down, 503, "storage_unavailable")
            assert down.headers["Retry-After"].isdigit()
            assert "Traceback" not in str(body)
            await assert_error(await client.get("/readyz"), 503, "storage_unavailable")
            await assert_error(
                await client.get("/api/v1/comments", params={"article": "a"}),
                503,
                "storage_unavailable",
            )

            server.start()  # same port, same AOF: the service recovers without a restart
            after = await submit(client, comment="after the outage")
            assert (await client.get("/readyz")).status == 200

        stored = sorted(conn.hget(k, "comment") or b"" for k in conn.scan_iter("cm:*:c:*"))
        assert stored == [b"after the outage", b"before the outage"]
        assert sorted(queued_ids(conn, settings)) == sorted(
            [keys.process_job(ok), keys.process_job(after)]
        )
    finally:
        conn.close()
        server.stop()


# --- workers ------------------------------------------------------------------------------


async def test_a_real_worker_processes_accepted_comments(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    ids = [await submit(client, comment=f"to process {i}") for i in range(3)]
    await drain(settings)
    assert queued_ids(rconn, settings) == []
    first_pass = [rconn.hmget(keys.comment(i), ["status", "decided_at"]) for i in ids]
    assert all(status in (b"held", b"approved", b"spam") and at for status, at in first_pass)

    # At-least-once delivery: the same job again (a retry after a crash) changes nothing,
    # here in a real `--worker-class fork` process (the job runs in a forked work horse).
    jobs.enqueue(rconn, settings, jobs.PROCESS_COMMENT, [ids[0]])
    run_worker_burst(settings, "--worker-class", "fork")
    assert [rconn.hmget(keys.comment(i), ["status", "decided_at"]) for i in ids] == first_pass
    # A finished decision is deleted with its result: the outcome is in the comment record.
    assert not rconn.exists(Job.key_for(keys.process_job(ids[0])))


# --- abuse limits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "vary", "scope"),
    [
        ("limit_ip", "email", "from this address"),
        ("limit_email", "ip", "from this commenter"),
        ("limit_article", "email", "on this article"),
        ("limit_site", "article", "on this site"),
    ],
)
async def test_submission_limits_answer_429_and_store_nothing(
    redis_server: RedisServer, rconn: redis.Redis, limit: str, vary: str, scope: str
) -> None:
    settings = make_settings(
        redis_server.url,
        **{limit: (3, 600)},
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        statuses = []
        for i in range(5):
            body = {**VALID, "comment": f"Comment {i}"}
            headers = {"X-Forwarded-For": "198.51.100.1"}
            if vary == "email":
                body["email"] = f"person{i}@example.com"
            elif vary == "ip":
                headers["X-Forwarded-For"] = f"198.51.100.{i + 10}"
            else:
                body["article"] = f"story-{i}"
            resp = await post(client, body, headers=headers)
            statuses.append(resp.status)
            if resp.status == 429:
                error = await assert_error(resp, 429, "rate_limited")
                assert scope in error["error"]["message"]
                assert 0 < int(resp.headers["Retry-After"]) <= 601
        assert statuses == [202, 202, 202, 429, 429]
        assert len(stored_comments(rconn)) == 3
        # Someone else, elsewhere, is not affected (except by the site-wide limit).
        other = {**VALID, "email": "other@example.org", "article": "another-story"}
        resp = await post(client, other, headers={"X-Forwarded-For": "203.0.113.50"})
        assert resp.status == (429 if limit == "limit_site" else 202)


async def test_slow_client_gets_408_in_the_json_shape(
    redis_server: RedisServer, rconn: redis.Redis
) -> None:
    settings = make_settings(redis_server.url, request_timeout_s=0.3)
    async with TestClient(TestServer(create_app(settings))) as client:
        port = client.server.port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /api/v1/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"article"'  # ...and the rest never comes
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), 5)
        writer.close()
        await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body)["error"]["code"] == "request_timeout"
    assert stored_comments(rconn) == {}


# --- privacy requests ---------------------------------------------------------------------

PRIVACY = "/api/v1/privacy/requests"
POSTED_ADDRESS = "Zoë.Müller@Bücher.example"


@pytest.mark.parametrize(
    "typed",
    [
        f"  {POSTED_ADDRESS.upper()} ",  # other case, surrounding spaces
        unicodedata.normalize("NFD", POSTED_ADDRESS),  # decomposed, as macOS keyboards send
        "Zoë.Müller@xn--bcher-kva.example",  # the IDNA form of the domain
    ],
)
async def test_privacy_request_finds_the_commenter_however_the_address_is_typed(
    client: Client, rconn: redis.Redis, typed: str
) -> None:
    cid = await submit(client, email=POSTED_ADDRESS)
    commenter = stored_comments(rconn)[cid]["email_hash"]
    resp = await client.post(PRIVACY, json={"email": typed})
    assert resp.status == 202
    assert rconn.scard(keys.privacy_requests_of(commenter)) == 1


async def test_privacy_requests_count_each_client_behind_a_trusted_proxy(
    redis_server: RedisServer, rconn: redis.Redis
) -> None:
    proxy = (ipaddress.ip_network("127.0.0.1/32"),)
    settings = make_settings(redis_server.url, trusted_proxies=proxy)
    async with TestClient(TestServer(create_app(settings))) as client:

        async def ask(n: int, client_ip: str) -> int:
            body = {"email": f"reader{n}@example.org"}  # a new address: only the IP limit
            resp = await client.post(PRIVACY, json=body, headers={"X-Forwarded-For": client_ip})
            return resp.status

        assert [await ask(n, "198.51.100.1") for n in range(11)] == [202] * 10 + [429]
        assert await ask(99, "203.0.113.9") == 202  # another reader behind the same proxy


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b'{"email": ', JSON, 400, "malformed_json"),
        (b'["a@example.org"]', JSON, 400, "invalid_body"),
        (
            b"email=a%40example.org",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
        (b'{"email": 42}', JSON, 422, "validation_failed"),
        (b"{}", JSON, 422, "validation_failed"),
        (b'{"email": "not an address"}', JSON, 422, "validation_failed"),
    ],
)
async def test_privacy_request_bodies(
    client: Client, rconn: redis.Redis, data: bytes, content_type: str, status: int, code: str
) -> None:
    resp = await client.post(PRIVACY, data=data, headers={"Content-Type": content_type})
    body = await assert_error(resp, status, code)
    if status == 422:
        assert body["error"]["fields"]["email"]["code"] == "invalid_email"
    assert all_keys(rconn) == []
