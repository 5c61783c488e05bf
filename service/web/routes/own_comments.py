"""A commenter edits or deletes their own comment with the edit token its 202 carried."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from service.core.signing import BadToken, ExpiredToken, Purpose, Signer
from service.core.validation import validate_submission
from service.store import own_comments
from service.web.appkeys import SETTINGS, SIGNER, SYNC_REDIS
from service.web.bodies import read_json
from service.web.errors import ApiError, validation_failed
from service.web.routes.votes import comment_id_of, no_such_comment

routes = web.RouteTableDef()


def issue(signer: Signer, comment_id: str, created_at: float, window_s: int) -> str:
    """The bearer token that lets a comment's author change it for `window_s` seconds after
    posting; the same token for every answer about one comment (retries get the first)."""
    return signer.sign(
        Purpose.EDIT, now=created_at, max_age_s=window_s, bind=comment_id, nonce="edit"
    )


def window_closed() -> ApiError:
    return ApiError(
        403, "edit_window_closed", "The time to edit or delete this comment has passed."
    )


def authorize(request: web.Request, comment_id: str, now: float) -> None:
    """The request carries this comment's edit token: 401 if not, 403 once it expired."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme != "Bearer" or not token.strip():
            raise BadToken("missing")
        request.app[SIGNER].verify(Purpose.EDIT, token.strip(), now, bind=comment_id)
    except ExpiredToken:
        raise window_closed() from None
    except BadToken:
        raise ApiError(
            401,
            "unauthorized",
            "The edit token this comment's 202 answer carried is required.",
            headers={"WWW-Authenticate": 'Bearer realm="own-comment"'},
        ) from None


def _answer(result: own_comments.Result) -> None:
    if result is own_comments.Result.MISSING:
        raise no_such_comment()
    if result is own_comments.Result.CLOSED:
        raise window_closed()


@routes.patch("/api/v1/comments/{comment_id}")
async def edit(request: web.Request) -> web.Response:
    comment_id, now = comment_id_of(request), time.time()
    authorize(request, comment_id, now)
    body = await read_json(request)
    # The same rules as a submission's comment field.
    probe = {"article": "x", "name": "x", "email": "a@example.com", "comment": body.get("comment")}
    sub, errors = validate_submission(probe, request.app[SETTINGS].max_comment_chars)
    if sub is None:
        raise validation_failed({"comment": errors["comment"]})
    result = await asyncio.to_thread(
        own_comments.edit,
        request.app[SYNC_REDIS],
        request.app[SETTINGS],
        comment_id,
        sub.comment,
        now,
    )
    _answer(result)
    return web.json_response({"id": comment_id, "status": "pending"}, status=202)


@routes.delete("/api/v1/comments/{comment_id}")
async def delete(request: web.Request) -> web.Response:
    comment_id, now = comment_id_of(request), time.time()
    authorize(request, comment_id, now)
    result = await asyncio.to_thread(
        own_comments.delete, request.app[SYNC_REDIS], request.app[SETTINGS], comment_id, now
    )
    _answer(result)
    return web.Response(status=204)
