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
    """The text fields of a form post; a body that does not parse counts as an empty form."""
    try:
        form = await request.post()
    except ValueError:  # e.g. multipart without its boundary, undecodable bytes
        return {}
    return {name: value for name, value in form.items() if isinstance(value, str)}


def same_origin(request: web.Request) -> bool:
    """Browsers send Origin on POSTs; a cross-site form post is refused outright."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    ours = origin_of(request.app[SETTINGS].public_url)
    return origin in (ours, origin_of(str(request.url)))
