"""The local Salesforce org emulator: REST API, sObject Collections and Bulk API 2.0
over HTTPS, backed by SQLite. Start it with `Emulator.start(data_dir, ...)`."""

from __future__ import annotations

from propsync.salesforce.emulator.harness import Emulator, read_connection

__all__ = ["Emulator", "read_connection"]
