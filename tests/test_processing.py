"""Accepted comments go through a real worker: scored, decided, published or set aside."""

from __future__ import annotations

import json
import time

import redis

from service.core import form_token as tokens
from service.core import keys
from service.core.settings import Settings
from service.core.signing import Signer
from service.core.validation import HONEYPOT_FIELD
from service.queueing import jobs
from tests.helpers import (
    ARTICLE,
    SECRET,
    TEXT,
    Client,
    approve,
    drain,
    email_hash,
    form_token,
    stored_comments,
    submit,
)


def decision(conn: redis.Redis, comment_id: str) -> tuple[str, set[str]]:
    record = stored_comments(conn)[comment_id]
    return record["status"], {r["code"] for r in json.loads(record.get("reasons", "[]"))}


# The random key Maria's widget keeps in her browser: trust belongs to it (tests/test_trust.py).
BROWSER = "maria-browser-key-" + "0" * 16


async def trust(client: Client, conn: redis.Redis, settings: Settings) -> None:
    """Trust as Maria earns it: an earlier comment, from her browser, that a moderator
    approved (on another article, so this one's thread holds only what the test posts)."""
    earlier = await submit(client, article="earlier-story", commenter_key=BROWSER)
    approve(conn, settings, earlier)


async def thread_ids(client: Client) -> list[str]:
    body = await (await client.get("/api/v1/comments", params={"article": ARTICLE})).json()
    return [c["id"] for c in body["comments"]]


async def test_form_token_endpoint(client: Client) -> None:
    resp = await client.get("/api/v1/form-token", params={"article": ARTICLE})
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    check = tokens.check(Signer(SECRET), body["token"], ARTICLE, time.time())
    assert check.verdict == tokens.VALID
    assert body["expires_in"] > 0
    missing = await client.get("/api/v1/form-token")
    assert missing.status == 422


async def test_first_comment_is_held_then_trusted_commenter_is_published(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    first = await submit(client, commenter_key=BROWSER)
    await drain(settings)
    status, reasons = decision(rconn, first)
    assert status == "held"
    assert rconn.zscore(keys.held(), first) is not None
    assert first not in await thread_ids(client)

    approve(rconn, settings, first)  # a moderator publishes the first comment
    second = await submit(
        client, comment=TEXT + " Also, the 1960s comparison is overdone.", commenter_key=BROWSER
    )
    await drain(settings)
    status, reasons = decision(rconn, second)
    assert status == "approved", reasons
    assert "trusted" in reasons
    assert await thread_ids(client) == [first, second]
    rep_key = keys.email_reputation(email_hash("maria@example.com"))
    assert rconn.hget(rep_key, "approved") == b"2"  # the moderator's approval, plus this one


async def test_honeypot_with_valid_token_is_spam_and_marks_its_sources(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    trap = await submit(client, {HONEYPOT_FIELD: "+1 555 0100"}, website="https://spam.test")
    await drain(settings)
    status, reasons = decision(rconn, trap)
    assert status == "spam"
    assert "honeypot" in reasons
    assert rconn.zscore(keys.spam_folder(), trap) is not None
    assert rconn.get(keys.ip_reputation("127.0.0.1")) == b"1"
    assert rconn.get(keys.domain_reputation("spam.test")) == b"1"

    # The next comment from that address and website carries the history.
    later = await submit(
        client, email="other@example.com", website="https://spam.test/p", comment=TEXT + " Yes."
    )
    await drain(settings)
    assert {"spam_ip", "spam_website"} <= decision(rconn, later)[1]


async def test_replayed_token_and_duplicate_text(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    token = form_token()
    first = await submit(client, form_token=token)
    await drain(settings)
    again = await submit(client, form_token=token, email="bob@example.com")
    await drain(settings)
    assert "token_replayed" not in decision(rconn, first)[1]
    assert {"token_replayed", "duplicate"} <= decision(rconn, again)[1]


async def test_too_fast_and_forged(client: Client, rconn: redis.Redis, settings: Settings) -> None:
    fast = await submit(client, form_token=form_token(age_s=0.5))
    forged = await submit(
        client, form_token="v1.abc.def.ghi", comment=TEXT + " (2)", email="c@x.com"
    )
    await drain(settings)
    assert "too_fast" in decision(rconn, fast)[1]
    assert "token_forged" in decision(rconn, forged)[1]


async def test_a_second_run_of_the_job_changes_nothing(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    await trust(client, rconn, settings)
    cid = await submit(client, commenter_key=BROWSER)
    await drain(settings)
    rep_key = keys.email_reputation(email_hash("maria@example.com"))

    def state() -> tuple[object, ...]:
        counters = {k: rconn.get(k) for k in rconn.scan_iter("cm:rate:*")}
        return stored_comments(rconn)[cid], rconn.hgetall(rep_key), counters

    before = state()
    assert before[1] == {b"approved": b"2"}
    assert before[2]  # the rate counters were written once
    version = rconn.get(keys.thread_version(ARTICLE))

    jobs.enqueue(rconn, settings, jobs.PROCESS_COMMENT, [cid])
    await drain(settings)
    assert state() == before
    assert rconn.get(keys.thread_version(ARTICLE)) == version
    assert rconn.zcard(keys.thread(ARTICLE)) == 1
