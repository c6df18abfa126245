"""[schedule], [alerts] and [dashboard]: the keys and defaults of DESIGN.md's contract,
and errors that name the file and the line."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from propsync import config
from propsync.errors import ConfigError


def load(tmp_path: Path, text: str) -> config.Config:
    path = tmp_path / "propsync.toml"
    path.write_text(text)
    return config.load(path)


def fails(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return str(info.value).replace(str(tmp_path / "propsync.toml"), "propsync.toml")


def test_defaults_are_the_contract() -> None:
    c = config.Config()
    assert (c.schedule.sync_create, c.schedule.sync_update) == ("*/15 * * * *", "*/30 * * * *")
    assert (c.schedule.measure, c.schedule.alerts) == ("*/5 * * * *", "*/5 * * * *")
    assert c.alerts.repeat_interval == timedelta(hours=4)
    rules = c.alerts.rules
    assert (rules.high_create_queue.threshold, rules.high_create_queue.severity) == (200, "P2")
    assert rules.high_create_queue.channels == ["slack"]
    spike = rules.sync_failure_spike
    assert (spike.threshold_pct, spike.window, spike.severity) == (5, timedelta(hours=1), "P1")
    assert spike.channels == ["pagerduty", "slack"]
    mismatch = rules.feature_mismatch_high
    assert (mismatch.threshold_pct, mismatch.severity, mismatch.channels) == (95, "P2", ["slack"])
    missing = rules.properties_missing
    assert (missing.threshold, missing.severity, missing.channels) == (
        100,
        "P1",
        ["email", "slack"],
    )
    down = rules.sync_down
    assert (down.window, down.severity, down.channels) == (timedelta(hours=2), "P0", ["pagerduty"])
    channels = c.alerts.channels
    assert channels.slack.webhook_url_env == "PROPSYNC_SLACK_WEBHOOK_URL"
    assert channels.pagerduty.routing_key_env == "PROPSYNC_PAGERDUTY_ROUTING_KEY"
    assert channels.pagerduty.events_url == "https://events.pagerduty.com/v2/enqueue"
    assert (channels.email.smtp_host, channels.email.smtp_port) == ("localhost", 25)
    assert (c.dashboard.host, c.dashboard.port) == ("127.0.0.1", 8765)
    assert c.dashboard.token_env == "PROPSYNC_DASHBOARD_TOKEN"


def test_the_templates_commented_sections_load_when_uncommented(tmp_path: Path) -> None:
    head, _, tail = config.TEMPLATE.partition("# `propsync serve`")
    assert tail, "the template documents the serve sections"
    uncommented = "\n".join(
        line[2:] if line.startswith("# ") and not line.startswith("# (") else line
        for line in tail.splitlines()[1:]
    )
    tomllib.loads(config.TEMPLATE)  # the template as shipped is valid TOML
    c = load(tmp_path, head + uncommented)
    assert c.schedule == config.ScheduleConfig()
    assert c.alerts.rules == config.RulesConfig()
    assert c.alerts.repeat_interval == timedelta(hours=4)
    assert c.alerts.channels.email.to == ["data-alerts@example.com"]
    assert c.alerts.channels.email.username_env == "PROPSYNC_SMTP_USERNAME"
    assert c.dashboard == config.DashboardConfig()


def test_the_design_example_loads(tmp_path: Path) -> None:
    c = load(
        tmp_path,
        """
[alerts.channels.email]
smtp_host = "localhost"
smtp_port = 25
from = "propsync@example.com"
to = ["data-alerts@example.com"]

