"""The one error path: every failure leaves the service as the same JSON shape."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from multidict import CIMultiDict
from redis.exceptions import RedisError

from service.core import messages
from service.core.validation import FieldError
from service.web.deadlines import Deadline

log = logging.getLogger(__name__)

RETRY_AFTER_S = "5"
# Where an error response carries its code for the metrics middleware (not sent to clients).
ERROR_CODE = web.ResponseKey("error_code", str)

# aiohttp's own HTTP errors (routing, body size) get our codes and messages.
_HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    404: ("not_found", "No such resource."),
    405: ("method_not_allowed", "Method not allowed on this resource."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported content type."),
}


class ApiError(Exception):
    """A client-facing error with an HTTP status and a stable code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: Mapping[str, FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})


def validation_failed(fields: Mapping[str, FieldError]) -> ApiError:
    return ApiError(422, "validation_failed", "Some fields are invalid.", fields=fields)


def storage_unavailable() -> ApiError:
    return ApiError(
        503,
        "storage_unavailable",
        "Storage is unavailable; nothing was saved. Try again shortly.",
        headers={"Retry-After": RETRY_AFTER_S},
    )


def language_of(request: web.Request) -> str:
    """The language the reader asked for (Accept-Language), of the six the service speaks."""
    return messages.negotiate(request.headers.get("Accept-Language", ""))


def error_response(err: ApiError, language: str = messages.DEFAULT) -> web.Response:
    """The error as JSON, its messages in `language`; codes and fields never change."""
    body: dict[str, object] = {
        "code": err.code,
        "message": messages.error_message(language, err.code, err.message),
    }
    if err.fields:
        body["fields"] = {
            name: {
                "code": fe.code,
                "message": messages.field_message(language, fe.code, fe.message, fe.limit),
            }
            for name, fe in err.fields.items()
        }
    headers = CIMultiDict(err.headers)
    headers["Content-Language"] = language
    headers.add("Vary", "Accept-Language")
    response = web.json_response({"error": body}, status=err.status, headers=headers)
    response[ERROR_CODE] = err.code
    return response


# The request's time limit (COMMENTS_REQUEST_TIMEOUT), for a handler whose response is meant to
# outlast it (routes/stream.py).
DEADLINE = web.RequestKey("deadline", Deadline)


def answer_to(request: web.Request, exc: Exception) -> web.Response:
    """The JSON error for what a handler raised; called while handling it (for the log).
    Not for redirects and 304s (HTTPExceptions under 400): they are answers, not errors."""
    if isinstance(exc, TimeoutError):
        # Bounds body reading too. A write already handed to the intake writer completes
        # (it is shielded): the same ambiguity as a dropped connection, which
        # Idempotency-Key resolves.
        headers = {"Connection": "close"}
        error = ApiError(408, "request_timeout", "The request took too long.", headers=headers)
    elif isinstance(exc, ApiError):
        error = exc
    elif isinstance(exc, web.HTTPException):
        code, message = _HTTP_CODES.get(exc.status, ("http_error", exc.reason))
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        error = ApiError(exc.status, code, message, headers=allow)
    elif isinstance(exc, RedisError):
        log.warning("storage unavailable on %s %s: %r", request.method, request.path, exc)
        error = storage_unavailable()
    else:
        log.exception("unhandled error on %s %s", request.method, request.path)
        error = ApiError(500, "internal_error", "Something went wrong on our side.")
    return error_response(error, language_of(request))
