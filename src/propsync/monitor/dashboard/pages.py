"""HTML of the dashboard pages, from the data functions' results. Everything is escaped;
the CSS is inline and the charts are inline SVG, so a page needs nothing from outside."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from propsync.monitor.dashboard import charts
from propsync.monitor.dashboard.data import Widget
from propsync.state import RunRecord
from propsync.sync.history import RunReport

CSS = """
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cfd8e3;text-decoration:none}header a:hover{color:#fff}
header h1{font-size:18px;margin:0 24px 0 0}
main{padding:16px 24px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(470px,1fr));gap:16px}
.card{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:12px 16px}
.card h2{font-size:15px;margin:0 0 8px}
.figures{display:flex;gap:18px;flex-wrap:wrap;margin:4px 0 8px}
.figure b{display:block;font-size:20px}.figure span{font-size:12px;color:#5b6576}
table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}
th,td{border-bottom:1px solid #e6e9ef;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.SUCCEEDED,.SUCCESS,.green{color:#2e8b57;font-weight:bold}
.PARTIAL,.yellow{color:#b7791f;font-weight:bold}
.FAILED,.ABORTED,.red{color:#c0392b;font-weight:bold}.RUNNING{color:#2b6cb0}
.note{color:#5b6576;font-size:12px}pre{white-space:pre-wrap;margin:0;font-size:12px}
"""
NAV = (("/", "Overview"), ("/runs", "Runs"), ("/reports", "Reports"))


def layout(title: str, body: str, *, workspace: str, refreshed: str) -> str:
    nav = "".join(f'<a href="{href}">{escape(label)}</a>' for href, label in NAV)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)} · propsync</title><style>{CSS}</style></head><body>"
        f"<header><h1>propsync</h1>{nav}"
        f'<span class=note style="margin-left:auto;color:#cfd8e3">{escape(workspace)}'
        f" · refreshed {escape(refreshed)}</span></header>"
        f"<main><h1 style='font-size:20px'>{escape(title)}</h1>{body}</main></body></html>"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"<td class=num>{escape(f'{value:,}')}</td>"
    return f"<td>{escape(str(value))}</td>"


def table(columns: Sequence[str], rows: Iterable[dict[str, Any]], *, links: str = "") -> str:
    """A table of rows; `links` names a column whose value links to /runs/<value>."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            if c == links and value is not None:
                href = f"/runs/{quote(str(value))}"
                cells.append(f'<td><a href="{href}">{escape(str(value))}</a></td>')
            elif c in ("status", "sync_status") and value is not None:
                cells.append(f'<td class="{escape(str(value))}">{escape(str(value))}</td>')
            else:
                cells.append(_cell(value) or "<td></td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def widget_card(widget: Widget, status: str | None = None) -> str:
    figures = "".join(
        f"<div class=figure><b>{escape(_figure(v))}</b><span>{escape(k.replace('_', ' '))}"
        "</span></div>"
        for k, v in widget.summary.items()
    )
    badge = f' <span class="{escape(status)}">● {escape(status)}</span>' if status else ""
    chart = charts.svg(widget.chart) if widget.chart and widget.rows else ""
    note = f"<p class=note>{escape(widget.note)}</p>" if widget.note else ""
    rows = table(widget.columns, widget.rows) if widget.rows else ""
    return (
        f'<section class=card id="{escape(widget.name)}" data-widget="{escape(widget.name)}">'
        f"<h2>{escape(widget.title)}{badge}</h2><div class=figures>{figures}</div>{note}"
        f"{chart}<details><summary class=note>rows</summary>{rows}</details>"
        f'<p class=note><a href="/api/widgets/{escape(widget.name)}">JSON</a></p></section>'
    )


def _figure(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    # The plan's status texts open with a coloured-circle emoji the page font lacks.
    return "".join(ch for ch in str(value) if ord(ch) <= 0xFFFF).strip()


RUN_COLUMNS = (
    "run_id", "sync", "status", "pilot", "dry_run", "started_at", "duration_s",
    "attempted", "succeeded", "failed", "api_calls", "error",
)  # fmt: skip


def runs_table(runs: Sequence[RunRecord]) -> str:
    rows = [{c: getattr(r, c) for c in RUN_COLUMNS} for r in runs]
    for row in rows:
        row["started_at"] = str(row["started_at"])[:19]
        if isinstance(row["duration_s"], float):
            row["duration_s"] = round(row["duration_s"], 1)
    return table(RUN_COLUMNS, rows, links="run_id")


def overview(
    widgets: Sequence[Widget], runs: Sequence[RunRecord], statuses: Mapping[str, str]
) -> str:
    cards = "".join(widget_card(w, statuses.get(w.name)) for w in widgets)
    return (
        f"<div class=grid>{cards}</div>"
        f"<h2 style='font-size:16px'>Recent runs</h2>{runs_table(runs)}"
    )


RECORD_COLUMNS = (
    "sync_operation", "sync_status", "rds_property_id", "salesforce_id", "attempt",
    "error_code", "error_message", "fields_written", "before", "after",
)  # fmt: skip


def run_page(report: RunReport) -> str:
    run = report.run
    head = runs_table([run])
    summary = table(
        ("sync_operation", "sync_status", "error_code", "records", "created"),
        [s.to_json() for s in report.summary],
    )
    rows = []
    for r in report.records:
        rows.append(
            {
                "sync_operation": r.sync_operation,
                "sync_status": r.sync_status,
                "rds_property_id": r.snappt_property_id_c or r.rds_property_id,
                "salesforce_id": r.salesforce_id,
                "attempt": r.attempt,
                "error_code": r.error_code,
                "error_message": r.error_message,
                "fields_written": ", ".join(r.fields_written or []),
                "before": _json(r.before_values),
                "after": _json(r.after_values),
            }
        )
    records = table(RECORD_COLUMNS, rows)
    return (
        f"{head}<h2 style='font-size:16px'>Outcomes</h2>{summary}"
        f"<h2 style='font-size:16px'>Records ({len(rows):,} listed, failures first)</h2>"
        f"<div data-records>{records}</div>"
    )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def reports_page(names: Sequence[str]) -> str:
    if not names:
        return "<p class=note>No reports yet: `propsync pilot validate` and `propsync rollout validate` write them.</p>"  # noqa: E501
    items = "".join(f'<li><a href="/reports/{quote(n)}">{escape(n)}</a></li>' for n in names)
    return f"<ul>{items}</ul>"
