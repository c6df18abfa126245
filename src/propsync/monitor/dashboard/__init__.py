"""The web dashboard: the plan's five widgets as charts and tables, run history with each
record's outcome, and the pilot's and rollout's reports. `data` holds the query
functions (plain data, every widget also a JSON endpoint); `pages` and `app` render."""

from __future__ import annotations

from propsync.monitor.dashboard.app import create_app, dashboard_token, serve
from propsync.monitor.dashboard.data import WIDGETS, Widget, widgets

__all__ = ["WIDGETS", "Widget", "create_app", "dashboard_token", "serve", "widgets"]
