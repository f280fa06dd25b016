"""One truth per number: :func:`carbon.summary.summarize` behind the CLI summary, the wall's
KPI tiles and its interventions panel.

The module fixture is the two-month demo (January and February 2024, SYNTHETIC data, built
once). A test walks every node of its twin through the app's render functions (no browser)
and checks that the avoided tile and the interventions panel show the same numbers, that both
equal sums taken independently in DECIMAL from ``entries.parquet``, and that every "none"
message says why. Hand-computed examples check the realisation rule (verified / the estimate
of the same interventions and months) and the range scaling.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from carbon.dashboard.app import (
    interventions_children,
    kpi_texts,
    render_interventions,
    render_kpis,
    render_static,
    scope2_children,
)
from carbon.dashboard.data import WallSnapshot, load_snapshot
from carbon.dashboard.i18n import fmt_tonnes, t
from carbon.dashboard.testing import write_synthetic_snapshot
from carbon.inventory import InventoryError, inventory_totals
from carbon.summary import NONE_REASONS, SummaryData, SummaryError, summarize

YEAR = 2024


def text_of(component: Any) -> str:
    """All text of a Dash component tree (or a string, or a list of them), joined by spaces."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from carbon.demo import build_demo

    result = build_demo(tmp_path_factory.mktemp("demo"), start="2024-01-01", end="2024-03-01")
    yield result
    result.ledger.store.close()


@pytest.fixture(scope="module")
def wall(demo: Any) -> WallSnapshot:
    return load_snapshot(demo.snapshot.path)


@pytest.fixture(scope="module")
def entries(demo: Any) -> pd.DataFrame:
    return pq.read_table(demo.snapshot.path / "entries.parquet").to_pandas()


def decimal_avoided_t(e: pd.DataFrame, node: str, year: int, ex_post: bool) -> float | None:
    """Avoided emissions of interventions under a node in a year [t CO2e], in DECIMAL from
    the parquet: kind avoided, not a credit (notes 'credit ...'), ex_post or ex_ante."""
    notes = e.notes.fillna("")
    mask = (
        (e.kind == "avoided")
        & ~notes.str.startswith("credit ")
        & notes.str.contains(r"\bex_post\b", regex=True).eq(ex_post)
        & e.node_path.map(lambda p: node in p.split("/"))
        & e.period_start.map(lambda d: d.year == year)
    )
    if not mask.any():
        return None
    return float(sum(e.loc[mask, "co2e_kg"], Decimal(0)) / 1000)


# ------------------------------------------------------------------------------ the walk
def walk(wall: WallSnapshot, entries: pd.DataFrame, year: int) -> set[str | None]:
    """Check tile against panel against the entries at every node; the reasons seen."""
    reasons_seen = set()
    for node in sorted(wall.node_ids):
        for lang in ("zh", "en") if node == wall.root else ("zh",):
            s = wall.summary(node, "location")
            a = s.avoided
            tile = render_kpis(wall, node, "location", lang)
            value = text_of(tile["kpi-avoided-value.children"])
            sub = text_of(tile["kpi-avoided-sub.children"])
            panel = render_interventions(wall, node, "location", lang)
            note = text_of(panel["interventions-note.children"])
            body = text_of(panel["interventions-body.children"])
            # both equal the entries, summed apart in DECIMAL
            est = decimal_avoided_t(entries, node, year, ex_post=False)
            ver = decimal_avoided_t(entries, node, year, ex_post=True)
            if est is None and ver is None:
                assert a.estimated_t is None and a.verified_t is None, node
            else:  # the estimate is 0, not None, where only verified entries exist
                assert a.estimated_t == pytest.approx(est or 0.0, rel=1e-9, abs=1e-12), node
                assert (a.verified_t is None) == (ver is None), node
                if ver is not None:
                    assert a.verified_t == pytest.approx(ver, rel=1e-9, abs=1e-12), node
            if a.none is None and (a.estimated_t is not None or a.verified_t is not None) \
                    and len(a.interventions.dropna(subset=["estimated_t"])):
                e_txt = fmt_tonnes(a.estimated_t, lang)
                v_txt = fmt_tonnes(a.verified_t, lang) if a.verified_t is not None else None
                # the tile: "estimated / verified"; the panel's note: the same two numbers
                assert value.split()[0] == e_txt.value, node
                assert f"{t('estimated', lang)} {e_txt}" in note, node
                if v_txt is not None:
                    assert value.split()[2] == v_txt.value, node
                    assert f"{t('verified', lang)} {v_txt}" in note, node
                # the same realisation in both, or none in both
                if a.realisation is not None:
                    rate = re.search(r"\d+%", sub)
                    assert rate is not None and rate.group(0) in note, node
                else:
                    assert "%" not in sub and f"{t('realisation', lang)} —" in note, node
                # the panel's bars add up to the totals
                rows = a.interventions
                assert rows["estimated_t"].sum() == pytest.approx(a.estimated_t), node
            else:
                reasons_seen.add(a.none)
                if a.none is not None:  # the same reason, in words, in both
                    message = t(f"av_{a.none}", lang, year=year)
                    assert message in sub and message in body, node
                    assert value.strip() == "—", node
    return reasons_seen


