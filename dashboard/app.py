"""The wall screen's layout and callbacks (Dash).

Callbacks do no accounting: each one validates its inputs (node ids against the snapshot,
views and languages against fixed lists), asks the read-only :mod:`carbon.dashboard.data` module for
a small frame and hands it to a pure function of :mod:`carbon.dashboard.figures`. Every callback is
guarded: whatever fails, the panel shows a calm status line, never a stack trace (DESIGN: 'never
a stack trace'). The page is laid out on a 1920 x 1080 canvas that scales to any screen
(docs/research/wallscreen.md §2.2-2.3): a header, a row of KPI tiles, and three columns with the map
in the centre.

Use :func:`carbon.dashboard.server.create_app` (or :func:`carbon.dashboard.server.serve`)
rather than :func:`build_app` directly.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pandas as pd
from dash import (
    ALL,
    Dash,
    Input,
    Output,
    State,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)
from dash._utils import to_json

from carbon.dashboard import figures
from carbon.dashboard import today as today_view
from carbon.dashboard.data import (
    BREAKDOWNS,
    METHODS,
    METRICS,
    Kpis,
    SnapshotSource,
    WallDataError,
    WallSnapshot,
)
from carbon.dashboard.i18n import (
    LANGS,
    fmt_count,
    fmt_energy,
    fmt_number,
    fmt_percent,
    fmt_tonnes,
    name_of,
    plural,
    t,
)
from carbon.dashboard.map import MAP_SLOT

__all__ = ["KPI_KEYS", "build_app", "layout"]

log = logging.getLogger(__name__)

CLIENT_TEXT = ("carousel_on", "carousel_off", "carousel_play", "carousel_pause")
"""Labels the browser fills in itself (the clock callback runs client side)."""

KPI_KEYS = ("emissions", "per_capita", "avoided", "removals", "pv", "target", "completeness")
"""The KPI tiles, left to right; each opens its provenance when selected."""

ASSETS = Path(__file__).resolve().parent / "assets"
GRAPH_CONFIG: Any = {"displayModeBar": False, "scrollZoom": False, "doubleClick": False,
                "responsive": True}


# ------------------------------------------------------------------------------ validation
def _choice(value: object, allowed: tuple[str, ...]) -> str:
    """``value`` when it is one of ``allowed``, else the first allowed value."""
    return value if isinstance(value, str) and value in allowed else allowed[0]


def _clicked_node(click: object) -> str | None:
    """The node id a plotly click reports in ``customdata`` (unvalidated), if any."""
    if not isinstance(click, dict):
        return None
    points = click.get("points")
    if not isinstance(points, list) or not points or not isinstance(points[0], dict):
        return None
    custom = points[0].get("customdata")
    if isinstance(custom, list) and custom:
        custom = custom[0]
    return custom if isinstance(custom, str) and len(custom) < 200 else None


def _calm(lang: str, message: str | None = None) -> html.Div:
    return html.Div([html.Div(t("unavailable", lang), className="calm-title"),
                     html.Div(message or t("panel_failed", lang), className="calm-text")],
                    className="calm")


def _calm_message(exc: BaseException, lang: str) -> str:
    if isinstance(exc, WallDataError):
        text = str(exc)
        return text if len(text) < 240 else text[:237] + "…"
    return t("panel_failed", lang)


def guarded(fallback: Callable[[str, str], Any]) -> Callable[[Callable[..., Any]],
                                                                 Callable[..., Any]]:
    """Turn any exception of a callback into ``fallback(lang, message)`` (logged, never shown
    as a trace). The callback's last input, when it is a language, picks the language."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def inner(*args: Any) -> Any:
            lang = args[-1] if args and isinstance(args[-1], str) and args[-1] in LANGS \
                else "zh"
            try:
                return func(*args)
            except WallDataError as exc:
                log.warning("wall: %s: %s", func.__name__, exc)
                return fallback(lang, _calm_message(exc, lang))
            except Exception as exc:
                log.exception("wall: callback %s failed", func.__name__)
                return fallback(lang, _calm_message(exc, lang))

        return inner

    return wrap


# ------------------------------------------------------------------------------ layout
def _panel(pid: str, *children: Any, controls: Any = None, extra_class: str = "") -> html.Div:
    head = [html.Div(id=f"{pid}-title", className="panel-title")]
    if controls is not None:
        head.append(html.Div(controls, className="panel-controls"))
    return html.Div([html.Div(head, className="panel-head"),
                     html.Div(list(children), className="panel-body")],
                    id=f"{pid}-panel", className=f"panel {extra_class}".strip())


def _graph(gid: str, class_name: str = "graph") -> dcc.Graph:
    """A figure slot of the page. Every figure is a fixed component of the layout whose
    ``figure`` (and ``className``: ``off`` hides it) the callbacks update: a graph created
    inside a panel's children is unmounted and mounted again on every update, and plotly then
    draws it twice (the mount and a resize; benchmarks/RESULTS.md, wall click latency)."""
    return dcc.Graph(id=gid, config=GRAPH_CONFIG, className=class_name,
                     figure=figures.empty_spec(""))


def _toggle(rid: str, values: tuple[str, ...], value: str) -> dcc.RadioItems:
    return dcc.RadioItems(id=rid, options=[{"label": v, "value": v} for v in values],
                          value=value, inline=True, className="toggle",
                          inputClassName="toggle-input", labelClassName="toggle-label")


def _kpi_tile(key: str) -> html.Button:
    return html.Button(
        [html.Div(id=f"kpi-{key}-label", className="kpi-label"),
         html.Div(id=f"kpi-{key}-value", className="kpi-value"),
         html.Div(id=f"kpi-{key}-sub", className="kpi-sub"),
         html.Div(id=f"kpi-{key}-foot", className="kpi-foot")],
        id=f"kpi-{key}", className="kpi", n_clicks=0)


def layout(*, lang: str, carousel: bool, carousel_seconds: int, poll_seconds: float,
           timezone: str, initial: dict[str, Any] | None = None) -> html.Div:
    """The page: its skeleton, with the first view's texts and figures already in place
    (``initial`` maps ``"id.property"`` to a value, as the callbacks return them), so the
    first render needs no callback round trip."""
    header = html.Div([
        html.Div(id="title", className="title"),
        html.Div([html.Div(id="clock", className="clock"),
                  html.Div(id="status", className="status")], className="header-mid"),
        html.Div([
            html.Div(id="carousel-state", className="carousel-state"),
            html.Button(id="carousel-btn", className="hbtn", n_clicks=0),
            html.Button(id="fullscreen-btn", className="hbtn", n_clicks=0),
            html.Button(t("today_btn", lang), id="today-btn", className="hbtn", n_clicks=0),
            html.Button(id="lang-btn", className="hbtn lang", n_clicks=0),
        ], className="header-right"),
    ], className="header")
    kpis = html.Div([_kpi_tile(k) for k in KPI_KEYS], className="kpis")
    left = html.Div([
        _panel("ranking", html.Div(id="ranking-note", className="note"),
               _graph("ranking-graph"), extra_class="grow-48"),
        _panel("quality", html.Div([html.Div(id="quality-head"),
                                    _graph("quality-graph", "graph-small off"),
                                    html.Div(id="quality-body")], className="quality"),
               extra_class="grow-52"),
    ], className="col")
    centre = html.Div([
        _panel("map", html.Div(id="crumbs", className="crumbs"), _graph("map-graph"),
               controls=_toggle("metric", METRICS, "emissions"), extra_class="grow-6"),
        _panel("trend", html.Div(id="trend-note", className="note"), _graph("trend-graph"),
               controls=[_toggle("method", METHODS, "location"),
                         _toggle("breakdown", BREAKDOWNS, "sector")], extra_class="grow-4"),
    ], className="col centre")
    right = html.Div([
        _panel("interventions", html.Div(id="interventions-note", className="note"),
               html.Div([html.Div(id="interventions-body", className="interventions-calm"),
                         _graph("interventions-graph", "graph off"),
                         _graph("macc-graph", "graph-half off")], className="interventions"),
               extra_class="grow-62"),
        _panel("suggest", html.Div(id="suggest-body", className="suggest"),
               extra_class="grow-38"),
    ], className="col")
    overlay = html.Div([
        html.Div([
            html.Div([html.Div(id="prov-title", className="prov-title"),
                      html.Button(id="prov-close", className="hbtn", n_clicks=0)],
                     className="prov-head"),
            html.Div(id="prov-body", className="prov-body"),
        ], className="prov-card"),
    ], id="prov-overlay", className="prov-overlay hidden")
    page = html.Div([
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="lang", data=lang),
        dcc.Store(id="sel", data=(initial or {}).get("sel.data")),
        dcc.Store(id="shown", data=(initial or {}).get("shown.data")),
        dcc.Store(id="snap", data=(initial or {}).get("snap.data")),
        dcc.Store(id="prov", data=None),
        dcc.Store(id="carousel", data={"on": carousel, "i": 0, "at": None,
                                       "n": 1, "seconds": carousel_seconds}),
        dcc.Store(id="cfg", data={"tz": timezone, "started": time.time() * 1000,
                                  "seconds": carousel_seconds, "text": {
                                      lg: {k: t(k, lg) for k in CLIENT_TEXT} for lg in LANGS}}),
        dcc.Interval(id="clock-tick", interval=1000),
        dcc.Interval(id="poll", interval=int(poll_seconds * 1000)),
        dcc.Interval(id="carousel-tick", interval=int(carousel_seconds * 1000)),
        html.Div(id="fullscreen-dummy", style={"display": "none"}),
        html.Div([header, kpis, html.Div([left, centre, right], className="main"),
                  today_view.layout(lang), overlay],
                 id="screen", className="screen"),
    ], className="root")
    if initial:
        _fill(page, initial)
    return page


