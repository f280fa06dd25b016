"""Pure plotly figure builders of the wall screen, usable on their own in a notebook.

Each ``*_figure`` function takes the frames :mod:`carbon.dashboard.data` returns and a language, and
returns a :class:`plotly.graph_objects.Figure`; none reads a file or knows about Dash. The wall
shows exactly these figures; an analyst gets the same chart with::

    from carbon.dashboard import data, figures
    snap = data.load_snapshot("demo/snapshots")
    figures.trend_figure(snap.monthly(snap.root), lang="en").show()

Each has a ``*_spec`` twin returning the same figure as a plain dict: building plotly's
validated objects costs tens of milliseconds per figure, so the wall's callbacks send the dict.
``*_figure`` is exactly ``go.Figure(*_spec(...))``, so plotly validates every spec the tests
build.

Sizes. The wall is laid out on one 1920 x 1080 design canvas that the browser scales as a whole
to the window (``assets/wall.css``, ``assets/wall_scale.js``; docs/research/wallscreen.md §2.3):
one design pixel is 2 screen pixels on a 3840 x 2160 wall and 0.71 on a 1366 x 768 laptop. Every
size here (fonts, margins, bar thickness) is in design pixels and every font comes from one table,
:data:`TYPE`, so the figures keep their proportions to the page at any size. Because a figure's
slot on the canvas has a known size (:data:`SLOTS`), a builder can decide which labels fit where
(names that would not fit are shortened with "…" and shown in full on hover).

Style follows Chinese operations-centre screens (docs/research/wallscreen.md §2.4): dark navy, cyan
accents, the DataV series palette; for emissions a warmer colour means more. Everything is drawn
without map tiles, CDN scripts or web fonts (DESIGN decision 9); the map is in
:mod:`carbon.dashboard.map`.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from carbon.dashboard.i18n import fmt_number, fmt_percent, is_placeholder, name_of, plural, t

__all__ = [
    "FONT_FAMILY",
    "PALETTE",
    "SCALE",
    "SLOTS",
    "TYPE",
    "TypeScale",
    "completeness_figure",
    "completeness_spec",
    "empty_figure",
    "empty_spec",
    "fit_text",
    "interventions_figure",
    "interventions_spec",
    "macc_figure",
    "macc_spec",
    "number_ticks",
    "ranking_figure",
    "ranking_spec",
    "text_width",
    "trend_figure",
    "trend_spec",
]

Spec = dict[str, Any]

FONT_FAMILY = ('"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
               '"WenQuanYi Micro Hei", sans-serif')
"""Locally installed fonts only (no web fonts); Debian package ``fonts-noto-cjk``."""


@dataclass(frozen=True)
class TypeScale:
    """Font sizes of every figure text [design px on the 1920 x 1080 canvas].

    The page's own text runs from 13 (footers) to 46 (KPI digits) design px; figure text stays
    within 15-20, so at 3840 x 2160 (2 screen px per design px) the smallest chart text is 30 px,
    above the 22 px the wall needs to be read from 5 m (issue 15).
    """

    small: int = 15
    """Axis ticks, units, secondary labels."""
    text: int = 16
    """Bar values, legends, annotations, hover labels."""
    name: int = 17
    """Names of ranked nodes and measures."""
    title: int = 18
    """Figure titles."""
    empty: int = 20
    """The calm 'no data' line."""

    @staticmethod
    def box(size: float) -> float:
        """Height of the box one line of text at ``size`` takes [design px]: Noto Sans CJK's
        ascent + descent is 1.448 em (its ``hhea`` table), which the browser rounds out to
        whole pixels: 1.5 em."""
        return size * 1.5


TYPE = TypeScale()
"""The one type scale of the figures (the page's CSS uses the same design pixels)."""

SLOTS: dict[str, tuple[int, int]] = {
    "ranking": (521, 305),
    "interventions": (521, 226),
    "macc": (521, 140),
    "trend": (764, 247),
    "quality": (521, 84),
}
"""Width and (least) height of each figure's slot on the wall [design px], as wall.css sizes
them (tests/test_wall_typography.py measures them). The builders lay labels out for these
sizes; a larger figure only spreads its rows and labels further apart."""

TEXT = "#d6e6ff"
MUTED = "#7f9cc7"
GRID = "rgba(90, 140, 210, 0.18)"
ACCENT = "#00eaff"
BAR = "#37a2da"
NO_VALUE = "#2a3a55"
AMBER = "#ffb648"
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


# ------------------------------------------------------------------------------ text
def _char_em(ch: str) -> float:
    """Advance width of one character in the wall's font [em], a little wide: measured in
    Chromium for Noto Sans CJK SC (CJK and "…" 1.0, lowercase 0.53 on average, capitals 0.63,
    digits 0.555, space 0.22, m/w/% 0.85)."""
    if unicodedata.east_asian_width(ch) in ("W", "F") or ch == "…":
        return 1.0
    if ch == " ":
        return 0.26
    if ch in ".,:;'!|()[]/·-‐–":
        return 0.4
    if ch in "mwMW%@&":
        return 0.88
    if ch.isupper():
        return 0.66
    if ch.isdigit():
        return 0.57
    return 0.55


def text_width(text: str, size: float) -> float:
    """Estimated width of one line of ``text`` in the wall's font [design px].

    Parameters
    ----------
    text : the text (no markup).
    size : font size [design px].

    Notes
    -----
    CJK ideographs and full-width punctuation are 1 em; Latin letters and digits 0.55-0.88 em,
    a little wider than Noto Sans CJK's proportional Latin, so a label judged to fit does fit
    (the browser test measures the real boxes).
    """
    return size * sum(_char_em(ch) for ch in text)


def fit_text(text: str, width: float, size: float) -> str:
    """``text`` if it fits in ``width`` [design px] at ``size`` [design px], else its longest
    head that fits followed by "…" (the caller shows the full text on hover)."""
    if text_width(text, size) <= width:
        return text
    budget = width - text_width("…", size)
    out, used = "", 0.0
    for ch in text:
        used += size * _char_em(ch)
        if used > budget:
            break
        out += ch
    return out.rstrip(" ·-(/") + "…"


# ------------------------------------------------------------------------------ ticks
def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * magnitude >= raw * (1 - 1e-9):
            return m * magnitude
    return 10.0 * magnitude


def _tick_text(values: Sequence[float], lang: str, suffix: str) -> list[str]:
    wan = lang == "zh" and max(abs(v) for v in values) >= 1e4
    div = 1e4 if wan else 1.0
    decimals = next(d for d in range(0, 7)
                    if all(abs(round(v / div, d) - v / div) < 1e-9 * max(1.0, abs(v / div))
                           for v in values))
    out = []
    for v in values:
        if v == 0:
            out.append("0")
            continue
        digits = f"{v / div:,.{decimals}f}"
        if "." in digits:  # 0.5万, 1万, 1.5万: no padded zeros
            digits = digits.rstrip("0").rstrip(".")
        out.append(f"{digits}{'万' if wan else ''}{suffix}")
    return out


def number_ticks(low: float, high: float, lang: str = "zh", count: int = 4,
                 suffix: str = "") -> dict[str, Any]:
    """Axis ticks in the reader's convention, as plotly axis properties.

    Chinese counts in 万 (10^4) once the axis reaches 10,000 (``0, 0.5万, 1万``), otherwise
    plain numbers with thousands separators (``6,000``); English always uses separators. No SI
    "k" (docs/research/wallscreen.md §4 item 13; issue 15 item 5).

    Parameters
    ----------
    low, high : the axis range [the axis unit].
    lang : ``zh`` or ``en``.
    count : about how many intervals.
    suffix : appended to every label but zero's (e.g. ``%``).

    Returns
    -------
    dict
        ``tickmode``, ``tickvals`` and ``ticktext``.
    """
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        low, high = (0.0, 1.0) if not math.isfinite(low) else (low, low + 1.0)
    step = _nice_step(high - low, count)
    first = math.ceil(low / step - 1e-9)
    values = []
    k = first
    while k * step <= high * (1 + 1e-9) + 1e-12:
        values.append(round(k * step, 10))
        k += 1
    if not values:
        values = [low]
    return {"tickmode": "array", "tickvals": values, "ticktext": _tick_text(values, lang, suffix)}


def _without_zero(ticks: dict[str, Any]) -> dict[str, Any]:
    """Ticks without the 0 label: bars start on the axis line, and a '0' there would sit in
    the corner the first month's label takes."""
    keep = [i for i, v in enumerate(ticks["tickvals"]) if v != 0]
    return {**ticks, "tickvals": [ticks["tickvals"][i] for i in keep],
            "ticktext": [ticks["ticktext"][i] for i in keep]}


def _month_ticks(months: Sequence[pd.Timestamp], lang: str, width: float,
                 one_line: bool = False) -> dict[str, Any]:
    """Month ticks on a date axis: every 1, 2, 3, 4, 6 or 12 months so the labels fit in
    ``width`` [design px], aligned to January; the year under every January and the first
    (beside the month with ``one_line``, for a short chart)."""
    months = sorted(pd.Timestamp(m) for m in set(months))
    if not months:
        return {}
    widest = ["2024年12月" if lang == "zh" else "Sep 2024"] if one_line else \
        (["12月", "2024年"] if lang == "zh" else ["Sep", "2024"])
    label_px = max(text_width(w, TYPE.small) for w in widest) + 24
    room = max(1, int(width // label_px))
    step = next(s for s in (1, 2, 3, 4, 6, 12, 24) if len(months) / s <= room or s == 24)
    shown = [m for m in months if (m.month - 1) % step == 0] or months[:1]
    values, texts = [], []
    for i, m in enumerate(shown):
        month = f"{m.month}月" if lang == "zh" else m.strftime("%b")
        year = f"{m.year}年" if lang == "zh" else str(m.year)
        values.append(m.strftime("%Y-%m-%d"))
        if i == 0 or m.month == 1:
            joined = f"{year}{month}" if lang == "zh" else f"{month} {year}"
            texts.append(joined if one_line else f"{month}<br>{year}")
        else:
            texts.append(month)
    return {"tickmode": "array", "tickvals": values, "ticktext": texts}


# ------------------------------------------------------------------------------ layout
def _axis(**extra: Any) -> dict[str, Any]:
    axis = {"gridcolor": GRID, "zeroline": False, "linecolor": GRID, "automargin": True,
            "tickfont": {"color": MUTED, "size": TYPE.small}, "fixedrange": True,
            "title": {"font": {"color": MUTED, "size": TYPE.small}}}
    axis.update(extra)
    return axis


def _layout(*, font_size: int = TYPE.text, legend: bool = False, title: str | None = None,
            **extra: Any) -> dict[str, Any]:
    """The wall's figure layout: transparent, the local CJK font, sizes from :data:`TYPE`.

    ``xaxis``/``yaxis`` in ``extra`` update the default axes (their ``title`` and
    ``tickfont`` dicts are merged, not replaced); other keys replace.
    """
    layout: dict[str, Any] = {
        "template": {"layout": {}},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT_FAMILY, "size": font_size, "color": TEXT},
        "margin": {"l": 8, "r": 8, "t": 34 if title else 8, "b": 8},
        "showlegend": legend,
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom",
                   "font": {"size": TYPE.text}, "bgcolor": "rgba(0,0,0,0)",
                   "traceorder": "normal"},
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": TYPE.text}},
        "dragmode": False,
        "xaxis": _axis(),
        "yaxis": _axis(),
    }
    if title:
        layout["title"] = {"text": title, "x": 0.01, "xanchor": "left", "y": 1,
                           "yref": "container", "yanchor": "top", "pad": {"t": 9},
                           "font": {"size": TYPE.title}}
    for key, value in extra.items():
        if key in ("xaxis", "yaxis"):
            axis = layout[key]
            for part in ("title", "tickfont"):
                if isinstance(value.get(part), dict):
                    axis[part] = {**axis[part], **value[part]}
            axis.update({k: v for k, v in value.items() if k not in ("title", "tickfont")
                         or not isinstance(v, dict)})
        else:
            layout[key] = value
    return layout


def _figure(spec: Spec) -> go.Figure:
    return go.Figure(spec)


# ------------------------------------------------------------------------------ empty
def empty_spec(message: str, *, font_size: int = TYPE.empty) -> Spec:
    """:func:`empty_figure` as a plain dict."""
    return {"data": [], "layout": _layout(
        font_size=font_size, xaxis={"visible": False}, yaxis={"visible": False},
        annotations=[{"text": message, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
                      "showarrow": False, "font": {"size": font_size, "color": MUTED}}])}


def empty_figure(message: str, *, font_size: int = TYPE.empty) -> go.Figure:
    """A calm empty state: no axes, one centred line of text (docs/research/wallscreen.md §4
    item 10: say 'no data' and why, never show 0 or a blank).

    Parameters
    ----------
    message : what to say, already in the reader's language.
    font_size : [design px].
    """
    return _figure(empty_spec(message, font_size=font_size))


# ------------------------------------------------------------------------------ map
def __getattr__(name: str) -> Any:
    """``map_spec`` and ``map_figure`` live in :mod:`carbon.dashboard.map`; kept here by name."""
    if name in ("map_spec", "map_figure"):
        from carbon.dashboard import map as _map  # lazily: map.py imports this module's style

        return getattr(_map, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    unit = t("u_t", lang)
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
            "hovertemplate": (f"{label}<br>%{{x|%Y-%m}}: %{{y:,.0f}} {unit}"
                              f"<br>{t('estimated', lang)} %{{customdata[0]:.1f}}%"
                              "<extra></extra>"),
        })
    totals = monthly.groupby("month")["co2e_t"].sum()
    top = float(totals.max()) if len(totals) and math.isfinite(totals.max()) else 1.0
    top = top if top > 0 else 1.0
    layout = _layout(
        legend=True, title=title, barmode="stack", bargap=0.25, hovermode="closest",
        margin={"l": 8, "r": 8, "t": 40 if title else 30, "b": 8},
        xaxis={"type": "date", "tickangle": 0,
               **_month_ticks(list(monthly["month"]), lang, SLOTS["trend"][0] - 90)},
        yaxis={"title": {"text": unit}, "rangemode": "tozero", "range": [0, top * 1.05],
               **_without_zero(number_ticks(0, top * 1.05, lang))})
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
        estimated visibly apart; docs/research/wallscreen.md §4 item 4). Month ticks are thinned
        to fit the slot and carry the year under each January; tonnes are ticked in the
        reader's convention (:func:`number_ticks`).
    """
    return _figure(trend_spec(monthly, by, lang, title))


# ------------------------------------------------------------------------------ rows
LINE_SPACING = 1.3
"""plotly's spacing of the lines of a multi-line text [em]."""


