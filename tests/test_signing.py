"""The one signer: every token kind, expiry, binding, purpose separation, key rotation; and the
links built on it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from service.core import links
from service.core.keys import new_comment_id
from service.core.sealing import Hmac
from service.core.settings import Settings
from service.core.signing import BadToken, Claims, ExpiredToken, Purpose, Signer

NOW = 1_800_000_000.0
WEEK = 7 * 24 * 3600
CID = new_comment_id("story")
SETTINGS = Settings(mode="dev", secret_key="a" * 40, public_url="https://comments.example")


def test_round_trip_carries_fields_issue_time_and_a_fresh_nonce() -> None:
    signer = Signer("a" * 40)
    token = signer.sign(Purpose.MODERATION, CID, "approve", now=NOW, max_age_s=WEEK)
    claims = signer.verify(Purpose.MODERATION, token, NOW + 60)
    assert claims.fields == (CID, "approve")
    assert (claims.issued, claims.expires) == (int(NOW), int(NOW) + WEEK)
    again = signer.verify(
        Purpose.MODERATION, signer.sign(Purpose.MODERATION, now=NOW, max_age_s=1), NOW
    )
    assert claims.nonce
    assert again.nonce != claims.nonce
    assert token.isascii()
    assert all(c.isalnum() or c in "-_." for c in token)


def test_expiry_is_checked_and_reports_the_claims() -> None:
    signer = Signer("a" * 40)
    token = signer.sign(Purpose.PRIVACY, "req", now=NOW, max_age_s=3600)
    assert signer.verify(Purpose.PRIVACY, token, NOW + 3600).fields == ("req",)
    with pytest.raises(ExpiredToken) as expired:
        signer.verify(Purpose.PRIVACY, token, NOW + 3601)
    assert expired.value.claims.fields == ("req",)
    forever = signer.sign(Purpose.CSRF, now=NOW, max_age_s=None)
    assert signer.verify(Purpose.CSRF, forever, NOW + 10 * 365 * 86400).expires == 0


def test_a_token_from_the_future_is_forged() -> None:
    signer = Signer("a" * 40)
    token = signer.sign(Purpose.FORM, now=NOW + 3600, max_age_s=60)
    with pytest.raises(BadToken):
        signer.verify(Purpose.FORM, token, NOW)


def test_purposes_and_bound_values_do_not_mix() -> None:
    signer = Signer("a" * 40)
    unsubscribe = signer.sign(Purpose.UNSUBSCRIBE, CID, now=NOW, max_age_s=WEEK)
    with pytest.raises(BadToken):
        signer.verify(Purpose.MODERATION, unsubscribe, NOW)
    form = signer.sign(Purpose.FORM, now=NOW, max_age_s=60, bind="article-1")
    assert signer.verify(Purpose.FORM, form, NOW, bind="article-1")
    with pytest.raises(BadToken):
        signer.verify(Purpose.FORM, form, NOW, bind="article-2")


def _payload(token: str) -> list[object]:
    part = token.split(".")[2]
    loaded: list[object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return loaded


def _with_payload(token: str, payload: list[object]) -> str:
    version, key_id, _, mac = token.split(".")
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{version}.{key_id}.{encoded}.{mac}"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: _with_payload(t, [*_payload(t)[:3], CID, "spam"]),  # another action
        lambda t: _with_payload(t, [*_payload(t)[:3], new_comment_id("x"), "approve"]),
        lambda t: _with_payload(t, [_payload(t)[0], 2_000_000_000, *_payload(t)[2:]]),  # later
        lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),  # the mac
        lambda t: "v2" + t[2:],
        lambda t: t.rsplit(".", 1)[0],
        lambda t: t + ".extra",
        lambda t: "garbage",
        lambda t: "",
        lambda t: "v1.00000000.e30.AAAA",  # an unknown key id
    ],
)
def test_tampered_tokens_are_refused(tamper: object) -> None:
    signer = Signer("a" * 40)
    token = signer.sign(Purpose.MODERATION, CID, "approve", now=NOW, max_age_s=WEEK)
    with pytest.raises(BadToken):
        signer.verify(Purpose.MODERATION, tamper(token), NOW)  # type: ignore[operator]


def test_another_secret_cannot_verify() -> None:
    token = Signer("a" * 40).sign(Purpose.FORM, now=NOW, max_age_s=60)
    with pytest.raises(BadToken):
        Signer("b" * 40).verify(Purpose.FORM, token, NOW)


def test_rotation_keeps_old_tokens_for_the_grace_period() -> None:
    old_token = Signer("old" * 14).sign(Purpose.MODERATION, CID, "approve", now=NOW, max_age_s=WEEK)
    rotated = Signer("new" * 14, old_secrets=["old" * 14])
    assert rotated.verify(Purpose.MODERATION, old_token, NOW).fields == (CID, "approve")
    with pytest.raises(BadToken):  # the grace period is over once the old secret is dropped
        Signer("new" * 14).verify(Purpose.MODERATION, old_token, NOW)
    new_token = rotated.sign(Purpose.MODERATION, CID, "reject", now=NOW, max_age_s=WEEK)
    assert Signer("new" * 14).verify(Purpose.MODERATION, new_token, NOW)  # new: the new secret


def test_moderation_links_name_a_comment_and_an_action() -> None:
    signer = Signer(SETTINGS.secret_key)
    url = links.moderation_url(signer, SETTINGS, CID, "approve", NOW)
    assert url.startswith("https://comments.example/moderate/")
    link = links.moderation_link(signer, url.rsplit("/", 1)[1], NOW + 60)
    assert (link.comment_id, link.action) == (CID, "approve")
    with pytest.raises(ValueError, match="unknown action"):
        links.moderation_url(signer, SETTINGS, CID, "delete-everything", NOW)
    # Well signed but naming no known action or comment: still refused.
    odd = signer.sign(Purpose.MODERATION, "not-an-id", "approve", now=NOW, max_age_s=WEEK)
    with pytest.raises(BadToken):
        links.moderation_link(signer, odd, NOW)


def test_privacy_and_unsubscribe_links() -> None:
    signer = Signer(SETTINGS.secret_key)
    privacy = links.privacy_url(signer, SETTINGS, "request-1", NOW).rsplit("/", 1)[1]
    assert links.privacy_request_id(signer, privacy, NOW) == "request-1"
    with pytest.raises(ExpiredToken):
        links.privacy_request_id(signer, privacy, NOW + SETTINGS.privacy_link_max_age_s + 1)
    unsubscribe = links.unsubscribe_url(signer, SETTINGS, CID, NOW).rsplit("/", 1)[1]
    assert links.unsubscribe_comment(signer, unsubscribe, NOW + 365 * 86400) == CID
    with pytest.raises(BadToken):  # a privacy link is no unsubscribe link
        links.unsubscribe_comment(signer, privacy, NOW)


def test_csrf_values_belong_to_one_page() -> None:
    signer = Signer(SETTINGS.secret_key)
    value = links.csrf_value(signer, "page-token-1", NOW)
    assert links.csrf_valid(signer, "page-token-1", value, NOW + 3600)
    assert not links.csrf_valid(signer, "page-token-2", value, NOW)
    assert not links.csrf_valid(signer, "page-token-1", None, NOW)
    assert not links.csrf_valid(signer, "page-token-1", value[:-1], NOW)


def test_tokens_signed_before_orjson_made_the_payload_still_verify() -> None:
    """The payload's JSON was written with spaces (json.dumps) before: the MAC covers the text
    as sent, so tokens issued then (edit tokens, long-lived links) verify after an upgrade."""
    signer = Signer("golden-secret-" + "g" * 30)
    bind = "0123456789abcdef-0123456789abcdef"
    edit = "v1.059ebf52.WzE3OTU2ODkxMzcsIDE3OTU2OTAwMzcsICJlZGl0Il0.CMBDvfF85okaRFfZtKMUrdiD"
    assert signer.verify(Purpose.EDIT, edit, 1795689200, bind=bind) == Claims(
        (), 1795689137, 1795690037, "edit"
    )
    form = (
        "v1.059ebf52.WzE3OTU2ODkxMzcsIDE3OTU2OTI3MzcsICJuMG5jZSIsICJsdW5hci1zdGF0aW9uIl0"
        ".QA4VfuYiuWQBz5rMCobB5ozo"
    )
    claims = signer.verify(Purpose.FORM, form, 1795689200, bind="lunar-station")
    assert claims.fields == ("lunar-station",)
    # The same arguments now give another text that verifies the same.
    again = signer.sign(Purpose.EDIT, now=1795689137, max_age_s=900, bind=bind, nonce="edit")
    assert again != edit
    assert signer.verify(Purpose.EDIT, again, 1795689200, bind=bind) == Claims(
        (), 1795689137, 1795690037, "edit"
    )


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])
def test_hmac_is_rfc_2104_hmac_sha256(key_length: int) -> None:
    """Sealing.Hmac keys its SHA-256 states once and copies them: its MACs (the stored address
    hashes among them) are exactly what the hmac module computes, for keys shorter than,
    equal to and longer than SHA-256's block."""
    key = bytes(range(key_length))
    mac = Hmac(key)
    for message in [b"", b"a", b"ann@example.com", bytes(range(256)) * 3]:
        expected = hmac.new(key, message, hashlib.sha256)
        assert mac.digest(message) == expected.digest()
        assert mac.hexdigest(message) == expected.hexdigest()
    # RFC 4231's test case 2 ("Jefe").
    jefe = Hmac(b"Jefe").hexdigest(b"what do ya want for nothing?")
    assert jefe == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
