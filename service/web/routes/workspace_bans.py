"""Bans by IP range and by website domain: every moderator sees the list, admins change it.

The intake refuses (or holds, COMMENTS_BANNED_COMMENTS) a comment sent from a banned range or
naming a website on a banned domain (or its subdomains), as it does a banned commenter's.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from service.core.bans import BadEntry, Entry, parse_entry
from service.store import bans
from service.web.appkeys import BANS, REDIS, SYNC_REDIS
from service.web.routes.workspace_commenters import DURATION_NAMES, DURATIONS
from service.web.workspace import Signed, form_post, page_session, see_other, workspace_page

routes = web.RouteTableDef()

PATH = "/moderation/bans"
NOTICES = {
    "added": "Banned.",
    "removed": "Ban lifted.",
    "removed-already": "There was no such ban to lift.",
}


@routes.get(PATH)
async def bans_page(request: web.Request) -> web.Response:
    signed = await page_session(request)
    if isinstance(signed, web.Response):
        return signed
    return await _page(request, signed, NOTICES.get(request.query.get("did", ""), ""))


async def _page(
    request: web.Request, signed: Signed, notice: str = "", *, error: str = "", draft: str = ""
) -> web.Response:
    context = {
        "title": "Bans",
        "listed": await bans.listed(request.app[REDIS]),
        "durations": DURATION_NAMES,
        "notice": notice,
        "error": error,
        "draft": draft,
    }
    status = 422 if error else 200
    return await workspace_page(request, signed, "workspace/bans.html", context, status=status)


@routes.post(PATH)
async def add(request: web.Request) -> web.Response:
    checked = await form_post(request, admin=True)
    if isinstance(checked, web.Response):
        return checked
    signed, fields = checked
    given = dict(reversed(fields))
    typed = given.get("entry", "")
    try:
        entry = parse_entry(typed)
    except BadEntry as exc:
        return await _page(request, signed, error=str(exc), draft=typed)
    duration = given.get("duration", "")
    if duration not in DURATIONS:
        message = "Choose how long: " + ", ".join(DURATION_NAMES.values()) + "."
        return await _page(request, signed, error=message, draft=typed)
    try:
        await asyncio.to_thread(
            bans.add, request.app[SYNC_REDIS], entry, signed.who.actor, DURATIONS[duration]
        )
    except bans.TooManyBans:
        message = f"The list is full ({bans.MAX_BANS}): lift a ban first."
        return await _page(request, signed, error=message, draft=typed)
    request.app[BANS].forget()
    return see_other(f"{PATH}?did=added")


@routes.post(f"{PATH}/remove")
async def remove(request: web.Request) -> web.Response:
    checked = await form_post(request, admin=True)
    if isinstance(checked, web.Response):
        return checked
    signed, fields = checked
    try:
        entry = Entry.from_key(dict(reversed(fields)).get("ban", ""))
    except BadEntry:
        return await _page(request, signed, error="Choose a ban to lift from the list.")
    lifted = await asyncio.to_thread(bans.remove, request.app[SYNC_REDIS], entry, signed.who.actor)
    request.app[BANS].forget()
    return see_other(f"{PATH}?did={'removed' if lifted else 'removed-already'}")
