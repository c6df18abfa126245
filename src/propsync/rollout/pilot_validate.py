"""`propsync pilot validate`: Step 4.4's checklist over the pilot's latest attempt (the
runs of the pilot started after its latest pre-flight), saved (`pilot_validations`) and
written as Markdown and HTML reports under <workspace>/reports/.

The evidence is gathered once: the engine is refreshed (so the views hold the expected
values and Salesforce's values as they are now), the pilot's records are read from
Salesforce by external id, and every record the audit log says the pilot wrote is read
back by Id. Each check (`pilot_checks`) returns its offending rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propsync.errors import UsageError
from propsync.fields import ENGINE_TABLE
from propsync.rollout.pilot_checks import CHECKS, Evidence, engine_duplicates
from propsync.rollout.pilot_run import members_of
from propsync.rollout.report import Item, Report, Section, items_chart
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.extract import soql
from propsync.state import RunRecord, Validation, new_run_id
from propsync.sync.lifecycle import Progress
from propsync.sync.prepare import integration_user
from propsync.sync.refresh import refresh
from propsync.workspace import Workspace

SOQL_IN_CHUNK = 200  # values per IN (...) list of a read-back query
_SAFE = re.compile(r"^[A-Za-z0-9 _.-]{1,40}$")
RUNS_SCANNED = 500


@dataclass
class ValidationResult:
    """A saved validation with its items and report paths."""

    validation: Validation
    items: list[Item]
    report: Report
    markdown: Path
    html: Path

    @property
    def passed(self) -> bool:
        return self.validation.passed

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def to_json(self) -> dict[str, Any]:
        v = self.validation
        return {
            "validation_id": v.validation_id,
            "pilot_name": v.pilot_name,
            "passed": v.passed,
            "failed_items": v.failed_items,
            "exit_code": self.exit_code,
            "run_ids": v.run_ids,
            "report_markdown": str(self.markdown),
            "report_html": str(self.html),
            "items": [i.to_json() for i in self.items],
        }


def pilot_runs(ws: Workspace, name: str, since: dt.datetime) -> list[RunRecord]:
    """The pilot's Sync A / Sync B runs started at or after `since`, oldest first."""
    runs = [
        r
        for r in ws.state().runs.recent(RUNS_SCANNED)
        if r.pilot == name and not r.dry_run and r.sync in ("create", "update", "all")
        and r.started_at >= since
    ]  # fmt: skip
    return sorted(runs, key=lambda r: r.started_at)


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), SOQL_IN_CHUNK):
        yield list(values[start : start + SOQL_IN_CHUNK])


def _quoted(values: list[str], what: str) -> str:
    for v in values:
        if not _SAFE.match(v):
            raise UsageError(f"{what} {v!r} cannot be used in a SOQL query")
    return ", ".join(f"'{v}'" for v in values)


def read_records(
    client: SalesforceClient, field: str, values: Sequence[str]
) -> list[dict[str, Any]]:
    """Live records whose `field` (Id or the external id) is one of `values`, every
    field of the contract, straight from Salesforce."""
    out: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(set(values))):
        query = f"{soql(client.object_name)} WHERE {field} IN ({_quoted(chunk, field)})"
        out.extend(client.query_all(query, include_deleted=False))
    return out


