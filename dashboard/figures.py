"""Pure plotly figure builders of the wall screen, usable on their own in a notebook.

Each ``*_figure`` function takes the frames :mod:`carbon.dashboard.data` returns and a language, and
returns a :class:`plotly.graph_objects.Figure`; none reads a file or knows about Dash. The wall
shows exactly these figures; an analyst gets the same chart with::

    from carbon.dashboard import data, figures
    snap = data.load_snapshot("demo/snapshots")
    figures.map_figure(snap.map_data("suhewan"), metric="intensity", lang="en").show()

Each has a ``*_spec`` twin returning the same figure as a plain dict: building plotly's
validated objects costs tens of milliseconds per figure, so the wall's callbacks send the dict.
``*_figure`` is exactly ``go.Figure(*_spec(...))``, so plotly validates every spec the tests
build.

Style follows Chinese operations-centre screens (docs/research/wallscreen.md §2.4): dark navy, cyan
accents, the DataV series palette; for emissions a warmer colour means more. Everything is drawn
without map tiles, CDN scripts or web fonts (DESIGN decision 9): the map is the twin's own
GeoJSON on plain axes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from carbon.dashboard.data import MapData
from carbon.dashboard.i18n import fmt_number, fmt_percent, name_of, t

__all__ = [
    "FONT_FAMILY",
    "PALETTE",
    "SCALE",
    "completeness_figure",
    "completeness_spec",
    "empty_figure",
    "empty_spec",
    "interventions_figure",
    "interventions_spec",
    "macc_figure",
    "macc_spec",
    "map_figure",
    "map_spec",
    "ranking_figure",
    "ranking_spec",
    "trend_figure",
    "trend_spec",
]

Spec = dict[str, Any]

FONT_FAMILY = ('"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
               '"WenQuanYi Micro Hei", sans-serif')
"""Locally installed fonts only (no web fonts); Debian package ``fonts-noto-cjk``."""

TEXT = "#d6e6ff"
MUTED = "#7f9cc7"
GRID = "rgba(90, 140, 210, 0.18)"
ACCENT = "#00eaff"
BAR = "#37a2da"
NO_VALUE = "#2a3a55"
PALETTE = ("#37a2da", "#32c5e9", "#67e0e3", "#9fe6b8", "#ffdb5c", "#ff9f7f", "#fb7293")
"""The DataV capsule-chart series palette.

