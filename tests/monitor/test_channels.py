"""The three alert channels against real receivers on 127.0.0.1."""

from __future__ import annotations

import ssl
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import trustme

from propsync.config import ChannelsConfig, EmailChannelConfig, PagerDutyChannelConfig
from propsync.monitor.channels import (
    EmailChannel,
    PagerDutyChannel,
    RetryPolicy,
    SlackChannel,
    channels_for,
    deliver,
)
from propsync.monitor.message import AlertMessage

FAST = RetryPolicy(attempts=3, backoff_s=0.01)
OPENED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def message(**overrides: Any) -> AlertMessage:
    values: dict[str, Any] = {
        "rule": "high_create_queue",
        "title": "High create queue",
        "severity": "P2",
        "action": "trigger",
        "measured": 250,
        "threshold": 200,
        "summary": "250 properties wait to be created in Salesforce (threshold 200).",
        "dedup_key": "propsync/high_create_queue/42",
        "opened_at": OPENED,
        "dashboard_url": "http://127.0.0.1:8765/",
        "runbook_url": "https://example.com/RUNBOOK.md#high-create-queue",
        "runbook_section": "High create queue",
    }
    values.update(overrides)
    return AlertMessage(**values)


def slack(monkeypatch: pytest.MonkeyPatch, url: str, timeout: float = 5.0) -> SlackChannel:
    monkeypatch.setenv("TEST_SLACK_URL", url)
    return SlackChannel(webhook_url_env="TEST_SLACK_URL", timeout=timeout)


def pagerduty(monkeypatch: pytest.MonkeyPatch, url: str, timeout: float = 5.0) -> PagerDutyChannel:
    monkeypatch.setenv("TEST_PD_KEY", "R0UTINGKEY0123456789012345678901")
    return PagerDutyChannel(routing_key_env="TEST_PD_KEY", events_url=url, timeout=timeout)


def email(port: int, **kwargs: Any) -> EmailChannel:
    return EmailChannel(
        smtp_host="127.0.0.1",
        smtp_port=port,
        sender="propsync@example.com",
        to=("data-alerts@example.com", "oncall@example.com"),
        **kwargs,
    )


def test_slack_gets_blocks_and_a_text_fallback(
    monkeypatch: pytest.MonkeyPatch, http_receiver: Any
) -> None:
    hook = http_receiver([200])
    [result] = deliver(message(), [slack(monkeypatch, hook.url)], retry=FAST)
    assert (result.channel, result.ok, result.attempts, result.error) == ("slack", True, 1, None)
    [got] = hook.requests
    assert got.headers["Content-Type"].startswith("application/json")
    body = got.body
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("[P2] FIRING High create queue: 250 (threshold 200)")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    header, facts, summary, context = body["blocks"]
    assert header["text"]["type"] == "plain_text"
    assert "FIRING" in header["text"]["text"]
    assert [f["text"] for f in facts["fields"]] == [
        "*Severity*\nP2",
        "*Measured*\n250",
        "*Threshold*\n200",
        "*Since*\n2026-12-01 09:30:00 UTC",
    ]
    assert summary["text"] == {"type": "mrkdwn", "text": message().summary}
    links = context["elements"][0]["text"]
    assert "<http://127.0.0.1:8765/|Dashboard>" in links
    assert "<https://example.com/RUNBOOK.md#high-create-queue|Runbook: High create queue>" in links


def test_slack_resolve_says_resolved(monkeypatch: pytest.MonkeyPatch, http_receiver: Any) -> None:
    hook = http_receiver([200])
    [result] = deliver(message(action="resolve"), [slack(monkeypatch, hook.url)], retry=FAST)
    assert result.ok
    assert hook.requests[0].body["text"].startswith("[P2] RESOLVED High create queue")


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("P0", "critical"), ("P1", "error"), ("P2", "warning"), ("P3", "info")],
)
def test_pagerduty_trigger_then_resolve_share_the_dedup_key(
    monkeypatch: pytest.MonkeyPatch, http_receiver: Any, severity: str, expected: str
) -> None:
    events = http_receiver([202], answer='{"status":"success","message":"Event processed"}')
    channel = pagerduty(monkeypatch, events.url)
    trigger = message(severity=severity, rule="sync_down", dedup_key="propsync/sync_down/7")
    assert deliver(trigger, [channel], retry=FAST)[0].ok
    assert deliver(message(**{**trigger.__dict__, "action": "resolve"}), [channel])[0].ok
    first, second = (r.body for r in events.requests)
    assert first["routing_key"] == "R0UTINGKEY0123456789012345678901"
    assert first["event_action"] == "trigger"
    assert first["dedup_key"] == "propsync/sync_down/7"
    payload = first["payload"]
    assert set(payload) >= {"summary", "source", "severity", "custom_details"}
    assert payload["severity"] == expected
    assert payload["source"] == "propsync"
    assert payload["summary"].startswith(f"[{severity}] FIRING High create queue: 250")
    assert payload["timestamp"] == "2026-12-01T09:30:00+00:00"
    assert payload["custom_details"]["measured"] == 250
    assert payload["custom_details"]["threshold"] == 200
    assert first["links"][0] == {"href": "http://127.0.0.1:8765/", "text": "propsync dashboard"}
    assert second == {
        "routing_key": "R0UTINGKEY0123456789012345678901",
        "dedup_key": "propsync/sync_down/7",
        "event_action": "resolve",
    }


