"""Readers report published comments: one report per reader and comment, anonymous."""

from __future__ import annotations

import asyncio

from aiohttp import web

from service.core.reports import validate_report
from service.store import reports
from service.web.appkeys import REDIS, SETTINGS, SYNC_REDIS, VAULT
from service.web.bodies import read_json
from service.web.clients import client_address
from service.web.errors import validation_failed
from service.web.limits import limit
from service.web.routes.votes import comment_id_of, no_such_comment

routes = web.RouteTableDef()


@routes.post("/api/v1/comments/{comment_id}/reports")
async def report(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    comment_id = comment_id_of(request)
    given, errors = validate_report(await read_json(request))
    if given is None:
        raise validation_failed(errors)
    count, window = settings.limit_reports
    await limit(request.app[REDIS], "report-ip", client_address(request), count, window)
    # Keyed like a vote, under its own purpose: a report never names its reader.
    reporter = request.app[VAULT].voter(f"report:{comment_id}", given.reader)
    outcome = await asyncio.to_thread(
        reports.report, request.app[SYNC_REDIS], settings, comment_id, reporter, given
    )
    if outcome is reports.Outcome.MISSING:
        raise no_such_comment()
    # The same answer for a first and a repeated report: nothing to learn from it.
    return web.json_response({"id": comment_id, "status": "received"}, status=202)
