"""Tests of carbon.ledger: entries checked to the gram against hand arithmetic, GEC coverage,
kinds kept apart, half-open factor validity, completeness and the GPC table, roll-ups, errors,
and append-only closed periods.

Every input file is written here; every store is a real DuckDB file in tmp_path. Timestamps
without an offset are local time (Asia/Shanghai, UTC+8). Factors (shanghai-2022 profile):
electricity 0.42 kgCO2/kWh (sh-eeb-2022, CN-SH); market-based the national factor excluding
market-traded non-fossil power, 0.6096 kgCO2/kWh for 2023, carried forward into 2024; natural
gas 2.1622 kgCO2/m3 (cn-fuel, CN); tap water 0.1913 kgCO2e/m3 (DEFRA 2025, GLOBAL proxy).
Entries are rounded to the gram half away from zero (DuckDB ROUND on DECIMAL).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from helpers import MID_FACTORS, MID_PROFILE, write_office_twin

from carbon.errors import FactorNotFoundError
from carbon.factors import FactorSet, load_factor_set
from carbon.gpc import REFS
from carbon.ledger import ENTRY_COLUMNS, Ledger, LedgerError, arrow_to_pandas, build_ledger
from carbon.store import Store
from carbon.twin import Twin, load_twin

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
JAN, FEB, MAR = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)


@pytest.fixture(scope="module")
def twin() -> Twin:
    return load_twin("shimen_erlu")


@pytest.fixture(scope="module")
def shanghai() -> FactorSet:
    return load_factor_set("shanghai-2022")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def open_store(folder: Path, twin: Twin, files: dict[str, str]) -> Store:
    """A fresh store in ``folder`` with ``files`` (name -> text) written and ingested in order."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "store.duckdb")
    store.sync_twin(twin)
    for name, text in files.items():
        batch = store.ingest(write(folder, name, text), now=NOW)
        assert batch.rejected == 0, (name, batch.reasons)
    return store


def plain(value: Any) -> Any:
    """None for a missing value (NaN / None), else the value."""
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def one(entries: pd.DataFrame, **where: Any) -> pd.Series:
    """The single entry matching every column = value."""
    mask = pd.Series(True, index=entries.index)
    for col, value in where.items():
        mask &= entries[col] == value
    hit = entries[mask]
    assert len(hit) == 1, (where, hit)
    return hit.iloc[0]


# --- the hand-computed ledger ------------------------------------------------------------------

ELECTRICITY = (
    "meter_id,timestamp,value,unit\n"
    # Local midnight of 1 January is 2023-12-31 16:00 UTC: still January.
    "E-KAIDIKE,2024-01-01 00:00,300.5,kWh\n"
    # 2024-01-31 23:00 local = 15:00 UTC, written with its offset: January.
    "E-KAIDIKE,2024-01-31T15:00:00+00:00,12.25,kWh\n"
    # 2024-02-01 00:00 local = 2024-01-31 16:00 UTC: February, though its UTC month is January.
    "E-KAIDIKE,2024-01-31T16:00:00+00:00,40,kWh\n"
    "E-FENGXIAN-FENGXIANESTATE,2024-01-15 12:00,100,kWh\n"
    "E-FENGXIAN-FENGXIANESTATE,2024-01-20 08:00,23.4,kWh\n"
    "E-FENGXIAN-EBIKE,2024-02-10 08:00,5.5,kWh\n"
)
REGISTERS = (
    "meter_id,read_at,reading\n"
    "G-KAIDIKE,2024-01-01,1000\n"
    "G-KAIDIKE,2024-02-01,1100.25\n"
    "G-KAIDIKE,2024-03-01,1150.75\n"
    "W-KAIDIKE,2024-01-01,500\n"
    "W-KAIDIKE,2024-02-01,520\n"
    "W-KAIDIKE,2024-03-01,545\n"
)
HAND_FILES = {"elec.csv": ELECTRICITY, "registers.csv": REGISTERS}

SH = "sh-eeb-2022.electricity"
MKT = "mee-nbs-excl-market.2023.cn"
GAS = "cn-fuel.natural_gas"
WATER = "defra-2025.water_supply"
WASTEWATER = "ipcc-2006.wastewater.domestic"
DERIVED = "derived from water.supply x 0.9"
CF = "carried_forward"

