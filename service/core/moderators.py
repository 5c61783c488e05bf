"""Who may use the moderators' workspace, and as what: pure rules over the settings.

A moderator is an address in COMMENTS_MODERATOR_EMAILS (signing in by an emailed link) or a
name in COMMENTS_MODERATOR_TOKENS (signing in with the token, for scripts). Admins are those
COMMENTS_MODERATOR_ADMINS names. The audit and the pages never show a moderator's address:
one who signed in by mail is named by a keyed label of it (`mail-3f9a1c2b`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from service.core.sealing import derive_key
from service.core.settings import Settings
from service.core.validation import normalize_email

MODERATOR, ADMIN = "moderator", "admin"
ROLES = (MODERATOR, ADMIN)
# Who `comments dev` signs in (dev mode only).
DEVELOPER = "dev"


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in moderator: the name the audit records, and the role."""

    actor: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def moderator_address(settings: Settings, typed: str) -> str | None:
    """The configured moderator address a sign-in form's text is (compared as normalised and
    case-folded addresses), or None. Invalid text is simply no moderator's."""
    try:
        wanted = normalize_email(typed).casefold()
    except ValueError:
        return None
    for address in settings.moderator_emails:
        try:
            if normalize_email(address).casefold() == wanted:
                return address
        except ValueError:
            continue
    return None


def by_address(settings: Settings, address: str) -> Identity:
    """The identity of a configured moderator address."""
    key = derive_key(settings.secret_key, "moderator-label")
    digest = hmac.new(key, address.casefold().encode(), hashlib.sha256).hexdigest()
    admins = {a.casefold() for a in settings.moderator_admins}
    return Identity(f"mail-{digest[:8]}", ADMIN if address.casefold() in admins else MODERATOR)


def by_token(settings: Settings, given: str) -> Identity | None:
    """The identity of a moderator token's owner, or None. Every configured token is
    compared, in constant time: how long it takes says nothing about which one is close."""
    name = None
    for candidate, token in settings.moderator_tokens:
        if hmac.compare_digest(given.strip().encode(), token.encode()) and given.strip():
            name = candidate
    if name is None:
        return None
    return Identity(name, ADMIN if name in settings.moderator_admins else MODERATOR)


def as_configured_now(settings: Settings, who: Identity) -> Identity | None:
    """A session's moderator as the settings say today: their role as now configured, or None
    once they are no longer a moderator (removing someone from the settings ends their
    sessions at the next request, without waiting for the sessions to expire)."""
    if who.actor == DEVELOPER and settings.is_dev:
        return who
    if any(name == who.actor for name, _ in settings.moderator_tokens):
        return Identity(who.actor, ADMIN if who.actor in settings.moderator_admins else MODERATOR)
    for address in settings.moderator_emails:
        found = by_address(settings, address)
        if found.actor == who.actor:
            return found
    return None
