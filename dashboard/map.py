"""The wall's map: the twin's own geometry, in longitude/latitude, drawn offline.

:func:`map_spec` draws the children of the focus node (blocks of the subdistrict, areas of a
block, ...) coloured by emissions or intensity, over the twin's context features: the streets
and the river of ``geometry.geojson`` (:mod:`carbon.twin`), drawn and named. There are no map
tiles, CDN scripts or web fonts (DESIGN decision 9): the shapes are plain scatter traces on
axes whose aspect is corrected by cos(latitude) (an equirectangular projection, exact enough
for a 1.5 km map: the scale error across it is below 0.01 %).

Labels are laid out here, not by the browser. The wall's canvas is 1920 x 1080 design pixels
scaled as a whole to the window (:mod:`carbon.dashboard.figures`), so the map's slot has a known
size in design pixels and every label's box can be computed: the areas (blocks, residential
areas, compounds) are always named, at their centroid or the nearest free spot inside them;
street names follow their street's angle; named buildings and facilities are labelled only where
there is room, and every shape names itself on hover. A name the twin does not know
(``未具名商务楼宇26``, ``…(名称未知)``; :func:`carbon.dashboard.i18n.is_placeholder`) is shown as
what it is: muted and in italics, never as if it were a real name.

Everything the site files mark ``approximate`` (or ``schematic``) is said so on the map.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from carbon.dashboard.data import MapData
from carbon.dashboard.figures import (
    ACCENT,
    MUTED,
    NO_VALUE,
    SCALE,
    SLOTS,
    TYPE,
    Spec,
    _figure,
    _floats,
    _layout,
    empty_spec,
    fit_text,
    number_ticks,
    text_width,
)
from carbon.dashboard.i18n import fmt_number, is_placeholder, name_of, t

__all__ = ["MAP_SLOT", "map_figure", "map_spec", "short_name"]

MAP_SLOT = (764, 396)
"""Size of the map's slot on the 1920 x 1080 design canvas [design px] when
:data:`carbon.dashboard.figures.SLOTS` has no ``map`` entry."""

AREA_KINDS = ("subdistrict", "block", "residential_area", "compound", "building")
"""Kinds whose name is always shown on the map (the areas an operator drills into)."""

WATER = "#1f5f9f"
WATER_TEXT = "#8fc3ff"
STREET = "rgba(150, 176, 214, 0.50)"
STREET_TEXT = "#a9bedf"
PLACEHOLDER_TEXT = "#b9c7dc"
HALO = "0px 0px 3px #06122a, 0px 0px 2px #06122a"
"""A dark halo around every map label, so it reads on any fill colour."""

WATER_WIDTH_M = 45.0  # drawn width of Suzhou Creek [m] (~40-70 m wide here; ASSUMPTION)
STREET_WIDTH_M = 16.0  # drawn width of a street [m] (branch roads 12-18 m; ASSUMPTION)
LINE_EM = 1.5
"""Height of a label's box [em]: the browser's box of one line of Noto Sans CJK SC (ascender
1.160 em + descender 0.288 em in its OS/2 table; measured 1.49 em in Chromium)."""
MARGIN = {"l": 4, "r": 92, "t": 4, "b": 4}  # [design px]; the colour bar fits in the right one

_WORDS = {
    "approximate": ("示意图：轮廓与位置为近似", "Sketch: outlines and positions approximate"),
}
_SUFFIXES = {
    "zh": ("居民区", "街区"),
    "en": (" Residential Area", " Block"),
}
_UNKNOWN = ("(名称未知)", "（名称未知）", " (name unknown)", "(name unknown)")


def _word(key: str, lang: str) -> str:
    zh, en = _WORDS[key]
    return en if lang == "en" else zh


def short_name(row: Mapping[str, Any], lang: str = "zh") -> str:
    """A node's name as the map labels it: without the kind a map already shows (``居民区``,
    ``街区``, ``Residential Area``, ``Block``) nor a ``(名称未知)`` mark (the label is muted
    instead); the full name is on hover.

    Examples
    --------
    >>> short_name({"name_zh": "奉贤居民区", "name_en": "Fengxian Residential Area"})
    '奉贤'
    >>> short_name({"name_zh": "中部街区(名称未知)", "name_en": "Central Block (name unknown)"},
    ...            "en")
    'Central'
    """
    name = name_of(row, lang)
    for mark in _UNKNOWN:
        name = name.replace(mark, "")
    name = name.strip()
    for suffix in _SUFFIXES["en" if lang == "en" else "zh"]:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)].strip()
    return name


# ------------------------------------------------------------------------------ geometry
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


def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    """Signed shoelace area of a ring [degrees²]."""
    return sum(float(a[0]) * float(b[1]) - float(b[0]) * float(a[1])
               for a, b in zip(ring, [*ring[1:], ring[0]], strict=True)) / 2.0


def _centroid(rings: Sequence[list[list[float]]]) -> tuple[float, float]:
    """The area centroid of the largest ring (the mean of the points for lines and points)."""
    polygons = [r for r in rings if len(r) >= 4 and abs(_ring_area(r)) > 0]
    if polygons:
        ring = max(polygons, key=lambda r: abs(_ring_area(r)))
        a = _ring_area(ring)
        cx = cy = 0.0
        for p, q in zip(ring, [*ring[1:], ring[0]], strict=True):
            c = float(p[0]) * float(q[1]) - float(q[0]) * float(p[1])
            cx += (float(p[0]) + float(q[0])) * c
            cy += (float(p[1]) + float(q[1])) * c
        return cx / (6 * a), cy / (6 * a)
    pts = [p for ring in rings for p in ring]
    if not pts:
        return math.nan, math.nan
    return (sum(float(p[0]) for p in pts) / len(pts), sum(float(p[1]) for p in pts) / len(pts))


def _inside(x: float, y: float, ring: Sequence[Sequence[float]]) -> bool:
    hit = False
    for a, b in zip(ring, [*ring[1:], ring[0]], strict=True):
        (x1, y1), (x2, y2) = (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def _colours(values: Sequence[float | None]) -> tuple[list[str], float, float]:
    finite = [v for v in values if v is not None]
    if not finite:
        return [NO_VALUE] * len(values), 0.0, 1.0
    lo, hi = min(finite), max(finite)
    span = hi - lo if hi > lo else 1.0
    sampled = iter(sample_colorscale(SCALE, [(v - lo) / span for v in finite]))
    return [next(sampled) if v is not None else NO_VALUE for v in values], lo, hi


# ------------------------------------------------------------------------------ the view
@dataclass(frozen=True)
class _View:
    """Where a longitude/latitude lands in the plot area [design px], as plotly draws it:
    the y axis is tied to x (``scaleanchor``) with ``ratio`` = 1 / cos(latitude) and the axis
    that has room to spare is widened about its centre."""

    cx: float
    cy: float
    kx: float  # [design px / degree of longitude]
    ky: float  # [design px / degree of latitude]
    width: float  # of the plot area [design px]
    height: float

    @classmethod
    def fit(cls, bounds: tuple[float, float, float, float], ratio: float,
            width: float, height: float) -> _View:
        x0, y0, x1, y1 = bounds
        dx, dy = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
        kx = min(width / dx, height / (dy * ratio))
        return cls((x0 + x1) / 2, (y0 + y1) / 2, kx, kx * ratio, width, height)

    def px(self, x: float, y: float) -> tuple[float, float]:
        """Plot-area position [design px] from the lower left corner."""
        return (x - self.cx) * self.kx + self.width / 2, (y - self.cy) * self.ky + self.height / 2

    def deg(self, px: float, py: float) -> tuple[float, float]:
        return (px - self.width / 2) / self.kx + self.cx, (py - self.height / 2) / self.ky + self.cy

    @property
    def ranges(self) -> tuple[list[float], list[float]]:
        hx, hy = self.width / 2 / self.kx, self.height / 2 / self.ky
        return [self.cx - hx, self.cx + hx], [self.cy - hy, self.cy + hy]

    def px_per_m(self) -> float:
        return self.ky / 110574.0  # 1 degree of latitude = 110.574 km (WGS84, at 31 deg N)


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 [design px]


def _box(px: float, py: float, w: float, h: float, angle: float = 0.0) -> Box:
    """The upright box around a w x h label centred at (px, py), turned by ``angle`` [deg]."""
    a = math.radians(angle)
    bw = abs(w * math.cos(a)) + abs(h * math.sin(a))
    bh = abs(w * math.sin(a)) + abs(h * math.cos(a))
    return px - bw / 2, py - bh / 2, px + bw / 2, py + bh / 2


def _overlaps(a: Box, b: Box, pad: float = 4.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def _within(b: Box, view: _View) -> bool:
    return b[0] >= 1 and b[1] >= 1 and b[2] <= view.width - 1 and b[3] <= view.height - 1


class _Labels:
    """Greedy label layout in the plot area: a label goes where it overlaps no label placed
    before it (the required ones first)."""

    def __init__(self, view: _View, reserved: Iterable[Box] = ()) -> None:
        self.view = view
        self.placed: list[Box] = list(reserved)

    def free(self, box: Box) -> bool:
        return _within(box, self.view) and not any(_overlaps(box, b) for b in self.placed)

    def take(self, box: Box) -> None:
        self.placed.append(box)


# ------------------------------------------------------------------------------ the figure
def _line_label(coords: Sequence[Sequence[float]], view: _View, text: str, size: float,
                labels: _Labels) -> dict[str, Any] | None:
    """Where a street's or the river's name goes: on the longest visible stretch of its line,
    turned with it, clear of other labels; None when it fits nowhere."""
    pts = [view.px(float(p[0]), float(p[1])) for p in coords]
    w, h = text_width(text, size), size * LINE_EM
    stretches = []
    for (ax, ay), (bx, by) in itertools.pairwise(pts):
        length = math.hypot(bx - ax, by - ay)
        if length > 1:
            stretches.append((length, (ax, ay), (bx, by)))
    for length, (ax, ay), (bx, by) in sorted(stretches, key=lambda s: -s[0]):
        if length < w + 8:
            continue
        angle = math.degrees(math.atan2(by - ay, bx - ax))
        if angle > 90:
            angle -= 180
        elif angle < -90:
            angle += 180
        for f in (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82, 0.1, 0.9):
            px, py = ax + f * (bx - ax), ay + f * (by - ay)
            box = _box(px, py, w, h, angle)
            if labels.free(box):
                labels.take(box)
                x, y = view.deg(px, py)
                return {"x": x, "y": y, "textangle": -angle, "text": text}
    return None


def _area_spot(rings: Sequence[list[list[float]]], view: _View, w: float, h: float,
               labels: _Labels) -> tuple[float, float, Box] | None:
    """The free spot nearest the centroid, inside the polygon, for a w x h label."""
    cx, cy = _centroid(rings)
    px, py = view.px(cx, cy)
    ring = max(rings, key=lambda r: abs(_ring_area(r))) if rings else []
    steps = [(0.0, 0.0)] + [(dx * h * k, dy * h * k) for k in (0.6, 1.1, 1.6, 2.2)
                            for dx, dy in ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, -1),
                                           (1, -1), (-1, 1))]
    for dx, dy in steps:
        box = _box(px + dx, py + dy, w, h)
        x, y = view.deg(px + dx, py + dy)
        if labels.free(box) and (not ring or _inside(x, y, ring)):
            return x, y, box
    return None


def _beside_spot(rings: Sequence[list[list[float]]], view: _View, w: float, h: float,
                 labels: _Labels) -> tuple[float, float, Box] | None:
    """A free spot for a w x h label just beside a small shape or a point: above, below,
    right, left, then the corners."""
    x0, y0, x1, y1 = _bounds(rings)
    (ax, ay), (bx, by) = view.px(x0, y0), view.px(x1, y1)
    px, py = (ax + bx) / 2, (ay + by) / 2
    sx, sy = (bx - ax) / 2 + 3, (by - ay) / 2 + 3
    for dx, dy in ((0, sy + h / 2), (0, -sy - h / 2), (sx + w / 2, 0), (-sx - w / 2, 0),
                   (sx + w / 2, sy + h / 2), (-sx - w / 2, sy + h / 2),
                   (sx + w / 2, -sy - h / 2), (-sx - w / 2, -sy - h / 2)):
        box = _box(px + dx, py + dy, w, h)
        if labels.free(box):
            x, y = view.deg(px + dx, py + dy)
            return x, y, box
    return None


def map_spec(data: MapData, metric: str = "emissions", lang: str = "zh") -> Spec:
    """:func:`map_figure` as a plain dict."""
    items = data.items
    if items.empty and data.focus not in data.features:
        return empty_spec(t("no_geometry", lang))
    slot_w, slot_h = SLOTS.get("map", MAP_SLOT)
    plot_w = slot_w - MARGIN["l"] - MARGIN["r"]
    plot_h = slot_h - MARGIN["t"] - MARGIN["b"]
    column = "intensity_kg_m2" if metric == "intensity" else "co2e_t"
    unit = t("u_kg_m2", lang) if metric == "intensity" else t("u_t", lang)
    values = _floats(items[column]) if len(items) else []
    colours, lo, hi = _colours(values)

    frame_geom = data.features.get(data.focus) or data.features.get(data.root)
    bounds = _bounds(_rings(frame_geom)) if frame_geom else _bounds(
        [r for g in data.features.values() for r in _rings(g)])
    pad_x, pad_y = (bounds[2] - bounds[0]) * 0.05, (bounds[3] - bounds[1]) * 0.05
    bounds = (bounds[0] - pad_x, bounds[1] - pad_y, bounds[2] + pad_x, bounds[3] + pad_y)
    lat = _centroid(_rings(data.features.get(data.root) or frame_geom
                           or {"type": "Point", "coordinates": [0, 31.2]}))[1]
    ratio = 1.0 / math.cos(math.radians(lat)) if math.isfinite(lat) else 1.0
    view = _View.fit(bounds, ratio, plot_w, plot_h)
    per_m = view.px_per_m()

    traces: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    reserved = []
    if data.approximate:
        note = _word("approximate", lang)
        reserved.append((0.0, 0.0, text_width(note, TYPE.small) + 8, TYPE.small * LINE_EM))
        annotations.append({"text": note, "x": 0, "y": 0, "xref": "paper", "yref": "paper",
                            "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                            "font": {"size": TYPE.small, "color": MUTED, "shadow": HALO}})
    labels = _Labels(view, reserved)

    # context: the river under the areas, the streets over them (a street crosses a block,
    # never a home: areas are drawn back from the streets), lines and points on top
    def context_trace(feat: dict[str, Any]) -> dict[str, Any]:
        water = feat["properties"].get("context") == "water"
        width = (max(4.0, WATER_WIDTH_M * per_m) if water
                 else min(max(1.5, STREET_WIDTH_M * per_m), 9.0))
        xs, ys = _xy(_rings(feat["geometry"]))
        return {"type": "scatter", "x": xs, "y": ys, "mode": "lines", "hoverinfo": "skip",
                "showlegend": False, "name": feat["properties"].get("id", ""),
                "line": {"color": WATER if water else STREET, "width": width}}

    context = list(data.context)
    traces.extend(context_trace(f) for f in context if f["properties"].get("context") == "water")
    streets = [context_trace(f) for f in context if f["properties"].get("context") != "water"]

    outlines = []
    contexts = [(data.root, 1.5, MUTED)] if data.focus != data.root else []
    for ctx, width, colour in [*contexts, (data.focus, 3.0, ACCENT)]:
        if ctx in data.features:
            xs, ys = _xy(_rings(data.features[ctx]))
            outlines.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines",
                             "hoverinfo": "skip", "showlegend": False,
                             "line": {"color": colour, "width": width}})

    rows = items.to_dict("records")
    drawn = []
    areas: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for row, value, colour in zip(rows, values, colours, strict=True):
        node = row["node_id"]
        geom = data.features.get(node)
        if geom is None:
            continue
        rings = _rings(geom)
        xs, ys = _xy(rings)
        name = name_of(row, lang)
        unknown = is_placeholder(row, lang)
        if value is not None:
            shown = f"{fmt_number(value, lang)} {unit}"
        else:
            shown = t("no_floor_area", lang) if metric == "intensity" else t("no_data", lang)
        title = (f"<i><span style='color:{PLACEHOLDER_TEXT}'>{name}</span></i>" if unknown
                 else f"<b>{name}</b>")
        hover = f"{title}<br>{shown}<extra></extra>"
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
        (areas if gtype in ("Polygon", "MultiPolygon") else others).append(base)
        drawn.append((row, rings, gtype, unknown))
    traces.extend([*areas, *streets, *outlines, *others])

    # labels: the areas first (largest first), then the streets and the river, then the rest
    def area_px(rings: Sequence[list[list[float]]]) -> float:
        return max((abs(_ring_area(r)) for r in rings), default=0.0) * view.kx * view.ky

    ids: list[str] = []
    label_x: list[float] = []
    label_y: list[float] = []
    label_text: list[str] = []
    label_colour: list[str] = []
    label_size: list[float] = []
    label_style: list[str] = []
    for row, rings, _, unknown in drawn:
        cx, cy = _centroid(rings)
        ids.append(row["node_id"])
        label_x.append(cx)
        label_y.append(cy)
        label_text.append("")
        label_colour.append(PLACEHOLDER_TEXT if unknown else "#ffffff")
        label_size.append(TYPE.text)
        label_style.append("italic" if unknown else "normal")

    def place(i: int, size: float) -> bool:
        """Label an area inside it (smaller if need be), else just beside it, else inside
        it shortened with "…" (the full name is on hover); a building or a facility beside
        it."""
        row, rings, gtype, _ = drawn[i]
        text = short_name(row, lang)
        area = row.get("kind") in AREA_KINDS
        if area and gtype not in ("Polygon", "MultiPolygon"):
            return False
        small = TYPE.small - 2
        tries = ([(text, s, _area_spot) for s in (size, TYPE.small, small)]
                 + [(text, small, _beside_spot)]
                 + [(fit_text(text, w, small), small, _area_spot) for w in (60, 40)]
                 if area else [(text, size, _beside_spot)])
        for shown, s, where in tries:
            w, h = text_width(shown, s), s * LINE_EM
            spot = where(rings, view, w, h, labels)
            if spot is not None:
                x, y, box = spot
                labels.take(box)
                label_x[i], label_y[i] = x, y
                label_text[i] = shown
                label_size[i] = s
                return True
        return False

    required = [i for i, (row, _, _, _) in enumerate(drawn)
                if row.get("kind") in AREA_KINDS]
    optional = [i for i, (row, _, _, unknown) in enumerate(drawn)  # frontages: the street
                if row.get("kind") in ("office_building", "facility") and not unknown]
    for i in sorted(required, key=lambda i: -area_px(drawn[i][1])):
        if not place(i, TYPE.name if drawn[i][0].get("kind") == "block" else TYPE.text):
            # no free spot: say it at the centroid anyway, in the smallest size (rare)
            label_text[i] = fit_text(short_name(drawn[i][0], lang), 90, TYPE.small - 2)
            label_size[i] = TYPE.small - 2
    for feat in context:
        props = feat["properties"]
        text = props.get("name_en" if lang == "en" else "name_zh") or props.get("name_zh", "")
        if not text:
            continue
        spot = _line_label(_rings(feat["geometry"])[0], view, text, TYPE.small, labels)
        if spot is not None:
            water = props.get("context") == "water"
            annotations.append({**spot, "xref": "x", "yref": "y", "showarrow": False,
                                "font": {"size": TYPE.small, "shadow": HALO,
                                         "color": WATER_TEXT if water else STREET_TEXT}})
    for i in sorted(optional, key=lambda i: -area_px(drawn[i][1])):
        place(i, TYPE.small)

    if ids:
        traces.append({"type": "scatter", "x": label_x, "y": label_y, "mode": "markers+text",
                       "text": label_text, "customdata": ids, "textposition": "middle center",
                       "hoverinfo": "skip", "showlegend": False, "cliponaxis": False,
                       "textfont": {"size": label_size, "color": label_colour,
                                    "style": label_style, "shadow": HALO},
                       "marker": {"size": 16, "opacity": 0.0, "color": ACCENT}})
        if any(v is not None for v in values):
            top = hi if hi > lo else lo + 1
            traces.append({
                "type": "scatter", "x": [label_x[0]], "y": [label_y[0]], "mode": "markers",
                "hoverinfo": "skip", "showlegend": False,
                "marker": {"size": 0.1, "opacity": 0, "color": [lo], "cmin": lo,
                           "cmax": top, "colorscale": SCALE, "showscale": True,
                           "colorbar": {"title": {"text": unit, "side": "right",
                                                  "font": {"size": TYPE.small, "color": MUTED}},
                                        "thickness": 12, "len": 0.8, "x": 1.0,
                                        "xanchor": "left", "xpad": 4,
                                        # 1.5万, 2万 (or 15,000) as on every other axis, never
                                        # plotly's SI "20k"
                                        **number_ticks(lo, top, lang, count=4),
                                        "tickfont": {"size": TYPE.small, "color": MUTED},
                                        "outlinewidth": 0}}})
    x_range, y_range = view.ranges
    layout = _layout(
        margin=dict(MARGIN), clickmode="event", hovermode="closest",
        uirevision=data.focus, annotations=annotations,
        xaxis={"visible": False, "range": x_range},
        yaxis={"visible": False, "scaleanchor": "x", "scaleratio": ratio, "range": y_range})
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
        The river and the streets of the twin (named along their line), one trace per drawn
        node (a click anywhere on it reports its id as ``customdata``), outlines of the
        subdistrict and of the focus node, the names of every area and of the named buildings
        that have room (placeholder names muted), a colour bar, and a note when the geometry
        is approximate; grey where a node has no value (e.g. no floor area for intensity).
    """
    return _figure(map_spec(data, metric, lang))
