"""Server messages in six languages: the catalog is complete, Accept-Language chooses, and over
HTTP every error keeps its codes while its messages follow the reader's language."""

from __future__ import annotations

import html
import re
import string
from pathlib import Path

import pytest
import redis

from service.core.messages import DEFAULT, LANGUAGES, MESSAGES, negotiate
from service.web.errors import _HTTP_CODES
from tests.helpers import ARTICLE, Client, form_token, stored_comments

SERVICE = Path(__file__).resolve().parent.parent / "service"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_exists_in_every_language_with_the_same_placeholders() -> None:
    assert set(MESSAGES) == set(LANGUAGES)
    english = MESSAGES[DEFAULT]
    for language in LANGUAGES:
        assert set(MESSAGES[language]) == set(english), language
        for key, text in MESSAGES[language].items():
            assert text.strip(), (language, key)
            assert placeholders(text) == placeholders(english[key]), (language, key)


def test_every_code_the_service_raises_has_a_message() -> None:
    """Codes as the source writes them: ApiError(status, "code", …), FieldError("code", …)."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in SERVICE.rglob("*.py"))
    errors = set(re.findall(r'ApiError\(\s*\d+,\s*"(\w+)"', source))
    errors |= {code for code, _ in _HTTP_CODES.values()} | {"http_error"}
    fields = set(re.findall(r'FieldError\(\s*"(\w+)"', source))
    assert len(errors) > 15  # the patterns still find them
    assert len(fields) > 10
    keys = set(MESSAGES[DEFAULT])
    assert {f"error.{code}" for code in errors} <= keys
    assert {f"field.{code}" for code in fields} <= keys


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("", "en"),
        ("de", "de"),
        ("de-CH,de;q=0.9,en;q=0.8", "de"),
        ("fr;q=0.5, ru;q=0.9", "ru"),
        ("es-419, en;q=0.9", "es"),
        ("zh-Hans-CN,zh;q=0.9", "zh"),
        ("zh-TW", "zh"),
        ("RU", "ru"),
        ("ja, ko;q=0.9", "en"),  # none we speak
        ("ja, fr;q=0.1", "fr"),
        ("*", "en"),
        ("de;q=0, fr;q=0.2", "fr"),  # q=0: not acceptable
        ("fr;q=0.7, de;q=0.7", "fr"),  # a tie: the first listed
        ("de;q=2, es;q=abc", "en"),  # malformed weights are ignored
        ("de;" + "x" * 10_000, "en"),
        ("xx-XX, " * 100 + "de", "en"),  # read only so far
    ],
)
def test_accept_language_chooses(header: str, language: str) -> None:
    assert negotiate(header) == language


BAD_COMMENT = {
    "article": ARTICLE,
    "name": "",
    "email": "not an address",
    "comment": "x" * 10_001,
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_validation_errors_speak_the_readers_language(
    client: Client, rconn: redis.Redis, language: str
) -> None:
    body = {**BAD_COMMENT, "form_token": form_token()}
    header = {"en": "en-US", "zh": "zh-CN,zh;q=0.9"}.get(language, f"{language}, en;q=0.5")
    resp = await client.post("/api/v1/comments", json=body, headers={"Accept-Language": header})
    assert resp.status == 422
    assert resp.headers["Content-Language"] == language
    assert "Accept-Language" in resp.headers.getall("Vary")
    error = (await resp.json())["error"]
    assert error["code"] == "validation_failed"
    fields = error["fields"]
    assert {name: f["code"] for name, f in fields.items()} == {
        "name": "required",
        "email": "invalid_email",
        "comment": "too_long",
    }
    table = MESSAGES[language]
    if language == DEFAULT:  # English names the field and the exact limit
        assert error["message"] == "Some fields are invalid."
        assert fields["comment"]["message"] == "Comment must be at most 10000 characters."
    else:
        assert error["message"] == table["error.validation_failed"]
        assert fields["name"]["message"] == table["field.required"]
        assert fields["email"]["message"] == table["field.invalid_email"]
        assert fields["comment"]["message"] == table["field.too_long"].format(limit=10_000)
    assert stored_comments(rconn) == {}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_error_path_speaks_it(client: Client, language: str) -> None:
    headers = {"Accept-Language": language}
    table = MESSAGES[language]
    cases = [
        (client.get("/no/such/page", headers=headers), 404, "not_found"),
        (
            client.post(
                "/api/v1/comments",
                data=b"{not json",
                headers={**headers, "Content-Type": "application/json"},
            ),
            400,
            "malformed_json",
        ),
        (client.delete("/api/v1/counts", headers=headers), 405, "method_not_allowed"),
        (client.get(f"/api/v1/comments?article={ARTICLE}&limit=0", headers=headers), 422, None),
    ]
    for request, status, code in cases:
        resp = await request
        assert resp.status == status
        assert resp.headers["Content-Language"] == language
        error = (await resp.json())["error"]
        if code is None:  # a field error on a GET
            assert error["fields"]["limit"]["code"] == "invalid_limit"
            if language != DEFAULT:
                assert error["fields"]["limit"]["message"] == table["field.invalid_limit"]
            continue
        assert error["code"] == code
        if language != DEFAULT:
            assert error["message"] == table[f"error.{code}"]


async def test_without_accept_language_errors_are_english(client: Client) -> None:
    resp = await client.get("/no/such/page")
    assert resp.headers["Content-Language"] == "en"
    assert (await resp.json())["error"]["message"] == "No such resource."


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_no_javascript_error_page_speaks_it(
    client: Client, rconn: redis.Redis, language: str
) -> None:
    form = {**BAD_COMMENT, "form_token": form_token(), "comment": "Kept as typed."}
    headers = {
        "Accept": "text/html",
        "Accept-Language": language,
        "Referer": "https://news.example.org/story",
    }
    resp = await client.post("/api/v1/comments", data=form, headers=headers)
    assert resp.status == 422
    assert resp.headers["Content-Language"] == language
    assert "Accept-Language" in resp.headers.getall("Vary")
    page = await resp.text()
    assert f'<html lang="{language}">' in page
    table = MESSAGES[language]
    for key in ("reply.title", "reply.post", "reply.back"):
        assert html.escape(table[key]) in page, key
    required = "Name is required." if language == DEFAULT else table["field.required"]
    assert html.escape(required) in page
    assert html.escape(table["reply.limit"].format(max_comment=10_000)) in page
    assert "Kept as typed." in page
    assert "not an address" not in page  # the address is never sent back
    assert stored_comments(rconn) == {}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_your_data_page_speaks_it(client: Client, language: str) -> None:
    """The page the widget's "Your comments and data" link opens, its refusal and its answer."""
    headers = {"Accept-Language": language}
    table = {k: html.escape(v) for k, v in MESSAGES[language].items()}
    form = await client.get("/privacy", headers=headers)
    page = await form.text()
    assert form.headers["Content-Language"] == language
    assert "Accept-Language" in form.headers.getall("Vary")
    assert f'<html lang="{language}">' in page
    for key in ("privacy.title", "privacy.intro", "privacy.label", "privacy.send"):
        assert table[key] in page, key
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    data = {"csrf": csrf.group(1)}
    bad = await client.post("/privacy", data={**data, "email": "no"}, headers=headers)
    assert bad.status == 422
    assert table["field.invalid_email"] in await bad.text()
    sent = await client.post("/privacy", data={**data, "email": "x@example.org"}, headers=headers)
    assert sent.status == 200
    assert sent.headers["Content-Language"] == language
    assert table["privacy.sent"] in await sent.text()