def test_tile_and_panel_agree_at_every_node(wall: WallSnapshot, entries: pd.DataFrame) -> None:
    reasons_seen = walk(wall, entries, YEAR)
    # the demo's tree has nodes without interventions, not "none in this snapshot"
    assert "none_at_node" in reasons_seen
    assert "none_in_snapshot" not in reasons_seen


def test_a_city_is_the_top_level_with_the_same_drill_down(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from carbon.pipeline import run
    from carbon.synth import generate_city

    out = tmp_path_factory.mktemp("city")
    city = generate_city(2, out, start="2024-01-01", end="2024-02-01", electricity="parquet")
    result = run(city.config, out / "snapshots")
    result.ledger.store.close()
    wall = load_snapshot(out / "snapshots")
    copies = wall.children(wall.root)
    assert len(copies) == 2 and wall.tour() == [wall.root, *copies]
    assert wall.map_focus(wall.root) == wall.root
    assert set(wall.map_data(wall.root).items["node_id"]) == set(copies)
    # the headline at the top is the city's inventory, with the city's scope-2 detail
    s = wall.summary(wall.root)
    e = result.snapshot.entries()
    assert s.basic_t == inventory_totals(e, result.snapshot, YEAR).basic_t
    assert s.scope2 is not None and wall.summary(copies[0]).scope2 is None
    # drilling into a copy shows that copy alone
    below = [wall.kpis(c).emissions_t for c in copies]
    assert all(b is not None and 0 < b < s.basic_t for b in below)  # type: ignore[operator]
    # the screen is titled after the city, and every node's tile and panel agree
    assert wall.node(wall.root)["name_zh"] in render_static(wall, "zh")["title.children"]
    walk(wall, e, YEAR)


def test_emissions_tile_is_the_inventory_of_the_node(wall: WallSnapshot,
                                                     entries: pd.DataFrame) -> None:
    for node in ("shimen_erlu", "suhewan", "hengfeng", "kaidike"):
        k = wall.kpis(node, "market")
        totals = inventory_totals(entries, wall.summary_data.context, YEAR, "market", node)
        assert k.emissions_t == totals.basic_t and k.basic_complete is totals.complete
        assert k.uncertainty_pct == totals.uncertainty_pct is not None
        value = text_of(kpi_texts(k, wall, "zh")["emissions"][1])
        assert f"±{round(totals.uncertainty_pct)}%" in value.replace(" ", "")


def test_realisation_is_over_the_same_interventions_and_months(wall: WallSnapshot,
                                                               entries: pd.DataFrame) -> None:
    # by hand: the ex-post entries of 2024, their (intervention, month) keys, and the ex-ante
    # entries of exactly those keys
    e = entries[(entries.kind == "avoided") & entries.period_start.map(lambda d: d.year == YEAR)]
    e = e.assign(iid=e.notes.str.extract(r"intervention=(\S+)", expand=False))
    post = e[e.notes.str.contains(r"\bex_post\b", regex=True)]
    ante = e[e.notes.str.startswith("ex_ante")]
    keys = set(zip(post.iid, post.period_start, strict=True))
    same = ante[[k in keys for k in zip(ante.iid, ante.period_start, strict=True)]]
    verified = sum(post.co2e_kg, Decimal(0)) / 1000
    compared = sum(same.co2e_kg, Decimal(0)) / 1000
    a = wall.summary(wall.root).avoided
    assert a.verified_t == pytest.approx(float(verified))
    assert a.compared_estimated_t == pytest.approx(float(compared))
    assert a.realisation == pytest.approx(float(verified / compared))
    # M&V verifies months before the ledger's period too (reporting from commissioning): they
    # are not in the year, so they never inflate the rate
    assert (entries[entries.notes.str.contains("ex_post")].period_start.map(
        lambda d: d.year) < YEAR).any()
    # a rate above 100 % is said to be one, in the tile and in the panel
    assert a.verified_exceeds_estimate == (a.realisation > 1)
    if a.verified_exceeds_estimate:
        tile = text_of(kpi_texts(wall.kpis(wall.root), wall, "zh")["avoided"][2])
        note = text_of(interventions_children(wall, wall.root, "zh")[0])
        assert t("av_exceeds", "zh") in tile and t("av_exceeds", "zh") in note


def test_none_messages_say_why(wall: WallSnapshot, tmp_path: Path) -> None:
    # a street with no measure: none here, not "none in this snapshot"
    streets = [n for n, k in wall.kind_of.items() if k == "street"]
    reasons = {wall.summary(n).avoided.none for n in streets}
    assert "none_at_node" in reasons and "none_in_snapshot" not in reasons
    # a building whose only measure is planned
    assert wall.summary("bohua_plaza").avoided.none == "planned_only"
    assert wall.summary("bohua_plaza").avoided.planned == 1
    body = text_of(interventions_children(wall, "bohua_plaza", "en")[1])
    assert t("av_planned_only", "en") in body and t("av_planned", "en", n=1) in body
    # a snapshot with no intervention at all
    write_synthetic_snapshot(tmp_path, sites=8, years=1, blocks=2)
    bare = load_snapshot(tmp_path)
    assert bare.summary(bare.root).avoided.none == "none_in_snapshot"
    assert set(NONE_REASONS) == {"none_in_snapshot", "none_at_node", "planned_only",
                                 "none_in_year"}


def test_a_ledger_without_avoided_entries_reads_the_records(tmp_path: Path) -> None:
    # the synthetic wall snapshot has interventions.csv but no avoided entries: the figures
    # are the records' (over the whole period), said so, and tile and panel still agree
    write_synthetic_snapshot(tmp_path, sites=40, years=2, interventions=True)
    s = load_snapshot(tmp_path)
    a = s.summary(s.root).avoided
    iv = pd.read_csv(next(tmp_path.glob("*/interventions.csv")))
    placed = iv[iv.in_place]
    assert a.period == "snapshot"
    assert a.estimated_t == pytest.approx(placed.estimated_t.sum())
    v = placed.dropna(subset=["verified_t"])
    assert a.realisation == pytest.approx(
        v.verified_t.sum() / (v.verified_t / v.realisation_rate).sum())
    tile = text_of(render_kpis(s, s.root, "location", "zh")["kpi-avoided-value.children"])
    note = text_of(render_interventions(s, s.root, "location", "zh")[
        "interventions-note.children"])
    assert tile.split()[0] == fmt_tonnes(a.estimated_t, "zh").value
    assert f"估算 {fmt_tonnes(a.estimated_t, 'zh')}" in note and "快照全期" in note


def test_scope2_detail_at_the_root_only(wall: WallSnapshot, demo: Any) -> None:
    s = wall.summary(wall.root)
    m = demo.snapshot.manifest["scope2"][str(YEAR)]
    assert s.scope2 is not None and s.scope2_note == ""
    assert s.scope2.shanghai_t == m["shanghai_89"]["shanghai_t"]
    assert (s.scope2.headline_kg_per_kwh, s.scope2.alternative_kg_per_kwh) == (0.42, 0.5849)
    assert s.scope2.change_pct == m["factor_sensitivity"]["change_pct"]
    assert s.scope2_t["location"] == s.totals.scope2_t  # type: ignore[union-attr]
    text = text_of(scope2_children(wall, wall.root, "location", "zh"))
    assert "上海89号口径" in text and "0.5849" in text and "±" in text
    below = wall.summary("suhewan")
    assert below.scope2 is None and below.scope2_note == "root_only"
    text = text_of(scope2_children(wall, "suhewan", "location", "en"))
    assert t("s2_root_only", "en") in text
    # both views below the root too: the market one from the market summary of the node
    market = wall.summary("suhewan", "market").totals
    assert market is not None and str(fmt_tonnes(market.scope2_t, "en")) in text
    assert below.scope2_t["market"] is None  # not computed for a tile


def test_cli_summary_prints_the_wall_numbers(demo: Any, wall: WallSnapshot) -> None:
    from carbon.cli import console, print_ledger_summary

    with console.capture() as captured:
        print_ledger_summary(demo)
    text = " ".join(captured.get().split())
    s = wall.summary(wall.root)
    totals, a = s.totals, s.avoided
    assert totals is not None and a.realisation is not None
    assert f"{totals.label} {YEAR}: {totals.basic_t:,.1f} t ± {totals.uncertainty_pct:.1f} %" \
        in text
    assert f"estimated {a.estimated_t:,.3f} t" in text
    assert f"verified {a.verified_t:,.3f} t; realisation {a.realisation:.0%}" in text
    assert "Shanghai 89号 view" in text and "x 0.5849" in text
    assert f"Removals {YEAR} by greening: {a.removals_t:,.3f} t" in text


# ------------------------------------------------------------------------------ by hand
NODES = pd.DataFrame({"id": ["city", "a", "b"], "parent": ["", "city", "city"],
                      "kind": ["subdistrict", "compound", "compound"],
                      "name_zh": ["城", "甲", "乙"], "name_en": ["City", "A", "B"]})


def memo_entry(node: str, month: int, kg: str, note: str, year: int = 2024) -> dict[str, Any]:
    return {"kind": "avoided", "period_start": pd.Timestamp(year, month, 1), "node_id": node,
            "node_path": f"city/{node}", "gpc_ref": "I.1.2", "method": "location",
            "activity": "electricity.grid", "factor_id": "f", "co2e_kg": Decimal(kg),
            "notes": note}


def emission(node: str, month: int, kg: str) -> dict[str, Any]:
    return {"kind": "emission", "period_start": pd.Timestamp(2024, month, 1), "node_id": node,
            "node_path": f"city/{node}", "gpc_ref": "I.1.2", "method": "location",
            "activity": "electricity.grid", "factor_id": "f", "co2e_kg": Decimal(kg),
            "co2_kg": Decimal(kg), "ch4_kg": None, "n2o_kg": None, "dq_activity": "H",
            "dq_factor": "H", "completeness": 1.0, "meters": 1, "notes": ""}


def test_realisation_and_range_by_hand() -> None:
    led = "intervention=led"
    rows = [emission("a", m, "1000") for m in (1, 2, 3)]
    # LED at a: estimated 10 kg in Jan-Mar; verified 12 kg in Feb and Mar, and 50 kg in
    # December 2023 (before any estimate)
    rows += [memo_entry("a", m, "10", f"ex_ante {led}") for m in (1, 2, 3)]
    rows += [memo_entry("a", m, "12", f"ex_post {led}") for m in (2, 3)]
    rows += [memo_entry("a", 12, "50", f"ex_post {led}", year=2023)]
    # WCs at b: estimated 4 kg a month, never verified
    rows += [memo_entry("b", m, "4", "ex_ante intervention=wc") for m in (1, 2, 3)]
    records = pd.DataFrame({
        "intervention_id": ["led", "wc", "pv"], "name_zh": ["灯", "厕", "光伏"],
        "name_en": ["LED", "WC", "PV"], "node_id": ["a", "b", "b"],
        "in_place": ["True", "True", "False"], "status": ["in_place", "in_place", "planned"],
        # period figures: the range is scaled to the year's estimate by the same ratio
        "estimated_t": [0.06, 0.012, 0.0], "low_t": [0.03, 0.006, 0.0],
        "high_t": [0.09, 0.024, 0.0]})
    data = SummaryData("hand", pd.DataFrame(rows), NODES, {"params": {"ne_threshold": 0.5}},
                       None, records)
    a = summarize(data).avoided
    # estimated 30 + 12 kg; verified 24 kg (Feb, Mar: December 2023 is another year)
    assert a.estimated_t == pytest.approx(0.042) and a.verified_t == pytest.approx(0.024)
    # realisation: 24 / (10 + 10) over the LED's verified months only = 1.2, not 24 / 42
    assert a.compared_estimated_t == pytest.approx(0.020)
    assert a.realisation == pytest.approx(1.2) and a.verified_exceeds_estimate
    # range: LED 0.030 x (0.03 / 0.06) .. 0.030 x (0.09 / 0.06); WC 0.012 x 0.5 .. x 2
    assert (a.low_t, a.high_t) == pytest.approx((0.015 + 0.006, 0.045 + 0.024))
    assert a.planned == 1
    at_b = summarize(data, "b").avoided
    assert at_b.estimated_t == pytest.approx(0.012) and at_b.realisation is None
    # 2023 holds only a verified month, so it is no inventory year
    assert data.years == (2024,)


def test_bad_arguments_raise(wall: WallSnapshot) -> None:
    with pytest.raises(SummaryError, match="has no entries in 2031; it covers 2024"):
        summarize(wall.summary_data, year=2031)
    with pytest.raises(SummaryError, match="method must be 'location' or 'market', not 'avg'"):
        summarize(wall.summary_data, method="avg")
    with pytest.raises(InventoryError, match="No node 'nowhere' in the twin"):
        summarize(wall.summary_data, "nowhere")


def test_summarize_reads_a_snapshot_folder(demo: Any, wall: WallSnapshot) -> None:
    s = summarize(demo.snapshot.path.parent)  # a snapshots folder: its LATEST
    w = wall.summary(wall.root)
    assert s.snapshot_id == w.snapshot_id and s.basic_t == w.basic_t
    assert s.avoided.realisation == w.avoided.realisation


# ------------------------------------------------------------------------------ the memo
def test_memo_hands_out_fresh_frames_and_does_not_grow() -> None:
    import gc
    import threading
    import time

    from carbon.summary import Memo, freeze, thaw

    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", None],
                          "c": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    pd.testing.assert_frame_equal(thaw(freeze({"f": frame}))["f"], frame)
    memo, calls = Memo(size=4), []

    def build() -> dict[str, Any]:
        calls.append(1)
        time.sleep(0.2)
        return {"frame": frame, "n": 3}

    # asked by three threads at once, built once
    threads = [threading.Thread(target=memo.get, args=(("k",), build)) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1
    # every hit is a fresh frame: changing one changes nothing kept
    got = memo.get(("k",), build)
    got["frame"].loc[0, "a"] = 99.0
    assert memo.get(("k",), build)["frame"].loc[0, "a"] == 1.0
    # views of handed-out frames leave nothing behind in the memo (pandas' copy-on-write
    # bookkeeping kept a weak reference per view on a kept frame: the soak's leak)
    # (50 kept frames, 40 hits each: a memo keeping frames and handing out .copy() grows by
    # thousands of weak references here, below pandas' sweep at ~500 per frame)
    many = Memo(size=64)
    for i in range(50):
        many.get((i,), lambda: frame)
    gc.collect()
    before = sum(1 for o in gc.get_objects() if type(o).__name__ == "ReferenceType")
    for _ in range(40):
        for i in range(50):
            f = many.get((i,), build)
            _ = f["a"].sum(), f[f["a"] > 1], f.copy()
    gc.collect()
    after = sum(1 for o in gc.get_objects() if type(o).__name__ == "ReferenceType")
    assert after - before < 100, (before, after)
    # bounded: the least recently used go
    for i in range(10):
        memo.get((i,), lambda i=i: i)
    assert len(memo) == 4 and memo.get((9,), lambda: -1) == 9


def test_a_snapshot_without_nodes_cannot_be_summarised(demo: Any) -> None:
    from carbon.snapshot import Snapshot

    snap = demo.snapshot
    outputs = {k: v for k, v in snap.outputs.items() if k != "nodes.csv"}
    bare = Snapshot(snap.path, {**snap.manifest, "outputs": outputs})
    with pytest.raises(SummaryError, match=r"lists no nodes\.csv; a summary needs the twin's"):
        SummaryData.of(bare)


def test_header_title_size_class() -> None:
    """A long title gets a smaller type; one wider than ~56 half-width characters (a CJK
    character counts two), as a synthetic city's name, wraps in a smaller type still."""
    from carbon.dashboard.app import _title_class

    assert _title_class("石门二路街道 · 碳排放监测大屏") == "title"
    assert _title_class("Shimen Erlu Subdistrict · Carbon Wall") == "title long"
    assert _title_class("合成城市(4 个石门二路街道副本) · 碳排放监测大屏") == "title long"
    assert (_title_class("Synthetic city (4 copies of Shimen Erlu Subdistrict) · Carbon Wall")
            == "title longer")
