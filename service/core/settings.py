"""One settings object for every process, read from COMMENTS_* environment variables.

Each setting is declared once, below: its default, its environment variable, how the variable
is parsed and what it means. `Settings.from_env` reads them all from those declarations, and
`comments settings` prints them as the README's configuration table (a test keeps the two
equal). The spam policy is a group of its own that the scorer takes as it is.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from service.core import redis_urls

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ENV_PREFIX = "COMMENTS_"
# Values people paste from examples; a production process refuses to start with any of them.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "dev", "development", "test", "example"}
)
MIN_SECRET_LENGTH = 32


G = TypeVar("G", bound="DataclassInstance")


class SettingsError(ValueError):
    """A setting is missing or unsafe."""


# --- parsers: the text of one environment variable in, the typed value out -----------------

Parser = Callable[[str], Any]


def _text(raw: str) -> str:
    return raw.strip()


def _secret(raw: str) -> str:
    return raw  # as given: a secret's spaces are part of it


def _optional(raw: str) -> str | None:
    return raw.strip() or None


def _base_url(raw: str) -> str:
    return raw.strip().rstrip("/")


def _integer(raw: str) -> int:
    return int(raw.strip())


def _number(raw: str) -> float:
    return float(raw.strip())


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError(f"a boolean, not {raw!r}")
    return value in ("1", "true", "yes", "on")


def _items(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _secrets(raw: str) -> tuple[str, ...]:
    return tuple(part for part in raw.split(",") if part.strip())


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(origin.rstrip("/") for origin in _items(raw))


def _integers(raw: str) -> tuple[int, ...]:
    return tuple(int(part) for part in _items(raw))


def _rate(raw: str) -> tuple[int, int]:
    count, _, seconds = raw.strip().partition("/")
    if not (count.isdigit() and seconds.isdigit() and int(seconds) > 0):
        raise ValueError("count/seconds, like 20/600")
    return int(count), int(seconds)


def _networks(raw: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(part, strict=False) for part in _items(raw))


def _name_tokens(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = (part.partition(":") for part in _items(raw))
    return tuple((name.strip(), token.strip()) for name, _, token in pairs)


def _path(raw: str) -> Path:
    return Path(raw.strip())


def _optional_path(raw: str) -> Path | None:
    return Path(raw.strip()) if raw.strip() else None


def _upper(raw: str) -> str:
    return raw.strip().upper()


def _one_of(*choices: str) -> Parser:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"one of {', '.join(choices)}, not {raw!r}")
        return value

    return parse


def setting(default: Any, env: str, doc: str, parse: Parser | None = None) -> Any:
    """Declare a setting: its default, its COMMENTS_<env> variable and what it means.

    Without `parse`, the default's type says how to read the variable. An empty list-valued
    variable means "the default" (an empty retry schedule would mean "never retry").
    """
    parser = parse or {bool: _flag, int: _integer, float: _number, str: _text}[type(default)]
    meta = {"env": env, "doc": doc, "parse": parser}
    if isinstance(default, Path):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Policy:
    """How the scorer's points become a verdict, and which content rules apply."""

    hold_at: float = setting(
        -1.5,
        "HOLD_AT",
        "below this score a comment is approved (set where at most 3 % of spam would be, "
        "leave-one-video-out)",
    )
    spam_at: float = setting(
        9.0,
        "SPAM_AT",
        "conclusive points from which a comment is spam (soft points never make spam)",
    )
    links_hold: int = setting(2, "LINKS_HOLD", "links that hold a comment (WordPress's default)")
    words_per_link: int = setting(
        100,
        "WORDS_PER_LINK",
        "a long comment may cite one link per this many words before `LINKS_HOLD` applies",
    )
    min_submit_s: float = setting(
        3.0, "MIN_SUBMIT_SECONDS", "faster than this after the form appeared is suspicious"
    )
    flood_window_s: int = setting(
        15,
        "FLOOD_WINDOW",
        "seconds within which a second comment from one IP or commenter is a flood",
    )
    ip_hourly_limit: int = setting(
        10, "IP_HOURLY_LIMIT", "comments from one IP in an hour beyond which each adds points"
    )
    site_minute_limit: int = setting(
        120, "SITE_MINUTE_LIMIT", "comments site-wide in a minute beyond which each adds points"
    )
    moderation_keywords: tuple[str, ...] = setting(
        (), "MODERATION_KEYWORDS", "comma-separated whole words that hold a comment", _items
    )
    disallowed_keywords: tuple[str, ...] = setting(
        (), "DISALLOWED_KEYWORDS", "comma-separated whole words that mark a comment spam", _items
    )
    hold_first_time: bool = setting(
        True,
        "HOLD_FIRST_TIME",
        "hold a commenter's comments until one is approved (WordPress's default)",
    )
    auto_approve_trusted: bool = setting(
        True,
        "AUTO_APPROVE_TRUSTED",
        "approve commenters with an approved comment unless a strong signal fired",
    )
    strong_points: float = setting(
        5.0,
        "STRONG_POINTS",
        "a reason worth this many points is strong: trust does not override it",
    )