def test_pagerduty_test_message_resolves_itself(
    monkeypatch: pytest.MonkeyPatch, http_receiver: Any
) -> None:
    events = http_receiver([202])
    [result] = deliver(message(action="test"), [pagerduty(monkeypatch, events.url)], retry=FAST)
    assert result.ok
    actions = [(r.body["event_action"], r.body["dedup_key"]) for r in events.requests]
    assert actions == [
        ("trigger", "propsync/high_create_queue/42"),
        ("resolve", "propsync/high_create_queue/42"),
    ]


def test_email_without_login(smtp_server: Any) -> None:
    server = smtp_server()
    [result] = deliver(message(severity="P1"), [email(server.port)], retry=FAST)
    assert result.ok, result.error
    [mail] = server.mailbox.messages
    assert mail["Subject"] == "propsync [P1] FIRING High create queue: 250 (threshold 200)"
    assert mail["From"] == "propsync@example.com"
    assert mail["To"] == "data-alerts@example.com, oncall@example.com"
    assert mail["References"] == "<propsync-high_create_queue-42@example.com>"
    assert mail.get_content_type() == "text/plain"
    body = mail.get_payload(decode=True).decode()
    assert "Measured:  250" in body
    assert "Threshold: 200" in body
    assert "Runbook:   High create queue: https://example.com/RUNBOOK.md#high-create-queue" in body
    assert server.mailbox.envelopes == [
        ("propsync@example.com", ["data-alerts@example.com", "oncall@example.com"])
    ]


# aiosmtpd warns that AUTH without TLS is unsafe: on loopback it is what this test checks
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_login_over_plain_loopback(monkeypatch: pytest.MonkeyPatch, smtp_server: Any) -> None:
    server = smtp_server(login=("alerts", "s3cret"))
    monkeypatch.setenv("TEST_SMTP_USER", "alerts")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    channel = email(server.port, username_env="TEST_SMTP_USER", password_env="TEST_SMTP_PASSWORD")
    [result] = deliver(message(), [channel], retry=FAST)
    assert result.ok, result.error
    assert server.logins == ["alerts"]
    assert len(server.mailbox.messages) == 1

    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    [refused] = deliver(message(), [channel], retry=FAST)
    assert (refused.ok, refused.attempts) == (False, 1)  # a refused login is not retried
    assert refused.error is not None and "535" in refused.error

    unauthenticated = email(server.port)
    [rejected] = deliver(message(), [unauthenticated], retry=FAST)
    assert not rejected.ok  # the server requires AUTH
    assert len(server.mailbox.messages) == 1


def test_email_starttls_and_login(monkeypatch: pytest.MonkeyPatch, smtp_server: Any) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    server = smtp_server(
        login=("alerts", "s3cret"),
        tls_context=server_ctx,
        require_starttls=True,
        auth_require_tls=True,
    )
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    monkeypatch.setenv("TEST_SMTP_USER", "alerts")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    channel = email(
        server.port,
        username_env="TEST_SMTP_USER",
        password_env="TEST_SMTP_PASSWORD",
        starttls=True,
        ssl_context=client_ctx,
    )
    [result] = deliver(message(), [channel], retry=FAST)
    assert result.ok, result.error
    assert server.logins == ["alerts"]

    untrusting = email(
        server.port, starttls=True, username_env="TEST_SMTP_USER", password_env="TEST_SMTP_PASSWORD"
    )
    [failed] = deliver(message(), [untrusting], retry=FAST)
    assert (failed.ok, failed.attempts) == (False, 1)
    assert failed.error is not None and "not trusted" in failed.error


