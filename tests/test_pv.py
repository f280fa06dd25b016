"""Tests of carbon.interventions.pv: FAO-56 radiation, the offline Shanghai weather year, the
reference system's yield against the cited bands, the vectorised multi-roof simulation against
pvlib's ModelChain, EPW input and the RooftopPV model's self-consumption and export entries."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import carbon
from carbon.factors import FactorSet
from carbon.interventions import InterventionError, RooftopPV
from carbon.interventions.pv import (
    FAO56_DEFAULTS,
    SHANGHAI_COEFFICIENTS,
    AngstromCoefficients,
    PVParameters,
    Weather,
    angstrom_ghi,
    daylight_hours,
    extraterrestrial_daily,
    extraterrestrial_monthly,
    monthly_ghi,
    read_weather_file,
    reference_system,
    roof_modelchain,
    shanghai_weather,
    simulate_roofs,
)


@pytest.fixture(scope="module")
def weather() -> Weather:
    return shanghai_weather()


@pytest.fixture(scope="module")
def factors() -> FactorSet:
    return carbon.load_factor_set("shanghai-2022")


# --- FAO-56 ------------------------------------------------------------------------------------


def test_fao56_worked_examples() -> None:
    # FAO-56 Ch. 3, Example 8: 3 September (J = 246) at 20 deg S, Ra = 32.2 MJ m-2 d-1;
    # Example 9: daylight hours N = 11.7 h for the same day and place.
    assert float(extraterrestrial_daily(-20.0, 246)) == pytest.approx(32.2, abs=0.05)
    assert float(daylight_hours(-20.0, 246)) == pytest.approx(11.7, abs=0.05)


def test_monthly_extraterrestrial_radiation_at_shanghai() -> None:
    # docs/research/climate.md §2: Ra at 31.23 N, FAO-56 eq. 21 summed over a 365-day year
    # [kWh/m2/month], rounded to 0.1; year 3,155.
    published = [177.4, 195.6, 268.1, 305.1, 344.5, 343.5, 348.6, 324.4, 273.4, 230.3, 179.2, 164.8]
    table = extraterrestrial_monthly(31.23)
    assert table["ra_kwh_m2"].round(1).tolist() == published
    assert table["ra_kwh_m2"].sum() == pytest.approx(3155.0, abs=0.5)
    # Sum of daylight hours N over the year at 31.23 N: 4,380 h (climate.md §1).
    assert table["daylight_hours"].sum() == pytest.approx(4380.0, abs=1.0)


def test_angstrom_formula() -> None:
    # Rs = (a + b n/N) Ra: (0.25 + 0.50 x 5/10) x 100 = 50 (FAO-56 eq. 35).
    assert float(angstrom_ghi(100.0, 5.0, 10.0)) == pytest.approx(50.0)
    assert float(angstrom_ghi(100.0, 5.0, 10.0, 0.175, 0.55)) == pytest.approx(45.0)


def test_monthly_ghi_with_fao_defaults_matches_the_research_table() -> None:
    # docs/research/climate.md §2: FAO defaults on the CMA 1971-2000 sunshine, kWh/m2/month.
    published = [78.8, 86.0, 113.1, 138.4, 157.0, 146.2, 175.9, 169.3, 127.9, 111.0, 87.0, 80.5]
    ghi = monthly_ghi(FAO56_DEFAULTS)
    assert ghi.round(1).tolist() == published
    assert ghi.sum() == pytest.approx(1471.0, abs=0.5)


def test_default_coefficients_give_an_annual_ghi_inside_the_cited_band(weather: Weather) -> None:
    # Best-known Shanghai GHI 1,250-1,350 kWh/m2/yr (docs/research/climate.md §2 and factors.md §7e,
    # UNCONFIRMED). a_s = 0.175, b_s = 0.55 (midpoints of the best-known Shanghai ranges).
    assert (SHANGHAI_COEFFICIENTS.a_s, SHANGHAI_COEFFICIENTS.b_s) == (0.175, 0.55)
    target = monthly_ghi()
    assert 1250.0 <= target.sum() <= 1350.0
    # The clear-sky scaling reproduces every monthly target (no month is clipped at k_m = 1).
    assert weather.monthly_ghi_kwh_m2.to_numpy() == pytest.approx(target.to_numpy(), rel=1e-9)
    assert weather.annual_ghi_kwh_m2 == pytest.approx(target.sum(), rel=1e-9)
    # Monthly clearness index Kt = Rs / Ra within 0.35-0.60 (climate.md §2 note).
    kt = target / extraterrestrial_monthly()["ra_kwh_m2"]
    assert kt.between(0.35, 0.60).all()
    assert len(weather.data) == 8760 and weather.warnings == ()


def test_sunshine_scale_and_bad_inputs() -> None:
    recent = monthly_ghi(sunshine_scale=0.8)  # about 1,515 h/yr, recent years (climate.md §1)
    geo = extraterrestrial_monthly()
    assert recent.sum() == pytest.approx(
        (
            0.175 * geo.ra_kwh_m2 + 0.55 * 0.8 * (monthly_ghi(AngstromCoefficients(0, 1, "", "")))
        ).sum()
    )
    with pytest.raises(InterventionError, match="sunshine_scale"):
        monthly_ghi(sunshine_scale=0.0)
    with pytest.raises(InterventionError, match="exceeds the possible daylight"):
        monthly_ghi(sunshine=pd.Series([400.0] * 12, index=range(1, 13)))


def test_fao_defaults_raise_a_quality_warning() -> None:
    codes = [w.code for w in shanghai_weather(FAO56_DEFAULTS).warnings]
    assert codes == ["pv.fao_default_coefficients"]


# --- the reference system -----------------------------------------------------------------------


def test_reference_specific_yield_inside_the_cited_band(weather: Weather) -> None:
    # 1 kWp, 22 deg, south, PVWatts default losses 14.08 %: the specific yield must fall in the
    # best-known Shanghai band 1,000-1,150 kWh/kWp/yr (docs/research/factors.md §7e and
    # climate.md §4, UNCONFIRMED; one code table gives 3.1 h/d = 1,130). PR within 0.70-0.88
    # (climate.md §4).
    ref = reference_system(weather)
    assert 1000.0 <= ref["specific_yield_kwh_per_kwp"] <= 1150.0
    assert 0.70 <= ref["performance_ratio"] <= 0.88
    assert ref["poa_kwh_m2"] > ref["ghi_kwh_m2"]  # a low south tilt gains on the horizontal


# --- vectorised roofs vs pvlib ModelChain ------------------------------------------------------


ROOFS = pd.DataFrame(
    {
        "roof_id": ["a", "b", "c", "d", "e"],
        "capacity_kwp": [1.0, 37.5, 12.0, 250.0, 0.0],
        "tilt_deg": [22.0, 10.0, 30.0, 22.0, 22.0],
        "azimuth_deg": [180.0, 135.0, 270.0, 180.0, 180.0],
        "losses_percent": [
            14.075660688264469,
            14.075660688264469,
            20.0,
            14.075660688264469,
            14.075660688264469,
        ],
        "dc_ac_ratio": [1.1, 1.3, 1.1, 1.1, 1.1],
    },
    index=[10, 11, 12, 13, 14],
)


def test_simulate_roofs_equals_per_roof_modelchain(weather: Weather) -> None:
    result = simulate_roofs(ROOFS, weather, hourly_total=True)
    assert list(result.index) == list(ROOFS.index)
    assert result.orientation.nunique() == 3  # a, d, e share one orientation
    hourly = pd.Series(0.0, index=weather.data.index)
    for idx, roof in ROOFS.iterrows():
        mc = roof_modelchain(
            roof.tilt_deg,
            roof.azimuth_deg,
            roof.capacity_kwp,
            weather.location,
            losses_percent=roof.losses_percent,
            dc_ac_ratio=roof.dc_ac_ratio,
        )
        mc.run_model(weather.data)
        hourly += mc.results.ac / 1000.0
        monthly = mc.results.ac.groupby(weather.data.index.month).sum().to_numpy() / 1000.0
        got = result.loc[idx, [f"kwh_m{m:02d}" for m in range(1, 13)]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, monthly, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        result.attrs["hourly_total_kwh"].to_numpy(), hourly.to_numpy(), rtol=1e-9, atol=1e-9
    )
    # Same orientation: same specific yield; energy proportional to capacity.
    specific = result["specific_yield_kwh_per_kwp"]
    assert specific.loc[10] == specific.loc[13]
    assert result.loc[13, "annual_kwh"] == pytest.approx(250.0 * result.loc[10, "annual_kwh"])
    assert result.loc[14, "annual_kwh"] == 0.0


def test_simulate_roofs_rejects_bad_frames(weather: Weather) -> None:
    with pytest.raises(InterventionError, match="lack columns"):
        simulate_roofs(ROOFS.drop(columns="tilt_deg"), weather)
    steep = ROOFS.assign(tilt_deg=[22.0, 95.0, 30.0, 22.0, 22.0])
    with pytest.raises(InterventionError, match=r"tilt_deg out of range, e\.g\. 95"):
        simulate_roofs(steep, weather)
    gap = ROOFS.assign(capacity_kwp=[1.0, np.nan, 1.0, 1.0, 1.0])
    with pytest.raises(InterventionError, match="non-finite"):
        simulate_roofs(gap, weather)


# --- EPW -------------------------------------------------------------------------------------


def write_epw(path: Path, weather: Weather) -> None:
    """An EPW file (EnergyPlus weather format: 8 header lines, 35 fields per hour) holding the
    weather year, each row the hour that ends at its hour stamp."""
    header = [
        "LOCATION,Shanghai,SH,CHN,test,583670,31.23,121.47,8.0,4.0",
        "DESIGN CONDITIONS,0",
        "TYPICAL/EXTREME PERIODS,0",
        "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0",
        "COMMENTS 1,written by test_pv.py",
        "COMMENTS 2,",
        "DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31",
    ]
    rows = []
    for ts, r in weather.data.iterrows():
        fields = [
            ts.year,
            ts.month,
            ts.day,
            ts.hour + 1,
            0,
            "?9",
            f"{r.temp_air:.6f}",
            10,
            70,
            101325,
            0,
            0,
            0,
            f"{r.ghi:.9f}",
            f"{r.dni:.9f}",
            f"{r.dhi:.9f}",
            0,
            0,
            0,
            0,
            0,
            f"{r.wind_speed:.3f}",
            0,
            0,
            99,
            9999,
            9,
            999999999,
            0,
            0,
            0,
            88,
            0.2,
            0,
            0,
        ]
        rows.append(",".join(map(str, fields)))
    path.write_text("\n".join(header + rows) + "\n", encoding="utf-8")


def test_epw_weather_file_round_trip(weather: Weather, tmp_path: Path, factors: FactorSet) -> None:
    path = tmp_path / "shanghai.epw"
    write_epw(path, weather)
    epw = read_weather_file(path)
    assert epw.annual_ghi_kwh_m2 == pytest.approx(weather.annual_ghi_kwh_m2, rel=1e-6)
    assert epw.location.latitude == 31.23 and "shanghai.epw" in epw.source
    a = simulate_roofs(ROOFS, weather)["annual_kwh"]
    b = simulate_roofs(ROOFS, epw)["annual_kwh"]
    np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=1e-6)
    pv = RooftopPV(
        id="pv",
        name_zh="光伏",
        name_en="PV",
        node="x",
        capacity="10 kWp",
        commissioned=dt.date(2023, 1, 1),
        lifetime_years=25,
        weather_file=str(path),
    )
    est = pv.estimate(factors, "2023-01-01", "2024-01-01", region="CN-SH")
    assert "a_s" not in set(est.parameters.parameter)
    assert est.monthly.pv_generation_kwh.sum() == pytest.approx(float(b.loc[10]) * 10, rel=1e-6)
    with pytest.raises(InterventionError, match="Cannot read weather file"):
        read_weather_file(tmp_path / "missing.epw")


def test_a_community_weather_file_is_used_when_present(weather: Weather, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    shutil.copytree(carbon.load_twin("shimen_erlu").folder, folder)
    plain = RooftopPV(
        id="pv",
        name_zh="光伏",
        name_en="PV",
        node="jiafa",
        assets=("jiafa.roof",),
        commissioned=dt.date(2026, 7, 1),
        lifetime_years=25,
    )
    assert plain.with_twin(carbon.load_twin(folder)).weather_file is None
    write_epw(folder / "weather.epw", weather)
    bound = plain.with_twin(carbon.load_twin(folder))
    assert bound.weather_file == str(folder / "weather.epw")
    assert "a_s" not in set(bound.parameter_table().parameter)


# --- the RooftopPV model -----------------------------------------------------------------------


def test_rooftop_pv_self_consumption_and_export(twin_pv: RooftopPV, factors: FactorSet) -> None:
    est = twin_pv.estimate(factors, "2027-01-01", "2028-01-01")
    m = est.monthly
    # Capacity from the roof: 1,800 m2 x 0.5 usable x 0.2 kWp/m2 = 180 kWp (assumptions).
    assert twin_pv.capacity_kwp() == pytest.approx(180.0)
    assert (m.pv_self_consumed_kwh + m.pv_exported_kwh).to_numpy() == pytest.approx(
        m.pv_generation_kwh.to_numpy(), rel=1e-12
    )
    assert m.pv_self_consumed_kwh.sum() == pytest.approx(0.9 * m.pv_generation_kwh.sum())
    yield_ = reference_system()["specific_yield_kwh_per_kwp"]
    # (the model's default losses are the PVWatts stack rounded to 14.0757 %)
    assert m.pv_generation_kwh.sum() == pytest.approx(180.0 * yield_, rel=1e-6)
    # Only self-consumption is avoided: x 0.42 kgCO2/kWh (Shanghai EEB, in force from 2022).
    assert m.avoided_co2e_kg.sum() == pytest.approx(m.pv_self_consumed_kwh.sum() * 0.42)
    assert m.avoided_low_kg.sum() < m.avoided_co2e_kg.sum() < m.avoided_high_kg.sum()
    e = est.entries
    self_rows = e[e.activity == "electricity.pv_self_consumed"]
    export_rows = e[e.activity == "electricity.pv_exported"]
    assert len(self_rows) == len(export_rows) == 12
    assert set(self_rows.gpc_ref) == {"I.2.2"} and set(self_rows.kind) == {"avoided"}
    assert (self_rows.co2e_kg > 0).all()
    assert set(export_rows.gpc_ref) == {"I.4.4"}
    assert set(export_rows.co2e_kg) == {Decimal("0.000")}
    assert export_rows.notes.str.contains("informational").all()
    total = sum(self_rows.amount, Decimal(0)) + sum(export_rows.amount, Decimal(0))
    assert float(total) == pytest.approx(m.pv_generation_kwh.sum(), rel=1e-9)
    assert {w.code for w in est.warnings} == {"pv.model_estimate"}


@pytest.fixture(scope="module")
def twin_pv() -> RooftopPV:
    twin = carbon.load_twin("shimen_erlu")
    return RooftopPV(
        id="pv",
        name_zh="光伏",
        name_en="PV",
        node="bohua_plaza",
        assets=("bohua_plaza.roof",),
        commissioned=dt.date(2026, 7, 1),
        lifetime_years=25,
        capex="630000 CNY",
        opex_per_year="6300 CNY/yr",
    ).with_twin(twin)


def test_pv_parameters_default_to_the_pvwatts_stack() -> None:
    import pvlib

    assert PVParameters().losses_percent == pytest.approx(pvlib.pvsystem.pvwatts_losses())
    pv = RooftopPV(
        id="pv",
        name_zh="光伏",
        name_en="PV",
        node="x",
        capacity="1 kWp",
        commissioned=dt.date(2023, 1, 1),
        lifetime_years=25,
    )
    table = pv.parameter_table().set_index("parameter")
    assert table.loc["losses", "value"] == pytest.approx(0.140757)
    assert table.loc["losses", "confidence"] == "high"
    assert (table.loc["a_s", "low"], table.loc["a_s", "high"]) == (0.15, 0.20)
    assert table.loc["self_consumed_share", "confidence"] == "assumption"
