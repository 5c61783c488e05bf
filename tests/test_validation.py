"""The pure validation rules, each with its exact error code."""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from service.core.validation import (
    HONEYPOT_FIELD,
    is_http_url,
    normalize_email,
    validate_submission,
)

VALID = {
    "article": "lunar-station-2021",
    "name": "Ann Reader",
    "email": "ann@example.com",
    "comment": "A thoughtful reply.",
}
MAX_COMMENT = 10_000


def errors_of(**changes: object) -> dict[str, str]:
    data = {**VALID, **changes}
    data = {k: v for k, v in data.items() if v is not ...}
    sub, errors = validate_submission(data, MAX_COMMENT)
    assert (sub is None) == bool(errors)
    return {field: err.code for field, err in errors.items()}


def test_valid_submission_is_cleaned() -> None:
    sub, errors = validate_submission(
        {
            **VALID,
            "name": "  Ann Reader ",
            "email": "Ann.Reader@EXAMPLE.COM",
            "comment": " line one\r\nline two\r\n\r\nnew paragraph\twith tab ",
            "website": "https://ann.example.net/blog",
            "notify_replies": "on",
            HONEYPOT_FIELD: "",
        },
        MAX_COMMENT,
    )
    assert errors == {}
    assert sub is not None
    assert sub.name == "Ann Reader"
    assert sub.email == "Ann.Reader@example.com"  # email-validator lowercases the domain only
    assert sub.comment == "line one\nline two\n\nnew paragraph\twith tab"
    assert sub.website == "https://ann.example.net/blog"
    assert sub.notify_replies is True
    assert sub.honeypot is None


@pytest.mark.parametrize("field", ["article", "name", "email", "comment"])
@pytest.mark.parametrize("value", [..., "", "   ", None])
def test_required_fields(field: str, value: object) -> None:
    assert errors_of(**{field: value}) == {field: "required"}


@pytest.mark.parametrize(
    ("field", "length"),
    [("article", 513), ("name", 101), ("email", 255), ("comment", MAX_COMMENT + 1)],
)
def test_length_limits(field: str, length: int) -> None:
    value = "a" * length if field != "email" else "a" * (length - 12) + "@example.com"
    assert errors_of(**{field: value}) == {field: "too_long"}
    assert field not in errors_of(**{field: value[1:]})  # one character less is fine


def test_comment_limit_is_configurable() -> None:
    sub, errors = validate_submission({**VALID, "comment": "x" * 51}, 50)
    assert sub is None
    assert errors["comment"].code == "too_long"


@pytest.mark.parametrize("field", ["article", "name", "email", "comment", "website"])
@pytest.mark.parametrize("value", [42, 1.5, True, ["a"], {"a": 1}])
def test_wrong_types(field: str, value: object) -> None:
    assert errors_of(**{field: value}) == {field: "invalid_type"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("comment", "nul \x00 byte"),
        ("comment", "bell \x07"),
        ("comment", "c1 \x85 control"),
        ("comment", "bidi \u202e override"),
        ("comment", "lone surrogate \ud800"),
        ("name", "two\nlines"),
        ("name", "tab\there"),
        ("article", "a\x1bb"),
    ],
)
def test_control_characters_rejected(field: str, value: str) -> None:
    assert errors_of(**{field: value}) == {field: "invalid_characters"}


@pytest.mark.parametrize(
    "email",
    ["plainaddress", "@example.com", "ann@", "ann@@example.com", "ann@example", "a b@example.com"],
)
def test_invalid_email(email: str) -> None:
    assert errors_of(email=email) == {"email": "invalid_email"}


# Addresses at the edges of the plain shape normalize_email keeps a faster path for.
EDGE_ADDRESSES = [
    "Ann.Reader@EXAMPLE.COM",
    "PostMaster@example.com",  # a role mailbox: lowercased
    "Abuse@Example.Org",
    "a.b+tag@sub.example.co.uk",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@example..com",
    "a@.example.com",
    "a@example.com.",
    "a@-example.com",
    "a@example-.com",
    "a@ab--cd.com",
    "a@xn--mnchen-3ya.de",  # IDNA: normalized to Unicode
    "a@XN--MNCHEN-3YA.DE",
    "a@xn--bad.com",
    "a@münchen.de",
    "ä@example.com",
    "a@localhost",
    "a@example.local",
    "a@sub.invalid",
    "a@123.com",
    "a@example.123",
    "a@[127.0.0.1]",
    '"quoted"@example.com',
    "Ann <ann@example.com>",
    "  padded@example.com  ",
    "x" * 64 + "@example.com",
    "x" * 65 + "@example.com",
    "x" * 200 + "@" + "e" * 50 + ".com",
    "x" * 190 + "@" + "e" * 59 + ".com",
    "a@" + ".".join(["e" * 63] * 4),
    "a@" + "e" * 64 + ".com",
    "a@" + ".".join(["xn--mnchen-3ya"] * 16) + ".de",
    "-@example.com",
    "_@example.com",
    "a@_example.com",
    "a@example.c",
]


def test_normalized_emails_are_exactly_what_email_validator_says() -> None:
    """normalize_email keeps the domain's work per domain: its verdict and its normalized
    form stay the library's for the edges of that shape and for many random addresses."""
    rng = random.Random(16)

    def part(alphabet: str, most: int) -> str:
        return "".join(rng.choices(alphabet, k=rng.randint(0, most)))

    def made_up() -> str:
        local = ".".join(part("aaZ09_+-ä", 6) for _ in range(rng.randint(1, 3)))
        host = rng.choice(["", "", "", "xn--", "ab--"]) + part("aaaZZ09-", 10)
        tld = rng.choice(["com", "DE", "co.uk", "xn--p1ai", "xn--zz", "123", "c", "", "local"])
        return f"{local}@{host}.{tld}" if tld else f"{local}@{host}"

    generated = [made_up() for _ in range(4000)]
    for address in [*EDGE_ADDRESSES, *generated, *(a.upper() for a in EDGE_ADDRESSES)]:
        try:
            expected: str | None = validate_email(
                address.strip(), check_deliverability=False
            ).normalized
        except EmailNotValidError:
            expected = None
        try:
            ours: str | None = normalize_email(address)
        except ValueError:
            ours = None
        assert ours == expected, address


