"""Monitoring: alert messages and the channels that deliver them (Slack, e-mail,
PagerDuty). Health, rules, incidents, the dashboard and the scheduler join here."""