def _fill(component: Any, values: dict[str, Any]) -> None:
    """Set ``id.property`` values on the components of a layout tree (``no_update``: keep
    the layout's own)."""
    cid = getattr(component, "id", None)
    if isinstance(cid, str):
        for key, value in values.items():
            target, _, prop = key.rpartition(".")
            if target == cid and value is not no_update:
                setattr(component, prop, value)
    children = getattr(component, "children", None)
    if isinstance(children, list | tuple):
        for child in children:
            _fill(child, values)
    elif children is not None and hasattr(children, "to_plotly_json"):
        _fill(children, values)


# ------------------------------------------------------------------------------ KPI text
def _dash_value(lang: str) -> list[Any]:
    return [html.Span("—", className="num muted"), html.Span("", className="unit")]


def _value(number: str, unit: str) -> list[Any]:
    size = "num long" if len(number) > 6 else "num"
    return [html.Span(number, className=size), html.Span(unit, className="unit")]


def _none_text(reason: str | None, lang: str, year: int | None) -> str:
    """Why a node has no intervention result (a key of :data:`carbon.summary.NONE_REASONS`)."""
    return t(f"av_{reason or 'none_in_snapshot'}", lang, year=year or "")


def _estimated_text(share: float | None, lang: str) -> str:
    """The share of estimated (gap-filled) readings, never as '0.000%'."""
    if not share:
        return t("kpi_no_estimated", lang)
    if share < 0.001:
        return t("kpi_estimated_share", lang, share="<" + fmt_percent(0.001, lang, 1))
    return t("kpi_estimated_share", lang, share=fmt_percent(share, lang, 1))


def kpi_texts(k: Kpis, snap: WallSnapshot, lang: str) -> dict[str, tuple[Any, Any, Any, Any]]:
    """Label, value, sub-line and status footer of every KPI tile of one node.

    The numbers the CLI also prints come from the node's :class:`carbon.summary.Summary`
    (``k.summary``), the same object the interventions panel draws, so tile and panel agree.
    """
    view = t("v_location" if k.method == "location" else "v_market", lang)
    s = k.summary if k.summary is not None else snap.summary(k.node_id, k.method)
    out: dict[str, tuple[Any, Any, Any, Any]] = {}
    # emissions, with the Approach 1 uncertainty beside the number
    if k.emissions_t is not None:
        f = fmt_tonnes(k.emissions_t, lang)
        value = _value(f.value, f.unit)
        if k.uncertainty_pct is not None:
            value.append(html.Span(t("kpi_uncertainty", lang, pct=fmt_number(
                k.uncertainty_pct, lang, 2)), className="unc"))
        if k.change is not None and k.last_year is not None:
            arrow = "▲" if k.change > 0 else "▼"
            cls = "up" if k.change > 0 else "down"
            sub: Any = html.Span(f"{arrow} " + t("kpi_vs_last", lang, year=k.last_year,
                                                 change=fmt_percent(k.change, lang,
                                                                    signed=True)),
                                 className=cls)
        else:
            sub = t("kpi_no_last", lang)
        foot = " · ".join(x for x in (view, k.factor_note) if x)
    else:
        problem = s.problems[0] if s.problems else ""
        value, foot = _dash_value(lang), view
        sub = (html.Span(problem[:120], className="warn") if problem else t("no_data", lang))
    title = t("kpi_emissions", lang, year=k.year or "")
    if k.basic_complete is False:  # a BASIC row is NE: the total is labelled incomplete
        title = t("kpi_emissions_incomplete", lang, year=k.year or "")
    out["emissions"] = (title, value, sub, foot)
    # per capita
    est = t("pv_estimated_mark", lang) if k.residents_estimated else ""
    if k.per_capita_t is not None and k.residents:
        value = _value(fmt_number(k.per_capita_t, lang), t("u_t_per_cap", lang))
        sub = t("kpi_residents", lang, n=fmt_count(k.residents, lang), est=est)
    else:
        value, sub = _dash_value(lang), t("kpi_no_residents", lang)
    out["per_capita"] = (t("kpi_per_capita", lang), value, sub, view)
    # avoided: the summary's totals, the realisation over the same interventions and months
    a = s.avoided
    period = (t("av_year", lang, year=a.year) if a.period == "year"
              else t("av_whole_period", lang))
    if a.none is None and (a.estimated_t is not None or a.verified_t is not None):
        e = fmt_tonnes(a.estimated_t, lang)
        v = fmt_tonnes(a.verified_t, lang) if a.verified_t is not None else None
        value = _value(f"{e.value} / {v.value if v else '—'}", e.unit)
        if a.realisation is not None:
            rate = t("av_realisation", lang, rate=fmt_percent(a.realisation, lang, 0))
            sub = ([rate, html.Span(" · " + t("av_exceeds", lang), className="warn")]
                   if a.verified_exceeds_estimate else rate)
        else:
            sub = t("av_not_verified", lang)
        bits = [period]
        if a.low_t is not None and a.high_t is not None and a.low_t != a.high_t:
            bits.append(t("kpi_range", lang, low=fmt_number(a.low_t, lang),
                          high=fmt_number(a.high_t, lang)))
        foot = " · ".join(bits)
    else:
        value, foot = _dash_value(lang), ""
        sub = (t("av_only_removals", lang) if a.none is None and a.removals_t is not None
               else _none_text(a.none, lang, a.year))
    out["avoided"] = (t("kpi_avoided", lang), value, sub, foot)
    # removals
    if a.removals_t is not None:
        f = fmt_tonnes(a.removals_t, lang)
        value, sub = _value(f.value, f.unit), ""
    else:
        anywhere = snap.summary(snap.root, k.method).avoided.removals_t is not None
        value = _dash_value(lang)
        sub = t("no_removals_here" if anywhere else "no_removals", lang)
    out["removals"] = (t("kpi_removals", lang), value, sub, period if a.removals_t else "")
    # PV
    if k.pv_kwh is not None:
        f = fmt_energy(k.pv_kwh, lang)
        value, sub = _value(f.value, f.unit), ""
    else:
        anywhere = snap.kpis(snap.root, k.method).pv_kwh is not None
        value, sub = _dash_value(lang), t("no_pv_here" if anywhere else "no_pv", lang)
    out["pv"] = (t("kpi_pv", lang), value, sub, "")
    # target: the change against the base year's same months, beside the cut aimed at
    target, tg = k.target, s.target
    if target is None:
        value, sub = _dash_value(lang), t("no_target", lang)
    else:
        reduction = fmt_percent(float(target.get("reduction", math.nan)), lang, 0)
        sub = t("kpi_target_text", lang, base=target.get("base_year", "?"),
                reduction=reduction, year=target.get("target_year", "?"))
        if tg is not None and tg.change is not None:
            cls = "num up" if tg.change > 0 else "num down"
            value = [html.Span(fmt_percent(tg.change, lang, 1, signed=True), className=cls),
                     html.Span(t("kpi_target_vs_base", lang, base=tg.base_year),
                               className="unit")]
        elif s.node_id != s.root:
            value, sub = _dash_value(lang), t("kpi_target_root_only", lang)
        else:
            value = _dash_value(lang)
            if k.target_base_missing:
                sub = t("kpi_target_base_missing", lang, base=target.get("base_year", "?"))
    basis = str(target.get("basis", "")) if target else ""
    foot = t("kpi_target_assumed", lang) if "ASSUMPTION" in basis.upper() else basis[:60]
    out["target"] = (t("kpi_target", lang), value, sub, foot)
    # completeness
    if k.completeness is not None:
        value = _value(fmt_percent(k.completeness, lang, 1), "")
        sub = t("kpi_meters", lang, n=fmt_count(k.meters, lang))
        foot = _estimated_text(k.estimated_share, lang)
    else:
        value, sub, foot = _dash_value(lang), t("no_data", lang), ""
    out["completeness"] = (t("kpi_completeness", lang), value, sub, foot)
    return out


