"""The API contract: service/web/openapi.json is valid OpenAPI 3.1, names every route the
service has, is what GET /api/v1/openapi.json serves, and holds for the real service.

schemathesis generates requests from the document (valid and invalid bodies, parameters
and headers, a fixed number per operation, derandomized so a run is repeatable) and sends
them to a real `comments api` process with a real Redis holding a thread, held comments
and an audit log. Every response must be one the document describes (status, content type,
body schema, required headers), and none may be a 5xx. tests/test_fuzz.py keeps what the
document cannot express: hostile bytes, charsets, nesting depth, methods and paths it does
not list, and that nothing refused is stored.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis import checks

from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer, free_port
from service.store import moderation
from service.web.app import create_app
from tests.helpers import (
    API,
    ARTICLE,
    TEXT,
    api_ready_sync,
    drain_now,
    form_token,
    make_settings,
    worker_env,
)

DOCUMENT = Path(__file__).resolve().parent.parent / "service" / "web" / "openapi.json"
TOKEN = "m" * 40
AS_MODERATOR = {"Authorization": f"Bearer {TOKEN}"}
# What "conforms" means: the status is listed, the content type and body are as described,
# required headers are there; and above all, no 5xx.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 20

schema = schemathesis.openapi.from_path(DOCUMENT)
# The live stream answers 200 with a response that never ends, so a generated request for it
# would never finish: its errors, events, resume and CORS are tested in tests/test_stream.py.
FUZZED = schema.exclude(operation_id="streamThread")


def the_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return document


def test_the_document_is_valid_openapi_3_1() -> None:
    document = the_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_is_in_the_document(redis_server: RedisServer) -> None:
    """A route added without its description fails here, not in a client's integration."""
    app = create_app(make_settings(redis_server.url))
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method not in ("HEAD", "OPTIONS")
    }
    documented = {
        (method, path)
        for path, item in the_document()["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert served == documented


def test_every_error_answer_is_the_one_error_shape() -> None:
    """Each 4xx/5xx response in the document offers JSON only as the `Error` schema."""
    document = the_document()
    responses = document["components"]["responses"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, answer in operation["responses"].items():
                answer = responses[answer["$ref"].rsplit("/", 1)[1]] if "$ref" in answer else answer
                body = answer.get("content", {}).get("application/json")
                if int(status) >= 400 and body is not None:
                    assert body["schema"] == {"$ref": "#/components/schemas/Error"}, (path, status)


# --- the real service ---------------------------------------------------------------------


def post_json(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.load(resp)


def seed(url: str, service_settings: Settings) -> None:
    """A thread with replies, held comments with reasons, an audit log: so listings and
    threads answer with real items, not only empty pages."""
    ids = [
        post_json(
            f"{url}/api/v1/comments",
            {
                "article": ARTICLE,
                "name": f"Reader {n}",
                "email": f"reader{n}@example.org",
                "comment": f"{TEXT} ({n})",
                "form_token": form_token(),
            },
        )["id"]
        for n in range(4)
    ]
    drain_now(service_settings)
    conn = redis.Redis.from_url(str(service_settings.redis_url))
    for comment_id in ids[:2]:
        moderation.apply(conn, service_settings, comment_id, "approve", "seed")
    post_json(
        f"{url}/api/v1/comments",
        {"article": ARTICLE, "name": "R", "email": "r@example.org", "comment": "A reply here.",
         "parent_id": ids[0]},
    )  # fmt: skip
    conn.close()


@pytest.fixture(scope="module")
def api_url(redis_server: RedisServer) -> Iterator[str]:
    """A real `comments api` process on its own Redis database."""
    url = redis_server.url.rsplit("/", 1)[0] + "/7"
    redis.Redis.from_url(url).flushdb()
    service_settings = make_settings(url, moderator_tokens=(("alice", TOKEN),))
    port = free_port()
    process = subprocess.Popen(
        [*API, "--port", str(port)],
        env=worker_env(service_settings) | {"COMMENTS_LOG_LEVEL": "WARNING"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        api_ready_sync(base, process)
        seed(base, service_settings)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        redis.Redis.from_url(url).flushdb()


@FUZZED.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_response_conforms_and_none_is_a_server_error(
    case: schemathesis.Case[Any], api_url: str
) -> None:
    case.call_and_validate(base_url=api_url, headers=AS_MODERATOR, checks=CHECKS)