Source: IofTV-Screen-Vue3 README; docs/research/wallscreen.md §2.4."""
SCALE = [[0.0, "#12406b"], [0.3, "#1f8fb3"], [0.55, "#67e0e3"], [0.75, "#ffd166"],
         [0.9, "#ff8c42"], [1.0, "#ef3b3b"]]
"""Sequential scale for emissions: a warmer colour means more tonnes."""

SECTOR_COLOURS = {"I": "#37a2da", "II": "#9fe6b8", "III": "#ffdb5c", "IV": "#ff9f7f",
                  "V": "#67e0e3", "VI": "#fb7293"}
SCOPE_COLOURS = {"1": "#ff9f7f", "2": "#37a2da", "3": "#9fe6b8"}
UP, DOWN = "#ff5b5b", "#3ddc84"


def _floats(values: Iterable[Any]) -> list[float | None]:
    """Plain floats for JSON (NaN -> None)."""
    out: list[float | None] = []
    for v in values:
        f = float(v) if v is not None else math.nan
        out.append(f if math.isfinite(f) else None)
    return out


def _axis(**extra: Any) -> dict[str, Any]:
    axis = {"gridcolor": GRID, "zeroline": False, "linecolor": GRID, "automargin": True,
            "tickfont": {"color": MUTED}, "fixedrange": True}
    axis.update(extra)
    return axis


def _layout(*, font_size: int = 16, legend: bool = False, title: str | None = None,
            **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": {"layout": {}},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT_FAMILY, "size": font_size, "color": TEXT},
        "margin": {"l": 8, "r": 8, "t": 36 if title else 8, "b": 8},
        "showlegend": legend,
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom",
                   "font": {"size": font_size - 2}, "bgcolor": "rgba(0,0,0,0)",
                   "traceorder": "normal"},
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": font_size}},
        "dragmode": False,
        "xaxis": _axis(),
        "yaxis": _axis(),
    }
    if title:
        layout["title"] = {"text": title, "x": 0.01, "font": {"size": font_size + 2}}
    for key, value in extra.items():
        if key in ("xaxis", "yaxis"):
            layout[key].update(value)
        else:
            layout[key] = value
    return layout


def _figure(spec: Spec) -> go.Figure:
    return go.Figure(spec)


# ------------------------------------------------------------------------------ empty
def empty_spec(message: str, *, font_size: int = 20) -> Spec:
    """:func:`empty_figure` as a plain dict."""
    return {"data": [], "layout": _layout(
        font_size=font_size, xaxis={"visible": False}, yaxis={"visible": False},
        annotations=[{"text": message, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
                      "showarrow": False, "font": {"size": font_size, "color": MUTED}}])}


def empty_figure(message: str, *, font_size: int = 20) -> go.Figure:
    """A calm empty state: no axes, one centred line of text (docs/research/wallscreen.md §4
    item 10: say 'no data' and why, never show 0 or a blank).

    Parameters
    ----------
    message : what to say, already in the reader's language.
    font_size : [px].
    """
    return _figure(empty_spec(message, font_size=font_size))


# ------------------------------------------------------------------------------ map
def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """The outer rings (polygons), the paths (lines) or the points of a GeoJSON geometry."""
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        return [coords[0]] if coords else []
    if kind == "MultiPolygon":
        return [poly[0] for poly in coords if poly]
    if kind == "LineString":
        return [coords]
    if kind == "MultiLineString":
        return list(coords)
    if kind == "Point":
        return [[coords]]
    if kind == "MultiPoint":
        return [list(coords)]
    return []


def _xy(rings: Iterable[list[list[float]]]) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for ring in rings:
        if xs:
            xs.append(None)
            ys.append(None)
        xs.extend(float(p[0]) for p in ring)
        ys.extend(float(p[1]) for p in ring)
    return xs, ys


def _bounds(rings: Iterable[list[list[float]]]) -> tuple[float, float, float, float]:
    """(min x, min y, max x, max y) of some rings [degrees]."""
    pts = [p for ring in rings for p in ring]
    if not pts:
        return 0.0, 0.0, 1.0, 1.0
    xs = [float(p[0]) for p in pts]
    ys = [float(p[1]) for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def _centroid(rings: Sequence[list[list[float]]]) -> tuple[float, float]:
    pts = [p for ring in rings for p in ring]
    if not pts:
        return math.nan, math.nan
    return (sum(float(p[0]) for p in pts) / len(pts), sum(float(p[1]) for p in pts) / len(pts))


def _colours(values: Sequence[float | None]) -> tuple[list[str], float, float]:
    finite = [v for v in values if v is not None]
    if not finite:
        return [NO_VALUE] * len(values), 0.0, 1.0
    lo, hi = min(finite), max(finite)
    span = hi - lo if hi > lo else 1.0
    sampled = iter(sample_colorscale(SCALE, [(v - lo) / span for v in finite]))
    return [next(sampled) if v is not None else NO_VALUE for v in values], lo, hi


def map_spec(data: MapData, metric: str = "emissions", lang: str = "zh") -> Spec:
    """:func:`map_figure` as a plain dict."""
    items = data.items
    if items.empty and data.focus not in data.features:
        return empty_spec(t("no_geometry", lang))
    column = "intensity_kg_m2" if metric == "intensity" else "co2e_t"
    unit = t("u_kg_m2", lang) if metric == "intensity" else t("u_t", lang)
    values = _floats(items[column]) if len(items) else []
    colours, lo, hi = _colours(values)
    traces: list[dict[str, Any]] = []
    contexts = [(data.root, 1.5, MUTED)] if data.focus != data.root else []
    for ctx, width, colour in [*contexts, (data.focus, 3.0, ACCENT)]:
        if ctx in data.features:
            xs, ys = _xy(_rings(data.features[ctx]))
            traces.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines",
                           "hoverinfo": "skip", "showlegend": False,
                           "line": {"color": colour, "width": width}})
    frame_geom = data.features.get(data.focus) or data.features.get(data.root)
    bounds = _bounds(_rings(frame_geom)) if frame_geom else _bounds(
        [r for g in data.features.values() for r in _rings(g)])
    view_width = max(bounds[2] - bounds[0], 1e-9)
    labels_x, labels_y, labels, ids = [], [], [], []
    rows = items.to_dict("records")
    for row, value, colour in zip(rows, values, colours, strict=True):
        node = row["node_id"]
        geom = data.features.get(node)
        if geom is None:
            continue
        rings = _rings(geom)
        xs, ys = _xy(rings)
        name = name_of(row, lang)
        if value is not None:
            shown = f"{fmt_number(value, lang)} {unit}"
        else:
            shown = t("no_floor_area", lang) if metric == "intensity" else t("no_data", lang)
        hover = f"<b>{name}</b><br>{shown}<extra></extra>"
        selected = node == data.selected
        outline = {"color": "#ffffff" if selected else "rgba(214,230,255,0.55)",
                   "width": 4 if selected else 1.2}
        base = {"type": "scatter", "x": xs, "y": ys, "customdata": [node] * len(xs),
                "hovertemplate": hover, "name": node, "showlegend": False}
        gtype = row.get("geometry_type", geom.get("type"))
        if gtype in ("Polygon", "MultiPolygon"):
            base.update(mode="lines", fill="toself", fillcolor=colour, line=outline,
                        hoveron="fills+points")
        elif gtype in ("LineString", "MultiLineString"):
            base.update(mode="lines", line={"color": colour, "width": 10 if selected else 7})
        else:
            base.update(mode="markers", marker={"color": colour, "size": 18 if selected else 13,
                                                "line": outline, "symbol": "diamond"})
        traces.append(base)
        cx, cy = _centroid(rings)
        x0, _, x1, _ = _bounds(rings)
        big = gtype in ("Polygon", "MultiPolygon") and (x1 - x0) >= 0.16 * view_width
        labels_x.append(cx)
        labels_y.append(cy)
        labels.append(name if big else "")
        ids.append(node)
    if ids:
        traces.append({"type": "scatter", "x": labels_x, "y": labels_y, "mode": "markers+text",
                       "text": labels, "customdata": ids, "textposition": "middle center",
                       "hoverinfo": "skip", "showlegend": False,
                       "textfont": {"size": 15, "color": "#ffffff"},
                       "marker": {"size": 16, "opacity": 0.0, "color": ACCENT}})
        if any(v is not None for v in values):
            traces.append({
                "type": "scatter", "x": [labels_x[0]], "y": [labels_y[0]], "mode": "markers",
                "hoverinfo": "skip", "showlegend": False,
                "marker": {"size": 0.1, "opacity": 0, "color": [lo], "cmin": lo,
                           "cmax": hi if hi > lo else lo + 1, "colorscale": SCALE,
                           "showscale": True,
                           "colorbar": {"title": {"text": unit, "side": "right",
                                                  "font": {"size": 14, "color": MUTED}},
                                        "thickness": 14, "len": 0.8, "x": 1.0,
                                        "tickfont": {"size": 13, "color": MUTED},
                                        "outlinewidth": 0}}})
    lat = _centroid(_rings(data.features.get(data.root) or frame_geom
                           or {"type": "Point", "coordinates": [0, 31.2]}))[1]
    scale = 1.0 / math.cos(math.radians(lat)) if math.isfinite(lat) else 1.0
    pad_x = (bounds[2] - bounds[0]) * 0.04
    pad_y = (bounds[3] - bounds[1]) * 0.04
    layout = _layout(
        margin={"l": 4, "r": 4, "t": 4, "b": 4}, clickmode="event", hovermode="closest",
        uirevision=data.focus,
        xaxis={"visible": False, "range": [bounds[0] - pad_x, bounds[2] + pad_x]},
        yaxis={"visible": False, "scaleanchor": "x", "scaleratio": scale,
               "range": [bounds[1] - pad_y, bounds[3] + pad_y]})
    return {"data": traces, "layout": layout}


def map_figure(data: MapData, metric: str = "emissions", lang: str = "zh") -> go.Figure:
    """The twin's map, its drawn nodes coloured by emissions or intensity.

    Parameters
    ----------
    data : from :meth:`carbon.dashboard.data.WallSnapshot.map_data`.
    metric : ``emissions`` [t CO2e] or ``intensity`` [kg CO2e / m2 floor area].
    lang : ``zh`` or ``en``.

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per drawn node (a click anywhere on it reports its id as ``customdata``),
        outlines of the subdistrict and of the focus node, labels of the larger areas and a
        colour bar; grey where a node has no value (e.g. no floor area for intensity).
    """
    return _figure(map_spec(data, metric, lang))


# ------------------------------------------------------------------------------ trend
def _group_label(group: str, by: str, lang: str) -> str:
    if by == "scope":
        return t("scope_n", lang, n=group)
    try:
        return t(f"sector_{group}", lang)
    except KeyError:
        return group


def trend_spec(monthly: pd.DataFrame, by: str = "sector", lang: str = "zh",
               title: str | None = None) -> Spec:
    """:func:`trend_figure` as a plain dict."""
    if monthly.empty:
        return empty_spec(t("no_data", lang))
    colours = SCOPE_COLOURS if by == "scope" else SECTOR_COLOURS
    traces = []
    for i, (group, g) in enumerate(monthly.groupby("group", sort=True)):
        g = g.sort_values("month")
        label = _group_label(str(group), by, lang)
        share = g["estimated_share"].to_numpy(dtype=float)
        traces.append({
            "type": "bar", "name": label,
            "x": [m.strftime("%Y-%m-%d") for m in g["month"]], "y": _floats(g["co2e_t"]),
            "marker": {"color": colours.get(str(group), PALETTE[i % len(PALETTE)]),
                       "pattern": {"shape": ["/" if s >= 0.01 else "" for s in share],
                                   "fgcolor": "#0b1a33", "solidity": 0.35},
                       "line": {"width": 0}},
            "customdata": [[round(s * 100, 3)] for s in share],
            "hovertemplate": (f"{label}<br>%{{x|%Y-%m}}: %{{y:,.0f}} {t('u_t', lang)}"
                              f"<br>{t('estimated', lang)} %{{customdata[0]:.1f}}%"
                              "<extra></extra>"),
        })
    many = monthly["month"].nunique() > 12
    if lang == "en":
        fmt = "%b %y" if many else "%b"
    else:
        fmt = "%y年%-m月" if many else "%-m月"
    layout = _layout(
        legend=True, title=title, barmode="stack", bargap=0.25, hovermode="closest",
        xaxis={"type": "date", "tickformat": fmt, "dtick": "M3" if many else "M1",
               "tickangle": 0},
        yaxis={"title": {"text": t("u_t", lang), "font": {"size": 14, "color": MUTED}},
               "tickformat": ",.0f", "rangemode": "tozero"})
    return {"data": traces, "layout": layout}


def trend_figure(monthly: pd.DataFrame, by: str = "sector", lang: str = "zh",
                 title: str | None = None) -> go.Figure:
    """Monthly emissions as stacked bars by GPC sector or scope.

    Parameters
    ----------
    monthly : from :meth:`carbon.dashboard.data.WallSnapshot.monthly`: ``month, group, co2e_t``
        [t CO2e], ``estimated_share`` [dimensionless].
    by : ``sector`` or ``scope`` (how ``group`` reads).
    lang : ``zh`` or ``en``.
    title : optional title (the wall shows its own panel title).

    Returns
    -------
    plotly.graph_objects.Figure
        Bars of months holding at least 1 % estimated readings are hatched (measured and
        estimated visibly apart; docs/research/wallscreen.md §4 item 4).
    """
    return _figure(trend_spec(monthly, by, lang, title))


# ------------------------------------------------------------------------------ ranking
def ranking_spec(ranking: pd.DataFrame, metric: str = "emissions", lang: str = "zh",
                 title: str | None = None) -> Spec:
    """:func:`ranking_figure` as a plain dict."""
    column = "intensity_kg_m2" if metric == "intensity" else "co2e_t"
    unit = t("u_kg_m2", lang) if metric == "intensity" else t("u_t", lang)
    frame = ranking.dropna(subset=[column]) if len(ranking) else ranking
    if frame.empty:
        return empty_spec(t("no_data", lang))
    frame = frame.sort_values(column, ascending=True)
    rows = frame.to_dict("records")
    names = [name_of(r, lang) for r in rows]
    short = [n if len(n) <= 14 else n[:13] + "…" for n in names]
    values = _floats(frame[column])
    selected = [bool(r.get("selected", False)) for r in rows]
    ys = list(range(len(rows)))
    top = max(v for v in values if v is not None)
    trace = {
        "type": "bar", "orientation": "h", "x": values, "y": ys,
        "marker": {"color": [ACCENT if s else BAR for s in selected]},
        "text": [fmt_number(v, lang) for v in values], "textposition": "outside",
        "cliponaxis": False, "textfont": {"size": 15, "color": TEXT},
        "customdata": [r["node_id"] for r in rows], "hovertext": names,
        "hovertemplate": f"%{{hovertext}}: %{{x:,.1f}} {unit}<extra></extra>",
    }
    layout = _layout(
        title=title, bargap=0.28, clickmode="event",
        yaxis={"tickvals": ys, "ticktext": short, "tickfont": {"size": 15, "color": TEXT},
               "showgrid": False},
        xaxis={"showticklabels": False, "showgrid": False,
               "range": [0, top * 1.32 if top > 0 else 1]})
    return {"data": [trace], "layout": layout}


def ranking_figure(ranking: pd.DataFrame, metric: str = "emissions", lang: str = "zh",
                   title: str | None = None) -> go.Figure:
    """Horizontal bars of the highest emitters, largest on top; the selection in cyan.

    Parameters
    ----------
    ranking : from :meth:`carbon.dashboard.data.WallSnapshot.ranking`.
    metric : ``emissions`` [t CO2e] or ``intensity`` [kg CO2e / m2]; nodes without a value
        are left out.
    lang : ``zh`` or ``en``.
    title : optional title.
    """
    return _figure(ranking_spec(ranking, metric, lang, title))


# ------------------------------------------------------------------------------ interventions
def _sum(values: pd.Series) -> float | None:
    total = values.sum(min_count=1)
    return None if pd.isna(total) else float(total)


def interventions_spec(records: pd.DataFrame, lang: str = "zh", title: str | None = None
                       ) -> Spec:
    """:func:`interventions_figure` as a plain dict."""
    if records is None or records.empty:
        return empty_spec(t("no_interventions", lang))
    frame = records.copy()
    frame["label"] = [name_of(r, lang) for r in frame.to_dict("records")]
    groups = []
    for label, g in frame.groupby("label", sort=False):
        verified = g["verified_t"].notna()
        basis = (g["verified_basis_t"] if "verified_basis_t" in g else g["estimated_t"])
        groups.append({"label": label, "estimated_t": _sum(g["estimated_t"]),
                       "verified_t": _sum(g["verified_t"]), "low_t": _sum(g["low_t"]),
                       "high_t": _sum(g["high_t"]),
                       "ver_est_t": _sum(basis[verified])})
    groups.sort(key=lambda r: r["estimated_t"] or 0.0)
    groups = groups[-5:]
    ys = list(range(len(groups)))
    plus, minus, rates = [], [], []
    for r in groups:
        ranged = r["low_t"] is not None and r["high_t"] is not None and r["estimated_t"]
        plus.append(max(0.0, r["high_t"] - r["estimated_t"]) if ranged else 0.0)
        minus.append(max(0.0, r["estimated_t"] - r["low_t"]) if ranged else 0.0)
        rate = (r["verified_t"] / r["ver_est_t"]
                if r["verified_t"] is not None and r["ver_est_t"] else None)
        rates.append(f"{t('realisation', lang)} {fmt_percent(rate, lang, 0)}"
                     if rate is not None else "")
    labels = [r["label"] for r in groups]
    est = {
        "type": "bar", "orientation": "h", "y": ys, "name": t("estimated", lang),
        "x": [r["estimated_t"] for r in groups], "marker": {"color": BAR},
        "offsetgroup": "est", "hovertext": labels,
        "error_x": {"type": "data", "array": plus, "arrayminus": minus, "color": TEXT,
                    "thickness": 1.5, "width": 4, "visible": any(plus) or any(minus)},
        "hovertemplate": f"%{{hovertext}} {t('estimated', lang)}: %{{x:,.1f}} {t('u_t', lang)}"
                         "<extra></extra>"}
    ver = {
        "type": "bar", "orientation": "h", "y": ys, "name": t("verified", lang),
        "x": [r["verified_t"] for r in groups], "marker": {"color": DOWN},
        "offsetgroup": "ver", "text": rates, "textposition": "outside",
        "textfont": {"size": 14, "color": TEXT}, "cliponaxis": False,
        "constraintext": "none", "hovertext": labels,
        "hovertemplate": f"%{{hovertext}} {t('verified', lang)}: %{{x:,.1f}} {t('u_t', lang)}"
                         "<extra></extra>"}
    top = max([v for r in groups for v in (r["estimated_t"], r["high_t"], r["verified_t"])
               if v is not None] or [1.0])
    layout = _layout(
        legend=True, title=title, barmode="group", bargap=0.3, bargroupgap=0.05,
        yaxis={"tickvals": ys, "ticktext": labels, "showgrid": False,
               "tickfont": {"size": 15, "color": TEXT}},
        xaxis={"title": {"text": t("u_t", lang), "font": {"size": 13, "color": MUTED}},
               "range": [0, top * 1.45]})
    return {"data": [est, ver], "layout": layout}


def interventions_figure(records: pd.DataFrame, lang: str = "zh",
                         title: str | None = None) -> go.Figure:
    """Estimated vs verified tonnes avoided per kind of measure, with realisation rates.

    Records of the same measure (by name) are summed, so a measure fitted in ten compounds is
    one pair of bars; the range (``low_t``..``high_t``) is drawn on the estimate; the
    realisation rate is verified / estimated over the records that have been verified (the
    estimate over the same months, ``verified_basis_t``, where the records give it).

    Parameters
    ----------
    records : from :meth:`carbon.dashboard.data.WallSnapshot.interventions_frame`: ``name_zh,
        name_en, estimated_t, verified_t, low_t, high_t`` [t CO2e].
    lang : ``zh`` or ``en``.
    title : optional title.

    Returns
    -------
    plotly.graph_objects.Figure
        The calm 'no intervention results in this snapshot yet' state when there are none.
    """
    return _figure(interventions_spec(records, lang, title))


def macc_spec(measures: pd.DataFrame, lang: str = "zh", title: str | None = None) -> Spec:
    """:func:`macc_figure` as a plain dict."""
    if measures is None or measures.empty:
        return empty_spec(t("no_interventions", lang))
    m = measures.sort_values("cost_per_t_cny", kind="stable")
    tonnes = "abatement_t" if "abatement_t" in m else "estimated_t"
    width = m[tonnes].to_numpy(dtype=float)
    left = np.concatenate([[0.0], np.cumsum(width)[:-1]])
    cost = _floats(m["cost_per_t_cny"])
    names = [name_of(r, lang) for r in m.to_dict("records")]
    trace = {
        "type": "bar", "x": _floats(left + width / 2), "y": cost, "width": _floats(width),
        "marker": {"color": [DOWN if (c or 0) < 0 else "#ffdb5c" for c in cost],
                   "line": {"color": "#0b1a33", "width": 1}},
        "hovertext": names,
        "hovertemplate": (f"%{{hovertext}}<br>%{{width:,.1f}} {t('u_t', lang)} · "
                          f"%{{y:,.0f}} {t('u_cny_per_t', lang)}<extra></extra>")}
    layout = _layout(
        title=title, font_size=14,
        xaxis={"title": {"text": t("cumulative_t", lang), "font": {"size": 13,
                                                                   "color": MUTED}}},
        yaxis={"title": {"text": t("u_cny_per_t", lang), "font": {"size": 13,
                                                                  "color": MUTED}},
               "zeroline": True, "zerolinecolor": MUTED, "nticks": 4})
    return {"data": [trace], "layout": layout}


def macc_figure(measures: pd.DataFrame, lang: str = "zh", title: str | None = None
                ) -> go.Figure:
    """A marginal abatement cost curve: one bar per measure, width its tonnes, height its cost
    per tonne, cheapest first.

    Parameters
    ----------
    measures : from :meth:`carbon.dashboard.data.WallSnapshot.macc_frame`: ``abatement_t`` (or
        ``estimated_t``) [t CO2e / yr], ``cost_per_t_cny`` [CNY / t CO2e], names.
    lang : ``zh`` or ``en``.
    title : optional title.

    References
    ----------
    McKinsey & Company, *Pathways to a Low-Carbon Economy*, 2009, Exhibit 1 (the MACC form).
    """
    return _figure(macc_spec(measures, lang, title))


# ------------------------------------------------------------------------------ quality
def completeness_spec(monthly: pd.DataFrame, lang: str = "zh", threshold: float = 0.9,
                      title: str | None = None) -> Spec:
    """:func:`completeness_figure` as a plain dict."""
    if monthly is None or monthly.empty:
        return empty_spec(t("no_data", lang), font_size=16)
    m = monthly.sort_values("month")
    share = m["completeness"].astype(float).to_numpy()
    pct = [round(v * 100, 6) if math.isfinite(v) else None for v in share]
    trace = {"type": "bar", "x": [d.strftime("%Y-%m-%d") for d in m["month"]], "y": pct,
             "marker": {"color": [UP if v < threshold else BAR for v in share]},
             "hovertemplate": "%{x|%Y-%m}: %{y:.1f}%<extra></extra>"}
    finite = [p for p in pct if p is not None]
    low = max(0.0, min(80.0, min(finite) - 5)) if finite else 0.0
    layout = _layout(
        font_size=14, title=title,
        shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": threshold * 100,
                 "y1": threshold * 100, "line": {"color": MUTED, "dash": "dash", "width": 1}}],
        yaxis={"range": [low, 100.5], "ticksuffix": "%", "nticks": 3},
        xaxis={"type": "date", "tickformat": "%-m" if lang == "zh" else "%b",
               "dtick": "M1" if m["month"].nunique() <= 12 else "M3"})
    return {"data": [trace], "layout": layout}


def completeness_figure(monthly: pd.DataFrame, lang: str = "zh", threshold: float = 0.9,
                        title: str | None = None) -> go.Figure:
    """Meter completeness by month, months below ``threshold`` in red.

    Parameters
    ----------
    monthly : ``month, completeness`` [dimensionless] (from
        :meth:`carbon.dashboard.data.WallSnapshot.quality`).
    threshold : the dashed line [dimensionless].
    lang : ``zh`` or ``en``.
    title : optional title.
    """
    return _figure(completeness_spec(monthly, lang, threshold, title))