def scope2_children(snap: WallSnapshot, node: str, method: str, lang: str) -> list[Any]:
    """The emissions tile's detail: BASIC with its uncertainty, scope 2 in both views and, for
    the whole community, the Shanghai 89号 view and the sensitivity of the grid factor
    (:class:`carbon.summary.Summary`, as the CLI prints them)."""
    s = snap.summary(node, method)
    out: list[Any] = [html.Div(t("s2_title", lang), className="sub-title")]
    if s.totals is not None:
        unc = (t("s2_uncertainty", lang, pct=fmt_number(s.totals.uncertainty_pct, lang, 2))
               if s.totals.uncertainty_pct is not None else "")
        label = "BASIC" if s.totals.complete else t("s2_basic_incomplete", lang)
        out.append(html.Div(f"{label} {fmt_tonnes(s.totals.basic_t, lang)}{unc}",
                            className="row"))
    views = {m: s.scope2_t.get(m) for m in METHODS}
    for m, value in views.items():  # below the root, the other view is its own summary
        if value is None:
            other = snap.summary(node, m).totals
            views[m] = None if other is None else other.scope2_t
    loc, mkt = views["location"], views["market"]
    out.append(html.Div(t("s2_views", lang, location=str(fmt_tonnes(loc, lang)),
                          market=str(fmt_tonnes(mkt, lang))), className="row"))
    d = s.scope2
    if d is None:
        out.append(html.Div(t("s2_root_only", lang), className="row muted"))
        return out
    if d.shanghai_t is not None:  # Shanghai's rule: only for a community in Shanghai
        out.append(html.Div(t("s2_shanghai", lang, t=str(fmt_tonnes(d.shanghai_t, lang)),
                              kwh=str(fmt_energy(d.zero_rated_kwh, lang)), rule=d.rule),
                            className="row"))
    if d.grid_kwh is not None:
        out.append(html.Div(t(
            "s2_sensitivity", lang, kwh=str(fmt_energy(d.grid_kwh, lang)),
            f1=d.headline_kg_per_kwh, t1=str(fmt_tonnes(d.headline_t, lang)),
            f2=d.alternative_kg_per_kwh, t2=str(fmt_tonnes(d.alternative_t, lang)),
            change=fmt_percent((d.change_pct or 0.0) / 100, lang, 1, signed=True)),
            className="row"))
    return out


# ------------------------------------------------------------------------------ panels
def _rows(items: list[Any], empty: str) -> list[Any]:
    return items if items else [html.Div(empty, className="row muted")]


def _warning_row(w: dict[str, Any], lang: str) -> html.Div:
    """One ledger warning: its label and a one-line meaning in the reader's language, from the
    warning's code; the ledger's own (English, detailed) message is on hover. An unknown code
    shows itself, with the message in the English view."""
    code = str(w.get("code", ""))
    message = str(w.get("message", ""))
    try:
        label = t(f"cw_{code}", lang)
    except KeyError:
        label = t("cw_unknown", lang, code=code)
    try:
        detail = t(f"cwd_{code}", lang)
    except KeyError:
        detail = message if lang == "en" and message else t("cwd_unknown", lang)
    return html.Div([html.Span("⚠ " + label, className="warn"),
                     html.Span(detail, className="small muted")],
                    className="row", title=message or None)


def _notation_rows(notation: pd.DataFrame, lang: str) -> list[Any]:
    """Notation keys of a GPC table, one row per key: how many rows carry it and in which
    sectors (names, with the row codes and names on hover), not a wall of raw codes."""
    rows: list[Any] = []
    if notation.empty:
        return rows
    frame = notation.drop_duplicates(subset=["notation_key", "gpc_ref"])
    for key, g in sorted(frame.groupby("notation_key"), key=lambda kv: str(kv[0])):
        try:
            label = t(f"nk_{key}", lang)
        except KeyError:
            label = str(key)
        chips = []
        sectors = g["gpc_ref"].astype(str).str.split(".").str[0]
        for sector, refs in g.groupby(sectors, sort=False):
            try:
                name = t(f"sector_{sector}", lang)
            except KeyError:
                name = str(sector)
            hover = "\n".join(f"{r['gpc_ref']} {name_of(r, lang)}"
                              for r in refs.to_dict("records"))
            chips.append(html.Span([name, html.Span(fmt_count(len(refs), lang), className="n")],
                                   className="sector-chip", title=hover))
        rows.append(html.Div([html.Span(label, className="nk"),
                              html.Span(plural("nk_rows", len(g), lang), className="muted"),
                              html.Div(chips, className="chip-row")], className="row wrap"))
    return rows


QUALITY_ROWS = 2
"""Rows of each data-quality list; the panel counts the rest ('另有 3 项')."""


def quality_children(snap: WallSnapshot, node: str, lang: str
                     ) -> tuple[list[Any], dict[str, Any] | None, list[Any]]:
    """The data-quality panel: readings missing by month, meters with gaps, rejected rows,
    notation keys by sector and the ledger's warnings, all in the reader's language; a list
    longer than the panel holds says how many more there are.

    Returns the line above the chart, the chart's figure (None when every month is complete:
    the line says so) and the lists under it."""
    q = snap.quality(node)
    gap_frame, reject_frame = q["gaps"], q["rejects"]
    gaps: list[Any] = [html.Div([html.Span(r.meter_id, className="mono"),
                                 html.Span(t("dq_missing", lang, n=fmt_count(r.missing, lang)),
                                           className="right warn")], className="row")
                       for r in gap_frame.head(QUALITY_ROWS).itertuples()]
    if len(gap_frame) > QUALITY_ROWS:
        gaps.append(html.Div(plural("dq_more", len(gap_frame) - QUALITY_ROWS, lang),
                             className="row muted"))
    rejects: list[Any] = []
    for r in reject_frame.head(QUALITY_ROWS).itertuples():
        try:
            reason = t(f"reason_{r.reason}", lang)
        except KeyError:
            reason = str(r.reason)
        rejects.append(html.Div([html.Span(reason),
                                 html.Span(plural("dq_rows", int(r.rows), lang),
                                           className="right")], className="row"))
    if len(reject_frame) > QUALITY_ROWS:
        rejects.append(html.Div(plural("dq_more", len(reject_frame) - QUALITY_ROWS, lang),
                                className="row muted"))
    nnode = q["notation_node"]
    note = ("" if nnode in (None, node) else
            t("dq_block_table", lang, name=name_of(snap.node(nnode), lang)))
    warnings: list[Any] = [_warning_row(w, lang) for w in q["warnings"][:QUALITY_ROWS]]
    if len(q["warnings"]) > QUALITY_ROWS:
        warnings.append(html.Div(plural("dq_more", len(q["warnings"]) - QUALITY_ROWS, lang),
                                 className="row muted"))
    spec: dict[str, Any] | None = figures.completeness_spec(q["monthly"], lang)
    if spec and spec["data"]:
        head: list[Any] = [html.Div(t("dq_missing_fig", lang), className="note")]
    else:  # all months complete (or none): one sentence says so
        text = spec["layout"]["annotations"][0]["text"] if spec and \
            spec["layout"].get("annotations") else t("no_data", lang)
        head = [html.Div(("✓ " if q["monthly"] is not None and len(q["monthly"]) else "")
                         + text, className="row down")]
        spec = None
    return head, spec, [
        html.Div([
            html.Div([html.Div(t("dq_meters_gaps", lang), className="sub-title"),
                      *_rows(gaps, t("dq_none_gaps", lang)),
                      html.Div(t("dq_rejects", lang), className="sub-title"),
                      *_rows(rejects, t("dq_none_rejects", lang))], className="qcol"),
            html.Div([html.Div(t("dq_warnings", lang), className="sub-title"),
                      *_rows(warnings, t("dq_none_warnings", lang))], className="qcol"),
        ], className="qgrid"),
        html.Div([t("dq_notation", lang), html.Span(note, className="small")],
                 className="sub-title"),
        *_rows(_notation_rows(q["notation"], lang), t("no_data", lang)),
    ]


