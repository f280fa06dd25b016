"""Tests of carbon.units: the registry, Chinese unit names, and conversion to canonical units."""

from __future__ import annotations

import re

import pint
import pytest

from carbon.errors import (
    CarbonError,
    UnitConversionError,
    UnknownActivityError,
    UnknownUnitError,
)
from carbon.units import Q_, conversion_factor, parse_quantity, parse_unit, registry, to_canonical


def test_registry_is_built_once():
    assert registry() is registry()


# --- electricity -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "kwh"),
    [
        ("kWh", 1),
        ("MWh", 1000),
        ("万kWh", 10_000),  # 万 = 10^4
        ("万千瓦时", 10_000),
        ("千瓦时", 1),
        ("度", 1),  # 度: colloquial name of one kWh
        ("兆瓦时", 1000),
    ],
)
def test_electricity_units_in_kwh(unit, kwh):
    assert Q_(1, unit).to("kWh").magnitude == pytest.approx(kwh, rel=1e-12)


def test_mwh_to_kwh_conversion_factor():
    assert conversion_factor("MWh", "kWh") == pytest.approx(1000, rel=1e-12)
    assert conversion_factor("kWh", "MWh") == pytest.approx(0.001, rel=1e-12)


def test_wan_kwh_factor_is_exact_enough_for_factor_tables():
    # 4.2 tCO2/万kWh = 0.42 kgCO2/kWh (docs/research/factors.md §0).
    assert conversion_factor("tCO2/万kWh", "kgCO2/kWh") == pytest.approx(0.1, rel=1e-12)
    assert 4.2 * conversion_factor("tCO2/万kWh", "kgCO2/kWh") == pytest.approx(0.42, rel=1e-12)


def test_tco2_per_mwh_equals_kgco2_per_kwh():
    # 1 kgCO2/kWh = 1 tCO2/MWh (docs/research/factors.md §0).
    assert conversion_factor("tCO2/MWh", "kgCO2/kWh") == pytest.approx(1.0, rel=1e-12)


# --- volume, mass, energy, money --------------------------------------------------------------


@pytest.mark.parametrize("unit", ["m3", "立方米", "方", "Nm3", "m**3", "m³"])
def test_cubic_metre_spellings(unit):
    assert Q_(2.5, unit).to("m**3").magnitude == pytest.approx(2.5, rel=1e-12)


def test_litres_to_cubic_metres():
    # Quantity.to() bypasses carbon.units' "m3" rewriting, so pass a parsed unit.
    m3 = parse_unit("m3")
    assert Q_(1000, "L").to(m3).magnitude == pytest.approx(1.0, rel=1e-12)
    assert Q_(1000, "升").to(m3).magnitude == pytest.approx(1.0, rel=1e-12)
    assert Q_(1, "万立方米").to(m3).magnitude == pytest.approx(10_000, rel=1e-12)
    assert conversion_factor("L", "m3") == pytest.approx(0.001, rel=1e-12)


@pytest.mark.parametrize(("unit", "kg"), [("t", 1000), ("吨", 1000), ("万吨", 1e7), ("公斤", 1)])
def test_mass_units_in_kg(unit, kg):
    assert Q_(1, unit).to("kg").magnitude == pytest.approx(kg, rel=1e-12)


def test_gigajoule():
    # 1 GJ = 10^9 J / 3.6e6 J/kWh = 277.777... kWh.
    assert Q_(1, "GJ").to("kWh").magnitude == pytest.approx(1e9 / 3.6e6, rel=1e-12)
    assert Q_(1, "吉焦").to("MJ").magnitude == pytest.approx(1000, rel=1e-12)
    assert Q_(1, "TJ").to("GJ").magnitude == pytest.approx(1000, rel=1e-12)


def test_kgce_is_29307_kj_exactly():
    # 1 kgce = 29 307 kJ: GB/T 2589-2020 (docs/research/factors.md §3a).
    assert Q_(1, "kgce").to("kJ").magnitude == pytest.approx(29307, rel=1e-15)
    assert Q_(1, "千克标准煤").to("kJ").magnitude == pytest.approx(29307, rel=1e-15)


@pytest.mark.parametrize("unit", ["tce", "吨标准煤"])
def test_tonne_coal_equivalent(unit):
    # 1 tce = 1000 kgce = 29.307 GJ.
    assert Q_(1, unit).to("GJ").magnitude == pytest.approx(29.307, rel=1e-12)
    assert Q_(1, unit).to("kgce").magnitude == pytest.approx(1000, rel=1e-12)


def test_kwh_in_kgce():
    # 3600 kJ / 29307 kJ per kgce = 0.122837... kgce, i.e. 0.12284 to 5 decimals (calorific
    # equivalent; docs/research/factors.md §4 gives 0.1229 from GB/T 2589-2020, UNCONFIRMED).
    assert Q_(1, "kWh").to("kgce").magnitude == pytest.approx(0.12284, abs=5e-6)
    assert Q_(1, "kWh").to("kgce").magnitude == pytest.approx(3600 / 29307, rel=1e-12)


def test_money_units():
    assert Q_(1, "元").to("CNY").magnitude == 1
    assert Q_(1, "RMB").to("yuan").magnitude == 1
    assert Q_(3, "万元").to("CNY").magnitude == pytest.approx(30_000, rel=1e-12)


