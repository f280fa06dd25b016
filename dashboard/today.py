"""The wall's "今日 / Today" view: so far today against the usual day, silent meters, freshness.

It reads ``today.json`` from the folder the wall serves (:func:`carbon.today.publish_today`
writes it there: the collector after its commits, ``carbon demo`` for the last day of its
data); it never opens the store, which the collector holds. The page asks every
:data:`POLL_SECONDS` whether the file changed (one ``stat``) and reads it again only then, so a
new reading reaches the screen within a poll of its publication.

On the page: four tiles (emissions and energy so far with the usual and its range, the newest
reading with its age, the silent meters), the cumulative curve of the selected node against
the usual band, the blocks as a list of bars (so far against the usual, % of usual; a click
selects the node of the curve) and the silent meters as an alert list, big and red when there
are any. Data older than :data:`STALE_AFTER` are shown loudly, unless they are historical or
synthetic (the demo), which is said instead. Without ``today.json`` the view says calmly that no
live collector is connected.

:func:`layout` and :func:`register` are what :mod:`carbon.dashboard.app` hooks in; the figure
and the lists are pure functions of a :class:`carbon.today.Today` (:func:`curve_spec`,
:func:`tiles`, :func:`block_rows`, :func:`silent_rows`, :func:`freshness`), for tests and
notebooks.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from carbon.dashboard.figures import (
    ACCENT,
    FONT_FAMILY,
    GRID,
    MUTED,
    TEXT,
    TYPE,
    empty_spec,
    number_ticks,
)
from carbon.dashboard.i18n import (
    LANGS,
    Formatted,
    fmt_count,
    fmt_energy,
    fmt_number,
    fmt_percent,
    fmt_tonnes,
    is_placeholder,
    name_of,
    t,
)
from carbon.today import FILE_NAME, Today, TodayError, read_today

__all__ = [
    "POLL_SECONDS",
    "STALE_AFTER",
    "block_rows",
    "curve_spec",
    "freshness",
    "layout",
    "register",
    "silent_rows",
    "tiles",
    "today_path",
]

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
"""How often the page asks whether ``today.json`` changed [s]: a new reading shows within this
(plus one render) of its publication, well inside the 60 s of issue 16."""

STALE_AFTER = dt.timedelta(minutes=30)
"""A newest reading older than this is stale, shown loudly. ASSUMPTION (issue 16's example):
two hourly readings' worth of margin would be 2 h; half an hour catches a stopped 15-minute
feed within two missed readings."""

SILENT_ROWS = 8
"""Silent meters listed by name; the rest are counted."""

BAND = "rgba(127, 156, 199, 0.28)"
USUAL = "#9fb8dd"


def today_path(source: Any) -> Path:
    """Where the wall looks for ``today.json``: in the snapshots folder it serves (the parent
    folder when it is pinned to one snapshot). ``source`` is a
    :class:`carbon.dashboard.data.SnapshotSource` or a folder."""
    folder = Path(getattr(source, "path", source))
    if getattr(source, "pinned", False) or (folder / "manifest.json").is_file():
        folder = folder.parent
    return folder / FILE_NAME


# ------------------------------------------------------------------------------ numbers
def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _mass(kg: float | None, lang: str) -> Formatted:
    """A mass in tonnes (万吨 / kt from the i18n rules), in kilograms below a tonne."""
    if kg is not None and abs(kg) < 1000:
        return Formatted(fmt_number(kg, lang), t("td_u_kg", lang))
    return fmt_tonnes(kg / 1000 if kg is not None else None, lang)


def _tonnes(kg: Any, lang: str) -> str:
    return str(_mass(_num(kg), lang))


def _range(low: Any, high: Any, fmt: Any, lang: str) -> tuple[str, str]:
    """The ends of a range, the unit said once when both ends have the same."""
    a, b = (fmt(_num(x), lang) for x in (low, high))
    return (a.value, str(b)) if a.unit == b.unit else (str(a), str(b))


def _clock(value: dt.datetime | None, day: dt.date | None = None) -> str:
    """``HH:MM`` (24:00 for the midnight that ends ``day``); the date too when not on ``day``."""
    if value is None:
        return "—"
    if (
        day is not None
        and value.date() == day + dt.timedelta(days=1)
        and value.time() == dt.time(0)
    ):
        return "24:00"
    if day is not None and value.date() != day:
        return f"{value:%Y-%m-%d %H:%M}"
    return f"{value:%H:%M}"


def _age(seconds: float, lang: str) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 120:
        return t("td_age_min", lang, n=minutes)
    if minutes < 48 * 60:
        return t("td_age_h", lang, n=minutes // 60)
    return t("td_age_d", lang, n=fmt_count(minutes // 1440, lang))


def _weekday(day: dt.date, lang: str) -> str:
    return t(f"td_wd{day.weekday()}", lang)


# ------------------------------------------------------------------------------ pure parts
def freshness(
    today: Today | None, lang: str, now: float | None = None, problem: str | None = None
) -> dict[str, Any]:
    """The status line and the newest-reading tile: ``status`` (text), ``status_class``
    (``calm``, ``live``, ``historical`` or ``stale``), ``newest`` (``HH:MM``), ``age`` (text).

    ``now`` is the wall clock [s since the epoch] (default: now); ``problem`` a reason the
    file could not be read."""
    if today is None:
        if problem:
            return {
                "status": f"{t('td_bad_file', lang)}: {problem}",
                "status_class": "stale",
                "newest": "—",
                "age": "",
            }
        return {
            "status": f"{t('td_no_live', lang)} · {t('td_no_live_detail', lang)}",
            "status_class": "calm",
            "newest": "—",
            "age": "",
        }
    clock = time.time() if now is None else now
    newest = today.newest_reading
    age_s = clock - newest.timestamp() if newest is not None else math.inf
    age = _age(age_s, lang) if newest is not None else t("td_no_reading", lang)
    stamp = _clock(newest, today.day)
    if today.synthetic or today.historical:
        bits = [t("td_historical", lang, day=today.day.isoformat())]
        if today.synthetic:
            bits.append(t("td_synthetic", lang))
        return {
            "status": " · ".join(bits),
            "status_class": "historical",
            "newest": stamp,
            "age": t("td_as_of", lang, time=f"{today.as_of:%Y-%m-%d %H:%M}"),
        }
    if age_s > STALE_AFTER.total_seconds():
        return {
            "status": t("td_stale", lang, time=stamp, age=age),
            "status_class": "stale",
            "newest": stamp,
            "age": age,
        }
    published = today.computed_at.astimezone(today.as_of.tzinfo)
    return {
        "status": t("td_live", lang, time=f"{published:%H:%M:%S}"),
        "status_class": "live",
        "newest": stamp,
        "age": age,
    }


def tiles(today: Today, lang: str) -> dict[str, tuple[str, str, str, str]]:
    """Label, value, sub-line and footer of the emissions, energy and silent tiles."""
    root = today.node(today.root) if len(today.nodes) else {}
    upto = _clock(today.as_of, today.day)
    out: dict[str, tuple[str, str, str, str]] = {}
    share = _num(root.get("share_of_usual"))
    pct = (
        t("td_of_usual", lang, pct=fmt_percent(share, lang, 0))
        if share is not None
        else t("td_no_usual", lang)
    )
    out["emissions"] = (
        t("td_emissions", lang, time=upto),
        _tonnes(root.get("co2e_kg"), lang),
        t(
            "td_usual",
            lang,
            value=_tonnes(root.get("usual_co2e_kg"), lang),
            **dict(
                zip(
                    ("low", "high"),
                    _range(
                        root.get("usual_min_co2e_kg"), root.get("usual_max_co2e_kg"), _mass, lang
                    ),
                    strict=True,
                )
            ),
        )
        if share is not None
        else "",
        pct,
    )
    energy = _num(root.get("energy_kwh"))
    out["energy"] = (
        t("td_energy", lang, time=upto),
        str(fmt_energy(energy, lang)),
        t(
            "td_usual",
            lang,
            value=str(fmt_energy(_num(root.get("usual_energy_kwh")), lang)),
            **dict(
                zip(
                    ("low", "high"),
                    _range(
                        root.get("usual_min_energy_kwh"),
                        root.get("usual_max_energy_kwh"),
                        fmt_energy,
                        lang,
                    ),
                    strict=True,
                )
            ),
        )
        if share is not None
        else "",
        t(
            "td_meters",
            lang,
            reporting=fmt_count(root.get("reporting", 0), lang),
            meters=fmt_count(root.get("meters", 0), lang),
        ),
    )
    minutes = int(today.interval.total_seconds() // 60) * today.silent_after
    out["silent"] = (
        t("td_silent_tile", lang),
        fmt_count(len(today.silent), lang),
        t("td_silent_rule", lang, n=today.silent_after, minutes=minutes),
        t("td_basis", lang, n=len(today.history_days), weekday=_weekday(today.day, lang)),
    )
    return out


def curve_spec(today: Today, node: str, lang: str) -> dict[str, Any]:
    """The cumulative emissions of ``node`` today against the usual mean and its min-max band,
    by time of day [t CO2e, or kg below a tonne]."""
    curve = today.node_curve(node)
    if not len(curve):
        return empty_spec(t("no_data", lang))  # pragma: no cover - a node always has a curve
    top = max((_num(curve[c].max()) or 0.0) for c in ("co2e_kg", "usual_max_co2e_kg"))
    tonnes = top >= 1000
    div = 1000.0 if tonnes else 1.0
    unit = t("u_t", lang) if tonnes else t("td_u_kg", lang)
    # Points where nothing changes are left out and the line joins the others straight, so
    # hourly meters on a 15-minute curve draw their hour as a slope, not as a stair.
    values = curve[["co2e_kg", "usual_co2e_kg", "usual_min_co2e_kg", "usual_max_co2e_kg"]]
    values = values.fillna(-1.0)  # NaN after now is no change either
    moved = values.ne(values.shift()).any(axis=1).to_numpy(copy=True)
    moved[0] = True
    known = curve["co2e_kg"].notna().to_numpy()
    last_known = max((i for i, k in enumerate(known) if k), default=None)
    if last_known is not None:
        moved[last_known] = True
    moved[-1] = True
    curve = curve[moved].reset_index(drop=True)
    hours = [m / 60 for m in curve["minutes"]]

    def ys(column: str) -> list[float | None]:
        return [None if (v := _num(x)) is None else v / div for x in curve[column]]

    today_y = ys("co2e_kg")
    has_usual = any(v is not None for v in ys("usual_co2e_kg"))
    traces: list[dict[str, Any]] = []
    if has_usual:
        traces += [
            {
                "type": "scatter",
                "mode": "lines",
                "x": hours,
                "y": ys("usual_max_co2e_kg"),
                "line": {"width": 0, "color": BAND},
                "hoverinfo": "skip",
                "showlegend": False,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": hours,
                "y": ys("usual_min_co2e_kg"),
                "fill": "tonexty",
                "fillcolor": BAND,
                "line": {"width": 0, "color": BAND},
                "name": t("td_band", lang),
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": hours,
                "y": ys("usual_co2e_kg"),
                "line": {"width": 3, "color": USUAL, "dash": "dash"},
                "name": t("td_usual_line", lang),
                "hovertemplate": f"%{{y:,.1f}} {unit}<extra></extra>",
            },
        ]
    last = max((i for i, v in enumerate(today_y) if v is not None), default=None)
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "x": hours,
            "y": today_y,
            "line": {"width": 5, "color": ACCENT},
            "name": t("td_today", lang),
            "hovertemplate": f"%{{y:,.1f}} {unit}<extra></extra>",
        }
    )
    if last is not None:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [hours[last]],
                "y": [today_y[last]],
                "marker": {"size": 14, "color": ACCENT},
                "showlegend": False,
                "hoverinfo": "skip",
            }
        )
    high = max(top / div * 1.08, 1e-9)
    ticks = number_ticks(0, high, lang)
    keep = [i for i, v in enumerate(ticks["tickvals"]) if v != 0]  # "0" would meet "00:00"
    ticks = {
        **ticks,
        "tickvals": [ticks["tickvals"][i] for i in keep],
        "ticktext": [ticks["ticktext"][i] for i in keep],
    }
    axis = {
        "gridcolor": GRID,
        "zeroline": False,
        "linecolor": GRID,
        "fixedrange": True,
        "automargin": True,
        "tickfont": {"color": MUTED, "size": TYPE.small},
    }
    layout = {
        "template": {"layout": {}},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT_FAMILY, "size": TYPE.text, "color": TEXT},
        "margin": {"l": 8, "r": 16, "t": 40, "b": 8},
        "showlegend": True,
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.0,
            "yanchor": "bottom",
            "font": {"size": TYPE.text},
            "bgcolor": "rgba(0,0,0,0)",
        },
        "hovermode": "x",
        "dragmode": False,
        "xaxis": {
            **axis,
            "range": [0, 24],
            "tickmode": "array",
            "tickvals": list(range(0, 25, 3)),
            "ticktext": [f"{h:02d}:00" for h in range(0, 25, 3)],
        },
        "yaxis": {
            **axis,
            "range": [0, high],
            "rangemode": "tozero",
            "title": {"text": unit, "font": {"color": MUTED, "size": TYPE.small}},
            **ticks,
        },
    }
    return {"data": traces, "layout": layout}


def block_rows(today: Today, selected: str, lang: str) -> list[Any]:
    """One row per node (the root first): name, a bar of so far against the usual band and
    mean, the amount and the % of usual; a click selects the node."""
    rows = []
    for r in today.nodes.to_dict("records"):
        co2e = _num(r["co2e_kg"]) or 0.0
        usual, low, high = (
            _num(r[c]) for c in ("usual_co2e_kg", "usual_min_co2e_kg", "usual_max_co2e_kg")
        )
        scale = max(co2e, high or 0.0, usual or 0.0) * 1.1 or 1.0
        share = _num(r["share_of_usual"])
        bar_class = "td-bar"
        if share is not None and high is not None and co2e > high:
            bar_class += " over"
        elif share is not None and low is not None and co2e < low:
            bar_class += " under"
        track = (
            [
                html.Div(
                    className="td-band",
                    style={
                        "left": f"{100 * (low or 0) / scale:.2f}%",
                        "width": f"{100 * ((high or 0) - (low or 0)) / scale:.2f}%",
                    },
                )
            ]
            if low is not None
            else []
        )
        track.append(html.Div(className=bar_class, style={"width": f"{100 * co2e / scale:.2f}%"}))
        if usual is not None:
            track.append(
                html.Div(className="td-mark", style={"left": f"{100 * usual / scale:.2f}%"})
            )
        pct = fmt_percent(share, lang, 0) if share is not None else "—"
        cls = (
            "td-row"
            + (" selected" if r["node_id"] == selected else "")
            + (" td-root" if r["node_id"] == today.root else "")
        )
        rows.append(
            html.Button(
                [
                    html.Div(
                        [
                            html.Span(
                                name_of(r, lang),
                                className="td-name placeholder"
                                if is_placeholder(r, lang)
                                else "td-name",
                            ),
                            html.Span(
                                [
                                    html.Span(_tonnes(co2e, lang), className="td-value"),
                                    html.Span(pct, className="td-pct"),
                                ],
                                className="td-nums",
                            ),
                        ],
                        className="td-row-head",
                    ),
                    html.Div(track, className="td-track"),
                ],
                id={"type": "today-node", "id": str(r["node_id"])},
                className=cls,
                n_clicks=0,
            )
        )
    return rows


def silent_rows(today: Today, lang: str) -> list[Any]:
    """The silent meters, longest silent first; a calm line when there are none."""
    if not len(today.silent):
        return [html.Div(t("td_silent_none", lang), className="td-ok")]
    rows = []
    for r in today.silent.head(SILENT_ROWS).to_dict("records"):
        last = r["last_end"]
        when = _clock(last.to_pydatetime() if hasattr(last, "to_pydatetime") else last, today.day)
        rows.append(
            html.Div(
                [
                    html.Span(str(r["meter_id"]), className="td-meter"),
                    html.Span(
                        t(
                            "td_silent_row",
                            lang,
                            node=name_of(r, lang),
                            time=when,
                            n=fmt_count(r["intervals_missed"], lang),
                        ),
                        className="td-why",
                    ),
                ],
                className="td-alert-row",
            )
        )
    more = len(today.silent) - SILENT_ROWS
    if more > 0:
        rows.append(
            html.Div(t("td_silent_more", lang, n=fmt_count(more, lang)), className="td-more")
        )
    return rows


# ------------------------------------------------------------------------------ layout
def _tile(key: str) -> html.Div:
    return html.Div(
        [
            html.Div(id=f"td-{key}-label", className="td-tile-label"),
            html.Div(id=f"td-{key}-value", className="td-tile-value"),
            html.Div(id=f"td-{key}-sub", className="td-tile-sub"),
            html.Div(id=f"td-{key}-foot", className="td-tile-foot"),
        ],
        id=f"td-{key}",
        className="td-tile",
    )


def _panel(pid: str, *children: Any, extra: str = "") -> html.Div:
    return html.Div(
        [
            html.Div(html.Div(id=f"{pid}-title", className="panel-title"), className="panel-head"),
            html.Div(list(children), className="panel-body"),
        ],
        id=f"{pid}-panel",
        className=f"panel {extra}".strip(),
    )


def layout(lang: str = "zh", *, poll_seconds: float = POLL_SECONDS) -> html.Div:
    """The view, hidden until the header's 今日 button (or ``?view=today``) shows it; it lies
    over the monthly view's tiles and panels, below the header."""
    return html.Div(
        [
            dcc.Store(id="today-on", data=False),
            dcc.Store(id="today-version", data=None),
            dcc.Store(id="today-sel", data=None),
            dcc.Interval(id="today-poll", interval=int(poll_seconds * 1000), disabled=True),
            html.Div(id="today-status", className="today-status calm"),
            html.Div(
                [_tile("emissions"), _tile("energy"), _tile("newest"), _tile("silent")],
                className="today-tiles",
            ),
            html.Div(
                [
                    _panel(
                        "today-curve",
                        dcc.Graph(
                            id="today-curve",
                            className="graph",
                            figure=empty_spec(""),
                            config={
                                "displayModeBar": False,
                                "scrollZoom": False,
                                "doubleClick": False,
                                "responsive": True,
                            },
                        ),
                    ),
                    html.Div(
                        [
                            _panel(
                                "today-blocks", html.Div(id="today-blocks", className="td-rows")
                            ),
                            _panel(
                                "today-silent", html.Div(id="today-silent", className="td-alerts")
                            ),
                        ],
                        className="today-side",
                    ),
                ],
                className="today-main",
            ),
        ],
        id="today-view",
        className="today-view hidden",
    )


# ------------------------------------------------------------------------------ callbacks
TILE_OUT = [
    f"td-{k}-{p}"
    for k in ("emissions", "energy", "silent")
    for p in ("label", "value", "sub", "foot")
]


def register(app: Dash, source: Any) -> None:
    """The view's callbacks: the header toggle, the file watch, the render and the clock."""
    path = today_path(source)
    cache: dict[str, Any] = {"version": object(), "today": None, "problem": None}
    lock = threading.Lock()

    def signature() -> str | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return f"{st.st_mtime_ns}:{st.st_size}"

    def load(version: Any) -> tuple[Today | None, str | None]:
        """The figures of the file as of ``version`` (read again only when it changed)."""
        with lock:
            if cache["version"] != version:
                today, problem = None, None
                if version is not None:
                    try:
                        today = read_today(path)
                    except TodayError as exc:
                        problem = str(exc)[:200]
                        log.warning("wall: %s", exc)
                cache.update(version=version, today=today, problem=problem)
            return cache["today"], cache["problem"]

    @app.callback(
        Output("today-on", "data"),
        Input("today-btn", "n_clicks"),
        Input("url", "search"),
        State("today-on", "data"),
    )
    def toggle(clicks: int | None, search: str | None, on: Any) -> Any:
        on = bool(on)
        if ctx.triggered_id == "today-btn" and clicks:
            return not on
        if isinstance(search, str):
            view = parse_qs(search.lstrip("?")).get("view", [None])[0]
            if view in ("today", "month"):
                return view == "today"
        return no_update

    @app.callback(
        Output("today-view", "className"),
        Output("today-btn", "children"),
        Output("today-poll", "disabled"),
        Input("today-on", "data"),
        Input("lang", "data"),
        prevent_initial_call=True,  # the layout starts hidden, in the page's language
    )
    def show(on: Any, lang: Any) -> tuple[str, str, bool]:
        """Show or hide the view; the hidden view asks the server nothing."""
        lang = lang if lang in LANGS else "zh"
        return (
            ("today-view" if on else "today-view hidden"),
            t("month_btn" if on else "today_btn", lang),
            not on,
        )

    @app.callback(
        Output("today-version", "data"),
        Input("today-poll", "n_intervals"),
        Input("today-on", "data"),
        State("today-version", "data"),
        prevent_initial_call=True,
    )
    def watch(_n: Any, on: Any, shown: Any) -> Any:
        if not on:
            return no_update
        version = signature()
        return version if version != shown else no_update

    @app.callback(
        Output("today-sel", "data"),
        Input({"type": "today-node", "id": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def select(clicks: list[Any]) -> Any:
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(clicks or []):
            return no_update
        node = trigger.get("id")
        return node if isinstance(node, str) and len(node) < 200 else no_update

    @app.callback(
        *[Output(i, "children") for i in TILE_OUT],
        Output("today-curve", "figure"),
        Output("today-curve-title", "children"),
        Output("today-blocks-title", "children"),
        Output("today-blocks", "children"),
        Output("today-silent-title", "children"),
        Output("today-silent", "children"),
        Output("today-silent-panel", "className"),
        Input("today-version", "data"),
        Input("today-sel", "data"),
        Input("today-on", "data"),
        Input("lang", "data"),
        prevent_initial_call=True,
    )
    def render(version: Any, sel: Any, on: Any, lang: Any) -> list[Any]:
        if not on:
            return [no_update] * (len(TILE_OUT) + 7)
        lang = lang if lang in LANGS else "zh"
        try:
            today, problem = load(version)
            return _render(today, problem, sel, lang)
        except Exception:  # never a stack trace on the wall
            log.exception("wall: today view failed")
            return _render(None, t("panel_failed", lang), sel, lang)

    @app.callback(
        Output("today-status", "children"),
        Output("today-status", "className"),
        Output("td-newest-label", "children"),
        Output("td-newest-value", "children"),
        Output("td-newest-sub", "children"),
        Output("td-newest-foot", "children"),
        Input("today-poll", "n_intervals"),
        Input("today-version", "data"),
        Input("today-on", "data"),
        Input("lang", "data"),
        State("today-status", "children"),
        State("today-status", "className"),
        State("td-newest-label", "children"),
        State("td-newest-value", "children"),
        State("td-newest-sub", "children"),
        State("td-newest-foot", "children"),
        prevent_initial_call=True,
    )
    def fresh(_n: Any, version: Any, on: Any, lang: Any, *shown: Any) -> list[Any]:
        """The status line and the newest-reading tile; nothing is sent when they are as
        shown (every poll asks, the age changes once a minute)."""
        if not on:
            return [no_update] * 6
        lang = lang if lang in LANGS else "zh"
        today: Today | None = None
        try:
            today, problem = load(version)
            f = freshness(today, lang, problem=problem)
        except Exception:
            log.exception("wall: today freshness failed")
            f = {
                "status": t("panel_failed", lang),
                "status_class": "stale",
                "newest": "—",
                "age": "",
            }
        foot = (
            t("td_day", lang, day=today.day.isoformat(), weekday=_weekday(today.day, lang))
            if today is not None
            else ""
        )
        out = [
            f["status"],
            f"today-status {f['status_class']}",
            t("td_newest", lang),
            f["newest"],
            f["age"],
            foot,
        ]
        return [no_update] * 6 if out == list(shown) else out


def _render(today: Today | None, problem: str | None, sel: Any, lang: str) -> list[Any]:
    if today is None or not len(today.nodes):
        message = f"{t('td_bad_file', lang)}: {problem}" if problem else t("td_no_live", lang)
        calm = html.Div(
            [
                html.Div(
                    t("td_no_live", lang) if not problem else t("td_bad_file", lang),
                    className="calm-title",
                ),
                html.Div(problem or t("td_no_live_detail", lang), className="calm-text"),
            ],
            className="calm",
        )
        labels = {
            "emissions": t("td_emissions", lang, time="—"),
            "energy": t("td_energy", lang, time="—"),
            "silent": t("td_silent_tile", lang),
        }
        tile_values: list[Any] = []
        for k in ("emissions", "energy", "silent"):
            tile_values += [labels[k], "—", "", ""]
        return [
            *tile_values,
            empty_spec(message),
            t("td_curve_title", lang, node="—"),
            t("td_blocks_title", lang),
            calm,
            t("td_silent_title", lang, n="—"),
            "",
            "panel today-silent",
        ]
    node = sel if isinstance(sel, str) and sel in set(today.nodes["node_id"]) else today.root
    parts = tiles(today, lang)
    n_silent = len(today.silent)
    share = _num(today.node(today.root)["share_of_usual"])
    label, value, sub, foot = parts["emissions"]
    parts["emissions"] = (
        label,
        value,
        sub,
        html.Span(  # type: ignore[assignment]
            foot, className="" if share is None else ("up" if share > 1 else "down")
        ),
    )
    label, value, sub, foot = parts["silent"]
    parts["silent"] = (
        label,
        html.Span(  # type: ignore[assignment]
            value, className="alert" if n_silent else "ok"
        ),
        sub,
        foot,
    )
    tile_values = []
    for k in ("emissions", "energy", "silent"):
        tile_values += list(parts[k])
    name = name_of(today.node(node), lang)
    return [
        *tile_values,
        curve_spec(today, node, lang),
        t("td_curve_title", lang, node=name),
        t("td_blocks_title", lang),
        block_rows(today, node, lang),
        t("td_silent_title", lang, n=fmt_count(n_silent, lang)),
        silent_rows(today, lang),
        "panel today-silent" + (" alert" if n_silent else ""),
    ]