def test_a_500_is_retried_then_reported_while_the_others_deliver(
    monkeypatch: pytest.MonkeyPatch, http_receiver: Any, smtp_server: Any
) -> None:
    broken = http_receiver([500])
    events = http_receiver([202])
    server = smtp_server()
    channels = [
        slack(monkeypatch, broken.url),
        pagerduty(monkeypatch, events.url),
        email(server.port),
    ]
    results = deliver(message(), channels, retry=FAST)
    assert [(r.channel, r.ok, r.attempts) for r in results] == [
        ("slack", False, 3),
        ("pagerduty", True, 1),
        ("email", True, 1),
    ]
    assert results[0].error is not None and "500" in results[0].error
    assert len(broken.requests) == 3
    assert len(events.requests) == 1
    assert len(server.mailbox.messages) == 1


def test_a_500_then_success_is_one_delivery(
    monkeypatch: pytest.MonkeyPatch, http_receiver: Any
) -> None:
    flaky = http_receiver([500, 503, 202])
    waits: list[float] = []
    [result] = deliver(
        message(), [pagerduty(monkeypatch, flaky.url)], retry=FAST, sleep=waits.append
    )
    assert (result.ok, result.attempts) == (True, 3)
    assert waits == [0.01, 0.02]  # doubling backoff


def test_a_400_is_not_retried(monkeypatch: pytest.MonkeyPatch, http_receiver: Any) -> None:
    hook = http_receiver([400], answer="invalid_payload")
    [result] = deliver(message(), [slack(monkeypatch, hook.url)], retry=FAST)
    assert (result.ok, result.attempts) == (False, 1)
    assert len(hook.requests) == 1


@pytest.mark.timeout(30)
def test_a_silent_receiver_fails_within_the_timeout_and_blocks_no_one(
    monkeypatch: pytest.MonkeyPatch, silent_port: int, http_receiver: Any
) -> None:
    silent = f"http://127.0.0.1:{silent_port}/hook"
    working = http_receiver([200])
    monkeypatch.setenv("TEST_GOOD_URL", working.url)
    channels = [
        slack(monkeypatch, silent, timeout=0.5),  # slack-sdk rounds up to whole seconds: 1 s
        pagerduty(monkeypatch, silent, timeout=0.5),
        email(silent_port, timeout=0.5),
        SlackChannel(webhook_url_env="TEST_GOOD_URL", timeout=5, name="slack-ok"),
    ]
    started = time.monotonic()
    results = deliver(message(), channels, retry=RetryPolicy(attempts=2, backoff_s=0.01))
    elapsed = time.monotonic() - started
    assert [(r.channel, r.ok, r.attempts) for r in results] == [
        ("slack", False, 2),
        ("pagerduty", False, 2),
        ("email", False, 2),
        ("slack-ok", True, 1),
    ]
    assert all("timed out" in (r.error or "").lower() for r in results[:3]), results
    assert results[3].elapsed_s < 0.5  # the working channel did not wait for the others
    assert elapsed < 6


def test_missing_secret_and_plain_http_elsewhere_fail_without_a_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEST_UNSET_URL", raising=False)
    monkeypatch.setenv("TEST_PLAIN_URL", "http://hooks.example.com/services/T0/B0/x")
    results = deliver(
        message(),
        [
            SlackChannel(webhook_url_env="TEST_UNSET_URL"),
            SlackChannel(webhook_url_env="TEST_PLAIN_URL", name="slack-plain"),
            PagerDutyChannel(routing_key_env="TEST_UNSET_URL"),
            EmailChannel("127.0.0.1", 9, "propsync@example.com", to=()),
        ],
        retry=FAST,
    )
    assert [(r.ok, r.attempts) for r in results] == [(False, 1)] * 4
    assert "TEST_UNSET_URL" in (results[0].error or "")
    assert "must be https" in (results[1].error or "")
    assert "routing key" in (results[2].error or "")
    assert "no recipients" in (results[3].error or "")


def test_an_unexpected_error_in_a_channel_is_a_failed_delivery() -> None:
    class Broken:
        name = "broken"

        def send(self, message: AlertMessage) -> None:
            raise KeyError("bug")

    [result] = deliver(message(), [Broken()], retry=FAST)
    assert (result.ok, result.attempts) == (False, 1)
    assert "KeyError" in (result.error or "")


def test_channels_built_from_config(monkeypatch: pytest.MonkeyPatch, http_receiver: Any) -> None:
    events = http_receiver([202])
    config = ChannelsConfig(
        pagerduty=PagerDutyChannelConfig(events_url=events.url, routing_key_env="TEST_PD_KEY"),
        email=EmailChannelConfig.model_validate({"from": "p@example.com", "to": ["x@example.com"]}),
    )
    monkeypatch.setenv("TEST_PD_KEY", "k")
    built = channels_for(["pagerduty", "email", "slack"], config)
    assert [c.name for c in built] == ["pagerduty", "email", "slack"]
    assert isinstance(built[1], EmailChannel) and built[1].to == ("x@example.com",)
    assert deliver(message(), built[:1], retry=FAST)[0].ok
