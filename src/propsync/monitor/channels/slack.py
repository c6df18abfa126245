"""Slack incoming webhook: Block Kit blocks plus a `text` fallback, sent with
slack-sdk's `WebhookClient` (its own retries off: `deliver` owns the policy)."""

from __future__ import annotations

import http.client
import math
import os
from dataclasses import dataclass
from typing import Any

from slack_sdk.webhook import WebhookClient

from propsync.config import SlackChannelConfig, check_endpoint_url
from propsync.monitor.channels.base import TerminalChannelError, TransientChannelError
from propsync.monitor.message import AlertMessage

_HEADER_MAX = 150  # Slack's limit for a header block's text
_SECTION_MAX = 3000
_EMOJI = {"trigger": ":rotating_light:", "resolve": ":white_check_mark:", "test": ":wrench:"}


@dataclass(frozen=True)
class SlackChannel:
    """Posts to the incoming webhook whose URL is in the environment variable
    `webhook_url_env`. `timeout` bounds the connect and each read (seconds)."""

    webhook_url_env: str
    timeout: float = 10.0
    name: str = "slack"

    @classmethod
    def from_config(cls, config: SlackChannelConfig) -> SlackChannel:
        return cls(webhook_url_env=config.webhook_url_env, timeout=config.timeout)

    def send(self, message: AlertMessage) -> None:
        url = os.environ.get(self.webhook_url_env)
        if not url:
            raise TerminalChannelError(
                f"environment variable {self.webhook_url_env} (the webhook URL) is not set"
            )
        try:
            check_endpoint_url(url)
        except ValueError as exc:
            raise TerminalChannelError(f"{self.webhook_url_env}: {exc}") from None
        # urllib takes one socket timeout for the connect and every read; slack-sdk
        # types it as int, so whole seconds, rounded up.
        client = WebhookClient(url, timeout=max(1, math.ceil(self.timeout)), retry_handlers=[])
        try:
            response = client.send(text=fallback_text(message), blocks=blocks(message))
        except (OSError, http.client.HTTPException) as exc:
            raise TransientChannelError(f"webhook unreachable: {exc}") from None
        status = response.status_code
        if status == 200:
            return
        detail = f"webhook answered {status}: {str(response.body)[:200]}"
        if status == 429 or status >= 500:
            raise TransientChannelError(detail)
        raise TerminalChannelError(detail)


def fallback_text(message: AlertMessage) -> str:
    """The notification text (and what clients without Block Kit show)."""
    return f"{message.headline}. {message.summary}"


def blocks(message: AlertMessage) -> list[dict[str, Any]]:
    head = f"{_EMOJI[message.action]} {message.headline}"
    facts = dict(message.facts())
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n{_esc(facts[label])}"}
        for label in ("Severity", "Measured", "Threshold", "Since")
    ]
    links = []
    if message.dashboard_url:
        links.append(f"<{message.dashboard_url}|Dashboard>")
    if message.runbook_url:
        section = _esc(message.runbook_section or "Runbook")
        links.append(f"<{message.runbook_url}|Runbook: {section}>")
    links.append(f"rule `{_esc(message.rule)}`")
    links.append(f"incident `{_esc(message.dedup_key)}`")
    return [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(head, _HEADER_MAX)}},
        {"type": "section", "fields": fields},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cut(_esc(message.summary) or "-", _SECTION_MAX)},
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]},
    ]


def _esc(text: str) -> str:
    # the three characters Slack's mrkdwn wants escaped
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
