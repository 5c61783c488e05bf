"""Signed moderation links: signature, expiry, binding, key rotation."""

from __future__ import annotations

import pytest

from service.keys import new_comment_id
from service.moderation_links import EXPIRED, INVALID, VALID, LinkSigner

NOW = 1_800_000_000.0
CID = new_comment_id("story")
WEEK = 7 * 24 * 3600


def test_valid_link_names_its_comment_and_action() -> None:
    signer = LinkSigner("a" * 40)
    token = signer.issue(CID, "approve", NOW, WEEK)
    check = signer.check(token, NOW + 60)
    assert check.verdict == VALID
    assert check.link is not None
    assert (check.link.comment_id, check.link.action) == (CID, "approve")
    assert signer.issue(CID, "approve", NOW, WEEK) != token  # a nonce each: single use


def test_link_expires() -> None:
    signer = LinkSigner("a" * 40)
    token = signer.issue(CID, "spam", NOW, WEEK)
    assert signer.check(token, NOW + WEEK + 1).verdict == EXPIRED


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace("approve", "spam"),  # another action
        lambda t: t.replace(CID, new_comment_id("story")),  # another comment
        lambda t: t.replace(t.split(".")[4], str(int(t.split(".")[4]) + 10**6)),  # later expiry
        lambda t: t[:-3] + "AAA",
        lambda t: "v2" + t[2:],
        lambda t: "garbage",
    ],
)
def test_tampered_links_are_invalid(tamper: object) -> None:
    signer = LinkSigner("a" * 40)
    token = signer.issue(CID, "approve", NOW, WEEK)
    assert signer.check(tamper(token), NOW).verdict == INVALID  # type: ignore[operator]


def test_key_rotation_keeps_old_links_for_the_grace_period() -> None:
    old_link = LinkSigner("old" * 14).issue(CID, "approve", NOW, WEEK)
    rotated = LinkSigner("new" * 14, old_secrets=["old" * 14])
    assert rotated.check(old_link, NOW).verdict == VALID
    assert LinkSigner("new" * 14).check(old_link, NOW).verdict == INVALID  # grace over
    assert rotated.check(rotated.issue(CID, "reject", NOW, WEEK), NOW).verdict == VALID


def test_unknown_action_cannot_be_issued() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        LinkSigner("a" * 40).issue(CID, "delete-everything", NOW, WEEK)
