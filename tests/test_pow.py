"""The proof of work over HTTP: the challenge with the form token, each verdict at intake, a
solution spent once by the worker. Solved here with the altcha library's own solver, as a
bot would; the widget's solver runs in Chromium (tests/browser/test_pow.py)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import altcha
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from service.core import keys, pow
from service.core.settings import Settings
from service.core.signing import Purpose
from service.core.validation import POW_FIELD
from service.web.app import create_app
from tests.helpers import ARTICLE, SECRET, Client, drain, stored_comments, submit

# Cheap enough to solve in a test; the default costs ~0.5 s on a phone.
FAST = {"pow_cost": 100, "pow_max_number": 50}


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.with_overrides(**FAST)


@pytest.fixture
async def client(fast: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(fast))) as test_client:
        yield test_client


async def challenge(client: Client, article: str = ARTICLE) -> dict[str, Any]:
    resp = await client.get("/api/v1/form-token", params={"article": article})
    assert resp.status == 200
    found: dict[str, Any] = (await resp.json())["altcha"]
    return found


def solve(found: dict[str, Any]) -> str:
    """What the widget posts: base64 of {challenge, solution}."""
    parsed = altcha.Challenge.from_dict(found)
    solution = altcha.solve_challenge(parsed)
    assert solution is not None
    return altcha.Payload(parsed, solution).to_base64()


def altered(payload: str, change: Any) -> str:
    data = json.loads(base64.b64decode(payload))
    change(data)
    return base64.b64encode(json.dumps(data).encode()).decode()


async def test_the_form_token_brings_a_signed_challenge_for_the_article(
    client: Client, fast: Settings
) -> None:
    found = await challenge(client)
    params = found["parameters"]
    assert params["algorithm"] == "PBKDF2/SHA-256"
    assert params["cost"] == FAST["pow_cost"]
    assert params["data"] == {"article": keys.article_tag(ARTICLE)}
    assert abs(params["expiresAt"] - (time.time() + fast.pow_max_age_s)) < 5
    assert params["keySignature"]
    assert found["signature"]
    assert (await challenge(client))["parameters"]["nonce"] != params["nonce"]  # fresh each time


async def test_a_solved_challenge_is_valid_once(
    client: Client, rconn: redis.Redis, fast: Settings
) -> None:
    payload = solve(await challenge(client))
    first = await submit(client, {POW_FIELD: payload})
    record = stored_comments(rconn)[first]
    assert record["pow"] == pow.VALID
    nonce = record["pow_nonce"]
    await drain(fast)
    spent = keys.token_used(Purpose.POW, nonce)
    assert rconn.get(spent) == first.encode()
    assert 0 < rconn.ttl(spent) <= 7200 + 60

    # The same solution on another comment: accepted (202), found replayed, never published.
    second = await submit(client, {POW_FIELD: payload}, comment="A second comment, same work.")
    await drain(fast)
    replayed = stored_comments(rconn)[second]
    assert replayed["pow"] == pow.REPLAYED
    assert replayed["status"] == "spam"  # a spent solution is conclusive
    assert rconn.get(spent) == first.encode()  # still the first comment's
    # Deciding the first again (a retried job) does not turn its own solution into a replay.
    assert stored_comments(rconn)[first]["pow"] == pow.VALID


async def test_a_retry_of_the_same_comment_is_not_a_replay(
    client: Client, rconn: redis.Redis, fast: Settings
) -> None:
    """The widget retries a lost answer with the same body and Idempotency-Key: one comment,
    and its solution is its own."""
    payload = solve(await challenge(client))
    headers = {"Idempotency-Key": "retry-1"}
    first = await submit(client, {POW_FIELD: payload}, headers=headers)
    again = await submit(client, {POW_FIELD: payload}, headers=headers)
    assert first == again
    await drain(fast)
    assert stored_comments(rconn)[first]["pow"] == pow.VALID


async def test_expired_forged_and_foreign_solutions(client: Client, rconn: redis.Redis) -> None:
    issuer = pow.ProofOfWork(SECRET)
    old = issuer.issue(ARTICLE, time.time() - 3 * 3600, cost=100, max_number=20, max_age_s=3600)
    cases = {
        "expired": solve(old),
        "other article": solve(await challenge(client, "another-article")),
        "other secret": solve(
            pow.ProofOfWork("z" * 40).issue(
                ARTICLE, time.time(), cost=100, max_number=20, max_age_s=3600
            )
        ),
        "forged expiry": altered(
            solve(old), lambda d: d["challenge"]["parameters"].update(expiresAt=2**40)
        ),
        "wrong key": altered(
            solve(await challenge(client)),
            lambda d: d["solution"].update(derivedKey="00" * 32),
        ),
        "not base64": "%%%not-base64%%%",
        "not json": base64.b64encode(b"\xff\xfe").decode(),
        "wrong shape": base64.b64encode(b'{"challenge": [1, 2], "solution": null}').decode(),
        "wrong types": altered(
            solve(await challenge(client)), lambda d: d["solution"].update(counter="7")
        ),
        "no key signature": altered(
            solve(await challenge(client)),
            lambda d: d["challenge"]["parameters"].pop("keySignature"),
        ),
    }
    verdicts = {}
    for name, payload in cases.items():
        comment_id = await submit(client, {POW_FIELD: payload}, comment=f"Case {name}.")
        verdicts[name] = stored_comments(rconn)[comment_id]["pow"]
    expected = dict.fromkeys(cases, pow.INVALID) | {"expired": pow.EXPIRED}
    assert verdicts == expected


async def test_what_claims_the_widget_and_what_does_not(
    client: Client, rconn: redis.Redis, fast: Settings
) -> None:
    claimed_empty = await submit(client, {POW_FIELD: ""})
    # Each from its own address: the bot's spam verdict would otherwise mark the address.
    claimed_null = await submit(
        client, {POW_FIELD: None}, comment="null is left out", email="kim@example.org"
    )
    not_claimed = await submit(
        client, comment="An API client that never saw the widget.", email="ana@example.org"
    )
    form = await client.post(
        "/api/v1/comments",
        data={"article": ARTICLE, "name": "Lin", "email": "lin@example.org", "comment": "No JS."},
    )
    assert form.status == 202
    records = stored_comments(rconn)
    assert records[claimed_empty]["pow"] == pow.MISSING
    unclaimed = (claimed_null, not_claimed, (await form.json())["id"])
    for comment_id in unclaimed:
        assert "pow" not in records[comment_id]  # None: held like any unproven reader
    await drain(fast)
    records = stored_comments(rconn)
    # The widget's form without its work is a bot's; a reader without JavaScript is never
    # refused, only held.
    assert records[claimed_empty]["status"] == "spam"
    assert {records[c]["status"] for c in unclaimed} == {"held"}


@pytest.mark.parametrize(
    ("value", "code"),
    [(12345, "invalid_type"), (["a"], "invalid_type"), ("x" * 2049, "too_long")],
)
async def test_a_malformed_field_is_a_precise_error(
    client: Client, rconn: redis.Redis, value: object, code: str
) -> None:
    resp = await client.post(
        "/api/v1/comments",
        json={
            "article": ARTICLE,
            "name": "A",
            "email": "a@example.org",
            "comment": "Hi",
            POW_FIELD: value,
        },
    )
    assert resp.status == 422
    assert (await resp.json())["error"]["fields"][POW_FIELD]["code"] == code
    assert stored_comments(rconn) == {}


async def test_solutions_survive_a_key_rotation(settings: Settings, rconn: redis.Redis) -> None:
    old_secret = settings.secret_key
    found = pow.ProofOfWork(old_secret).issue(
        ARTICLE, time.time(), cost=100, max_number=20, max_age_s=3600
    )
    rotated = settings.with_overrides(
        secret_key="rotated-" + "y" * 40, old_secret_keys=(old_secret,), **FAST
    )
    async with TestClient(TestServer(create_app(rotated))) as rotated_client:
        comment_id = await submit(rotated_client, {POW_FIELD: solve(found)})
    assert stored_comments(rconn)[comment_id]["pow"] == pow.VALID


async def test_turned_off_there_is_no_challenge_and_no_claim(
    settings: Settings, rconn: redis.Redis
) -> None:
    off = settings.with_overrides(pow_max_number=0)
    async with TestClient(TestServer(create_app(off))) as off_client:
        resp = await off_client.get("/api/v1/form-token", params={"article": ARTICLE})
        assert "altcha" not in await resp.json()
        comment_id = await submit(off_client, {POW_FIELD: "anything"})
    assert "pow" not in stored_comments(rconn)[comment_id]
