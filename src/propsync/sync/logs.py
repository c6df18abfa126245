"""The run id in every log line written while a run is active.

A filter on the root logger's handlers prefixes each record (from any logger: the
sync, the Salesforce client, the engine) with `[run N]` and sets `record.run_id`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class RunIdFilter(logging.Filter):
    def __init__(self, run_id: int | str) -> None:
        super().__init__()
        self.run_id = run_id

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "run_id"):
            record.run_id = self.run_id
            record.msg = f"[run {self.run_id}] {record.msg}"
        return True


@contextlib.contextmanager
def run_logging(run_id: int | str) -> Iterator[None]:
    """Tag every log line with the run id while the block runs."""
    flt = RunIdFilter(run_id)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(flt)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(flt)