HAND_COLUMNS = [
    "node_id", "period_start", "gpc_ref", "scope", "method", "activity", "amount", "factor_id",
    "factor_co2e", "co2_kg", "co2e_kg", "dq_activity", "dq_factor", "notes", "readings",
]  # fmt: skip
# Hand arithmetic, one line per entry:
HAND_ENTRIES = [
    # kaidike electricity, January: 300.5 + 12.25 = 312.75 kWh (2 readings)
    #   x 0.42 = 131.355; x 0.6096 = 190.6524 -> 190.652
    ("kaidike", JAN, "I.2.2", 2, "location", "electricity.grid", "312.75", SH, "0.42",
     "131.355", "131.355", "L", "H", None, 2),
    ("kaidike", JAN, "I.2.2", 2, "market", "electricity.grid", "312.75", MKT, "0.6096",
     "190.652", "190.652", "L", "M", CF, 2),
    # kaidike electricity, February: 40 kWh; x 0.42 = 16.800; x 0.6096 = 24.384
    ("kaidike", FEB, "I.2.2", 2, "location", "electricity.grid", "40", SH, "0.42",
     "16.800", "16.800", "L", "H", None, 1),
    ("kaidike", FEB, "I.2.2", 2, "market", "electricity.grid", "40", MKT, "0.6096",
     "24.384", "24.384", "L", "M", CF, 1),
    # kaidike gas: 1100.25 - 1000 = 100.25 m3; CO2 x 2.1622 = 216.76055 -> 216.761; CO2e with
    #   IPCC Tier 1 CH4 and N2O (AR5): 2.1622 + 0.000194655 x 28 + 0.0000038931 x 265
    #   = 2.168682012 -> 217.4103717 -> 217.410
    ("kaidike", JAN, "I.2.1", 1, "n/a", "natural_gas.combustion", "100.25", GAS, "2.168682012",
     "216.761", "217.410", "H", "M", None, 1),
    # 1150.75 - 1100.25 = 50.5 m3: CO2 x 2.1622 = 109.1911 -> 109.191; CO2e 109.5184416 -> 109.518
    ("kaidike", FEB, "I.2.1", 1, "n/a", "natural_gas.combustion", "50.5", GAS, "2.168682012",
     "109.191", "109.518", "H", "M", None, 1),
    # kaidike water: 520 - 500 = 20 m3 x 0.1913 = 3.826 (a CO2e-only factor: no CO2 split)
    ("kaidike", JAN, "VI.1", 3, "n/a", "water.supply", "20", WATER, "0.1913",
     "None", "3.826", "H", "L", "proxy_factor", 1),
    # 545 - 520 = 25 m3 x 0.1913 = 4.7825 -> 4.783 (a tie: half away from zero)
    ("kaidike", FEB, "VI.1", 3, "n/a", "water.supply", "25", WATER, "0.1913",
     "None", "4.783", "H", "L", "proxy_factor", 1),
    # kaidike wastewater (GPC III.4.2), derived: 20 m3 x 0.9 = 18 m3 x 0.166989685
    #   (0.004848485 kg CH4 x 28 + 0.000117857 kg N2O x 265) = 3.00581433 -> 3.006; no CO2
    ("kaidike", JAN, "III.4.2", 3, "n/a", "wastewater.treatment", "18", WASTEWATER,
     "0.166989685", "0.000", "3.006", "H", "L", DERIVED, 1),
    # 25 m3 x 0.9 = 22.5 m3 x 0.166989685 = 3.7572679 -> 3.757
    ("kaidike", FEB, "III.4.2", 3, "n/a", "wastewater.treatment", "22.5", WASTEWATER,
     "0.166989685", "0.000", "3.757", "H", "L", DERIVED, 1),
    # Fengxian Estate, January: 100 + 23.4 = 123.4 kWh; x 0.42 = 51.828;
    #   x 0.6096 = 75.22464 -> 75.225
    ("fengxian.fengxian_estate", JAN, "I.1.2", 2, "location", "electricity.grid", "123.4", SH,
     "0.42", "51.828", "51.828", "L", "H", None, 2),
    ("fengxian.fengxian_estate", JAN, "I.1.2", 2, "market", "electricity.grid", "123.4", MKT,
     "0.6096", "75.225", "75.225", "L", "M", CF, 2),
    # Fengxian e-bike shed (meter use type ebike -> II.1.2), February: 5.5 kWh;
    #   x 0.42 = 2.310; x 0.6096 = 3.3528 -> 3.353
    ("fengxian.ebike_shed", FEB, "II.1.2", 2, "location", "electricity.grid", "5.5", SH, "0.42",
     "2.310", "2.310", "L", "H", None, 1),
    ("fengxian.ebike_shed", FEB, "II.1.2", 2, "market", "electricity.grid", "5.5", MKT,
     "0.6096", "3.353", "3.353", "L", "M", CF, 1),
]  # fmt: skip


KG_COLUMNS = {"co2_kg", "co2e_kg"}  # compared as text: to the gram, three decimals
DECIMAL_COLUMNS = {"amount", "factor_co2e"}  # compared as numbers


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (row[0], row[1], row[2], row[4])


