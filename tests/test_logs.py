"""Structured logs: one JSON object a line, request ids from the API into the job."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re

from service.core.settings import Settings
from tests.helpers import Client, run_worker_burst


async def test_request_id_is_echoed_or_made(client: Client) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "edge-42_a.b"})
    assert given.headers["X-Request-ID"] == "edge-42_a.b"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "bad id\u00e9" * 20})
    made = hostile.headers["X-Request-ID"]
    assert re.fullmatch(r"\d+-[0-9a-f]{12}", made), made  # ours, not the caller's
    missing = await client.get("/api/v1/nope")
    assert missing.headers["X-Request-ID"]


def test_json_lines_carry_fields_and_redact(captured_logs: io.StringIO) -> None:
    logging.getLogger("test").warning("mail from %s", "leak@example.com")
    event = json.loads(captured_logs.getvalue().splitlines()[-1])
    assert event["level"] == "warning"
    assert event["logger"] == "test"
    assert event["msg"] == "mail from [email]"


async def test_the_job_logs_with_the_request_id_that_caused_it(
    client: Client, settings: Settings
) -> None:
    body = {"article": "a", "name": "N", "email": "n@example.com", "comment": "Hello there"}
    resp = await client.post("/api/v1/comments", json=body, headers={"X-Request-ID": "req-777"})
    cid = (await resp.json())["id"]
    # A real worker process: what it writes to stderr is what is checked.
    worker = await asyncio.to_thread(run_worker_burst, settings.with_overrides(log_format="json"))
    events = [json.loads(line) for line in worker.stderr.splitlines() if line.startswith("{")]
    [decided] = [e for e in events if e["msg"].startswith(f"comment {cid} decided")]
    assert decided["request_id"] == "req-777"
    assert all(isinstance(e["ts"], float) for e in events)
