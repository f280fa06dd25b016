"""Tests of carbon.scenario: a tiny scenario computed by hand (BAU, grid path, adoption ramp,
target line, wedges, MACC order and costs), base emissions from ledger entries, snapshots and
numbers, validation errors naming file, measure and field, figures, reproducibility, and the
Shimen Erlu example scenario.

Factors: profile ``shanghai-2022`` (electricity 0.42 kgCO2/kWh, Shanghai EEB 2022; water supply
0.1913 kgCO2e/m3, DEFRA 2025 proxy; wastewater 0.166989685 kgCO2e/m3, IPCC 2006 Vol. 5 Ch. 6
CH4 and N2O, factors/ipcc-2006-waste.toml).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import carbon
from carbon.errors import CarbonError
from carbon.factors import FactorSet
from carbon.ledger import build_ledger
from carbon.scenario import (
    MACC_COLUMNS,
    TRAJECTORY_COLUMNS,
    WEDGE_COLUMNS,
    Adoption,
    BaseEmissions,
    GridPath,
    GridPoint,
    Scenario,
    ScenarioError,
    ScenarioFileError,
    load_scenario,
    macc_figure,
    run_scenario,
    trajectory_figure,
    wedges_figure,
)
from carbon.store import Store
from carbon.twin import Twin
from carbon.warnings import QualityError

EXAMPLE = Path(__file__).parents[1] / "sites" / "shimen_erlu" / "scenarios" / "low_carbon_2035.toml"

# A tiny scenario to check by hand. BAU: 600 t of grid electricity + 400 t of other emissions
# in 2023, no growth. Grid path: 0.42 -> 0.21 kgCO2/kWh over 2023-2033, so the grid index is
# m(y) = 1 - 0.05 (y - 2023). Measure `led`: 100 fittings x (36 - 16) W x 10 h/d x 365 d =
# 7,300 kWh/yr x 0.42 = 3.066 t/yr, adopted 1/4 a year from 2024. Measure `lift`: 2 elevators x
# 40 kWh/d x 0.30 x 365 d = 8,760 kWh/yr x 0.42 = 3.6792 t/yr, all in 2026.
TINY = """
[scenario]
id = "tiny"
name_zh = "小情景"
name_en = "Tiny"
base_year = 2023
last_year = 2033

[[target]]
year = 2030
reduction = 0.3
basis = "ASSUMPTION: test target"

[bau]
growth = { I = 0.0 }
[bau.basis]
I = "ASSUMPTION: flat"

[grid]
[[grid.point]]
year = 2023
factor = "0.42 kgCO2/kWh"
source = "test"
[[grid.point]]
year = 2033
factor = "0.21 kgCO2/kWh"
source = "ASSUMPTION: halving in ten years"

[base]
source = "test numbers"
[base.emissions_t]
I = { electricity = 600, other = 400 }

[[measure]]
id = "led"
kind = "led_lighting"
name_zh = "LED"
name_en = "LED"
nodes = ["hengfeng.hengfeng_estate.north_building"]
lifetime_years = 10
capex = "7000 CNY"
opex_per_year = "0 CNY/yr"
adoption = { start = 2024, ramp_years = 4 }
parameters = { fixtures = "100", old_power = "36 W", new_power = "16 W", hours_per_day = "10 h/d" }
[measure.assumptions]
fixtures = "test"
old_power = "test"
new_power = "test"
hours_per_day = "test"
lifetime_years = "test"
capex = "test"
opex_per_year = "test"
adoption = "test"

