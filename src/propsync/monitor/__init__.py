"""Monitoring: the health check (`health`), the alert rules (`rules`), their incidents
and deliveries (`alerts`), alert messages and the channels that deliver them (Slack,
e-mail, PagerDuty), all plain functions returning dataclasses. The dashboard and the
scheduler join here."""
