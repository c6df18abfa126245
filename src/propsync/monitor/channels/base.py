"""The channel interface, its two error kinds, and `deliver`.

A channel's `send` raises `TransientChannelError` (retry: 5xx, 429, timeout, refused
connection) or `TerminalChannelError` (do not: bad request, bad credentials, missing
secret). `deliver` turns both, and any unexpected exception, into a `Delivery`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from propsync.config import AlertsConfig
from propsync.errors import PropsyncError, Terminal, Transient
from propsync.monitor.message import AlertMessage, Delivery

log = logging.getLogger("propsync.monitor.channels")


class ChannelError(PropsyncError):
    """Sending an alert on one channel failed."""


class TransientChannelError(ChannelError, Transient):
    """The same send may succeed if retried."""


class TerminalChannelError(ChannelError, Terminal):
    """Retrying the same send will fail the same way."""


class Channel(Protocol):
    """One way to notify people. `send` either delivers or raises a ChannelError; it
    must bound every network call with a timeout."""

    @property
    def name(self) -> str: ...

    def send(self, message: AlertMessage) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries per channel; before try n+1 wait `backoff_s * 2**(n-1)`."""

    attempts: int = 3
    backoff_s: float = 1.0

    @classmethod
    def from_config(cls, config: AlertsConfig) -> RetryPolicy:
        return cls(attempts=config.delivery_attempts, backoff_s=config.retry_backoff_s)

    def delay(self, attempt: int) -> float:
        return self.backoff_s * 2 ** (attempt - 1)


def deliver(
    message: AlertMessage,
    channels: Sequence[Channel],
    *,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Delivery]:
    """Send `message` on every channel at once (one thread each) and return one Delivery
    per channel, in the order given. Never raises; a slow or failing channel does not
    hold up the others' sends (the call returns when the last one is done or gave up)."""
    policy = retry or RetryPolicy()
    if not channels:
        return []
    with ThreadPoolExecutor(max_workers=len(channels), thread_name_prefix="propsync-alert") as pool:
        futures = [pool.submit(_deliver_one, c, message, policy, sleep) for c in channels]
        results = []
        for channel, future in zip(channels, futures, strict=True):
            try:
                results.append(future.result())
            except BaseException as exc:  # pragma: no cover - _deliver_one catches all
                results.append(Delivery(_name(channel), False, 0, 0.0, repr(exc)))
        return results


def _deliver_one(
    channel: Channel,
    message: AlertMessage,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
) -> Delivery:
    name = _name(channel)
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            channel.send(message)
        except TransientChannelError as exc:
            error = str(exc)
            if attempt < policy.attempts:
                wait = policy.delay(attempt)
                log.warning(
                    "alert %s on %s: try %d of %d failed (%s); again in %.2fs",
                    message.dedup_key,
                    name,
                    attempt,
                    policy.attempts,
                    error,
                    wait,
                )
                sleep(wait)
                continue
        except TerminalChannelError as exc:
            error = str(exc)
        except Exception as exc:
            log.exception("alert %s on %s: unexpected error", message.dedup_key, name)
            error = f"unexpected {type(exc).__name__}: {exc}"
        else:
            elapsed = time.monotonic() - started
            log.info("alert %s sent on %s (try %d)", message.dedup_key, name, attempt)
            return Delivery(name, True, attempt, elapsed)
        elapsed = time.monotonic() - started
        log.error(
            "alert %s on %s failed after %d tries: %s", message.dedup_key, name, attempt, error
        )
        return Delivery(name, False, attempt, elapsed, error)


def _name(channel: Channel) -> str:
    try:
        return str(channel.name)
    except Exception:
        return type(channel).__name__