[[measure]]
id = "lift"
kind = "elevator_regen"
name_zh = "电梯"
name_en = "Lifts"
nodes = ["kaidike"]
lifetime_years = 10
capex = "200000 CNY"
opex_per_year = "0 CNY/yr"
adoption = { 2026 = 1.0 }
parameters = { elevators = "2" }
[measure.assumptions]
elevators = "test"
lifetime_years = "test"
capex = "test"
opex_per_year = "test"
adoption = "test"
"""

LED_T = 7.3 * 0.42  # 3.066 t/yr at full adoption in the base year
LIFT_T = 8.76 * 0.42  # 3.6792 t/yr


@pytest.fixture(scope="module")
def twin() -> Twin:
    return carbon.load_twin("shimen_erlu")


@pytest.fixture(scope="module")
def factors() -> FactorSet:
    return carbon.load_factor_set("shanghai-2022")


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def tiny(tmp_path: Path, twin: Twin, text: str = TINY) -> Scenario:
    return load_scenario(write(tmp_path, text), twin)


def at(frame: pd.DataFrame, year: int, column: str, **where: str) -> float:
    rows = frame[frame["year"] == year]
    for key, value in where.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1
    return float(rows[column].iloc[0])


# --- the hand-computed scenario -----------------------------------------------------------------


def test_bau_and_grid_path_by_hand(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    result = run_scenario(tiny(tmp_path, twin), twin, factors)
    t = result.trajectory
    assert list(t.columns) == list(TRAJECTORY_COLUMNS)
    assert list(t["year"]) == list(range(2023, 2034))
    # m(y) = 1 - 0.05 (y - 2023): 0.75 in 2028, 0.5 in 2033.
    assert at(t, 2028, "grid_index") == pytest.approx(0.75)
    assert at(t, 2033, "grid_index") == pytest.approx(0.5)
    # The factor set's 0.42 kgCO2/kWh in 2023 follows the path's shape.
    assert at(t, 2023, "electricity_factor_kg_per_kwh") == pytest.approx(0.42)
    assert at(t, 2033, "electricity_factor_kg_per_kwh") == pytest.approx(0.21)
    # BAU = 600 m(y) + 400: 1000 in 2023, 850 in 2028, 700 in 2033.
    assert at(t, 2023, "bau_t") == pytest.approx(1000.0)
    assert at(t, 2028, "bau_t") == pytest.approx(850.0)
    assert at(t, 2033, "bau_electricity_t") == pytest.approx(300.0)
    assert at(t, 2033, "bau_other_t") == pytest.approx(400.0)


def test_wedges_follow_adoption_and_the_cleaner_grid(
    tmp_path: Path, twin: Twin, factors: FactorSet
) -> None:
    result = run_scenario(tiny(tmp_path, twin), twin, factors)
    w = result.wedges
    assert list(w.columns) == list(WEDGE_COLUMNS)
    # Ramp from 2024 over 4 years: 0, 1/4, 1/2, 3/4, 1, 1, ...
    shares = [at(w, y, "adoption_share", measure_id="led") for y in range(2023, 2029)]
    assert shares == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    # 2025: 0.5 x 3.066 t x m = 0.9 -> 1.3797 t; 2030: 1 x 3.066 x 0.65 = 1.9929 t.
    assert at(w, 2025, "avoided_t", measure_id="led") == pytest.approx(1.3797)
    assert at(w, 2030, "avoided_t", measure_id="led") == pytest.approx(1.9929)
    # A kWh saved in 2033 avoids half what it avoided in 2023.
    assert at(w, 2033, "avoided_t", measure_id="led") == pytest.approx(LED_T * 0.5)
    # Lifts: nothing before 2026, then 3.6792 t x m(y): x 0.85 in 2026.
    assert at(w, 2025, "avoided_t", measure_id="lift") == 0.0
    assert at(w, 2026, "avoided_t", measure_id="lift") == pytest.approx(LIFT_T * 0.85)
    # The trajectory is BAU minus the wedges: 2030 = 790 - 1.9929 - 3.6792 x 0.65.
    t = result.trajectory
    assert at(t, 2030, "avoided_t") == pytest.approx(1.9929 + LIFT_T * 0.65)
    assert at(t, 2030, "scenario_t") == pytest.approx(790.0 - 1.9929 - LIFT_T * 0.65)
    assert (t["removal_t"] == 0).all() and (t["net_t"] == t["scenario_t"]).all()
    # The components trace the wedge to its twin node.
    c = result.components.set_index("measure_id")
    assert c.loc["led", "node_id"] == "hengfeng.hengfeng_estate.north_building"
    assert c.loc["led", "electricity_kwh_per_yr"] == pytest.approx(7300.0)
    assert c.loc["led", "avoided_grid_t_per_yr"] == pytest.approx(LED_T)
    assert c.loc["lift", "avoided_other_t_per_yr"] == 0.0


def test_target_line_and_check(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    result = run_scenario(tiny(tmp_path, twin), twin, factors)
    t = result.trajectory
    # Linear from 1000 t in 2023 to 700 t (-30 %) in 2030, then flat.
    assert at(t, 2023, "target_t") == pytest.approx(1000.0)
    assert at(t, 2026, "target_t") == pytest.approx(1000.0 * (1 - 0.3 * 3 / 7))
    assert at(t, 2030, "target_t") == pytest.approx(700.0)
    assert at(t, 2033, "target_t") == pytest.approx(700.0)
    check = result.targets.iloc[0]
    assert check["year"] == 2030 and check["compare"] == "gross"
    assert check["value_t"] == pytest.approx(790.0 - 1.9929 - LIFT_T * 0.65)
    assert check["gap_t"] == pytest.approx(check["value_t"] - 700.0)
    assert not check["met"]


def test_macc_costs_and_order(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    # Without an electricity price: LED 7000 CNY / 10 yr = 700 CNY/yr over 3.066 t = 228.31;
    # lifts 200,000 / 10 = 20,000 CNY/yr over 3.6792 t = 5,435.97 CNY/t.
    macc = run_scenario(tiny(tmp_path, twin), twin, factors).macc
    assert list(macc.columns) == list(MACC_COLUMNS)
    assert list(macc["measure_id"]) == ["led", "lift"]
    assert list(macc["rank"]) == [1, 2]
    assert macc["cost_per_t_cny"].tolist() == pytest.approx([700 / LED_T, 20000 / LIFT_T])
    assert macc["abatement_t_per_yr"].tolist() == pytest.approx([LED_T, LIFT_T])
    assert macc["cumulative_start_t"].tolist() == pytest.approx([0.0, LED_T])
    assert macc["cumulative_end_t"].tolist() == pytest.approx([LED_T, LED_T + LIFT_T])


def test_macc_with_an_electricity_price_goes_negative(
    tmp_path: Path, twin: Twin, factors: FactorSet
) -> None:
    # Bills avoided at 0.617 CNY/kWh: LED (700 - 7,300 x 0.617) / 3.066 = -1,240.76 CNY/t;
    # lifts (20,000 - 8,760 x 0.617) / 3.6792 = 3,966.86 CNY/t. A cleaner grid in the MACC
    # year (2033, m = 0.5) halves the tonnes and doubles the cost per tonne.
    text = TINY.replace(
        "[base]\n",
        '[macc]\nelectricity_price = "0.617 CNY/kWh"\nsource = "test tariff"\n\n[base]\n',
    )
    macc = run_scenario(tiny(tmp_path, twin, text), twin, factors).macc
    assert macc["cost_per_t_cny"].tolist() == pytest.approx(
        [(700 - 7300 * 0.617) / LED_T, (20000 - 8760 * 0.617) / LIFT_T]
    )
    assert macc["bill_savings_cny_per_yr"].tolist() == pytest.approx([4504.1, 5404.92])
    later = text.replace("[macc]\n", "[macc]\nyear = 2033\n")
    macc_2033 = run_scenario(tiny(tmp_path, twin, later), twin, factors).macc
    assert macc_2033["abatement_t_per_yr"].tolist() == pytest.approx([LED_T / 2, LIFT_T / 2])
    assert macc_2033["cost_per_t_cny"].iloc[1] == pytest.approx(2 * (20000 - 8760 * 0.617) / LIFT_T)


def test_macc_sorts_the_cheaper_measure_first(
    tmp_path: Path, twin: Twin, factors: FactorSet
) -> None:
    # The lifts made cheap (20,000 CNY -> 10 yr: 2,000 CNY/yr / 3.6792 t = 543.6 CNY/t) still
    # cost more than the LEDs; made nearly free they come first.
    text = TINY.replace('capex = "200000 CNY"', 'capex = "1000 CNY"')
    macc = run_scenario(tiny(tmp_path, twin, text), twin, factors).macc
    assert list(macc["measure_id"]) == ["lift", "led"]
    assert macc["cost_per_t_cny"].is_monotonic_increasing
    assert macc["cumulative_start_t"].tolist() == pytest.approx([0.0, LIFT_T])


def test_a_measure_without_costs_is_left_off_the_curve(
    tmp_path: Path, twin: Twin, factors: FactorSet
) -> None:
    text = TINY.replace('capex = "200000 CNY"\n', "")
    result = run_scenario(tiny(tmp_path, twin, text), twin, factors)
    macc = result.macc
    assert list(macc["measure_id"]) == ["led", "lift"]
    assert pd.isna(macc["cost_per_t_cny"].iloc[1])
    assert pd.isna(macc["cumulative_start_t"].iloc[1])
    assert "scenario.macc_no_cost" in [w.code for w in result.warnings]
    with pytest.raises(QualityError, match="lift: no cost per tonne"):
        run_scenario(tiny(tmp_path, twin, text), twin, factors, strict=True)


def test_adoption_in_the_base_year_is_already_in_the_base(
    tmp_path: Path, twin: Twin, factors: FactorSet
) -> None:
    # Half adopted in 2023 and all by 2025: only the gain counts, 0 -> 1/4 -> 1/2.
    text = TINY.replace(
        "adoption = { start = 2024, ramp_years = 4 }", "adoption = { 2023 = 0.5, 2025 = 1.0 }"
    )
    w = run_scenario(tiny(tmp_path, twin, text), twin, factors).wedges
    gains = [at(w, y, "adoption_gain", measure_id="led") for y in (2023, 2024, 2025, 2026)]
    assert gains == pytest.approx([0.0, 0.25, 0.5, 0.5])
    assert at(w, 2023, "avoided_t", measure_id="led") == 0.0
    assert at(w, 2024, "avoided_t", measure_id="led") == pytest.approx(0.25 * LED_T * 0.95)


def test_other_flows_ignore_the_grid_and_removals_stay_apart(
    tmp_path: Path, twin: Twin, factors: FactorSet
) -> None:
    # Toilets on the Zhangjiazhai WCs (300 flushes/d, 9 L -> 5 L, GB 25502-2017 grade 2):
    # 300 x 4 L x 365 d = 438 m3 of water and of wastewater a year, x (0.1913 + 0.166989685)
    # kgCO2e/m3 = 0.156930882 t, not valued with the grid factor, so not scaled by it.
    # Green roof, Hengfeng roof 600 m2: cooling 600 x 11.53 = 6,918 kWh x 0.42 = 2.90556 t/yr,
    # scaled by the grid (Cai et al. 2019, Wuxi); its plant uptake is no lasting removal (0).
    # Pocket park, 200 m2, half under trees: 200 x 0.5 x 0.28 kg C x 44/12 = 0.1026667 t/yr
    # removed (Nowak et al. 2013), apart from the avoided flows.
    extra = """