def test_invalid_email_message_does_not_echo_the_address() -> None:
    _, errors = validate_submission({**VALID, "email": "secret-person@@x.example"}, MAX_COMMENT)
    assert "secret-person" not in errors["email"].message


@pytest.mark.parametrize(
    "website",
    ["ftp://example.com", "javascript:alert(1)", "https://", "example.com", "http://exa mple.com",
     "http://example.com:99999"],
)  # fmt: skip
def test_invalid_website(website: str) -> None:
    assert errors_of(website=website) == {"website": "invalid_url"}


def test_website_too_long() -> None:
    assert errors_of(website="https://example.com/" + "a" * 190) == {"website": "too_long"}


def test_empty_website_is_absent() -> None:
    sub, errors = validate_submission({**VALID, "website": "  "}, MAX_COMMENT)
    assert errors == {}
    assert sub is not None
    assert sub.website is None


@pytest.mark.parametrize("parent", ["x", "0123456789abcdef", "../../etc", "A" * 33])
def test_parent_id_must_look_like_an_id(parent: str) -> None:
    assert errors_of(parent_id=parent) == {"parent_id": "invalid_parent"}


@pytest.mark.parametrize(("raw", "expected"), [(True, True), (False, False), ("0", False),
                                                ("yes", True), (None, False)])  # fmt: skip
def test_notify_replies_values(raw: object, expected: bool) -> None:
    sub, errors = validate_submission({**VALID, "notify_replies": raw}, MAX_COMMENT)
    assert errors == {}
    assert sub is not None
    assert sub.notify_replies is expected


@pytest.mark.parametrize("raw", [1, "maybe", [True]])
def test_notify_replies_rejects_non_booleans(raw: object) -> None:
    assert errors_of(notify_replies=raw) == {"notify_replies": "invalid_type"}


def test_all_errors_are_reported_at_once() -> None:
    assert errors_of(article="", name=7, email="nope", comment="\x00", website="ftp://x") == {
        "article": "required",
        "name": "invalid_type",
        "email": "invalid_email",
        "comment": "invalid_characters",
        "website": "invalid_url",
    }


def test_unknown_fields_are_ignored() -> None:
    sub, errors = validate_submission({**VALID, "is_admin": True, "status": "approved"}, 100)
    assert errors == {}
    assert sub is not None
    assert not hasattr(sub, "status")


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@news.example.org/",  # a browser goes to evil.example
        "https://evil.example\\news.example.org/",
        "https://user:pass@news.example.org/",  # credentials in a stored link
        "https://news.example.org@evil.example/",
        "https://news.example.org/a b",
        "https://news.example.org:99999/",
        "https:///no-host",
        "ftp://news.example.org/",
    ],
)
def test_urls_browsers_would_read_differently_are_refused(url: str) -> None:
    for name in ("website", "article_url"):
        sub, errors = validate_submission({**VALID, name: url}, 10_000)
        assert sub is None
        assert errors[name].code == "invalid_url"


def test_internationalised_hosts_are_fine() -> None:
    sub, errors = validate_submission({**VALID, "website": "https://bücher.example/über"}, 10_000)
    assert errors == {}
    assert sub is not None


def test_website_verdicts_are_exactly_is_http_urls() -> None:
    """The plain shape of a website skips urlsplit: every verdict, for that shape and for
    generated URLs around it (schemes, hosts, ports, credentials, backslashes, spaces), stays
    the one is_http_url (urlsplit and the browser-ambiguity rules) gives."""
    rng = random.Random(7)

    def part(alphabet: str, most: int) -> str:
        return "".join(rng.choices(alphabet, k=rng.randint(0, most)))

    def made_up() -> str:
        scheme = rng.choice(["http", "https", "HTTP", "hTTps", "ftp", "http:", "", "javascript"])
        sep = rng.choice(["://", "://", "://", ":/", ":///", "//", "://user@", "://a:b@"])
        host = rng.choice(["", "[::1]", "[::1", "例子.广告", "xn--fsqu00a.xn--4rr70v"])
        host += part("aZ09-._%", 12)
        port = rng.choice(["", "", "", ":", ":0", ":80", ":8080", ":65535", ":65536", ":-1", ":a"])
        rest = part("/?#@:\\ %~[]aZ09.-_=&", 14)
        return f"{scheme}{sep}{host}{port}{rest}"

    plain = [
        f"https://{part('ab09-', 8) or 'a'}.example{port}/{part('az?=&#', 9)}"
        for port in ("", ":80", ":0", ":65535", ":65536", ":99999")
        for _ in range(100)
    ]
    checked = 0
    # Shapes that make a backtracking host pattern work hard, at the website's length limit.
    hostile = ["http://" + "a." * 95 + end for end in ("!", "/", ":", ":1/", "a")]
    hostile += ["http://" + "a-" * 95 + end for end in (":", ":x", "@b")]
    for url in [*plain, *hostile, *(made_up() for _ in range(5000))]:
        code = errors_of(website=url).get("website")
        if code not in (None, "invalid_url"):
            continue  # refused before the URL rules (too long, control characters)
        assert (code is None) == is_http_url(url.strip()), url
        checked += 1
    assert checked > 4000
