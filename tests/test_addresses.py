"""One normalisation for every path that turns an address into a look-up key.

A commenter who asks the operator to erase their data may type their address differently from
how they typed it in the comment form: other case, decomposed Unicode (macOS keyboards send
NFD), the IDNA `xn--` form of their domain, stray spaces. Erasure must find them anyway,
never report success while erasing nothing.
"""

from __future__ import annotations

import unicodedata

import pytest
import redis

from service.core import keys
from service.core.settings import Settings
from service.core.validation import normalize_email
from tests.helpers import Client, email_hash, run_cli, stored_comments, submit

POSTED = "Zoë.Müller@Bücher.example"
TYPED_LATER = [
    "zoë.müller@bücher.example",  # other case
    unicodedata.normalize("NFD", POSTED),  # decomposed, as a macOS keyboard sends it
    "Zoë.Müller@xn--bcher-kva.example",  # the IDNA form of the domain
    f"  {POSTED.upper()}\t",  # surrounding spaces, shouting
]


@pytest.mark.parametrize("typed", TYPED_LATER)
def test_every_form_of_an_address_is_the_same_commenter(typed: str) -> None:
    assert email_hash(normalize_email(typed)) == email_hash(normalize_email(POSTED))


def test_normalize_refuses_without_quoting_the_address() -> None:
    with pytest.raises(ValueError, match="not a valid email address") as refused:
        normalize_email("zoë@@bücher.example")
    assert "zoë" not in str(refused.value)


@pytest.mark.parametrize("typed", TYPED_LATER)
async def test_cli_erasure_finds_the_commenter_however_the_address_is_typed(
    client: Client, rconn: redis.Redis, settings: Settings, typed: str
) -> None:
    cid = await submit(client, email=POSTED, name="Zoë")
    exported = run_cli(settings, "privacy", "export", "--email", typed)
    assert cid in exported
    out = run_cli(settings, "privacy", "erase", "--email", typed)
    assert out.startswith("1 comments")
    record = stored_comments(rconn)[cid]
    assert record["name"] == "Anonymous"
    assert "email_sealed" not in record
    assert not rconn.exists(keys.by_email(email_hash(normalize_email(POSTED))))


def test_cli_refuses_an_address_it_cannot_read(settings: Settings) -> None:
    with pytest.raises(Exception, match="exit status 2") as refused:
        run_cli(settings, "privacy", "erase", "--email", "not an address")
    assert "not an address" not in str(getattr(refused.value, "stderr", ""))