[alerts.rules]
high_create_queue = { threshold = 50, severity = "P3", channels = ["email"] }
sync_failure_spike = { threshold_pct = 2.5, window = "30m", channels = ["pagerduty", "slack"] }
sync_down = { window = "1h30m", severity = "P0", channels = ["pagerduty"], enabled = false }
""",
    )
    assert c.alerts.channels.email.from_ == "propsync@example.com"
    rules = c.alerts.rules
    assert (rules.high_create_queue.threshold, rules.high_create_queue.severity) == (50, "P3")
    assert rules.high_create_queue.channels == ["email"]
    assert rules.sync_failure_spike.window == timedelta(minutes=30)
    assert rules.sync_down.window == timedelta(minutes=90)
    assert rules.sync_down.enabled is False
    assert rules.properties_missing == config.PropertiesMissingRule()  # untouched: default


def test_a_bad_cron_expression_names_file_and_line(tmp_path: Path) -> None:
    error = fails(tmp_path, '[schedule]\nsync_create = "*/15 * * *"\n')
    assert error.startswith("propsync.toml:2: schedule.sync_create: ")
    assert "not a cron expression" in error
    assert "propsync.toml:3: schedule.alerts" in fails(
        tmp_path, '[schedule]\nmeasure = "*/5 * * * *"\nalerts = "61 * * * *"\n'
    )


@pytest.mark.parametrize("bad", ["4 hours", "h", "-1h", "0s", "4x", ""])
def test_a_bad_duration_names_file_and_line(tmp_path: Path, bad: str) -> None:
    error = fails(tmp_path, f'[alerts]\nrepeat_interval = "{bad}"\n')
    assert error.startswith("propsync.toml:2: alerts.repeat_interval: ")


def test_durations() -> None:
    parse = config.parse_duration
    assert parse("4h") == timedelta(hours=4)
    assert parse("1h30m") == timedelta(minutes=90)
    assert parse("90s") == timedelta(seconds=90)
    assert parse("2d") == timedelta(days=2)
    assert parse("1.5h") == timedelta(minutes=90)
    assert parse(600) == timedelta(minutes=10)


def test_rule_errors_name_the_rules_line(tmp_path: Path) -> None:
    text = (
        '[alerts.rules]\nhigh_create_queue = { threshold = 200 }\nsync_down = { severity = "%s" }\n'
    )
    assert fails(tmp_path, text % "P5").startswith(
        "propsync.toml:3: alerts.rules.sync_down.severity:"
    )
    teams = '[alerts.rules]\n\nproperties_missing = { channels = ["email", "teams"] }\n'
    assert fails(tmp_path, teams).startswith(
        "propsync.toml:3: alerts.rules.properties_missing.channels.1:"
    )
    twice = '[alerts.rules]\nsync_down = { channels = ["pagerduty", "pagerduty"] }\n'
    assert "listed twice" in fails(tmp_path, twice)
    empty = "[alerts.rules]\nsync_down = { channels = [] }\n"
    assert fails(tmp_path, empty).startswith("propsync.toml:2: alerts.rules.sync_down.channels:")
    typo = "[alerts.rules]\nhigh_create_queue = { thresold = 10 }\n"
    assert "propsync.toml:2: alerts.rules.high_create_queue.thresold: unknown setting" in fails(
        tmp_path, typo
    )
    pct = '[alerts.rules.feature_mismatch_high]\nseverity = "P2"\nthreshold_pct = 101\n'
    assert fails(tmp_path, pct).startswith(
        "propsync.toml:3: alerts.rules.feature_mismatch_high.threshold_pct:"
    )
    unknown_rule = "[alerts.rules]\nqueue_too_big = { threshold = 1 }\n"
    assert "propsync.toml:2: alerts.rules.queue_too_big: unknown setting" in fails(
        tmp_path, unknown_rule
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/v2/enqueue",
        "http://localhost:9/x",
        "http://[::1]:9/x",
        "https://events.eu.pagerduty.com/v2/enqueue",
    ],
)
def test_events_url_https_or_loopback(tmp_path: Path, url: str) -> None:
    c = load(tmp_path, f'[alerts.channels.pagerduty]\nevents_url = "{url}"\n')
    assert c.alerts.channels.pagerduty.events_url == url


@pytest.mark.parametrize(
    "url", ["http://events.pagerduty.com/v2/enqueue", "http://10.0.0.5/x", "ftp://127.0.0.1/x"]
)
def test_events_url_plain_http_elsewhere_is_refused(tmp_path: Path, url: str) -> None:
    error = fails(tmp_path, f'[alerts.channels.pagerduty]\n\nevents_url = "{url}"\n')
    assert error.startswith("propsync.toml:3: alerts.channels.pagerduty.events_url: ")


def test_check_endpoint_url() -> None:
    assert config.check_endpoint_url("https://hooks.slack.com/services/T/B/x")
    with pytest.raises(ValueError, match="must be https"):
        config.check_endpoint_url("http://hooks.slack.com/services/T/B/x")


def test_email_settings(tmp_path: Path) -> None:
    login_in_clear = (
        '[alerts.channels.email]\nsmtp_host = "smtp.example.com"\n'
        'username_env = "U"\npassword_env = "P"\n'
    )
    assert "needs starttls" in fails(tmp_path, login_in_clear)
    ok = load(tmp_path, login_in_clear + "starttls = true\n")
    assert ok.alerts.channels.email.starttls
    loopback = load(
        tmp_path,
        '[alerts.channels.email]\nsmtp_host = "127.0.0.1"\n'
        'username_env = "U"\npassword_env = "P"\n',
    )
    assert loopback.alerts.channels.email.username_env == "U"
    half = '[alerts.channels.email]\nusername_env = "U"\n'
    assert "go together" in fails(tmp_path, half)
    secret = '[alerts.channels.email]\npassword = "hunter2"\n'
    assert "propsync.toml:2: alerts.channels.email.password: unknown setting" in fails(
        tmp_path, secret
    )
    port = "[alerts.channels.email]\nsmtp_port = 0\n"
    assert fails(tmp_path, port).startswith("propsync.toml:2: alerts.channels.email.smtp_port:")


def test_slack_webhook_is_never_in_the_file(tmp_path: Path) -> None:
    error = fails(tmp_path, '[alerts.channels.slack]\nwebhook_url = "https://hooks.slack.com/x"\n')
    assert "propsync.toml:2: alerts.channels.slack.webhook_url: unknown setting" in error


def test_dashboard(tmp_path: Path) -> None:
    c = load(tmp_path, '[dashboard]\nhost = "0.0.0.0"\nport = 9000\ntoken_env = "T"\n')
    assert (c.dashboard.host, c.dashboard.port, c.dashboard.token_env) == ("0.0.0.0", 9000, "T")
    assert fails(tmp_path, "[dashboard]\nport = 70000\n").startswith(
        "propsync.toml:2: dashboard.port:"
    )
    assert config.is_loopback("127.0.0.1") and config.is_loopback("::1")
    assert config.is_loopback("localhost") and not config.is_loopback("0.0.0.0")
