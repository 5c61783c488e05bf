"""Readers' votes on published comments: one per reader key, idempotent, anonymous."""

from __future__ import annotations

from aiohttp import web

from service.core import keys
from service.core.validation import FieldError
from service.core.votes import DOWN, UP, is_reader_key
from service.store import votes
from service.web.appkeys import REDIS, SETTINGS, VAULT
from service.web.bodies import read_fields
from service.web.clients import client_address
from service.web.errors import ApiError, validation_failed
from service.web.limits import limit

routes = web.RouteTableDef()


def comment_id_of(request: web.Request) -> str:
    """The path's comment id; 404 for anything that cannot be one."""
    comment_id = request.match_info["comment_id"]
    if not keys.is_comment_id(comment_id):
        raise no_such_comment()
    return comment_id


def no_such_comment() -> ApiError:
    return ApiError(404, "not_found", "No such comment.")


@routes.post("/api/v1/comments/{comment_id}/vote")
async def vote(request: web.Request) -> web.Response:
    settings, redis = request.app[SETTINGS], request.app[REDIS]
    comment_id = comment_id_of(request)
    data = await read_fields(request)
    # Anything but a string fails the checks below as its text does.
    reader, value = str(data.get("reader")), str(data.get("value", UP))
    errors = {}
    if not is_reader_key(reader):
        errors["reader"] = FieldError("invalid_reader_key", "reader must be 32 hex characters.")
    allowed = (UP, DOWN) if settings.votes_down else (UP,)
    if value not in allowed:
        errors["value"] = FieldError("invalid", "value must be " + " or ".join(allowed) + ".")
    if errors:
        raise validation_failed(errors)
    count, window = settings.limit_votes
    await limit(redis, "vote-ip", client_address(request), count, window)
    voter = request.app[VAULT].voter(comment_id, reader)
    tally = await votes.cast(redis, comment_id, voter, value)
    if tally is None:
        raise no_such_comment()
    body = {"id": comment_id, "votes": {"up": tally.up, "down": tally.down}, "voted": value}
    return web.json_response(body, headers={"Cache-Control": "no-store"})
