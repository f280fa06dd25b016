"""Tests of carbon.interventions: each model against a hand calculation, the ranges, costs,
ledger entries (kinds, signs, commissioning, never netted) and the Shimen Erlu register.

Factors: profile ``shanghai-2022`` (electricity 0.42 kgCO2/kWh, Shanghai EEB 2022; water
supply 0.1913 kgCO2e/m3, DEFRA 2025 proxy; wastewater 0.166989685 kgCO2e/m3 = 0.004848485 kg CH4
x 28 + 0.000117857 kg N2O x 265, IPCC 2006 Vol. 5 Ch. 6, factors/ipcc-2006-waste.toml).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

import carbon
from carbon.errors import CarbonError
from carbon.factors import FactorSet
from carbon.interventions import (
    REGISTER_COLUMNS,
    EbikeCharging,
    ElevatorRegenerativeDrive,
    Greening,
    GreenSpace,
    InterventionError,
    LedRetrofit,
    Register,
    RegisterError,
    WaterSavingToilets,
    estimate_register,
    load_register,
    register_entries,
    to_entries,
)
from carbon.ledger import build_ledger
from carbon.store import Store
from carbon.twin import Twin

JAN = ("2024-01-01", "2024-02-01")
COMMON = {
    "name_zh": "测试",
    "name_en": "test",
    "commissioned": dt.date(2023, 1, 1),
    "lifetime_years": 10,
}


@pytest.fixture(scope="module")
def twin() -> Twin:
    return carbon.load_twin("shimen_erlu")


@pytest.fixture(scope="module")
def factors() -> FactorSet:
    return carbon.load_factor_set("shanghai-2022")


@pytest.fixture(scope="module")
def register(twin: Twin) -> Register:
    return load_register(twin)


def one(frame: pd.DataFrame, column: str) -> float:
    assert len(frame) == 1
    return float(frame[column].iloc[0])


# --- LED ---------------------------------------------------------------------------------------


def test_led_hand_calculation(twin: Twin, factors: FactorSet) -> None:
    # Issue 4 hand check: 8 fixtures x (36 - 12) W x 24 h x 31 d = 142.848 kWh in January;
    # x 0.42 kgCO2/kWh (Shanghai EEB 2022) = 59.99616 kg -> 59.996 kg in the ledger entry.
    led = LedRetrofit(
        id="led",
        node="hengfeng.hengfeng_estate.north_building",
        assets=("hengfeng.mailbox_room_lights",),
        new_power="12 W",
        hours_per_day="24 h/d",
        **COMMON,
    ).with_twin(twin)
    assert led.origin("fixtures") == "asset" and led.origin("old_power") == "asset"
    est = led.estimate(factors, *JAN)
    assert one(est.monthly, "electricity_saved_kwh") == pytest.approx(142.848, rel=1e-12)
    assert one(est.monthly, "avoided_co2e_kg") == pytest.approx(59.99616, rel=1e-12)
    (entry,) = est.entries.to_dict("records")
    assert entry["kind"] == "avoided"
    assert entry["gpc_ref"] == "I.1.2"  # residential building, grid electricity
    assert entry["activity"] == "electricity.grid"
    assert entry["amount"] == Decimal("142.848000")
    assert entry["factor_id"] == "sh-eeb-2022.electricity"
    assert entry["factor_co2e"] == Decimal("0.42")
    assert entry["co2e_kg"] == Decimal("59.996")
    assert entry["method"] == "location"
    assert "ex_ante" in entry["notes"] and "intervention=led" in entry["notes"]


def test_led_cited_reduction_and_range(factors: FactorSet) -> None:
    # Default power reduction for a fluorescent baseline: 0.47 (vendor, low), range 0.14-0.60
    # (efficacy row); hours 24 h/d, range 11.7-24 h/d (docs/research/benchmarks.md §5).
    led = LedRetrofit(id="led", node="x", fixtures=8, old_power="36 W", **COMMON)
    est = led.estimate(factors, *JAN, region="CN-SH")
    central = 8 * 36 * 0.47 * 24 * 31 / 1000  # 100.70208 kWh
    low = 8 * 36 * 0.14 * 11.7 * 31 / 1000  # 14.624 kWh
    high = 8 * 36 * 0.60 * 24 * 31 / 1000  # 128.5632 kWh
    assert one(est.monthly, "electricity_saved_kwh") == pytest.approx(central)
    assert one(est.monthly, "avoided_low_kg") == pytest.approx(low * 0.42)
    assert one(est.monthly, "avoided_high_kg") == pytest.approx(high * 0.42)
    table = est.parameters.set_index("parameter")
    assert table.loc["power_reduction", "confidence"] == "low"
    assert "luminatelightinggroup" in table.loc["power_reduction", "source"]
    assert table.loc["hours_per_day", "confidence"] == "assumption"


def test_led_incandescent_baseline_uses_the_doe_row() -> None:
    led = LedRetrofit(
        id="led", node="x", fixtures=1, old_power="60 W", baseline="incandescent", **COMMON
    )
    assert led.value("power_reduction").magnitude == pytest.approx(0.75)  # US DOE, >= 75 %
    low, high = led.range_of("power_reduction")
    assert (low.magnitude, high.magnitude) == pytest.approx((0.75, 0.833))


def test_led_controls_need_a_saving_share(factors: FactorSet) -> None:
    led = LedRetrofit(
        id="led", node="x", fixtures=8, old_power="36 W", controls="occupancy_sensor", **COMMON
    )
    with pytest.raises(InterventionError, match="controls_saving"):
        led.estimate(factors, *JAN, region="CN-SH")
    with_share = led.model_copy(update={"controls_saving": carbon.Q_(0.5)})
    est = with_share.estimate(factors, *JAN, region="CN-SH")
    # 8 x (36 - 19.08 x 0.5) W x 24 h x 31 d
    assert one(est.monthly, "electricity_saved_kwh") == pytest.approx(
        8 * (36 - 36 * 0.53 * 0.5) * 24 * 31 / 1000
    )


def test_parameters_refuse_wrong_or_missing_units() -> None:
    with pytest.raises(ValidationError, match="wrong unit"):
        LedRetrofit(id="led", node="x", old_power="36 kg", **COMMON)
    with pytest.raises(ValidationError, match="has no unit"):
        LedRetrofit(id="led", node="x", old_power=36, **COMMON)
    with pytest.raises(ValidationError, match="Unknown unit"):
        LedRetrofit(id="led", node="x", old_power="36 wattz", **COMMON)
    with pytest.raises(ValidationError, match="non-negative"):
        LedRetrofit(id="led", node="x", old_power="-36 W", **COMMON)
    with pytest.raises(ValidationError, match="not a parameter"):
        LedRetrofit(id="led", node="x", ranges={"colour": ("1", "2")}, **COMMON)
    with pytest.raises(ValidationError, match="is above high"):
        LedRetrofit(id="led", node="x", ranges={"hours_per_day": ("20 h/d", "10 h/d")}, **COMMON)


def test_missing_parameter_and_region_are_errors(factors: FactorSet) -> None:
    led = LedRetrofit(id="led", node="x", new_power="12 W", **COMMON)
    with pytest.raises(InterventionError, match="no region"):
        led.estimate(factors, *JAN)
    with pytest.raises(InterventionError, match="'fixtures' is not set"):
        led.estimate(factors, *JAN, region="CN-SH")
    with pytest.raises(InterventionError, match="empty period"):
        led.estimate(factors, "2024-02-01", "2024-01-01", region="CN-SH")


# --- toilets -------------------------------------------------------------------------------------


def test_toilets_dual_flush_hand_calculation(factors: FactorSet) -> None:
    # Dual flush 6 L / 3 L at 0.33 full + 0.67 reduced (UK WRc calculator): 3.99 L per flush.
    # 300 flushes/d x 31 d x (9 - 3.99) L = 46.593 m3 saved in January.
    # Water supply 46.593 x 0.1913 = 8.9132 kg; wastewater 46.593 x 0.166989685 = 7.7806 kg.
    wc = WaterSavingToilets(
        id="wc",
        node="x",
        uses_per_day="300 1/d",
        old_flush_volume="9 L",
        full_flush_volume="6 L",
        reduced_flush_volume="3 L",
        **COMMON,
    )
    est = wc.estimate(factors, *JAN, region="CN-SH")
    assert one(est.monthly, "water_saved_m3") == pytest.approx(46.593)
    assert one(est.monthly, "wastewater_avoided_m3") == pytest.approx(46.593)
    assert one(est.monthly, "avoided_co2e_kg") == pytest.approx(46.593 * (0.1913 + 0.166989685))
    entries = est.entries.set_index("gpc_ref")
    assert entries.loc["VI.1", "activity"] == "water.supply"
    assert entries.loc["VI.1", "co2e_kg"] == Decimal("8.913")
    assert entries.loc["III.4.2", "activity"] == "wastewater.treatment"
    assert entries.loc["III.4.2", "co2e_kg"] == Decimal("7.781")
    assert set(entries["method"]) == {"n/a"}


def test_toilets_grade_two_and_the_cited_ranges(twin: Twin, factors: FactorSet) -> None:
    # GB 25502-2017 grade 2: <= 5.0 L. Asset: 9 L, 300 flushes/d (both estimates).
    # Central: 300 x 31 x 4 L = 37.2 m3. Low: 200 flushes x (9 - 5) = 24.8 m3;
    # high: 1,000 flushes x (13 - 4) L = 279 m3 (benchmarks.md §8 ranges; grade 1 = 4.0 L).
    wc = WaterSavingToilets(
        id="wc", node="zhangjiazhai.public_toilet", assets=("zhangjiazhai.toilets",), **COMMON
    ).with_twin(twin)
    est = wc.estimate(factors, *JAN)
    per_m3 = 0.1913 + 0.166989685
    assert one(est.monthly, "water_saved_m3") == pytest.approx(37.2)
    assert one(est.monthly, "avoided_low_kg") == pytest.approx(24.8 * per_m3)
    assert one(est.monthly, "avoided_high_kg") == pytest.approx(279.0 * per_m3)


def test_toilets_energy_intensity_route(factors: FactorSet) -> None:
    # 37.2 m3 x 0.29 kWh/m3 (Smith et al. 2016) x 0.42 = 4.531 kg supply;
    # 37.2 m3 x 0.36 kWh/m3 (2020 WWTP median) x 0.42 = 5.625 kg treatment.
    wc = WaterSavingToilets(
        id="wc",
        node="x",
        uses_per_day="300 1/d",
        old_flush_volume="9 L",
        route="energy_intensity",
        **COMMON,
    )
    est = wc.estimate(factors, *JAN, region="CN-SH")
    entries = est.entries.set_index("gpc_ref")
    assert entries.loc["VI.1", "co2e_kg"] == Decimal("4.531")
    assert entries.loc["III.4.2", "co2e_kg"] == Decimal("5.625")
    assert entries.loc["VI.1", "factor_id"] == "sh-eeb-2022.electricity"
    assert "0.29 kWh/m3" in entries.loc["VI.1", "notes"]


def test_toilets_users_times_uses_per_user(factors: FactorSet) -> None:
    # 50 users x 4 flushes/d (shigufeng example) x 31 d x (9 - 5) L = 24.8 m3.
    wc = WaterSavingToilets(id="wc", node="x", users=50, old_flush_volume="9 L", **COMMON)
    est = wc.estimate(factors, *JAN, region="CN-SH")
    assert one(est.monthly, "water_saved_m3") == pytest.approx(24.8)


# --- greening --------------------------------------------------------------------------------


def test_green_space_80_m2_removal(factors: FactorSet) -> None:
    # Nowak et al. 2013: 0.28 kgC per m2 of tree cover per year; x 44/12 for CO2.
    # 80 m2 of canopy: 80 x 0.28 x 44/12 = 82.1333 kg/yr; January: x 31/365 = 6.97573 kg.
    trees = GreenSpace(id="garden", node="x", area="80 m2", vegetation="trees", **COMMON)
    est = trees.estimate(factors, *JAN, region="CN-SH")
    assert one(est.monthly, "removal_co2e_kg") == pytest.approx(80 * 0.28 * 44 / 12 * 31 / 365)
    assert one(est.monthly, "avoided_co2e_kg") == 0.0
    assert est.annual["removal_t"] == pytest.approx(80 * 0.28 * 44 / 12 / 1000)
    (entry,) = est.entries.to_dict("records")
    assert (entry["kind"], entry["gpc_ref"], entry["unit"]) == ("removal", "V.2", "kgCO2")
    assert entry["co2e_kg"] == Decimal("6.976")
    # Mixed vegetation (the garden): half under canopy, range 0.25-0.75 (assumption).
    mixed = GreenSpace(id="garden", node="x", area="80 m2", **COMMON)
    year = mixed.estimate(factors, "2023-01-01", "2024-01-01", region="CN-SH")
    assert year.removal_t == pytest.approx(80 * 0.5 * 0.28 * 44 / 12 / 1000)
    assert year.monthly.removal_low_kg.sum() == pytest.approx(80 * 0.25 * 0.28 * 44 / 12)
    assert year.monthly.removal_high_kg.sum() == pytest.approx(80 * 0.75 * 0.28 * 44 / 12)


def test_green_roof_uptake_is_shown_not_booked_and_cooling_is_avoided(
    factors: FactorSet,
) -> None:
    # Cai et al. 2019 (Wuxi): 1.79 kgCO2/m2/yr uptake and 11.53 kWh/m2/yr saved.
    # 100 m2 over 2023: 179 kg taken up (an annual uptake, not a lasting store: booked at 0 kg
    # and noted), 1,153 kWh saved -> x 0.42 = 484.26 kg avoided.
    roof = Greening(id="roof", kind="green_roof", node="x", area="100 m2", **COMMON)
    est = roof.estimate(factors, "2023-01-01", "2024-01-01", region="CN-SH")
    assert est.monthly.removal_co2e_kg.sum() == 0.0
    uptake = est.entries[est.entries.kind == "removal"]
    assert float(sum(uptake.amount)) == pytest.approx(179.0, abs=0.01)
    assert (uptake.co2e_kg == 0).all() and uptake.notes.str.contains("green-roof").all()
    assert est.monthly.electricity_saved_kwh.sum() == pytest.approx(1153.0)
    assert est.avoided_t == pytest.approx(1153.0 * 0.42 / 1000)
    # The cooling saving falls in the cooling-degree-day months only (CDD26: Jun-Sep).
    saved = est.monthly.set_index(pd.to_datetime(est.monthly.period_start).dt.month)
    assert (saved.loc[[1, 2, 3, 4, 5, 10, 11, 12], "electricity_saved_kwh"] == 0).all()
    assert saved.loc[7, "electricity_saved_kwh"] > saved.loc[6, "electricity_saved_kwh"]
    assert est.monthly.removal_high_kg.sum() == 0.0  # no range of a removal not booked


def test_vertical_greening_cooling_is_derived_and_may_be_zero(factors: FactorSet) -> None:
    wall = Greening(id="wall", kind="vertical_greening", node="x", area="100 m2", **COMMON)
    cited = wall.default("cooling_saving")
    assert cited is not None and cited.confidence == "assumption"
    per_m2 = wall.value("cooling_saving").to("kWh/m**2/yr").magnitude
    assert 0.0 < per_m2 < 11.53  # a south wall intercepts less summer sun than a roof
    est = wall.estimate(factors, "2023-01-01", "2024-01-01", region="CN-SH")
    assert est.monthly.avoided_low_kg.sum() == 0.0  # no conditioned room behind the wall
    assert est.monthly.avoided_high_kg.sum() == pytest.approx(100 * 11.53 * 0.42)
    # The 2.3 kgCO2/m2/yr uptake is no lasting removal: estimated, booked at 0 kg, noted.
    assert est.monthly.removal_co2e_kg.sum() == 0.0
    uptake = est.entries[est.entries.kind == "removal"]
    assert float(sum(uptake.amount)) == pytest.approx(230.0, abs=0.01)
    assert (uptake.co2e_kg == 0).all() and uptake.notes.str.contains("informational").all()
    west = wall.model_copy(update={"azimuth": carbon.Q_(270, "deg")})
    assert west.value("cooling_saving").magnitude != pytest.approx(per_m2)


# --- elevators and e-bikes -------------------------------------------------------------------


def test_elevator_regen_hand_calculation(twin: Twin, factors: FactorSet) -> None:
    # 4 elevators x 40 kWh/d (China Elevator Association) x 31 d x 0.30 = 1,488 kWh;
    # x 0.42 = 624.96 kg; 15 % -> 312.48 kg, 45 % -> 937.44 kg (factors.md §7f).
    lift = ElevatorRegenerativeDrive(
        id="lift", node="kaidike", assets=("kaidike.elevators",), elevators=4, **COMMON
    ).with_twin(twin)
    est = lift.estimate(factors, *JAN)
    assert one(est.monthly, "electricity_saved_kwh") == pytest.approx(1488.0)
    assert one(est.monthly, "avoided_co2e_kg") == pytest.approx(624.96)
    assert one(est.monthly, "avoided_low_kg") == pytest.approx(312.48)
    assert one(est.monthly, "avoided_high_kg") == pytest.approx(937.44)
    assert est.entries.gpc_ref.tolist() == ["I.2.2"]  # office building


def test_ebike_charging_hand_calculation(factors: FactorSet) -> None:
    # 100 e-bikes x 3 charges/week x 31/7 weeks x 0.77 kWh x (1/0.75 - 1/0.90)
    # = 1,328.571 charges x 0.171111 kWh = 227.333 kWh saved in January.
    bikes = EbikeCharging(
        id="bikes", node="x", ports=100, use_type="ebike", meter="M-SHEDS", **COMMON
    )
    est = bikes.estimate(factors, *JAN, region="CN-SH")
    assert one(est.monthly, "electricity_saved_kwh") == pytest.approx(
        100 * 3 * 31 / 7 * 0.77 * (1 / 0.75 - 1 / 0.90)
    )
    assert est.entries.gpc_ref.tolist() == ["II.1.2"]
    # Range: 2-4 charges/week (UNCONFIRMED) and 0.58-0.96 kWh per charge (derived).
    assert one(est.monthly, "avoided_low_kg") == pytest.approx(
        100 * 2 * 31 / 7 * 0.58 * (1 / 0.75 - 1 / 0.90) * 0.42
    )
    assert one(est.monthly, "avoided_high_kg") == pytest.approx(
        100 * 4 * 31 / 7 * 0.96 * (1 / 0.75 - 1 / 0.90) * 0.42
    )


def test_ebike_charging_without_a_meter_is_not_claimed(factors: FactorSet) -> None:
    # Without metered evidence the assumed-efficiency saving is shown, booked at 0 kg.
    bikes = EbikeCharging(id="bikes", node="x", ports=100, use_type="ebike", **COMMON)
    est = bikes.estimate(factors, *JAN, region="CN-SH")
    kwh = 100 * 3 * 31 / 7 * 0.77 * (1 / 0.75 - 1 / 0.90)
    assert one(est.monthly, "electricity_saved_kwh") == pytest.approx(kwh)
    assert one(est.monthly, "avoided_co2e_kg") == 0.0 and est.annual["avoided_t"] == 0.0
    entry = est.entries.iloc[0]
    assert (entry.gpc_ref, entry.co2e_kg) == ("II.1.2", Decimal("0.000"))
    assert float(entry.amount) == pytest.approx(kwh, abs=1e-6)
    assert "informational: not claimed without metered evidence" in entry.notes


def test_ebike_meter_must_be_in_the_twin(twin: Twin) -> None:
    bikes = EbikeCharging(id="bikes", node="shimen_erlu", ports=1, meter="NOPE", **COMMON)
    with pytest.raises(InterventionError, match="meter 'NOPE' is not in twin"):
        bikes.with_twin(twin)


# --- dates, costs ----------------------------------------------------------------------------


def test_only_months_from_commissioning(factors: FactorSet) -> None:
    lift = ElevatorRegenerativeDrive(
        id="lift",
        node="x",
        elevators=1,
        name_zh="梯",
        name_en="lift",
        commissioned=dt.date(2024, 3, 15),
        lifetime_years=15,
    )
    est = lift.estimate(factors, "2024-01-01", "2025-01-01", region="CN-SH")
    assert est.monthly.period_start.min() == dt.date(2024, 3, 1)
    assert len(est.monthly) == 10
    assert set(est.entries.period_start) == set(est.monthly.period_start)
    later = lift.estimate(factors, "2023-01-01", "2024-01-01", region="CN-SH")
    assert later.monthly.empty and later.entries.empty
    assert later.annual["avoided_t"] > 0  # the typical year still gives the potential


def test_cost_per_tonne(factors: FactorSet) -> None:
    # 1 elevator, 40 kWh/d x 365 d x 0.30 x 0.42 = 1.83960 t/yr (typical non-leap year).
    lift = ElevatorRegenerativeDrive(
        id="lift", node="x", elevators=1, capex="40000 CNY", opex_per_year="1000 CNY/yr", **COMMON
    )
    est = lift.estimate(factors, "2024-01-01", "2025-01-01", region="CN-SH")
    annual = 40 * 365 * 0.30 * 0.42 / 1000
    assert est.annual["avoided_t"] == pytest.approx(annual)
    assert est.lifetime_avoided_t == pytest.approx(annual * 10)
    assert est.lifetime_cost_cny == pytest.approx(40000 + 1000 * 10)
    assert est.cost_per_t == pytest.approx((40000 + 1000 * 10) / (annual * 10))
    # With a discount rate r the capital is annualised: CRF = r / (1 - (1 + r)^-L).
    disc = lift.model_copy(update={"discount_rate": 0.05}).estimate(
        factors, "2024-01-01", "2025-01-01", region="CN-SH"
    )
    crf = 0.05 / (1 - 1.05**-10)
    assert disc.cost_per_t == pytest.approx((40000 * crf + 1000) / annual)
    free = lift.model_copy(update={"capex": None}).estimate(factors, *JAN, region="CN-SH")
    assert free.cost_per_t is None


# --- the register ------------------------------------------------------------------------------


def test_register_names_the_articles_interventions(register: Register) -> None:
    frame = register.to_frame().set_index("intervention_id")
    expected = {
        "hengfeng_mailbox_led": "led_lighting",
        "zhangjiazhai_toilets": "water_saving_toilets",
        "xinfukangli_garden": "green_space",
        "xiaoshiliu_pocket_park": "green_space",
        "new_corner_greens": "green_space",
        "vertical_greening_walls": "vertical_greening",
        "ebike_centralised_charging": "ebike_charging",
        "kaidike_elevator_regen": "elevator_regen",
    }
    for iid, kind in expected.items():
        assert frame.loc[iid, "kind"] == kind
        assert frame.loc[iid, "status"] == "in_place"
    planned = frame[frame.status == "planned"]
    assert {"bohua_plaza_rooftop_pv", "jiafa_rooftop_pv"} <= set(planned.index)
    assert len(register["new_corner_greens"].assets) == 3
    assert len(register["ebike_centralised_charging"].assets) == 11
    assert register["kaidike_elevator_regen"].value("elevators").magnitude == 4
    for i in register:  # every date and cost is sourced or an assumption with a basis
        for name in ("commissioned", "lifetime_years", "capex", "opex_per_year"):
            assert name in i.sources or name in i.assumptions, (i.id, name)
        assert i.region == "CN-SH"


def test_register_binds_asset_values(register: Register) -> None:
    led = register["hengfeng_mailbox_led"]
    assert led.value("fixtures").magnitude == 8
    assert led.value("old_power").to("W").magnitude == 36
    assert "estimated" in led.asset_values["old_power"]
    bikes = register["ebike_centralised_charging"]
    assert bikes.value("ports").magnitude == 479  # sum of the 11 sheds' ports
    shares = {a.node: a.share for a in bikes.allocation}
    assert len(shares) == 11 and sum(shares.values()) == pytest.approx(1.0)
    assert shares["xinfukangli.ebike_shed"] == pytest.approx(75 / 479)


REG_OK = """
[[intervention]]
id = "led"
kind = "led_lighting"
name_zh = "灯"
name_en = "lights"
node = "hengfeng.hengfeng_estate.north_building"
assets = ["hengfeng.mailbox_room_lights"]
commissioned = 2023-07-01
lifetime_years = 4
capex = "400 CNY"
opex_per_year = "0 CNY/yr"
parameters = { hours_per_day = "12 h/d" }
[intervention.assumptions]
commissioned = "test"
lifetime_years = "test"
capex = "test"
opex_per_year = "test"
hours_per_day = "test"
"""


def write_register(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "interventions.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_register_loads(twin: Twin, tmp_path: Path) -> None:
    reg = load_register(twin, write_register(tmp_path, REG_OK))
    assert len(reg) == 1 and reg["led"].value("hours_per_day").magnitude == 12
    assert len(reg.sha256) == 64
    with pytest.raises(KeyError, match="No intervention 'nope'"):
        reg["nope"]


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            'node = "hengfeng.hengfeng_estate.north_building"',
            'node = "hengfeng.nowhere"',
            "node",
            "node 'hengfeng.nowhere' is not in twin",
        ),
        (
            'assets = ["hengfeng.mailbox_room_lights"]',
            'assets = ["zhangjiazhai.toilets"]',
            "assets",
            "is a toilets; a led_lighting intervention acts on light_fixtures",
        ),
        (
            'assets = ["hengfeng.mailbox_room_lights"]',
            'assets = ["no.such_asset"]',
            "assets",
            "asset 'no.such_asset' is not in twin",
        ),
        (
            'hours_per_day = "12 h/d"',
            'hours_per_day = "12 kg"',
            "parameters.hours_per_day",
            "wrong unit",
        ),
        (
            'hours_per_day = "12 h/d"',
            'colour = "warm"',
            "parameters.colour",
            "unknown parameter 'colour'",
        ),
        (
            "commissioned = 2023-07-01",
            "commissioned = 1975-07-01",
            "commissioned",
            "outside 1990-01-01",
        ),
        ("commissioned = 2023-07-01", 'commissioned = "soon"', "commissioned", "date"),
        ('capex = "test"', "", "assumptions.capex", "neither a source nor an assumption"),
        ('kind = "led_lighting"', 'kind = "solar_wind"', "kind", "unknown kind 'solar_wind'"),
        ('capex = "400 CNY"', 'capex = "400 kWh"', "capex", "wrong unit"),
    ],
)
def test_register_errors_name_file_id_and_field(
    twin: Twin, tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    assert old in REG_OK
    path = write_register(tmp_path, REG_OK.replace(old, new, 1))
    with pytest.raises(RegisterError, match=message) as info:
        load_register(twin, path)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, CarbonError)
    assert err.path == path and err.field == field
    assert err.entry == "led"
    assert f"interventions.toml, entry 'led', field '{field}'" in str(err)


def test_register_file_level_errors(twin: Twin, tmp_path: Path) -> None:
    with pytest.raises(RegisterError, match="file not found"):
        load_register(twin, tmp_path / "missing.toml")
    with pytest.raises(RegisterError, match="not valid TOML"):
        load_register(twin, write_register(tmp_path, "[[intervention]\nid = "))
    with pytest.raises(RegisterError, match="duplicate intervention id"):
        load_register(twin, write_register(tmp_path, REG_OK + REG_OK))
    outside = REG_OK.replace(
        'node = "hengfeng.hengfeng_estate.north_building"', 'node = "zhangjiazhai"'
    )
    with pytest.raises(RegisterError, match="not 'zhangjiazhai' or below it"):
        load_register(twin, write_register(tmp_path, outside))


# --- entries and the ledger -------------------------------------------------------------------


def test_estimate_register_table(register: Register, factors: FactorSet) -> None:
    table = estimate_register(register, factors, "2024-01-01", "2025-01-01")
    assert list(table.columns) == list(REGISTER_COLUMNS)
    rows = table.set_index("intervention_id")
    pv = rows.loc["bohua_plaza_rooftop_pv"]
    assert not pv.in_place and pv.estimated_t == 0.0 and pv.annual_t > 0
    assert pv.annual_low_t < pv.annual_t < pv.annual_high_t
    assert pv.cost_per_t_cny > 0
    garden = rows.loc["xinfukangli_garden"]
    assert garden.estimated_t == 0.0
    # 2024 has 366 days: the daily rate is the annual rate / 365.
    assert garden.removal_t == pytest.approx(80 * 0.5 * 0.28 * 44 / 12 / 1000 * 366 / 365)
    for iid in ("hengfeng_mailbox_led", "kaidike_elevator_regen", "zhangjiazhai_toilets"):
        r = rows.loc[iid]
        assert r.low_t <= r.estimated_t <= r.high_t and r.estimated_t > 0
        assert math.isfinite(r.cost_per_t_cny)
        assert r.lifetime_avoided_t == pytest.approx(r.annual_t * r.lifetime_years)


def test_register_entries_are_avoided_or_removal_and_positive(
    register: Register, factors: FactorSet
) -> None:
    entries = register_entries(register, factors, "2023-01-01", "2025-01-01")
    assert set(entries.kind) == {"avoided", "removal"}
    # Claims without evidence (e-bike charging without a meter, green-wall uptake) are
    # recorded at 0 kg and marked informational; every other entry is positive.
    info = entries.notes.str.contains("informational:")
    assert (entries[~info].co2e_kg > 0).all() and (entries.amount > 0).all()
    assert (entries[info].co2e_kg == 0).all()
    assert set(entries[info].notes.str.extract(r"intervention=(\S+)")[0]) == {
        "ebike_centralised_charging",
        "vertical_greening_walls",
    }
    assert all(isinstance(x, Decimal) for x in entries.co2e_kg)
    assert all(x == x.quantize(Decimal("0.001")) for x in entries.co2e_kg)
    assert set(entries[entries.kind == "removal"].gpc_ref) == {"V.2"}
    assert not entries.notes.str.contains("verified").any()  # the wall reads it as ex post
    ids = entries.notes.str.extract(r"intervention=(\S+)")[0]
    assert set(ids) == {i.id for i in register.in_place()}
    for iid, group in entries.groupby(ids):
        first = register[iid].commissioned.replace(day=1)
        assert min(group.period_start) == max(first, dt.date(2023, 1, 1))
    # Scope-2 savings are valued once, with the location factor; other rows with 'n/a'.
    scope2 = entries[entries.gpc_ref.isin(["I.1.2", "I.2.2", "II.1.2"])]
    assert set(scope2.method) == {"location"}
    assert entries.entry_id.is_unique
    # The LED of the Hengfeng mailbox room (a residential common area) is in I.1.2.
    led = entries[entries.notes.str.contains("intervention=hengfeng_mailbox_led")]
    assert set(led.gpc_ref) == {"I.1.2"}
    assert set(entries.loc[~entries.index.isin(scope2.index), "method"]) == {"n/a"}
    # The planned PV systems make no entries.
    assert not entries.notes.str.contains("rooftop_pv").any()


def test_ledger_accepts_entries_and_never_nets_them(
    twin: Twin, factors: FactorSet, register: Register, tmp_path: Path
) -> None:
    csv = tmp_path / "elec.csv"
    rows = [f"E-KAIDIKE,2024-01-{d:02d} {h:02d}:00,10,kWh" for d in range(1, 32) for h in range(24)]
    csv.write_text("meter_id,timestamp,value,unit\n" + "\n".join(rows) + "\n", encoding="utf-8")
    extra = register_entries(register, factors, *JAN)
    with Store(tmp_path / "s.duckdb") as store:
        store.sync_twin(twin)
        store.ingest(csv, now=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        plain = build_ledger(store, twin, factors, *JAN)
        with_extra = build_ledger(store, twin, factors, *JAN, extra_entries=extra)
    # 31 d x 24 h x 10 kWh x 0.42 = 3,124.8 kg CO2 of measured emissions.
    assert plain.total() == pytest.approx(3.1248)
    for method in ("location", "market"):
        for total in ("BASIC", "BASIC+", "territorial", "scope2"):
            assert with_extra.total(method, total) == plain.total(method, total)
    stamped = with_extra.entries[with_extra.entries.kind.isin(["avoided", "removal"])]
    assert len(stamped) == len(extra)
    assert stamped.entry_id.is_unique
    assert sum(stamped.co2e_kg, Decimal(0)) == sum(extra.co2e_kg, Decimal(0))


def test_to_entries_of_nothing_is_an_empty_frame() -> None:
    empty = to_entries([])
    assert empty.empty and {"kind", "co2e_kg", "gpc_ref"} <= set(empty.columns)
