"""Waste and wastewater by IPCC 2006 Vol. 5, Tier 1 CH4/N2O of fuels burnt in buildings.

Hand-computed examples from the 2006 Guidelines' equations, with every parameter written out
(docs/research/waste.md §2-§4): incineration (Vol. 5 Ch. 5, Eq. 5.2, 5.4, 5.5), biological
treatment (Ch. 4, Eq. 4.1, 4.2, Table 4.1) and wastewater (Ch. 6, Eq. 6.1-6.3, 6.7), matched
to the gram by the ledger; the factors of ``factors/ipcc-2006-waste.toml`` recomputed from its
``[parameters]``; no negative factor for an inventory activity in any packaged profile; and
the demo's waste rows. GWP-100 AR5 (CH4 28, N2O 265; docs/research/factors.md §7g).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from carbon.activities import ACTIVITIES
from carbon.factors import factors_dir, list_profiles, load_factor_set
from carbon.gpc import REFS, classify, in_total
from carbon.ledger import Ledger, build_ledger
from carbon.store import Store
from carbon.twin import Twin, load_twin
from carbon.waste import (
    WASTEWATER_RETURN_RATIO,
    WasteComponent,
    WasteParameterError,
    factors_from_parameters,
    incineration_co2,
    load_parameters,
    wastewater_factor,
)

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
JAN, FEB = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
WASTE_FILE = factors_dir() / "ipcc-2006-waste.toml"
GRAM = Decimal("0.001")


def kg(x: Decimal) -> Decimal:
    """A mass rounded to the gram, half away from zero, as the ledger rounds."""
    return x.quantize(GRAM, "ROUND_HALF_UP")


# --- the hand-computed IPCC examples ------------------------------------------------------------

# Incineration of residual ("dry") waste, IPCC 2006 Vol. 5 Ch. 5, Eq. 5.2 (per component j:
# WF_j x dm_j x CF_j x FCF_j x OF x 44/12), dm/CF/FCF from Vol. 5 Ch. 2 Table 2.4, OF = 1
# (Table 5.2); the composition is the file's stated (assumed) one:
#   component    WF     dm    CF    FCF   fossil C [t C / t wet]
#   food         0.35  0.40  0.38  0     0
#   paper        0.22  0.90  0.46  0.01  0.22 x 0.90 x 0.46 x 0.01 = 0.0009108
#   plastics     0.25  1.00  0.75  1     0.25 x 1.00 x 0.75 x 1    = 0.1875
#   textiles     0.06  0.80  0.50  0.20  0.06 x 0.80 x 0.50 x 0.20 = 0.0048
#   wood         0.05  0.85  0.50  0     0
#   other inert  0.07  0.90  0.03  1     0.07 x 0.90 x 0.03 x 1    = 0.00189
#   sum 0.1951008 t C/t x 44/12 = 0.7153696 t CO2 = 715.3696 kg fossil CO2 per t.
# CH4 (Eq. 5.4): 0.2 kg CH4/Gg (Table 5.3, continuous stoker) = 0.0002 kg/t.
# N2O (Eq. 5.5): 50 g N2O/t (continuous MSW incinerators) = 0.05 kg/t.
COMPOSITION = {
    "food": ("0.35", "0.40", "0.38", "0"),
    "paper": ("0.22", "0.90", "0.46", "0.01"),
    "plastics": ("0.25", "1.00", "0.75", "1"),
    "textiles": ("0.06", "0.80", "0.50", "0.20"),
    "wood": ("0.05", "0.85", "0.50", "0"),
    "other_inert": ("0.07", "0.90", "0.03", "1"),
}
INCINERATED_T = Decimal(1000)
INC_CO2 = INCINERATED_T * 1000 * Decimal("0.1951008") * 44 / 12  # kg C -> 715369.6 kg CO2
INC_CH4 = INCINERATED_T * Decimal("0.2") / 1000  # 0.2 kg
INC_N2O = INCINERATED_T * Decimal(50) / 1000  # 50 kg
INC_CO2E = INC_CO2 + INC_CH4 * 28 + INC_N2O * 265  # 715369.6 + 5.6 + 13250 = 728625.2 kg

# Biological treatment (anaerobic digestion) of food ("wet") waste, Eq. 4.1/4.2, Table 4.1
# wet-weight defaults: 1 g CH4 per kg, N2O negligible: 100 t -> 100 kg CH4 -> 2800 kg CO2e.
DIGESTED_T = Decimal(100)
BIO_CH4 = DIGESTED_T * 1000 * Decimal(1) / 1000  # kg waste x g/kg -> kg

# Wastewater, Ch. 6: TOW per m3 = 40 g BOD/person/day (Table 6.4, China) over
# 165 L/person/day x 0.9 returned = 148.5 L -> 0.26936 kg BOD/m3 (Eq. 6.3 per m3);
# CH4 = TOW x B0 0.6 (Table 6.2) x MCF 0.03 (2019 Refinement Table 6.3) (Eq. 6.1, 6.2, S=R=0);
# N2O = 15 mg N/L effluent (GB 18918-2002 1A limit) x 0.005 kg N2O-N/kg N (Table 6.11) x 44/28.
WASTEWATER_M3 = Decimal(1000)
TOW = Decimal(40) / (Decimal(165) * Decimal("0.9"))  # kg BOD per m3
WW_CH4 = WASTEWATER_M3 * TOW * Decimal("0.6") * Decimal("0.03")  # 4.848484... kg
WW_N2O = WASTEWATER_M3 * Decimal("0.015") * Decimal("0.005") * 44 / 28  # 0.117857... kg
WW_CO2E = WW_CH4 * 28 + WW_N2O * 265  # 135.757... + 31.232... = 166.9897... kg


def test_hand_examples_have_the_expected_magnitudes() -> None:
    assert INC_CO2 == Decimal("715369.6")
    assert kg(INC_CO2E) == Decimal("728625.200")
    assert (kg(WW_CH4), kg(WW_N2O), kg(WW_CO2E)) == (
        Decimal("4.848"),
        Decimal("0.118"),
        Decimal("166.990"),
    )


def test_incineration_co2_by_equation_5_2() -> None:
    composition = {
        name: WasteComponent(*(Decimal(v) for v in values)) for name, values in COMPOSITION.items()
    }
    fossil, biogenic = incineration_co2(composition, Decimal(1))
    assert kg(fossil) == kg(INC_CO2 / INCINERATED_T) == Decimal("715.370")
    # Biogenic carbon (1 - FCF), reported apart (GPC v1.1 Ch. 8): 0.1838192 t C x 44/12.
    assert kg(biogenic) == kg(Decimal("0.1838192") * 44 / 12 * 1000) == Decimal("674.004")


def test_waste_factors_are_computed_from_their_parameters() -> None:
    # Every per-gas value of the factor file is what the IPCC equations give from the file's
    # [parameters]: a parameter changed without its factor fails here.
    params = load_parameters(WASTE_FILE)
    computed = factors_from_parameters(params)
    catalogue = {f.id: f for f in load_factor_set("shanghai-2022")}
    assert set(computed) == {
        "ipcc-2006.msw.incineration",
        "ipcc-2006.msw.incineration.biogenic",
        "ipcc-2006.msw.biological",
        "ipcc-2006.wastewater.domestic",
    }
    for factor_id, gases in computed.items():
        factor = catalogue[factor_id]
        assert set(factor.gases) == set(gases), factor_id
        for gas, value in gases.items():
            assert factor.per_canonical(gas) == value, (factor_id, gas)
    # The file states the composition the hand example uses, and the ledger's return ratio.
    stated = params["incineration"]["composition"]
    fields = ("share", "dry_matter", "carbon_fraction", "fossil_fraction")
    assert {n: tuple(Decimal(str(c[k])) for k in fields) for n, c in stated.items()} == {
        n: tuple(Decimal(v) for v in vals) for n, vals in COMPOSITION.items()
    }
    assert Decimal(str(params["wastewater"]["return_ratio"])) == WASTEWATER_RETURN_RATIO


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"share": 0.5}, r"composition shares add up to 1\.15, not 1"),
        ({"dry_matter": 1.5}, r"food\.dry_matter = 1\.5 is outside 0\.\.1"),
    ],
)
def test_bad_composition_raises(change: dict[str, float], match: str) -> None:
    params = load_parameters(WASTE_FILE)
    inc = dict(params["incineration"])
    inc["composition"] = {**inc["composition"], "food": {**inc["composition"]["food"], **change}}
    with pytest.raises(WasteParameterError, match=match) as info:
        factors_from_parameters({"incineration": inc})
    assert isinstance(info.value, ValueError)


def test_unknown_method_and_missing_parameter_raise() -> None:
    with pytest.raises(WasteParameterError, match=r"parameters\.x: unknown method 'landfill'"):
        factors_from_parameters({"x": {"method": "landfill", "factor": "f"}})
    with pytest.raises(WasteParameterError, match=r"parameters\.x lacks 'mcf'"):
        factors_from_parameters(
            {
                "x": {
                    "method": "wastewater",
                    "factor": "f",
                    "bod_g_per_person_day": 40,
                    "water_l_per_person_day": 165,
                    "return_ratio": 0.9,
                    "bo_kg_ch4_per_kg_bod": 0.6,
                }
            }
        )
    with pytest.raises(WasteParameterError, match=r"wastewater per person is 0(\.0)? L/day"):
        wastewater_factor(*(Decimal(v) for v in ("40", "0", "0.9", "0.6", "0.03", "15", "0.005")))


# --- the same numbers through the ledger ----------------------------------------------------------


@pytest.fixture(scope="module")
def twin() -> Twin:
    return load_twin("shimen_erlu")


def _ledger(folder: Path, twin: Twin, files: dict[str, str]) -> Ledger:
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "store.duckdb")
    store.sync_twin(twin)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        batch = store.ingest(folder / name, now=NOW)
        assert batch.rejected == 0, (name, batch.reasons)
    return build_ledger(store, twin, load_factor_set("shanghai-2022"), JAN, FEB)


ACTIVITY = "node_id,activity,period_start,period_end,amount,unit\n"
WASTE_ROWS = ACTIVITY + (
    f"shimen_erlu,waste.msw.incineration,2024-01-01,2024-02-01,{INCINERATED_T},t\n"
    f"shimen_erlu,waste.msw.biological,2024-01-01,2024-02-01,{DIGESTED_T},t\n"
    f"jiafa,wastewater.treatment,2024-01-01,2024-02-01,{WASTEWATER_M3},m3\n"
)
# kaidike's water meter: 1000 m3 of water -> 900 m3 of wastewater (x 0.9, GB 50014-2021).
WATER = "meter_id,read_at,reading\nW-KAIDIKE,2024-01-01,0\nW-KAIDIKE,2024-02-01,1000\n"


@pytest.fixture(scope="module")
def waste_ledger(tmp_path_factory: pytest.TempPathFactory, twin: Twin) -> Iterator[Ledger]:
    ledger = _ledger(
        tmp_path_factory.mktemp("waste"), twin, {"waste.csv": WASTE_ROWS, "water.csv": WATER}
    )
    yield ledger
    ledger.store.close()


def _one(entries: pd.DataFrame, **where: object) -> pd.Series:
    mask = pd.Series(True, index=entries.index)
    for col, value in where.items():
        mask &= entries[col] == value
    hit = entries[mask]
    assert len(hit) == 1, (where, hit)
    return hit.iloc[0]


def test_incineration_through_the_ledger_to_the_gram(waste_ledger: Ledger) -> None:
    e = _one(waste_ledger.entries, activity="waste.msw.incineration")
    assert (e.gpc_ref, e.scope, e.factor_id) == ("III.3.2", 3, "ipcc-2006.msw.incineration")
    assert (e.co2_kg, e.ch4_kg, e.n2o_kg, e.co2e_kg) == (
        kg(INC_CO2),  # 715369.600
        kg(INC_CH4),  # 0.200
        kg(INC_N2O),  # 50.000
        kg(INC_CO2E),  # 728625.200
    )


def test_biogenic_co2_is_a_memo_entry_in_no_total(waste_ledger: Ledger) -> None:
    # Eq. 5.2 with (1 - FCF): 1000 t x 0.1838192 t C/t x 44/12 = 674003.733 kg biogenic CO2,
    # booked beside the incineration entry as kind 'memo' (GPC v1.1 Ch. 8), in no total.
    e = waste_ledger.entries
    memo = _one(e, activity="waste.msw.incineration.biogenic_co2")
    biogenic = kg(INCINERATED_T * 1000 * Decimal("0.1838192") * 44 / 12)
    assert biogenic == Decimal("674003.733")
    assert (memo.kind, memo.gpc_ref, memo.scope, memo.method) == ("memo", "III.3.2", 3, "n/a")
    assert (memo.co2_kg, memo.co2e_kg) == (biogenic, biogenic)
    assert memo.amount == INCINERATED_T
    assert memo.factor_id == "ipcc-2006.msw.incineration.biogenic"
    table = waste_ledger.gpc_table(year=2024).set_index("gpc_ref")
    assert table.loc["III.3.2", "biogenic_co2_t"] == pytest.approx(674.003733)
    assert table.loc["III.3.2", "co2e_t"] == pytest.approx(float(INC_CO2E) / 1000)
    assert table.loc["III.2.2", "biogenic_co2_t"] == "NE"  # digestion: not estimated
    totals = waste_ledger.totals(year=2024)
    assert totals.biogenic_co2_t == pytest.approx(674.003733)
    in_basic = e.gpc_ref.map(lambda r: in_total(r, "BASIC"))
    basic = e[e.kind.isin(["emission", "adjustment"]) & in_basic]
    assert totals.total("BASIC") == pytest.approx(float(basic.co2e_kg.astype(float).sum()) / 1000)
    assert totals.total("BASIC") < 1000  # 731.7 t: the memo's 674 t would show


def test_biological_treatment_through_the_ledger(waste_ledger: Ledger) -> None:
    e = _one(waste_ledger.entries, activity="waste.msw.biological")
    assert (e.gpc_ref, e.scope) == ("III.2.2", 3)
    assert (e.co2_kg, e.ch4_kg, e.n2o_kg, e.co2e_kg) == (
        Decimal("0.000"),  # biogenic CO2 is not in the inventory
        kg(BIO_CH4),  # 100.000
        Decimal("0.000"),  # N2O "assumed negligible" (Table 4.1)
        kg(BIO_CH4 * 28),  # 2800.000
    )


def test_reported_wastewater_through_the_ledger_to_the_gram(waste_ledger: Ledger) -> None:
    e = _one(waste_ledger.entries, activity="wastewater.treatment", node_id="jiafa")
    assert (e.gpc_ref, e.scope, e.amount) == ("III.4.2", 3, WASTEWATER_M3)
    assert (e.ch4_kg, e.n2o_kg, e.co2e_kg) == (kg(WW_CH4), kg(WW_N2O), kg(WW_CO2E))


def test_wastewater_is_derived_from_metered_water(waste_ledger: Ledger, twin: Twin) -> None:
    e = waste_ledger.entries
    water = _one(e, activity="water.supply", node_id="kaidike")
    ww = _one(e, activity="wastewater.treatment", node_id="kaidike")
    assert water.amount == Decimal(1000) and ww.amount == Decimal(900)  # x 0.9
    share = Decimal(900) / WASTEWATER_M3
    assert (ww.ch4_kg, ww.n2o_kg, ww.co2e_kg) == (
        kg(WW_CH4 * share),  # 4.364
        kg(WW_N2O * share),  # 0.106
        kg(WW_CO2E * share),  # 150.291
    )
    assert (ww.gpc_ref, ww.kind, ww.method, ww.unit) == ("III.4.2", "emission", "n/a", "m3")
    assert ww.notes == "derived from water.supply x 0.9"
    assert (ww.readings, ww.completeness, ww.source_batches) == (
        water.readings,
        water.completeness,
        water.source_batches,
    )
    assert ww.entry_id not in set(e.entry_id.drop(ww.name))


def test_reported_wastewater_wins_over_the_derived(tmp_path: Path, twin: Twin) -> None:
    rows = ACTIVITY + "kaidike,wastewater.treatment,2024-01-01,2024-02-01,10,m3\n"
    ledger = _ledger(tmp_path, twin, {"ww.csv": rows, "water.csv": WATER})
    ww = ledger.entries[ledger.entries.activity == "wastewater.treatment"]
    assert ww.amount.tolist() == [Decimal(10)]  # nothing counted twice
    ledger.store.close()


# --- the factor sets ------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", list_profiles())
def test_no_negative_factor_for_an_inventory_activity(profile: str) -> None:
    # GPC: an inventory row reports emissions that occur; a credit is an avoided entry.
    factors = load_factor_set(profile)
    for f in factors:
        if f.activity.startswith("removal."):
            continue
        assert f.co2e_per_unit(factors.gwp) >= 0, f.id
        assert all(f.per_canonical(g) >= 0 for g in f.gases), f.id


@pytest.mark.parametrize("profile", list_profiles())
def test_natural_gas_and_lpg_carry_ch4_and_n2o(profile: str) -> None:
    # IPCC 2006 Vol. 2 Ch. 2 Tables 2.4 and 2.5: 5 kg CH4 and 0.1 kg N2O per TJ.
    factors = load_factor_set(profile)
    fuels = [f for f in factors if f.activity.startswith(("natural_gas.", "lpg."))]
    assert fuels
    for f in fuels:
        assert f.per_canonical("CH4") > 0 and f.per_canonical("N2O") > 0, f.id
    gas = next(f for f in fuels if f.activity == "natural_gas.combustion")
    assert gas.per_canonical("CH4") == Decimal("0.038931") * Decimal("0.005")  # GJ/m3 x kg/GJ
    assert gas.per_canonical("N2O") == Decimal("0.038931") * Decimal("0.0001")


def test_diesel_in_buildings_uses_the_building_rows() -> None:
    # Table 2.4/2.5 (commercial/residential): 10 kg CH4/TJ, not 3 (energy industries, Table 2.2).
    diesel = load_factor_set("shanghai-2022").get("ipcc-2006.diesel.stationary")
    assert diesel.per_canonical("CH4") == Decimal("0.01")
    assert classify("diesel.combustion_energy", "office") == "I.2.1"


def test_whole_chain_activities_are_gone() -> None:
    assert "waste.msw.sorted_ad_incineration" not in ACTIVITIES
    assert ACTIVITIES["waste.msw.biological"].canonical_unit == "t"
    assert not (factors_dir() / "msw-chen-2023.toml").exists()
    assert (REFS["III.3.2"].scope, REFS["III.2.2"].scope, REFS["III.4.2"].scope) == (3, 3, 3)


# --- the demo ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pd.DataFrame]:
    from carbon.demo import build_demo

    result = build_demo(tmp_path_factory.mktemp("demo"), start="2024-01-01", end="2024-03-01")
    yield result.ledger.entries
    result.ledger.store.close()


def test_demo_has_waste_and_wastewater_rows(demo: pd.DataFrame) -> None:
    emissions = demo[demo.kind == "emission"]
    refs = set(emissions.gpc_ref)
    assert {"III.2.2", "III.3.2", "III.4.2"} <= refs
    assert "III.1.2" not in refs  # Shanghai landfills no raw MSW (docs/research/waste.md §1)
    waste = emissions[emissions.activity.str.startswith("waste.")]
    assert set(waste.activity) == {"waste.msw.incineration", "waste.msw.biological"}
    assert set(waste.node_id) == {"shimen_erlu"} and len(waste) == 4  # 2 streams x 2 months
    # Wastewater: one entry per node-month with metered water.
    water = emissions[emissions.activity == "water.supply"]
    ww = emissions[emissions.activity == "wastewater.treatment"]
    assert set(zip(ww.node_id, ww.period_start, strict=True)) == set(
        zip(water.node_id, water.period_start, strict=True)
    )
    assert (ww.ch4_kg > 0).any() and (ww.n2o_kg > 0).any()


def test_demo_has_no_negative_emission_and_no_waste_credit(demo: pd.DataFrame) -> None:
    emissions = demo[demo.kind == "emission"]
    assert (emissions.co2e_kg >= 0).all()
    assert not emissions.notes.fillna("").str.contains("net_credit").any()
    # The energy-recovery credit is not modelled, so there is no avoided waste entry either.
    avoided = demo[demo.kind == "avoided"]
    assert not avoided.activity.str.startswith("waste.").any()


def test_demo_natural_gas_carries_ch4_and_n2o(demo: pd.DataFrame) -> None:
    gas = demo[(demo.kind == "emission") & (demo.activity == "natural_gas.combustion")]
    assert len(gas)
    big = gas[gas.amount >= 1000]  # >= 1000 m3: N2O >= 0.0039 kg, at least 4 g
    assert len(big) and (big.ch4_kg > 0).all() and (big.n2o_kg > 0).all()
    assert (gas.co2e_kg > gas.co2_kg).all()