SUGGEST_ALERTS = 3
"""Meter alerts the suggestions panel lists (most severe first); it counts the rest."""


def suggest_children(snap: WallSnapshot, node: str, lang: str) -> list[Any]:
    """Suggested measures (most t per yuan, not yet in place) and meter alerts."""
    s = snap.suggestions(node)
    measures = []
    for r in s.to_dict("records"):
        cost = r.get("cost_per_t_cny")
        where = (name_of(snap.node(r["node_id"]), lang) if r.get("node_id") in snap.node_ids
                 else str(r.get("node_id", "")))
        measures.append(html.Div([
            html.Span(name_of(r, lang), className="measure"),
            html.Span(where, className="muted"),
            html.Span(t("sg_line", lang, t=str(fmt_tonnes(r.get("abatement_t"), lang)),
                        cost=f"{fmt_number(cost, lang)} {t('u_cny_per_t', lang)}"),
                      className="right")], className="row big-row"))
    alerts = []
    found = snap.alerts(node, limit=50)
    for r in found.head(SUGGEST_ALERTS).to_dict("records"):
        month = r["month"].strftime("%Y-%m") if isinstance(r["month"], pd.Timestamp) else ""
        meter = r["meter_id"] or r["node_id"]
        node_name = name_of(snap.node(r["node_id"]), lang) if r["node_id"] in snap.node_ids \
            else r["node_id"]
        try:
            activity = t(f"act_{r['activity']}", lang)
        except KeyError:
            activity = r["activity"]
        if r["kind"] == "stopped":
            text, cls = t("al_stopped", lang, meter=meter, month=month), "alert-red"
        elif r["kind"] == "gap":
            text, cls = t("al_gap", lang, meter=meter, month=month,
                          share=fmt_percent(r["value"], lang, 0)), "alert-amber"
        else:
            key = "al_high" if r["kind"] == "high" else "al_low"
            text = t(key, lang, node=node_name, activity=activity, month=month,
                     change=fmt_percent(abs(r["value"]), lang, 0))
            cls = "alert-amber"
        alerts.append(html.Div([html.Span("●", className=f"dot {cls}"), html.Span(text)],
                               className="row alert"))
    if len(found) > SUGGEST_ALERTS:  # the most severe first; the rest counted, not dropped
        alerts.append(html.Div(plural("dq_more", len(found) - SUGGEST_ALERTS, lang),
                               className="row muted"))
    return [html.Div(t("sg_measures", lang), className="sub-title"),
            *_rows(measures, t("sg_none", lang)),
            html.Div(t("al_alerts", lang), className="sub-title"),
            *_rows(alerts, t("al_none", lang))]


def interventions_children(snap: WallSnapshot, node: str, lang: str,
                           method: str = "location"
                           ) -> tuple[Any, list[Any], dict[str, Any] | None,
                                      dict[str, Any] | None]:
    """Estimated vs verified per intervention, the realisation rate, and a MACC when
    scenarios exist; the reason when there is nothing.

    Totals, rate and per-intervention bars come from the node's
    :class:`carbon.summary.Summary` (its :class:`carbon.summary.Avoided`), the object the
    avoided tile shows, so the panel and the tile agree at every node.

    Returns the note, the calm lines said instead of the charts (empty when there are
    charts), the interventions figure and the MACC figure (None when not shown)."""
    a = snap.summary(node, method).avoided
    macc = snap.macc_frame(node)
    rows = a.interventions
    shown = (rows[rows["estimated_t"].notna() | rows["verified_t"].notna()]
             if len(rows) else rows)
    if a.none is not None or shown.empty:  # a calm line, not an empty chart
        if a.none is None and a.removals_t is not None:
            message = t("av_only_removals_panel", lang,
                        t=str(fmt_tonnes(a.removals_t, lang)))
        else:
            message = _none_text(a.none, lang, a.year)
        calm: list[Any] = [html.Div(html.Div(message, className="calm-title"),
                                    className="calm")]
        if a.planned:
            calm.append(html.Div(t("av_planned", lang, n=a.planned), className="row muted"))
        return "", calm, None, None
    period = (t("av_year", lang, year=a.year) if a.period == "year"
              else t("av_whole_period", lang))
    if a.realisation is not None:
        rate: Any = t("av_rate_over", lang, rate=fmt_percent(a.realisation, lang, 0),
                      est=str(fmt_tonnes(a.compared_estimated_t, lang)))
        if a.verified_exceeds_estimate:
            rate = [rate, html.Span(" · " + t("av_exceeds", lang), className="warn")]
    else:
        rate = f"{t('realisation', lang)} —"
    note: list[Any] = [" · ".join([
        period,
        f"{t('estimated', lang)} {fmt_tonnes(a.estimated_t, lang)}",
        f"{t('verified', lang)} "
        f"{fmt_tonnes(a.verified_t, lang) if a.verified_t is not None else '—'}", ""])]
    note.extend(rate if isinstance(rate, list) else [rate])
    return (note, [], figures.interventions_spec(shown, lang),
            None if macc.empty else figures.macc_spec(macc, lang, title=t("macc", lang)))


PROVENANCE_PAGE = 8
"""Rows of a provenance list shown at first; the rest are one click away (never dropped)."""


def _paged(rows: list[Any], lang: str, wrap: Callable[[list[Any]], Any]) -> list[Any]:
    """The first :data:`PROVENANCE_PAGE` rows, then the others inside a ``<details>`` whose
    summary says how many there are and which (no silent drop: issue 15 item 5)."""
    if len(rows) <= PROVENANCE_PAGE:
        return [wrap(rows)]
    rest = rows[PROVENANCE_PAGE:]
    summary = t("pv_rest", lang, n=fmt_count(len(rest), lang), first=PROVENANCE_PAGE + 1,
                last=len(rows))
    return [wrap(rows[:PROVENANCE_PAGE]),
            html.Details([html.Summary(summary), wrap(rest)], className="prov-more")]


def _confidence(value: object, lang: str) -> str:
    text = str(value or "")
    try:
        return t(f"conf_{text.replace(' ', '_').lower()}", lang)
    except KeyError:
        return text


def _sub_title(text: str, n: int | None, lang: str) -> html.Div:
    count = [html.Span(t("pv_shown", lang, n=fmt_count(n, lang)), className="prov-count")] \
        if n is not None else []
    return html.Div([text, *count], className="sub-title")


