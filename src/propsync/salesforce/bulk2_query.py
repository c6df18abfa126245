"""Bulk API 2.0 query jobs: create, wait, and read the result pages by locator."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from propsync.errors import TerminalSalesforceError
from propsync.salesforce.bulk2_jobs import BulkApi, wait_for_job

if TYPE_CHECKING:
    import pyarrow as pa


def query(
    client: BulkApi, soql: str, *, all_rows: bool = True, page_size: int = 100_000
) -> Iterator[pa.Table]:
    """Run a Bulk API 2.0 query job and yield its result pages (Sforce-Locator paging)
    as Arrow tables of strings; empty cells are null."""
    # heavy driver: imported on first use
    import pyarrow as pa
    import pyarrow.csv as pacsv

    body = {
        "operation": "queryAll" if all_rows else "query",
        "query": soql,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    submitted = time.monotonic()
    job = client.http("POST", "jobs/query/", json=body, what="create query job").json()
    info = wait_for_job(client, "query", job["id"], since=submitted)
    if info.get("state") != "JobComplete":
        raise TerminalSalesforceError(
            f"bulk query job {job['id']} ended {info.get('state')}: {info.get('errorMessage')}"
        )
    locator: str | None = None
    while True:
        params: dict[str, Any] = {"maxRecords": page_size}
        if locator:
            params["locator"] = locator
        response = client.http(
            "GET",
            f"jobs/query/{job['id']}/results",
            params=params,
            headers={"Accept": "text/csv"},
            what=f"results of query job {job['id']}",
        )
        content = response.content
        if content.strip():
            header = next(csv.reader(io.StringIO(content.split(b"\n", 1)[0].decode("utf-8"))))
            yield pacsv.read_csv(
                io.BytesIO(content),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(header, pa.string()),
                    strings_can_be_null=True,
                    null_values=[""],
                ),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
            )
        locator = response.headers.get("Sforce-Locator")
        if not locator or locator == "null":
            return
