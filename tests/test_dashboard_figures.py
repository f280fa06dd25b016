"""The wall screen's figure builders, tested as pure functions of small frames."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.colors import sample_colorscale

from carbon.dashboard import figures
from carbon.dashboard.data import MapData
from carbon.dashboard.i18n import t


def _square(x: float, y: float, size: float = 1.0) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size],
                                                [x, y + size], [x, y]]]}


@pytest.fixture
def map_data() -> MapData:
    items = pd.DataFrame({
        "node_id": ["a", "b", "road", "shed"],
        "name_zh": ["甲区", "乙区", "某路", "充电棚"],
        "name_en": ["Area A", "Area B", "Road", "Shed"],
        "kind": ["block", "block", "street", "facility"],
        "co2e_t": [100.0, 400.0, 50.0, np.nan],
        "floor_area_m2": [1000.0, np.nan, 200.0, np.nan],
        "intensity_kg_m2": [100.0, np.nan, 250.0, np.nan],
        "geometry_type": ["Polygon", "Polygon", "LineString", "Point"],
    })
    features = {
        "root": _square(0, 0, 4), "a": _square(0, 0), "b": _square(2, 2),
        "road": {"type": "LineString", "coordinates": [[0, 1.5], [4, 1.5]]},
        "shed": {"type": "Point", "coordinates": [3, 0.5]},
    }
    return MapData(selected="b", focus="root", items=items, features=features, root="root")


def _item_traces(fig: go.Figure) -> dict[str, go.Scatter]:
    return {tr.name: tr for tr in fig.data if tr.name in {"a", "b", "road", "shed"}}


# ------------------------------------------------------------------------------ map
def test_map_one_clickable_trace_per_node(map_data: MapData) -> None:
    fig = figures.map_figure(map_data, "emissions", "zh")
    traces = _item_traces(fig)
    assert set(traces) == {"a", "b", "road", "shed"}
    for node, tr in traces.items():
        assert set(tr.customdata) == {node}  # a click anywhere on it reports its id
        assert len(tr.customdata) == len(tr.x)
    assert traces["a"].fill == "toself" and traces["road"].mode == "lines"
    assert traces["shed"].mode == "markers"
    labels = next(tr for tr in fig.data if tr.mode == "markers+text")
    assert list(labels.customdata) == ["a", "b", "road", "shed"]


def test_map_colours_follow_the_metric(map_data: MapData) -> None:
    fig = figures.map_figure(map_data, "emissions", "zh")
    traces = _item_traces(fig)
    lo, hi = figures.SCALE[0][1], figures.SCALE[-1][1]
    assert traces["b"].fillcolor == sample_colorscale(figures.SCALE, [1.0])[0]
    assert traces["road"].line.color == sample_colorscale(figures.SCALE, [0.0])[0]
    assert lo != hi
    assert traces["shed"].marker.color == figures.NO_VALUE  # no value: grey, not zero
    assert traces["b"].line.width > traces["a"].line.width  # the selection stands out
    inten = _item_traces(figures.map_figure(map_data, "intensity", "en"))
    assert inten["b"].fillcolor == figures.NO_VALUE  # no floor area -> no intensity
    assert "no floor area" in inten["b"].hovertemplate
    assert "kg CO₂e / m²" in inten["road"].hovertemplate


def test_map_is_drawn_without_tiles(map_data: MapData) -> None:
    fig = figures.map_figure(map_data)
    payload = json.loads(fig.to_json())
    layout = payload["layout"]
    assert "mapbox" not in layout and "map" not in layout and "geo" not in layout
    assert "http" not in json.dumps(payload)
    assert layout["yaxis"]["scaleanchor"] == "x"


def test_map_colour_bar_counts_in_wan_not_k(map_data: MapData) -> None:
    """The colour bar is ticked like every other axis: 1.5万 / 15,000, never plotly's 20k
    (issue 15; figures.number_ticks)."""
    big = MapData(map_data.selected, map_data.focus,
                  map_data.items.assign(co2e_t=[12_000.0, 26_000.0, 15_000.0, np.nan]),
                  map_data.features, map_data.root)
    for lang, wanted in (("zh", ["1.5万", "2万", "2.5万"]), ("en", ["15,000", "20,000",
                                                                   "25,000"])):
        spec = figures.map_spec(big, "emissions", lang)
        (bar,) = [tr["marker"]["colorbar"] for tr in spec["data"]
                  if tr.get("marker", {}).get("showscale")]
        assert bar["tickmode"] == "array"
        assert bar["ticktext"] == wanted
        assert bar["tickvals"] == [15_000.0, 20_000.0, 25_000.0]  # 12,000..26,000 in 5,000s
        assert not any(text.endswith("k") for text in bar["ticktext"])
        go.Figure(spec)  # plotly accepts it


def test_map_without_geometry_is_calm() -> None:
    empty = MapData("x", "x", pd.DataFrame(columns=["node_id", "co2e_t", "intensity_kg_m2",
                                                    "geometry_type"]), {}, "x")
    fig = figures.map_figure(empty, lang="en")
    assert fig.layout.annotations[0].text == t("no_geometry", "en")


# ------------------------------------------------------------------------------ trend
@pytest.fixture
def monthly() -> pd.DataFrame:
    months = pd.date_range("2024-01-01", periods=3, freq="MS")
    return pd.DataFrame({
        "month": list(months) * 2,
        "group": ["I"] * 3 + ["II"] * 3,
        "co2e_t": [10.0, 12.0, 11.0, 1.0, 1.5, 2.0],
        "estimated_share": [0.0, 0.2, 0.0, 0.0, 0.0, 0.005],
    })


def test_trend_stacks_one_trace_per_group(monthly: pd.DataFrame) -> None:
    fig = figures.trend_figure(monthly, "sector", "en")
    assert fig.layout.barmode == "stack"
    assert [tr.name for tr in fig.data] == [t("sector_I", "en"), t("sector_II", "en")]
    total = sum(np.asarray(tr.y).sum() for tr in fig.data)
    assert total == pytest.approx(monthly.co2e_t.sum())
    # a month with >= 1 % estimated readings is hatched; 0.5 % is not
    assert list(fig.data[0].marker.pattern.shape) == ["", "/", ""]
    assert list(fig.data[1].marker.pattern.shape) == ["", "", ""]
    assert fig.data[0].marker.color == figures.SECTOR_COLOURS["I"]


def test_trend_by_scope_in_chinese(monthly: pd.DataFrame) -> None:
    frame = monthly.assign(group=monthly.group.map({"I": "1", "II": "2"}))
    fig = figures.trend_figure(frame, "scope", "zh")
    assert [tr.name for tr in fig.data] == ["范围1", "范围2"]
    assert fig.layout.yaxis.title.text == "吨CO₂e"


def test_trend_empty() -> None:
    fig = figures.trend_figure(pd.DataFrame(columns=["month", "group", "co2e_t",
                                                     "estimated_share"]), lang="zh")
    assert fig.layout.annotations[0].text == "无数据"


# ------------------------------------------------------------------------------ ranking
def test_ranking_largest_on_top_and_selection_highlighted() -> None:
    r = pd.DataFrame({"node_id": ["x", "y", "z"], "name_zh": ["甲", "乙", "丙(名称未知)"],
                      "name_en": ["X", "Y", "Z"], "kind": "compound",
                      "co2e_t": [300.0, 100.0, 200.0], "intensity_kg_m2": [1.0, np.nan, 3.0],
                      "selected": [False, True, False]})
    fig = figures.ranking_figure(r, "emissions", "zh")
    bar = fig.data[0]
    assert list(bar.customdata) == ["x", "z", "y"]  # top to bottom: largest first
    assert list(bar.y) == sorted(bar.y)  # the y axis runs down the slot [design px]
    assert fig.layout.yaxis.autorange is None and fig.layout.yaxis.range[0] > 0
    assert list(bar.marker.color) == ["#37a2da", "#37a2da", figures.ACCENT]
    # each row: its name on the left (placeholder muted, selection bold cyan), value right
    notes = [(a.text, a.font.color) for a in fig.layout.annotations]
    assert notes == [("甲", figures.TEXT), ("300", figures.TEXT),
                     ("丙(名称未知)", figures.MUTED), ("200", figures.TEXT),
                     ("<b>乙</b>", figures.ACCENT), ("100", figures.TEXT)]
    inten = figures.ranking_figure(r, "intensity", "en")
    assert list(inten.data[0].customdata) == ["z", "x"]  # no intensity: left out


def test_ranking_shows_what_fits_and_shortens_long_names() -> None:
    n = 14
    r = pd.DataFrame({"node_id": [f"n{i}" for i in range(n)], "name_zh": "某", "name_en":
                      ["A very long compound name that cannot fit in its row " * 2] * n,
                      "co2e_t": np.arange(n, 0, -1) * 10.0, "selected": False})
    fig = figures.ranking_figure(r, "emissions", "en")
    shown = len(fig.data[0].customdata)
    # rows of a 15 px name over a 5 px bar, 1 px apart, in the slot's 305 px: 10
    assert shown == int((figures.SLOTS["ranking"][1] - 4) // (15 * 1.5 + 1 + 5 + 1)) == 10
    name = fig.layout.annotations[0]
    assert name.text.endswith("…") and name.hovertext.startswith("A very long")


# ------------------------------------------------------------------------------ interventions
def test_interventions_empty_state() -> None:
    fig = figures.interventions_figure(pd.DataFrame(), "zh")
    assert fig.layout.annotations[0].text == "本快照暂无减排措施结果"
    assert figures.macc_figure(pd.DataFrame(), "en").layout.annotations[0].text == \
        "No intervention results in this snapshot yet"


def test_interventions_sum_by_measure_with_realisation() -> None:
    recs = pd.DataFrame({
        "name_zh": ["LED", "LED", "光伏"], "name_en": ["LED", "LED", "PV"],
        "estimated_t": [10.0, 30.0, 5.0], "verified_t": [8.0, np.nan, 5.5],
        "low_t": [8.0, 24.0, np.nan], "high_t": [12.0, 36.0, np.nan],
    })
    fig = figures.interventions_figure(recs, "en")
    est, ver = fig.data
    assert list(est.hovertext) == ["LED", "PV"]  # largest first
    assert list(est.x) == [40.0, 5.0] and list(ver.x) == [8.0, 5.5]
    assert list(est.error_x.array) == [8.0, 0.0]  # 48 - 40
    assert list(est.error_x.arrayminus) == [8.0, 0.0]  # 40 - 32
    texts = [a.text for a in fig.layout.annotations]
    # realisation = verified / estimate of the verified records only (8 / 10, not 8 / 40),
    # and the label says which estimate that is when it is not the bar's
    assert "40.0 / 8.00 · 80% of the 10.0 estimated for the same months" in texts
    assert "5.00 / 5.50 · realisation 110%" in texts


def test_macc_widths_are_tonnes_cheapest_first() -> None:
    m = pd.DataFrame({"name_zh": ["甲", "乙", "丙"], "name_en": ["A", "B", "C"],
                      "estimated_t": [10.0, 20.0, 5.0], "cost_per_t_cny": [300.0, -50.0, 80.0]})
    fig = figures.macc_figure(m, "en")
    bar = fig.data[0]
    assert [c for _, c in bar.customdata] == [-50.0, 80.0, 300.0]
    # heights: sign(c) log10(1 + |c| / 100)
    assert list(bar.y) == pytest.approx([-np.log10(1.5), np.log10(1.8), np.log10(4.0)])
    assert list(bar.width) == [20.0, 5.0, 10.0]
    assert list(bar.x) == [10.0, 22.5, 30.0]  # centres of consecutive bars
    assert bar.marker.color[0] == figures.DOWN  # a saving is green
    ticks = dict(zip(fig.layout.yaxis.ticktext, fig.layout.yaxis.tickvals, strict=True))
    assert ticks["0"] == 0 and ticks["200"] == pytest.approx(np.log10(3.0))
    labels = {a.hovertext for a in fig.layout.annotations if a.hovertext}
    assert labels == {"A", "B", "C"}  # every bar is labelled


def test_macc_keeps_a_sliver_visible() -> None:
    m = pd.DataFrame({"name_zh": ["甲", "乙"], "name_en": ["A", "B"],
                      "abatement_t": [100.0, 0.1], "cost_per_t_cny": [50.0, 20000.0]})
    bar = figures.macc_figure(m, "zh").data[0]
    assert list(bar.width) == pytest.approx([100.0, 0.015 * 100.1])
    assert [w for w, _ in bar.customdata] == [100.0, 0.1]  # the hover keeps the real tonnes


def test_completeness_marks_months_below_threshold() -> None:
    m = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=3, freq="MS"),
                      "completeness": [1.0, 0.85, 0.95]})
    fig = figures.completeness_figure(m, "zh")
    # the share missing, from 0: red beyond the 10 % a 90 % threshold allows
    assert list(np.round(fig.data[0].y, 6)) == [0.0, 15.0, 5.0]
    assert list(fig.data[0].marker.color) == [figures.AMBER, figures.UP, figures.AMBER]
    assert fig.layout.shapes[0].y0 == pytest.approx(10.0)
    assert list(fig.layout.xaxis.ticktext) == ["2024年1月", "2月", "3月"]  # the year, once


def test_completeness_all_complete_says_so() -> None:
    m = pd.DataFrame({"month": pd.date_range("2023-01-01", periods=24, freq="MS"),
                      "completeness": 1.0})
    fig = figures.completeness_figure(m, "zh")
    assert fig.data == ()
    assert fig.layout.annotations[0].text == "2023年1月–2024年12月 共 24 个月,表计数据全部完整"


def test_number_ticks_follow_the_readers_convention() -> None:
    zh = figures.number_ticks(0, 13_277, "zh")
    assert zh["ticktext"] == ["0", "0.5万", "1万"]  # 万, never "k"
    assert figures.number_ticks(0, 6_500, "zh")["ticktext"] == ["0", "2,000", "4,000", "6,000"]
    assert figures.number_ticks(0, 13_277, "en")["ticktext"] == ["0", "5,000", "10,000"]
    assert figures.number_ticks(0, 1.2, "en", suffix="%")["ticktext"] == ["0", "0.5%", "1%"]


def test_trend_month_ticks_carry_the_year() -> None:
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    frame = pd.DataFrame({"month": months, "group": "I", "co2e_t": 1000.0,
                          "estimated_share": 0.0})
    fig = figures.trend_figure(frame, "sector", "zh")
    assert list(fig.layout.xaxis.ticktext) == ["1月<br>2023年", "4月", "7月", "10月",
                                               "1月<br>2024年", "4月", "7月", "10月"]
    assert "k" not in "".join(fig.layout.yaxis.ticktext)
    assert fig.layout.font.size == figures.TYPE.text


def test_text_fits_or_wraps() -> None:
    assert figures.text_width("碳排放", 16) == 48  # a CJK character is 1 em
    assert figures.fit_text("碳排放监测大屏", 60, 15) == "碳排放…"  # 4 em in 60 px
    assert figures.fit_text("碳排放监测大屏", 50, 15) == "碳排…"
    assert figures.wrap_text("Kaidike Building elevator upgrade", 150, 16) == [
        "Kaidike Building", "elevator upgrade"]  # Latin text breaks between words
    assert figures.wrap_text("凯迪克大厦电梯改造(能量回馈)", 100, 20, max_lines=2) == [
        "凯迪克大厦", "电梯改造…"]


def test_every_figure_serialises_with_local_fonts(map_data: MapData,
                                                  monthly: pd.DataFrame) -> None:
    for fig in (figures.map_figure(map_data), figures.trend_figure(monthly),
                figures.empty_figure("…")):
        payload = json.loads(fig.to_json())
        assert "Noto Sans CJK SC" in payload["layout"]["font"]["family"]
        assert payload["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"