def provenance_children(snap: WallSnapshot, key: str, node: str, method: str, lang: str
                        ) -> tuple[str, list[Any]]:
    """Title and body of the provenance overlay of one KPI of one node: every factor (largest
    share first), every intervention record (largest amount first) and every meter behind the
    number, with their counts; long lists show their first rows and open the rest in place."""
    p = snap.provenance(key, node, method)
    label_key = {"emissions": "kpi_emissions", "per_capita": "kpi_per_capita",
                 "avoided": "kpi_avoided", "removals": "kpi_removals", "pv": "kpi_pv",
                 "target": "kpi_target", "completeness": "kpi_completeness"}[p.key]
    title = t("pv_for", lang, what=t(label_key, lang, year=p.year or ""),
              node=name_of(snap.node(p.node_id), lang))
    body: list[Any] = [html.Div(t("pv_entries", lang, n=fmt_count(p.entries, lang), id=snap.id),
                                className="row muted")]
    for a in p.attributes:
        est = t("pv_estimated_mark", lang) if a.get("estimated") else ""
        body.append(html.Div(t("pv_attribute", lang, name=a["name"],
                               value=fmt_count(a["value"], lang), est=est), className="row"))
    if p.coverage is not None:
        body.append(html.Div(t("pv_coverage", lang, present=fmt_count(p.coverage[0], lang),
                               expected=fmt_count(p.coverage[1], lang)), className="row"))
    body.append(_sub_title(t("pv_factors", lang), len(p.factors), lang))
    if p.factors.empty:
        body.append(html.Div(t("pv_no_factors", lang), className="row muted"))
    else:
        head = html.Thead(html.Tr([html.Th(x) for x in (
            t("pv_factor_id", lang), t("pv_value", lang), t("pv_share", lang),
            t("pv_confidence", lang), t("pv_source", lang))]))
        factors = p.factors
        if "share" in factors:
            factors = factors.sort_values("share", ascending=False, kind="stable")
        rows = []
        for r in factors.to_dict("records"):
            source = [html.Div(str(r.get("citation", "")))]
            if r.get("url"):
                source.append(html.Div(str(r["url"]), className="small muted mono"))
            value = r.get("co2e_per_unit")
            try:  # four significant figures on the wall; the full value on hover
                shown = fmt_number(float(value), lang, 4)
            except (TypeError, ValueError):
                shown = str(value or "")
            rows.append(html.Tr([
                html.Td(str(r["factor_id"]), className="mono"),
                html.Td(f"{shown} {r.get('unit', '')}", title=str(value)),
                html.Td(fmt_percent(r.get("share"), lang, 1)),
                html.Td(_confidence(r.get("confidence"), lang)),
                html.Td(source)]))
        body.extend(_paged(rows, lang, lambda part: html.Table(
            [head, html.Tbody(part)], className="prov-table")))
    if p.records is not None and not p.records.empty:
        body.append(_sub_title(t("pv_interventions", lang), len(p.records), lang))
        records = p.records.copy()
        amount = records["verified_t"] if "verified_t" in records else None
        size = (amount.fillna(records["estimated_t"]) if amount is not None
                else records["estimated_t"]).abs()
        records = records.assign(_size=size.fillna(0.0)).sort_values(
            "_size", ascending=False, kind="stable")
        lines = []
        for r in records.to_dict("records"):
            ver, est, removal = r.get("verified_t"), r.get("estimated_t"), r.get("removal_t")
            if (est is None or pd.isna(est)) and removal is not None and pd.notna(removal):
                amounts = t("pv_record_removal", lang, t=str(fmt_tonnes(removal, lang)))
            else:
                amounts = t("pv_record_line", lang, est=str(fmt_tonnes(est, lang)),
                            ver=str(fmt_tonnes(ver, lang)) if ver is not None and pd.notna(ver)
                            else "—")
            lines.append(html.Div([html.Span(name_of(r, lang)),
                                   html.Span(str(r.get("intervention_id", "")),
                                             className="small muted mono"),
                                   html.Span(amounts, className="right")], className="row"))
        body.extend(_paged(lines, lang, lambda part: html.Div(part)))
    body.append(_sub_title(t("pv_meters", lang), len(p.meters), lang))
    if p.meters.empty:
        body.append(html.Div(t("pv_no_meters", lang), className="row muted"))
    else:
        ids = list(p.meters["meter_id"])
        chips = [html.Span(m, className="chip mono") for m in ids]
        body.append(html.Div(chips[:48], className="chips"))
        if len(ids) > 48:
            body.append(html.Details([
                html.Summary(t("pv_rest", lang, n=fmt_count(len(ids) - 48, lang), first=49,
                               last=len(ids))),
                html.Div(chips[48:], className="chips")], className="prov-more"))
    if not p.inputs.empty:
        body.append(_sub_title(t("pv_inputs", lang), len(p.inputs), lang))
        body.append(html.Div([html.Span(f"{r.file_name} · {r.sha256}", className="chip mono")
                              for r in p.inputs.itertuples()], className="chips"))
    return title, body


# ------------------------------------------------------------------------------ renderers
# Each renderer returns {"id.property": value} for the outputs of one callback; the same
# values fill the first page (layout) and answer the callbacks.
STATIC_KEYS = ("title.children", "title.className", "lang-btn.children", "fullscreen-btn.children",
               "prov-close.children", "map-title.children", "trend-title.children",
               "ranking-title.children", "interventions-title.children",
               "quality-title.children", "suggest-title.children", "metric.options",
               "method.options", "breakdown.options")
KPI_OUTPUT_KEYS = tuple(f"kpi-{k}-{part}.children" for k in KPI_KEYS
                        for part in ("label", "value", "sub", "foot"))
INTERVENTIONS_KEYS = ("interventions-note.children", "interventions-body.children",
                      "interventions-graph.figure", "interventions-graph.className",
                      "macc-graph.figure", "macc-graph.className")
QUALITY_KEYS = ("quality-head.children", "quality-graph.figure", "quality-graph.className",
                "quality-body.children")


def _title_class(title: str) -> str:
    """The header title's size class: ``long`` past 24 characters, ``longer`` (smaller, two
    lines at most) when it would be wider than about 56 half-width characters (a CJK character
    counts two), as a synthetic city's name is."""
    width = sum(2 if ord(c) > 0x2E7F else 1 for c in title)
    return "title longer" if width > 56 else "title long" if len(title) > 24 else "title"


def render_static(snap: WallSnapshot | None, lang: str) -> dict[str, Any]:
    """Titles, buttons and toggle labels."""
    site = name_of(snap.node(snap.root), lang) if snap is not None else "carbon-twin"

    def opts(keys: dict[str, str]) -> list[dict[str, str]]:
        return [{"label": t(v, lang), "value": k} for k, v in keys.items()]

    title = t("title", lang, site=site)
    values = [
        title, _title_class(title), t("lang_button", lang),
        t("fullscreen", lang),  # its icon is drawn by wall.css
        t("close", lang), t("p_map", lang), t("p_trend", lang), t("p_ranking", lang),
        t("p_interventions", lang), t("p_quality", lang), t("p_suggest", lang),
        opts({"emissions": "m_emissions", "intensity": "m_intensity"}),
        opts({"location": "v_location", "market": "v_market"}),
        opts({"sector": "b_sector", "scope": "b_scope"}),
    ]
    return dict(zip(STATIC_KEYS, values, strict=True))


def _banner(kind: str, title: str, detail: str = "") -> html.Div:
    """A large banner across the screen (dashboard/assets/banners.css): ``kind`` is
    ``stale``, ``failed``, ``latest`` or ``error``."""
    parts = [html.Div(title, className="banner-title")]
    if detail:
        parts.append(html.Div(detail, className="banner-detail"))
    return html.Div(parts, className=f"banner banner-{kind}", role="alert")


def render_status(source: SnapshotSource, lang: str) -> dict[str, Any]:
    """The snapshot shown and how fresh its data are (header line); large banners for stale
    data, a newer snapshot that failed its checks, an unusable ``LATEST`` and no snapshot at
    all; the screen's class (``stale`` dims the tiles). A snapshot of synthetic inputs says it
    is a fixed historical demo instead of counting its age."""
    try:
        snap = source.current()
    except WallDataError as exc:
        waiting = source.problem_kind == "latest" or "no published snapshot" in str(exc)
        title = t("waiting" if waiting else "banner_no_snapshot", lang)
        detail = _calm_message(exc, lang)
        return {"snap.data": None, "screen.className": "screen no-data",
                "status.children": [html.Span(t("waiting", lang) if waiting
                                              else t("unavailable", lang),
                                              className="badge stale"),
                                    html.Div(_banner("error", title, detail),
                                             className="banners")]}
    fresh = snap.freshness()
    bits: list[Any] = [html.Span(t("snapshot", lang, id=snap.id), className="snap-id")]
    banners: list[Any] = []
    stale = False
    if fresh["demo"]:
        start, end = fresh["data_start"], fresh["data_end"]
        bits.append(html.Span(t("demo_fixed", lang,
                                start=f"{start:%Y-%m}" if start else "?",
                                end=f"{end:%Y-%m}" if end else "?"),
                              className="badge demo"))
    elif fresh["data_end"] is not None:
        bits.append(html.Span(t("data_through", lang, date=fresh["data_end"].isoformat())
                              + " · " + t("age_days", lang, days=fresh["age_days"])))
        bits.append(html.Span(t(fresh["level"], lang), className=f"badge {fresh['level']}"))
        if fresh["level"] == "stale":
            stale = True
            banners.append(_banner("stale", t("banner_stale", lang),
                                   t("banner_stale_detail", lang,
                                     date=fresh["data_end"].isoformat(),
                                     days=fresh["age_days"])))
    if source.problem_kind == "failed" and source.failed_name:
        banners.append(_banner("failed", t("still_showing", lang, new=source.failed_name[:48],
                                           old=snap.id[:48]),
                               _calm_message(WallDataError(source.problem or ""), lang)))
    elif source.problem_kind == "latest":
        banners.append(_banner("latest", t("banner_latest", lang, old=snap.id[:48]),
                               _calm_message(WallDataError(source.problem or ""), lang)))
    if banners:
        bits.append(html.Div(banners, className="banners"))
    return {"snap.data": snap.id, "status.children": bits,
            "screen.className": "screen stale" if stale else "screen"}


