"""One root error, with Transient and Terminal markers that decide retries.

Errors from drivers and HTTP are converted where they are met; everything that
leaves the library is a PropsyncError. `exit_code` is what the CLI returns.
"""

from __future__ import annotations


class PropsyncError(Exception):
    """Root of every error propsync raises on purpose. An error that ended a recorded
    run carries the run's id and final status (set by the run's lifecycle)."""

    exit_code = 2
    run_id: str | None = None
    run_status: str | None = None


class Transient:
    """Marker: the same call may succeed if retried (lock, 5xx, timeout, expired session)."""


class Terminal:
    """Marker: retrying the same call will fail the same way."""


# The exit code of an error that is not a PropsyncError (a bug): EX_SOFTWARE.
INTERNAL_EXIT_CODE = 70


class UsageError(PropsyncError, Terminal):
    """The command was called wrongly."""

    exit_code = 64


class ConfigError(PropsyncError, Terminal):
    """propsync.toml (or the environment it names) is wrong or incomplete."""

    exit_code = 78


class SourceError(PropsyncError):
    """Reading the product database failed."""


class EngineError(PropsyncError, Terminal):
    """A SQL statement failed in the engine."""


class StateError(PropsyncError, Terminal):
    """The state store is unreachable or inconsistent."""


class SalesforceError(PropsyncError):
    """A Salesforce call failed; `code` is Salesforce's errorCode when it sent one."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class TransientSalesforceError(SalesforceError, Transient):
    """Retry with backoff: 5xx, timeouts, row locks, an expired session."""


class TerminalSalesforceError(SalesforceError, Terminal):
    """Do not retry: bad request, bad field, no access."""


class SessionExpired(TransientSalesforceError):
    """The access token is no longer valid; refresh it and retry."""


class QuotaExhausted(TerminalSalesforceError):
    """The org's daily API request quota is spent; stop the run cleanly."""


class BulkJobDeadline(TerminalSalesforceError):
    """A Bulk API job was still unfinished past `[sync] bulk_job_timeout_s`; it was
    aborted on Salesforce (`aborted`), so stop the run (ABORTED). Records the job did
    process before the abort stay written: the job's results say which."""

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        kind: str,
        waited_s: float,
        timeout_s: float,
        state: str | None,
        aborted: bool,
    ) -> None:
        super().__init__(message, code="BULK_JOB_DEADLINE")
        self.job_id = job_id
        self.kind = kind  # "ingest" | "query"
        self.waited_s = waited_s
        self.timeout_s = timeout_s
        self.state = state  # the job's state at the last poll
        self.aborted = aborted  # False: Salesforce refused the abort (it had just ended)


class LockHeld(PropsyncError, Terminal):
    """Another run of the same sync holds the lock."""


class GuardrailTripped(PropsyncError, Terminal):
    """The run would change more than the configured share of records."""


class ValidationFailed(PropsyncError, Terminal):
    """A validation gate found offending rows."""

    exit_code = 1


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, Transient)
