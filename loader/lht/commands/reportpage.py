"""The page of ``lht report``: charts (plotly) and tables (Jinja2, escaped) in one HTML file.

plotly.js ships inside the ``plotly`` wheel (``plotly.offline.get_plotlyjs()``) and is
written into the page once, inline, so the page draws its charts with no network at all.
Charts: rows staged and seconds per sync run and object; API calls per day against the
org's daily limit; push and merge outcomes per run and model; hours since each object's
last successful sync against the freshness thresholds. Tables: the last failures with
their messages, the last runs. A chart with nothing to show is replaced by a sentence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment

from lht.commands.history import OK, one_line, utc_day
from lht.commands.report import ReportData

#: Failures listed in the table.
FAILURES_SHOWN = 25
RUNS_SHOWN = 25
_GREEN, _YELLOW, _RED, _GREY = "#2e7d32", "#f9a825", "#c62828", "#9e9e9e"


@dataclass
class Chart:
    """One chart of the page: its title, and its plotly div or why there is none."""

    title: str
    html: str | None = None
    empty: str | None = None


def _div(fig: Any, div_id: str) -> str:
    fig.update_layout(
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        height=360,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _per_object(rows: Iterable[dict[str, Any]], command: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``command`` per object or model, oldest first."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["command"] == command and row["object_name"] is not None:
            found[row["object_name"]].append(row)
    return {
        name: sorted(items, key=lambda r: r["started_at"]) for name, items in sorted(found.items())
    }


def sync_charts(rows: list[dict[str, Any]]) -> list[Chart]:
    """Rows staged, and seconds, per sync run and object."""
    import plotly.graph_objects as go

    objects = _per_object(rows, "sync")
    charts = []
    for div_id, title, key in (
        ("lht-sync-rows", "Rows staged per sync run", "rows_written"),
        ("lht-sync-seconds", "Seconds per sync run", "seconds"),
    ):
        if not objects:
            charts.append(Chart(title, empty="No sync run in this period."))
            continue
        fig = go.Figure()
        for name, items in objects.items():
            fig.add_trace(
                go.Scatter(
                    x=[_when(r["started_at"]) for r in items],
                    y=[r[key] or 0 for r in items],
                    name=name,
                    mode="lines+markers",
                    customdata=[
                        [r["outcome"], r["mode"] or "-", r["engine"] or "-"] for r in items
                    ],
                    hovertemplate=f"{name}<br>%{{x}}<br>%{{y:,}}<br>%{{customdata[0]}}, %{{customdata[1]}}, "
                    "%{customdata[2]}<extra></extra>",
                )
            )
        fig.update_yaxes(
            title_text="rows" if key == "rows_written" else "seconds", rangemode="tozero"
        )
        charts.append(Chart(title, _div(fig, div_id)))
    return charts


def api_days(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per UTC day (of the runs' ends): lht's API calls, the org's peak usage seen and its
    daily limit: what the dbt model ``lht_api_usage`` holds."""
    days: dict[Any, dict[str, Any]] = {}
    for row in rows:
        day = days.setdefault(
            utc_day(row["finished_at"]),
            {"lht_api_calls": 0, "peak_used": None, "daily_limit": None},
        )
        day["lht_api_calls"] += int(row["api_calls"] or 0)
        for key, column in (("peak_used", "api_usage_used"), ("daily_limit", "api_usage_limit")):
            if row[column] is not None:
                day[key] = max(day[key] or 0, int(row[column]))
    return [{"usage_date": day.isoformat(), **values} for day, values in sorted(days.items())]


def api_chart(rows: list[dict[str, Any]]) -> Chart:
    """lht's API calls per day, the org's peak usage seen that day and its daily limit."""
    import plotly.graph_objects as go

    title = "API calls per day against the org's daily limit"
    days = api_days(rows)
    if not days:
        return Chart(title, empty="No run in this period.")
    x = [d["usage_date"] for d in days]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=x,
            y=[d["lht_api_calls"] for d in days],
            name="calls made by lht",
            marker_color="#1565c0",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[d["peak_used"] for d in days],
            name="org's usage (peak seen)",
            mode="lines+markers",
            line={"color": "#ef6c00"},
            connectgaps=True,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[d["daily_limit"] for d in days],
            name="org's daily limit",
            mode="lines+markers",
            line={"color": _RED, "dash": "dash"},
            connectgaps=True,
        )
    )
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text="API requests", rangemode="tozero")
    return Chart(title, _div(fig, "lht-api-usage"))