[[measure]]
id = "park"
kind = "green_space"
name_zh = "口袋公园"
name_en = "Pocket park"
assets = ["hengfeng_road.xiaoshiliu_park"]
lifetime_years = 20
capex = "50000 CNY"
opex_per_year = "0 CNY/yr"
adoption = { 2024 = 1.0 }
[measure.assumptions]
lifetime_years = "test"
capex = "test"
opex_per_year = "test"
adoption = "test"

[[measure]]
id = "wc"
kind = "water_saving_toilets"
name_zh = "节水"
name_en = "WCs"
assets = { kind = "toilets" }
lifetime_years = 15
adoption = { 2024 = 1.0 }
[measure.assumptions]
lifetime_years = "test"
adoption = "test"

[[measure]]
id = "roof"
kind = "green_roof"
name_zh = "屋顶绿化"
name_en = "Green roof"
assets = ["hengfeng.north_building.roof"]
lifetime_years = 20
capex = "180000 CNY"
opex_per_year = "6000 CNY/yr"
adoption = { 2024 = 1.0 }
[measure.assumptions]
lifetime_years = "test"
capex = "test"
opex_per_year = "test"
adoption = "test"
"""
    result = run_scenario(tiny(tmp_path, twin, TINY + extra), twin, factors)
    w = result.wedges
    for year in (2024, 2033):
        assert at(w, year, "avoided_t", measure_id="wc") == pytest.approx(0.156930882)
    assert at(w, 2033, "avoided_t", measure_id="roof") == pytest.approx(2.90556 * 0.5)
    assert at(w, 2033, "removal_t", measure_id="roof") == 0
    park = 200 * 0.5 * 0.28 * 44 / 12 / 1000
    assert at(w, 2033, "removal_t", measure_id="park") == pytest.approx(park)
    t = result.trajectory
    assert at(t, 2033, "removal_t") == pytest.approx(park)
    assert at(t, 2033, "net_t") == pytest.approx(at(t, 2033, "scenario_t") - park)
    traces = {trace.name: trace for trace in result.figure_wedges("en").data}
    assert traces["Pocket park (removal)"].stackgroup == "removal"
    assert traces["Green roof"].stackgroup == "avoided"
    assert "Net of removals" in [trace.name for trace in result.figure_trajectory("en").data]
    macc = result.macc.set_index("measure_id")
    # (180,000 / 20 + 6,000) / 2.90556 CNY/t; the park (50,000 / 20) / 0.1026667
    assert macc.loc["roof", "abatement_t_per_yr"] == pytest.approx(2.90556)
    assert macc.loc["roof", "cost_per_t_cny"] == pytest.approx(15000 / 2.90556)
    assert macc.loc["park", "cost_per_t_cny"] == pytest.approx(2500 / park)


def test_a_decline_rate_alone_and_no_grid_path(
    tmp_path: Path, twin: Twin, factors: FactorSet
) -> None:
    grid = TINY[TINY.index("[grid]") : TINY.index("[base]")]
    decline = TINY.replace(grid, '[grid]\ndecline_per_year = 0.1\nbasis = "ASSUMPTION: test"\n\n')
    t = run_scenario(tiny(tmp_path, twin, decline), twin, factors).trajectory
    assert at(t, 2025, "grid_index") == pytest.approx(0.81)
    assert at(t, 2025, "bau_t") == pytest.approx(600 * 0.81 + 400)
    flat = run_scenario(tiny(tmp_path, twin, TINY.replace(grid, "")), twin, factors)
    assert (flat.trajectory["grid_index"] == 1.0).all()
    assert at(flat.wedges, 2030, "avoided_t", measure_id="led") == pytest.approx(LED_T)


def test_grid_path_and_adoption_pieces() -> None:
    # East China 2021-2023 (docs/research/factors.md §1), then -2.1 %/yr.
    path = GridPath(
        (GridPoint(2021, 0.5992, "a"), GridPoint(2022, 0.5617, "b"), GridPoint(2023, 0.55, "c")),
        decline_per_year=0.021,
    )
    assert path.factor(2020) == 0.5992
    assert path.factor(2025) == pytest.approx(0.55 * 0.979**2)
    assert path.index(2025, 2023) == pytest.approx(0.979**2)
    assert path.index(2023, 2022) == pytest.approx(0.55 / 0.5617)
    ramp = Adoption.ramp(2025, 3, full_share=0.6)
    assert [ramp.share(y) for y in range(2024, 2029)] == pytest.approx([0, 0.2, 0.4, 0.6, 0.6])
    assert Adoption.ramp(2025, 1).share(2025) == 1.0


def test_growth_compounds_per_sector(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    text = TINY.replace("growth = { I = 0.0 }", "growth = { I = 0.0, default = 0.1 }").replace(
        'I = "ASSUMPTION: flat"', 'I = "ASSUMPTION: flat"\ndefault = "ASSUMPTION: test"'
    )
    base = {"I": {"electricity": 600, "other": 400}, "VI": {"other": 100}}
    t = run_scenario(tiny(tmp_path, twin, text), twin, factors, base_emissions=base).trajectory
    # VI grows 10 %/yr: 100 x 1.1^2 = 121 t in 2025.
    assert at(t, 2025, "bau_other_t") == pytest.approx(400 + 121)


# --- base emissions ---------------------------------------------------------------------------


def _entries() -> pd.DataFrame:
    rows = [
        ("emission", "2024-01-01", "I", "location", "electricity.grid", "I.1.2", "1000.000"),
        ("emission", "2024-01-01", "I", "market", "electricity.grid", "I.1.2", "9999.000"),
        ("emission", "2024-02-01", "I", "n/a", "natural_gas.combustion", "I.1.1", "500.500"),
        ("adjustment", "2024-02-01", "I", "location", "electricity.grid", "I.1.2", "-100.000"),
        ("emission", "2024-03-01", "VI", "n/a", "water.supply", "VI.1", "20.000"),
        ("avoided", "2024-03-01", "I", "location", "electricity.grid", "I.1.2", "300.000"),
        ("removal", "2024-03-01", "V", "n/a", "removal.vegetation", "V.2", "50.000"),
        ("emission", "2023-12-01", "I", "location", "electricity.grid", "I.1.2", "7777.000"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["kind", "period_start", "gpc_sector", "method", "activity", "gpc_ref", "co2e_kg"],
    )
    frame["period_start"] = [dt.date.fromisoformat(d) for d in frame["period_start"]]
    frame["co2e_kg"] = [Decimal(x) for x in frame["co2e_kg"]]
    return frame


def test_base_from_entries_is_location_based_emissions_only() -> None:
    base = BaseEmissions.from_entries(_entries(), 2024, "hand")
    e = base.emissions.set_index("sector")
    # Location view (market row out), adjustments in, avoided/removal and 2023 out.
    assert e.loc["I", "electricity_t"] == pytest.approx(0.9)
    assert e.loc["I", "other_t"] == pytest.approx(0.5005)
    assert e.loc["VI", "other_t"] == pytest.approx(0.02)
    assert base.total_t == pytest.approx(1.4205)
    assert base.months == 3
    assert [w.code for w in base.warnings] == ["scenario.base_partial_year"]
    basic = BaseEmissions.from_entries(_entries(), 2024, "hand", total="BASIC")
    assert list(basic.emissions["sector"]) == ["I"]  # VI.1 is not in BASIC
    with pytest.raises(ScenarioError, match=r"no emission entries in 2022.*2023\.\.2024"):
        BaseEmissions.from_entries(_entries(), 2022, "hand")


def test_base_from_a_ledger_and_a_snapshot(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    # 31 d x 24 h x 10 kWh at Kaidike (an office, GPC I.2.2) x 0.42 = 3.1248 t in January 2024.
    csv = tmp_path / "elec.csv"
    rows = [f"E-KAIDIKE,2024-01-{d:02d} {h:02d}:00,10,kWh" for d in range(1, 32) for h in range(24)]
    csv.write_text("meter_id,timestamp,value,unit\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with Store(tmp_path / "s.duckdb") as store:
        store.sync_twin(twin)
        store.ingest(csv, now=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        ledger = build_ledger(store, twin, factors, "2024-01-01", "2024-02-01")
        snapshot = ledger.publish(tmp_path / "snapshots")
    base = BaseEmissions.from_ledger(ledger)
    assert base.year == 2024 and base.total_t == pytest.approx(3.1248)
    assert base.emissions.to_dict("records") == [
        {"sector": "I", "electricity_t": pytest.approx(3.1248), "other_t": 0.0}
    ]
    snap = BaseEmissions.from_snapshot(snapshot.path)
    pd.testing.assert_frame_equal(snap.emissions, base.emissions)
    # A scenario with base year 2024 runs on the ledger; its 2023 twin refuses it.
    text = TINY.replace("base_year = 2023", "base_year = 2024")
    result = run_scenario(tiny(tmp_path, twin, text), twin, factors, base_emissions=ledger)
    assert at(result.trajectory, 2024, "bau_t") == pytest.approx(3.1248)
    assert "scenario.base_partial_year" in [w.code for w in result.warnings]
    latest = run_scenario(
        tiny(tmp_path, twin, text), twin, factors, base_emissions=tmp_path / "snapshots"
    )
    pd.testing.assert_frame_equal(latest.trajectory, result.trajectory)
    with pytest.raises(ScenarioError, match="no emission entries in 2023"):
        run_scenario(tiny(tmp_path, twin), twin, factors, base_emissions=ledger)


def test_base_from_numbers_and_its_errors(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    scenario = tiny(tmp_path, twin)
    given = run_scenario(
        scenario, twin, factors, base_emissions={"I": {"electricity": 60, "other": 40}}
    )
    assert at(given.trajectory, 2028, "bau_t") == pytest.approx(60 * 0.75 + 40)
    with pytest.raises(ScenarioError, match=r"sector I: give \{'electricity'"):
        run_scenario(scenario, twin, factors, base_emissions={"I": 100.0})
    with pytest.raises(ScenarioError, match="unknown GPC sector 'IX'"):
        BaseEmissions.from_mapping({"IX": {"other": 1}}, 2023, "x")
    with pytest.raises(ScenarioError, match=r"unknown part\(s\) \['gas'\]"):
        BaseEmissions.from_mapping({"I": {"gas": 1}}, 2023, "x")
    with pytest.raises(ScenarioError, match="base emissions are of 2020"):
        run_scenario(
            scenario,
            twin,
            factors,
            base_emissions=BaseEmissions.from_mapping({"I": {"other": 1}}, 2020, "x"),
        )
    with pytest.raises(ScenarioError, match="must be a Ledger, a snapshot path"):
        run_scenario(scenario, twin, factors, base_emissions=42)  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match=r"sector VI but \[bau.growth\] has no rate"):
        run_scenario(scenario, twin, factors, base_emissions={"VI": {"other": 1}})
    no_base = TINY[: TINY.index("[base]")] + TINY[TINY.index("[[measure]]") :]
    with pytest.raises(ScenarioError, match=r"no base emissions; add a \[base\] table"):
        run_scenario(tiny(tmp_path, twin, no_base), twin, factors)


# --- validation -------------------------------------------------------------------------------


def _swap(old: str, new: str) -> str:
    assert old in TINY, old
    return TINY.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            _swap(
                'nodes = ["hengfeng.hengfeng_estate.north_building"]',
                'nodes = ["hengfeng.nowhere"]',
            ),
            r"entry 'led', field 'nodes': node 'hengfeng.nowhere' is not in twin 'shimen_erlu'",
        ),
        (
            _swap('nodes = ["kaidike"]', 'assets = ["zhangjiazhai.toilets"]'),
            r"entry 'lift', field 'assets': .*'zhangjiazhai.toilets' is a toilets; expected "
            r"elevators",
        ),
        (
            _swap('old_power = "36 W"', 'old_power = "36 kWh"'),
            r"entry 'led', field 'parameters.old_power': .*wrong unit",
        ),
        (
            _swap('new_power = "16 W"', 'new_powr = "16 W"'),
            r"field 'parameters.new_powr': unknown parameter 'new_powr' for kind led_lighting",
        ),
        (
            _swap('new_power = "test"\n', ""),
            r"entry 'led', field 'assumptions.new_power': new_power has neither a source",
        ),
        (
            _swap("adoption = { 2026 = 1.0 }", "adoption = { 2026 = 1.5 }"),
            r"entry 'lift', field 'adoption.2026': 1.5 is outside 0..1",
        ),
        (
            _swap("adoption = { 2026 = 1.0 }", "adoption = { 26 = 1.0 }"),
            r"field 'adoption.26': expected a year 1990..2100",
        ),
        (
            _swap('basis = "ASSUMPTION: test target"', ""),
            r"field 'target\[0\].basis': a target needs its basis",
        ),
        (
            _swap("year = 2030", "year = 2040"),
            r"target year 2040 must be .* not after last_year 2033",
        ),
        (_swap('I = "ASSUMPTION: flat"', ""), r"field 'bau.basis.I': growth of sector I has no"),
        (_swap('source = "test"\n', ""), r"field 'grid.point\[0\].source'"),
        (
            _swap('factor = "0.42 kgCO2/kWh"', 'factor = "0.42 kg/kWh"'),
            r"field 'grid.point\[0\].factor': '0.42 kg/kWh' is not a quantity in kgCO2/kWh",
        ),
        (_swap('factor = "0.42 kgCO2/kWh"', "factor = 0.42"), r"write a quantity with its unit"),
        (
            _swap(
                'parameters = { elevators = "2" }',
                'parameters = { elevators = { per = "households", value = "0.1" } }',
            ),
            r"field 'parameters.elevators.per': 'kaidike' has no attribute 'households'",
        ),
        (
            _swap('kind = "elevator_regen"', 'kind = "teleporter"'),
            r"entry 'lift', field 'kind': unknown kind 'teleporter'",
        ),
        (_swap('id = "lift"', 'id = "led"'), r"entry 'led', field 'id': duplicate measure id"),
        (_swap('id = "lift"', 'id = "Lift-1"'), r"field 'id': every measure needs an id"),
        (
            _swap('nodes = ["kaidike"]', 'nodes = { kind = "office_building", under = "mars" }'),
            r"field 'nodes.under': node 'mars' is not in twin",
        ),
        (
            _swap('nodes = ["kaidike"]', 'nodes = { kind = "volcano" }'),
            r"field 'nodes': the selection .* matches no node",
        ),
        (
            _swap('nodes = ["kaidike"]', 'nodes = ["kaidike"]\nassets = ["kaidike.elevators"]'),
            r"exactly one of nodes, assets or interventions",
        ),
        (_swap("[bau]", "[bau]\nsurprise = 1"), r"field 'bau.surprise': unknown key 'surprise'"),
        (_swap("[scenario]", "[scenarios]\n[scenario]"), r"field 'scenarios': unknown key"),
        (
            _swap("last_year = 2033", "last_year = 2020"),
            r"field 'scenario.last_year': last_year 2020 is before first_year 2023",
        ),
        (
            _swap("I = { electricity = 600, other = 400 }", "I = 1000"),
            r"field 'base.emissions_t': base emissions of sector I: give",
        ),
        (
            _swap('name_en = "Tiny"', 'name_en = "Tiny"\nsite = "elsewhere"'),
            r"for site 'elsewhere', not twin 'shimen_erlu'",
        ),
    ],
)
def test_file_errors_name_file_measure_and_field(
    tmp_path: Path, twin: Twin, text: str, match: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioFileError, match=match) as info:
        load_scenario(path, twin)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, CarbonError)
    assert isinstance(err, ScenarioError)
    assert str(path) in str(err)


def test_register_measures(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    # The planned Jiafa PV system of the register, adopted in 2027; no parameters of its own.
    pv = """
