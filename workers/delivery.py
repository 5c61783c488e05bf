"""Delivering notifications: SMTP, an outbox folder (dev), or a signed webhook.

Every failure raises DeliveryError with a fixed description and, where the other side
answered, its numeric status only. RQ keeps a failed job's exception text (compressed, for
months), `comments status` prints it, and a server's own words can quote the recipient's
address back (Postfix: `550 5.1.1 <addr>: Recipient address rejected`); smtplib puts the
address in the exception itself. So no library or server text is passed on, and the original
exception is dropped (`from None`): a chained traceback would print it anyway.
"""

from __future__ import annotations

import errno
import http.client
import itertools
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from service.core.settings import Settings
from workers.messages import needs_smtputf8, webhook_signature

TIMEOUT_S = 10
# Outbox file names: the Message-ID with anything unusual in a file name replaced.
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._@+-]")
# What failed, by exception class, for answers that carry a status code.
_SMTP_STEPS: tuple[tuple[type[smtplib.SMTPResponseException], str], ...] = (
    (smtplib.SMTPConnectError, "SMTP refused the connection"),
    (smtplib.SMTPHeloError, "SMTP refused the greeting"),
    (smtplib.SMTPAuthenticationError, "SMTP refused the login"),
    (smtplib.SMTPSenderRefused, "SMTP refused the sender"),
    (smtplib.SMTPDataError, "SMTP refused the message"),
)


class DeliveryError(RuntimeError):
    """The receiving side refused or failed; the job retries later. Its text never quotes
    an address or the other side's words."""


def send_email(settings: Settings, msg: EmailMessage) -> None:
    if settings.smtp_url is not None:
        _send_smtp(settings.smtp_url, msg)
    elif settings.outbox_dir is not None:
        _write_outbox(settings.outbox_dir, msg)
    else:
        raise DeliveryError("neither COMMENTS_SMTP_URL nor an outbox folder is configured")


def _write_outbox(folder: Path, msg: EmailMessage) -> None:
    """One file per message, named after its Message-ID; a second copy (a retried job) gets
    a numbered name instead of replacing the first."""
    stem = _UNSAFE_IN_NAME.sub("_", str(msg["Message-ID"] or "no-message-id").strip("<>"))
    data = msg.as_bytes()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for copy in itertools.count(1):
            path = folder / (f"{stem}.eml" if copy == 1 else f"{stem}.{copy}.eml")
            try:
                with path.open("xb") as out:  # exclusive: never overwrites
                    out.write(data)
                return
            except FileExistsError:
                continue
    except OSError as exc:
        raise DeliveryError(f"could not write to the outbox folder ({_os_error(exc)})") from None


def _send_smtp(smtp_url: str, msg: EmailMessage) -> None:
    url = urlsplit(smtp_url)
    host, implicit_tls = url.hostname or "localhost", url.scheme == "smtps"
    port = url.port or (465 if implicit_tls else 25)
    starttls = parse_qs(url.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    context = ssl.create_default_context()
    try:
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
            smtp.ehlo_or_helo_if_needed()
            if needs_smtputf8(msg) and not smtp.has_extn("smtputf8"):
                raise DeliveryError(
                    "the SMTP server does not offer SMTPUTF8, which the recipient's "
                    "internationalised address needs"
                )
            smtp.send_message(msg)
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors; encoding: ValueError
        raise DeliveryError(_smtp_failure(exc)) from None


def _smtp_failure(exc: Exception) -> str:
    """What went wrong, in words that cannot quote an address: a phrase per kind of failure
    and the server's status code, never its text."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"SMTP refused the recipient ({', '.join(map(str, codes))})"
    if isinstance(exc, smtplib.SMTPResponseException):
        step = next((text for kind, text in _SMTP_STEPS if isinstance(exc, kind)), None)
        return f"{step or 'SMTP error'} ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the SMTP server closed the connection"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "the SMTP server lacks an extension this delivery needs (STARTTLS or AUTH)"
    if isinstance(exc, smtplib.SMTPException):
        return f"SMTP failed ({type(exc).__name__})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with the SMTP server failed ({type(exc).__name__})"
    if isinstance(exc, OSError):
        return f"could not talk to the SMTP server ({_os_error(exc)})"
    return f"could not encode for SMTP ({type(exc).__name__})"


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
    except urllib.error.HTTPError as exc:  # a non-2xx answer: its reason phrase is theirs
        exc.close()
        raise DeliveryError(f"the webhook answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:  # wraps the socket error; its text names the host
        cause = exc.reason if isinstance(exc.reason, BaseException) else exc
        raise DeliveryError(f"could not reach the webhook ({_os_error(cause)})") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DeliveryError(f"webhook delivery failed ({_os_error(exc)})") from None


def _os_error(exc: object) -> str:
    """The kind of a low-level failure (`ConnectionRefusedError`, `ETIMEDOUT`), not its text."""
    code = getattr(exc, "errno", None)
    name = errno.errorcode.get(code, "") if isinstance(code, int) else ""
    return " ".join(filter(None, (type(exc).__name__, name)))
