"""E-mail over SMTP (`smtplib`): a plain-text message, STARTTLS and login when configured.

Messages of one incident share a `References` header built from its dedup key, so mail
clients thread the trigger, its repeats and the resolve together.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from propsync.config import EmailChannelConfig
from propsync.monitor.channels.base import TerminalChannelError, TransientChannelError
from propsync.monitor.message import AlertMessage


@dataclass(frozen=True)
class EmailChannel:
    """Sends to `to` through `smtp_host:smtp_port`. `timeout` bounds the connect and every
    read (seconds). `ssl_context` verifies the server for STARTTLS (default: the system's
    trust store)."""

    smtp_host: str
    smtp_port: int
    sender: str
    to: tuple[str, ...]
    username_env: str | None = None
    password_env: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)
    name: str = "email"

    @classmethod
    def from_config(cls, config: EmailChannelConfig) -> EmailChannel:
        return cls(
            smtp_host=config.smtp_host,
            smtp_port=config.smtp_port,
            sender=config.from_,
            to=tuple(config.to),
            username_env=config.username_env,
            password_env=config.password_env,
            starttls=config.starttls,
            timeout=config.timeout,
        )

    def send(self, message: AlertMessage) -> None:
        if not self.to:
            raise TerminalChannelError("no recipients: alerts.channels.email.to is empty")
        login = self._login()
        mail = render(message, sender=self.sender, to=self.to)
        try:
            with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=self.ssl_context or ssl.create_default_context())
                    smtp.ehlo()
                if login:
                    smtp.login(*login)
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise TerminalChannelError(f"SMTP login refused: {_reply(exc)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise TerminalChannelError(f"SMTP server does not support it: {exc}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            # 4xx for every recipient is a temporary refusal (greylisting, a full mailbox)
            temporary = all(400 <= code < 500 for code, _ in exc.recipients.values())
            kind = TransientChannelError if temporary else TerminalChannelError
            raise kind(f"recipients refused: {exc.recipients}") from None
        except smtplib.SMTPResponseException as exc:
            kind = TransientChannelError if 400 <= exc.smtp_code < 500 else TerminalChannelError
            raise kind(f"SMTP server answered {_reply(exc)}") from None
        except ssl.SSLCertVerificationError as exc:
            raise TerminalChannelError(f"SMTP server certificate not trusted: {exc}") from None
        except (smtplib.SMTPException, OSError) as exc:
            # disconnects, timeouts, refused connections: worth another try
            raise TransientChannelError(
                f"SMTP {self.smtp_host}:{self.smtp_port}: {type(exc).__name__}: {exc}"
            ) from None

    def _login(self) -> tuple[str, str] | None:
        if not self.username_env or not self.password_env:
            return None
        user = os.environ.get(self.username_env)
        password = os.environ.get(self.password_env)
        missing = [
            n for n, v in ((self.username_env, user), (self.password_env, password)) if not v
        ]
        if missing or user is None or password is None:
            raise TerminalChannelError(f"environment variable {', '.join(missing)} is not set")
        return user, password


def render(message: AlertMessage, *, sender: str, to: tuple[str, ...]) -> EmailMessage:
    """The e-mail for one alert: subject = the headline, body = summary and facts."""
    mail = EmailMessage()
    mail["Subject"] = f"propsync {message.headline}"
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = formatdate(usegmt=True)
    domain = sender.rpartition("@")[2] or "propsync.local"
    mail["Message-ID"] = make_msgid("propsync", domain=domain)
    thread = f"<{_token(message.dedup_key)}@{domain}>"
    mail["References"] = thread
    mail["In-Reply-To"] = thread
    mail["X-Propsync-Incident"] = message.dedup_key
    width = max(len(label) for label, _ in message.facts())
    facts = "\n".join(f"{label + ':':<{width + 1}} {value}" for label, value in message.facts())
    mail.set_content(f"{message.headline}\n\n{message.summary}\n\n{facts}\n")
    return mail


def _token(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "-" for c in key)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = (
        exc.smtp_error.decode("utf-8", "replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return f"{exc.smtp_code} {text}"
