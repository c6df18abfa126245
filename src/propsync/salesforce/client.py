"""`SalesforceClient`: simple-salesforce for auth and REST, our Bulk API 2.0 layer for
volume, one retry policy for both, and API usage tracked from every response.

    with connect(config.salesforce, root, sync=config.sync) as sf:
        for row in sf.query_all("SELECT Id, Name FROM product_property__c"): ...
        results = sf.collections("upsert", rows, external_id="snappt_property_id__c")
        outcome = sf.bulk_ingest("update", rows, columns=["Id", "IDV_Enabled__c"])

Write semantics shared by collections and Bulk API: a value of None leaves the field
as it is; `CLEAR` empties it (`#N/A` in a Bulk CSV, JSON null in a collection).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests

from propsync.errors import (
    SalesforceError,
    SessionExpired,
    TerminalSalesforceError,
    TransientSalesforceError,
    UsageError,
)
from propsync.fields import EXTERNAL_ID, OBJECT
from propsync.salesforce import bulk2, bulk2_query
from propsync.salesforce.bulk2 import BulkResult
from propsync.salesforce.errors import (
    RecordResult,
    error_items,
    parse_error_body,
    redact,
    register_secret,
    request_error,
)
from propsync.salesforce.values import CLEAR, json_value

if TYPE_CHECKING:
    import pyarrow as pa

    from propsync.salesforce.auth import Login

__all__ = ["CLEAR", "ApiUsage", "BulkResult", "RecordResult", "SalesforceClient"]

log = logging.getLogger(__name__)
T = TypeVar("T")
WriteOp = Literal["insert", "update", "upsert", "delete"]
COLLECTION_LIMIT = 200  # records per sObject Collections call (Salesforce's limit)


@dataclass(frozen=True)
class ApiUsage:
    """Daily API requests as the org last reported them (`Sforce-Limit-Info`), and the
    calls this client made (every HTTP request to the org except token requests)."""

    used: int | None
    limit: int | None
    calls_by_this_client: int

    @property
    def remaining(self) -> int | None:
        if self.used is None or self.limit is None:
            return None
        return max(self.limit - self.used, 0)


class SalesforceClient:
    """A session with one org. Build it with `connect.connect(config, root)` or directly."""

    def __init__(
        self,
        *,
        instance_url: str,
        access_token: str,
        login: Login | None,
        session: requests.Session,
        api_version: str = "62.0",
        object_name: str = OBJECT,
        external_id: str = EXTERNAL_ID,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 10.0,
        bulk_job_timeout_s: float = 3600.0,
        max_request_attempts: int = 5,
        backoff_base_s: float = 0.5,
        bulk_query_threshold: int = 50_000,
        poll_interval_s: float = 0.1,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.session = session
        self.api_version = api_version.removeprefix("v")
        self.object_name = object_name
        self.external_id = external_id
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.bulk_job_timeout_s = bulk_job_timeout_s
        self.max_request_attempts = max_request_attempts
        self.backoff_base_s = backoff_base_s
        self.bulk_query_threshold = bulk_query_threshold
        self.poll_interval_s = poll_interval_s
        self._login = login
        self._on_close = on_close
        # Sent with every request of our own layer (Bulk API, describe, collections).
        self.extra_headers: dict[str, str] = {}
        # The local emulator's admin token (set by connect() for `kind = "emulator"`):
        # what load.py sends beside its X-Emulator-Knobs header. None for a real org.
        self.emulator_admin_token: str | None = None
        self._describe: dict[str, Any] | None = None
        self._calls = 0
        self._used: int | None = None
        self._limit: int | None = None
        self.session.hooks["response"].append(self._count_response)
        self._set_session(access_token, instance_url)

    # --- session ---------------------------------------------------------------------

    def _set_session(self, token: str, instance_url: str) -> None:
        from simple_salesforce import Salesforce  # heavy driver: imported on first use

        register_secret(token)
        self.instance_url = instance_url.rstrip("/")
        self._token = token
        self.sf = Salesforce(
            session_id=token,
            instance_url=self.instance_url,
            version=self.api_version,
            session=self.session,
        )
        self.base_url = f"{self.instance_url}/services/data/v{self.api_version}/"

    def refresh_session(self) -> None:
        """Get a new access token from the same login (after INVALID_SESSION_ID)."""
        if self._login is None:
            raise TerminalSalesforceError(
                "the Salesforce session expired and auth = 'session' cannot refresh it; "
                "provide a new session id",
                code="INVALID_SESSION_ID",
                status=401,
            )
        log.info("refreshing the Salesforce session")
        token, instance_url = self._login()
        self._set_session(token, instance_url)

    def _count_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if "/services/oauth2/" not in response.url:
            self._calls += 1
        info = response.headers.get("Sforce-Limit-Info", "")
        for part in info.split(","):
            name, _, value = part.strip().partition("=")
            if name == "api-usage" and "/" in value:
                used, limit = value.split("/", 1)
                if used.isdigit() and limit.isdigit():
                    self._used, self._limit = int(used), int(limit)

    @property
    def api_usage(self) -> ApiUsage:
        return ApiUsage(self._used, self._limit, self._calls)

    @property
    def calls(self) -> int:
        """HTTP calls this client made to the org so far."""
        return self._calls

    @property
    def timeouts(self) -> tuple[float, float]:
        """(connect, read) timeout of every request, as requests takes them."""
        return self.connect_timeout_s, self.timeout_s

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        h.update(self.extra_headers)
        if extra:
            h.update(extra)
        return h

    # --- one retry policy ------------------------------------------------------------

    def call(self, what: str, fn: Callable[[], T], *, idempotent: bool = True) -> T:
        """Run one API request with the client's retry policy.

        Transient failures (5xx, timeouts, connection resets, locks) are retried with
        exponential backoff and jitter, at most `max_request_attempts` times in all; an
        expired session is refreshed and the request repeated. A request that is not
        idempotent (an insert) is repeated only when Salesforce cannot have acted on it
        (503, a refused connection, an expired session)."""
        # heavy driver: imported on first use
        from simple_salesforce.exceptions import SalesforceError as SSError

        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except SSError as exc:
                code, message = parse_error_body(exc.content)
                err: SalesforceError = request_error(exc.status, code, message, what=what)
            except requests.RequestException as exc:
                err = self._network_error(what, exc, idempotent=idempotent)
            except SalesforceError as exc:
                err = exc
            if isinstance(err, SessionExpired):
                if attempt >= self.max_request_attempts:
                    raise err
                self.refresh_session()
                continue
            retryable = isinstance(err, TransientSalesforceError) and (
                idempotent or err.status == 503 or err.status is None
            )
            if not retryable:
                raise err
            if attempt >= self.max_request_attempts:
                if err.status is None:
                    # A network failure: say that it was not a single one.
                    raise type(err)(
                        f"{err} (gave up after {attempt} attempts)", code=err.code
                    ) from None
                raise err
            delay = self.backoff_base_s * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
            log.warning("%s failed (%s); retry %d in %.2fs", what, err, attempt, delay)
            time.sleep(delay)

    def _network_error(
        self, what: str, exc: requests.RequestException, *, idempotent: bool
    ) -> SalesforceError:
        """A failed request that got no HTTP answer, as the retry table sees it."""
        where = f"{what} at {urlsplit(self.instance_url).netloc}"
        if isinstance(exc, requests.ConnectTimeout):
            return TransientSalesforceError(
                redact(f"{where}: connect timeout ({self.connect_timeout_s:g}s): {exc}")
            )
        if isinstance(exc, requests.ConnectionError):
            if not idempotent and not _refused(exc):
                return TerminalSalesforceError(
                    redact(f"{where}: connection lost mid-request, outcome unknown: {exc}")
                )
            return TransientSalesforceError(redact(f"{where}: connection failed: {exc}"))
        if isinstance(exc, requests.Timeout):
            # No answer within timeout_s (the read timeout of each request).
            if not idempotent:
                return TerminalSalesforceError(
                    redact(f"{where}: timed out ({self.timeout_s:g}s), outcome unknown: {exc}")
                )
            return TransientSalesforceError(
                redact(f"{where}: timed out ({self.timeout_s:g}s): {exc}")
            )
        # e.g. a connection reset while reading the body (ChunkedEncodingError)
        kind = TransientSalesforceError if idempotent else TerminalSalesforceError
        return kind(redact(f"{where}: {type(exc).__name__}: {exc}"))

    def http(
        self,
        method: str,
        path: str,
        *,
        what: str,
        idempotent: bool = True,
        ok: tuple[int, ...] = (200, 201, 204),
        **kwargs: Any,
    ) -> requests.Response:
        """One raw request to `<instance>/services/data/vXX.X/<path>` (or a full
        `/services/...` path) under the retry policy; errors mapped by the one table."""
        url = self.instance_url + path if path.startswith("/") else self.base_url + path
        extra = kwargs.pop("headers", None)

        def send() -> requests.Response:
            response = self.session.request(
                method, url, headers=self.headers(extra), timeout=self.timeouts, **kwargs
            )
            if response.status_code not in ok:
                try:
                    body: Any = response.json()
                except ValueError:
                    body = response.text
                code, message = parse_error_body(body)
                raise request_error(response.status_code, code, message, what=what)
            return response

        return self.call(what, send, idempotent=idempotent)

    # --- REST ------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The object's describe (fields, types, lengths); fetched once per client."""
        if self._describe is None:
            path = f"sobjects/{self.object_name}/describe/"
            self._describe = self.http("GET", path, what=f"describe {self.object_name}").json()
        return self._describe

    def limits(self) -> dict[str, Any]:
        """The org's limits (`/limits/`): DailyApiRequests, DailyBulkV2QueryJobs, ..."""
        result: dict[str, Any] = self.call("limits", lambda: self.sf.limits(timeout=self.timeouts))
        return result

    def query_pages(
        self, soql: str, *, include_deleted: bool = True
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """(totalSize, records) per page of a REST query; queryAll when include_deleted."""
        page = self.call(
            "query",
            lambda: self.sf.query(soql, include_deleted=include_deleted, timeout=self.timeouts),
        )
        while True:
            records = [_strip(r) for r in page["records"]]
            yield int(page["totalSize"]), records
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            url: str = page["nextRecordsUrl"]

            def more(u: str = url) -> Any:
                return self.sf.query_more(u, identifier_is_url=True, timeout=self.timeouts)

            page = self.call("query more", more)

    def query_all(self, soql: str, *, include_deleted: bool = True) -> Iterator[dict[str, Any]]:
        """Every record of a SOQL query (queryAll, so deleted rows too, unless asked not),
        following nextRecordsUrl page by page."""
        for _total, records in self.query_pages(soql, include_deleted=include_deleted):
            yield from records

    def bulk_query(
        self, soql: str, *, all_rows: bool = True, page_size: int = 100_000
    ) -> Iterator[pa.Table]:
        """A Bulk API 2.0 query job (queryAll when all_rows); yields one Arrow table of
        string columns per result page (empty cells are null)."""
        return bulk2_query.query(self, soql, all_rows=all_rows, page_size=page_size)

    # --- writes ----------------------------------------------------------------------

    def collections(
        self,
        op: WriteOp,
        records: list[dict[str, Any]],
        *,
        external_id: str | None = None,
        all_or_none: bool = False,
    ) -> list[RecordResult]:
        """Write records with sObject Collections, 200 per call; one result per input
        record, in input order. Insert/upsert results are keyed by the external id
        (`external_id`, default the config's), update/delete results by Id."""
        ext = external_id or self.external_id
        key_field = ext if op in ("insert", "upsert") else "Id"
        results: list[RecordResult] = []
        for start in range(0, len(records), COLLECTION_LIMIT):
            chunk = records[start : start + COLLECTION_LIMIT]
            keys = [_key(r, key_field, start + i) for i, r in enumerate(chunk)]
            if op == "delete":
                ids = ",".join(keys)
                response = self.http(
                    "DELETE",
                    "composite/sobjects",
                    params={"ids": ids, "allOrNone": str(all_or_none).lower()},
                    what=f"delete {len(chunk)} records",
                )
            else:
                body = {
                    "allOrNone": all_or_none,
                    "records": [_json_record(self.object_name, r) for r in chunk],
                }
                if op == "insert":
                    method, path, idem = "POST", "composite/sobjects", False
                elif op == "update":
                    method, path, idem = "PATCH", "composite/sobjects", True
                elif op == "upsert":
                    method, path, idem = (
                        "PATCH",
                        f"composite/sobjects/{self.object_name}/{ext}",
                        True,
                    )
                else:
                    raise UsageError(f"unknown write operation {op!r}")
                response = self.http(
                    method, path, json=body, idempotent=idem, what=f"{op} {len(chunk)} records"
                )
            rows = response.json()
            if len(rows) != len(chunk):
                raise TerminalSalesforceError(
                    f"{op}: Salesforce returned {len(rows)} results for {len(chunk)} records"
                )
            for key, row in zip(keys, rows, strict=True):
                results.append(
                    RecordResult(
                        key=key,
                        success=bool(row.get("success")),
                        created=row.get("created"),
                        id=row.get("id"),
                        errors=error_items(row.get("errors")),
                    )
                )
        return results

    def bulk_ingest(
        self,
        op: Literal["insert", "update", "upsert", "delete", "hardDelete"],
        records: Iterable[dict[str, Any]] | pa.Table,
        *,
        columns: list[str],
        external_id: str | None = None,
        key: str | None = None,
        max_job_bytes: int = bulk2.MAX_JOB_BYTES,
        on_job: bulk2.OnJob | None = None,
    ) -> BulkResult:
        """Write records with Bulk API 2.0 ingest jobs (one job, or several when the CSV
        passes Salesforce's per-job size limit). `columns` fixes the CSV column order;
        results are mapped back to input rows by `key` (default: the external id for
        insert/upsert, Id for update/delete) because Salesforce does not keep order."""
        return bulk2.ingest(
            self,
            op,
            records,
            columns=columns,
            external_id=external_id,
            key=key,
            max_job_bytes=max_job_bytes,
            on_job=on_job,
        )

    # --- lifetime --------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session, and stop an emulator this client started."""
        self.session.close()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()

    def __enter__(self) -> SalesforceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _refused(exc: Exception) -> bool:
    # A refused connection never reached the server, so even an insert is safe to repeat.
    text = repr(exc)
    return "Connection refused" in text or "NewConnectionError" in text


def _strip(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def _key(record: dict[str, Any], field: str, index: int) -> str:
    value = record.get(field)
    if value is None or value is CLEAR or value == "":
        raise UsageError(f"record {index}: field {field} is required to identify the record")
    return str(value)


def _json_record(object_name: str, record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": {"type": object_name}}
    for name, value in record.items():
        if value is None:
            continue  # None leaves the field as it is
        out[name] = None if value is CLEAR else json_value(value)
    return out
