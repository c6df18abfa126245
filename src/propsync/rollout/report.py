"""Checklist reports as Markdown and as a self-contained HTML page (the pilot's and the
rollout's): a title, sections, checklist items and an optional Vega-Lite chart rendered
to inline SVG (vl-convert, offline).

    items = [Item("No duplicates", passed=True, measured=0, threshold="0 records")]
    report = Report("Pilot validation", [Section("Sync A", items)], chart=items_chart(items))
    md_path, html_path = report.write(ws.path("reports"), "pilot-p1-validation")

An item passes or fails; `offending` lists the records that make it fail (zero rows =
pass for the checks that return rows), `offending_total` how many there were when the
list is cut. Nothing here knows about pilots: the rollout reuses it as it is.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

MAX_ROWS_SHOWN = 50  # offending rows per item in a report


@dataclass(frozen=True)
class Item:
    """One checklist item: its name, whether it passed, what was measured against which
    threshold, and the offending rows."""

    name: str
    passed: bool
    measured: Any = None
    threshold: Any = None
    detail: str = ""
    offending: Sequence[Mapping[str, Any]] = ()
    offending_total: int | None = None  # all offending rows (when `offending` is cut)
    key: str = ""  # a stable identifier, e.g. "no_duplicates"

    @property
    def offending_count(self) -> int:
        return self.offending_total if self.offending_total is not None else len(self.offending)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "passed": self.passed,
            "measured": _plain(self.measured),
            "threshold": _plain(self.threshold),
            "detail": self.detail,
            "offending_count": self.offending_count,
            "offending": [{k: _plain(v) for k, v in r.items()} for r in self.offending],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Item:
        return cls(
            name=str(doc["name"]),
            passed=bool(doc["passed"]),
            measured=doc.get("measured"),
            threshold=doc.get("threshold"),
            detail=str(doc.get("detail") or ""),
            offending=list(doc.get("offending") or []),
            offending_total=doc.get("offending_count"),
            key=str(doc.get("key") or ""),
        )


@dataclass(frozen=True)
class Section:
    """A titled part of a report: a paragraph, checklist items, and/or a table."""

    title: str
    items: Sequence[Item] = ()
    text: str = ""
    table: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class Report:
    title: str
    sections: Sequence[Section]
    summary: str = ""
    chart: Mapping[str, Any] | None = None  # a Vega-Lite spec
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def items(self) -> list[Item]:
        return [i for s in self.sections for i in s.items]

    @property
    def passed(self) -> bool:
        return all(i.passed for i in self.items)

    def to_markdown(self) -> str:
        out = [f"# {self.title}", "", f"_Generated {self.generated_at:%Y-%m-%d %H:%M:%S} UTC_", ""]
        if self.summary:
            out += [self.summary, ""]
        for section in self.sections:
            out += [f"## {section.title}", ""]
            if section.text:
                out += [section.text, ""]
            if section.items:
                out += _md_table(
                    [
                        {
                            "result": "PASS" if i.passed else "FAIL",
                            "item": i.name,
                            "measured": _cell(i.measured),
                            "threshold": _cell(i.threshold),
                            "offending": i.offending_count,
                        }
                        for i in section.items
                    ]
                )
                out.append("")
                for item in section.items:
                    if item.detail or item.offending:
                        out += [f"### {'PASS' if item.passed else 'FAIL'}: {item.name}", ""]
                        if item.detail:
                            out += [item.detail, ""]
                        if item.offending:
                            out += _md_table(item.offending[:MAX_ROWS_SHOWN])
                            out += _cut_note(item)
                            out.append("")
            if section.table:
                out += [*_md_table(section.table), ""]
        return "\n".join(out).rstrip() + "\n"

    def to_html(self) -> str:
        parts = [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{_h(self.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{_h(self.title)}</h1>",
            f"<p class='when'>Generated {self.generated_at:%Y-%m-%d %H:%M:%S} UTC</p>",
        ]
        verdict = "passed" if self.passed else "failed"
        failed = sum(1 for i in self.items if not i.passed)
        parts.append(
            f"<p class='verdict {verdict}' id='verdict'>{len(self.items) - failed} of "
            f"{len(self.items)} items passed</p>"
        )
        if self.summary:
            parts.append(f"<p>{_h(self.summary)}</p>")
        if self.chart is not None:
            parts.append(f"<figure class='chart'>{chart_svg(self.chart)}</figure>")
        for section in self.sections:
            parts.append(f"<section><h2>{_h(section.title)}</h2>")
            if section.text:
                parts.append(f"<p>{_h(section.text)}</p>")
            for item in section.items:
                parts.append(_html_item(item))
            if section.table:
                parts.append(_html_table(section.table))
            parts.append("</section>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, folder: Path, stem: str) -> tuple[Path, Path]:
        """Write `<stem>.md` and `<stem>.html` into `folder`; return both paths."""
        folder.mkdir(parents=True, exist_ok=True)
        md, page = folder / f"{stem}.md", folder / f"{stem}.html"
        md.write_text(self.to_markdown(), encoding="utf-8")
        page.write_text(self.to_html(), encoding="utf-8")
        return md, page


def items_chart(items: Sequence[Item], title: str = "Offending records per item") -> dict[str, Any]:
    """A Vega-Lite bar chart: one bar per item, its length the offending records, green
    for passed and red for failed (a passed item shows as a zero-length bar with a mark)."""
    values = [
        {
            "item": i.name,
            "offending": i.offending_count,
            "result": "passed" if i.passed else "failed",
        }
        for i in items
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "width": 560,
        "data": {"values": values},
        "layer": [
            {
                "mark": {"type": "bar"},
                "encoding": {
                    "y": {
                        "field": "item",
                        "type": "nominal",
                        "sort": None,
                        "title": None,
                        "axis": {"labelLimit": 360},
                    },
                    "x": {"field": "offending", "type": "quantitative", "title": "records"},
                    "color": {
                        "field": "result",
                        "type": "nominal",
                        "scale": {"domain": ["passed", "failed"], "range": ["#2e7d32", "#c62828"]},
                    },
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 60},
                "encoding": {
                    "y": {"field": "item", "type": "nominal", "sort": None},
                    "x": {"field": "offending", "type": "quantitative"},
                    "color": {"field": "result", "type": "nominal"},
                },
            },
        ],
    }


def chart_svg(spec: Mapping[str, Any]) -> str:
    """A Vega-Lite spec as an inline SVG element (vl-convert: no browser, no network)."""
    import vl_convert as vlc  # the chart renderer (a bundled JS engine): on first use

    svg: str = vlc.vegalite_to_svg(dict(spec))
    return svg[svg.index("<svg") :] if "<svg" in svg else svg


# --- rendering helpers ------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    columns = list(dict.fromkeys(k for r in rows for k in r))
    out = ["| " + " | ".join(_md_escape(c) for c in columns) + " |"]
    out.append("| " + " | ".join("---" for _ in columns) + " |")
    for r in rows:
        out.append("| " + " | ".join(_md_escape(_cell(r.get(c))) for c in columns) + " |")
    return out


def _cut_note(item: Item) -> list[str]:
    shown = min(len(item.offending), MAX_ROWS_SHOWN)
    if item.offending_count > shown:
        return ["", f"_{shown} of {item.offending_count:,} offending records shown._"]
    return []


def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_table(rows: Sequence[Mapping[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{_h(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_h(_cell(r.get(c)))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_item(item: Item) -> str:
    state = "passed" if item.passed else "failed"
    facts = []
    if item.measured is not None:
        facts.append(f"measured <b>{_h(_cell(item.measured))}</b>")
    if item.threshold is not None:
        facts.append(f"threshold {_h(_cell(item.threshold))}")
    facts.append(f"{item.offending_count:,} offending")
    parts = [
        f"<div class='item {state}' data-item='{_h(item.key or item.name)}'>",
        f"<h3><span class='badge'>{'PASS' if item.passed else 'FAIL'}</span> {_h(item.name)}</h3>",
        f"<p class='facts'>{' &middot; '.join(facts)}</p>",
    ]
    if item.detail:
        parts.append(f"<p>{_h(item.detail)}</p>")
    if item.offending:
        parts.append(_html_table(item.offending[:MAX_ROWS_SHOWN]))
        note = _cut_note(item)
        if note:
            parts.append(f"<p class='note'>{_h(note[-1].strip('_'))}</p>")
    parts.append("</div>")
    return "\n".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a;max-width:1200px}
h1{margin-bottom:.2rem}.when{color:#666;margin-top:0}
.verdict{font-size:1.2rem;font-weight:600;padding:.5rem 1rem;border-radius:4px}
.verdict.passed{background:#e8f5e9;color:#1b5e20}.verdict.failed{background:#ffebee;color:#b71c1c}
.item{border-left:6px solid #999;padding:.3rem 1rem;margin:.8rem 0;background:#fafafa}
.item.passed{border-color:#2e7d32}.item.failed{border-color:#c62828;background:#fff5f5}
.item h3{margin:.3rem 0;font-size:1.05rem}
.badge{display:inline-block;min-width:3rem;text-align:center;border-radius:3px;color:#fff;
font-size:.8rem;padding:.1rem .3rem;margin-right:.4rem}
.passed .badge{background:#2e7d32}.failed .badge{background:#c62828}
.facts{color:#444;margin:.2rem 0}.note{color:#666;font-style:italic}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}th{background:#f0f0f0}
figure.chart{margin:1rem 0}
"""