def render_kpis(snap: WallSnapshot, node: str, method: str, lang: str) -> dict[str, Any]:
    """The seven KPI tiles."""
    texts = kpi_texts(snap.kpis(node, method), snap, lang)
    values: list[Any] = []
    for key in KPI_KEYS:
        values.extend(texts[key])
    return dict(zip(KPI_OUTPUT_KEYS, values, strict=True))


def render_map(snap: WallSnapshot, node: str, metric: str, method: str, lang: str
               ) -> dict[str, Any]:
    """The map and its breadcrumb."""
    spec = figures.map_spec(snap.map_data(node, method), metric, lang)
    crumbs: list[Any] = []
    path = snap.ancestors(node)
    hint = t("map_hint", lang)
    full = [name_of(snap.node(nid), lang) for nid in path]
    for i, (nid, name, shown) in enumerate(zip(path, full, crumb_names(full, hint),
                                               strict=True)):
        if i:
            crumbs.append(html.Span("›", className="crumb-sep"))
        crumbs.append(html.Button(shown, id={"type": "crumb", "node": nid}, n_clicks=0,
                                  title=name if shown != name else None,
                                  className="crumb current" if nid == node else "crumb"))
    crumbs.append(html.Span(hint, className="crumb-hint"))
    return {"map-graph.figure": spec, "crumbs.children": crumbs}


CRUMB_PX, HINT_PX = 16, 13
"""Font sizes of the breadcrumb and its hint [design px] (wall.css ``.crumb``,
``.crumb-hint``)."""


def crumb_names(names: list[str], hint: str) -> list[str]:
    """The breadcrumb's names (root first, the selection last) shortened with "…" so that
    they and the hint fit on one line of the map's slot: a second line would make the map
    shorter than the slot its labels are laid out for. The selection keeps its name when it
    can; the longest ancestors are shortened first (water-filling), each to at least about
    three characters."""
    slot_w = figures.SLOTS.get("map", MAP_SLOT)[0]
    bold = 1.08  # the selection is bold: a little wider
    sep = figures.text_width("›", CRUMB_PX) + 12  # the separator and its gaps
    budget = (slot_w - figures.text_width(hint, HINT_PX) - 12 - 4 * len(names)
              - sep * (len(names) - 1))
    widths = [figures.text_width(n, CRUMB_PX) for n in names]
    widths[-1] *= bold
    if sum(widths) <= budget:
        return list(names)
    out = list(names)
    last = min(widths[-1], budget * 0.6)
    if last < widths[-1]:
        out[-1] = figures.fit_text(names[-1], last / bold, CRUMB_PX)
    left = budget - last
    order = sorted(range(len(names) - 1), key=lambda i: widths[i])
    for k, i in enumerate(order):
        share = max(left / (len(order) - k), 3 * CRUMB_PX)
        if widths[i] > share:
            out[i] = figures.fit_text(names[i], share, CRUMB_PX)
        left -= min(widths[i], share)
    return out


def render_trend(snap: WallSnapshot, node: str, method: str, by: str, lang: str
                 ) -> dict[str, Any]:
    """The monthly trend and its note."""
    spec = figures.trend_spec(snap.monthly(node, method, by), by, lang)
    note = " · ".join([name_of(snap.node(node), lang),
                       t("v_location" if method == "location" else "v_market", lang),
                       t("hatched_estimated", lang)])
    return {"trend-graph.figure": spec, "trend-note.children": note}


def render_ranking(snap: WallSnapshot, node: str, method: str, metric: str, lang: str
                   ) -> dict[str, Any]:
    """The ranking and its note."""
    unit = t("u_kg_m2" if metric == "intensity" else "u_t", lang)
    spec = figures.ranking_spec(snap.ranking(node, method), metric, lang)
    note = t("rank_note", lang, year=snap.latest_year or "", unit=unit)
    return {"ranking-graph.figure": spec, "ranking-note.children": note}


def render_interventions(snap: WallSnapshot, node: str, method: str, lang: str
                         ) -> dict[str, Any]:
    """The interventions panel."""
    note, calm, spec, macc = interventions_children(snap, node, lang, method)
    return {"interventions-note.children": note, "interventions-body.children": calm,
            "interventions-graph.figure": no_update if spec is None else spec,
            "interventions-graph.className": ("graph off" if spec is None else
                                              "graph" if macc is None else "graph-tall"),
            "macc-graph.figure": no_update if macc is None else macc,
            "macc-graph.className": "graph-half off" if macc is None else "graph-half"}


def render_quality(snap: WallSnapshot, node: str, lang: str) -> dict[str, Any]:
    """The data-quality panel."""
    head, spec, rest = quality_children(snap, node, lang)
    return {"quality-head.children": head, "quality-body.children": rest,
            "quality-graph.figure": no_update if spec is None else spec,
            "quality-graph.className": "graph-small off" if spec is None else "graph-small"}


def render_suggest(snap: WallSnapshot, node: str, lang: str) -> dict[str, Any]:
    """Suggested measures and alerts."""
    return {"suggest-body.children": suggest_children(snap, node, lang)}


