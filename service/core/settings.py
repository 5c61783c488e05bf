"""One settings object for every process, read from COMMENTS_* environment variables."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Values people paste from examples; a production process refuses to start with any of them.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "dev", "development", "test", "example"}
)
MIN_SECRET_LENGTH = 32


class SettingsError(ValueError):
    """A setting is missing or unsafe."""


@dataclass(frozen=True)
class Settings:
    # "production" refuses unsafe settings; "dev" is what `comments dev` and the tests use.
    mode: str = "production"
    # None means "start an embedded redis-server" (dev only).
    redis_url: str | None = None
    secret_key: str = ""
    # Previous secrets, still accepted for signed links during a rotation's grace period.
    old_secret_keys: tuple[str, ...] = ()
    # How long a one-click moderation link works.
    link_max_age_s: int = 7 * 24 * 3600
    # Moderator API credentials: name -> bearer token (the name goes into the audit log).
    moderator_tokens: tuple[tuple[str, str], ...] = ()
    public_url: str = "http://127.0.0.1:8080"
    # Origins whose pages may embed the widget and receive form redirects; "*" only in dev.
    allowed_origins: tuple[str, ...] = ()
    # Proxies whose X-Forwarded-For we believe; empty means the socket peer is the client.
    trusted_proxies: tuple[IPNetwork, ...] = ()
    max_body_bytes: int = 64 * 1024
    # Refused by the HTTP parser (400) before the app sees the request.
    max_header_bytes: int = 8190  # the request line, and each header line
    max_headers: int = 64
    max_comment_chars: int = 10_000
    queue_name: str = "comments"
    # A job that runs longer than this is killed and retried.
    job_timeout_s: int = 60
    # Backoff between retries of a failed job; its length is the retry count.
    job_retry_intervals_s: tuple[int, ...] = (5, 30, 120, 600, 1800)
    # A comment still undecided after this long is enqueued again (see workers/sweep.py).
    sweep_after_s: int = 600
    # Submission limits, (count, seconds) per client IP, commenter, article and site-wide:
    # beyond them the API answers 429. Generous for people, tight for scripts.
    limit_ip: tuple[int, int] = (20, 600)
    limit_email: tuple[int, int] = (10, 600)
    limit_article: tuple[int, int] = (600, 60)
    limit_site: tuple[int, int] = (6000, 60)
    # Upper bound of submissions written to Redis in one pipeline.
    batch_max: int = 256
    # A request (body reading included) that takes longer is answered 408: slow clients
    # cannot hold connections and handlers open.
    request_timeout_s: float = 30.0
    # How long a rendered thread is served without re-checking its version in Redis.
    thread_cache_s: float = 1.0
    redis_max_connections: int = 64
    redis_timeout_s: float = 2.0
    # How long a rendered form stays valid (readers take their time with long articles).
    form_token_max_age_s: int = 24 * 3600
    # Spam policy: score thresholds and rules (see workers/scoring.py for the points).
    hold_at: float = -1.0
    spam_at: float = 9.0
    links_hold: int = 2
    min_submit_s: float = 3.0
    flood_window_s: int = 15
    moderation_keywords: tuple[str, ...] = ()
    disallowed_keywords: tuple[str, ...] = ()
    hold_first_time: bool = True
    auto_approve_trusted: bool = True
    # Moderator notifications: which verdicts notify (held | all | none; spam never one by one).
    notify: str = "held"
    moderator_emails: tuple[str, ...] = ()
    # smtp://user:pass@host:587?starttls=1 or smtps://host:465; unset with an outbox: files.
    smtp_url: str | None = None
    mail_from: str = "comments@localhost"
    # Notifications are written here as .eml files instead of sent (dev mode's default).
    outbox_dir: Path | None = None
    webhook_url: str | None = None
    webhook_secret: str = ""
    # Mail servers and chat webhooks go down for hours: retry for about a day.
    notify_retry_intervals_s: tuple[int, ...] = (10, 30, 60, 300, 900, 1800, 3600, 7200, 14400)
    # Commenters' own data: erasure anonymises (or removes), IP and user agent expire.
    erase_mode: str = "anonymise"
    retention_days: int = 30
    privacy_link_max_age_s: int = 24 * 3600
    data_dir: Path = field(default_factory=lambda: Path(".comments-dev"))
    log_level: str = "INFO"
    # json: one object per line for log pipelines; text: for people (dev's default).
    log_format: str = "json"

    @property
    def is_dev(self) -> bool:
        return self.mode == "dev"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def check(self) -> Settings:
        """Refuse settings that are unsafe for the mode; return self for chaining."""
        if self.mode not in ("dev", "production"):
            raise SettingsError(f"COMMENTS_MODE must be 'dev' or 'production', not {self.mode!r}")
        if self.erase_mode not in ("anonymise", "remove"):
            raise SettingsError("COMMENTS_ERASE_MODE must be 'anonymise' or 'remove'")
        if self.notify not in ("held", "all", "none"):
            raise SettingsError("COMMENTS_NOTIFY must be 'held', 'all' or 'none'")
        if self.is_dev:
            return self
        if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            raise SettingsError("COMMENTS_SECRET_KEY is missing or a placeholder")
        if len(self.secret_key) < MIN_SECRET_LENGTH:
            raise SettingsError(f"COMMENTS_SECRET_KEY must be at least {MIN_SECRET_LENGTH} chars")
        if not self.redis_url:
            raise SettingsError("COMMENTS_REDIS_URL is required in production")
        if self.webhook_url and not self.webhook_url.startswith(("https://", "http://")):
            raise SettingsError("COMMENTS_WEBHOOK_URL must be an http(s) URL")
        if self.webhook_url and len(self.webhook_secret) < MIN_SECRET_LENGTH:
            raise SettingsError("COMMENTS_WEBHOOK_SECRET (32+ chars) is required with a webhook")
        for name, token in self.moderator_tokens:
            if not name or len(token) < MIN_SECRET_LENGTH:
                raise SettingsError("COMMENTS_MODERATOR_TOKENS: use name:token, tokens 32+ chars")
        if "*" in self.allowed_origins:
            raise SettingsError("COMMENTS_ALLOWED_ORIGINS='*' is only allowed in dev mode")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, default: str) -> str:
            return env.get(f"COMMENTS_{name}", default).strip()

        def integer(name: str, default: int) -> int:
            raw = get(name, str(default))
            try:
                return int(raw)
            except ValueError:
                raise SettingsError(f"COMMENTS_{name} must be an integer, not {raw!r}") from None

        def items(name: str) -> tuple[str, ...]:
            return tuple(part.strip() for part in get(name, "").split(",") if part.strip())

        def rate(name: str, default: tuple[int, int]) -> tuple[int, int]:
            raw = get(name, f"{default[0]}/{default[1]}")
            count, _, seconds = raw.partition("/")
            if not (count.isdigit() and seconds.isdigit() and int(seconds) > 0):
                raise SettingsError(f"COMMENTS_{name} must look like 20/600 (count/seconds)")
            return int(count), int(seconds)

        def flag(name: str, default: bool) -> bool:
            raw = get(name, "1" if default else "0").lower()
            if raw not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise SettingsError(f"COMMENTS_{name} must be a boolean, not {raw!r}")
            return raw in ("1", "true", "yes", "on")

        def number(name: str, default: float) -> float:
            raw = get(name, str(default))
            try:
                return float(raw)
            except ValueError:
                raise SettingsError(f"COMMENTS_{name} must be a number, not {raw!r}") from None

        try:
            proxies = tuple(ipaddress.ip_network(p, strict=False) for p in items("TRUSTED_PROXIES"))
            intervals = tuple(int(p) for p in items("JOB_RETRY_INTERVALS"))
            notify_intervals = tuple(int(p) for p in items("NOTIFY_RETRY_INTERVALS"))
            timeout = float(get("REDIS_TIMEOUT", "2.0"))
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        return cls(
            mode=get("MODE", "production"),
            redis_url=get("REDIS_URL", "") or None,
            secret_key=env.get("COMMENTS_SECRET_KEY", ""),
            old_secret_keys=tuple(
                s for s in env.get("COMMENTS_OLD_SECRET_KEYS", "").split(",") if s.strip()
            ),
            link_max_age_s=integer("LINK_MAX_AGE", 7 * 24 * 3600),
            moderator_tokens=tuple(
                (name.strip(), token.strip())
                for name, _, token in (pair.partition(":") for pair in items("MODERATOR_TOKENS"))
            ),
            public_url=get("PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/"),
            allowed_origins=tuple(o.rstrip("/") for o in items("ALLOWED_ORIGINS")),
            trusted_proxies=proxies,
            max_body_bytes=integer("MAX_BODY_BYTES", 64 * 1024),
            max_header_bytes=integer("MAX_HEADER_BYTES", 8190),
            max_headers=integer("MAX_HEADERS", 64),
            max_comment_chars=integer("MAX_COMMENT_CHARS", 10_000),
            queue_name=get("QUEUE", "comments"),
            job_timeout_s=integer("JOB_TIMEOUT", 60),
            job_retry_intervals_s=intervals or cls.job_retry_intervals_s,
            batch_max=integer("BATCH_MAX", 256),
            limit_ip=rate("LIMIT_IP", (20, 600)),
            limit_email=rate("LIMIT_EMAIL", (10, 600)),
            limit_article=rate("LIMIT_ARTICLE", (600, 60)),
            limit_site=rate("LIMIT_SITE", (6000, 60)),
            sweep_after_s=integer("SWEEP_AFTER", 600),
            redis_max_connections=integer("REDIS_MAX_CONNECTIONS", 64),
            thread_cache_s=number("THREAD_CACHE_SECONDS", 1.0),
            request_timeout_s=number("REQUEST_TIMEOUT", 30.0),
            redis_timeout_s=timeout,
            form_token_max_age_s=integer("FORM_TOKEN_MAX_AGE", 24 * 3600),
            hold_at=number("HOLD_AT", -1.0),
            spam_at=number("SPAM_AT", 9.0),
            links_hold=integer("LINKS_HOLD", 2),
            min_submit_s=number("MIN_SUBMIT_SECONDS", 3.0),
            flood_window_s=integer("FLOOD_WINDOW", 15),
            moderation_keywords=items("MODERATION_KEYWORDS"),
            disallowed_keywords=items("DISALLOWED_KEYWORDS"),
            hold_first_time=flag("HOLD_FIRST_TIME", True),
            auto_approve_trusted=flag("AUTO_APPROVE_TRUSTED", True),
            notify=get("NOTIFY", "held"),
            moderator_emails=items("MODERATOR_EMAILS"),
            smtp_url=get("SMTP_URL", "") or None,
            mail_from=get("MAIL_FROM", "comments@localhost"),
            outbox_dir=Path(get("OUTBOX_DIR", "")) if get("OUTBOX_DIR", "") else None,
            webhook_url=get("WEBHOOK_URL", "") or None,
            webhook_secret=env.get("COMMENTS_WEBHOOK_SECRET", ""),
            notify_retry_intervals_s=notify_intervals or cls.notify_retry_intervals_s,
            erase_mode=get("ERASE_MODE", "anonymise"),
            retention_days=integer("RETENTION_DAYS", 30),
            privacy_link_max_age_s=integer("PRIVACY_LINK_MAX_AGE", 24 * 3600),
            data_dir=Path(get("DATA_DIR", ".comments-dev")),
            log_level=get("LOG_LEVEL", "INFO").upper(),
            log_format=get("LOG_FORMAT", "json"),
        )
