"""Alert channels behind one small interface, and `deliver` that sends one message on
several of them at once: each channel retried with backoff, none blocking the others."""

from __future__ import annotations

from collections.abc import Iterable

from propsync.config import ChannelKind, ChannelsConfig
from propsync.monitor.channels.base import (
    Channel,
    ChannelError,
    RetryPolicy,
    TerminalChannelError,
    TransientChannelError,
    deliver,
)
from propsync.monitor.channels.pagerduty import PagerDutyChannel
from propsync.monitor.channels.slack import SlackChannel
from propsync.monitor.channels.smtp import EmailChannel

__all__ = [
    "Channel",
    "ChannelError",
    "EmailChannel",
    "PagerDutyChannel",
    "RetryPolicy",
    "SlackChannel",
    "TerminalChannelError",
    "TransientChannelError",
    "channel_for",
    "channels_for",
    "deliver",
]


def channel_for(kind: ChannelKind, config: ChannelsConfig) -> Channel:
    """The channel of one kind, as `[alerts.channels.*]` configures it. Secrets are read
    when a message is sent, so a missing one shows up as that channel's failed Delivery."""
    if kind == "slack":
        return SlackChannel.from_config(config.slack)
    if kind == "email":
        return EmailChannel.from_config(config.email)
    return PagerDutyChannel.from_config(config.pagerduty)


def channels_for(kinds: Iterable[ChannelKind], config: ChannelsConfig) -> list[Channel]:
    return [channel_for(kind, config) for kind in kinds]