class _Cache:
    """A small thread-safe LRU of rendered panels, keyed by snapshot id and arguments (a
    snapshot never changes, so neither does a panel rendered from it)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._data: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = build()
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def peek(self, key: tuple[Any, ...]) -> Any:
        """The value under ``key``, or None when it is not (or no longer) cached."""
        with self._lock:
            return self._data.get(key)


def _digest(value: Any) -> str | None:
    """A short fingerprint of an output's value as the browser receives it (None for
    ``no_update``: nothing is sent)."""
    if value is no_update:
        return None
    return hashlib.blake2b(to_json(value).encode(), digest_size=16).hexdigest()


def _view_key(snap: WallSnapshot | None, node: str | None, method: str, metric: str, by: str,
              lang: str) -> dict[str, Any] | None:
    """What the panels show, as the page keeps it (the ``shown`` store)."""
    if snap is None or node is None:
        return None
    return {"snap": snap.id, "node": node, "method": method, "metric": metric, "by": by,
            "lang": lang}


def _shown_view(shown: object, snap: WallSnapshot | None) -> dict[str, Any] | None:
    """The page's ``shown`` store when it is well formed and of ``snap`` (never trusted
    further: it only decides what need not be sent again)."""
    if snap is None or not isinstance(shown, dict) or shown.get("snap") != snap.id:
        return None
    checks = {"node": snap.node_ids, "method": METHODS, "metric": METRICS, "by": BREAKDOWNS,
              "lang": LANGS}
    if any(shown.get(k) not in allowed for k, allowed in checks.items()):
        return None
    return shown


def _out(keys: Iterable[str]) -> list[Output]:
    pairs = [k.rsplit(".", 1) for k in keys]
    return [Output(component, prop) for component, prop in pairs]


# ------------------------------------------------------------------------------ app
def build_app(source: SnapshotSource, *, lang: str = "zh", carousel: bool = False,
              carousel_seconds: int = 30, poll_seconds: float = 3.0,
              title: str = "carbon-twin wall") -> Dash:
    """The Dash app over a snapshot source (no server started, no auth; see
    :func:`carbon.dashboard.server.create_app`).

    Parameters
    ----------
    source : where snapshots come from (read-only).
    lang : the starting language, ``zh`` or ``en``.
    carousel : start cycling views (also ``?carousel=1`` in the URL).
    carousel_seconds : time per carousel view [s].
    poll_seconds : how often the page asks for a newer snapshot [s].
    title : the browser tab title.
    """
    default_lang = _choice(lang, LANGS)
    carousel_seconds = max(5, int(carousel_seconds))
    cache = _Cache()
    fingerprints = _Cache(4096)
    options: dict[str, Any] = {"enable_mcp": False, "websocket_callbacks": False}  # Dash 4
    accepted = inspect.signature(Dash.__init__).parameters
    app = Dash(
        "carbon.dashboard", assets_folder=str(ASSETS), serve_locally=True, title=title,
        update_title="", compress=False, suppress_callback_exceptions=True,
        **{k: v for k, v in options.items() if k in accepted},
    )

    def snapshot(snap_id: object) -> WallSnapshot:
        return source.get(snap_id) or source.current()

    def cached(render: Callable[..., dict[str, Any]], snap: WallSnapshot, *args: Any
               ) -> dict[str, Any]:
        return cache.get((render.__name__, snap.id, *args), lambda: render(snap, *args))

    def digests(render: Callable[..., dict[str, Any]], snap: WallSnapshot, *args: Any
                ) -> dict[str, str | None]:
        """:func:`_digest` of every output of a rendered panel (kept apart: small)."""
        def build() -> dict[str, str | None]:
            return {k: _digest(v) for k, v in cached(render, snap, *args).items()}

        return fingerprints.get((render.__name__, snap.id, *args), build)

    def first_view() -> dict[str, Any]:
        """Every panel of the default view of the current snapshot, for the first page."""
        values = render_status(source, default_lang)
        try:
            snap = source.current()
        except WallDataError as exc:
            message = _calm_message(exc, default_lang)
            values.update(render_static(None, default_lang))
            values.update({k: t("unavailable", default_lang) for k in KPI_OUTPUT_KEYS[::4]})
            values.update({k: message for k in KPI_OUTPUT_KEYS[2:3]})
            for gid in ("map-graph", "trend-graph", "ranking-graph"):
                values[f"{gid}.figure"] = figures.empty_spec(message)
            for body in ("quality-body", "suggest-body", "interventions-body"):
                values[f"{body}.children"] = _calm(default_lang, message)
            return values
        root, method, lang = snap.root, "location", default_lang

        def panel(render: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
            digests(render, snap, *args)  # what the page shows, for the first callback
            return cached(render, snap, *args)

        values.update(cached(render_static, snap, lang))
        values.update(panel(render_kpis, root, method, lang))
        values.update(panel(render_map, root, "emissions", method, lang))
        values.update(panel(render_trend, root, method, "sector", lang))
        values.update(panel(render_ranking, root, method, "emissions", lang))
        values.update(panel(render_interventions, root, method, lang))
        values.update(panel(render_quality, root, lang))
        values.update(panel(render_suggest, root, lang))
        values["sel.data"] = root
        values["shown.data"] = _view_key(snap, root, method, "emissions", "sector", lang)
        return values

    def serve_layout() -> html.Div:
        try:
            timezone = str(source.current().manifest.get("twin", {}).get("timezone")
                           or "Asia/Shanghai")
        except WallDataError:
            timezone = "Asia/Shanghai"
        try:
            initial = first_view()
        except Exception:  # the page must still come up; the callbacks will say why
            log.exception("wall: first view failed")
            initial = None
        return layout(lang=default_lang, carousel=carousel, carousel_seconds=carousel_seconds,
                      poll_seconds=poll_seconds, timezone=timezone, initial=initial)

    app.layout = serve_layout

    # ---------------------------------------------------------------- language and text
    @app.callback(Output("lang", "data"), Input("lang-btn", "n_clicks"), Input("url", "search"),
                  State("lang", "data"))
    def switch_language(clicks: int | None, search: str | None, current: str) -> Any:
        current = _choice(current, LANGS)
        wanted = current
        if ctx.triggered_id == "lang-btn" and clicks:
            wanted = "en" if current == "zh" else "zh"
        elif ctx.triggered_id in ("url", None) and isinstance(search, str):  # None: first call
            asked = parse_qs(search.lstrip("?")).get("lang", [None])[0]
            if asked in LANGS:
                wanted = asked
        return wanted if wanted != current else no_update

    @app.callback(*_out(STATIC_KEYS), Input("snap", "data"), Input("lang", "data"),
                  prevent_initial_call=True)
    @guarded(lambda lang, msg: [no_update] * len(STATIC_KEYS))
    def static_text(snap_id: Any, lang: str) -> list[Any]:
        lang = _choice(lang, LANGS)
        try:
            snap: WallSnapshot | None = snapshot(snap_id)
        except WallDataError:
            snap = None
        values = (cached(render_static, snap, lang) if snap is not None
                  else render_static(None, lang))
        return [values[k] for k in STATIC_KEYS]

    # ---------------------------------------------------------------- snapshot status
    @app.callback(Output("snap", "data"), Output("status", "children"),
                  Output("screen", "className"),
                  Input("poll", "n_intervals"), Input("lang", "data"), State("snap", "data"),
                  State("status", "children"), State("screen", "className"),
                  prevent_initial_call=True)
    def poll(_n: int | None, lang: str, shown: str | None, status: Any, screen: Any
             ) -> tuple[Any, Any, Any]:
        """The header's status and the banners; only what changed is sent (an unchanged
        status costs the browser nothing)."""
        lang = _choice(lang, LANGS)
        try:
            values = render_status(source, lang)
        except Exception as exc:
            log.error("wall: poll failed: %s: %s", type(exc).__name__, exc)
            return no_update, html.Div(_banner("error", t("unavailable", lang),
                                               t("panel_failed", lang)),
                                       className="banners"), "screen stale"
        new = values["snap.data"]
        children = values["status.children"]
        same = json.loads(to_json(children)) == status
        return ((new if new != shown else no_update), no_update if same else children,
                no_update if values["screen.className"] == screen
                else values["screen.className"])

    # ---------------------------------------------------------------- selection, carousel
    @app.callback(
        Output("sel", "data"), Output("carousel", "data"),
        Input("map-graph", "clickData"), Input("ranking-graph", "clickData"),
        Input({"type": "crumb", "node": ALL}, "n_clicks"), Input("carousel-tick", "n_intervals"),
        Input("carousel-btn", "n_clicks"), Input("snap", "data"), Input("url", "search"),
        State("sel", "data"), State("carousel", "data"))
    def select(map_click: Any, rank_click: Any, crumbs: list[Any], _tick: Any,
               carousel_clicks: Any, snap_id: Any, search: Any, sel: Any, car: Any
               ) -> tuple[Any, Any]:
        try:
            snap = snapshot(snap_id)
        except WallDataError:
            return no_update, no_update
        car = dict(car) if isinstance(car, dict) else {"on": False, "i": 0}
        trig = ctx.triggered_id
        now = time.time() * 1000
        current = snap.valid_node(sel)
        keep = no_update if current == sel else current
        tour = snap.tour()
        car["n"] = len(tour)
        if trig == "url" or not car.get("ready"):  # the page's first call, or a new address
            asked = parse_qs(str(search or "").lstrip("?")).get("carousel", [None])[0]
            if asked in ("1", "0"):
                car["on"] = asked == "1"
            car["at"], car["ready"] = now, True
            return keep, car
        if trig == "carousel-btn" and carousel_clicks:
            car["on"] = not car.get("on")
            car["at"] = now
            if car["on"]:
                i = tour.index(current) if current in tour else -1
                car["i"] = (i + 1) % len(tour)
                return tour[car["i"]], car
            return no_update, car
        if trig == "carousel-tick":
            if not car.get("on"):
                return no_update, no_update
            car["i"] = (int(car.get("i", 0)) + 1) % len(tour)
            car["at"] = now
            return tour[car["i"]], car
        picked: str | None = None
        if trig == "map-graph":
            picked = _clicked_node(map_click)
        elif trig == "ranking-graph":
            picked = _clicked_node(rank_click)
        elif isinstance(trig, dict) and trig.get("type") == "crumb":
            clicked = ctx.triggered[0].get("value") if ctx.triggered else None
            picked = trig.get("node") if clicked else None
        if picked is not None:
            if picked not in snap.node_ids:  # validated: only known node ids
                return no_update, no_update
            car["on"], car["at"] = False, now
            return (picked if picked != sel else no_update), car
        return keep, no_update

    # ---------------------------------------------------------------- data panels
    # One callback redraws every panel of a view: one round trip and one render pass in the
    # browser per click (benchmarks/RESULTS.md, wall click latency); a toggle redraws only
    # the panels that depend on it; a panel that fails shows its calm message alone.
    def kpi_fallback(lang: str, msg: str) -> list[Any]:
        return [t("unavailable", lang) if i % 4 == 0 else (msg if i == 2 else "")
                for i in range(len(KPI_OUTPUT_KEYS))]

    def figure_fallback(n_extra: int) -> Callable[[str, str], list[Any]]:
        return lambda lang, msg: [figures.empty_spec(msg)] + [""] * n_extra

    panels: list[tuple[tuple[str, ...], Callable[..., dict[str, Any]],
                       Callable[[str, str, str], tuple[Any, ...]], frozenset[str],
                       Callable[[str, str], list[Any]]]] = [
        (KPI_OUTPUT_KEYS, render_kpis, lambda method, metric, by: (method,),
         frozenset({"method"}), kpi_fallback),
        (("map-graph.figure", "crumbs.children"), render_map,
         lambda method, metric, by: (metric, method), frozenset({"metric", "method"}),
         lambda lang, msg: [figures.empty_spec(msg), no_update]),
        (("trend-graph.figure", "trend-note.children"), render_trend,
         lambda method, metric, by: (method, by), frozenset({"method", "breakdown"}),
         figure_fallback(1)),
        (("ranking-graph.figure", "ranking-note.children"), render_ranking,
         lambda method, metric, by: (method, metric), frozenset({"method", "metric"}),
         figure_fallback(1)),
        (INTERVENTIONS_KEYS, render_interventions, lambda method, metric, by: (method,),
         frozenset({"method"}),
         lambda lang, msg: ["", _calm(lang, msg), no_update, "graph off", no_update,
                            "graph-half off"]),
        (QUALITY_KEYS, render_quality, lambda method, metric, by: (), frozenset(),
         lambda lang, msg: [[], no_update, "graph-small off", _calm(lang, msg)]),
        (("suggest-body.children",), render_suggest, lambda method, metric, by: (),
         frozenset(), lambda lang, msg: [_calm(lang, msg)]),
    ]
    panel_keys = [k for keys, *_ in panels for k in keys]

    # The browser keeps the view it shows ("shown": snapshot, node, toggles, language), so a
    # callback sends only the outputs that differ from it: on a drill-down about half of them
    # (tile labels, unchanged figures) stay as they are, and the browser neither re-creates
    # their components nor redraws their figures (benchmarks/RESULTS.md, wall click latency).
    @app.callback(*_out(panel_keys), Output("shown", "data"), Input("snap", "data"),
                  Input("sel", "data"), Input("method", "value"), Input("metric", "value"),
                  Input("breakdown", "value"), Input("lang", "data"), State("shown", "data"),
                  prevent_initial_call=True)
    def update_panels(snap_id: Any, sel: Any, method: Any, metric: Any, by: Any, lang: Any,
                      shown: Any) -> list[Any]:
        lang = _choice(lang, LANGS)
        args = (_choice(method, METHODS), _choice(metric, METRICS), _choice(by, BREAKDOWNS))
        changed = {str(p).split(".")[0] for p in ctx.triggered_prop_ids}
        everything = not changed or bool(changed & {"snap", "sel", "lang"})
        try:
            snap: WallSnapshot | None = snapshot(snap_id)
        except WallDataError as exc:
            log.warning("wall: panels: %s", exc)
            snap, message = None, _calm_message(exc, lang)
        before = _shown_view(shown, snap)
        out: list[Any] = []
        whole = snap is not None  # every panel shows its rendered view (none fell back)
        node = snap.valid_node(sel) if snap is not None else None
        for keys, render, prepare, depends, fallback in panels:
            if not (everything or changed & depends):
                out.extend([no_update] * len(keys))
                continue
            if snap is None:
                out.extend(fallback(lang, message))
                continue
            try:
                wanted = (node, *prepare(*args), lang)
                values = cached(render, snap, *wanted)
                old = None
                if before is not None:
                    had = (before["node"], *prepare(before["method"], before["metric"],
                                                    before["by"]), before["lang"])
                    old = fingerprints.peek((render.__name__, snap.id, *had))
                new = digests(render, snap, *wanted)
                out.extend(no_update if old is not None and new[k] is not None
                           and old.get(k) == new[k] else values[k] for k in keys)
            except Exception as exc:  # one panel fails; the others still draw
                log.error("wall: panel %s failed: %s: %s", render.__name__,
                          type(exc).__name__, exc)
                out.extend(fallback(lang, _calm_message(exc, lang)))
                whole = False
        out.append(_view_key(snap, node, *args, lang) if whole else None)
        return out

    # ---------------------------------------------------------------- provenance
    @app.callback(Output("prov", "data"),
                  *[Input(f"kpi-{k}", "n_clicks") for k in KPI_KEYS],
                  Input("prov-close", "n_clicks"), prevent_initial_call=True)
    def open_provenance(*clicks: Any) -> Any:
        trig = ctx.triggered_id
        if trig == "prov-close":
            return None
        if isinstance(trig, str) and trig.startswith("kpi-"):
            key = trig.removeprefix("kpi-")
            if key in KPI_KEYS and ctx.triggered and ctx.triggered[0].get("value"):
                return key
        return no_update

    @app.callback(Output("prov-overlay", "className"), Output("prov-title", "children"),
                  Output("prov-body", "children"),
                  Input("prov", "data"), Input("snap", "data"), Input("sel", "data"),
                  Input("method", "value"), Input("lang", "data"), prevent_initial_call=True)
    @guarded(lambda lang, msg: ("prov-overlay", t("p_provenance", lang), _calm(lang, msg)))
    def provenance_panel(key: Any, snap_id: Any, sel: Any, method: Any, lang: str
                         ) -> tuple[Any, Any, Any]:
        if key not in KPI_KEYS:
            return "prov-overlay hidden", no_update, no_update
        snap = snapshot(snap_id)
        node, view, lang = snap.valid_node(sel), _choice(method, METHODS), _choice(lang, LANGS)
        title, body = provenance_children(snap, key, node, view, lang)
        if key == "emissions":  # scope 2 in both views, the 89号 view, the 0.42 sensitivity
            body = [*scope2_children(snap, node, view, lang), *body]
        return "prov-overlay", title, body

    # ---------------------------------------------------------------- client side
    clientside_callback(
        """
        function(n, lang, car, cfg) {
            const now = new Date();
            const tz = (cfg && cfg.tz) || 'Asia/Shanghai';
            const loc = lang === 'en' ? 'en-GB' : 'zh-CN';
            let clock = '';
            try {
                clock = now.toLocaleDateString(loc, {year: 'numeric', month: 'long',
                    day: 'numeric', weekday: 'long', timeZone: tz}) + '  ' +
                    now.toLocaleTimeString(loc, {hour12: false, timeZone: tz});
            } catch (e) { clock = now.toISOString().slice(0, 19).replace('T', ' '); }
            // labels come from the one i18n table, via the cfg store
            const text = (cfg && cfg.text && (cfg.text[lang] || cfg.text.zh)) || {};
            let state = '';
            const secs = (cfg && cfg.seconds) || 30;
            if (car && car.on) {
                const left = Math.max(0, Math.round(secs - (Date.now() - (car.at || Date.now()))
                    / 1000));
                state = (text.carousel_on || '').replace('{i}', String((car.i || 0) + 1))
                    .replace('{n}', String(car.n || 1)).replace('{s}', String(left));
            } else {
                state = text.carousel_off || '';
            }
            const btn = (car && car.on) ? (text.carousel_pause || '')
                                        : (text.carousel_play || '');
            // self-health: a long-running wall reloads itself once a day at 04:00
            // (docs/research/wallscreen.md §3 item 2); at most once per 2 h of uptime.
            try {
                const hour = Number(now.toLocaleTimeString('en-GB', {hour12: false,
                    timeZone: tz}).slice(0, 2));
                if (hour === 4 && cfg && cfg.started && Date.now() - cfg.started > 7.2e6) {
                    window.location.reload();
                }
            } catch (e) {}
            return [clock, state, btn];
        }
        """,
        Output("clock", "children"), Output("carousel-state", "children"),
        Output("carousel-btn", "children"),
        Input("clock-tick", "n_intervals"), Input("lang", "data"), Input("carousel", "data"),
        State("cfg", "data"),
    )
    clientside_callback(
        """
        function(n) {
            if (!n) { return ''; }
            const el = document.documentElement;
            try {
                if (document.fullscreenElement) {
                    document.exitFullscreen().catch(function () {});
                } else if (el.requestFullscreen) {
                    el.requestFullscreen().catch(function () {});
                }
            } catch (e) {}
            return String(n);
        }
        """,
        Output("fullscreen-dummy", "children"), Input("fullscreen-btn", "n_clicks"),
    )
    today_view.register(app, source)  # the 今日 / Today view (carbon.dashboard.today)
    return app