[[measure]]
id = "pv"
name_zh = "光伏"
name_en = "PV"
interventions = ["jiafa_rooftop_pv"]
adoption = { 2027 = 1.0 }
[measure.assumptions]
adoption = "test"
"""
    result = run_scenario(tiny(tmp_path, twin, TINY + pv), twin, factors)
    row = result.macc.set_index("measure_id").loc["pv"]
    assert row["kind"] == "rooftop_pv" and row["targets"] == 1
    comp = result.components.set_index("measure_id").loc["pv"]
    assert comp["target"] == "jiafa_rooftop_pv" and comp["intervention_id"] == "pv.jiafa_rooftop_pv"
    assert comp["avoided_grid_t_per_yr"] == pytest.approx(
        comp["electricity_kwh_per_yr"] * 0.00042, rel=1e-6
    )
    assert at(result.wedges, 2026, "avoided_t", measure_id="pv") == 0.0
    in_place = pv.replace("jiafa_rooftop_pv", "zhangjiazhai_toilets")
    with pytest.raises(
        ScenarioFileError,
        match=r"'zhangjiazhai_toilets' is in place since "
        r"2023-07-01, so its savings are already in the base-year",
    ):
        tiny(tmp_path, twin, TINY + in_place)
    unknown = pv.replace("jiafa_rooftop_pv", "moon_base")
    with pytest.raises(
        ScenarioFileError,
        match=r"entry 'pv', field 'interventions': no "
        r"intervention 'moon_base'",
    ):
        tiny(tmp_path, twin, TINY + unknown)
    with pytest.raises(ScenarioFileError, match=r"field 'parameters': parameters of register"):
        tiny(
            tmp_path,
            twin,
            TINY + pv.replace("adoption = {", 'parameters = { tilt = "10 deg" }\nadoption = {'),
        )


def test_file_level_errors(tmp_path: Path, twin: Twin) -> None:
    with pytest.raises(ScenarioFileError, match=r"nothing\.toml: file not found"):
        load_scenario(tmp_path / "nothing.toml", twin)
    with pytest.raises(ScenarioFileError, match="not valid TOML"):
        load_scenario(write(tmp_path, "[scenario\n"), twin)
    with pytest.raises(ScenarioFileError, match=r"missing the \[scenario\] table"):
        load_scenario(write(tmp_path, "[bau]\n"), twin)


def test_run_refuses_another_twin_and_a_bad_language(
    tmp_path: Path, twin: Twin, factors: FactorSet
) -> None:
    scenario = tiny(tmp_path, twin)
    stale = dataclasses.replace(scenario, twin_hash="0" * 64)
    with pytest.raises(ScenarioError, match=r"was loaded with twin 'shimen_erlu' .*load it again"):
        run_scenario(stale, twin, factors)
    result = run_scenario(scenario, twin, factors)
    with pytest.raises(ScenarioError, match="lang must be 'zh' or 'en', not 'fr'"):
        result.figure_macc("fr")


# --- figures ----------------------------------------------------------------------------------


def test_trajectory_figure(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    result = run_scenario(tiny(tmp_path, twin), twin, factors)
    fig = trajectory_figure(result.trajectory, "en")
    names = [trace.name for trace in fig.data]
    assert names == ["Business as usual", "Scenario", "Target"]  # no removals: no net line
    assert list(fig.data[0].x) == list(range(2023, 2034))
    assert fig.data[0].y[5] == pytest.approx(850.0)
    assert fig.data[2].y[7] == pytest.approx(700.0)
    zh = result.figure_trajectory("zh")
    assert [trace.name for trace in zh.data] == ["基准情景(BAU)", "规划情景", "目标"]
    assert "小情景" in zh.layout.title.text and "排放轨迹" in zh.layout.title.text


def test_wedges_figure(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    result = run_scenario(tiny(tmp_path, twin), twin, factors)
    fig = wedges_figure(result.wedges, "zh")
    assert [trace.name for trace in fig.data] == ["LED", "电梯"]
    assert {trace.stackgroup for trace in fig.data} == {"avoided"}
    assert fig.data[0].y[2] == pytest.approx(1.3797)
    assert "Lifts" in [trace.name for trace in result.figure_wedges("en").data]


def test_macc_figure(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    text = TINY.replace('capex = "200000 CNY"\n', "")  # lifts without costs: left off
    text = text.replace(
        "[base]\n", '[macc]\nelectricity_price = "0.617 CNY/kWh"\nsource = "test"\n\n[base]\n'
    )
    result = run_scenario(tiny(tmp_path, twin, text), twin, factors)
    fig = macc_figure(result.macc, "en")
    (bar,) = fig.data
    assert bar.name == "LED"
    assert list(bar.width) == pytest.approx([LED_T])
    assert list(bar.x) == pytest.approx([LED_T / 2])
    assert list(bar.y) == pytest.approx([(700 - 7300 * 0.617) / LED_T])
    # Both measures costed: one bar each, cheapest first, edge to edge.
    both = run_scenario(tiny(tmp_path, twin, TINY), twin, factors).figure_macc("zh")
    assert [b.name for b in both.data] == ["LED", "电梯"]
    assert [b.x[0] for b in both.data] == pytest.approx([LED_T / 2, LED_T + LIFT_T / 2])
    assert both.layout.barmode == "overlay"
    assert "Marginal abatement cost curve" in fig.layout.title.text
    assert "边际减排成本曲线" in result.figure_macc("zh").layout.title.text


# --- reproducibility and the example ----------------------------------------------------------


def test_same_inputs_give_identical_frames(tmp_path: Path, twin: Twin, factors: FactorSet) -> None:
    a = run_scenario(tiny(tmp_path, twin), twin, factors)
    b = run_scenario(tiny(tmp_path, twin), twin, factors)
    for name in ("trajectory", "wedges", "macc", "components", "targets"):
        left, right = getattr(a, name), getattr(b, name)
        pd.testing.assert_frame_equal(left, right, check_exact=True)
        assert left.to_csv(index=False) == right.to_csv(index=False)
    assert a.provenance == b.provenance
    assert a.provenance["scenario_sha256"] == a.scenario.sha256
    assert a.provenance["factor_set"] == "shanghai-2022"


@pytest.fixture(scope="module")
def example(twin: Twin, factors: FactorSet):
    return run_scenario(load_scenario(EXAMPLE, twin), twin, factors)


def test_example_scenario_runs_and_is_cited(example) -> None:
    s = example.scenario
    assert (s.base_year, s.first_year, s.last_year) == (2023, 2023, 2035)
    assert [m.id for m in s.measures] == [
        "residential_common_led",
        "office_led",
        "office_elevator_regen",
        "office_rooftop_pv",
        "hengfeng_green_roof",
    ]
    # Every residential area and every office but the excluded one is a target.
    by_id = {m.id: m for m in s.measures}
    assert len(by_id["residential_common_led"].targets) == 11
    assert "bohua_plaza" not in by_id["office_led"].targets
    assert len(by_id["office_led"].targets) == 30
    # Fixtures scale with households: 0.5 x 913 at Fengxian.
    fengxian = by_id["residential_common_led"].interventions[0]
    assert fengxian.node == "fengxian"
    assert float(fengxian.value("fixtures").magnitude) == pytest.approx(456.5)
    # The cited East China points and the assumed decline after 2023.
    assert s.grid is not None and [p.factor for p in s.grid.points] == [0.5992, 0.5617, 0.55]
    assert s.grid.basis is not None and s.grid.basis.startswith("ASSUMPTION")
    assert all(t.basis.startswith("ASSUMPTION") for t in s.targets)
    t = example.trajectory
    assert at(t, 2023, "bau_t") == pytest.approx(example.base.total_t)
    assert at(t, 2035, "grid_index") == pytest.approx(0.979**12)
    assert (t["scenario_t"] <= t["bau_t"]).all()
    assert example.macc["cost_per_t_cny"].is_monotonic_increasing
    assert set(example.wedges["measure_id"]) == set(by_id)