# --- emissions are dimensions of their own -----------------------------------------------------


def test_tco2e_to_kgco2e():
    assert Q_(1.5, "tCO2e").to("kgCO2e").magnitude == pytest.approx(1500, rel=1e-12)
    assert Q_(1, "ktCO2e").to("tCO2e").magnitude == pytest.approx(1000, rel=1e-12)
    assert conversion_factor("kgCO2e", "tCO2e") == pytest.approx(0.001, rel=1e-12)


def test_kgco2e_cannot_become_kg():
    with pytest.raises(pint.DimensionalityError, match="kilogram"):
        Q_(1, "kgCO2e").to("kg")


def test_kgco2e_cannot_be_added_to_kg():
    with pytest.raises(pint.DimensionalityError, match="kilogram"):
        Q_(1, "kgCO2e") + Q_(1, "kg")


def test_co2_and_co2e_are_different_dimensions():
    with pytest.raises(pint.DimensionalityError):
        Q_(1, "kgCO2") + Q_(1, "kgCO2e")
    with pytest.raises(UnitConversionError, match=re.escape("'kgCH4' to 'kgCO2e'")):
        conversion_factor("kgCH4", "kgCO2e")


def test_conversion_factor_wrong_dimension_names_both_units():
    with pytest.raises(UnitConversionError, match=re.escape("Cannot convert 'kgCO2e' to 'kg'")):
        conversion_factor("kgCO2e", "kg")


def test_unit_conversion_error_is_a_type_error_and_carbon_error():
    with pytest.raises(TypeError, match="dimensions differ") as info:
        conversion_factor("kWh", "m3")
    assert isinstance(info.value, CarbonError)
    assert (info.value.from_unit, info.value.to_unit) == ("kWh", "m3")


# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bare", "power"), [("m3", "m**3"), ("m2", "m**2"), ("km2", "km**2")])
def test_bare_exponents_parse(bare, power):
    assert parse_unit(bare) == parse_unit(power)


def test_bare_exponent_inside_compound_unit():
    assert parse_unit("kgCO2/m3") == parse_unit("kilogram_CO2 / meter ** 3")
    # The "2" of CO2 is not an exponent.
    assert parse_unit("tCO2/MWh") == parse_unit("tonne_CO2 / megawatt_hour")


def test_parse_quantity_with_chinese_unit_and_thousands_separator():
    q = parse_quantity("1,234.5 万千瓦时")
    assert q.to("kWh").magnitude == pytest.approx(12_345_000, rel=1e-12)


def test_unknown_unit_raises():
    with pytest.raises(UnknownUnitError, match=re.escape("Unknown unit 'furlongCO2'")):
        parse_unit("furlongCO2")


def test_unknown_unit_in_quantity_raises():
    with pytest.raises(UnknownUnitError, match="bogus_unit"):
        Q_(3, "bogus_unit")


def test_quantity_without_number_raises():
    with pytest.raises(UnknownUnitError, match="expected '<number> <unit>'"):
        parse_quantity("kWh")


# --- to_canonical ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "activity", "expected", "unit"),
    [
        ("3 万千瓦时", "electricity.grid", 30_000, "kWh"),
        ("2 MWh", "electricity.grid", 2_000, "kWh"),
        ("120 度", "electricity.pv_self_consumed", 120, "kWh"),
        ("12 方", "water.supply", 12, "m**3"),
        ("500 L", "water.supply", 0.5, "m**3"),
        ("40 立方米", "natural_gas.combustion", 40, "m**3"),
        ("1.5 吨", "waste.msw.landfill", 1.5, "t"),
        ("800 kg", "waste.msw.incineration", 0.8, "t"),
        ("1 tce", "heat.purchased", 29.307, "GJ"),  # 1 kgce = 29 307 kJ (GB/T 2589-2020)
        ("1 TJ", "diesel.combustion_energy", 1000, "GJ"),
        ("2 t", "diesel.mobile", 2000, "kg"),
    ],
)
def test_to_canonical(quantity, activity, expected, unit):
    q = to_canonical(quantity, activity)
    assert q.units == parse_unit(unit)
    assert q.magnitude == pytest.approx(expected, rel=1e-12)


def test_to_canonical_accepts_a_quantity():
    q = to_canonical(Q_(5, "万kWh"), "electricity.grid")
    assert q.magnitude == pytest.approx(50_000, rel=1e-12)
    assert q.units == parse_unit("kWh")


def test_to_canonical_wrong_dimension_names_units_and_activity():
    with pytest.raises(
        UnitConversionError,
        match=re.escape("Cannot convert 'kg' to 'kWh' for activity 'electricity.grid'"),
    ):
        to_canonical("5 kg", "electricity.grid")


def test_to_canonical_volume_for_energy_activity():
    with pytest.raises(UnitConversionError, match=r"'m³' to 'GJ' for activity 'heat\.purchased'"):
        to_canonical("3 m3", "heat.purchased")


def test_to_canonical_unknown_activity():
    with pytest.raises(UnknownActivityError, match=r"Unknown activity 'electricity\.nuclear'"):
        to_canonical("1 kWh", "electricity.nuclear")


def test_to_canonical_unknown_unit():
    with pytest.raises(UnknownUnitError, match="千焦耳每年"):
        to_canonical("1 千焦耳每年", "heat.purchased")