@dataclass(frozen=True)
class Settings:
    mode: str = setting("production", "MODE", "`production` or `dev`")
    redis_url: str | None = setting(
        None,
        "REDIS_URL",
        "e.g. `redis://redis:6379/0`, or the primary Sentinels know: "
        "`redis+sentinel://[:password@]host:port[,host:port...]/<service>[/db]`; "
        "dev starts its own Redis when unset",
        _optional,
    )
    secret_key: str = setting(
        "",
        "SECRET_KEY",
        "master secret; sealing, HMAC, signing and idempotency keys are derived from it (HKDF)",
        _secret,
    )
    old_secret_keys: tuple[str, ...] = setting(
        (),
        "OLD_SECRET_KEYS",
        "previous secrets, comma-separated: links they signed keep working until they expire",
        _secrets,
    )
    link_max_age_s: int = setting(
        7 * 24 * 3600, "LINK_MAX_AGE", "seconds a one-click moderation link works (7 days)"
    )
    moderator_tokens: tuple[tuple[str, str], ...] = setting(
        (),
        "MODERATOR_TOKENS",
        "`alice:<token>,bob:<token>` (32+ chars each); without any the moderator API answers 403",
        _name_tokens,
    )
    public_url: str = setting(
        "http://127.0.0.1:8080", "PUBLIC_URL", "the service's own base URL", _base_url
    )
    allowed_origins: tuple[str, ...] = setting(
        (),
        "ALLOWED_ORIGINS",
        "comma-separated origins (`https://news.example.org`, `https://*.example.org`) whose "
        "pages may use the widget (CORS) and that no-JS form posts may redirect back to; "
        "`comments dev` allows `*`",
        _origins,
    )
    trusted_proxies: tuple[IPNetwork, ...] = setting(
        (),
        "TRUSTED_PROXIES",
        "CIDRs whose `X-Forwarded-For` is believed (opt-in); otherwise the socket peer is "
        "the client",
        _networks,
    )
    max_body_bytes: int = setting(64 * 1024, "MAX_BODY_BYTES", "request body limit (413 beyond)")
    max_header_bytes: int = setting(
        8190,
        "MAX_HEADER_BYTES",
        "longest request line or header line; aiohttp's HTTP parser refuses more with a "
        "plain-text `400` before the app sees the request",
    )
    max_headers: int = setting(64, "MAX_HEADERS", "most headers per request (as above)")
    max_comment_chars: int = setting(10_000, "MAX_COMMENT_CHARS", "comment length limit")
    queue_name: str = setting("comments", "QUEUE", "RQ queue name (notifications: `<name>-notify`)")
    job_timeout_s: int = setting(60, "JOB_TIMEOUT", "seconds before a job is killed and retried")
    job_retry_intervals_s: tuple[int, ...] = setting(
        (5, 30, 120, 600, 1800),
        "JOB_RETRY_INTERVALS",
        "backoff between retries of a decision; its length is the retry count",
        _integers,
    )
    sweep_after_s: int = setting(
        600, "SWEEP_AFTER", "seconds after which an undecided comment is enqueued again"
    )
    # Generous for people, tight for scripts.
    limit_ip: tuple[int, int] = setting(
        (20, 600), "LIMIT_IP", "submissions per client IP (count/seconds); beyond: 429", _rate
    )
    limit_email: tuple[int, int] = setting(
        (10, 600), "LIMIT_EMAIL", "submissions per commenter (count/seconds)", _rate
    )
    limit_article: tuple[int, int] = setting(
        (600, 60), "LIMIT_ARTICLE", "submissions per article (count/seconds)", _rate
    )
    limit_site: tuple[int, int] = setting(
        (6000, 60), "LIMIT_SITE", "submissions site-wide (count/seconds)", _rate
    )
    limit_votes: tuple[int, int] = setting(
        (60, 60),
        "LIMIT_VOTES",
        "votes per client IP (count/seconds); beyond: 429 (a reader votes one per comment anyway)",
        _rate,
    )
    edit_window_s: int = setting(
        900,
        "EDIT_WINDOW",
        "seconds after posting during which commenters may edit or delete their comment "
        "(with the edit token the 202 carried)",
    )
    limit_reports: tuple[int, int] = setting(
        (10, 600), "LIMIT_REPORTS", "reports per client IP (count/seconds); beyond: 429", _rate
    )
    banned_comments: str = setting(
        "refuse",
        "BANNED_COMMENTS",
        "a banned commenter's new comments: `refuse` (403 `commenter_banned`, a neutral "
        "message) or `hold` (accepted, then held for moderators with the reason `banned`)",
        _one_of("refuse", "hold"),
    )
    close_after_days: int = setting(
        0,
        "CLOSE_AFTER_DAYS",
        "close a thread to new comments this many days after the article's publication (the "
        "date an admin gave it in the workspace or an import brought, else when its first comment "
        "came) (0: never); "
        "admins may keep one open, or close one, in the workspace",
        _integer,
    )
    reports_flag: int = setting(
        3, "REPORTS_FLAG", "distinct readers' reports that put a comment in the Reported queue"
    )
    reports_hide: int = setting(
        10,
        "REPORTS_HIDE",
        "distinct readers' reports that hide a published comment (held) until a moderator decides",
    )
    votes_down: bool = setting(
        False, "VOTES_DOWN", "readers may also vote comments down (else up-votes only)"
    )
    batch_max: int = setting(256, "BATCH_MAX", "most submissions written in one Redis transaction")
    request_timeout_s: float = setting(
        30.0,
        "REQUEST_TIMEOUT",
        "a request taking longer (body reading included) gets `408 request_timeout`",
    )
    thread_cache_s: float = setting(
        1.0,
        "THREAD_CACHE_SECONDS",
        "a rendered thread is served this long without re-checking Redis "
        "(new comments appear up to this late)",
    )
    live_ping_s: float = setting(
        15.0, "LIVE_PING_SECONDS", "seconds between heartbeats on an open live stream"
    )
    redis_max_connections: int = setting(
        64,
        "REDIS_MAX_CONNECTIONS",
        "API connection pool (blocking: a burst waits, it does not fail)",
    )
    redis_timeout_s: float = setting(
        2.0, "REDIS_TIMEOUT", "seconds for Redis connects, reads and pool waits"
    )
    redis_min_replicas: int = setting(
        0,
        "REDIS_MIN_REPLICAS",
        "replicas that must acknowledge a batch of comments (`WAIT`) before its `202`s are "
        "sent; beyond `COMMENTS_REDIS_REPLICA_TIMEOUT` without them: 503",
    )
    redis_replica_timeout_s: float = setting(
        1.0,
        "REDIS_REPLICA_TIMEOUT",
        "seconds a batch waits for `COMMENTS_REDIS_MIN_REPLICAS` acknowledgements",
    )
    form_token_max_age_s: int = setting(
        24 * 3600, "FORM_TOKEN_MAX_AGE", "seconds a rendered form's token stays valid"
    )
    # Proof of work (service/core/pow.py): the widget's cost per comment is on average
    # POW_MAX_NUMBER / 2 * POW_COST PBKDF2 iterations (README, "Proof of work").
    pow_cost: int = setting(
        1000, "POW_COST", "PBKDF2-SHA-256 iterations per attempt of the widget's proof of work"
    )
    pow_max_number: int = setting(
        1200,
        "POW_MAX_NUMBER",
        "attempts a proof of work may need (on average half; ~0.5 s on a mid-range phone); "
        "`0` turns proof of work off",
    )
    pow_max_age_s: int = setting(
        7200, "POW_MAX_AGE", "seconds a proof-of-work challenge stays usable (the widget renews it)"
    )
    policy: Policy = field(default_factory=Policy)
    notify: str = setting(
        "held",
        "NOTIFY",
        "which decisions notify moderators: `held`, `all` or `none` (spam never one by one)",
    )
    moderator_emails: tuple[str, ...] = setting(
        (), "MODERATOR_EMAILS", "comma-separated moderator addresses", _items
    )
    moderator_admins: tuple[str, ...] = setting(
        (),
        "MODERATOR_ADMINS",
        "comma-separated moderator addresses and token names that sign in to the workspace as "
        "admins (everyone else signs in as a moderator)",
        _items,
    )
    session_idle_s: int = setting(
        2 * 3600, "SESSION_IDLE", "seconds a workspace session lasts without a request (2 hours)"
    )
    session_max_age_s: int = setting(
        12 * 3600, "SESSION_MAX_AGE", "seconds a workspace session lasts at most (12 hours)"
    )
    smtp_url: str | None = setting(
        None,
        "SMTP_URL",
        "`smtp://user:pass@host:587?starttls=1` or `smtps://host:465` (10 s timeouts)",
        _optional,
    )
    mail_from: str = setting("comments@localhost", "MAIL_FROM", "sender of notifications")
    outbox_dir: Path | None = setting(
        None,
        "OUTBOX_DIR",
        "write mail there as `.eml` files instead of sending (dev: `.comments-dev/outbox`)",
        _optional_path,
    )
    webhook_url: str | None = setting(
        None,
        "WEBHOOK_URL",
        "signed JSON POSTs to this URL for moderator notifications",
        _optional,
    )
    webhook_secret: str = setting(
        "", "WEBHOOK_SECRET", "signs the webhook's POSTs (32+ chars, required with a URL)", _secret
    )
    notify_rate: tuple[int, int] = setting(
        (10, 600),
        "NOTIFY_RATE",
        "moderator notifications sent one by one (count/seconds); beyond, they collapse into "
        "digests",
        _rate,
    )
    digest_interval_s: int = setting(
        600, "DIGEST_INTERVAL", "seconds between two digests of collapsed notifications"
    )
    spam_digest_interval_s: int = setting(
        86400,
        "SPAM_DIGEST_INTERVAL",
        'seconds between digests of the spam folder, with one-click "not spam" links (`0`: none)',
    )
    akismet_key: str | None = setting(
        None,
        "AKISMET_KEY",
        "Akismet API key: turns on the Akismet check (off by default)",
        _optional,
    )
    akismet_blog_url: str | None = setting(
        None,
        "AKISMET_BLOG_URL",
        "the site registered with Akismet (its `blog`); default `COMMENTS_PUBLIC_URL`",
        _optional,
    )
    akismet_url: str = setting(
        "https://rest.akismet.com/1.1", "AKISMET_URL", "Akismet's API base URL", _base_url
    )
    akismet_send_email: bool = setting(
        False,
        "AKISMET_SEND_EMAIL",
        "also send commenters' addresses to Akismet (better verdicts; the address leaves the "
        "service)",
    )
    akismet_send_ip: bool = setting(
        False, "AKISMET_SEND_IP", "also send commenters' IP addresses to Akismet"
    )
    akismet_timeout_s: float = setting(
        2.0, "AKISMET_TIMEOUT", "seconds Akismet may take; then the comment is held"
    )
    moderation_hook_url: str | None = setting(
        None,
        "MODERATION_HOOK_URL",
        "receives each comment (signed POST, never the address or IP) and may answer "
        "approve, hold or spam",
        _optional,
    )
    moderation_hook_secret: str = setting(
        "",
        "MODERATION_HOOK_SECRET",
        "signs the moderation hook's POSTs (32+ chars, required with a URL)",
        _secret,
    )
    moderation_hook_timeout_s: float = setting(
        2.0, "MODERATION_HOOK_TIMEOUT", "seconds the moderation hook may take; then held"
    )
    notify_retry_intervals_s: tuple[int, ...] = setting(
        (10, 30, 60, 300, 900, 1800, 3600, 7200, 14400),
        "NOTIFY_RETRY_INTERVALS",
        "notification retry backoff: mail servers and webhooks go down for hours",
        _integers,
    )
    erase_mode: str = setting(
        "anonymise",
        "ERASE_MODE",
        'erasure keeps the words as "Anonymous" (`anonymise`) or deletes the comments (`remove`)',
    )
    retention_days: int = setting(
        30, "RETENTION_DAYS", "IPs and user agents are deleted from comments after this"
    )
    # Imports (comments import; service/core/formats/articles.py says how URLs become ids).
    import_scheme: str = setting(
        "https",
        "IMPORT_SCHEME",
        "scheme of imported pages' article ids: `https`, `http` or `keep` (as in the file)",
        _one_of("https", "http", "keep"),
    )
    import_trailing_slash: str = setting(
        "add",
        "IMPORT_TRAILING_SLASH",
        "imported pages' article ids end in `/` (`add`; not after a file name like `a.html`), "
        "never (`strip`) or as in the file (`keep`)",
        _one_of("add", "strip", "keep"),
    )
    import_pingbacks: bool = setting(
        False, "IMPORT_PINGBACKS", "import WordPress pingbacks and trackbacks as comments"
    )
    privacy_link_max_age_s: int = setting(
        24 * 3600, "PRIVACY_LINK_MAX_AGE", "seconds a commenter's export/erase link works"
    )
    data_dir: Path = setting(
        Path(".comments-dev"), "DATA_DIR", "dev mode's Redis data and secret", _path
    )
    log_level: str = setting(
        "INFO",
        "LOG_LEVEL",
        "log level; every log line passes an email-redaction filter",
        _upper,
    )
    log_format: str = setting(
        "json",
        "LOG_FORMAT",
        "`json`: one object per line with `request_id` (carried from the API into the job); "
        "`text` (dev)",
    )
    access_log: bool = setting(
        False,
        "ACCESS_LOG",
        "a log line per request (aiohttp's access log, redacted like every line); off: the "
        "proxy in front logs requests, and each line would keep the reader's IP",
    )

    @property
    def is_dev(self) -> bool:
        return self.mode == "dev"

    @property
    def sends_mail(self) -> bool:
        """Mail goes out through SMTP, or into the outbox folder (dev)."""
        return bool(self.smtp_url or self.outbox_dir)

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
        if self.redis_url:
            try:
                redis_urls.check(self.redis_url)
            except redis_urls.RedisUrlError as exc:
                raise SettingsError(f"COMMENTS_REDIS_URL: {exc}") from None
        if self.redis_min_replicas < 0 or self.redis_replica_timeout_s <= 0:
            raise SettingsError(
                "COMMENTS_REDIS_MIN_REPLICAS must be >= 0 and COMMENTS_REDIS_REPLICA_TIMEOUT > 0"
            )
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
        for name, url in (
            ("AKISMET", self.akismet_url),
            ("MODERATION_HOOK", self.moderation_hook_url),
        ):
            if url and not url.startswith(("https://", "http://")):
                raise SettingsError(f"COMMENTS_{name}_URL must be an http(s) URL")
        if self.moderation_hook_url and len(self.moderation_hook_secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                "COMMENTS_MODERATION_HOOK_SECRET (32+ chars) is required with a moderation hook"
            )
        for name, token in self.moderator_tokens:
            if not name or len(token) < MIN_SECRET_LENGTH:
                raise SettingsError("COMMENTS_MODERATOR_TOKENS: use name:token, tokens 32+ chars")
        if "*" in self.allowed_origins:
            raise SettingsError("COMMENTS_ALLOWED_ORIGINS='*' is only allowed in dev mode")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        return _read(cls, os.environ if env is None else env)

    def to_env(self) -> dict[str, str]:
        """These settings as COMMENTS_* variables, for a child process (`comments dev` starts
        its workers with exactly its own settings)."""
        return dict(_written(self))


