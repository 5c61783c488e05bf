"""The signed links the service mails out, built by workers and opened on the service's pages.

- moderation: one comment, one action; expires (COMMENTS_LINK_MAX_AGE) and is single use;
- privacy: one export/erase request; expires with it (COMMENTS_PRIVACY_LINK_MAX_AGE);
- confirm: its author says "yes, I wrote this" about one comment, proving the address is
  theirs; expires with the privacy links (COMMENTS_PRIVACY_LINK_MAX_AGE) and is single use;
- signin: a moderator's one-time way into the workspace; 15 minutes, single use (the request
  it names is deleted when it is used);
- unsubscribe: stops reply emails to one comment's author (RFC 8058 one-click). It outlives
  the email it came in, as mail providers expect: the worst a leaked one can do is stop mail.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.core.keys import is_comment_id
from service.core.settings import Settings
from service.core.signing import BadToken, Claims, Purpose, Signer
from service.core.statuses import MODERATOR_ACTIONS

UNSUBSCRIBE_MAX_AGE_S = 5 * 365 * 24 * 3600
SIGNIN_MAX_AGE_S = 15 * 60
PATHS = {
    Purpose.CONFIRM: "confirm",
    Purpose.MODERATION: "moderate",
    Purpose.PRIVACY: "privacy",
    Purpose.SIGNIN: "moderation/signin",
    Purpose.UNSUBSCRIBE: "unsubscribe",
}


@dataclass(frozen=True, slots=True)
class ModerationLink:
    comment_id: str
    action: str
    claims: Claims


def moderation_url(
    signer: Signer, settings: Settings, comment_id: str, action: str, now: float
) -> str:
    if action not in MODERATOR_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    token = signer.sign(
        Purpose.MODERATION, comment_id, action, now=now, max_age_s=settings.link_max_age_s
    )
    return _url(settings, Purpose.MODERATION, token)


def workspace_url(settings: Settings, comment_id: str) -> str:
    """The comment's page in the moderators' workspace: unsigned, it opens only to a
    signed-in moderator (notifications and digests link to it beside the one-click links)."""
    return f"{settings.public_url}/moderation/comment/{comment_id}"


def moderation_link(signer: Signer, token: str, now: float) -> ModerationLink:
    """The link's comment and action; BadToken or ExpiredToken as `Signer.verify`."""
    claims = signer.verify(Purpose.MODERATION, token, now)
    comment_id, action = _fields(claims, 2)
    if action not in MODERATOR_ACTIONS or not is_comment_id(comment_id):
        raise BadToken("fields")
    return ModerationLink(comment_id, action, claims)


def privacy_url(signer: Signer, settings: Settings, request_id: str, now: float) -> str:
    token = signer.sign(
        Purpose.PRIVACY, request_id, now=now, max_age_s=settings.privacy_link_max_age_s
    )
    return _url(settings, Purpose.PRIVACY, token)


def privacy_request_id(signer: Signer, token: str, now: float) -> str:
    (request_id,) = _fields(signer.verify(Purpose.PRIVACY, token, now), 1)
    return request_id


def signin_url(
    signer: Signer, settings: Settings, request_id: str, now: float, max_age_s: int
) -> str:
    token = signer.sign(Purpose.SIGNIN, request_id, now=now, max_age_s=max_age_s)
    return _url(settings, Purpose.SIGNIN, token)


def signin_request_id(signer: Signer, token: str, now: float) -> str:
    """The sign-in request a link names; BadToken or ExpiredToken as `Signer.verify`."""
    (request_id,) = _fields(signer.verify(Purpose.SIGNIN, token, now), 1)
    return request_id


def confirm_url(signer: Signer, settings: Settings, comment_id: str, now: float) -> str:
    token = signer.sign(
        Purpose.CONFIRM, comment_id, now=now, max_age_s=settings.privacy_link_max_age_s
    )
    return _url(settings, Purpose.CONFIRM, token)


def confirmed_comment(signer: Signer, token: str, now: float) -> tuple[str, Claims]:
    """The comment a confirmation link names, and the link's claims (its nonce is spent)."""
    claims = signer.verify(Purpose.CONFIRM, token, now)
    (comment_id,) = _fields(claims, 1)
    if not is_comment_id(comment_id):
        raise BadToken("fields")
    return comment_id, claims


def unsubscribe_url(signer: Signer, settings: Settings, comment_id: str, now: float) -> str:
    token = signer.sign(Purpose.UNSUBSCRIBE, comment_id, now=now, max_age_s=UNSUBSCRIBE_MAX_AGE_S)
    return _url(settings, Purpose.UNSUBSCRIBE, token)


def unsubscribe_comment(signer: Signer, token: str, now: float) -> str:
    (comment_id,) = _fields(signer.verify(Purpose.UNSUBSCRIBE, token, now), 1)
    if not is_comment_id(comment_id):
        raise BadToken("fields")
    return comment_id


def csrf_value(signer: Signer, page_token: str, now: float) -> str:
    """What a page's form posts back, bound to the link the page was opened with."""
    return signer.sign(Purpose.CSRF, now=now, max_age_s=None, bind=page_token)


def csrf_valid(signer: Signer, page_token: str, value: object, now: float) -> bool:
    if not isinstance(value, str):
        return False
    try:
        signer.verify(Purpose.CSRF, value, now, bind=page_token)
    except BadToken:
        return False
    return True


def _url(settings: Settings, purpose: Purpose, token: str) -> str:
    return f"{settings.public_url}/{PATHS[purpose]}/{token}"


def _fields(claims: Claims, count: int) -> tuple[str, ...]:
    if len(claims.fields) != count:
        raise BadToken("fields")
    return claims.fields
