"""GET /metrics: request, submission, queue and worker figures; nothing private in labels."""

from __future__ import annotations

import re
from pathlib import Path

import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer
from service.web.app import create_app
from service.web.metrics_registry import Metrics
from tests.helpers import Client, drain, make_settings

REDIS_GAUGES = (
    "comments_queue_depth",
    "comments_queue_oldest_job_age_seconds",
    "comments_jobs",
    "comments_undecided",
    "comments_workers",
    "comments_worker_events",
)


def value(text: str, metric: str) -> float:
    found = re.search(rf"^{re.escape(metric)} (\S+)$", text, re.MULTILINE)
    assert found, f"{metric} not in metrics"
    return float(found.group(1))


async def test_metrics_follow_requests_queues_and_decisions(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    good = {
        "article": "a",
        "name": "N",
        "email": "secret.person@example.com",
        "comment": "Hi",
        "website": "https://n.example",
    }
    for _ in range(2):
        await client.post("/api/v1/comments", json=good, headers={"X-Forwarded-For": "9.9.9.9"})
    assert (await client.post("/api/v1/comments", json={**good, "email": "nope"})).status == 422
    await client.get("/moderate/v1.a.b.approve.1.n.mac")

    text = await (await client.get("/metrics")).text()
    assert value(text, 'comments_submissions_total{outcome="accepted"}') == 2
    assert value(text, 'comments_submissions_total{outcome="validation_failed"}') == 1
    assert value(text, 'comments_queue_depth{queue="comments"}') == 2
    assert value(text, 'comments_queue_oldest_job_age_seconds{queue="comments"}') >= 0
    assert value(text, "comments_undecided") == 2
    assert 'route="/moderate/{token}"' in text  # the template, never the token
    assert 'comments_http_request_seconds_bucket{le="0.005",route="/api/v1/comments"}' in text

    await drain(settings)
    text = await (await client.get("/metrics")).text()
    assert value(text, 'comments_queue_depth{queue="comments"}') == 0
    assert value(text, "comments_undecided") == 0
    decided = sum(
        value(text, f'comments_worker_events{{event="verdict_{v}"}}')
        for v in ("held", "approved", "spam")
        if f'verdict_{v}"' in text
    )
    assert decided == 2
    assert value(text, 'comments_worker_events{event="scoring_seconds_sum"}') > 0
    for private in ("secret.person", "example.com", "9.9.9.9", "127.0.0.1", "v1.a.b"):
        assert private not in text


async def test_a_scrape_succeeds_while_redis_is_down(tmp_path: Path) -> None:
    """The process's own metrics still come; Redis's are marked down, not stale or 503."""
    server = RedisServer(tmp_path / "redis").start()
    settings = make_settings(server.url)
    try:
        async with TestClient(TestServer(create_app(settings))) as client:
            await client.get("/healthz")
            up = await client.get("/metrics")
            assert up.status == 200
            text = await up.text()
            assert value(text, "comments_redis_up") == 1
            assert value(text, 'comments_queue_depth{queue="comments"}') == 0

            server.stop()
            down = await client.get("/metrics")
            assert down.status == 200
            assert down.headers["Content-Type"].startswith("text/plain")
            text = await down.text()
            assert value(text, "comments_redis_up") == 0
            assert (
                value(
                    text, 'comments_http_requests_total{method="GET",route="/healthz",status="200"}'
                )
                == 1
            )
            # Absent, not the last value seen: a stale queue depth would look healthy.
            for gauge in REDIS_GAUGES:
                assert not re.search(rf"^{gauge}[{{ ]", text, re.MULTILINE), gauge

            server.start()
            text = await (await client.get("/metrics")).text()
            assert value(text, "comments_redis_up") == 1
            assert value(text, 'comments_queue_depth{queue="comments"}') == 0
    finally:
        server.stop()


async def test_methods_outside_the_usual_share_one_series(client: Client) -> None:
    """aiohttp's parser takes some thirty methods (WebDAV's and others) besides the usual
    ones: they share one label, so the series stay a handful whatever clients send."""
    unusual = ("PROPFIND", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "PURGE")
    for method in unusual:
        resp = await client.request(method, "/api/v1/comments")
        assert resp.status == 405
    text = await (await client.get("/metrics")).text()
    for method in unusual:
        assert f'method="{method}"' not in text
    route = 'method="OTHER",route="unmatched",status="405"'  # no route takes the method
    assert value(text, f"comments_http_requests_total{{{route}}}") == len(unusual)


def test_latency_buckets_are_cumulative_and_a_bound_counts_what_equals_it() -> None:
    metrics = Metrics()
    resource = web.PlainResource("/x")
    for seconds in (0.0005, 0.005, 0.006, 3.0):
        metrics.answered(resource, "GET", 200, None, seconds)
    text = metrics.exposition(None).decode()
    bucket = 'comments_http_request_seconds_bucket{{le="{}",route="/x"}}'
    assert value(text, bucket.format("0.001")) == 1
    assert value(text, bucket.format("0.005")) == 2
    assert value(text, bucket.format("0.01")) == 3
    assert value(text, bucket.format("2.5")) == 3
    assert value(text, bucket.format("+Inf")) == 4
    assert value(text, 'comments_http_request_seconds_count{route="/x"}') == 4
    assert value(text, 'comments_http_request_seconds_sum{route="/x"}') == 3.0115
    assert value(text, 'comments_http_requests_total{method="GET",route="/x",status="200"}') == 4
