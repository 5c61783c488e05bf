"""Settings from the environment, and refusal of unsafe production settings."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.core.settings import Policy, Settings, SettingsError, declared, markdown_table

GOOD_SECRET = "k" * 48


def test_from_env_reads_every_kind_of_value() -> None:
    s = Settings.from_env(
        {
            "COMMENTS_MODE": "production",
            "COMMENTS_REDIS_URL": "redis://r:6379/1",
            "COMMENTS_SECRET_KEY": GOOD_SECRET,
            "COMMENTS_ALLOWED_ORIGINS": "https://a.example/, https://*.b.example",
            "COMMENTS_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
            "COMMENTS_MAX_COMMENT_CHARS": "5000",
            "COMMENTS_JOB_RETRY_INTERVALS": "1,2,3",
            "COMMENTS_DATA_DIR": "/var/lib/comments",
        }
    )
    assert s.check() is s
    assert s.allowed_origins == ("https://a.example", "https://*.b.example")
    assert s.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
    )
    assert s.max_comment_chars == 5000
    assert s.job_retry_intervals_s == (1, 2, 3)
    assert s.data_dir == Path("/var/lib/comments")


def test_defaults_when_unset() -> None:
    s = Settings.from_env({})
    assert s.mode == "production"
    assert s.redis_url is None
    assert s.max_body_bytes == 64 * 1024
    assert s.job_retry_intervals_s == (5, 30, 120, 600, 1800)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY is missing"),
        ({"COMMENTS_SECRET_KEY": "changeme"}, "placeholder"),
        ({"COMMENTS_SECRET_KEY": "short-but-not-placeholder"}, "at least 32"),
        ({"COMMENTS_SECRET_KEY": GOOD_SECRET}, "REDIS_URL is required"),
        (
            {
                "COMMENTS_SECRET_KEY": GOOD_SECRET,
                "COMMENTS_REDIS_URL": "redis://r",
                "COMMENTS_ALLOWED_ORIGINS": "*",
            },
            "only allowed in dev",
        ),
        ({"COMMENTS_MODE": "staging"}, "must be 'dev' or 'production'"),
    ],
)
def test_production_refuses_unsafe_settings(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env).check()


def test_dev_mode_accepts_missing_secret() -> None:
    assert Settings.from_env({"COMMENTS_MODE": "dev"}).check().is_dev


@pytest.mark.parametrize(
    ("name", "value"),
    [("COMMENTS_MAX_BODY_BYTES", "lots"), ("COMMENTS_TRUSTED_PROXIES", "not-an-ip")],
)
def test_malformed_values_raise_settings_error(name: str, value: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({name: value})


def test_cli_refuses_to_start_with_placeholder_secret() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
    env.update(COMMENTS_SECRET_KEY="changeme", COMMENTS_REDIS_URL="redis://127.0.0.1:1")
    result = subprocess.run(
        [sys.executable, "-m", "service.entry.cli", "api", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "placeholder" in result.stderr


def test_every_setting_is_declared_once_and_documented_in_the_readme() -> None:
    names = [d.env for d in declared()]
    assert len(names) == len(set(names))
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    # The README's table is `comments settings`' output, so defaults cannot drift apart.
    assert markdown_table() in readme, "run `comments settings` and paste it into the README"


def test_settings_survive_the_trip_to_a_child_process_environment() -> None:
    s = Settings(
        mode="dev",
        redis_url="redis://r:6379/2",
        secret_key=" spaced secret kept as given ",
        trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),),
        moderator_tokens=(("alice", "t" * 40),),
        limit_ip=(3, 30),
        outbox_dir=Path("/tmp/outbox"),
        policy=Policy(hold_at=-2.5, moderation_keywords=("landers", "cost")),
    )
    assert Settings.from_env(s.to_env()) == s
    assert Settings.from_env(Settings().to_env()) == Settings()


def test_the_spam_policy_is_read_from_its_variables() -> None:
    s = Settings.from_env(
        {"COMMENTS_SPAM_AT": "12", "COMMENTS_DISALLOWED_KEYWORDS": "casino, loan"}
    )
    assert s.policy.spam_at == 12
    assert s.policy.disallowed_keywords == ("casino", "loan")
    assert s.policy.hold_at == Policy().hold_at