def _default(f: dataclasses.Field[Any]) -> object:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _group(f: dataclasses.Field[Any]) -> type[DataclassInstance]:
    """A nested group of settings (a field without a variable of its own)."""
    group = type(_default(f))
    assert dataclasses.is_dataclass(group), f.name
    return group


def _read(group: type[G], env: Mapping[str, str]) -> G:
    """An instance of a settings group: each declared variable that is set, parsed; nested
    groups read the same way; everything else its default."""
    values: dict[str, Any] = {}
    for f in fields(group):
        if "env" not in f.metadata:
            values[f.name] = _read(_group(f), env)
            continue
        name = ENV_PREFIX + f.metadata["env"]
        raw = env.get(name)
        if raw is None or (not raw.strip() and isinstance(f.default, tuple) and f.default):
            continue
        try:
            values[f.name] = f.metadata["parse"](raw)
        except ValueError as exc:
            raise SettingsError(f"{name}: {exc}") from None
    return group(**values)


def _written(group: DataclassInstance) -> Iterator[tuple[str, str]]:
    for f in fields(group):
        value = getattr(group, f.name)
        if "env" not in f.metadata:
            yield from _written(value)
        else:
            yield ENV_PREFIX + f.metadata["env"], _as_text(value, f.metadata["parse"])


