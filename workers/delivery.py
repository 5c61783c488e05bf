"""Delivering notifications: SMTP, an outbox folder (dev), or a signed webhook."""

from __future__ import annotations

import smtplib
import ssl
import time
import urllib.request
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from service.core.settings import Settings
from workers.messages import webhook_signature

TIMEOUT_S = 10


class DeliveryError(RuntimeError):
    """The receiving side refused or failed; the job retries later."""


def send_email(settings: Settings, msg: EmailMessage) -> None:
    if settings.smtp_url is None:
        if settings.outbox_dir is None:
            raise DeliveryError("neither COMMENTS_SMTP_URL nor an outbox folder is configured")
        settings.outbox_dir.mkdir(parents=True, exist_ok=True)
        name = str(msg["Message-ID"]).strip("<>").replace("/", "_")
        (settings.outbox_dir / f"{name}.eml").write_bytes(msg.as_bytes())
        return
    url = urlsplit(settings.smtp_url)
    host, implicit_tls = url.hostname or "localhost", url.scheme == "smtps"
    port = url.port or (465 if implicit_tls else 25)
    starttls = parse_qs(url.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    context = ssl.create_default_context()
    smtp = (
        smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_S, context=context)
        if implicit_tls
        else smtplib.SMTP(host, port, timeout=TIMEOUT_S)
    )
    with smtp:
        if starttls:
            smtp.starttls(context=context)
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(msg)


def post_webhook(settings: Settings, event: str, delivery_id: str, body: bytes) -> None:
    assert settings.webhook_url
    timestamp = int(time.time())
    # http(s) only: Settings.check refuses any other scheme.
    request = urllib.request.Request(  # noqa: S310
        settings.webhook_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "comments-service",
            "X-Comments-Event": event,
            "X-Comments-Delivery": delivery_id,
            "X-Comments-Timestamp": str(timestamp),
            "X-Comments-Signature": webhook_signature(settings.webhook_secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            response.read()
    except OSError as exc:  # URLError, HTTPError (non-2xx) and socket errors
        raise DeliveryError(f"webhook delivery failed: {exc}") from exc
