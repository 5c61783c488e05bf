"""Structured logs: one JSON object a line, request ids from the API into the job."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re

from service.core.settings import Settings
from service.web.request_ids import request_id_of
from tests.helpers import Client, run_worker_burst


async def test_request_id_is_echoed_or_made(client: Client) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "edge-42_a.b"})
    assert given.headers["X-Request-ID"] == "edge-42_a.b"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "bad id\u00e9" * 20})
    made = hostile.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", made), made  # ours, not the caller's
    missing = await client.get("/api/v1/nope")
    assert missing.headers["X-Request-ID"] not in ("", made)


def test_a_forked_process_makes_ids_of_its_own() -> None:
    parent = request_id_of(None)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then out at once
        os.write(write, request_id_of(None).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    os.close(write)
    assert child.split("-")[0] != parent.split("-")[0]
    assert request_id_of(None) not in (parent, child)


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