def writeback_chart(rows: list[dict[str, Any]]) -> Chart:
    """Per push and merge run and model: rows accepted (merged), failed, already merged."""
    import plotly.graph_objects as go

    title = "Push and merge outcomes per run"
    items = sorted(
        (r for r in rows if r["command"] in ("push", "merge") and r["object_name"] is not None),
        key=lambda r: (r["started_at"], r["object_name"]),
    )
    if not items:
        return Chart(title, empty="No push or merge run in this period.")
    x = [f"{_when(r['started_at'])} {r['command']} {r['object_name']}" for r in items]
    fig = go.Figure()
    for name, colour, values in (
        ("accepted / merged", _GREEN, [r["rows_written"] or 0 for r in items]),
        ("failed", _RED, [r["rows_failed"] or 0 for r in items]),
        ("already merged", _GREY, [r["rows_already_merged"] or 0 for r in items]),
    ):
        fig.add_trace(
            go.Bar(
                x=x,
                y=values,
                name=name,
                marker_color=colour,
                customdata=[[r["outcome"]] for r in items],
                hovertemplate=f"%{{x}}<br>{name}: %{{y:,}}<br>outcome %{{customdata[0]}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category", tickangle=-30)
    fig.update_yaxes(title_text="rows", rangemode="tozero")
    return Chart(title, _div(fig, "lht-writeback"))


def freshness_chart(data: ReportData) -> tuple[Chart, list[str]]:
    """Hours since each object's last successful sync, coloured by the freshness thresholds;
    and the objects never synced successfully."""
    import plotly.graph_objects as go

    title = "Hours since each object's last successful sync"
    ages = {
        name: round((data.generated_at - when).total_seconds() / 3600, 2)
        for name, when in data.last_success.items()
        if when is not None
    }
    never = sorted(name for name, when in data.last_success.items() if when is None)
    if not ages:
        return Chart(title, empty="No object has synced successfully yet."), never
    names = sorted(ages, key=lambda n: -ages[n])
    colours = [
        _RED if ages[n] >= data.error_hours else _YELLOW if ages[n] >= data.warn_hours else _GREEN
        for n in names
    ]
    fig = go.Figure(
        go.Bar(
            x=[ages[n] for n in names],
            y=names,
            orientation="h",
            marker_color=colours,
            hovertemplate="%{y}: %{x} h<extra></extra>",
            name="hours",
        )
    )
    for hours, colour, label in (
        (data.warn_hours, _YELLOW, "warn"),
        (data.error_hours, _RED, "error"),
    ):
        fig.add_vline(
            x=hours, line_dash="dot", line_color=colour, annotation_text=f"{label} {hours:g} h"
        )
    fig.update_xaxes(title_text="hours", rangemode="tozero")
    fig.update_layout(showlegend=False)
    return Chart(title, _div(fig, "lht-freshness")), never


def failures(data: ReportData) -> list[dict[str, str]]:
    """The newest failures: objects and models not ok, and runs refused or failed as a whole."""
    failing_runs = {
        r["run_id"] for r in data.rows if r["object_name"] is not None and r["outcome"] != OK
    }
    found = [
        r
        for r in data.rows
        if r["outcome"] != OK and (r["object_name"] is not None or r["run_id"] not in failing_runs)
    ]
    found.sort(key=lambda r: (r["started_at"], r["object_name"] or ""), reverse=True)
    return [
        {
            "when": _when(r["started_at"]),
            "command": r["command"],
            "name": r["object_name"] or "(the run)",
            "outcome": r["outcome"],
            "message": r["error_message"] or "",
        }
        for r in found[:FAILURES_SHOWN]
    ]


def render(data: ReportData) -> str:
    """The whole page."""
    from plotly.offline import get_plotlyjs

    freshness, never = freshness_chart(data)
    charts = [*sync_charts(data.rows), api_chart(data.rows), writeback_chart(data.rows), freshness]
    runs = [
        {
            "when": _when(r.started_at),
            "command": r.command,
            "outcome": r.outcome,
            "count": r.items,
            "rows": f"{r.rows_written:,}",
            "calls": r.api_calls,
            "seconds": "-" if r.seconds is None else f"{r.seconds:.1f}",
            "problem": one_line(r.error) if r.error else ", ".join(r.failed),
        }
        for r in data.runs[:RUNS_SHOWN]
    ]
    totals = {
        "runs": len(data.runs),
        "failed": sum(1 for r in data.runs if r.outcome != OK),
        "rows": f"{sum(r.rows_written for r in data.runs):,}",
        "calls": sum(r.api_calls for r in data.runs),
    }
    template = Environment(autoescape=True).from_string(_PAGE)
    return template.render(
        data=data,
        charts=charts,
        never=never,
        failures=failures(data),
        runs=runs,
        totals=totals,
        plotly_js=get_plotlyjs(),
        when=_when,
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lht run history: {{ data.target }}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem;
         padding: 0 1rem; color: #212121; }
  h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
  .meta, .note { color: #616161; } .cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
  .card { border: 1px solid #e0e0e0; border-radius: 6px; padding: .6rem 1rem; min-width: 9rem; }
  .card b { display: block; font-size: 1.4rem; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eeeeee; vertical-align: top; }
  td.num { text-align: right; } .ok { color: #2e7d32; } .failed, .refused { color: #c62828; }
  .skipped { color: #f9a825; } td.message { white-space: pre-wrap; font-family: ui-monospace, monospace; }
</style>
<script>{{ plotly_js | safe }}</script>
</head>
<body>
<h1>lht run history</h1>
<p class="meta">Target <b>{{ data.target }}</b>; runs since {{ when(data.since) }} UTC; written
{{ when(data.generated_at) }} UTC by <code>lht report</code> from the run history (_lht_runs).</p>
<div class="cards">
  <div class="card"><b>{{ totals.runs }}</b>runs</div>
  <div class="card"><b>{{ totals.failed }}</b>not ok</div>
  <div class="card"><b>{{ totals.rows }}</b>rows written</div>
  <div class="card"><b>{{ totals.calls }}</b>API calls</div>
</div>
{% for chart in charts %}
<section class="chart">
<h2>{{ chart.title }}</h2>
{% if chart.html %}{{ chart.html | safe }}{% else %}<p class="note">{{ chart.empty }}</p>{% endif %}
</section>
{% endfor %}
{% if never %}<p class="note">Never synced successfully: {{ never | join(", ") }}.</p>{% endif %}
<h2>Last failures</h2>
{% if failures %}
<table id="lht-failures">
<tr><th>started (UTC)</th><th>command</th><th>object / model</th><th>outcome</th><th>message</th></tr>
{% for f in failures %}
<tr><td>{{ f.when }}</td><td>{{ f.command }}</td><td>{{ f.name }}</td><td class="{{ f.outcome }}">{{ f.outcome }}</td>
<td class="message">{{ f.message }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="note">No failure in this period.</p>{% endif %}
<h2>Last runs</h2>
{% if runs %}
<table id="lht-runs">
<tr><th>started (UTC)</th><th>command</th><th>outcome</th><th>objects / models</th><th>rows written</th>
<th>API calls</th><th>seconds</th><th>what failed</th></tr>
{% for r in runs %}
<tr><td>{{ r.when }}</td><td>{{ r.command }}</td><td class="{{ r.outcome }}">{{ r.outcome }}</td>
<td class="num">{{ r.count }}</td><td class="num">{{ r.rows }}</td><td class="num">{{ r.calls }}</td>
<td class="num">{{ r.seconds }}</td><td>{{ r.problem }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="note">No run in this period.</p>{% endif %}
</body>
</html>
"""