def gather(ws: Workspace, name: str, progress: Progress | None = None) -> Evidence:
    """Refresh, then collect what every check reads."""
    members = members_of(ws, name)
    repo = ws.state().pilot_validations
    preflight = repo.latest_preflight(name)
    if preflight is not None and preflight.selection_id != members[0].selection_id:
        preflight = None  # the pilot was selected again since: its runs judge nothing here
    runs = pilot_runs(ws, name, preflight.checked_at) if preflight else []
    audit = [a for r in runs for a in ws.state().audit.entries(r.run_id)]
    baseline = repo.baseline(preflight.preflight_id) if preflight else []
    client = ws.client()
    refresh(ws, client, progress)
    engine = ws.engine()
    keys = sorted({m.key for m in members if m.key is not None})
    marks = ", ".join("?" for _ in keys)
    update_rows = {
        str(r["snappt_property_id_c"]): r
        for r in engine.dicts(
            f"SELECT * FROM properties_to_update WHERE snappt_property_id_c IN ({marks})", keys
        )
    }
    live: dict[str, list[dict[str, Any]]] = {}
    for rec in read_records(client, "snappt_property_id__c", keys):
        live.setdefault(str(rec["snappt_property_id__c"]), []).append(rec)
    written = [a.salesforce_id for a in audit if a.sync_status == "SUCCESS" and a.salesforce_id]
    read_back = {str(r["Id"]): r for r in read_records(client, "Id", written)}
    user = integration_user(ws)
    outside: list[dict[str, Any]] = []
    if user is not None and preflight is not None:
        ids = sorted(set(written))
        outside = engine.dicts(
            f'SELECT id AS "Id", snappt_property_id_c, last_modified_date, is_deleted'
            f" FROM {ENGINE_TABLE} WHERE last_modified_by_id = ? AND last_modified_date >= ?"
            f" AND COALESCE(snappt_property_id_c, '') NOT IN ({marks})"
            f" AND id NOT IN ({', '.join('?' for _ in ids) or 'NULL'})"
            " ORDER BY last_modified_date",
            [user, preflight.checked_at, *keys, *ids],
        )
    duplicates, duplicates_before = engine_duplicates(
        engine, keys, preflight.checked_at if preflight else None
    )
    return Evidence(
        name=name,
        members=members,
        preflight=preflight,
        runs=runs,
        audit=audit,
        baseline=baseline,
        update_rows=update_rows,
        live=live,
        read_back=read_back,
        outside=outside,
        integration_user=user,
        duplicates=duplicates,
        duplicates_before=duplicates_before,
        now=dt.datetime.now(dt.UTC),
        workflow_window=ws.config.rollout.workflow_window,
        max_duration=ws.config.rollout.pilot_max_duration,
    )


def build_report(ev: Evidence, sections: dict[str, list[Item]]) -> Report:
    items = [i for s in sections.values() for i in s]
    failed = sum(1 for i in items if not i.passed)
    strata: dict[tuple[str, str], int] = {}
    for m in ev.members:
        strata[(m.queue, m.pilot_reason or "")] = strata.get((m.queue, m.pilot_reason or ""), 0) + 1
    summary = f"{len(items) - failed} of {len(items)} checklist items passed." + (
        " The pilot may be signed off." if not failed else " Do not proceed to Phase 5."
    )
    return Report(
        title=f"Pilot {ev.name}: validation (Step 4.4)",
        summary=summary,
        chart=items_chart(items, "Offending records per checklist item"),
        sections=[
            *[Section(title, items) for title, items in sections.items()],
            Section(
                "Runs judged",
                text="The pilot's runs since its latest pre-flight"
                + (f" ({ev.preflight.checked_at:%Y-%m-%d %H:%M:%S} UTC)." if ev.preflight else "."),
                table=[
                    {
                        "run_id": r.run_id,
                        "sync": r.sync,
                        "status": r.status,
                        "attempted": r.attempted,
                        "failed": r.failed,
                        "duration_s": r.duration_s,
                    }
                    for r in ev.runs
                ],
            ),
            Section(
                "Pilot set",
                table=[
                    {"queue": q, "stratum": s, "members": n} for (q, s), n in sorted(strata.items())
                ],
            ),
        ],
    )


def validate(ws: Workspace, name: str, *, progress: Progress | None = None) -> ValidationResult:
    """Run the checklist, write the reports, save the validation."""
    ev = gather(ws, name, progress)
    sections = {title: [check(ev) for check in checks] for title, checks in CHECKS.items()}
    report = build_report(ev, sections)
    vid = new_run_id()
    md, page = report.write(ws.path("reports"), f"pilot-{name}-validation-{vid}")
    items = report.items
    validation = ws.state().pilot_validations.record_validation(
        name,
        ev.members[0].selection_id,
        preflight_id=ev.preflight.preflight_id if ev.preflight else None,
        items=[i.to_json() for i in items],
        run_ids=[r.run_id for r in ev.runs],
        report_markdown=str(md),
        report_html=str(page),
        validation_id=vid,
    )
    return ValidationResult(validation, items, report, md, page)