def _as_text(value: object, parse: Parser) -> str:
    """The inverse of the parsers: parse(_as_text(v)) == v."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if parse is _rate and isinstance(value, tuple):
        return f"{value[0]}/{value[1]}"
    if parse is _name_tokens and isinstance(value, tuple):
        return ",".join(f"{name}:{token}" for name, token in value)
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Declared:
    env: str
    default: object
    doc: str
    parse: Parser


def declared(group: type[Any] = Settings) -> Iterator[Declared]:
    """Every setting in declaration order, as documented in the README."""
    for f in fields(group):
        if "env" not in f.metadata:
            yield from declared(_group(f))
            continue
        meta = f.metadata
        yield Declared(ENV_PREFIX + meta["env"], _default(f), meta["doc"], meta["parse"])


def markdown_table() -> str:
    """The README's configuration table, from the declarations."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{d.env}` | {_shown(d)} | {d.doc} |" for d in declared()]
    return "\n".join(rows)


def _shown(setting: Declared) -> str:
    value = setting.default
    if value is None or value == () or value == "":
        return "none"
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    if setting.parse is _rate and isinstance(value, tuple):
        return f"`{value[0]}/{value[1]}`"
    if isinstance(value, tuple):
        return "`" + ",".join(str(v) for v in value) + "`"
    if isinstance(value, float) and value.is_integer():
        return f"`{value:g}`"
    return f"`{value}`"
