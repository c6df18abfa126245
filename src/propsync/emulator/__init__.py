"""The local Salesforce org emulator: REST API, sObject Collections and Bulk API 2.0
over HTTPS, backed by SQLite. Start it with `Emulator.start(data_dir, ...)`."""

from __future__ import annotations

from propsync.emulator.harness import Emulator, EmulatorBusy, read_connection, reset_data

__all__ = ["Emulator", "EmulatorBusy", "read_connection", "reset_data"]