def wrap_text(text: str, width: float, size: float, max_lines: int = 2) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines of at most ``width`` [design px] at
    ``size`` [design px]: between words for Latin text, anywhere in CJK text; the last line
    ends in "…" if the text is longer still."""
    lines: list[str] = []
    rest = text.strip()
    while rest and len(lines) < max_lines:
        if text_width(rest, size) <= width or len(lines) == max_lines - 1:
            lines.append(fit_text(rest, width, size))
            break
        cut, used = 0, 0.0
        for i, ch in enumerate(rest):
            used += size * _char_em(ch)
            if used > width:
                break
            cut = i + 1
        space = rest.rfind(" ", 0, cut + 1)
        latin = cut < len(rest) and unicodedata.east_asian_width(rest[cut]) not in ("W", "F")
        if latin and space > 0:
            cut = space
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return lines or [""]


def _text_height(lines: int, size: float) -> float:
    """Height of the box ``lines`` lines of text take [design px]."""
    return TYPE.box(size) + (lines - 1) * LINE_SPACING * size


@dataclass(frozen=True)
class _Row:
    """One row of a list figure: text on top, then its bar [design px from the plot's top]."""

    top: float
    text: float  # height of the text box
    bar: float  # bar thickness

    @property
    def bar_centre(self) -> float:
        return self.top + self.text + 1.0 + self.bar / 2


def _stack(texts: Sequence[float], bar: float, gap: float, height: float) -> list[_Row]:
    """Rows from the top, each ``text`` [design px] of text over a ``bar`` [design px] bar,
    ``gap`` [design px] apart, as many as fit in ``height``; spare height widens the gaps a
    little (at most 6 px), the rest stays below the list."""
    need = [h + 1.0 + bar + gap for h in texts]
    n = 0
    while n < len(need) and sum(need[:n + 1]) <= height:
        n += 1
    n = max(n, 1)
    spare = min(6.0, max(0.0, height - sum(need[:n])) / n)
    rows, top = [], 0.0
    for h in texts[:n]:
        rows.append(_Row(top, h, bar))
        top += h + 1.0 + bar + gap + spare
    return rows


def _row_text(text: str, top: float, height: float, *, colour: str, size: float,
              left: bool = True, hover: str | None = None, bold: bool = False
              ) -> dict[str, Any]:
    """An annotation at the top of a row (y axis in design px from the plot's top, reversed):
    at the left (a name) or the right (its values)."""
    return {"text": f"<b>{text}</b>" if bold else text, "x": 0 if left else 1, "xref": "paper",
            "xanchor": "left" if left else "right", "y": top, "yref": "y", "yanchor": "top",
            "align": "left" if left else "right", "showarrow": False, "borderpad": 0,
            "font": {"size": size, "color": colour}, "hovertext": hover}


def _list_layout(height: float, top_margin: float, title: str | None, xmax: float,
                 notes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Layout of a list figure: no visible axes; y in design px from the top of the plot."""
    return _layout(title=title, annotations=notes,
                   margin={"l": 4, "r": 8, "t": top_margin, "b": 2},
                   yaxis={"visible": False, "range": [height, 0]},
                   xaxis={"visible": False, "range": [0, xmax]}, **extra)


# ------------------------------------------------------------------------------ ranking
def ranking_spec(ranking: pd.DataFrame, metric: str = "emissions", lang: str = "zh",
                 title: str | None = None) -> Spec:
    """:func:`ranking_figure` as a plain dict."""
    column = "intensity_kg_m2" if metric == "intensity" else "co2e_t"
    unit = t("u_kg_m2", lang) if metric == "intensity" else t("u_t", lang)
    frame = ranking.dropna(subset=[column]) if len(ranking) else ranking
    if frame.empty:
        return empty_spec(t("no_data", lang))
    width, height = SLOTS["ranking"]
    top_margin = 34 if title else 2
    plot_h, size = height - top_margin - 2, TYPE.small
    frame = frame.sort_values(column, ascending=False)
    rows = _stack([TYPE.box(size)] * len(frame), bar=5.0, gap=1.0, height=plot_h)
    frame = frame.head(len(rows))
    records = frame.to_dict("records")
    values = _floats(frame[column])
    top = max([v for v in values if v is not None] or [1.0])
    selected = [bool(r.get("selected", False)) for r in records]
    names = [name_of(r, lang) for r in records]
    trace = {
        "type": "bar", "orientation": "h", "x": values, "y": [r.bar_centre for r in rows],
        "width": rows[0].bar, "marker": {"color": [ACCENT if s else BAR for s in selected]},
        "customdata": [r["node_id"] for r in records], "hovertext": names,
        "hovertemplate": f"%{{hovertext}}: %{{x:,.1f}} {unit}<extra></extra>",
    }
    notes = []
    for row, name, sel, rec, v in zip(rows, names, selected, records, values, strict=True):
        value = fmt_number(v, lang)
        room = width - 12 - text_width(value, size) - 14
        shown = fit_text(name, room, size)
        colour = ACCENT if sel else (MUTED if is_placeholder(rec, lang) else TEXT)
        notes.append(_row_text(shown, row.top, row.text, colour=colour, size=size, bold=sel,
                               hover=name if shown != name else None))
        notes.append(_row_text(value, row.top, row.text, colour=TEXT, size=size, left=False))
    return {"data": [trace],
            "layout": _list_layout(plot_h, top_margin, title, top, notes, clickmode="event")}


def ranking_figure(ranking: pd.DataFrame, metric: str = "emissions", lang: str = "zh",
                   title: str | None = None) -> go.Figure:
    """The highest emitters as a list: each name over its bar with its value at the right,
    largest on top, the selection in cyan, placeholder names ('(名称未知)') muted.

    Parameters
    ----------
    ranking : from :meth:`carbon.dashboard.data.WallSnapshot.ranking`.
    metric : ``emissions`` [t CO2e] or ``intensity`` [kg CO2e / m2]; nodes without a value
        are left out.
    lang : ``zh`` or ``en``.
    title : optional title.

    Returns
    -------
    plotly.graph_objects.Figure
        As many rows as fit the wall's slot (:data:`SLOTS`, 10 at 1920 x 1080); a name wider
        than its line is shortened with "…" and shown in full on hover; a click on a bar
        reports its node id as ``customdata``.
    """
    return _figure(ranking_spec(ranking, metric, lang, title))


# ------------------------------------------------------------------------------ interventions
def _name_and_values(name: str, values: str, width: float, size: float
                     ) -> tuple[list[str], bool]:
    """A row's name wrapped in ``width`` [design px] (three lines at most), and whether its
    values (right-aligned) need a line of their own under it rather than sharing its last
    line."""
    lines = wrap_text(name, width, size, max_lines=3)
    return lines, text_width(lines[-1], size) + 14 + text_width(values, size) > width


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
                       "high_t": _sum(g["high_t"]), "ver_est_t": _sum(basis[verified])})
    groups = [g for g in groups if (g["estimated_t"] or 0) > 0 or g["verified_t"] is not None]
    if not groups:
        return empty_spec(t("no_interventions", lang))
    groups.sort(key=lambda r: -max(r["estimated_t"] or 0.0, r["verified_t"] or 0.0))
    width, height = SLOTS["interventions"]
    size = TYPE.text
    top_margin = (34 if title else 0) + math.ceil(TYPE.box(TYPE.small)) + 6
    plot_h = height - top_margin - 2
    values = []
    for r in groups:
        value = (f"{fmt_number(r['estimated_t'], lang)} / "
                 f"{fmt_number(r['verified_t'], lang) if r['verified_t'] is not None else '—'}")
        if r["verified_t"] is not None and r["ver_est_t"]:
            rate = fmt_percent(r["verified_t"] / r["ver_est_t"], lang, 0)
            same = r["estimated_t"] is not None and abs(r["ver_est_t"] - r["estimated_t"]) <= \
                0.01 * abs(r["estimated_t"])
            value += " · " + (t("realisation_rate", lang, rate=rate) if same else
                              t("realisation_of", lang, rate=rate,
                                basis=fmt_number(r["ver_est_t"], lang)))
        elif r["verified_t"] is None:
            value += " · " + t("not_verified", lang)
        values.append(value)
    blocks = [_name_and_values(r["label"], v, width - 12, size)
              for r, v in zip(groups, values, strict=True)]
    texts = [_text_height(len(lines), size) + (TYPE.box(size) if own else 0.0)
             for lines, own in blocks]
    rows = _stack(texts, bar=13.0, gap=3.0, height=plot_h)
    if len(rows) < len(groups):  # room for the line that says how many are not shown
        rows = _stack(texts, bar=13.0, gap=3.0, height=plot_h - TYPE.box(TYPE.small))
    left_out = len(groups) - len(rows)
    notes = []
    if left_out:
        notes.append({"text": plural("more_measures", left_out, lang), "x": 1, "xref": "paper",
                      "xanchor": "right", "y": 0, "yref": "paper", "yanchor": "bottom",
                      "showarrow": False, "font": {"size": TYPE.small, "color": MUTED}})
    groups, blocks, values = groups[:len(rows)], blocks[:len(rows)], values[:len(rows)]
    for row, r, (lines, own), value in zip(rows, groups, blocks, values, strict=True):
        cut = "".join(lines).replace(" ", "") != r["label"].replace(" ", "")
        notes.append(_row_text("<br>".join(lines), row.top, row.text, colour=TEXT, size=size,
                               hover=r["label"] if cut else None))
        top = row.top + (len(lines) - 1) * LINE_SPACING * size + (TYPE.box(size) if own else 0)
        notes.append(_row_text(value, top, row.text, colour=MUTED, size=size, left=False))
    legend = (f"<span style='color:{BAR}'>■</span> {t('estimated', lang)} "
              f"({t('range_whisker', lang)})  <span style='color:{DOWN}'>■</span> "
              f"{t('verified', lang)} · {t('unit_note', lang, unit=t('u_t', lang))}")
    notes.append({"text": legend, "x": 0, "xref": "paper", "xanchor": "left", "y": 1,
                  "yref": "paper", "yanchor": "bottom", "yshift": 3, "showarrow": False,
                  "font": {"size": TYPE.small, "color": MUTED}})
    xmax = max([v for r in groups for v in (r["estimated_t"], r["high_t"], r["verified_t"])
                if v is not None] or [1.0])
    ys = [row.bar_centre for row in rows]
    labels = [r["label"] for r in groups]
    unit = t("u_t", lang)
    plus = [max(0.0, r["high_t"] - r["estimated_t"]) if r["high_t"] is not None and
            r["estimated_t"] is not None else 0.0 for r in groups]
    minus = [max(0.0, r["estimated_t"] - r["low_t"]) if r["low_t"] is not None and
             r["estimated_t"] is not None else 0.0 for r in groups]
    est = {"type": "bar", "orientation": "h", "name": t("estimated", lang),
           "x": [r["estimated_t"] for r in groups], "y": ys, "width": rows[0].bar,
           "marker": {"color": BAR}, "hovertext": labels,
           "error_x": {"type": "data", "array": plus, "arrayminus": minus, "color": TEXT,
                       "thickness": 1.5, "width": 5, "visible": any(plus) or any(minus)},
           "hovertemplate": f"%{{hovertext}}<br>{t('estimated', lang)} %{{x:,.2f}} {unit}"
                            "<extra></extra>"}
    ver = {"type": "bar", "orientation": "h", "name": t("verified", lang),
           "x": [r["verified_t"] if r["verified_t"] is not None else 0.0 for r in groups],
           "y": ys, "width": rows[0].bar * 0.45, "marker": {"color": DOWN},
           "hovertext": labels,
           "hovertemplate": f"%{{hovertext}}<br>{t('verified', lang)} %{{x:,.2f}} {unit}"
                            "<extra></extra>"}
    return {"data": [est, ver], "layout": _list_layout(plot_h, top_margin, title, xmax * 1.02,
                                                        notes, barmode="overlay")}


def interventions_figure(records: pd.DataFrame, lang: str = "zh",
                         title: str | None = None) -> go.Figure:
    """Estimated vs verified tonnes avoided per kind of measure, with realisation rates.

    Records of the same measure (by name) are summed, so a measure fitted in ten compounds is
    one row: its name and values (estimated / verified, realisation) over a blue bar for the
    estimate, whose whisker is its range ``low_t``..``high_t``, with the verified amount as a
    thin green bar inside it. The realisation rate is verified / the estimate of the verified
    records over the same months (``verified_basis_t`` where the records give it); when that
    estimate differs from the blue bar's, the label names it.

    Parameters
    ----------
    records : from :meth:`carbon.dashboard.data.WallSnapshot.interventions_frame`: ``name_zh,
        name_en, estimated_t, verified_t, low_t, high_t`` [t CO2e].
    lang : ``zh`` or ``en``.
    title : optional title.

    Returns
    -------
    plotly.graph_objects.Figure
        The largest measures that fit the wall's slot; the calm 'no intervention results'
        state when there are none.
    """
    return _figure(interventions_spec(records, lang, title))


# ------------------------------------------------------------------------------ MACC
MACC_LINEAR_CNY_PER_T = 100.0
"""Below this cost [CNY / t CO2e] the MACC's height axis is linear, above it logarithmic."""


def _symlog(c: float) -> float:
    """The MACC's height axis: ``sign(c) log10(1 + |c| / 100)``; order and sign are kept,
    a 200 and a 13,000 CNY/t measure both stay visible."""
    return math.copysign(math.log10(1 + abs(c) / MACC_LINEAR_CNY_PER_T), c)


def _macc_ticks(low: float, high: float, lang: str, px_per_unit: float,
                reach: float) -> dict[str, Any]:
    """0 and powers of ten from 100 CNY/t up to about the dearest measure's cost (``reach``
    [CNY / t CO2e]), each far enough from the last to be read; the 1-2-5 steps between them
    when the powers of ten alone give fewer than two labels."""
    gap = TYPE.box(TYPE.small) + 2
    costs: list[float] = [0.0]
    for multiples in ((1,), (1, 2, 5)):
        costs = [0.0]
        for sign in (1, -1):
            last = 0.0
            for step in (m * 10.0 ** k for k in range(2, 8) for m in multiples):
                c = sign * step
                if abs(c) > 3 * reach:
                    break
                if low <= _symlog(c) <= high and abs(_symlog(c) - last) * px_per_unit >= gap:
                    costs.append(c)
                    last = _symlog(c)
        if len(costs) >= 3:
            break
    costs.sort()
    return {"tickmode": "array", "tickvals": [_symlog(c) for c in costs],
            "ticktext": [_tick_text([c], lang, "")[0] for c in costs]}


def _place_labels(boxes: list[tuple[float, float, float, float]],
                  wanted: list[tuple[float, float, float]], height: float
                  ) -> list[float | None]:
    """Greedy label placement: each label (centre x, width, lowest bottom y) [px] goes to the
    lowest free line above its bar, clear of the bars (``boxes``: x0, x1, y0, y1) and of the
    labels placed before it; None when no line below ``height`` is free."""
    placed: list[tuple[float, float, float, float]] = []
    out: list[float | None] = []
    line = TYPE.box(TYPE.small)
    for cx, w, base in wanted:
        x0, x1 = cx - w / 2, cx + w / 2
        y = base
        spot = None
        while y + line <= height:
            box = (x0, x1, y, y + line)
            if not any(b[0] < box[1] - 1 and box[0] < b[1] - 1 and b[2] < box[3] and
                       box[2] < b[3] for b in [*boxes, *placed]):
                spot = y
                placed.append(box)
                break
            y += line / 2
        out.append(spot)
    return out


def macc_spec(measures: pd.DataFrame, lang: str = "zh", title: str | None = None) -> Spec:
    """:func:`macc_figure` as a plain dict."""
    if measures is None or measures.empty:
        return empty_spec(t("no_interventions", lang))
    tonnes = "abatement_t" if "abatement_t" in measures else "estimated_t"
    m = measures[measures[tonnes].astype(float) > 0].dropna(subset=["cost_per_t_cny"])
    if m.empty:
        return empty_spec(t("no_costed_measures", lang))
    m = m.sort_values("cost_per_t_cny", kind="stable")
    width_t = m[tonnes].to_numpy(dtype=float)
    total = float(width_t.sum())
    drawn = np.maximum(width_t, 0.015 * total)  # a sliver stays visible (hover: the real t)
    left = np.concatenate([[0.0], np.cumsum(drawn)[:-1]])
    cost = [float(c) for c in m["cost_per_t_cny"]]
    height_v = [_symlog(c) for c in cost]
    names = [name_of(r, lang) for r in m.to_dict("records")]
    unit_cost, unit_t = t("u_cny_per_t", lang), t("u_t_per_yr", lang)
    # the slot's plot area [design px] with fixed margins, so labels can be laid out
    slot_w, slot_h = SLOTS["macc"]
    axes_note = t("macc_axes", lang)
    line = TYPE.box(TYPE.small)
    beside = title is not None and (text_width(title, TYPE.title) + 16 +
                                    text_width(axes_note, TYPE.small) <= slot_w)
    margin = {"t": (34 if title else 0) + (0 if beside else math.ceil(line) + 4), "b": 26,
              "r": 10}
    plot_h = slot_h - margin["t"] - margin["b"]
    x_hi = float(drawn.sum())
    y_lo = min(0.0, min(height_v)) * 1.15
    head = TYPE.box(TYPE.small) + 4  # room for the tallest bar's label
    top = max(0.0, max(height_v))
    y_hi = (top - head * y_lo / plot_h) / (1 - head / plot_h) if top > 0 else 1.0
    y_ticks = _macc_ticks(y_lo, y_hi, lang, plot_h / (y_hi - y_lo), max(abs(c) for c in cost))
    widest = max(text_width(x, TYPE.small) for x in y_ticks["ticktext"])
    margin["l"] = math.ceil(widest + 14)
    plot_w = slot_w - margin["l"] - margin["r"]

    def px_x(v: float) -> float:
        return v / x_hi * plot_w

    def px_y(v: float) -> float:
        return (v - y_lo) / (y_hi - y_lo) * plot_h

    bars = [(px_x(a), px_x(a + w), px_y(min(0.0, h)), px_y(max(0.0, h)))
            for a, w, h in zip(left, drawn, height_v, strict=True)]
    inside: dict[int, str] = {}  # a label that fits inside its own bar goes there
    for i, ((x0, x1, y0, y1), name) in enumerate(zip(bars, names, strict=True)):
        label = fit_text(name, x1 - x0 - 8, TYPE.small)
        if y1 - y0 >= line + 2 and len(label) >= min(len(name), 4):
            inside[i] = label
    shown = [inside.get(i) or fit_text(n, 150, TYPE.small) for i, n in enumerate(names)]
    wanted = []
    for (x0, x1, _, y1), label in zip(bars, shown, strict=True):
        w = text_width(label, TYPE.small)
        cx = min(max((x0 + x1) / 2, w / 2), plot_w - w / 2)
        wanted.append((cx, w, max(y1, px_y(0.0)) + 2))
    outside = [i for i in range(len(bars)) if i not in inside]
    placed = _place_labels(bars, [wanted[i] for i in outside], plot_h)
    spots: list[float | None] = [None] * len(bars)
    for i, y in zip(outside, placed, strict=True):
        spots[i] = y
    for i in inside:
        x0, x1, y0, y1 = bars[i]
        spots[i] = (y0 + y1) / 2 - line / 2
    notes: list[dict[str, Any]] = [{  # the height's unit, horizontal (read from 5 m)
        "text": axes_note, "x": 1, "xref": "paper", "xanchor": "right", "y": 1,
        "yref": "paper", "yanchor": "bottom", "yshift": 6 if beside else 2, "showarrow": False,
        "font": {"size": TYPE.small, "color": MUTED}}]
    for i, ((cx, _, base), y, label, name) in enumerate(zip(wanted, spots, shown, names,
                                                             strict=True)):
        if y is None:
            continue
        note = {"text": label, "x": cx / plot_w * x_hi, "xref": "x", "xanchor": "center",
                "y": y_lo + y / plot_h * (y_hi - y_lo), "yref": "y", "yanchor": "bottom",
                "showarrow": False, "hovertext": name,
                "font": {"size": TYPE.small, "color": "#0b1a33" if i in inside else TEXT}}
        x0, x1 = bars[i][0], bars[i][1]
        if i not in inside and (y - base > 3 or not x0 <= cx <= x1):
            # a label moved off its bar points at it
            note.update(showarrow=True, arrowhead=0, arrowwidth=1, arrowcolor=MUTED,
                        standoff=1, axref="x", ayref="y", ax=note["x"], ay=note["y"],
                        x=(x0 + x1) / 2 / plot_w * x_hi,
                        y=y_lo + (base - 2) / plot_h * (y_hi - y_lo))
        notes.append(note)
    trace = {
        "type": "bar", "x": _floats(left + drawn / 2), "y": height_v, "width": _floats(drawn),
        "marker": {"color": [DOWN if c < 0 else "#ffdb5c" for c in cost],
                   "line": {"color": "#0b1a33", "width": 1}},
        "hovertext": names, "customdata": [[w, c] for w, c in zip(_floats(width_t), cost,
                                                                   strict=True)],
        "hovertemplate": (f"%{{hovertext}}<br>%{{customdata[0]:,.1f}} {unit_t} · "
                          f"%{{customdata[1]:,.0f}} {unit_cost}<extra></extra>")}
    layout = _layout(
        title=title, annotations=notes, margin=margin, bargap=0,
        xaxis={"automargin": False,
               "range": [0, x_hi], **number_ticks(0, x_hi, lang, count=4)},
        yaxis={"automargin": False, "range": [y_lo, y_hi], "zeroline": True,
               "zerolinecolor": MUTED, **y_ticks})
    return {"data": [trace], "layout": layout}


def macc_figure(measures: pd.DataFrame, lang: str = "zh", title: str | None = None
                ) -> go.Figure:
    """A marginal abatement cost curve: one bar per measure, width its tonnes a year, height its
    cost per tonne, cheapest first, each bar labelled with its measure.

    The height axis is linear up to 100 CNY/t and logarithmic above (labelled as such), so a
    measure at 200 CNY/t and one at 13,000 CNY/t are both readable and savings (negative
    costs, green) stay visible below zero. Measures narrower than 1.5 % of the total are drawn
    1.5 % wide so they can be seen; the hover gives their real tonnes. Measures without a cost
    or without tonnes are left out.

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
        return empty_spec(t("no_data", lang), font_size=TYPE.text)
    m = monthly.sort_values("month")
    share = m["completeness"].astype(float).to_numpy()
    missing = [round((1 - v) * 100, 6) if math.isfinite(v) else None for v in share]
    months = [pd.Timestamp(d) for d in m["month"]]
    worst = max((v for v in missing if v is not None), default=0.0)
    if worst < 0.05:  # nothing to draw: say so, with the period
        first, last = months[0], months[-1]
        text = t("dq_all_complete", lang, n=len(months),
                 first=_month_name(first, lang), last=_month_name(last, lang))
        spec = empty_spec(text, font_size=TYPE.text)
        spec["layout"]["annotations"][0]["font"]["color"] = DOWN
        return spec
    limit = (1 - threshold) * 100
    top = max(1.0, worst * 1.2, limit * 1.1 if worst > limit * 0.6 else 0.0)
    trace = {"type": "bar", "x": [d.strftime("%Y-%m-%d") for d in months], "y": missing,
             "marker": {"color": [UP if (v or 0) > limit else AMBER for v in missing]},
             "customdata": [[None if v is None else 100 - v] for v in missing],
             "hovertemplate": (f"%{{x|%Y-%m}}: {t('dq_missing_share', lang)} %{{y:.1f}}% · "
                               f"{t('kpi_completeness', lang)} %{{customdata[0]:.1f}}%"
                               "<extra></extra>")}
    shapes, notes = [], []
    if limit <= top:  # the limit, drawn and named
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": limit,
                       "y1": limit, "line": {"color": MUTED, "dash": "dash", "width": 1}})
        notes.append({"text": t("dq_limit", lang, limit=fmt_percent(limit / 100, lang, 0)),
                      "x": 0, "xref": "paper", "xanchor": "left", "y": limit, "yref": "y",
                      "yanchor": "bottom", "showarrow": False,
                      "font": {"size": TYPE.small, "color": MUTED}})
    layout = _layout(
        title=title, shapes=shapes, annotations=notes, bargap=0.2,
        margin={"l": 8, "r": 8, "t": 34 if title else 6,
                "b": math.ceil(TYPE.box(TYPE.small)) + 8},
        yaxis={"range": [0, top],
               **_without_zero(number_ticks(0, top, lang, count=2, suffix="%"))},
        xaxis={"type": "date", "tickangle": 0, "automargin": False,
               **_month_ticks(months, lang, SLOTS["quality"][0] - 60, one_line=True)})
    return {"data": [trace], "layout": layout}


def _month_name(month: pd.Timestamp, lang: str) -> str:
    return f"{month.year}年{month.month}月" if lang == "zh" else month.strftime("%b %Y")


def completeness_figure(monthly: pd.DataFrame, lang: str = "zh", threshold: float = 0.9,
                        title: str | None = None) -> go.Figure:
    """The share of meter readings missing, by month.

    Bars grow from 0 (a complete month has none), so a month with a 3 % gap stands out and a
    fully metered period reads as one green sentence instead of a row of identical bars.
    Months missing more than ``1 - threshold`` are red, with a dashed line at that limit.

    Parameters
    ----------
    monthly : ``month, completeness`` [dimensionless] (from
        :meth:`carbon.dashboard.data.WallSnapshot.quality`).
    threshold : the completeness below which a month is red [dimensionless].
    lang : ``zh`` or ``en``.
    title : optional title.
    """
    return _figure(completeness_spec(monthly, lang, threshold, title))