def hand_rows(entries: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The entries as HAND_ENTRIES-shaped tuples, kg as text, in a stable order."""
    rows = [
        tuple(str(v) if c in KG_COLUMNS else plain(v) for c, v in zip(HAND_COLUMNS, r, strict=True))
        for r in entries[HAND_COLUMNS].itertuples(index=False)
    ]
    return sorted(rows, key=_key)


def expected_rows() -> list[tuple[Any, ...]]:
    rows = [
        tuple(
            Decimal(v) if c in DECIMAL_COLUMNS else v for c, v in zip(HAND_COLUMNS, e, strict=True)
        )
        for e in HAND_ENTRIES
    ]
    return sorted(rows, key=_key)


@pytest.fixture
def hand(tmp_path: Path, twin: Twin, shanghai: FactorSet) -> Iterator[Ledger]:
    store = open_store(tmp_path / "a", twin, HAND_FILES)
    yield build_ledger(store, twin, shanghai, "2024-01-01", "2024-03-01")
    store.close()


def test_hand_computed_ledger_to_the_gram(hand: Ledger, twin: Twin) -> None:
    e = hand.entries
    assert list(e.columns) == list(ENTRY_COLUMNS)
    assert hand_rows(e) == expected_rows()
    # Exactly to the gram: the kg columns carry three decimals, amounts six.
    kaidike_jan = one(e, node_id="kaidike", period_start=JAN, method="location")
    assert str(kaidike_jan.amount) == "312.750000"
    assert all(
        isinstance(v, Decimal) or (v is None and col in ("co2_kg", "ch4_kg", "n2o_kg"))
        for col in KG_COLUMNS | DECIMAL_COLUMNS
        for v in e[col]
    )
    # A CO2e-only factor (water supply) gives no per-gas split: the gas columns stay empty.
    water = e[e.activity == "water.supply"]
    assert water.co2_kg.isna().all() and water.co2e_kg.notna().all()
    assert set(e.kind) == {"emission"}
    # CH4 and N2O: natural gas (IPCC Tier 1 for buildings) and wastewater only.
    gases = e[(e.ch4_kg != 0) | (e.n2o_kg != 0)]
    assert set(gases.activity) == {"natural_gas.combustion", "wastewater.treatment"}
    jan_ww = one(e, activity="wastewater.treatment", period_start=JAN)
    assert (jan_ww.ch4_kg, jan_ww.n2o_kg) == (Decimal("0.087"), Decimal("0.002"))  # 18 m3
    assert (e.period_end == e.period_start.map(lambda d: FEB if d == JAN else MAR)).all()
    assert (e.node_path == e.node_id.map(twin.path)).all()
    assert one(e, node_id="kaidike", gpc_ref="I.2.1", period_start=JAN).node_path == (
        "shimen_erlu/nanjing_west/kaidike"
    )
    assert (e.gpc_sector == e.gpc_ref.str.split(".").str[0]).all()
    assert dict(zip(e.activity, e.unit, strict=True)) == {
        "electricity.grid": "kWh",
        "natural_gas.combustion": "m3",
        "water.supply": "m3",
        "wastewater.treatment": "m3",
    }
    assert set(zip(e.node_id, e.node_kind, strict=True)) == {
        ("kaidike", "office_building"),
        ("fengxian.fengxian_estate", "compound"),
        ("fengxian.ebike_shed", "facility"),
    }
    assert (e.meters == 1).all() and (e.estimated == 0).all()
    assert e.adjusts.isna().all()
    # The 2023 market factor used in 2024 is flagged, with a structured warning.
    (carried,) = [w for w in hand.warnings if w.code == "factor.carried_forward"]
    assert carried.data == {"factor_id": MKT, "from": "2024-01-01", "to": "2024-03-01"}
    assert hand.start == JAN and hand.end == MAR


def test_entry_ids_are_deterministic_and_distinct(
    hand: Ledger, tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    ids = hand.entries.entry_id.tolist()
    assert len(set(ids)) == len(ids) == len(HAND_ENTRIES)
    assert all(re.fullmatch(r"E[0-9a-f]{20}", i) for i in ids)
    assert ids == sorted(ids)
    # The same files in another folder and a fresh store give the same entries and ids.
    with open_store(tmp_path / "b", twin, HAND_FILES) as other:
        again = build_ledger(other, twin, shanghai, "2024-01-01", "2024-03-01")
        pd.testing.assert_frame_equal(again.entries, hand.entries)
        # ... and so does a rebuild from the same store.
        pd.testing.assert_frame_equal(
            build_ledger(other, twin, shanghai, JAN, MAR).entries, hand.entries
        )


# --- market-based electricity with green-power certificates -------------------------------------

ACTIVITY_HEADER = "node_id,activity,period_start,period_end,amount,unit\n"
CERTIFICATES = ACTIVITY_HEADER + (
    "kaidike,electricity.green_certificate,2024-01-01,2024-02-01,0.1,MWh\n"  # 100 kWh
    "kaidike,electricity.green_certificate,2024-02-01,2024-03-01,1,MWh\n"  # 1000 kWh > 40 used
)


def test_green_certificates_in_the_market_view(
    hand: Ledger, tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    files = {**HAND_FILES, "gec.csv": CERTIFICATES}
    with open_store(tmp_path / "gec", twin, files) as store:
        ledger = build_ledger(store, twin, shanghai, JAN, MAR)
        gec_batch = store.frame("SELECT batch_id FROM batches WHERE file_name = 'gec.csv'")
    e = ledger.entries
    # January: (312.75 - 100) kWh x 0.6096 = 129.6924 -> 129.692 kg; 100 kWh at 0 kg.
    grid = one(e, node_id="kaidike", period_start=JAN, method="market", activity="electricity.grid")
    assert (grid.amount, grid.co2e_kg, grid.factor_id) == (
        Decimal("212.75"),
        Decimal("129.692"),
        MKT,
    )
    assert grid.notes == "carried_forward,gec_covered"
    green = one(e, node_id="kaidike", period_start=JAN, activity="electricity.green_certificate")
    assert (green.method, green.gpc_ref, green.scope, green.factor_id) == (
        "market",
        "I.2.2",
        2,
        "cn-gec.zero",
    )
    assert (green.amount, green.factor_co2e, green.co2_kg, green.co2e_kg) == (
        Decimal(100),
        Decimal(0),
        Decimal(0),
        Decimal(0),
    )
    assert green.notes == "gec_covered"
    assert green.source_batches == gec_batch.batch_id.iloc[0]
    # February: certificates for 1000 kWh cover the 40 kWh used and no more; the grid row is
    # gone, never negative.
    assert e[
        (e.period_start == FEB)
        & (e.node_id == "kaidike")
        & (e.method == "market")
        & (e.activity == "electricity.grid")
    ].empty
    feb_green = one(
        e, node_id="kaidike", period_start=FEB, activity="electricity.green_certificate"
    )
    assert (feb_green.amount, feb_green.co2e_kg) == (Decimal(40), Decimal(0))
    assert (e.amount >= 0).all() and (e.co2e_kg >= 0).all()
    # Location-based is untouched; market-based drops 60.960 + 24.384 = 85.344 kg.
    pd.testing.assert_frame_equal(
        ledger.select("location").reset_index(drop=True),
        hand.select("location").reset_index(drop=True),
    )

    def market_kg(led: Ledger) -> Decimal:
        return sum(led.select("market").co2e_kg, Decimal(0))

    assert market_kg(hand) - market_kg(ledger) == Decimal("85.344")


def test_certificates_outside_the_period_need_no_factor(
    tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    # A 2024 certificate in the store must not make a 2022 ledger look for a 2022 GEC factor
    # (cn-gec.zero is valid from 2023-08-03).
    with open_store(tmp_path, twin, {"gec.csv": CERTIFICATES}) as store:
        ledger = build_ledger(store, twin, shanghai, "2022-01-01", "2022-03-01")
        assert ledger.entries.empty
        # A certificate inside a period before the GEC factor exists cannot be claimed: no
        # certificate entry, market electricity untouched, and a gec.no_factor warning.
        late = "kaidike,electricity.green_certificate,2022-01-01,2022-02-01,1,MWh\n"
        elec = "meter_id,timestamp,kwh\nE-KAIDIKE,2022-01-05 10:00,700\n"
        batch = store.ingest(write(tmp_path, "gec2022.csv", ACTIVITY_HEADER + late), now=NOW)
        store.ingest(write(tmp_path, "elec2022.csv", elec), now=NOW)
        assert batch.accepted == 1
        ledger = build_ledger(store, twin, shanghai, "2022-01-01", "2022-03-01")
        assert "electricity.green_certificate" not in set(ledger.entries.activity)
        market = ledger.entries[ledger.entries.method == "market"]
        assert [str(a) for a in market.amount] == ["700.000000"]
        codes = {w.code for w in ledger.warnings}
        assert "gec.no_factor" in codes


# --- kinds kept apart ---------------------------------------------------------------------------


def _extra() -> pd.DataFrame:
    """Amounts as a model hands them over: the ledger values them (carbon.valuation)."""
    return pd.DataFrame(
        {
            "kind": ["removal", "avoided"],
            "period_start": [JAN, FEB],
            "node_id": ["suhewan", "kaidike"],
            "gpc_ref": ["V.2", "I.2.2"],
            "activity": ["green_space.sequestration", "electricity.grid"],
            "factor_activity": ["direct", "electricity.grid"],  # kg CO2 as given; the grid
            "amount": [Decimal("-12.5"), Decimal("20")],  # kg CO2; kWh
            "unit": ["kgCO2", "kWh"],
        }
    )


def test_removals_and_avoided_are_stamped_and_never_counted(
    hand: Ledger, tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    store = hand.store
    ledger = build_ledger(store, twin, shanghai, JAN, MAR, extra_entries=_extra())
    e = ledger.entries
    assert len(e) == len(HAND_ENTRIES) + 2
    removal, avoided = one(e, kind="removal"), one(e, kind="avoided")
    assert re.fullmatch(r"E[0-9a-f]{20}", removal.entry_id)
    assert removal.entry_id != avoided.entry_id
    assert (removal.node_path, removal.node_kind, removal.scope, removal.gpc_sector) == (
        "shimen_erlu/suhewan",
        "block",
        1,
        "V",
    )
    assert (avoided.node_path, avoided.period_end, avoided.scope, avoided.method) == (
        "shimen_erlu/nanjing_west/kaidike",
        MAR,
        2,
        "n/a",
    )
    assert removal.co2e_kg == Decimal("-12.500")
    # 20 kWh x 0.42 kgCO2e/kWh (Shanghai's 2022 grid factor, in force in February 2024)
    assert (avoided.co2e_kg, avoided.factor_co2e) == (Decimal("8.400"), Decimal("0.42"))
    # The same extra entries get the same ids.
    again = build_ledger(store, twin, shanghai, JAN, MAR, extra_entries=_extra()).entries
    assert sorted(again.entry_id) == sorted(e.entry_id)
    # Never in a total, a view, the monthly series, a roll-up or the GPC table.
    for method in ("location", "market"):
        assert set(ledger.select(method).kind) == {"emission"}
        for total in ("BASIC", "BASIC+", "territorial", "scope2"):
            assert ledger.total(method, total) == hand.total(method, total)
    pd.testing.assert_frame_equal(ledger.monthly(), hand.monthly())
    pd.testing.assert_frame_equal(ledger.rollup("block"), hand.rollup("block"))
    # V.2 is not "included elsewhere": removals are memo items, never in a row.
    v2 = ledger.gpc_table().set_index("gpc_ref").loc["V.2"]
    assert (v2.notation_key, plain(v2.co2e_t)) == ("NE", None)
    # They are reachable on request.
    assert ledger.select(kinds=("removal",)).entry_id.tolist() == [removal.entry_id]
    assert ledger.rollup("subdistrict", kinds=("removal", "avoided")).co2e_t.sum() == (
        pytest.approx(-0.0041)
    )


def test_extra_entries_of_other_kinds_are_rejected(
    hand: Ledger, twin: Twin, shanghai: FactorSet
) -> None:
    bad = _extra()
    bad.loc[1, "kind"] = "emission"
    with pytest.raises(
        LedgerError, match=r"may only be 'avoided' or 'removal', not \['emission'\]"
    ):
        build_ledger(hand.store, twin, shanghai, JAN, MAR, extra_entries=bad)
    with pytest.raises(LedgerError, match=r"extra entries: amounts lack columns \['amount'\]"):
        build_ledger(
            hand.store, twin, shanghai, JAN, MAR, extra_entries=_extra().drop(columns="amount")
        )


# --- factor validity: half-open, mid-month; local months; region fallback ----------------------


def test_factor_change_mid_month_splits_the_month(tmp_path: Path, twin: Twin) -> None:
    # load_factor_set resolves includes at profile.parent.parent/<file>, else packaged.
    write(tmp_path, "mid-month.toml", MID_FACTORS)
    factors = load_factor_set(write(tmp_path / "profiles", "mid.toml", MID_PROFILE))
    text = (
        "meter_id,timestamp,value\n"
        "E-KAIDIKE,2024-01-14 23:00,10\n"  # last hour before the change: t.before
        "E-KAIDIKE,2024-01-15 00:00,20\n"  # first hour of t.after ([from, to) is half-open)
        "E-KAIDIKE,2024-02-01 00:00,5\n"
    )
    with open_store(tmp_path / "s", twin, {"e.csv": text}) as store:
        ledger = build_ledger(store, twin, factors, JAN, MAR)
    loc = ledger.select("location")
    got = sorted(
        (r.period_start, r.factor_id, r.amount, r.co2e_kg, r.readings) for r in loc.itertuples()
    )
    assert got == [
        (JAN, "t.after", Decimal(20), Decimal("8.642"), 1),  # 20 x 0.4321 = 8.642
        (JAN, "t.before", Decimal(10), Decimal("5.123"), 1),  # 10 x 0.5123 = 5.123
        (FEB, "t.after", Decimal(5), Decimal("2.161"), 1),  # 5 x 0.4321 = 2.1605 -> 2.161
    ]
    jan = loc[loc.period_start == JAN]
    assert jan.entry_id.nunique() == 2
    assert (jan.dq_factor == "H").all()
    # No market factor in this profile: the location factor stands in, flagged.
    market = ledger.select("market")
    assert sorted(market.factor_id) == ["t.after", "t.after", "t.before"]
    assert set(market.notes) == {"market_fallback_location"}


def test_region_falls_back_to_the_east_china_grid(tmp_path: Path, twin: Twin) -> None:
    # cn-mee-2023 has no Shanghai factor for 2023: CN-SH -> CN-EAST-GRID, 0.5500 kgCO2/kWh.
    factors = load_factor_set("cn-mee-2023")
    text = "meter_id,timestamp,value\nE-KAIDIKE,2023-01-10 10:00,100\n"
    with open_store(tmp_path, twin, {"e.csv": text}) as store:
        ledger = build_ledger(store, twin, factors, "2023-01-01", "2023-02-01")
    e = ledger.entries
    loc = one(e, method="location")
    # 100 kWh x 0.5500 = 55.000; a regional factor for a city: data quality M.
    assert (loc.factor_id, loc.factor_co2e, loc.co2e_kg, loc.dq_factor, plain(loc.notes)) == (
        "mee-nbs.2023.cn-east-grid",
        Decimal("0.55"),
        Decimal("55.000"),
        "M",
        None,
    )
    # Market-based: the 2023 national residual-like factor, in its own year (not carried).
    market = one(e, method="market")
    assert (market.factor_id, market.co2e_kg, plain(market.notes)) == (
        MKT,
        Decimal("60.960"),
        None,
    )


# --- completeness, the GPC table and the totals -------------------------------------------------


def _hours(meter_id: str, value: str, *, every: int = 1, skip_day: int | None = None) -> str:
    start = dt.datetime(2024, 1, 1)
    lines = []
    for h in range(0, 744, every):
        ts = start + dt.timedelta(hours=h)
        if ts.day != skip_day:
            lines.append(f"{meter_id},{ts:%Y-%m-%d %H:%M},{value}\n")
    return "".join(lines)


COVERAGE_FILES = {
    "elec.csv": "meter_id,timestamp,value\n"
    + _hours("E-KAIDIKE", "1")  # 744 of 744 hours, 744 kWh
    + _hours("E-JIAFA", "1", skip_day=10)  # 720 of 744 hours, 720 kWh
    + _hours("E-FENGXIAN-FENGXIANESTATE", "2", every=4),  # 186 of 744 hours, 372 kWh
    "reg.csv": "meter_id,read_at,reading\n"
    "W-KAIDIKE,2024-01-01,0\nW-KAIDIKE,2024-02-01,100\n"
    "G-KAIDIKE,2024-01-01,0\nG-KAIDIKE,2024-02-01,10\n",
    "waste.csv": "node_id,activity,period_start,period_end,amount,unit\n"
    "shimen_erlu,waste.msw.biological,2024-01-01,2024-02-01,2,t\n"
    "shimen_erlu,waste.msw.incineration,2024-01-01,2024-02-01,10,t\n",
}
# Location-based, kg CO2e (AR5: CH4 28, N2O 265; factors/ipcc-2006-waste.toml):
#   I.2.2   kaidike 744 x 0.42 = 312.480, jiafa 720 x 0.42 = 302.400  -> 614.880
#   I.1.2   fengxian 372 x 0.42 = 156.240
#   I.2.1   gas 10 x (2.1622 + 0.000194655 x 28 + 0.0000038931 x 265 = 2.168682012) = 21.687
#   III.2.2 2 t digested x 1 kg CH4 x 28 = 56.000
#   III.3.2 10 t incinerated x (715.3696 + 0.0002 x 28 + 0.05 x 265 = 728.6252) = 7286.252
#   III.4.2 kaidike's wastewater 100 x 0.9 = 90 m3 x 0.166989685 = 15.029
#   VI.1    water 100 x 0.1913 = 19.130 ('other': in no total)
#   BASIC = BASIC+ = 614.880 + 156.240 + 21.687 + 56.000 + 7286.252 + 15.029 = 8150.088
#   territorial (scope 1 only) = 21.687; scope2 = 614.880 + 156.240 = 771.120
# Market-based scope 2: 744 x 0.6096 = 453.542, 720 x 0.6096 = 438.912, 372 x 0.6096 = 226.771
#   scope2 = 1119.225; BASIC = 1119.225 + 21.687 + 7357.281 = 8498.193


@pytest.fixture(scope="module")
def coverage_ledger(
    tmp_path_factory: pytest.TempPathFactory, twin: Twin, shanghai: FactorSet
) -> Iterator[Ledger]:
    """Read-only for the tests that use it."""
    store = open_store(tmp_path_factory.mktemp("coverage"), twin, COVERAGE_FILES)
    yield build_ledger(store, twin, shanghai, JAN, FEB)
    store.close()


def test_completeness_per_meter(coverage_ledger: Ledger) -> None:
    cov = coverage_ledger.coverage.set_index("meter_id")
    got = {
        m: (int(cov.loc[m, "expected"]), int(cov.loc[m, "present"]), cov.loc[m, "completeness"])
        for m in ("E-KAIDIKE", "E-JIAFA", "E-FENGXIAN-FENGXIANESTATE", "W-KAIDIKE", "E-OFFICE01")
    }
    assert got == {
        "E-KAIDIKE": (744, 744, 1.0),  # 31 x 24 hours, all present
        "E-JIAFA": (744, 720, 0.967742),  # 720 / 744 to six decimals: day 10 missing
        "E-FENGXIAN-FENGXIANESTATE": (744, 186, 0.25),
        "W-KAIDIKE": (1, 1, 1.0),  # one register delta per month expected
        "E-OFFICE01": (744, 0, 0.0),
    }
    e = coverage_ledger.entries
    quality = {
        r.node_id: (r.completeness, r.dq_activity)
        for r in e[(e.method == "location") & (e.activity == "electricity.grid")].itertuples()
    }
    assert quality == {
        "kaidike": (Decimal(1), "H"),
        "jiafa": (Decimal("0.967742"), "H"),  # >= 0.9 and nothing estimated
        "fengxian.fengxian_estate": (Decimal("0.25"), "L"),  # below 0.5
    }
    (low,) = [w for w in coverage_ledger.warnings if w.code == "coverage.low"]
    assert ["E-FENGXIAN-FENGXIANESTATE", "2024-01-01"] in low.data["meter_months"]
    assert ["E-KAIDIKE", "2024-01-01"] not in low.data["meter_months"]


def test_gpc_table_numbers_and_notation_keys(
    coverage_ledger: Ledger, twin: Twin, shanghai: FactorSet
) -> None:
    table = coverage_ledger.gpc_table().set_index("gpc_ref")
    assert list(table.index) == list(REFS)  # every GPC v1.1 sub-category (53 rows)
    assert set(table.year) == {2024}
    numbers = {ref: row.co2e_t for ref, row in table.iterrows() if plain(row.notation_key) is None}
    assert numbers == pytest.approx(
        {
            "I.2.1": 0.021687,
            "I.2.2": 0.61488,
            "III.2.2": 0.056,
            "III.3.2": 7.286252,
            "III.4.2": 0.015029,
            "VI.1": 0.01913,
        }
    )
    keys = {
        ref: (row.notation_key, row.explanation)
        for ref, row in table.iterrows()
        if plain(row.notation_key) is not None
    }
    # The rows the site's boundary statement keys (site.toml [boundary]) take its key.
    boundary = {ref: (k.key, k.explanation) for ref, k in twin.boundary.notation_keys.items()}
    assert {ref: keys.pop(ref) for ref in boundary if ref in keys} == boundary
    assert keys == {
        # 25 % coverage is below the 50 % threshold: NE, with why, and no partial number.
        "I.1.2": (
            "NE",
            "data coverage 25% is below the 50% threshold; partial value not reported and not "
            "in any total",
        ),
        "I.1.1": ("NE", "meters exist but no readings fall in 2024"),
        "II.1.2": ("NE", "meters exist but no readings fall in 2024"),
        **{
            f"I.{s}.3": ("NE", "T&D losses are not estimated (no loss factor in the set)")
            for s in (1, 2, 6)
        },
        "I.4.4": ("NO", "no generation assets (PV arrays) in the twin"),
        "I.6.1": ("NE", "no activity data for this row in 2024"),
        "I.6.2": ("NE", "no activity data for this row in 2024"),
        "I.3.3": ("NE", "T&D losses are not estimated (no loss factor in the set)"),
    }
    assert plain(table.loc["I.1.2", "co2e_t"]) is None
    assert table.loc["I.1.2", "completeness"] == 0.25
    assert table.loc["I.2.2", "data_quality"] == "H/H"
    assert table.loc["VI.1", "data_quality"] == "H/L"
    assert (table.loc["I.2.2", "scope"], table.loc["I.2.2", "level"]) == (2, "basic")
    # A lower threshold reports the partial number: 372 kWh x 0.42 = 156.240 kg.
    lenient = build_ledger(coverage_ledger.store, twin, shanghai, JAN, FEB, ne_threshold=0.2)
    row = lenient.gpc_table().set_index("gpc_ref").loc["I.1.2"]
    assert (plain(row.notation_key), row.co2e_t) == (None, pytest.approx(0.15624))
    # A block's table holds only its own nodes: kaidike and Fengxian are in nanjing_west,
    # jiafa is not, nor the subdistrict's waste.
    block = coverage_ledger.gpc_table("nanjing_west").set_index("gpc_ref")
    assert block.loc["I.2.2", "co2e_t"] == pytest.approx(0.31248)
    assert block.loc["III.3.2", "notation_key"] == "NE"  # the incinerated waste is the root's
    with pytest.raises(KeyError, match="atlantis"):
        coverage_ledger.gpc_table("atlantis")


def test_totals_follow_the_gpc_definitions(coverage_ledger: Ledger) -> None:
    led = coverage_ledger
    # I.1.2 (Fengxian, 25 % coverage) is keyed NE and adds nothing: 8150.088 - 156.240 kg.
    assert led.total() == pytest.approx(7.993848, abs=1e-12)
    assert led.total("location", "BASIC+") == pytest.approx(7.993848, abs=1e-12)
    assert led.total("location", "territorial") == pytest.approx(0.021687, abs=1e-12)
    assert led.total("location", "scope2") == pytest.approx(0.614880, abs=1e-12)
    # market: 1119.225 - 226.771 (Fengxian) = 892.454; BASIC 892.454 + 21.687 + 7357.281
    assert led.total("market", "scope2") == pytest.approx(0.892454, abs=1e-12)
    assert led.total("market", "BASIC") == pytest.approx(8.271422, abs=1e-12)
    totals = led.totals()
    assert not totals.complete and "I.1.2" in totals.incomplete_rows
    assert led.total("market", "territorial") == pytest.approx(0.021687, abs=1e-12)
    # Every entry is in some view: the location view sums to BASIC + VI.1 (19.130 kg).
    assert sum(led.select().co2e_kg, Decimal(0)) == Decimal("8150.088") + Decimal("19.130")
    with pytest.raises(KeyError, match="Unknown total 'NET'"):
        led.total("location", "NET")
    with pytest.raises(LedgerError, match="method must be 'location' or 'market', not 'average'"):
        led.total("average")
    monthly = led.monthly().set_index(["gpc_sector", "scope"]).co2e_t
    assert monthly.to_dict() == pytest.approx(
        {("I", 1): 0.021687, ("I", 2): 0.77112, ("III", 3): 7.357281, ("VI", 3): 0.01913}
    )


# --- roll-ups ------------------------------------------------------------------------------------


def test_rollups_sum_to_the_total(coverage_ledger: Ledger) -> None:
    everything = float(sum(coverage_ledger.select().co2e_kg, Decimal(0))) / 1000  # 8.169218 t
    for by in ("subdistrict", "block", "unit", "node"):
        r = coverage_ledger.rollup(by)
        assert r.co2e_t.sum() == pytest.approx(everything, abs=1e-12), by
    block = coverage_ledger.rollup("block").groupby("node_id").co2e_t.sum()
    # nanjing_west: kaidike 312.480 + 21.687 + 19.130 + 15.029 (its wastewater) and Fengxian
    # 156.240 = 524.566 kg; central: jiafa 302.400; the subdistrict's own waste stays at the
    # root: 56.000 + 7286.252 = 7342.252.
    assert block.to_dict() == pytest.approx(
        {"nanjing_west": 0.524566, "central": 0.3024, "shimen_erlu": 7.342252}
    )
    nw = coverage_ledger.rollup("block").set_index("node_id").loc["nanjing_west"]
    # Residents of nanjing_west's areas: Fengxian 2100 + Dongwang 1900 + Xinde 1800.
    assert set(nw.residents) == {5800}
    assert list(nw.co2e_t_per_capita) == pytest.approx([0.524566 / 5800] * len(nw))
    sub = coverage_ledger.rollup("subdistrict")
    assert set(sub.node_id) == {"shimen_erlu"}
    assert set(sub.residents) == {22000}
    assert list(sub.co2e_t_per_capita) == pytest.approx([everything / 22000] * len(sub))
    unit = coverage_ledger.rollup("unit").groupby("node_id").co2e_t.sum()
    assert set(unit.index) == {"kaidike", "jiafa", "fengxian", "shimen_erlu"}
    kaidike = coverage_ledger.rollup("unit").set_index("node_id").loc["kaidike"]
    # 368.326 kg over the assumed 30,000 m2 of the Kaidike Building.
    assert list(kaidike.co2e_kg_per_m2) == pytest.approx([368.326 / 30000] * len(kaidike))
    assert kaidike.co2e_t_per_capita.isna().all()  # offices have no residents
    node = coverage_ledger.rollup("node")
    assert "fengxian.fengxian_estate" in set(node.node_id)
    with pytest.raises(
        LedgerError, match="by must be subdistrict, block, unit or node, not 'street'"
    ):
        coverage_ledger.rollup("street")


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-01-15", "2024-03-01"),  # not a first of month
        ("2024-01-01", "2024-02-29"),
        ("2024-03-01", "2024-01-01"),  # end before start
        ("2024-01-01", "2024-01-01"),  # empty
    ],
)
def test_bad_periods_raise(
    tmp_path: Path, twin: Twin, shanghai: FactorSet, start: str, end: str
) -> None:
    with (
        Store(tmp_path / "s.duckdb") as store,
        pytest.raises(
            LedgerError,
            match=f"start {start} and end {end} must be first days of months, start before end",
        ),
    ):
        build_ledger(store, twin, shanghai, start, end)


def test_activity_without_factor_raises(tmp_path: Path, twin: Twin, shanghai: FactorSet) -> None:
    text = (
        "node_id,activity,period_start,period_end,amount,unit\n"
        "shimen_erlu,transport.vehicle_km,2024-01-01,2024-02-01,100,km\n"
    )
    with open_store(tmp_path, twin, {"km.csv": text}) as store:
        with pytest.raises(
            FactorNotFoundError,
            match=r"No emission factor for transport\.vehicle_km in 'CN-SH' on 2024-01-01",
        ) as info:
            build_ledger(store, twin, shanghai, JAN, MAR)
    assert isinstance(info.value, LookupError)


# --- append-only closed periods ---------------------------------------------------------------

CLOSE_ORIGINAL = (
    "meter_id,timestamp,value\nE-KAIDIKE,2024-01-01 00:00,300.5\nE-KAIDIKE,2024-02-01 00:00,20.25\n"
)
CLOSE_CORRECTION = (
    "meter_id,timestamp,value\nE-KAIDIKE,2024-01-01 00:00,310.5\nE-KAIDIKE,2024-02-01 00:00,30\n"
)


def _closed_rows(store: Store) -> pd.DataFrame:
    return (
        store.con.sql("SELECT * FROM ledger_entries ORDER BY entry_id").to_arrow_table().to_pandas()
    )


def test_closed_periods_are_append_only(tmp_path: Path, twin: Twin, shanghai: FactorSet) -> None:
    with open_store(tmp_path, twin, {"orig.csv": CLOSE_ORIGINAL}) as store:
        first = build_ledger(store, twin, shanghai, JAN, MAR)
        first.publish(tmp_path / "snapshots", close_through="2024-02-01")  # closes January only
        closed = _closed_rows(store)
        jan = first.entries[first.entries.period_start == JAN]
        assert sorted(closed.entry_id) == sorted(jan.entry_id)
        batch = store.ingest(write(tmp_path, "fix.csv", CLOSE_CORRECTION), supersede=True, now=NOW)
        assert batch.accepted == 2
        second = build_ledger(store, twin, shanghai, JAN, MAR)
        e = second.entries
        # January's closed entries are kept exactly as published.
        kept = e[e.entry_id.isin(jan.entry_id)].set_index("entry_id").sort_index()
        pd.testing.assert_frame_equal(
            kept, jan.set_index("entry_id").sort_index(), check_dtype=False, check_index_type=False
        )
        # One adjustment per closed entry that changed:
        #   location: 310.5 x 0.42 = 130.410 - 126.210 = 4.200
        #   market:   310.5 x 0.6096 = 189.2808 -> 189.281 - 183.185 (300.5 x 0.6096) = 6.096
        adj = e[e.kind == "adjustment"]
        loc_id = one(jan, method="location").entry_id
        mkt_id = one(jan, method="market").entry_id
        got = {(r.adjusts, r.method, r.period_start, r.amount, r.co2e_kg) for r in adj.itertuples()}
        assert got == {
            (loc_id, "location", JAN, Decimal(10), Decimal("4.200")),
            (mkt_id, "market", JAN, Decimal(10), Decimal("6.096")),
        }
        assert all(re.fullmatch(r"A[0-9a-f]{20}", i) for i in adj.entry_id)
        assert set(adj.notes) == {"correction of a closed period"}
        # February was open: simply recomputed from the correction (30 x 0.42 = 12.600).
        feb = one(e, period_start=FEB, method="location")
        assert (feb.kind, feb.amount, feb.co2e_kg) == ("emission", Decimal(30), Decimal("12.600"))
        # The totals include the adjustments: 126.210 + 4.200 + 12.600 = 143.010 kg (two
        # readings a month are below the coverage threshold: the row counts only without one).
        assert second.total() == 0.0
        assert dataclasses.replace(second, ne_threshold=0.0).total() == pytest.approx(
            0.14301, abs=1e-12
        )
        # Building does not touch the store's closed entries.
        pd.testing.assert_frame_equal(_closed_rows(store), closed)
        # Publishing again appends the adjustments (January is closed) and changes no row.
        snapshot = second.publish(tmp_path / "snapshots", close_through="2024-02-01")
        after = _closed_rows(store)
        pd.testing.assert_frame_equal(
            after[after.entry_id.isin(closed.entry_id)].reset_index(drop=True), closed
        )  # same values, same snapshot_id and closed_at: no row was rewritten
        assert sorted(set(after.entry_id) - set(closed.entry_id)) == sorted(adj.entry_id)
        # The snapshot carries the closed entries it was built against.
        assert snapshot.manifest["closed_entries"] == "closed_entries.parquet"
        published = pd.read_parquet(snapshot.path / "closed_entries.parquet")
        assert sorted(published.entry_id) == sorted(jan.entry_id)
        # A rebuild with nothing new adds no second adjustment.
        third = build_ledger(store, twin, shanghai, JAN, MAR)
        pd.testing.assert_frame_equal(third.entries, second.entries, check_dtype=False)
        again = third.publish(tmp_path / "again")
        assert (again.path / "entries.parquet").read_bytes() == (
            snapshot.path / "entries.parquet"
        ).read_bytes()  # same entries, byte for byte


def test_source_batches_name_every_file_behind_an_entry(
    tmp_path: Path, shanghai: FactorSet
) -> None:
    # One office with two hourly meters; 70 files of one reading each for M1 and one file
    # for M2: 71 batches behind one entry, more than one 62-bit word of the batch masks.
    folder = write_office_twin(tmp_path / "twin")
    with open(folder / "meters.toml", "a", encoding="utf-8") as fh:
        fh.write(
            '\n[[meter]]\nid = "M2"\nnode = "o"\nmeasure = "electricity"\nunit = "kWh"\n'
            'reading = "interval"\ninterval = "1h"\n'
        )
    office = load_twin(folder)
    store = Store(tmp_path / "s.duckdb")
    store.sync_twin(office)
    ids = []
    for i in range(70):
        text = f"meter_id,timestamp,value\nM1,2024-01-02 {i % 24:02d}:00,1\n"
        text = text.replace("2024-01-02", f"2024-01-{2 + i // 24:02d}")
        ids.append(store.ingest(write(tmp_path, f"m1_{i:02d}.csv", text), now=NOW).batch_id)
    ids.append(
        store.ingest(
            write(tmp_path, "m2.csv", "meter_id,timestamp,value\nM2,2024-01-05 00:00,2.5\n"),
            now=NOW,
        ).batch_id
    )
    ledger = build_ledger(store, office, shanghai, JAN, FEB)
    for method in ("location", "market"):
        entry = one(ledger.entries, node_id="o", method=method)
        assert entry.source_batches == ",".join(sorted(ids))
        assert (entry.readings, entry.amount) == (71, Decimal("72.500000"))
    assert one(ledger.entries, method="location").co2e_kg == Decimal("30.450")  # 72.5 x 0.42


def test_a_read_only_store_that_holds_its_twin_builds_the_same_ledger(
    tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    store = open_store(tmp_path, twin, HAND_FILES)
    written = build_ledger(store, twin, shanghai, JAN, MAR).entries
    store.close()
    with Store(tmp_path / "store.duckdb", read_only=True) as ro:  # e.g. an auditor's copy
        again = build_ledger(ro, twin, shanghai, JAN, MAR).entries
    pd.testing.assert_frame_equal(again, written)
    assert len(written) > 0


def test_spans_over_twelve_months_bucket_the_readings_alike(
    hand: Ledger, twin: Twin, shanghai: FactorSet
) -> None:
    # Up to twelve months the readings are grouped by the number of their local month; longer
    # spans by the months' first instants. Both give the same entries for the same months.
    long = build_ledger(hand.store, twin, shanghai, "2023-12-01", "2025-01-01").entries
    inside = long[(long.period_start >= JAN) & (long.period_start < MAR)].reset_index(drop=True)
    pd.testing.assert_frame_equal(inside, hand.entries)
    assert len(inside) == len(long) == 14  # the hand data cover January and February


@pytest.mark.parametrize(
    "values, kind",
    [
        (["1.500", None, "-0.001", "0.000", "1.500"], pa.decimal128(38, 3)),
        (["12345678901234567890123.5", "1.0"], pa.decimal128(38, 1)),  # beyond 64 bits
        (["-9223372036854.775808", "9223372036854.775807"], pa.decimal128(38, 6)),
        ([None, None], pa.decimal128(18, 9)),
        (["7"] * 5, pa.decimal128(18, 0)),
        (["0.420000000", "0.609600000"] * 4, pa.decimal128(18, 9)),
    ],
)
def test_entries_reach_pandas_as_pyarrow_gives_them(values: list[str | None], kind: Any) -> None:
    column = pa.array([None if v is None else Decimal(v) for v in values], kind)
    table = pa.table({"a": pa.chunked_array([column[:2], column[2:]]), "b": column, "c": column})
    with decimal.localcontext(decimal.Context(prec=3)):  # a caller's context changes nothing
        frame = arrow_to_pandas(table)
    expected = table.to_pandas()
    pd.testing.assert_frame_equal(frame, expected)
    for name in "abc":  # the same values with the same exponents: Decimal('1.500')
        assert list(map(repr, frame[name])) == list(map(repr, expected[name]))
    frame.loc[0, "c"] = Decimal("99")  # a column sharing another's objects is its own array
    assert frame.loc[0, "b"] == expected.loc[0, "b"]
