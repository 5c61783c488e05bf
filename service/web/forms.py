"""The forms on pages opened from emailed links: confirmed by the person, on our page.

A POST acts only with the page's CSRF value (signed, bound to the link the page was opened
with) and from our own origin, so a link alone, a mail scanner or another site cannot act.
"""

from __future__ import annotations

import time

from aiohttp import web

from service.core import links
from service.core.origins import origin_of
from service.web.appkeys import SETTINGS, SIGNER
from service.web.bodies import FORM, read_form
from service.web.errors import ApiError
from service.web.pages import message


async def refuse_unconfirmed(
    request: web.Request, page_token: str, again: str
) -> web.Response | None:
    """None for a genuine post of the page opened with `page_token`, else the refusal page
    (`again` tells the person what to do)."""
    if not same_origin(request):
        return message(request, "Not allowed", "This form must be sent from its own page.", 403)
    sent = (await posted(request)).get("csrf")
    if not links.csrf_valid(request.app[SIGNER], page_token, sent, time.time()):
        return message(request, "Not allowed", again, 403)
    return None


async def posted(request: web.Request) -> dict[str, str]:
    """The fields of the page's form post. Our pages post urlencoded UTF-8; anything else
    (another type, an unknown charset, bytes that do not decode) counts as an empty form,
    which the CSRF check then refuses with the page's own message."""
    if request.content_type != FORM:
        return {}
    try:
        return await read_form(request)
    except ApiError:
        return {}


def same_origin(request: web.Request) -> bool:
    """Browsers send Origin on POSTs; a cross-site form post is refused outright.

    Our pages' `Referrer-Policy: same-origin` (pages.LINK_PAGE_HEADERS) makes a browser send
    our real origin with their forms, so `Origin: null` is refused like any other origin: it
    is what sandboxed frames, data: URLs and cross-origin redirects send, and accepting it
    only when `Sec-Fetch-Site: same-origin` comes along would leave the browsers that send
    no Sec-Fetch-Site (Safari before 16.4) with no origin check at all.
    """
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser (they all send it on POST): the CSRF value decides
        return True
    ours = origin_of(request.app[SETTINGS].public_url)
    return origin in (ours, origin_of(str(request.url)))
